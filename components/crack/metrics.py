"""Crack metrics, exactly as docs/architecture.md#metrics defines them (numpy, on argmax masks).

* ``dice``: per image ``(2|P∩T| + 1e-6) / (|P| + |T| + 1e-6)``, mean over images; an empty
  prediction on an empty mask scores 1, any predicted pixel on an empty mask scores ~0.
* ``iou``: crack-class IoU per image with the same smoothing ``(|P∩T| + 1e-6) / (|P∪T| + 1e-6)``,
  mean over images.
* ``precision``, ``recall``: crack pixels pooled over the whole split (per image they are undefined
  on empty masks or predictions), ``TP / (TP + FP)`` and ``TP / (TP + FN)``; 1.0 when the
  denominator is 0.

Mean Dice flips: a crack-free frame scores 1 when the prediction is empty and ~0 when one pixel is
predicted, so on 60 test frames one frame moves the mean by 1.7 points. Three metrics that do not
flip are reported beside it (``frame_ratios``):

* ``dice_cracked``: the mean per-image Dice over frames that have a crack (how well cracks are
  traced; every cracked frame counts equally, big or small);
* ``false_alarm_rate``: the share of crack-free frames where the predicted crack area reaches
  ``min_area`` (a fraction of the frame, ``crack.eval.false_alarm_min_area``). The smallest crack
  the annotation produces is a 5-px-wide line about 20 px long, ~0.1 % of a 384x288 frame; a
  prediction smaller than that is speckle a deployment would filter, not a reported crack;
* ``pixel_dice``, ``pixel_iou``: Dice and IoU of the crack pixels pooled over the whole set
  (``2 TP / (2 TP + FP + FN)``), the pixel-weighted view.

Each is a ratio of per-frame sums, so its bootstrap interval over frames is cheap
(components/bootstrap.py).

``Accumulator`` takes batches so a split never has to sit in memory as logits; it also keeps
histograms of the crack probability of crack and background pixels, from which precision and
recall at any threshold follow (the precision/recall-vs-threshold plot).
"""

from __future__ import annotations

import numpy as np

from components.bootstrap import Ratio
from components.crack.postprocess import MaskRules

EPS = 1e-6
BINS = 1000
FRAME_COLUMNS = ("tp", "fp", "fn", "pred_area", "truth_area", "pixels")


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
    """Batches of (logits, truth) in, the split's metrics out.

    ``rules``: the argmax masks go through them before scoring (small regions and straight lines
    dropped, components/crack/postprocess.py), as the deployed runtime's do; the
    precision/recall-vs-threshold histograms stay on the raw probabilities."""

    def __init__(self, rules: MaskRules | None = None) -> None:
        self.rules = rules or MaskRules()
        self.dice: list[np.ndarray] = []
        self.iou: list[np.ndarray] = []
        self.frames: list[np.ndarray] = []  # (batch, len(FRAME_COLUMNS)) pixel counts per image
        self.tp = self.fp = self.fn = 0
        self.hist_pos = np.zeros(BINS, np.int64)
        self.hist_neg = np.zeros(BINS, np.int64)

    def masks(self, logits: np.ndarray) -> np.ndarray:
        """(N, H, W) boolean masks of a batch of logits: argmax (ties go to background), then ``rules``."""
        return self.rules.apply_batch(logits[..., 1] > logits[..., 0])

    def add(self, logits: np.ndarray, truth: np.ndarray) -> np.ndarray:
        """Add one batch; return the masks it scored (``masks``)."""
        pred = self.masks(logits)
        truth = truth.astype(bool)
        d = dice_per_image(pred, truth)
        self.dice.append(d)
        self.iou.append(iou_per_image(pred, truth))
        self.add_counts(pred, truth)
        bins = np.minimum((softmax_crack(logits) * BINS).astype(np.int64), BINS - 1)
        self.hist_pos += np.bincount(bins[truth], minlength=BINS)
        self.hist_neg += np.bincount(bins[~truth], minlength=BINS)
        return pred

    def add_counts(self, pred: np.ndarray, truth: np.ndarray) -> None:
        """Pixel counts of one batch of boolean masks (also used by runtimes that give masks only)."""
        flat_p, flat_t = pred.reshape(len(pred), -1), truth.reshape(len(truth), -1)
        tp, fp, fn = (flat_p & flat_t).sum(1), (flat_p & ~flat_t).sum(1), (~flat_p & flat_t).sum(1)
        self.tp += int(tp.sum())
        self.fp += int(fp.sum())
        self.fn += int(fn.sum())
        self.frames.append(
            np.stack([tp, fp, fn, flat_p.sum(1), flat_t.sum(1), np.full(len(pred), flat_p.shape[1])], axis=1).astype(
                np.int64
            )
        )

    def frame_table(self) -> dict[str, np.ndarray]:
        """Per-image pixel counts (``FRAME_COLUMNS``) in the order the images were added."""
        table = np.concatenate(self.frames) if self.frames else np.zeros((0, len(FRAME_COLUMNS)), np.int64)
        return {c: table[:, i] for i, c in enumerate(FRAME_COLUMNS)}

    def per_image_dice(self) -> np.ndarray:
        return np.concatenate(self.dice) if self.dice else np.zeros(0)

    def result(self) -> dict[str, float]:
        return {
            "dice": float(self.per_image_dice().mean()),
            "iou": float(np.concatenate(self.iou).mean()),
            "precision": _ratio(self.tp, self.tp + self.fp),
            "recall": _ratio(self.tp, self.tp + self.fn),
        }

    def pr_curve(self, n: int) -> list[dict[str, float]]:
        """Pixel precision and recall when 'crack' means probability >= t, for n thresholds in (0, 1)."""
        pos_above = np.cumsum(self.hist_pos[::-1])[::-1]  # pixels with bin >= b
        neg_above = np.cumsum(self.hist_neg[::-1])[::-1]
        rows = []
        for t in np.linspace(0.0, 1.0, n + 2)[1:-1]:
            b = round(float(t) * BINS)
            tp, fp = int(pos_above[b]), int(neg_above[b])
            fn = int(self.hist_pos.sum()) - tp
            rows.append(
                {"threshold": round(float(t), 4), "precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn)}
            )
        return rows


def frame_ratios(frames: dict[str, np.ndarray], min_area: float) -> dict[str, Ratio]:
    """The crack metrics as ratios of per-frame sums (see the module docstring), from
    ``Accumulator.frame_table()`` columns; ``min_area`` is the false-alarm area as a fraction of
    the frame."""
    tp, fp, fn = (np.asarray(frames[k], np.float64) for k in ("tp", "fp", "fn"))
    pred, truth, pixels = (np.asarray(frames[k], np.float64) for k in ("pred_area", "truth_area", "pixels"))
    dice = (2.0 * tp + EPS) / (pred + truth + EPS)
    iou = (tp + EPS) / (tp + fp + fn + EPS)
    cracked = truth > 0
    alarm = pred >= np.maximum(1.0, min_area * pixels)
    return {
        "dice": Ratio.mean(dice),
        "iou": Ratio.mean(iou),
        "dice_cracked": Ratio.mean(dice, cracked),
        "false_alarm_rate": Ratio.mean(alarm, ~cracked),
        "pixel_dice": Ratio(2.0 * tp, 2.0 * tp + fp + fn),
        "pixel_iou": Ratio(tp, tp + fp + fn),
        "precision": Ratio(tp, tp + fp),
        "recall": Ratio(tp, tp + fn),
    }
