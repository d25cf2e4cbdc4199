"""The stage-1 ROI score threshold chosen on the validation split by F1, and ``auto`` resolved to it.

A fixed threshold (0.3) was a guess; the operating point that balances missed resistors against
false ROIs depends on the trained model. ``train_roi`` already holds the model and the val split,
so it scores every val detection once (VOC outcome at IoU 0.5, ``components.ocr.metrics.voc_records``),
picks the threshold here and writes it to ``metrics/train_roi.json`` (``roi_threshold_f1``). The
stages that apply stage 1 (train_ocr, evaluate_ocr, export_ocr) read it back when their
``roi_score_threshold`` is ``auto``; a number stays a fixed threshold.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

AUTO = "auto"
THRESHOLD_KEY = "roi_threshold_f1"


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    precision: float
    recall: float
    f1: float

    def metrics(self) -> dict[str, float]:
        """The keys ``train_roi`` writes (docs/architecture.md#keys)."""
        return {
            THRESHOLD_KEY: self.threshold,
            "roi_threshold_precision": self.precision,
            "roi_threshold_recall": self.recall,
            "roi_threshold_f1_score": self.f1,
        }


def choose_threshold(scores, tp, gt_count: int) -> ThresholdChoice:
    """The score threshold (detections with score >= it are kept) maximizing F1 of ``scores`` with
    their match outcomes ``tp`` against ``gt_count`` ground-truth boxes; ties go to the higher
    threshold (fewer boxes for the same F1). The candidates are the detections' own scores: F1 only
    changes there. Greedy VOC matching goes by descending score, so the detections kept at a higher
    threshold keep the outcomes they had with all detections: one pass of cumulative sums is exact.
    No detection or no ground truth: threshold 0.5 with zero scores (nothing to choose from)."""
    scores = np.asarray(scores, np.float64).reshape(-1)
    tp = np.asarray(tp, bool).reshape(-1)
    if len(scores) != len(tp):
        raise ValueError(f"{len(scores)} scores but {len(tp)} match outcomes")
    if not len(scores) or gt_count <= 0:
        return ThresholdChoice(0.5, 0.0, 0.0, 0.0)
    order = np.argsort(-scores, kind="stable")
    s, hits = scores[order], np.cumsum(tp[order])
    last = np.r_[s[1:] != s[:-1], True]  # the end of each group of equal scores: all of it is kept
    s, hits, kept = s[last], hits[last], np.flatnonzero(last) + 1
    precision, recall = hits / kept, hits / gt_count
    f1 = np.where(hits > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
    best = int(np.flatnonzero(f1 == f1.max())[0])  # scores descend: the first is the highest threshold
    return ThresholdChoice(float(s[best]), float(precision[best]), float(recall[best]), float(f1[best]))


def resolve_threshold(value: float | str, metrics_file: str | Path) -> float:
    """A configured ``roi_score_threshold``: a number as is, ``auto`` as the value ``train_roi``
    chose and stored in ``metrics_file``; an error naming the file when it holds none."""
    if value != AUTO:
        return float(value)
    path = Path(metrics_file)
    try:
        stored = json.loads(path.read_text(encoding="utf-8")).get(THRESHOLD_KEY)
    except (OSError, ValueError) as exc:
        raise ValueError(f"roi_score_threshold auto: cannot read {path} ({exc}); run train_roi first") from None
    if not isinstance(stored, (int, float)) or not math.isfinite(stored) or not 0 <= stored < 1:
        raise ValueError(
            f"roi_score_threshold auto: {path} has no {THRESHOLD_KEY} in [0, 1) (found {stored!r}); "
            "run train_roi again or set a number"
        )
    return float(stored)
