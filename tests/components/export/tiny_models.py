"""A stand-in for the crack UNet that converts to TFLite in seconds (tests of export and registry)."""

from __future__ import annotations

import tf_keras as keras
from tf_keras import layers as L

W, H = 96, 64


def mini_unet() -> keras.Model:
    """The UNet's layer types (conv-BN-ReLU6, depthwise, residual Add, bilinear up-sampling, skip
    concatenation, 1x1 logits) in a dozen layers: converting the MobileNetV2 UNet takes 1-2 minutes
    per form, this one seconds, through the same converter paths."""

    def cbr(x, filters, stride, name):
        x = L.Conv2D(filters, 3, stride, padding="same", use_bias=False, name=name)(x)
        return L.ReLU(6.0, name=f"{name}_relu")(L.BatchNormalization(name=f"{name}_bn")(x))

    inp = keras.Input((H, W, 3))
    s2 = cbr(inp, 16, 2, "enc1")
    d = L.ReLU(6.0, name="dw_relu")(
        L.BatchNormalization(name="dw_bn")(L.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw")(s2))
    )
    d = L.BatchNormalization(name="pw_bn")(L.Conv2D(16, 1, use_bias=False, name="pw")(d))
    s2 = L.Add(name="residual")([s2, d])
    s4 = cbr(s2, 32, 2, "enc2")
    x = L.Concatenate(name="skip2")([L.UpSampling2D(2, interpolation="bilinear", name="up4")(s4), s2])
    x = L.Conv2D(2, 1, name="logits_s2")(cbr(x, 16, 1, "dec2"))
    return keras.Model(inp, L.UpSampling2D(2, interpolation="bilinear", name="logits")(x))
