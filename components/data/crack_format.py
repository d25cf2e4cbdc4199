"""Canonical road-crack format (docs/architecture.md#data-formats).

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
#: How far (px) a polyline point may lie outside the image. Annotation tools let a click land a few
#: pixels past the border, which is harmless (the line is clipped when drawn); a point further out
#: means another coordinate system, a unit mix-up or a corrupt number, and the mask would be wrong.
POINT_MARGIN_PX = 16


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
                raise AnnotationError(
                    f"{json_path}: polyline {i} needs an even number (>= 4) of coordinates, got {pts.size}"
                )
            if not np.isfinite(pts).all():
                raise AnnotationError(f"{json_path}: polyline {i} has non-finite coordinates (NaN or infinity)")
            lines.append(pts.reshape(-1, 2))
        return lines
    except AnnotationError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AnnotationError(f"{json_path}: not valid JSON ({exc})") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise AnnotationError(f"{json_path}: not a PLINE annotation ({type(exc).__name__}: {exc})") from exc


def polyline_problem(polylines: list[np.ndarray], width: int, height: int) -> str | None:
    """Why these polylines cannot be drawn on a ``width`` x ``height`` image, or None if they can.

    Refused: NaN/infinite coordinates ("non-finite"), any point more than :data:`POINT_MARGIN_PX`
    outside the image, and a polyline lying wholly outside the image (it would draw nothing).
    """
    m = POINT_MARGIN_PX
    for i, pts in enumerate(polylines):
        pts = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        if not np.isfinite(pts).all():
            return f"polyline {i} has non-finite coordinates (NaN or infinity)"
        out = (pts[:, 0] < -m) | (pts[:, 0] > width - 1 + m) | (pts[:, 1] < -m) | (pts[:, 1] > height - 1 + m)
        if out.any():
            j = int(np.argmax(out))
            return (
                f"polyline {i} point {j} (x={pts[j, 0]:g}, y={pts[j, 1]:g}) lies outside the {width}x{height} image "
                f"by more than {m} px"
            )
        if pts[:, 0].max() < 0 or pts[:, 0].min() > width - 1 or pts[:, 1].max() < 0 or pts[:, 1].min() > height - 1:
            return f"polyline {i} lies wholly outside the {width}x{height} image"
    return None


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
    ann = annotation_path(root, name)
    polylines = read_pline(ann)
    problem = polyline_problem(polylines, width, height)
    if problem:
        raise AnnotationError(f"{ann}: {problem}")
    return rasterize(polylines, height, width, thickness)
