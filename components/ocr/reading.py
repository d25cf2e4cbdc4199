"""Reading order: the characters detected in one crop turned into the marking string.

A left-to-right sort on raw x breaks for rotated text: at 50 degrees the next character sits only
``cos 50 = 0.64`` of a pitch further right but ``0.77`` of a pitch lower, so a little jitter in the
boxes (or one wide glyph beside a narrow one) swaps neighbours. Instead the text line's direction
is estimated from the character centres (their principal axis, pointed rightwards since markings
are upright within +-90 degrees) and the characters are sorted by their position along it.

Duplicates are removed first: SSD's NMS is per class, so one glyph can come back as two classes
(``8`` and ``B``); overlapping boxes keep the higher score.

The confidence of a string is the geometric mean of its characters' scores times the ROI score:
one doubtful character makes the whole string doubtful, and the length does not decide the value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from components.ocr.metrics import box_iou


@dataclass
class Reading:
    text: str
    confidence: float
    order: list[int] = field(default_factory=list)  # indices into the input characters, in reading order
    angle_deg: float = 0.0  # estimated direction of the text line


def dedupe(boxes: np.ndarray, scores: np.ndarray, iou_thr: float = 0.5) -> np.ndarray:
    """Indices kept by class-agnostic NMS (descending score)."""
    order = np.argsort(-scores, kind="mergesort")
    keep: list[int] = []
    for i in order:
        if not keep or box_iou(boxes[i][None], boxes[keep]).max() < iou_thr:
            keep.append(int(i))
    return np.array(keep, np.int64)


def line_direction(centres: np.ndarray) -> np.ndarray:
    """Unit vector along the text line: the principal axis of the centres, pointed right (straight
    down when the line is vertical, within 1e-9 so float noise cannot flip it); (1, 0) when there
    are fewer than two distinct centres."""
    c = np.asarray(centres, np.float64).reshape(-1, 2)
    c = c - c.mean(0) if len(c) else c
    if len(c) < 2 or not np.isfinite(c).all() or np.allclose(c, 0):
        return np.array([1.0, 0.0])
    _, _, vt = np.linalg.svd(c, full_matrices=False)
    d = vt[0]
    if d[0] < -1e-9 or (abs(d[0]) <= 1e-9 and d[1] < 0):
        d = -d
    return d


def reading_order(boxes: np.ndarray) -> tuple[np.ndarray, float]:
    """Indices of ``boxes`` ``(x1, y1, x2, y2)`` in reading order (ties keep the input order) and the
    line's angle in degrees (y down). The one reading order of the project: the importers build
    ground-truth strings with it and the OCR builds predicted strings with it."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    centres = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], 1)
    d = line_direction(centres)
    return np.argsort(centres @ d, kind="mergesort"), float(np.degrees(np.arctan2(d[1], d[0])))


def read_string(
    boxes: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    names: list[str] | tuple[str, ...],
    roi_score: float = 1.0,
    dedupe_iou: float = 0.5,
) -> Reading:
    """The string of one crop from its character detections (labels 1-based into ``names``)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    scores = np.asarray(scores, np.float64).reshape(-1)
    labels = np.asarray(labels).reshape(-1)
    if not len(boxes):
        return Reading("", 0.0, [], 0.0)
    keep = dedupe(boxes, scores, dedupe_iou)
    order, angle = reading_order(boxes[keep])
    idx = keep[order]
    conf = float(np.exp(np.mean(np.log(np.clip(scores[idx], 1e-9, 1.0))))) * float(roi_score)
    return Reading("".join(names[int(labels[i]) - 1] for i in idx), conf, [int(i) for i in idx], angle)
