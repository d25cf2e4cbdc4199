"""The framework-free half of the two-stage path: results, and the glue between the detectors.

frame (full resolution, RGB uint8) -> /4 -> stage 1 -> ROI boxes -> margin, crop and letterbox
from the full-resolution frame -> stage 2 on all crops of the frame in one batch -> characters
mapped back to frame pixels -> reading order per ROI.

The detectors are plain callables, so the PyTorch path (``components.ocr.predict.TwoStageOcr``) and
the ONNX Runtime path (``components.export.ocr_runtime.OnnxTwoStageOcr``) run the same glue code and
return the same ``FrameResult``. This module imports neither torch nor onnxruntime.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from components.data.ocr_format import ROI_LABEL, OcrAnnotation, Shape
from components.ocr.preprocess import crop_window, downsample, letterbox
from components.ocr.reading import read_string

# (boxes (N, 4) in input pixels, labels (N,) 1-based, scores (N,)) of one image, after NMS
Detections = tuple[np.ndarray, np.ndarray, np.ndarray]
# stage 1: one downsampled frame (H x W x 3 uint8) -> its detections
RoiDetector = Callable[[np.ndarray], Detections]
# stage 2: the letterboxed crops of one frame (each S x S x 3 uint8) -> detections per crop
CharDetector = Callable[[list[np.ndarray]], list[Detections]]


@dataclass
class RoiResult:
    box: tuple[float, float, float, float]   # frame pixels
    score: float
    text: str
    confidence: float
    char_boxes: np.ndarray                   # (N, 4) frame pixels, in reading order
    char_labels: list[str]
    char_scores: np.ndarray


@dataclass
class FrameResult:
    rois: list[RoiResult] = field(default_factory=list)
    # every character detection of every crop (model threshold, before reading): for mAP
    all_char_boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    all_char_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))       # 1-based
    all_char_scores: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))

    def to_annotation(self, image_path: str, width: int, height: int) -> OcrAnnotation:
        """Canonical LabelMe annotation of the predictions (``group_id`` ties characters to ROIs)."""
        shapes = []
        for g, r in enumerate(self.rois):
            shapes.append(Shape(ROI_LABEL, *(float(v) for v in r.box), group_id=g, text=r.text))
            for b, lab in zip(r.char_boxes, r.char_labels):
                shapes.append(Shape(lab, *(float(v) for v in b), group_id=g))
        return OcrAnnotation(image_path, width, height, shapes)


def nested(boxes: np.ndarray, cover: float = 0.8) -> np.ndarray:
    """Mask of boxes lying mostly (``cover`` of their area) inside a higher-scoring box (boxes come
    sorted by score): a resistor body inside another body's box is the same body seen twice, which
    NMS at IoU 0.45 keeps when the outer box is much larger."""
    out = np.zeros(len(boxes), bool)
    for i in range(1, len(boxes)):
        b = boxes[i]
        area = max((b[2] - b[0]) * (b[3] - b[1]), 1e-6)
        for j in range(i):
            if out[j]:
                continue
            o = boxes[j]
            iw = min(b[2], o[2]) - max(b[0], o[0])
            ih = min(b[3], o[3]) - max(b[1], o[1])
            if iw > 0 and ih > 0 and iw * ih / area >= cover:
                out[i] = True
                break
    return out


@dataclass(frozen=True)
class PipelineConfig:
    """Everything the glue needs besides the detectors (all plain values: export writes them to
    ``ocr_meta.json``)."""

    roi_size: tuple[int, int]        # stage-1 input [w, h]
    crop_size: int                   # stage-2 input side
    margin: float                    # ROI grown by this share of its size on each side before cropping
    names: tuple[str, ...]           # character classes, label i -> names[i - 1]
    roi_score_threshold: float = 0.3
    char_score_threshold: float = 0.3
    dedupe_iou: float = 0.35


def find_rois(image: np.ndarray, detect_rois: RoiDetector, cfg: PipelineConfig) -> tuple[np.ndarray, np.ndarray]:
    """Stage 1 on a full frame: ROI boxes in frame pixels and their scores, above the threshold,
    nested duplicates removed."""
    h, w = image.shape[:2]
    return rois_from_detections(detect_rois(downsample(image, cfg.roi_size)), w, h, cfg)


def rois_from_detections(dets: Detections, width: int, height: int, cfg: PipelineConfig) -> tuple[np.ndarray, np.ndarray]:
    """Stage-1 detections on the downsampled frame -> ROI boxes in the pixels of the ``width`` x
    ``height`` frame and their scores, above the threshold, nested duplicates removed."""
    size = cfg.roi_size
    boxes, _, scores = dets
    keep = scores >= cfg.roi_score_threshold
    rboxes = boxes[keep] * np.array([width / size[0], height / size[1]] * 2, np.float32)
    rscores = scores[keep]
    inner = nested(rboxes)
    return rboxes[~inner], rscores[~inner]


def roi_crops(image: np.ndarray, rboxes: np.ndarray, cfg: PipelineConfig):
    """The stage-2 inputs of a frame: (windows, scales, letterboxed uint8 crops), one per ROI."""
    h, w = image.shape[:2]
    windows, scales, crops = [], [], []
    for b in rboxes:
        win = crop_window(b, cfg.margin, w, h)
        crop, scale = letterbox(image, win, cfg.crop_size)
        windows.append(win)
        scales.append(scale)
        crops.append(crop)
    return windows, scales, crops


def run_two_stage(image: np.ndarray, detect_rois: RoiDetector, detect_chars: CharDetector,
                  cfg: PipelineConfig) -> FrameResult:
    """The whole two-stage path on one frame (RGB uint8, full resolution)."""
    rboxes, rscores = find_rois(image, detect_rois, cfg)
    if not len(rboxes):
        return FrameResult()
    windows, scales, crops = roi_crops(image, rboxes, cfg)
    return assemble(rboxes, rscores, windows, scales, detect_chars(crops), cfg)


def run_two_stage_batch(images: list[np.ndarray], detect_rois_batch: Callable[[list[np.ndarray]], list[Detections]],
                        detect_chars: CharDetector, cfg: PipelineConfig) -> list[FrameResult]:
    """The same path on several frames at once: stage 1 on all downsampled frames in one call,
    stage 2 on the crops of all frames in one call (throughput at batch > 1; same results per frame
    as ``run_two_stage``)."""
    roi_dets = detect_rois_batch([downsample(im, cfg.roi_size) for im in images])
    per_frame, all_crops = [], []
    for image, dets in zip(images, roi_dets):
        h, w = image.shape[:2]
        rboxes, rscores = rois_from_detections(dets, w, h, cfg)
        windows, scales, crops = roi_crops(image, rboxes, cfg)
        per_frame.append((rboxes, rscores, windows, scales, len(crops)))
        all_crops += crops
    char_dets = detect_chars(all_crops) if all_crops else []
    out, k = [], 0
    for rboxes, rscores, windows, scales, n in per_frame:
        out.append(assemble(rboxes, rscores, windows, scales, char_dets[k:k + n], cfg) if n else FrameResult())
        k += n
    return out


def assemble(rboxes: np.ndarray, rscores: np.ndarray, windows, scales, dets: list[Detections],
             cfg: PipelineConfig) -> FrameResult:
    """One frame's result from its ROIs, their crop windows and scales, and stage 2's detections per
    crop: characters mapped back to frame pixels, thresholded and read in order per ROI."""
    result = FrameResult()
    names = list(cfg.names)
    all_b, all_l, all_s = [], [], []
    for rb, rs, win, scale, (boxes, labels, scores) in zip(rboxes, rscores, windows, scales, dets):
        ab = boxes / scale + np.array([win[0], win[1], win[0], win[1]], np.float32)
        al, as_ = labels, scores
        all_b.append(ab)
        all_l.append(al)
        all_s.append(as_)
        m = as_ >= cfg.char_score_threshold
        cb, cl, cs = ab[m], al[m], as_[m]
        r = read_string(cb, cl, cs, names, roi_score=float(rs), dedupe_iou=cfg.dedupe_iou)
        result.rois.append(RoiResult(tuple(float(v) for v in rb), float(rs), r.text, r.confidence, cb[r.order],
                                     [names[int(i) - 1] for i in cl[r.order]], cs[r.order]))
    result.all_char_boxes = np.concatenate(all_b).astype(np.float32).reshape(-1, 4)
    result.all_char_labels = np.concatenate(all_l).astype(np.int64)
    result.all_char_scores = np.concatenate(all_s).astype(np.float32)
    return result
