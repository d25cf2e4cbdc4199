"""Quantization-aware model: tfmot's default 8-bit scheme over the float UNet (docs/crack.md#model).

``tfmot.quantization.keras.quantize_model`` wraps every layer of the float model with fake-quant
ops that simulate int8 (per-channel weights, per-tensor activations, quantized after each
conv-BN-ReLU pattern), so fine-tuning sees the rounding the integer TFLite model will do.
Every layer the UNet uses (Conv2D, DepthwiseConv2D, BN, ReLU6, Add, Concatenate, ZeroPadding2D,
bilinear UpSampling2D) is in tfmot's default registry, so no custom QuantizeConfig is needed;
``quantize_scope`` is still what loading a saved QAT model needs (the wrapper and quantizer classes).
QAT models are saved as HDF5: tf-keras' ``.keras`` format does not restore the input quantizer's
variables (``quantize_layer expected 5 variables, but received 3``).

Fresh from ``quantize_model`` the fake-quant ranges are placeholders: weights at ±6 until the first
training step and activations at ±6, moved towards the observed ranges by an EMA with decay 0.999,
so they need thousands of steps to settle while fine-tuning runs a few hundred. ``calibrate`` sets
them from real batches first (the float model's validation Dice under fake quantization went from
0.31 uncalibrated to 0.68 calibrated), so fine-tuning repairs rounding instead of ranges.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import tensorflow as tf
import tf_keras as keras


@contextmanager
def _keras3_hidden():
    """Make ``import keras`` (Keras 3) fail at once for the duration of the block.

    On import, tfmot's pruning registry tries ``from keras.src.engine import base_layer``, which loads
    all of Keras 3 (a TensorFlow dependency this project never uses: it runs tf-keras) only to find no
    ``engine`` in it and fall back to ``base_layer = None``. That costs 6-10 s per process that imports
    this module (every qat, export and evaluate stage). With ``sys.modules["keras"] = None`` the same
    import fails straight away and tfmot ends in the same state (the registry only matters for
    pruning). The marker is removed afterwards, so later code may still import Keras 3.
    """
    hide = "keras" not in sys.modules
    if hide:
        sys.modules["keras"] = None
    try:
        yield
    finally:
        if hide and sys.modules.get("keras", 0) is None:
            del sys.modules["keras"]


with _keras3_hidden():
    import tensorflow_model_optimization as tfmot  # noqa: E402
    from tensorflow_model_optimization.python.core.quantization.keras import quantizers  # noqa: E402


def quantize(model: keras.Model) -> keras.Model:
    """A QAT copy of ``model`` (the float weights are the starting point)."""
    return tfmot.quantization.keras.quantize_model(model)


@contextmanager
def _activation_ema_decay(decay: list[float]):
    """Run tfmot's activation range EMA with ``decay[0]`` instead of its fixed 0.999.

    tfmot has no public setting for it: ``MovingAverageQuantizer`` calls
    ``quant_ops.MovingAvgQuantize(..., ema_decay=0.999)`` on every eager call, so the module function
    is swapped for the duration of the block and always restored.
    """
    original = quantizers.quant_ops.MovingAvgQuantize

    def moving_avg_quantize(*args, ema_decay=0.999, **kwargs):
        return original(*args, ema_decay=decay[0], **kwargs)

    quantizers.quant_ops.MovingAvgQuantize = moving_avg_quantize
    try:
        yield
    finally:
        quantizers.quant_ops.MovingAvgQuantize = original


def calibrate(model: keras.Model, batches: Iterable, decay: float = 0.9) -> int:
    """Set every fake-quant range of a fresh QAT ``model`` from ``batches`` of model inputs.

    The first batch sets the ranges outright (weights: their min/max; activations: the batch's),
    later ones average with ``decay``. Batches run in training mode, because that is when tfmot
    updates ranges; the batch-norm moving statistics that this also moves are put back afterwards,
    so only the ranges change. Returns the number of batches used.
    """
    bn_stats = [(v, v.numpy()) for v in model.non_trainable_variables if "moving_" in v.name]
    decay_now = [0.0]
    n = 0
    with _activation_ema_decay(decay_now):
        for x in batches:
            model(tf.convert_to_tensor(x), training=True)
            n += 1
            decay_now[0] = decay
    for var, value in bn_stats:
        var.assign(value)
    return n


def freeze_batch_norm(model: keras.Model) -> int:
    """Run every batch-norm layer of ``model`` in inference mode with fixed statistics and affine weights.

    tf-keras runs a non-trainable ``BatchNormalization`` with its moving statistics even when the model
    is called with ``training=True``, so fine-tuning then sees (and fake-quantizes) the activations the
    exported model computes, instead of batch statistics of small augmented crops. Returns the count.
    """
    n = 0
    for layer in model.layers:
        if isinstance(getattr(layer, "layer", layer), keras.layers.BatchNormalization):
            layer.trainable = False
            n += 1
    return n


def fake_quant_layers(model: keras.Model) -> list[str]:
    """Names of the layers carrying int8 fake-quantization (wrappers and input quantizers)."""
    return [
        layer.name
        for layer in model.layers
        if isinstance(layer, (tfmot.quantization.keras.QuantizeWrapperV2, tfmot.quantization.keras.QuantizeWrapper))
        or type(layer).__name__ == "QuantizeLayer"
    ]


def load_qat(path: str | Path) -> keras.Model:
    with tfmot.quantization.keras.quantize_scope():
        return keras.models.load_model(path, compile=False)
