"""bench/roi_false_positives.py sorts every unmatched reported resistor into one kind."""

from __future__ import annotations

import numpy as np
import torch

from bench.roi_false_positives import crop_with_context, false_positive_rows
from components.export.ocr_onnx import ExportSettings, export_ocr
from components.export.ocr_runtime import OnnxTwoStageOcr
from components.ocr.data import load_frames
from components.ocr.metrics import match_rois
from tests.helpers.data import make_resistor_dataset
from tests.helpers.ocr import tiny_two_stage


def test_every_unmatched_report_is_counted_once_with_a_kind(tmp_path):
    torch.set_num_threads(1)
    root = make_resistor_dataset(tmp_path / "data", n=4)
    frames = load_frames(root / "data/manifests/ocr.parquet", root / "data/ocr", "test")
    images = [f.image() for f in frames]
    export_ocr(tiny_two_stage(crop="upright"), images, tmp_path / "ocr", ExportSettings(opset=17), {}, log=print)
    ocr = OnnxTwoStageOcr.load(tmp_path / "ocr", form="int8", threads=1)
    rows, crops = false_positive_rows(ocr, frames, {}, "test")
    unmatched = 0
    for f, image in zip(frames, images):
        rois = ocr(image).rois
        boxes = np.array([r.box for r in rois], np.float64).reshape(-1, 4)
        matched = match_rois(boxes, np.array([r.score for r in rois]), np.asarray(f.rois).reshape(-1, 4))
        unmatched += len(rois) - sum(m >= 0 for m in matched)
    assert unmatched > 0  # an untrained stage 1 reports boxes that are not resistors
    assert len(rows) == len(crops) == unmatched
    assert {r["kind"] for r in rows} <= {"duplicate", "misplaced", "background"}
    assert {r["status"] for r in rows} <= {"read", "invalid", "unreadable"}
    image, box = crops[0]
    assert crop_with_context(image, box).ndim == 3
