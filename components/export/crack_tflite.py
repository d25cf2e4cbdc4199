"""TFLite export of the QAT crack segmenter: full-integer and dynamic-range models + metadata.

* **Full integer** (``crack_int8.tflite``): ``TFLiteConverter`` over the QAT Keras model. The
  fake-quant ranges learned in QAT give the activation scales; a representative dataset of training
  images (normalized exactly as training does, ``components.crack.data.normalize``) covers any tensor
  QAT left without a range. Weights and activations are int8, and so are the input and the output.
  **int8, not uint8**: TFLite's integer kernels are int8 (uint8 is the legacy scheme and would only
  add a QUANTIZE op at each end of the graph), and the model input is the *normalized* image, a
  signed per-channel quantity, so raw uint8 pixels could not be fed as they are anyway (docs/crack.md#model
  keeps normalization outside the graph). The runtime maps pixel -> normalized -> int8 with one
  256-entry lookup table per channel, so the int8 interface costs nothing.
* **Dynamic range** (``crack_dynamic.tflite``): int8 weights, float activations quantized on the fly
  by the kernels. Converting the QAT model itself with ``Optimize.DEFAULT`` gives a full-integer
  graph again (the fake-quant ops pin every activation), so the QAT weights are first moved into the
  plain float architecture (``strip_quantization``) and that is converted.
* **Metadata** (``crack_meta.json``, ``SCHEMA_VERSION``): input size, normalization in training's
  terms, labels, and the sha256 of every ``.tflite``; the runtime (``crack_runtime``) reads everything
  from it and refuses a model whose hash differs. ``tflite_support``'s metadata writer is not in the
  environment, so nothing is embedded in the ``.tflite`` files: this JSON (shipped inside the MLflow
  model) is the single source of truth. ``verify_normalization`` checks it against the constants
  training uses before it is written (the seed's export claimed mean = std = 127.5 while training used
  ImageNet statistics).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tensorflow as tf
import tf_keras as keras

from components.crack.data import CrackSplit, normalize
from components.crack.evaluate import EvalResult, score_batches
from components.crack.model import IMAGENET_MEAN, IMAGENET_STD
from components.crack.tiling import split_logits
from components.export.crack_runtime import (
    FILES,
    LABELS,
    META_FILE,
    SCHEMA_VERSION,
    TfliteSegmenter,
)
from components.io import atomic_write_bytes, atomic_write_text, sha256_file

PIXEL_SCALE = 1.0 / 255.0  # components.crack.data.normalize divides by 255 before mean/std


class NormalizationMismatch(ValueError):
    """Exported normalization that differs from what the model was trained with."""


# -- conversion ----------------------------------------------------------------------------------


def _plain_activation(config):
    """The activation a tfmot wrapper replaced (QuantizeAwareActivation around it; NoOp = linear)."""
    if isinstance(config, dict) and config.get("class_name") == "QuantizeAwareActivation":
        inner = config["config"]["activation"]
        return "linear" if isinstance(inner, dict) and inner.get("class_name") == "NoOpActivation" else inner
    return config


def strip_quantization(qat: keras.Model) -> keras.Model:
    """The float model with the QAT model's (fine-tuned) weights: wrappers unwrapped, input quantizer
    replaced by an identity, fake-quant ranges dropped."""
    wrappers = {getattr(layer, "layer", layer).name: layer for layer in qat.layers}

    def unwrap(layer):
        if type(layer).__name__ == "QuantizeLayer":
            return keras.layers.Identity(name=layer.name)
        inner = getattr(layer, "layer", layer)
        config = inner.get_config()
        if "activation" in config:
            config["activation"] = _plain_activation(config["activation"])
        return inner.__class__.from_config(config)

    plain = keras.models.clone_model(qat, clone_function=unwrap)
    for layer in plain.layers:
        if not layer.weights:
            continue
        source = wrappers[layer.name]
        have = {w.name.split("/", 1)[1]: w for w in source.weights}  # "quant_Conv1/kernel:0" -> "kernel:0"
        missing = [w.name for w in layer.weights if w.name.split("/", 1)[1] not in have]
        if missing:
            raise ValueError(f"cannot strip quantization: {source.name} has no weights for {missing}")
        layer.set_weights([have[w.name.split("/", 1)[1]].numpy() for w in layer.weights])
    return plain


def representative_dataset(images: np.ndarray):
    """Generator factory for the converter: each uint8 image, batch 1, normalized as in training."""

    def gen():
        for image in images:
            yield [normalize(image[None]).numpy().astype(np.float32)]

    return gen


def convert_int8(qat: keras.Model, rep_images: np.ndarray) -> bytes:
    converter = tf.lite.TFLiteConverter.from_keras_model(qat)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_dataset(rep_images)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]  # fail rather than fall back to float
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def convert_dynamic(qat: keras.Model) -> bytes:
    converter = tf.lite.TFLiteConverter.from_keras_model(strip_quantization(qat))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]  # no representative dataset: dynamic range
    return converter.convert()


# -- metadata ------------------------------------------------------------------------------------


def training_normalization() -> dict:
    """Normalization in training's terms: ``(pixel * scale - mean) / std`` per RGB channel."""
    return {
        "scale": PIXEL_SCALE,
        "mean": [float(v) for v in IMAGENET_MEAN],
        "std": [float(v) for v in IMAGENET_STD],
        "formula": "(pixel * scale - mean) / std",
        "channel_order": "RGB",
    }


def build_metadata(input_size: tuple[int, int], model_files: dict[str, Path], extra: dict | None = None) -> dict:
    """``model_files``: form (``int8``/``dynamic``) -> written .tflite file (hashed here)."""
    files = {}
    for form, path in model_files.items():
        path = Path(path)
        files[form] = {
            "file": path.name,
            "sha256": sha256_file(path),
            "bytes": path.stat().st_size,
            "io_dtype": "int8" if form == "int8" else "float32",
        }
    return {
        "schema_version": SCHEMA_VERSION,
        "task": "semantic_segmentation",
        "name": "road-crack-segmenter",
        "input_size": [int(input_size[0]), int(input_size[1])],
        "input_layout": "NHWC",
        "normalization": training_normalization(),
        "labels": list(LABELS),
        "output": "logits (N, H, W, len(labels)); mask = argmax, crack probability = softmax[crack]",
        "files": files,
        **(extra or {}),
    }


def verify_normalization(meta: dict) -> None:
    """Raise NormalizationMismatch unless ``meta`` normalizes exactly as training does
    (``components.crack.data.normalize``: /255, then ImageNet mean/std per RGB channel)."""
    norm = meta.get("normalization")
    if not isinstance(norm, dict):
        raise NormalizationMismatch("export metadata has no 'normalization' section")
    problems = []
    try:
        scale = float(norm.get("scale", float("nan")))
        mean, std = np.asarray(norm.get("mean"), np.float64), np.asarray(norm.get("std"), np.float64)
    except (TypeError, ValueError) as exc:
        raise NormalizationMismatch(f"export metadata normalization is malformed: {norm!r} ({exc})") from exc
    if not np.isclose(scale, PIXEL_SCALE, rtol=1e-9, atol=0):
        problems.append(f"scale {scale!r} != 1/255 = {PIXEL_SCALE!r}")
    for key, got, want in (("mean", mean, IMAGENET_MEAN), ("std", std, IMAGENET_STD)):
        if got.shape != want.shape or not np.allclose(got, want, rtol=0, atol=1e-7):
            problems.append(f"{key} {got.tolist()} != ImageNet {key} {want.tolist()} (in [0, 1] units)")
    if norm.get("channel_order", "RGB") != "RGB":
        problems.append(f"channel order {norm.get('channel_order')!r} != 'RGB'")
    if problems:
        raise NormalizationMismatch(
            "export metadata normalization does not match training (components.crack.data.normalize: "
            "pixel / 255, then ImageNet mean/std): "
            + "; ".join(problems)
            + ". A runtime following this metadata would feed the model inputs it never saw in training."
        )


# -- export + evaluation -------------------------------------------------------------------------


def export(
    qat: keras.Model,
    rep_images: np.ndarray,
    out_dir: str | Path,
    extra_meta: dict | None = None,
    forms: tuple[str, ...] = ("int8", "dynamic"),
) -> dict:
    """Write the .tflite files and ``crack_meta.json`` (last, after the check) into ``out_dir``; return the metadata."""
    out_dir = Path(out_dir)
    _, height, width, _ = qat.input_shape
    converters = {"int8": lambda: convert_int8(qat, rep_images), "dynamic": lambda: convert_dynamic(qat)}
    written = {}
    for form in forms:
        path = out_dir / FILES[form]
        atomic_write_bytes(path, converters[form]())
        written[form] = path
    meta = build_metadata((width, height), written, extra_meta)
    verify_normalization(meta)
    atomic_write_text(out_dir / META_FILE, json.dumps(meta, indent=2) + "\n")
    return meta


def evaluate_tflite(segmenter: TfliteSegmenter, data: CrackSplit, pr_points: int = 19) -> EvalResult:
    """Test-split metrics of a TFLite model with the same code as the Keras models (at model size,
    large frames read in tiles), masks cleaned as the segmenter's runtime cleans them (the
    ``postprocess`` rules of its metadata)."""
    batches = split_logits(segmenter.batch_logits, data.images, data.large_images())
    return score_batches(batches, data, pr_points, segmenter.rules)
