"""Canonical road-crack format (DESIGN §3).

``images/<name>.png`` with ``annotations/<name>_PLINE.json`` holding open polylines
(``{"annotations": [{"polyline": [x1, y1, x2, y2, ...]}, ...]}``); the training mask is the polylines
drawn with a configurable thickness at full resolution. Datasets imported from PNG masks keep the
mask itself as ``masks/<name>.png`` (0 background, non-zero crack) with an empty polyline file, and
``load_mask`` prefers that mask, so no information is lost by converting it to lines.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from components.data.ocr_format import AnnotationError
from components.io import ImageReadError, atomic_write_text, read_mask

IMAGES_DIR = "images"
ANNOTATIONS_DIR = "annotations"
MASKS_DIR = "masks"
PLINE_SUFFIX = "_PLINE.json"
DEFAULT_THICKNESS = 5


def annotation_path(root: Path, name: str) -> Path:
    return Path(root) / ANNOTATIONS_DIR / f"{name}{PLINE_SUFFIX}"


def read_pline(json_path: str | Path) -> list[np.ndarray]:
    """Polylines of one image as float arrays of shape (N, 2); AnnotationError names a bad file."""
    json_path = Path(json_path)
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
        lines = []
        for i, a in enumerate(data["annotations"]):
            pts = np.asarray(a["polyline"], dtype=np.float64)
            if pts.ndim != 1 or pts.size % 2 or pts.size < 4:
                raise AnnotationError(f"{json_path}: polyline {i} needs an even number (>= 4) of coordinates, got {pts.size}")
            lines.append(pts.reshape(-1, 2))
        return lines
    except AnnotationError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AnnotationError(f"{json_path}: not valid JSON ({exc})") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise AnnotationError(f"{json_path}: not a PLINE annotation ({type(exc).__name__}: {exc})") from exc


def write_pline(polylines: list[np.ndarray] | list[list[float]], json_path: str | Path) -> None:
    data = {"annotations": [{"polyline": [round(float(v), 2) for v in np.asarray(p).reshape(-1)]} for p in polylines]}
    atomic_write_text(Path(json_path), json.dumps(data))


def rasterize(polylines: list[np.ndarray], height: int, width: int, thickness: int = DEFAULT_THICKNESS) -> np.ndarray:
    """Draw the polylines open, ``thickness`` px wide, into a uint8 {0, 1} mask of the image size."""
    mask = np.zeros((height, width), np.uint8)
    for pts in polylines:
        pts = np.round(np.asarray(pts, dtype=np.float64).reshape(-1, 2)).astype(np.int32)
        cv2.polylines(mask, [pts], isClosed=False, color=1, thickness=int(thickness), lineType=cv2.LINE_8)
    return mask


def load_mask(root: Path, name: str, height: int, width: int, thickness: int = DEFAULT_THICKNESS) -> np.ndarray:
    """The {0, 1} crack mask of sample ``name``: the stored PNG mask if any, else the rasterised polylines."""
    png = Path(root) / MASKS_DIR / f"{name}.png"
    if png.exists():
        try:
            m = read_mask(png)
        except ImageReadError as exc:
            raise AnnotationError(f"mask {exc}") from exc
        if m.shape != (height, width):
            raise AnnotationError(f"{png}: mask is {m.shape[1]}x{m.shape[0]}, image is {width}x{height}")
        return m
    return rasterize(read_pline(annotation_path(root, name)), height, width, thickness)
