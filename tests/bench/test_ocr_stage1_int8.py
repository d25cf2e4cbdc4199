"""bench/ocr_stage1_int8.py re-quantizes an export's stage 1 and scores each variant against stage 1
in fp32 (stage 2 as deployed) on the same frames."""

from __future__ import annotations

import torch

from bench.ocr_stage1_int8 import compare
from components.config import load_params
from components.export.ocr_onnx import ExportSettings, export_ocr
from components.ocr.data import load_frames
from tests.helpers.data import make_resistor_dataset
from tests.helpers.ocr import tiny_two_stage

PARAMS = "params.yaml"


def test_variants_are_scored_against_stage_1_in_fp32_on_the_same_frames(tmp_path):
    torch.set_num_threads(1)
    tiny_ocr = make_resistor_dataset(tmp_path / "data", n=4)
    frames = load_frames(tiny_ocr / "data/manifests/ocr.parquet", tiny_ocr / "data/ocr", "test")
    images = [f.image() for f in frames]
    export_ocr(
        tiny_two_stage(crop="upright"), images, tmp_path / "ocr", ExportSettings(opset=17), {}, log=lambda *a: None
    )
    params = load_params(PARAMS)
    rows = compare(
        tmp_path / "ocr", {"test": frames, "ood": frames[:3]}, images[:2], params, ["minmax", "minmax, head fp32"], 3
    )
    assert [r["variant"] for r in rows] == ["stage 1 fp32", "minmax", "minmax, head fp32"]
    for r in rows[1:]:
        assert r["test_string_accuracy_shortfall_upper"] >= r["test_string_accuracy_shortfall"]
        assert 0.0 <= r["ood_string_accuracy"] <= 1.0 and r["latency_ms_p50"] > 0
    # fp32 weights are four times the int8 ones: keeping the head in float makes the file larger
    assert rows[0]["roi_bytes"] > rows[2]["roi_bytes"] > rows[1]["roi_bytes"]
