"""The running dashboard in a real browser: ``streamlit run`` on loopback, loaded by headless
Chromium (the Debian package; ``.ci/run`` installs it), screenshot checked for rendered content.

The screenshot is kept as ``dashboard.png`` in the test's tmp folder (pytest keeps the last three
runs under its basetemp), so a person can look at it.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from PIL import Image

from components.servers import free_port, local_server
from tests.dashboard.chromium import chromium_binary, screenshot
from tests.helpers import REPO

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        chromium_binary() is None, reason="no chromium binary on PATH (.ci/run installs the Debian package 'chromium')"
    ),
]
SIZE = (1400, 1800)  # tall enough for the summary, both charts, the map and the overlay


def _share(rgb: np.ndarray, lo: tuple[int, int, int], hi: tuple[int, int, int]) -> float:
    """Share of pixels whose RGB lies inside the box [lo, hi]."""
    inside = np.all((rgb >= lo) & (rgb <= hi), axis=-1)
    return float(inside.mean())


def test_dashboard_renders_in_chromium(store, results_root, tmp_path):
    port = free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": store, "DASHBOARD_RESULTS": str(results_root)}
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "dashboard/app.py",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
    ]
    png = tmp_path / "dashboard.png"
    with local_server(
        cmd,
        f"http://127.0.0.1:{port}/_stcore/health",
        cwd=REPO,
        env=env,
        log_path=tmp_path / "streamlit.log",
        timeout_s=90,
    ):
        text = screenshot(
            f"http://127.0.0.1:{port}/?tab=Results&run=crack",
            png,
            ["Masking rate", "Map", "Overlays", "could not be processed"],
            size=SIZE,
        )
    print(f"screenshot: {png}")
    assert "Crack segmentation results in" in text and "Traceback" not in text

    rgb = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert rgb.shape == (SIZE[1], SIZE[0], 3), "the viewport size asked for"
    assert rgb.std() > 20 and len(np.unique(rgb.reshape(-1, 3), axis=0)) > 500, "a blank or single-colour page"
    # What the loading skeleton (light grey bars on white) never has:
    assert _share(rgb, (0, 0, 0), (90, 90, 90)) > 0.002, "no dark text"
    assert _share(rgb, (0, 80, 170), (40, 130, 230)) > 0.002, "no chart bars (Streamlit's blue)"
    assert _share(rgb, (200, 60, 0), (255, 235, 140)) > 0.0005, "no heat layer on the map (WebGL)"
