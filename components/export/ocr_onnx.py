"""ONNX export of both OCR detectors: fp32, then int8 by ONNX Runtime static quantization (QDQ).

Each detector is exported as one graph: normalization ((x - 0.5) / 0.25, what the SSD transform
does, or each image standardized on its own with ``input_norm: per_image``) -> MobileNetV2 taps ->
SSD head -> box decoding against the model's default boxes with torchvision's BoxCoder (weights 10,
10, 5, 5; log-size clamp) and clipping to the input -> class softmax. Input ``images``: float32 NCHW
RGB in [0, 1] at the model's fixed size (stage 2 has a dynamic batch so all crops of a frame go in
one call). Outputs ``boxes`` (N, A, 4, xyxy in input pixels) and ``scores`` (N, A, C, softmax,
column 0 = background). Per-class thresholding, top-k and NMS are left to numpy
(``components.export.ocr_runtime``), as is everything data dependent.

int8: ``quant_pre_process`` (shape inference + graph clean-up), then ``quantize_static`` with QDQ
nodes, int8 per-channel weights and uint8 activations (ONNX Runtime's fast path on x86), and
calibration on real inputs: stage 1 on downsampled training
frames, stage 2 on the crops (letterboxed squares or upright strips) the frozen stage-1 model finds
in those frames (the same glue as inference). Normalization, box decoding and softmax stay float by
default (``float_tail``):
they run on the dequantized outputs of the head's convolutions; quantized as well, 8-bit box
coordinates cost 1.2 points of roi_ap50 and 3.5 of COCO char mAP on the demo test split, for no
measurable time. A detector named in ``float_detectors`` is not quantized at all: the int8 form's
entry for it in ``ocr_meta.json`` points at its fp32 file. Whether stage 1's 8-bit activations cost
accuracy depends on the model, so by default it is quantized and then checked
(``components.export.ocr_check``), which falls back to the same fp32 entry when the check fails.
"""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    TensorData,
    create_calibrator,
    quantize_static,
    save_tensors_data,
)
from onnxruntime.quantization.shape_inference import quant_pre_process
from torch import nn
from torchvision.models.detection.image_list import ImageList
from torchvision.ops import boxes as box_ops

from components.export.ocr_runtime import FORMS, META_FILE, SCHEMA_VERSION
from components.io import atomic_path, atomic_write_text, sha256_file
from components.ocr.model import standardize
from components.ocr.pipeline import find_rois, reading_settings, roi_crops
from components.ocr.predict import TwoStageOcr
from components.ocr.preprocess import downsample, to_chw

INPUT = "images"
OUTPUTS = ("boxes", "scores")
PARITY_BATCHES = 16  # calibration batches of each detector compared with PyTorch
_CALIBRATION_METHODS = ("minmax", "entropy", "percentile")
# Entropy (KL) calibration searches thresholds over a histogram of ENTROPY_BINS bins, merged into 128
# quantized bins (TensorRT's recipe). quantize_static cannot pass these, and its defaults (128 and 128)
# leave one candidate, the full range: entropy was minmax. So entropy ranges are computed here.
ENTROPY_BINS = 2048
ENTROPY_QUANTIZED_BINS = 128


class ParityError(RuntimeError):
    """The fp32 ONNX graph does not reproduce the PyTorch model."""


def _input_hw(spec: dict) -> tuple[int, int]:
    w, h = spec["size"]
    return int(h), int(w)


class ExportWrapper(nn.Module):
    """An SSD (torchvision, built by ``components.ocr.model.build_ssd``) as a fixed-size graph:
    normalized input -> backbone -> head -> decoded, clipped boxes and softmax scores."""

    def __init__(self, ssd, spec: dict):
        super().__init__()
        self.backbone, self.head = ssd.backbone, ssd.head
        t = ssd.transform
        self.register_buffer("mean", torch.tensor(t.image_mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(t.image_std, dtype=torch.float32).view(1, 3, 1, 1))
        self.per_image = t.per_image  # input_norm: per_image (components.ocr.model.standardize)
        h, w = _input_hw(spec)
        anchors = default_boxes(ssd, spec)  # (A, 4) xyxy pixels
        wh = anchors[:, 2:] - anchors[:, :2]
        self.register_buffer("anchor_ctr", anchors[:, :2] + 0.5 * wh)
        self.register_buffer("anchor_wh", wh)
        self.register_buffer("weights", torch.tensor(ssd.box_coder.weights, dtype=torch.float32))
        self.register_buffer("limit", torch.tensor([w, h, w, h], dtype=torch.float32))
        self.clamp = float(ssd.box_coder.bbox_xform_clip)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = standardize(images) if self.per_image else (images - self.mean) / self.std
        out = self.head(list(self.backbone(x).values()))
        rel = out["bbox_regression"] / self.weights  # (N, A, 4): dx dy dw dh
        ctr = rel[..., :2] * self.anchor_wh + self.anchor_ctr
        half = 0.5 * torch.exp(torch.clamp(rel[..., 2:], max=self.clamp)) * self.anchor_wh
        boxes = torch.minimum(torch.clamp(torch.cat([ctr - half, ctr + half], -1), min=0.0), self.limit)
        return boxes, torch.softmax(out["cls_logits"], -1)


@torch.no_grad()
def default_boxes(ssd, spec: dict) -> torch.Tensor:
    """The model's default boxes (xyxy, input pixels) for its fixed input size, from torchvision's
    generator, in the order of the head's outputs."""
    h, w = _input_hw(spec)
    x = torch.zeros(1, 3, h, w)
    feats = list(ssd.backbone(x).values())
    return ssd.anchor_generator(ImageList(x, [(h, w)]), feats)[0].float()


@torch.no_grad()
def reference_outputs(ssd, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """What the ONNX graph must reproduce, computed with torchvision's own pieces (transform,
    backbone, head, default boxes, BoxCoder.decode_single, clip_boxes_to_image, softmax), as SSD's
    postprocess_detections does before thresholding and NMS."""
    ssd = ssd.eval()
    image_list, _ = ssd.transform(list(images))
    feats = list(ssd.backbone(image_list.tensors).values())
    out = ssd.head(feats)
    anchors = ssd.anchor_generator(image_list, feats)
    boxes = []
    for reg, a, shape in zip(out["bbox_regression"], anchors, image_list.image_sizes):
        boxes.append(box_ops.clip_boxes_to_image(ssd.box_coder.decode_single(reg, a), shape))
    return torch.stack(boxes).numpy(), torch.softmax(out["cls_logits"], -1).numpy()


def export_fp32(ssd, spec: dict, path: str | Path, opset: int, dynamic_batch: bool) -> Path:
    """Write the fp32 graph of ``ssd`` to ``path`` (atomically) and check it with onnx.checker."""
    path = Path(path)
    wrapper = ExportWrapper(ssd, spec).eval()
    h, w = _input_hw(spec)
    dummy = torch.rand(2 if dynamic_batch else 1, 3, h, w)
    axes = {INPUT: {0: "batch"}, **{o: {0: "batch"} for o in OUTPUTS}} if dynamic_batch else None
    with atomic_path(path) as tmp, torch.no_grad(), warnings.catch_warnings():
        # the TorchScript exporter (dynamo=False: the torch.export one needs onnxscript) warns it is legacy
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            wrapper,
            (dummy,),
            str(tmp),
            dynamo=False,
            opset_version=opset,
            input_names=[INPUT],
            output_names=list(OUTPUTS),
            dynamic_axes=axes,
            do_constant_folding=True,
        )
        model = onnx.load(str(tmp))
        model.doc_string = (
            f"SSD {spec.get('kind', '')} detector: {INPUT} float32 NCHW [0,1] -> boxes xyxy px, scores softmax"
        )
        onnx.checker.check_model(model, full_check=True)
        onnx.save(model, str(tmp))
    return path


def _session(path: str | Path, threads: int = 1):
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def parity(onnx_path: str | Path, ssd, spec: dict, inputs: Iterable[np.ndarray]) -> dict[str, float]:
    """Largest absolute differences between the ONNX graph and PyTorch on ``inputs`` (each
    N x 3 x H x W float32): ``scores``, ``boxes`` as a fraction of the input size (what the
    tolerance applies to) and ``boxes_px`` in pixels (for the record). Box errors of ~1e-3 px are
    float rounding on background boxes extrapolated far outside the input."""
    sess = _session(onnx_path)
    h, w = _input_hw(spec)
    norm = np.array([w, h, w, h], np.float32)
    worst = {"boxes": 0.0, "boxes_px": 0.0, "scores": 0.0}
    for x in inputs:
        ob, os_ = sess.run(list(OUTPUTS), {INPUT: x})
        tb, ts = reference_outputs(ssd, torch.from_numpy(x))
        d = np.abs(ob - tb)
        worst["boxes_px"] = max(worst["boxes_px"], float(d.max()))
        worst["boxes"] = max(worst["boxes"], float((d / norm).max()))
        worst["scores"] = max(worst["scores"], float(np.abs(os_ - ts).max()))
    return worst


def check_parity(onnx_path: str | Path, ssd, spec: dict, inputs: Iterable[np.ndarray], atol: float) -> dict[str, float]:
    """``parity``, or ParityError naming the file when scores or boxes (/ input size) differ by more
    than ``atol`` (NaN fails too)."""
    worst = parity(onnx_path, ssd, spec, inputs)
    bad = {k: worst[k] for k in ("boxes", "scores") if not worst[k] <= atol}
    if bad:
        raise ParityError(
            f"{onnx_path}: fp32 ONNX differs from PyTorch by more than parity_atol={atol}: "
            + ", ".join(f"{k} max |diff| {v:.3g}" for k, v in bad.items())
            + f" (boxes in pixels: {worst['boxes_px']:.3g})"
        )
    return worst


# ----------------------------------------------------------------------------------- int8 ---


class _Reader(CalibrationDataReader):
    """CalibrationDataReader over a list of input batches."""

    def __init__(self, inputs: Sequence[np.ndarray]):
        self._it = iter(list(inputs))

    def get_next(self):
        x = next(self._it, None)
        return None if x is None else {INPUT: x}


def tail_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of the nodes outside the network proper: input normalization, box decoding, clipping
    and softmax, i.e. every node that neither the backbone nor the head scope produced (the
    TorchScript exporter names nodes by module path)."""
    return [n.name for n in model.graph.node if not n.name.startswith(("/backbone/", "/head/"))]


def quantize_int8(
    fp32_path: str | Path,
    out_path: str | Path,
    inputs: Sequence[np.ndarray],
    *,
    per_channel: bool,
    method: str = "minmax",
    float_tail: bool = True,
    exclude: Sequence[str] = (),
) -> dict[str, Any]:
    """Static QDQ int8 of ``fp32_path`` calibrated on ``inputs`` (batches of float32 NCHW). The
    tail (decode + softmax) stays float when ``float_tail``; ``exclude`` names more nodes to keep
    float. Returns what was done (for the metadata)."""
    if method not in _CALIBRATION_METHODS:
        raise ValueError(f"calibration method {method!r}: expected one of {_CALIBRATION_METHODS}")
    if not len(inputs):
        raise ValueError(f"{fp32_path}: no calibration inputs (stage 1 found no ROI in the calibration frames?)")
    # one image per batch: the histogram calibrators (entropy, percentile) stack what they collect
    reader = _Reader([x[i : i + 1] for x in inputs for i in range(len(x))])
    out_path = Path(out_path)
    with tempfile.TemporaryDirectory(prefix="ocr_quant_") as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=False)
        excluded = list(exclude) + (tail_nodes(onnx.load(str(pre))) if float_tail else [])
        extra = {"CalibMovingAverage": False}
        if method == "percentile":
            extra["CalibPercentile"] = 99.999
        cache = None
        if method == "entropy":
            cache = Path(tmp) / "ranges.json"
            save_tensors_data(entropy_ranges(pre, reader, Path(tmp) / "augmented.onnx"), cache)
            reader = None
        with atomic_path(out_path) as dst:
            quantize_static(
                str(pre),
                str(dst),
                reader,
                calibration_cache_path=None if cache is None else str(cache),
                quant_format=QuantFormat.QDQ,
                per_channel=per_channel,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                nodes_to_exclude=excluded or None,
                calibrate_method={
                    "minmax": CalibrationMethod.MinMax,
                    "entropy": CalibrationMethod.Entropy,
                    "percentile": CalibrationMethod.Percentile,
                }[method],
                extra_options=extra,
            )
            quantized = onnx.load(str(dst))
            onnx.checker.check_model(quantized, full_check=True)
            if not any(n.op_type == "QuantizeLinear" for n in quantized.graph.node):
                raise RuntimeError(
                    f"{fp32_path}: quantization inserted no QDQ nodes ({len(excluded)} of "
                    f"{len(quantized.graph.node)} nodes excluded; exporter node names changed?)"
                )
    return {
        "method": method,
        "per_channel": per_channel,
        "float_tail": float_tail,
        "excluded_nodes": len(excluded),
        "calibration_batches": len(inputs),
        "calibration_images": int(sum(x.shape[0] for x in inputs)),
    }


def entropy_ranges(model: Path, reader: CalibrationDataReader, augmented: Path):
    """Per-tensor ranges by entropy calibration with ENTROPY_BINS histogram bins. ONNX Runtime's KL
    search returns ranges symmetric about 0; the low end is raised to the smallest value seen, so a
    ReLU output keeps all 256 uint8 levels for its positive side."""
    calibrator = create_calibrator(
        model,
        augmented_model_path=str(augmented),
        calibrate_method=CalibrationMethod.Entropy,
        extra_options={"num_bins": ENTROPY_BINS, "num_quantized_bins": ENTROPY_QUANTIZED_BINS},
    )
    calibrator.collect_data(reader)
    lows = {name: h[2] for name, h in calibrator.collector.histogram_dict.items()}
    ranges = calibrator.compute_data()
    for name, td in ranges.data.items():
        low, high = td.range_value
        ranges[name] = TensorData(lowest=np.maximum(low, lows[name]).astype(low.dtype), highest=high)
    return ranges


def qdq_count(path: str | Path) -> int:
    return sum(n.op_type in ("QuantizeLinear", "DequantizeLinear") for n in onnx.load(str(path)).graph.node)


# ----------------------------------------------------------------------------- calibration ---


def calibration_inputs(ocr: TwoStageOcr, images: Iterable[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Real inputs of both detectors from full frames: the downsampled frames (stage 1, one per
    batch) and the stage-2 crops of what the frozen stage-1 model finds in them (stage 2, the
    crops of one frame per batch), through the inference glue itself."""
    cfg = ocr.config
    roi_in, char_in = [], []
    for image in images:
        roi_in.append(to_chw(downsample(image, cfg.roi_size))[None])
        rboxes, _ = find_rois(image, ocr.detect_rois, cfg)
        if len(rboxes):
            _, crops = roi_crops(image, rboxes, cfg)
            char_in.append(np.stack([to_chw(c) for c in crops]))
    return roi_in, char_in


# ---------------------------------------------------------------------------------- export ---


@dataclass
class ExportSettings:
    opset: int = 17
    per_channel: bool = True
    parity_atol: float = 1e-3
    calibration_method: str = "minmax"
    float_tail: bool = True
    float_detectors: tuple[str, ...] = ()  # detectors whose deployable (int8) form is their fp32 graph

    @classmethod
    def from_params(cls, p) -> ExportSettings:
        """From ``params.export.ocr`` (components.export.config.OcrExport)."""
        return cls(p.opset, p.per_channel, p.parity_atol, p.calibration_method, p.float_tail, tuple(p.float_detectors))


def detector_meta(spec: dict) -> dict[str, Any]:
    return {
        "input_name": INPUT,
        "output_names": list(OUTPUTS),
        "input_size": [int(v) for v in spec["size"]],
        "input_layout": "NCHW float32 RGB in [0, 1]",
        "classes": list(spec["classes"]),
        "num_classes": int(spec["num_classes"]),
        "score_threshold": float(spec["score_threshold"]),
        "nms_iou": float(spec["nms_iou"]),
        "detections": int(spec["detections"]),
        "topk_candidates": int(spec["detections"]) * 2,
        "dynamic_batch": spec.get("kind") == "char",
    }


def export_ocr(
    ocr: TwoStageOcr,
    calibration_images: Iterable[np.ndarray],
    out_dir: str | Path,
    settings: ExportSettings,
    source: dict | None = None,
    log=print,
) -> dict[str, Any]:
    """Export both detectors of ``ocr`` into ``out_dir``: ``{roi,char}_{fp32,int8}.onnx`` and
    ``ocr_meta.json`` (written last: a directory without it is not an export). Use ``staged_dir``
    to publish the directory only when complete. Raises ParityError when an fp32 graph does not
    reproduce PyTorch within ``settings.parity_atol`` on the first calibration inputs."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    roi_in, char_in = calibration_inputs(ocr, calibration_images)
    log(f"calibration: {len(roi_in)} frames, {sum(len(c) for c in char_in)} crops")
    models = {"roi": (ocr.roi_model, ocr.roi_spec, roi_in), "char": (ocr.char_model, ocr.char_spec, char_in)}
    meta: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "opset": settings.opset,
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": ort.__version__},
        "source": dict(source or {}),
        "detectors": {},
        "pipeline": {
            "crop_margin": float(ocr.config.margin),
            "crop": ocr.config.crop,
            **reading_settings(ocr.config),
        },
        "parity": {},
        "quantization": {},
        "files": {},
    }
    for name, (model, spec, inputs) in models.items():
        model = copy.deepcopy(model).cpu().eval()
        fp32 = export_fp32(model, spec, out_dir / f"{name}_fp32.onnx", settings.opset, spec["kind"] == "char")
        meta["parity"][name] = check_parity(fp32, model, spec, inputs[:PARITY_BATCHES], settings.parity_atol)
        log(f"{name}: fp32 parity, max |diff| " + ", ".join(f"{k} {v:.2g}" for k, v in meta["parity"][name].items()))
        kept_fp32 = name in settings.float_detectors
        if kept_fp32:  # the int8 form reads this detector's fp32 file: no second copy, no misleading name
            meta["quantization"][name] = {"kept_fp32": True}
        else:
            meta["quantization"][name] = quantize_int8(
                fp32,
                out_dir / f"{name}_int8.onnx",
                inputs,
                per_channel=settings.per_channel,
                method=settings.calibration_method,
                float_tail=settings.float_tail,
            )
        meta["detectors"][name] = detector_meta(spec)
        for form in FORMS:
            f = out_dir / f"{name}_{'fp32' if kept_fp32 else form}.onnx"
            meta["files"][f"{name}_{form}"] = {"path": f.name, "sha256": sha256_file(f), "bytes": f.stat().st_size}
        log(
            f"{name}: " + ", ".join(f"{form} {meta['files'][f'{name}_{form}']['bytes'] / 1e6:.2f} MB" for form in FORMS)
        )
    atomic_write_text(out_dir / META_FILE, json.dumps(meta, indent=2) + "\n")
    return meta


@contextmanager
def staged_dir(dest: str | Path) -> Iterator[Path]:
    """A fresh directory beside ``dest`` that replaces ``dest`` only if the block succeeds (two
    renames), so an interrupted or failed export never leaves a directory that looks complete."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{dest.name}.new.", dir=dest.parent))
    stage.chmod(0o755)  # mkdtemp makes it private (0700)
    try:
        yield stage
        old = None
        if dest.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old.", dir=dest.parent))
            old.rmdir()
            dest.rename(old)
        stage.rename(dest)
        if old is not None:
            shutil.rmtree(old)
    finally:
        if stage.exists():
            shutil.rmtree(stage)
