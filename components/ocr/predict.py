"""The two-stage path, frame in, strings out: used by evaluation, latency, export and serving.

frame (full resolution, RGB uint8) -> /4 -> stage 1 -> ROI boxes -> margin, crop and letterbox
from the full-resolution frame -> stage 2 on all crops of the frame in one batch -> characters
mapped back to frame pixels -> reading order per ROI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from components.data.ocr_format import ROI_LABEL, OcrAnnotation, Shape
from components.ocr.data import crop_window, downsample, letterbox, to_tensor
from components.ocr.model import load_model
from components.ocr.reading import read_string


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


class TwoStageOcr:
    """Both detectors and the glue; thresholds decide what counts as a ROI and a character."""

    def __init__(self, roi_model, roi_spec: dict, char_model, char_spec: dict, *, margin: float,
                 roi_score_threshold: float = 0.3, char_score_threshold: float = 0.3, dedupe_iou: float = 0.35,
                 device: str | torch.device = "cpu"):
        self.roi_model, self.roi_spec = roi_model.eval(), roi_spec
        self.char_model, self.char_spec = char_model.eval(), char_spec
        self.margin, self.device = margin, torch.device(device)
        self.roi_thr, self.char_thr, self.dedupe_iou = roi_score_threshold, char_score_threshold, dedupe_iou
        self.names = list(char_spec["classes"])
        self.crop_size = int(char_spec["size"][0])

    @classmethod
    def load(cls, roi_path: str | Path, char_path: str | Path, device: str = "cpu", **kw) -> TwoStageOcr:
        roi_model, roi_spec = load_model(roi_path, device)
        char_model, char_spec = load_model(char_path, device)
        blob = torch.load(char_path, map_location="cpu", weights_only=True)
        kw.setdefault("margin", float(blob.get("crop_margin", 0.08)))
        return cls(roi_model, roi_spec, char_model, char_spec, device=device, **kw)

    @torch.no_grad()
    def __call__(self, image: np.ndarray) -> FrameResult:
        h, w = image.shape[:2]
        size = self.roi_spec["size"]
        det = self.roi_model([to_tensor(downsample(image, size)).to(self.device)])[0]
        keep = det["scores"] >= self.roi_thr
        rboxes = det["boxes"][keep].cpu().numpy() * np.array([w / size[0], h / size[1]] * 2, np.float32)
        rscores = det["scores"][keep].cpu().numpy()
        inner = nested(rboxes)
        rboxes, rscores = rboxes[~inner], rscores[~inner]
        result = FrameResult()
        if not len(rboxes):
            return result
        windows, scales, crops = [], [], []
        for b in rboxes:
            win = crop_window(b, self.margin, w, h)
            crop, scale = letterbox(image, win, self.crop_size)
            windows.append(win)
            scales.append(scale)
            crops.append(to_tensor(crop).to(self.device))
        dets = self.char_model(crops)
        all_b, all_l, all_s = [], [], []
        for rb, rs, win, scale, d in zip(rboxes, rscores, windows, scales, dets):
            ab = d["boxes"].cpu().numpy() / scale + np.array([win[0], win[1], win[0], win[1]], np.float32)
            al, as_ = d["labels"].cpu().numpy(), d["scores"].cpu().numpy()
            all_b.append(ab)
            all_l.append(al)
            all_s.append(as_)
            m = as_ >= self.char_thr
            cb, cl, cs = ab[m], al[m], as_[m]
            r = read_string(cb, cl, cs, self.names, roi_score=float(rs), dedupe_iou=self.dedupe_iou)
            result.rois.append(RoiResult(tuple(float(v) for v in rb), float(rs), r.text, r.confidence, cb[r.order],
                                         [self.names[int(i) - 1] for i in cl[r.order]], cs[r.order]))
        result.all_char_boxes = np.concatenate(all_b).astype(np.float32).reshape(-1, 4)
        result.all_char_labels = np.concatenate(all_l).astype(np.int64)
        result.all_char_scores = np.concatenate(all_s).astype(np.float32)
        return result
