"""Crack segmentation with an exported TFLite model: numpy + OpenCV + LiteRT only.

Loaded by the MLflow pyfunc serving process, so it imports neither TensorFlow nor torch (a test
checks). Everything model-specific comes from ``crack_meta.json`` written by ``crack_tflite``:
input size, normalization, labels, and the sha256 of each ``.tflite`` file, which is checked on
load against the exact bytes handed to the interpreter.

Pre-processing: any-size RGB uint8 image -> model size (``cv2.INTER_AREA``, as the training data
loader resizes) -> ``(pixel * scale - mean) / std`` -> the model's input quantization (int8 model)
with one 256-entry lookup table per channel built at load time (the float values are computed in
float64 and rounded once to float32, which reproduces training's float32 ``/ 255`` bit for bit).
Post-processing: output dequantized with the interpreter's scale/zero point, crack probability =
softmax over the 2 logits, resized back to the image (bilinear); mask = argmax (probability > 0.5).
Predicted crack regions smaller than the metadata's ``postprocess.min_region_px`` (model-input
pixels) and straight lines of at least ``postprocess.straight_line_min_run`` of the shorter side
(joints, saw cuts; components/crack/postprocess.py) are dropped first, and their probability is
capped just below 0.5, so ``prob > 0.5`` stays exactly the mask. Exports without those keys drop
nothing.

Frames much larger than the model input (``tiling="auto"``: more than ``TILE_FACTOR`` times the
input in width or height) are not shrunk whole but read in model-size tiles at full resolution
(components/crack/tiling.py, the rule the evaluation stages score with too).
``bench/crack_tiling.py`` compares both on such frames.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from ai_edge_litert.interpreter import Interpreter

from components.crack.postprocess import MaskRules
from components.crack.tiling import TILE_OVERLAP, check_tiling, tiled_margin
from components.crack.tiling import should_tile as tiling_rule
from components.export.integrity import ExportIntegrityError, verified_bytes
from components.export.integrity import read_meta as _read_meta

SCHEMA_VERSION = 1
DROPPED_MARGIN = -0.01  # logit margin given to dropped regions: probability 0.4975, just below the mask's 0.5
META_FILE = "crack_meta.json"
FILES = {"int8": "crack_int8.tflite", "dynamic": "crack_dynamic.tflite"}
LABELS = ("background", "crack")


@dataclass
class CrackPrediction:
    prob: np.ndarray  # (H, W) float32 crack probability at the image's size
    mask: np.ndarray  # (H, W) bool, argmax of the two classes
    masking_rate: float  # share of the image's pixels predicted as crack


def read_meta(export_dir: str | Path) -> dict:
    return _read_meta(Path(export_dir) / META_FILE, SCHEMA_VERSION, ("input_size", "normalization", "labels", "files"))


def normalized_lut(normalization: dict) -> np.ndarray:
    """(256, 3) float32: the model input for each pixel value and RGB channel, per the metadata."""
    pixels = np.arange(256, dtype=np.float64)[:, None]
    scaled = (pixels * float(normalization["scale"])).astype(np.float32)  # == float32(pixel / 255)
    mean = np.asarray(normalization["mean"], np.float32)
    std = np.asarray(normalization["std"], np.float32)
    return (scaled - mean) / std


def apply_lut(image: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Per-channel lookup: uint8 RGB (..., 3) -> lut[pixel, channel] (cv2.LUT: ~10x numpy indexing)."""
    if lut.dtype == np.int8:  # cv2.LUT has no signed 8-bit table: same bytes through uint8
        return cv2.LUT(np.ascontiguousarray(image), lut.view(np.uint8).reshape(1, 256, 3)).view(np.int8)
    return cv2.LUT(np.ascontiguousarray(image), lut.reshape(1, 256, 3))


def preprocess(image: np.ndarray, normalization: dict) -> np.ndarray:
    """uint8 RGB (..., 3) -> float32 model input, per the metadata's normalization."""
    return normalized_lut(normalization)[np.asarray(image, np.uint8), np.arange(3)]


def as_rgb(image: np.ndarray) -> np.ndarray:
    """Validate a decoded image: uint8 HxWx3 RGB (HxW grey and HxWx4 RGBA are converted)."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8 RGB, got dtype {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be HxWx3 RGB, got shape {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"empty image, shape {image.shape}")
    return np.ascontiguousarray(image)


class TfliteSegmenter:
    """One exported form (``int8`` or ``dynamic``) with its metadata, batch 1."""

    def __init__(self, model_content: bytes, meta: dict, form: str = "int8", threads: int = 1, name: str = "model"):
        self.meta, self.form, self.threads = meta, form, threads
        self.input_size = tuple(int(v) for v in meta["input_size"])  # (width, height)
        self.labels = list(meta["labels"])
        if len(self.labels) != 2 or "crack" not in self.labels:
            raise ExportIntegrityError(f"{name}: labels {self.labels} are not a 2-class crack segmentation")
        self.crack_index = self.labels.index("crack")
        self.rules = MaskRules.from_meta(meta.get("postprocess", {}))
        self.interpreter = Interpreter(model_content=model_content, num_threads=max(1, int(threads)))
        self.interpreter.allocate_tensors()
        self._in = self.interpreter.get_input_details()[0]
        self._out = self.interpreter.get_output_details()[0]
        width, height = self.input_size
        if tuple(self._in["shape"]) != (1, height, width, 3):
            raise ExportIntegrityError(
                f"{name}: input shape {tuple(self._in['shape'])} does not match the metadata's "
                f"input_size {width}x{height}"
            )
        if tuple(self._out["shape"]) != (1, height, width, len(self.labels)):
            raise ExportIntegrityError(
                f"{name}: output shape {tuple(self._out['shape'])} does not match "
                f"{len(self.labels)} labels at {width}x{height}"
            )
        lut = normalized_lut(meta["normalization"])
        dtype = self._in["dtype"]
        if np.issubdtype(dtype, np.integer):  # quantized input: q = round(x / scale) + zero_point
            scale, zero = self._in["quantization"]
            info = np.iinfo(dtype)
            lut = np.clip(np.round(lut / scale) + zero, info.min, info.max)
        self._lut = lut.astype(dtype)
        scale, zero = self._out["quantization"]
        self._out_q = (float(scale), int(zero)) if np.issubdtype(self._out["dtype"], np.integer) else None

    @classmethod
    def load(cls, export_dir: str | Path, form: str = "int8", threads: int = 1) -> TfliteSegmenter:
        """Read ``crack_meta.json``, check the form's .tflite against its sha256, build the interpreter."""
        export_dir = Path(export_dir)
        meta = read_meta(export_dir)
        if form not in meta["files"]:
            raise ExportIntegrityError(f"{export_dir / META_FILE}: no {form!r} model (has {sorted(meta['files'])})")
        entry = meta["files"][form]
        path = export_dir / entry["file"]
        if Path(entry["file"]).name != entry["file"]:
            raise ExportIntegrityError(
                f"{export_dir / META_FILE}: model file {entry['file']!r} must be a plain file name"
            )
        content = verified_bytes(path, entry["sha256"], META_FILE)
        return cls(content, meta, form, threads, name=str(path))

    # -- at model size ----------------------------------------------------------------------------

    def input_tensor(self, image: np.ndarray) -> np.ndarray:
        """uint8 RGB image at model size -> the interpreter's input (normalized, quantized when int8)."""
        return apply_lut(image, self._lut)[None]

    def logits(self, image: np.ndarray) -> np.ndarray:
        """(H, W, labels) float32 logits of one uint8 RGB image already at model size."""
        self.interpreter.set_tensor(self._in["index"], self.input_tensor(image))
        self.interpreter.invoke()
        out = self.interpreter.get_tensor(self._out["index"])[0]
        if self._out_q is None:
            return out.astype(np.float32, copy=True)
        scale, zero = self._out_q
        return (out.astype(np.float32) - zero) * np.float32(scale)

    def iter_logits(self, images: np.ndarray, batch_size: int = 16) -> Iterator[tuple[int, np.ndarray]]:
        """Yield (start index, logits batch) over (N, H, W, 3) uint8 images at model size, like
        ``components.crack.data.predict_logits`` (the interpreter itself runs batch 1)."""
        width, height = self.input_size
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[1:] != (height, width, 3):
            raise ValueError(f"images must be (N, {height}, {width}, 3) at the model size, got {images.shape}")
        for start in range(0, len(images), batch_size):
            yield start, self.batch_logits(images[start : start + batch_size])

    # -- any size ---------------------------------------------------------------------------------

    def crack_margin(self, image: np.ndarray) -> np.ndarray:
        """(H, W) crack-minus-background logit of one uint8 RGB image at model size."""
        logits = self.logits(image)
        return logits[..., self.crack_index] - logits[..., 1 - self.crack_index]

    def apply_rules(self, diff: np.ndarray) -> np.ndarray:
        """The logit margin with the crack pixels ``rules`` drop set to ``DROPPED_MARGIN``."""
        crack = diff > 0
        dropped = crack & ~self.rules.apply(crack)
        if not dropped.any():
            return diff
        return np.where(dropped, np.float32(DROPPED_MARGIN), diff).astype(diff.dtype, copy=False)

    def should_tile(self, shape: tuple[int, ...], tiling: str = "auto") -> bool:
        check_tiling(tiling)
        return tiling == "always" or (tiling == "auto" and tiling_rule(shape, self.input_size))

    def tiled_margin(self, image: np.ndarray, overlap: float = TILE_OVERLAP) -> np.ndarray:
        """(H, W) crack logit margin of a large image from overlapping model-size tiles at full resolution."""
        return tiled_margin(
            lambda tiles: np.stack([self.crack_margin(t) for t in tiles]), image, self.input_size, overlap
        )

    def batch_logits(self, images: np.ndarray) -> np.ndarray:
        """(N, H, W, labels) logits of uint8 images at model size (the interpreter runs batch 1)."""
        return np.stack([self.logits(im) for im in images])

    def predict(self, image: np.ndarray, tiling: str = "auto") -> CrackPrediction:
        """Crack probability and mask of one RGB uint8 image of any size, at that size.

        ``tiling``: ``auto`` reads frames more than ``TILE_FACTOR`` x the model input
        (components/crack/tiling.py) in tiles at full resolution and shrinks the others;
        ``always`` / ``never`` force one way."""
        image = as_rgb(image)
        h, w = image.shape[:2]
        width, height = self.input_size
        if (w, h) != (width, height) and self.should_tile(image.shape, tiling):
            diff = self.apply_rules(self.tiled_margin(image))
            prob = (1.0 / (1.0 + np.exp(-np.clip(diff, -80, 80)))).astype(np.float32)
            mask = diff > 0
            return CrackPrediction(prob, mask, float(mask.mean()))
        resized = (
            image if (w, h) == (width, height) else cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        )
        diff = self.apply_rules(self.crack_margin(resized))
        prob = (1.0 / (1.0 + np.exp(-np.clip(diff, -80, 80)))).astype(np.float32)
        if (w, h) == (width, height):
            mask = diff > 0  # exactly the argmax the metrics use
        else:
            prob = cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)
            mask = prob > 0.5
        return CrackPrediction(prob, mask, float(mask.mean()))
