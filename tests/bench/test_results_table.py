"""The README's results table is exactly what the committed metrics files say."""

from __future__ import annotations

import json

import pytest

from bench.results_table import END, PEERS_END, PEERS_FILE, PEERS_START, START, peers_table, replace_block, table
from tests.helpers import REPO


def test_readme_results_block_matches_the_committed_metrics():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.partition(START)[2].partition(END)[0].strip()
    assert block == table(REPO / "metrics"), "README results are stale: run python -m bench.results_table --write"


def test_readme_and_benchmarks_peers_blocks_match_the_committed_peers_bench():
    expected = peers_table(REPO / PEERS_FILE)
    for doc in ("README.md", "docs/benchmarks.md"):
        text = (REPO / doc).read_text(encoding="utf-8")
        block = text.partition(PEERS_START)[2].partition(PEERS_END)[0].strip()
        assert block == expected, f"{doc}: peers table is stale: run python -m bench.results_table --write"


def _reader(acc: float, ms: float) -> dict:
    return {
        "string_accuracy": acc,
        "string_accuracy_ci_low": acc - 0.05,
        "string_accuracy_ci_high": acc + 0.05,
        "cer": 1 - acc,
        "ms_per_frame_p50": ms,
    }


def test_peers_table_compares_each_reader_with_ours_on_the_same_input(tmp_path):
    sets = {
        "test": {
            "ours_int8/stage1_crops": _reader(0.9, 10.0),
            "ours_int8/gt_crops": _reader(0.95, 5.0),
            "rapidocr/stage1_crops": _reader(0.8, 700.0),
            "rapidocr/gt_crops": _reader(0.85, 500.0),
        },
        "ood": {"ours_int8/stage1_crops": _reader(0.6, 11.0), "rapidocr/stage1_crops": _reader(0.7, 800.0)},
    }
    path = tmp_path / "peers.json"
    path.write_text(json.dumps({"sets": sets}))
    rows = peers_table(path).splitlines()
    assert len(rows) == 2 + 4, "a row per reader and input, no row for a reader not run (tesseract, easyocr)"
    rapid = next(r for r in rows if r.startswith("| RapidOCR") and "stage 1" in r)
    assert "0.800 [0.750, 0.850] | 0.700 [0.650, 0.750] | 0.200 / 0.300 | 700.0 | 70x |" in rapid
    rapid_gt = next(r for r in rows if r.startswith("| RapidOCR") and "labelled" in r)
    assert rapid_gt.endswith("| - | 0.150 / - | 500.0 | 100x |"), "labelled-ROI speed is against ours on labelled ROIs"


def test_table_shows_intervals_ood_and_the_gap(tmp_path):
    m = {
        "dice_cracked": 0.8,
        "dice_cracked_ci_low": 0.79,
        "dice_cracked_ci_high": 0.81,
        "dice_cracked_ood": 0.6,
        "dice_cracked_ood_ci_low": 0.58,
        "dice_cracked_ood_ci_high": 0.62,
    }
    (tmp_path / "export_crack.json").write_text(json.dumps({"tflite_int8": m}))
    rows = table(tmp_path).splitlines()
    assert (
        "| road crack | int8 TFLite | `dice_cracked` | 0.800 [0.790, 0.810] | 0.600 [0.580, 0.620] | -0.200 |" in rows
    )
    assert any("`false_alarm_rate` (lower is better) | - | - | - |" in r for r in rows)
    (tmp_path / "export_ocr.json").write_text(json.dumps({"onnx_int8": {"string_accuracy": 0.8}}))  # no OOD keys
    assert "resistor OCR" not in table(tmp_path), "metrics from before the fixed sets are left out"


def test_block_replacement_keeps_the_rest_and_needs_the_markers():
    text = f"intro\n{START}\nold\n{END}\noutro\n"
    assert replace_block(text, "new") == f"intro\n{START}\nnew\n{END}\noutro\n"
    with pytest.raises(ValueError, match="block"):
        replace_block("no markers", "x")
