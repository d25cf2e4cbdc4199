"""Shared export fixtures: a tiny untrained two-stage OCR (seconds to export) and its ONNX export."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from components.data.synth_resistors import render_resistor_frame
from components.export.ocr_onnx import ExportSettings, export_ocr
from tests.helpers.ocr import tiny_two_stage

FRAME = (640, 480)


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
