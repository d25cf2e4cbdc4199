"""bench/ocr_latency_parts.py times the parts of the deployed OCR path on the inputs the path itself uses."""

from __future__ import annotations

import numpy as np
import torch

from bench.ocr_latency_parts import parts_of_frame
from components.data.synth_resistors import render_resistor_frame
from components.export.ocr_onnx import ExportSettings, export_ocr
from components.export.ocr_runtime import OnnxTwoStageOcr
from tests.helpers.ocr import tiny_two_stage


def test_parts_cover_the_path_of_a_frame_with_rois(tmp_path):
    torch.set_num_threads(1)
    frames = [render_resistor_frame([11, i], 640, 480)[0] for i in range(2)]
    settings = ExportSettings(opset=17)
    export_ocr(tiny_two_stage(crop="upright"), frames, tmp_path / "ocr", settings, source={}, log=lambda *a: None)
    ocr = OnnxTwoStageOcr.load(tmp_path / "ocr", form="int8", threads=1)
    parts = parts_of_frame(ocr, frames[0])
    assert parts["rois"] == len(ocr(frames[0]).rois) > 0
    timed = [k for k in parts if k not in ("rois", "whole path")]
    assert timed == [
        "downsample /4",
        "stage 1: ONNX",
        "stage 1: NMS, boxes",
        "angles",
        "warps",
        "stage 2: ONNX",
        "stage 2: NMS",
        "closer read (small print)",
        "turned read (no marking)",
        "reading, grammar",
    ]
    assert all(np.isfinite(parts[k]) and parts[k] > -1.0 for k in timed) and parts["whole path"] > 0
