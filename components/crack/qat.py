"""Quantization-aware model: tfmot's default 8-bit scheme over the float UNet (DESIGN §5).

``tfmot.quantization.keras.quantize_model`` wraps every layer of the float model with fake-quant
ops that simulate int8 (per-channel weights, per-tensor activations, quantized after each
conv-BN-ReLU pattern), so fine-tuning sees the rounding the integer TFLite model will do.
Every layer the UNet uses (Conv2D, DepthwiseConv2D, BN, ReLU6, Add, Concatenate, ZeroPadding2D,
bilinear UpSampling2D) is in tfmot's default registry, so no custom QuantizeConfig is needed;
``quantize_scope`` is still what loading a saved QAT model needs (the wrapper and quantizer classes).
QAT models are saved as HDF5: tf-keras' ``.keras`` format does not restore the input quantizer's
variables (``quantize_layer expected 5 variables, but received 3``).
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import tensorflow_model_optimization as tfmot
import tf_keras as keras


def quantize(model: keras.Model) -> keras.Model:
    """A QAT copy of ``model`` (the float weights are the starting point)."""
    return tfmot.quantization.keras.quantize_model(model)


def fake_quant_layers(model: keras.Model) -> list[str]:
    """Names of the layers carrying int8 fake-quantization (wrappers and input quantizers)."""
    return [layer.name for layer in model.layers
            if isinstance(layer, (tfmot.quantization.keras.QuantizeWrapperV2, tfmot.quantization.keras.QuantizeWrapper))
            or type(layer).__name__ == "QuantizeLayer"]


def load_qat(path: str | Path) -> keras.Model:
    with tfmot.quantization.keras.quantize_scope():
        return keras.models.load_model(path, compile=False)
