"""The README's results table is exactly what the committed metrics files say."""

from __future__ import annotations

import json

import pytest

from bench.results_table import END, START, replace_block, table
from tests.helpers import REPO


def test_readme_results_block_matches_the_committed_metrics():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.partition(START)[2].partition(END)[0].strip()
    assert block == table(REPO / "metrics"), "README results are stale: run python -m bench.results_table --write"


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
