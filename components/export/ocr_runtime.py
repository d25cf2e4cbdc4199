"""The two-stage OCR on ONNX Runtime: the exported detectors + numpy post-processing, no torch.

``OnnxTwoStageOcr.load(export_dir, form="int8", threads=1)`` reads ``ocr_meta.json`` (everything
inference needs: input sizes, classes, thresholds, NMS, crop margin, reading thresholds), verifies
the sha256 of each ``.onnx`` before loading it (docs/architecture.md#reliability-rules), and runs the same glue as
the PyTorch
path (``components.ocr.pipeline.run_two_stage``), so it returns the same ``FrameResult`` objects and
``components.ocr.evaluate.evaluate`` measures it unchanged. The character detector keeps the top
``CLASS_TOPK`` classes of every kept box, which the reading decodes under the marking grammar.

Post-processing reproduces torchvision's ``SSD.postprocess_detections`` on the graph's decoded boxes
and softmax scores: per class (background excluded) keep scores > score_threshold, the top
``topk_candidates`` of them, then class-wise NMS (``batched_nms``: a box is suppressed by a
higher-scoring box of the same class with IoU > nms_iou), and the best ``detections`` overall.

This module is imported by the MLflow pyfunc serving process: it must not import torch (tested).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from components.export.integrity import ExportIntegrityError, read_meta, verified_bytes  # noqa: F401 (re-exported)
from components.ocr.pipeline import (
    CLASS_TOPK,
    READING_SETTINGS,
    Detections,
    FrameResult,
    PipelineConfig,
    run_two_stage,
)
from components.ocr.preprocess import to_chw

SCHEMA_VERSION = 1
META_FILE = "ocr_meta.json"
FORMS = ("fp32", "int8")


def load_meta(export_dir: str | Path) -> dict[str, Any]:
    return read_meta(Path(export_dir) / META_FILE, SCHEMA_VERSION)


NMS_TABLE_MAX = 512  # candidates up to which NMS computes all pairwise overlaps at once


def batched_nms(
    boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, iou: float, limit: int | None = None
) -> np.ndarray:
    """Indices kept by class-wise greedy NMS, by decreasing score (torchvision ``batched_nms``:
    IoU without +1, suppression when IoU > ``iou``). Stops after ``limit`` kept boxes: the ones after
    it cannot change those before it."""
    order = np.argsort(-scores, kind="stable")
    b = boxes[order].astype(np.float32, copy=False)
    lab = labels[order]
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])

    x1, y1, x2, y2 = b.T

    def suppresses(i, j) -> np.ndarray:  # whether box i suppresses box j (indices broadcast)
        iw = np.clip(np.minimum(x2[i], x2[j]) - np.maximum(x1[i], x1[j]), 0, None)
        ih = np.clip(np.minimum(y2[i], y2[j]) - np.maximum(y1[i], y1[j]), 0, None)
        inter = iw * ih
        with np.errstate(invalid="ignore", divide="ignore"):
            return (inter / (area[i] + area[j] - inter) > iou) & (lab[i] == lab[j])

    # A frame has tens of candidates: all pairs at once (one numpy pass) instead of one pass per kept box.
    n = len(order)
    table = suppresses(np.arange(n)[:, None], np.arange(n)[None, :]) if n <= NMS_TABLE_MAX else None
    alive = np.ones(n, bool)
    keep: list[int] = []
    for i in range(n):
        if not alive[i]:
            continue
        keep.append(i)
        if limit is not None and len(keep) >= limit:
            break
        rest = slice(i + 1, None)
        alive[rest] &= ~(table[i, rest] if table is not None else suppresses(i, rest))
    return order[np.array(keep, np.int64)]


def postprocess(
    boxes: np.ndarray,
    scores: np.ndarray,
    score_threshold: float,
    topk: int,
    nms_iou: float,
    detections: int,
    class_topk: int = 0,
) -> Detections:
    """One image's decoded boxes (A, 4) and softmax scores (A, C) -> (boxes, labels, scores), and
    with ``class_topk`` > 0 also each kept box's ``class_topk`` most probable classes (background
    excluded; labels 1-based, (N, k)) and their probabilities, as ``TopKSSD`` gives them."""
    fg = scores[:, 1:]
    # candidates class by class, anchors ascending within a class (the order NMS breaks ties in),
    # found in one pass over the contiguous scores instead of one strided numpy call per class
    above = scores > score_threshold
    above[:, 0] = False
    idx, cls = np.nonzero(above)
    by_class = np.argsort(cls, kind="stable")
    idx, cls = idx[by_class], cls[by_class] - 1
    counts = np.bincount(cls, minlength=fg.shape[1])
    if len(counts) and counts.max() > topk:  # a class with more candidates than topk keeps its best
        ends = np.cumsum(counts)
        segments = [idx[e - n : e] for n, e in zip(counts, ends)]
        segments = [
            g if len(g) <= topk else g[np.argsort(-fg[g, c], kind="stable")[:topk]] for c, g in enumerate(segments)
        ]
        idx = np.concatenate(segments)
        cls = np.repeat(np.arange(len(segments)), [len(g) for g in segments])
    b, s, lab = boxes[idx], fg[idx, cls], cls.astype(np.int64) + 1
    keep = batched_nms(b, s, lab, nms_iou, detections)
    out = (b[keep].astype(np.float32), lab[keep], s[keep].astype(np.float32))
    if class_topk <= 0:
        return out
    k = max(1, min(int(class_topk), scores.shape[1] - 1))
    rows = fg[idx[keep]]
    top = np.argsort(-rows, axis=1, kind="stable")[:, :k]
    return (*out, (top + 1).astype(np.int64), np.take_along_axis(rows, top, 1).astype(np.float32))


# -------------------------------------------------------------------------------- sessions ---


class OnnxDetector:
    """One exported detector: a session plus its post-processing settings from ocr_meta.json."""

    def __init__(
        self, model: bytes | str | Path, meta: dict[str, Any], threads: int = 1, spin: bool = False, class_topk: int = 0
    ):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = int(threads)
        so.inter_op_num_threads = 1
        # Idle pool threads spin by default. On 2 cores the spinning thread takes the core that the
        # numpy/OpenCV glue between two session calls needs: 2 threads were then slower than 1
        # (int8 p50 16 vs 13.6 ms); without spinning 12.5 ms.
        so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        self.session = ort.InferenceSession(
            model if isinstance(model, bytes) else str(model), so, providers=["CPUExecutionProvider"]
        )
        self.meta = meta
        self.input, self.outputs = meta["input_name"], list(meta["output_names"])
        self.size = tuple(int(v) for v in meta["input_size"])  # [w, h]
        self.class_topk = int(class_topk)  # classes kept per box (0: labels only)

    def raw(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Decoded boxes (N, A, 4) and softmax scores (N, A, C) of a float32 NCHW batch."""
        boxes, scores = self.session.run(self.outputs, {self.input: batch})
        return boxes, scores

    def __call__(self, images: list[np.ndarray]) -> list[Detections]:
        """Detections per image (H x W x 3 uint8 at the input size)."""
        m = self.meta
        boxes, scores = self.raw(np.stack([to_chw(i) for i in images]))
        return [
            postprocess(
                b, s, m["score_threshold"], m["topk_candidates"], m["nms_iou"], m["detections"], self.class_topk
            )
            for b, s in zip(boxes, scores)
        ]


class OnnxTwoStageOcr:
    """The two-stage path on ONNX Runtime, frame (RGB uint8) in, ``FrameResult`` out."""

    def __init__(self, roi: OnnxDetector, char: OnnxDetector, config: PipelineConfig, form: str = "", threads: int = 1):
        self.roi, self.char, self.config, self.form, self.threads = roi, char, config, form, threads

    @classmethod
    def load(
        cls,
        export_dir: str | Path,
        form: str = "int8",
        threads: int = 1,
        spin: bool = False,
        forms: dict[str, str] | None = None,
    ) -> OnnxTwoStageOcr:
        """Both detectors of ``form`` from an export folder, each file checked against its sha256
        in ``ocr_meta.json``; ``threads`` intra-op threads per session, ``spin`` lets idle ones spin.
        ``forms`` takes a detector from another form (``{"roi": "fp32"}``: the int8 form with stage 1
        in fp32, what ``components.export.ocr_check`` compares against)."""
        forms = {"roi": form, "char": form, **(forms or {})}
        bad = sorted(f for f in {form, *forms.values()} if f not in FORMS)
        if bad or set(forms) != {"roi", "char"}:
            raise ValueError(f"form(s) {bad or sorted(forms)}: expected forms {FORMS} of detectors roi, char")
        export_dir = Path(export_dir)
        meta = load_meta(export_dir)
        det = {}
        for name in ("roi", "char"):
            f = meta["files"][f"{name}_{forms[name]}"]
            det[name] = OnnxDetector(
                verified_bytes(export_dir / f["path"], f["sha256"], META_FILE),
                meta["detectors"][name],
                threads,
                spin,
                class_topk=CLASS_TOPK if name == "char" else 0,
            )
        p, c = meta["pipeline"], meta["detectors"]["char"]
        # A setting an older export lacks takes PipelineConfig's default, which is what that export
        # did: grammar_min_prob its default, every unreadable and invalid ROI reported, one pass (no
        # closer or turned read); exports from before the upright strips have no crop: square.
        config = PipelineConfig(
            roi_size=det["roi"].size,
            crop_size=int(c["input_size"][0]),
            margin=float(p["crop_margin"]),
            names=tuple(c["classes"]),
            crop=str(p.get("crop", "square")),
            strip_size=tuple(int(v) for v in c["input_size"]),
            **{k: p[k] for k in READING_SETTINGS if k in p},
        )
        return cls(det["roi"], det["char"], config, form, threads)

    def detect_rois(self, image: np.ndarray) -> Detections:
        return self.roi([image])[0]

    def detect_chars(self, crops: list[np.ndarray]) -> list[Detections]:
        return self.char(crops)

    def __call__(self, image: np.ndarray) -> FrameResult:
        return run_two_stage(image, self.detect_rois, self.detect_chars, self.config)
