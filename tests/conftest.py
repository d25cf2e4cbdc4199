"""Shared test fixtures: tiny canonical datasets built here, independent of the generators."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

# One pytest process imports both frameworks. TensorFlow loaded before torch makes torch's import of
# triton (via torchvision.ops) segfault; torch first is fine. So torch is imported here, first.
import torch._dynamo  # noqa: E402, F401
import torchvision.ops  # noqa: E402, F401

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from components.data.crack_format import write_pline  # noqa: E402
from components.data.ocr_format import OcrAnnotation, Shape, write_labelme  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _noise_image(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    return rng.integers(0, 255, size=(h, w, 3), dtype=np.uint8)


def make_ocr_dataset(root: Path, n: int = 6, size: tuple[int, int] = (640, 480), seed: int = 0) -> list[str]:
    """n JPEG frames, each with one ROI reading '1R0' and its three character boxes."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        name = f"s{i:03d}"
        cv2.imwrite(str(root / f"{name}.jpg"), _noise_image(rng, size[1], size[0]))
        shapes = [Shape("resistor", 100, 100, 300, 180, 0, "1R0"), Shape("1", 110, 110, 150, 170, 0),
                  Shape("R", 160, 110, 200, 170, 0), Shape("0", 210, 110, 250, 170, 0)]
        write_labelme(OcrAnnotation(f"{name}.jpg", size[0], size[1], shapes), root / f"{name}.json")
        names.append(name)
    return names


def make_crack_dataset(root: Path, n: int = 6, size: tuple[int, int] = (384, 288), seed: int = 0) -> list[str]:
    """n PNG frames, odd ones with one diagonal crack polyline, even ones crack-free."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        name = f"c{i:03d}"
        cv2.imwrite(str(root / "images" / f"{name}.png"), _noise_image(rng, size[1], size[0]))
        lines = [np.array([[10.0, 10.0], [200.0, 150.0], [300.0, 160.0]])] if i % 2 else []
        write_pline(lines, root / "annotations" / f"{name}_PLINE.json")
        names.append(name)
    return names


@pytest.fixture
def ocr_root(tmp_path: Path) -> Path:
    root = tmp_path / "ocr"
    make_ocr_dataset(root)
    return root


@pytest.fixture
def crack_root(tmp_path: Path) -> Path:
    root = tmp_path / "crack"
    make_crack_dataset(root)
    return root


@pytest.fixture(scope="session")
def dask_client():
    """A real 2-worker ``LocalCluster`` (processes, one thread each), shared by the tests of a session:
    starting one costs several seconds. ``tests.fanout_helpers.on_cluster`` proves that work ran there."""
    from distributed import Client

    from components.fanout import local_cluster

    with local_cluster(2) as cluster, Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(2)
        yield client

