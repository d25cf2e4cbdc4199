"""Shared test fixtures: tiny canonical datasets built here, independent of the generators."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from components.data.crack_format import write_pline
from components.data.ocr_format import OcrAnnotation, Shape, write_labelme

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
