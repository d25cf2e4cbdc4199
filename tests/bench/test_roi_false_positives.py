"""bench/roi_false_positives.py sorts every reported resistor into one kind and prices the unreadable ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from bench.roi_false_positives import crop_with_context, report_rows, unreadable_rule
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
    rows, crops, labelled = report_rows(ocr, frames, {}, "test")
    unmatched = reported = 0
    for f, image in zip(frames, images):
        rois = ocr(image).rois
        boxes = np.array([r.box for r in rois], np.float64).reshape(-1, 4)
        matched = match_rois(boxes, np.array([r.score for r in rois]), np.asarray(f.rois).reshape(-1, 4))
        unmatched += len(rois) - sum(m >= 0 for m in matched)
        reported += len(rois)
    assert unmatched > 0  # an untrained stage 1 reports boxes that are not resistors
    assert len(rows) == reported and len(crops) == unmatched
    assert labelled == sum(len(f.rois) for f in frames)
    assert sum(r["kind"] != "resistor" for r in rows) == unmatched
    assert {r["kind"] for r in rows} <= {"resistor", "duplicate", "misplaced", "background"}
    assert {r["status"] for r in rows} <= {"read", "invalid", "unreadable"}
    image, box = crops[0]
    assert crop_with_context(image, box).ndim == 3


def test_the_unreadable_rule_trades_real_resistors_for_false_ones():
    rows = pd.DataFrame(
        {
            "kind": ["resistor", "resistor", "background", "background", "duplicate"],
            "status": ["read", "unreadable", "unreadable", "invalid", "unreadable"],
            "score": [0.9, 0.8, 0.4, 0.95, 0.6],
        }
    )
    t = unreadable_rule(rows, labelled=4, min_scores=(0.3, 0.7, 1.01)).set_index("unreadable_min_score")
    assert t.loc[0.3, "reported"] == 5 and t.loc[0.3, "precision"] == 0.4 and t.loc[0.3, "recall"] == 0.5
    assert t.loc[0.7, "reported"] == 3 and t.loc[0.7, "real"] == 2  # two false unreadable ones dropped
    assert t.loc[1.01, "reported"] == 2 and t.loc[1.01, "recall"] == 0.25  # the real unreadable one lost
    # invalid ROIs held to the same score too: the false invalid one (0.95) goes as well
    only = unreadable_rule(rows, labelled=4, min_scores=(0.96,))
    both = unreadable_rule(rows, labelled=4, min_scores=(0.96,), statuses=("unreadable", "invalid"))
    assert only.loc[0, "reported"] == 2 and both.loc[0, "reported"] == 1 and both.loc[0, "precision"] == 1.0
