"""MobileNetV2-UNet crack segmenter (docs/crack.md#model).

Encoder: tf-keras' MobileNetV2 (``weights=None``: no hub download; ``load_pretrained`` can fill it from a
local file, ``crack.model.pretrained``), tapped at
the expansion ReLUs that sit at strides 2, 4, 8 and 16 (the activations just before each
down-sampling block, i.e. the richest features at that resolution). Decoder: at each level a
bilinear x2 up-sampling, concatenation with the skip, and ``decoder_convs`` 3x3 blocks, either
plain conv-BN-ReLU (``conv``, the seed's heavy decoder) or depthwise-separable (``separable``:
depthwise 3x3-BN-ReLU + pointwise 1x1-BN-ReLU, about 8x fewer multiply-adds, which matters because at
stride 2 the decoder works on 144x192 maps and would otherwise cost several times the whole
encoder); the stride-2 logits for 2 classes are up-sampled bilinearly to the input size. Only layers that
tfmot's default 8-bit scheme knows (Conv2D, DepthwiseConv2D, BN, ReLU, Add, Concatenate,
UpSampling2D, ZeroPadding2D) are used, so quantization-aware training needs no custom layers.

The input is the image after /255 and ImageNet mean/std (``normalize``); normalization stays outside
the graph so the exported integer model takes the same tensor and the metadata names the constants.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tf_keras as keras

from components.io import sha256_file

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
NUM_CLASSES = 2
# Keras' MobileNetV2 uses BN momentum 0.999: the moving statistics need thousands of steps to settle,
# and a short CPU training (a few hundred steps) then predicts garbage in inference mode (the first
# demo runs scored only the empty val images). 0.9 follows the batch statistics within ~50 steps.
BN_MOMENTUM = 0.9
# MobileNetV2 layers whose outputs are the skips, by stride; the bottleneck is at stride 32
SKIP_LAYERS = {2: "block_1_expand_relu", 4: "block_3_expand_relu", 8: "block_6_expand_relu", 16: "block_13_expand_relu"}
BOTTLENECK_LAYERS = {"project": "block_16_project_BN", "out_relu": "out_relu"}


def normalize(image_uint8):
    """uint8 RGB (numpy or tf) -> float32 model input: /255 then ImageNet mean/std."""
    return (
        (image_uint8 / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
        if isinstance(image_uint8, np.ndarray)
        else ((keras.backend.cast(image_uint8, "float32") / 255.0) - IMAGENET_MEAN) / IMAGENET_STD
    )


def _conv_bn_relu(x, filters: int, name: str, block: str = "conv"):
    if block == "separable":
        x = keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False, name=f"{name}_dw")(x)
        x = keras.layers.BatchNormalization(name=f"{name}_dw_bn")(x)
        x = keras.layers.ReLU(name=f"{name}_dw_relu")(x)
        x = keras.layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_pw")(x)
    elif block == "conv":
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    else:
        raise ValueError(f"unknown decoder block {block!r} (conv | separable)")
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def build_unet(
    input_size: tuple[int, int] = (384, 288),
    alpha: float = 0.35,
    decoder_filters: tuple[int, ...] = (64, 48, 32, 24),
    decoder_convs: int = 1,
    bottleneck: str = "project",
    decoder_block: str = "conv",
    flexible: bool = False,
) -> keras.Model:
    """The UNet; ``input_size`` is (width, height), both multiples of 32; ``decoder_filters`` deepest first.

    Returns a functional model mapping (B, H, W, 3) normalized images to (B, H, W, 2) logits. The
    saved models have the fixed ``input_size`` (what an exported model needs); ``flexible=True``
    builds the same layers and weights for any multiple-of-32 size, which training uses so it can
    run on random crops (``twin`` moves weights between the two).
    """
    width, height = input_size
    if width % 32 or height % 32:
        raise ValueError(f"input size {width}x{height} must be a multiple of 32 (5 stride-2 levels)")
    if len(decoder_filters) != len(SKIP_LAYERS):
        raise ValueError(
            f"decoder_filters needs {len(SKIP_LAYERS)} widths (strides 16, 8, 4, 2), got {list(decoder_filters)}"
        )
    shape = (None, None, 3) if flexible else (height, width, 3)
    encoder = keras.applications.MobileNetV2(input_shape=shape, alpha=alpha, include_top=False, weights=None)
    x = encoder.get_layer(BOTTLENECK_LAYERS[bottleneck]).output
    for (stride, layer), filters in zip(sorted(SKIP_LAYERS.items(), reverse=True), decoder_filters):
        x = keras.layers.UpSampling2D(2, interpolation="bilinear", name=f"up{stride}")(x)
        x = keras.layers.Concatenate(name=f"skip{stride}")([x, encoder.get_layer(layer).output])
        for i in range(decoder_convs):
            x = _conv_bn_relu(x, filters, f"dec{stride}_{i}", decoder_block)
    x = keras.layers.Conv2D(NUM_CLASSES, 1, name="logits_s2")(x)
    logits = keras.layers.UpSampling2D(2, interpolation="bilinear", name="logits")(x)
    model = keras.Model(encoder.input, logits, name=f"mobilenetv2_unet_a{alpha:g}")
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = BN_MOMENTUM
    return model


def count_params(model: keras.Model) -> int:
    """All weights (trainable + BN statistics), as Keras' summary counts them."""
    return int(model.count_params())


def from_params(model_params, flexible: bool = False) -> keras.Model:
    m = model_params
    return build_unet(
        tuple(m.input_size), m.alpha, tuple(m.decoder_filters), m.decoder_convs, m.bottleneck, m.decoder_block, flexible
    )


# rows for which Keras publishes MobileNetV2 ImageNet weights; any other input (non-square, flexible) gets 224's
KERAS_IMAGENET_ROWS = (96, 128, 160, 192, 224)
KERAS_IMAGENET_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)


def keras_imagenet_path(alpha: float, input_size: tuple[int, int] | None = None) -> Path:
    """Where ``keras.applications.MobileNetV2(weights="imagenet", include_top=False)`` caches its file.

    Same name as Keras builds it (alpha as float, rows it would pick: the height when the input is square
    and one of ``KERAS_IMAGENET_ROWS``, else 224); the folder is ``$KERAS_HOME/models`` or ``~/.keras/models``.
    The encoder weights do not depend on rows, so any of the files fits any input size.
    """
    rows = 224
    if input_size is not None and input_size[0] == input_size[1] and input_size[1] in KERAS_IMAGENET_ROWS:
        rows = int(input_size[1])
    base = Path(os.environ["KERAS_HOME"]) if os.environ.get("KERAS_HOME") else Path.home() / ".keras"
    return base / "models" / f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}_no_top.h5"


def resolve_pretrained(spec: str, alpha: float, input_size: tuple[int, int] | None = None) -> Path | None:
    """The weights file ``spec`` names (``none`` -> None, ``imagenet`` -> the Keras cache file, else a path).

    Raises FileNotFoundError naming the path and what to do: nothing is downloaded at run time.
    """
    if spec == "none":
        return None
    if spec == "imagenet":
        if float(alpha) not in KERAS_IMAGENET_ALPHAS:
            raise ValueError(
                f"crack.model.pretrained: imagenet: Keras has MobileNetV2 ImageNet weights only for alpha in "
                f"{list(KERAS_IMAGENET_ALPHAS)}, not crack.model.alpha {alpha}; set pretrained: none or give a "
                f"path to a MobileNetV2 no-top .h5 of alpha {alpha}"
            )
        path = keras_imagenet_path(alpha, input_size)
        if not path.is_file():
            raise FileNotFoundError(
                f"crack.model.pretrained: imagenet: {path} not found and nothing is downloaded at run time; put Keras' "
                f"MobileNetV2 no-top ImageNet weights for alpha {float(alpha)} there (the file "
                f"keras.applications.MobileNetV2(alpha={float(alpha)}, include_top=False, weights='imagenet') caches), "
                f"or give a path to a local .h5 (under models/pretrained/), or set pretrained: none"
            )
        return path
    path = Path(spec)
    if not path.is_file():
        raise FileNotFoundError(
            f"crack.model.pretrained: weights file {path} not found; put a MobileNetV2 no-top .h5 of "
            f"alpha {alpha} there (under models/pretrained/), or use imagenet or none"
        )
    return path


def load_pretrained(
    model: keras.Model, spec: str, alpha: float, input_size: tuple[int, int] | None = None
) -> dict | None:
    """Fill ``model``'s MobileNetV2 encoder from the file ``spec`` names; the decoder stays as it is.

    The file is read into a bare MobileNetV2 of the same alpha (so a file of another width fails with
    its name), then copied layer by layer into the encoder layers the UNet uses (the layers after the
    bottleneck tap, unused with ``bottleneck: project``, are skipped). Returns what was loaded
    (``pretrained``, ``pretrained_path``, ``pretrained_sha256``, ``pretrained_layers``) or None for ``none``.
    """
    path = resolve_pretrained(spec, alpha, input_size)
    if path is None:
        return None
    encoder = keras.applications.MobileNetV2(input_shape=(None, None, 3), alpha=alpha, include_top=False, weights=None)
    try:
        encoder.load_weights(str(path))
    except (ValueError, OSError, KeyError) as e:
        raise ValueError(
            f"crack.model.pretrained: {path} does not fit a MobileNetV2 no-top encoder of alpha {alpha} "
            f"(crack.model.alpha); is it of another alpha, or not a Keras MobileNetV2 .h5? {e}"
        ) from e
    names = {layer.name for layer in model.layers}
    copied = 0
    for layer in encoder.layers:
        weights = layer.get_weights()
        if weights and layer.name in names:
            model.get_layer(layer.name).set_weights(weights)
            copied += 1
    if not copied:
        raise ValueError(f"crack.model.pretrained: no layer of {path} matches the model's encoder")
    return {
        "pretrained": spec,
        "pretrained_path": str(path),
        "pretrained_sha256": sha256_file(path),
        "pretrained_layers": copied,
    }


def twin(model: keras.Model, other: keras.Model) -> keras.Model:
    """``other`` (same architecture, other input shape) with ``model``'s weights."""
    other.set_weights(model.get_weights())
    return other
