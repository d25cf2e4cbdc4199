"""Crack metrics exactly as docs/architecture.md#metrics defines them, and the losses' basic behaviour."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from components.crack.losses import cross_entropy, focal, get_loss, soft_dice
from components.crack.metrics import Accumulator, dice_per_image, iou_per_image


def _logits(pred: np.ndarray) -> np.ndarray:
    """2-class logits whose argmax is ``pred``."""
    return np.stack([np.where(pred, -3.0, 3.0), np.where(pred, 3.0, -3.0)], axis=-1).astype(np.float32)


def test_dice_definition():
    t = np.zeros((4, 8, 8), bool)
    p = np.zeros((4, 8, 8), bool)
    # 0: empty prediction on empty mask -> 1
    # 1: one false-positive pixel on an empty mask -> ~0
    p[1, 0, 0] = True
    # 2: perfect
    t[2, 2:4, 2:6] = True
    p[2] = t[2]
    # 3: |P| = 4, |T| = 8, |P∩T| = 4 -> 8 / 12
    t[3, 0, :8] = True
    p[3, 0, :4] = True
    d = dice_per_image(p, t)
    np.testing.assert_allclose(d, [1.0, 1e-6 / (1 + 1e-6), 1.0, (8 + 1e-6) / (12 + 1e-6)], rtol=1e-9)
    np.testing.assert_allclose(iou_per_image(p, t), [1.0, 1e-6 / (1 + 1e-6), 1.0, (4 + 1e-6) / (8 + 1e-6)], rtol=1e-9)

    acc = Accumulator()
    acc.add(_logits(p[:2]), t[:2])  # batches add up to the split
    acc.add(_logits(p[2:]), t[2:])
    r = acc.result()
    assert r["dice"] == pytest.approx(d.mean())
    assert r["precision"] == pytest.approx(12 / 13)  # TP 8+4, FP 1
    assert r["recall"] == pytest.approx(12 / 16)      # TP 12, FN 4


def test_argmax_ties_and_pr_curve():
    acc = Accumulator()
    t = np.zeros((1, 4, 4), bool)
    t[0, 0] = True
    logits = np.zeros((1, 4, 4, 2), np.float32)
    logits[0, 0, :, 1] = 2.0  # crack row: p ~ 0.88
    logits[0, 1, :, 1] = 0.5  # background row: p ~ 0.62
    acc.add(logits, t)
    assert acc.result()["precision"] == pytest.approx(0.5) and acc.result()["recall"] == 1.0
    curve = {r["threshold"]: r for r in acc.pr_curve(9)}
    assert curve[0.5]["precision"] == pytest.approx(0.25)  # p >= t: the p = 0.5 ties count at t = 0.5
    assert curve[0.6]["precision"] == pytest.approx(0.5) and curve[0.7]["precision"] == 1.0
    assert curve[0.9]["recall"] == 0.0
    recalls = [r["recall"] for r in acc.pr_curve(9)]
    assert recalls == sorted(recalls, reverse=True)


def test_losses():
    labels = tf.constant(np.eye(4, dtype=np.int32)[None])
    good, bad = tf.constant(_logits(labels.numpy().astype(bool))), tf.constant(_logits(~labels.numpy().astype(bool)))
    for name in ("ce", "focal", "dice", "ce_dice"):
        fn = get_loss(name)
        assert float(fn(labels, good)) < 0.05 < float(fn(labels, bad)), name
    # on a crack-free frame, a few stray crack pixels cost the Dice term far more than cross-entropy
    empty = np.zeros((1, 16, 16), bool)
    stray = empty.copy()
    stray[0, 3, 3:5] = True
    truth = tf.constant(empty, tf.int32)

    def cost(loss):  # what the two stray pixels add to the loss of a clean prediction
        return float(loss(truth, tf.constant(_logits(stray)))) - float(loss(truth, tf.constant(_logits(empty))))

    ce_cost, both_cost = cost(cross_entropy), cost(get_loss("ce_dice"))
    assert both_cost > 5 * ce_cost > 0, (both_cost, ce_cost)
    assert float(focal(labels, bad, 2.0)) <= float(cross_entropy(labels, bad))
    assert float(soft_dice(tf.zeros((1, 4, 4), tf.int32), tf.constant(_logits(np.zeros((1, 4, 4), bool))))) < 0.1
    with pytest.raises(ValueError):
        get_loss("hinge")
