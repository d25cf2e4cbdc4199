"""Segmentation losses on (B, H, W, 2) logits and (B, H, W) integer labels.

``ce`` (default): pixel cross-entropy, stable and well calibrated, so the argmax is a sensible
mask; ``crack_weight`` > 1 weights crack pixels up (about 4 % of the pixels are crack). Weighting
trades false positives for recall: at the demo scale 2.0 put stray pixels on crack-free frames,
which the per-image Dice scores 0, and 1.0 (plain CE) scored higher (docs/experiments.md, loss weighting).
``focal``: cross-entropy scaled by (1 - p_t)^gamma, down-weighting the many easy asphalt
pixels. ``dice``: 1 - soft Dice of the crack class per image (same +1e-6 smoothing idea as the
metric, with +1 to keep gradients finite on empty images), averaging what the metric averages.
``ce_dice``: their sum. Cross-entropy treats a stray crack pixel on a crack-free frame as one pixel
among 50,000; the metric scores that frame 0 instead of 1. The per-image Dice term sees it the way
the metric does (a crack-free frame's term is ``1 - 1 / (1 + predicted crack mass)``), while
cross-entropy keeps the argmax well calibrated.

``distillation`` is for quantization-aware fine-tuning only: cross-entropy against a teacher's
softmax (the float parent's) instead of the labels, so the int8 model learns to make the float
model's decisions, false alarms and misses included, rather than being trained once more.
"""

from __future__ import annotations

import tensorflow as tf


def _weights(labels, crack_weight: float):
    return tf.where(labels > 0, crack_weight, 1.0)


def cross_entropy(labels, logits, crack_weight: float = 1.0):
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    return tf.reduce_mean(ce * _weights(labels, crack_weight)) if crack_weight != 1.0 else tf.reduce_mean(ce)


def focal(labels, logits, gamma: float = 2.0, crack_weight: float = 1.0):
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    p_t = tf.exp(-ce)
    return tf.reduce_mean(tf.pow(1.0 - p_t, gamma) * ce * _weights(labels, crack_weight))


def soft_dice(labels, logits, smooth: float = 1.0):
    prob = tf.nn.softmax(logits)[..., 1]
    truth = tf.cast(labels, prob.dtype)
    inter = tf.reduce_sum(prob * truth, axis=[1, 2])
    total = tf.reduce_sum(prob, axis=[1, 2]) + tf.reduce_sum(truth, axis=[1, 2])
    return 1.0 - tf.reduce_mean((2.0 * inter + smooth) / (total + smooth))


def get_loss(name: str, focal_gamma: float = 2.0, crack_weight: float = 1.0):
    """The loss function ``(labels, logits) -> scalar`` named in params (crack.train.loss)."""
    if name == "ce":
        return lambda labels, logits: cross_entropy(labels, logits, crack_weight)
    if name == "focal":
        return lambda labels, logits: focal(labels, logits, focal_gamma, crack_weight)
    if name == "dice":
        return soft_dice
    if name == "ce_dice":
        return lambda labels, logits: cross_entropy(labels, logits, crack_weight) + soft_dice(labels, logits)
    raise ValueError(f"unknown loss {name!r} (ce | focal | dice | ce_dice)")


def distillation(teacher_probs, logits):
    """Cross-entropy of ``logits`` against the soft targets ``teacher_probs`` (B, H, W, 2)."""
    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=teacher_probs, logits=logits))
