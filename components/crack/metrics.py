"""Crack metrics, exactly as docs/architecture.md#metrics defines them (numpy, on argmax masks).

* ``dice``: per image ``(2|P∩T| + 1e-6) / (|P| + |T| + 1e-6)``, mean over images; an empty
  prediction on an empty mask scores 1, any predicted pixel on an empty mask scores ~0.
* ``iou``: crack-class IoU per image with the same smoothing ``(|P∩T| + 1e-6) / (|P∪T| + 1e-6)``,
  mean over images.
* ``precision``, ``recall``: crack pixels pooled over the whole split (per image they are undefined
  on empty masks or predictions), ``TP / (TP + FP)`` and ``TP / (TP + FN)``; 1.0 when the
  denominator is 0.

``Accumulator`` takes batches so a split never has to sit in memory as logits; it also keeps
histograms of the crack probability of crack and background pixels, from which precision and
recall at any threshold follow (the precision/recall-vs-threshold plot).
"""

from __future__ import annotations

import numpy as np

EPS = 1e-6
BINS = 1000


def dice_per_image(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(N, H, W) boolean/{0,1} masks -> (N,) Dice."""
    p, t = pred.reshape(len(pred), -1).astype(bool), truth.reshape(len(truth), -1).astype(bool)
    inter = (p & t).sum(1)
    return (2.0 * inter + EPS) / (p.sum(1) + t.sum(1) + EPS)


def iou_per_image(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    p, t = pred.reshape(len(pred), -1).astype(bool), truth.reshape(len(truth), -1).astype(bool)
    return ((p & t).sum(1) + EPS) / ((p | t).sum(1) + EPS)


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else 1.0


def softmax_crack(logits: np.ndarray) -> np.ndarray:
    """Crack probability from 2-class logits, (N, H, W, 2) -> (N, H, W)."""
    return 1.0 / (1.0 + np.exp(logits[..., 0] - logits[..., 1]))


class Accumulator:
    """Batches of (logits, truth) in, the split's metrics out."""

    def __init__(self) -> None:
        self.dice: list[np.ndarray] = []
        self.iou: list[np.ndarray] = []
        self.tp = self.fp = self.fn = 0
        self.hist_pos = np.zeros(BINS, np.int64)
        self.hist_neg = np.zeros(BINS, np.int64)

    def add(self, logits: np.ndarray, truth: np.ndarray) -> np.ndarray:
        """Add one batch; return its per-image Dice."""
        pred = logits[..., 1] > logits[..., 0]  # argmax of 2 classes (ties go to background)
        truth = truth.astype(bool)
        d = dice_per_image(pred, truth)
        self.dice.append(d)
        self.iou.append(iou_per_image(pred, truth))
        self.tp += int((pred & truth).sum())
        self.fp += int((pred & ~truth).sum())
        self.fn += int((~pred & truth).sum())
        bins = np.minimum((softmax_crack(logits) * BINS).astype(np.int64), BINS - 1)
        self.hist_pos += np.bincount(bins[truth], minlength=BINS)
        self.hist_neg += np.bincount(bins[~truth], minlength=BINS)
        return d

    def per_image_dice(self) -> np.ndarray:
        return np.concatenate(self.dice) if self.dice else np.zeros(0)

    def result(self) -> dict[str, float]:
        return {"dice": float(self.per_image_dice().mean()), "iou": float(np.concatenate(self.iou).mean()),
                "precision": _ratio(self.tp, self.tp + self.fp), "recall": _ratio(self.tp, self.tp + self.fn)}

    def pr_curve(self, n: int) -> list[dict[str, float]]:
        """Pixel precision and recall when 'crack' means probability >= t, for n thresholds in (0, 1)."""
        pos_above = np.cumsum(self.hist_pos[::-1])[::-1]  # pixels with bin >= b
        neg_above = np.cumsum(self.hist_neg[::-1])[::-1]
        rows = []
        for t in np.linspace(0.0, 1.0, n + 2)[1:-1]:
            b = round(float(t) * BINS)
            tp, fp = int(pos_above[b]), int(neg_above[b])
            fn = int(self.hist_pos.sum()) - tp
            rows.append({"threshold": round(float(t), 4), "precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn)})
        return rows
