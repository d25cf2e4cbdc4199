"""Shared export fixtures: a tiny untrained two-stage OCR (seconds to export) and its ONNX export."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from components.data.ocr_format import CHAR_CLASSES
from components.data.synth_resistors import render_resistor_frame
from components.export.ocr_onnx import ExportSettings, export_ocr
from components.ocr.model import build_ssd, char_spec, roi_spec
from components.ocr.predict import TwoStageOcr

FRAME = (640, 480)


def _settle_batchnorm(model, size: tuple[int, int], gen: torch.Generator) -> None:
    """BatchNorm statistics from a few random batches, so untrained activations neither vanish nor
    explode through the layers (fresh running stats are the identity and the features die out)."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None                      # cumulative average
    model.train()
    with torch.no_grad():
        for _ in range(3):
            x = torch.rand(4, 3, size[1], size[0], generator=gen)
            model.backbone((x - 0.5) / 0.25)
    model.eval()


def tiny_two_stage(seed: int = 0, crop: str = "square") -> TwoStageOcr:
    """Untrained detectors at the smallest sizes (stage 1 160x120, stage 2 64 px crops), with
    settled BatchNorm statistics and the classification heads scaled up so that scores spread out:
    untrained softmax scores sit within float noise of each other, which would make top-k and NMS
    comparisons between PyTorch and ONNX Runtime a matter of luck. ``crop: upright`` reads 96x48
    upright strips instead of 64 px squares."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    rs = roi_spec(SimpleNamespace(width_mult=0.25, input_size=(160, 120), score_threshold=0.05, nms_iou=0.45))
    cs = char_spec(SimpleNamespace(width_mult=0.25, crop_size=64, score_threshold=0.05, nms_iou=0.45, crop=crop,
                                   strip_size=(96, 48)), CHAR_CLASSES)
    cs["detections"] = 12
    roi, char = build_ssd(rs), build_ssd(cs)
    for m, spec, gain in ((roi, rs, 0.3), (char, cs, 3.0)):
        _settle_batchnorm(m, spec["size"], gen)
        with torch.no_grad():
            for conv in m.head.classification_head.module_list:
                conv.weight.mul_(gain)
    return TwoStageOcr(roi, rs, char, cs, margin=0.08, roi_score_threshold=0.3, char_score_threshold=0.2, dedupe_iou=0.35)


@pytest.fixture(scope="session")
def ocr_frames():
    """Two synthetic resistor frames (RGB uint8, 640x480)."""
    return [render_resistor_frame([11, i], *FRAME)[0] for i in range(2)]


@pytest.fixture(scope="session")
def ocr_export_upright(tmp_path_factory, ocr_frames) -> SimpleNamespace:
    """The same with a stage 2 on upright strips."""
    torch.set_num_threads(1)
    ocr = tiny_two_stage(crop="upright")
    out = Path(tmp_path_factory.mktemp("ocr_export_upright")) / "ocr"
    meta = export_ocr(ocr, ocr_frames, out, ExportSettings(opset=17), source={"test": "tiny"}, log=lambda *a: None)
    return SimpleNamespace(ocr=ocr, dir=out, meta=meta)


@pytest.fixture(scope="session")
def ocr_export(tmp_path_factory, ocr_frames) -> SimpleNamespace:
    """The tiny OCR exported (fp32 + int8 + ocr_meta.json), calibrated on the two frames."""
    torch.set_num_threads(1)
    ocr = tiny_two_stage()
    out = Path(tmp_path_factory.mktemp("ocr_export")) / "ocr"
    meta = export_ocr(ocr, ocr_frames, out, ExportSettings(opset=17), source={"test": "tiny"}, log=lambda *a: None)
    return SimpleNamespace(ocr=ocr, dir=out, meta=meta)
