"""Test-split evaluation of a crack model: docs/architecture.md#metrics, best/worst overlays, PR-vs-threshold.

Overlays are three panels side by side, so a person can judge a failure at a glance: the image,
the ground truth in red over it, and the prediction coloured by outcome (green: true positive,
red: false positive, blue: missed crack), with the image's Dice in the title bar.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from components.crack.data import CrackSplit, predict_logits
from components.crack.metrics import Accumulator
from components.crack.postprocess import MaskRules
from components.io import atomic_path, atomic_write_bytes

TP, FP, FN = (0, 200, 0), (230, 0, 0), (40, 90, 255)  # RGB


@dataclass
class EvalResult:
    metrics: dict[str, float]
    dice: np.ndarray  # per test image
    predictions: np.ndarray  # (N, H, W) bool argmax masks
    pr_curve: list[dict[str, float]]
    frames: dict[str, np.ndarray] = field(default_factory=dict)  # per-image pixel counts (metrics.FRAME_COLUMNS)


def score_batches(
    batches: Iterable[tuple[int, np.ndarray]], data: CrackSplit, pr_points: int = 19, rules: MaskRules | None = None
) -> EvalResult:
    """Metrics of (start index, logits at model size) batches over ``data`` against its scoring
    masks; ``rules`` as the runtime cleans its masks (small regions, straight lines). One scoring path for every form
    (Keras here, TFLite in components/export/crack_tflite.py), so their numbers compare."""
    acc, truth = Accumulator(rules), data.scoring_masks()
    preds = np.zeros(truth.shape, bool)
    for start, logits in batches:
        preds[start : start + len(logits)] = acc.add(logits, truth[start : start + len(logits)])
    return EvalResult(acc.result(), acc.per_image_dice(), preds, acc.pr_curve(pr_points), acc.frame_table())


def evaluate(
    model, data: CrackSplit, batch_size: int = 16, pr_points: int = 19, rules: MaskRules | None = None
) -> EvalResult:
    """Metrics of a Keras model on a split at model size (score_batches)."""
    return score_batches(predict_logits(model, data, batch_size), data, pr_points, rules)


def _tint(image: np.ndarray, where: np.ndarray, color: tuple[int, int, int], strength: float = 0.75) -> np.ndarray:
    out = image.astype(np.float32)
    out[where] = (1 - strength) * out[where] + strength * np.array(color, np.float32)
    return out.astype(np.uint8)


def overlay(image: np.ndarray, truth: np.ndarray, pred: np.ndarray, title: str) -> np.ndarray:
    """RGB panel strip: image | truth (red) | prediction (TP green, FP red, FN blue), with a title bar."""
    truth, pred = truth.astype(bool), pred.astype(bool)
    gt = _tint(image, truth, FP)
    pr = _tint(_tint(_tint(image, pred & truth, TP), pred & ~truth, FP), ~pred & truth, FN)
    gap = np.full((image.shape[0], 4, 3), 255, np.uint8)
    strip = np.concatenate([image, gap, gt, gap, pr], axis=1)
    bar = np.full((22, strip.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, title, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, strip], axis=0)


def write_overlays(data: CrackSplit, result: EvalResult, out_dir: str | Path, n: int, tag: str) -> list[Path]:
    """PNG overlays of the n worst and n best test images by Dice; returns the paths written.

    The best are taken among images with a crack when there are enough (a crack-free frame
    predicted empty scores 1 too, but shows nothing about how well cracks are traced).
    """
    out_dir, truth = Path(out_dir), data.scoring_masks()
    order = np.argsort(result.dice, kind="stable")
    has_crack = truth.reshape(len(data), -1).any(1)
    best_pool = [i for i in order[::-1] if has_crack[i]] if has_crack.sum() >= n else list(order[::-1])
    picks = [("worst", i, k) for k, i in enumerate(order[:n])] + [("best", i, k) for k, i in enumerate(best_pool[:n])]
    paths = []
    for kind, i, k in picks:
        title = f"{tag} {kind} #{k + 1}: {data.names[i]}  dice {result.dice[i]:.3f}  (image | truth | prediction)"
        png = overlay(data.images[i], truth[i], result.predictions[i], title)
        _, buf = cv2.imencode(".png", cv2.cvtColor(png, cv2.COLOR_RGB2BGR))
        path = out_dir / f"{tag}_{kind}_{k + 1}.png"
        atomic_write_bytes(path, buf.tobytes())
        paths.append(path)
    return paths


def plot_pr(curves: dict[str, list[dict]], path: str | Path) -> None:
    """Precision and recall against the crack-probability threshold, one colour per model form."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for (name, rows), color in zip(curves.items(), ("tab:blue", "tab:orange", "tab:green")):
        t = [r["threshold"] for r in rows]
        ax.plot(t, [r["precision"] for r in rows], "-", color=color, label=f"{name} precision")
        ax.plot(t, [r["recall"] for r in rows], "--", color=color, label=f"{name} recall")
    ax.set_xlabel("crack probability threshold")
    ax.set_ylabel("pixel precision / recall (test split)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
