"""A real headless Chromium that loads a page, waits until it shows given texts, and screenshots it.

``chromium --headless --screenshot URL`` alone cannot wait for a Streamlit page: the app arrives over
a websocket after the HTML, and ``--virtual-time-budget`` does not wait for it, so the screenshot
shows the loading skeleton. So the browser is driven over the DevTools protocol (a websocket, with
the ``websockets`` client the environment already has): navigate, poll ``document.body.innerText``
until every expected text is there and the app has stopped running, then capture the screenshot.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from websockets.sync.client import connect

from components.servers import stop

BINARIES = ("chromium", "chromium-browser", "google-chrome")
# the page is done: the texts are there, Streamlit's "Running..." widget is gone, and no element is
# still a loading placeholder (charts and images load their code lazily and show skeletons until then)
READY = (
    "(() => {{ const t = document.body ? document.body.innerText : '';"
    " return {texts}.every(x => t.includes(x)) && !document.querySelector('[data-testid=\"stStatusWidget\"]')"
    " && !document.querySelector('[data-testid*=\"Skeleton\"]'); }})()"
)


def chromium_binary() -> str | None:
    return next((p for p in map(shutil.which, BINARIES) if p), None)


class _Cdp:
    """DevTools calls over one websocket. ``reply_s``: how long a call may wait for its answer. A page
    busy drawing (Streamlit's charts in software GL on a loaded 2-core CI machine) answers late: 30 s
    was once too short there."""

    def __init__(self, ws, reply_s: float):
        self.ws, self.next_id, self.reply_s = ws, 0, reply_s

    def __call__(self, method: str, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:  # events arrive in between; skip them
            msg = json.loads(self.ws.recv(timeout=self.reply_s))
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg["result"]

    def evaluate(self, expression: str):
        return self("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")


def screenshot(
    url: str,
    png: Path,
    expect: list[str],
    *,
    size: tuple[int, int] = (1400, 1000),
    timeout_s: float = 60,
    settle_s: float = 1.5,
) -> str:
    """Load ``url`` in headless Chromium, wait for ``expect`` texts, save a PNG; return the page text.
    Raises TimeoutError with the page text seen last when the texts do not appear in time."""
    binary = chromium_binary()
    if binary is None:
        raise FileNotFoundError("no chromium binary on PATH")
    with tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True) as profile:
        cmd = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--enable-unsafe-swiftshader",
            f"--window-size={size[0]},{size[1]}",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + 30
            while not (port_file.exists() and port_file.read_text().strip()):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{binary} did not open its DevTools port (exit code {proc.poll()})")
                time.sleep(0.1)
            port = int(port_file.read_text().split()[0])
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                page = next(t for t in json.load(r) if t["type"] == "page")
            with connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=10) as ws:
                cdp = _Cdp(ws, reply_s=max(30.0, timeout_s))
                cdp(
                    "Emulation.setDeviceMetricsOverride",
                    width=size[0],
                    height=size[1],
                    deviceScaleFactor=1,
                    mobile=False,
                )
                cdp("Page.navigate", url=url)
                ready = READY.format(texts=json.dumps(expect))
                deadline = time.monotonic() + timeout_s
                while not cdp.evaluate(ready):
                    if time.monotonic() > deadline:
                        raise TimeoutError(
                            f"{url}: {expect} not shown within {timeout_s:.0f} s; page text: "
                            f"{(cdp.evaluate('document.body && document.body.innerText') or '')[:2000]!r}"
                        )
                    time.sleep(0.25)
                time.sleep(settle_s)  # charts draw after the text
                png.write_bytes(base64.b64decode(cdp("Page.captureScreenshot", format="png")["data"]))
                return cdp.evaluate("document.body.innerText") or ""
        finally:
            stop(proc, timeout_s=10)
