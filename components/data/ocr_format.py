"""Canonical OCR annotation format (docs/architecture.md#data-formats): one LabelMe-style JSON beside each image.

A frame holds ROI rectangles (label ``resistor``, with the marking ``text``) and single-character
rectangles whose ``group_id`` ties them to their ROI. Every importer converts into these classes and
every later stage reads them, so the on-disk format is defined here and nowhere else.
"""

from __future__ import annotations

import json
import math
import string
from dataclasses import dataclass, field
from pathlib import Path

from components.io import atomic_write_text

ROI_LABEL = "resistor"
CHAR_CLASSES: tuple[str, ...] = tuple(string.digits + string.ascii_uppercase)  # 36 classes
MAX_TEXT_LEN = 8
#: How far (px) a box corner may lie outside the image when importing; such boxes are clipped to the
#: image (a click past the border), boxes further out are refused as a wrong coordinate system.
BOX_MARGIN_PX = 16


class AnnotationError(ValueError):
    """An annotation file that cannot be read as the canonical format; the message names the file."""


@dataclass
class Shape:
    """One axis-aligned rectangle: a ROI (``label == ROI_LABEL``) or one character."""

    label: str
    x1: float
    y1: float
    x2: float
    y2: float
    group_id: int | None = None
    text: str | None = None  # only on ROIs: the marking in reading order

    @property
    def is_roi(self) -> bool:
        return self.label == ROI_LABEL

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)


@dataclass
class OcrAnnotation:
    """All shapes of one frame; ``image_path`` is relative to the JSON's folder."""

    image_path: str
    width: int
    height: int
    shapes: list[Shape] = field(default_factory=list)

    @property
    def rois(self) -> list[Shape]:
        return [s for s in self.shapes if s.is_roi]

    def chars_of(self, group_id: int) -> list[Shape]:
        return [s for s in self.shapes if not s.is_roi and s.group_id == group_id]

    def to_dict(self) -> dict:
        shapes = []
        for s in self.shapes:
            d = {
                "label": s.label,
                "shape_type": "rectangle",
                "points": [[s.x1, s.y1], [s.x2, s.y2]],
                "group_id": s.group_id,
                "flags": {},
            }
            if s.text is not None:
                d["text"] = s.text
            shapes.append(d)
        return {
            "imagePath": self.image_path,
            "imageWidth": self.width,
            "imageHeight": self.height,
            "shapes": shapes,
        }

    @classmethod
    def from_dict(cls, data: dict, source: str = "<dict>") -> OcrAnnotation:
        try:
            shapes = []
            for i, d in enumerate(data["shapes"]):
                if d.get("shape_type", "rectangle") != "rectangle":
                    raise AnnotationError(
                        f"{source}: shape {i} is a {d.get('shape_type')!r}, only rectangles are supported"
                    )
                (xa, ya), (xb, yb) = d["points"][:2]
                xa, ya, xb, yb = (float(v) for v in (xa, ya, xb, yb))
                if not all(math.isfinite(v) for v in (xa, ya, xb, yb)):
                    raise AnnotationError(
                        f"{source}: shape {i} (label {d.get('label')!r}) has non-finite coordinates (NaN or infinity)"
                    )
                shapes.append(
                    Shape(
                        label=str(d["label"]),
                        x1=float(min(xa, xb)),
                        y1=float(min(ya, yb)),
                        x2=float(max(xa, xb)),
                        y2=float(max(ya, yb)),
                        group_id=None if d.get("group_id") is None else int(d["group_id"]),
                        text=None if d.get("text") is None else str(d["text"]),
                    )
                )
            return cls(
                image_path=str(data["imagePath"]),
                width=int(data["imageWidth"]),
                height=int(data["imageHeight"]),
                shapes=shapes,
            )
        except AnnotationError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise AnnotationError(
                f"{source}: not a LabelMe rectangle annotation ({type(exc).__name__}: {exc})"
            ) from exc


def clip_boxes_to_image(ann: OcrAnnotation, source: str) -> None:
    """Clip boxes that stick out of the image by at most :data:`BOX_MARGIN_PX`; refuse the rest.

    Raises AnnotationError naming the shape, its label and the coordinate when a corner lies further
    out, or when a box lies wholly outside the image.
    """
    w, h, m = ann.width, ann.height, BOX_MARGIN_PX
    for i, s in enumerate(ann.shapes):
        for axis, lo, hi, size in (("x", s.x1, s.x2, w), ("y", s.y1, s.y2, h)):
            if lo < -m or hi > size + m:
                bad = lo if lo < -m else hi
                raise AnnotationError(
                    f"{source}: shape {i} (label {s.label!r}) has {axis}={bad:g}, more than {m} px "
                    f"outside the {w}x{h} image"
                )
        if s.x2 <= 0 or s.y2 <= 0 or s.x1 >= w or s.y1 >= h:
            raise AnnotationError(f"{source}: shape {i} (label {s.label!r}) lies wholly outside the {w}x{h} image")
        s.x1, s.y1, s.x2, s.y2 = max(s.x1, 0.0), max(s.y1, 0.0), min(s.x2, float(w)), min(s.y2, float(h))


def read_labelme(json_path: str | Path) -> OcrAnnotation:
    """Read one canonical JSON; any malformed content raises AnnotationError naming the file."""
    json_path = Path(json_path)
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AnnotationError(f"{json_path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise AnnotationError(f"{json_path}: expected a JSON object, got {type(data).__name__}")
    return OcrAnnotation.from_dict(data, source=str(json_path))


def write_labelme(ann: OcrAnnotation, json_path: str | Path) -> None:
    atomic_write_text(Path(json_path), json.dumps(ann.to_dict(), indent=1))
