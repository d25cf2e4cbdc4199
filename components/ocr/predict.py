"""The two-stage path, frame in, strings out: used by evaluation, latency, export and serving.

frame (full resolution, RGB uint8) -> /4 -> stage 1 -> ROI boxes -> margin, crop and letterbox
(or an upright strip) from the full-resolution frame -> stage 2 on all crops of the frame in one
batch -> reading order per ROI -> characters mapped back to frame pixels.

This module holds the PyTorch detectors; the glue and the result types are in the torch-free
``components.ocr.pipeline``, which the ONNX runtime (``components.export.ocr_runtime``) shares.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from components.ocr.data import to_tensor
from components.ocr.model import for_inference, load_model

# Results and glue live in a torch-free module (the ONNX runtime shares them); re-exported here.
from components.ocr.pipeline import (  # noqa: F401
    Detections,
    FrameResult,
    PipelineConfig,
    RoiResult,
    nested,
    run_two_stage,
)


class TwoStageOcr:
    """Both detectors and the glue; thresholds decide what counts as a ROI and a character."""

    def __init__(
        self,
        roi_model,
        roi_spec: dict,
        char_model,
        char_spec: dict,
        *,
        margin: float,
        device: str | torch.device = "cpu",
        **reading,
    ):
        """``reading``: the reading settings of ``PipelineConfig`` by name (``roi_score_threshold``,
        ``char_score_threshold``, ``dedupe_iou``, ``grammar_min_prob``, the unreadable and invalid ROI
        thresholds, the closer and turned reads); the rest of the config comes from the two models."""
        self.roi_model, self.roi_spec = roi_model.eval(), roi_spec
        self.char_model, self.char_spec = char_model.eval(), char_spec
        self.device = torch.device(device)
        # one frozen config, the same object the glue, the export and the ONNX runtime read; models from
        # before the upright strips have no crop in their spec: square
        self.config = PipelineConfig(
            roi_size=tuple(roi_spec["size"]),
            crop_size=int(char_spec["size"][0]),
            margin=float(margin),
            names=tuple(char_spec["classes"]),
            crop=str(char_spec.get("crop", "square")),
            strip_size=tuple(int(v) for v in char_spec["size"]),
            **reading,
        )

    @classmethod
    def load(
        cls, roi_path: str | Path, char_path: str | Path, device: str = "cpu", fuse: bool = True, **kw
    ) -> TwoStageOcr:
        """Both models from their files; ``fuse`` prepares them for serving (``for_inference``:
        BatchNorm folded, channels-last). The ONNX export passes False, to export the graph as trained."""
        roi_model, roi_spec = load_model(roi_path, device)
        char_model, char_spec = load_model(char_path, device)
        if fuse:
            roi_model, char_model = for_inference(roi_model), for_inference(char_model)
        blob = torch.load(char_path, map_location="cpu", weights_only=True)
        kw.setdefault("margin", float(blob.get("crop_margin", 0.08)))
        return cls(roi_model, roi_spec, char_model, char_spec, device=device, **kw)

    @torch.no_grad()
    def detect_rois(self, image: np.ndarray) -> Detections:
        """Stage 1 on one downsampled frame (uint8): boxes in its pixels, labels, scores."""
        d = self.roi_model([to_tensor(image).to(self.device)])[0]
        return d["boxes"].cpu().numpy(), d["labels"].cpu().numpy(), d["scores"].cpu().numpy()

    @torch.no_grad()
    def detect_chars(self, crops: list[np.ndarray]) -> list[Detections]:
        """Stage 2 on all crops (letterboxed squares or upright strips) of a frame in one batch, with each
        box's top-k classes (``components.ocr.model.TopKSSD``) for the grammar decoding."""
        dets = self.char_model([to_tensor(c).to(self.device) for c in crops])
        keys = ("boxes", "labels", "scores", "topk_labels", "topk_scores")
        return [tuple(d[k].cpu().numpy() for k in keys if k in d) for d in dets]

    def __call__(self, image: np.ndarray) -> FrameResult:
        return run_two_stage(image, self.detect_rois, self.detect_chars, self.config)
