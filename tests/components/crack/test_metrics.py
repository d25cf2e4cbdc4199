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
    assert r["recall"] == pytest.approx(12 / 16)  # TP 12, FN 4


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


def _batch_logits(pred: np.ndarray) -> np.ndarray:
    """Logits whose argmax is ``pred`` (N, H, W) bool."""
    return np.stack([np.where(pred, -1.0, 1.0), np.where(pred, 1.0, -1.0)], axis=-1)


def test_frame_ratios_separate_tracing_false_alarms_and_pixels():
    from components.crack.metrics import Accumulator, frame_ratios

    truth = np.zeros((4, 20, 50), bool)
    truth[0, 5:10, :] = truth[1, 5:10, :] = True  # frames 0 and 1 have a crack (250 px each)
    pred = truth.copy()
    pred[1, 5:10, 25:] = False  # frame 1: half the crack found
    pred[2, 0, 0] = True  # frame 2 (crack-free): 1 px of speckle
    pred[3, :4, :] = True  # frame 3 (crack-free): 200 px predicted
    acc = Accumulator()
    acc.add(_batch_logits(pred), truth)
    r = {k: v.value() for k, v in frame_ratios(acc.frame_table(), min_area=0.01).items()}
    assert r["dice"] == pytest.approx(np.mean([1.0, 2 * 125 / 375, 0.0, 0.0]), abs=1e-6)
    assert r["dice_cracked"] == pytest.approx(np.mean([1.0, 2 * 125 / 375]), abs=1e-6)
    assert r["false_alarm_rate"] == 0.5  # the 1-px frame is below 1 % of 1000 px
    assert r["pixel_dice"] == pytest.approx(2 * 375 / (2 * 375 + 201 + 125))
    assert r["pixel_iou"] == pytest.approx(375 / (375 + 201 + 125))
    acc_result = acc.result()
    assert r["precision"] == pytest.approx(acc_result["precision"]) and r["recall"] == pytest.approx(
        acc_result["recall"]
    )


def test_one_speckled_crack_free_frame_moves_mean_dice_but_not_the_stable_metrics():
    from components.crack.metrics import Accumulator, frame_ratios

    truth = np.zeros((60, 16, 16), bool)
    truth[::2, 6:9, :] = True
    clean, speckled = truth.copy(), truth.copy()
    speckled[1, 0, 0] = True  # one crack-free frame gets one pixel
    out = []
    for pred in (clean, speckled):
        acc = Accumulator()
        acc.add(_batch_logits(pred), truth)
        out.append({k: v.value() for k, v in frame_ratios(acc.frame_table(), min_area=0.01).items()})
    assert out[0]["dice"] - out[1]["dice"] == pytest.approx(1 / 60, abs=1e-6)
    for key in ("dice_cracked", "false_alarm_rate"):
        assert out[0][key] == out[1][key]
    assert abs(out[0]["pixel_dice"] - out[1]["pixel_dice"]) < 0.002
