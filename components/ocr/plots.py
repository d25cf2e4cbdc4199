"""Pictures of the OCR results: overlays of predictions on frames and the character confusion plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from components.io import atomic_path
from components.ocr.pipeline import FrameResult

if TYPE_CHECKING:  # torch-free at run time: batch prediction draws these overlays without torch
    from components.ocr.data import Frame


def overlay(image: np.ndarray, result: FrameResult, frame: Frame | None = None, max_side: int = 1280) -> np.ndarray:
    """Frame with ground-truth ROIs (thin grey), predicted ROIs (green) with the read string, its
    confidence and ROI score, and each read character box (orange) with its label."""
    img = image.copy()
    if frame is not None:
        for b, _t in zip(frame.rois, frame.texts):
            cv2.rectangle(img, (int(b[0]), int(b[1])), (int(b[2]), int(b[3])), (200, 200, 200), 1)
    for r in result.rois:
        x1, y1, x2, y2 = (int(v) for v in r.box)
        cv2.rectangle(img, (x1, y1), (x2, y2), (0, 230, 0), 3)
        for b, lab, _s in zip(r.char_boxes, r.char_labels, r.char_scores):
            cv2.rectangle(img, (int(b[0]), int(b[1])), (int(b[2]), int(b[3])), (255, 140, 0), 2)
            cv2.putText(
                img, lab, (int(b[0]), int(b[3]) + 18), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 140, 0), 2, cv2.LINE_AA
            )
        label = f"{r.text or r.status}  {r.confidence:.2f} (roi {r.score:.2f})"
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.9, 2)
        ty = y1 - 8 if y1 - th - 12 > 0 else y2 + th + 8
        cv2.rectangle(img, (x1, ty - th - 6), (x1 + tw + 6, ty + 6), (0, 0, 0), -1)
        cv2.putText(img, label, (x1 + 3, ty), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (0, 255, 0), 2, cv2.LINE_AA)
    scale = max_side / max(img.shape[:2])
    if scale < 1:
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return img


def write_png(path: str | Path, rgb: np.ndarray) -> None:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"{path}: PNG encoding failed")
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.tobytes())


def confusion_png(counts: dict[tuple[str, str], int], classes: Sequence[str], path: str | Path) -> None:
    """Row-normalised confusion matrix of the characters read (``-`` = missed / spurious)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [c for c in classes if any(c in k for k in counts)] + ["-"]
    idx = {n: i for i, n in enumerate(names)}
    m = np.zeros((len(names), len(names)))
    for (a, p), n in counts.items():
        if a in idx and p in idx:
            m[idx[a], idx[p]] += n
    norm = m / np.maximum(m.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(11, 10), dpi=100)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(names)), names)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted (- = no detection)")
    ax.set_ylabel("actual (- = spurious detection)")
    for i in range(len(names)):
        for j in range(len(names)):
            if m[i, j] and i != j:
                ax.text(j, i, int(m[i, j]), ha="center", va="center", fontsize=7, color="darkred")
    total = m[:-1, :-1].trace() / max(m[:-1].sum(), 1)
    ax.set_title(f"characters read on the test split (row-normalised); correct: {total:.3f}")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
