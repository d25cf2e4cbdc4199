"""Metrics per family (components/breakdown.py): each family's value is the headline ratio over its
own frames, tables of other kinds and sets without a manifest are skipped, and the CSV is readable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from components.bootstrap import Ratio
from components.breakdown import by_family, manifest_families, stage_breakdown, write_breakdown
from components.per_frame import write_frames


def test_each_family_is_scored_on_its_own_frames():
    # frames 0-2 family a (2 of 3 strings read), frames 3-4 family b (0 of 4 read)
    ratios = {"string_accuracy": Ratio([1, 1, 0, 0, 0], [1, 1, 1, 2, 2])}
    rows = by_family(ratios, ["a", "a", "a", "b", "b"], resamples=200)
    assert [r["family"] for r in rows] == ["a", "b"] and [r["frames"] for r in rows] == [3, 2]
    assert rows[0]["string_accuracy"] == pytest.approx(2 / 3, abs=1e-5)
    assert rows[1]["string_accuracy"] == 0.0
    assert rows[0]["string_accuracy_ci_low"] <= rows[0]["string_accuracy"] <= rows[0]["string_accuracy_ci_high"]
    # a family without any frame of a metric (no crack-free frame) gets NaN, not 0
    alarms = {"false_alarm_rate": Ratio.mean([1, 0, 0], where=[True, False, False])}
    rows = by_family(alarms, ["x", "y", "y"], resamples=100)
    assert rows[0]["false_alarm_rate"] == 1.0 and np.isnan(rows[1]["false_alarm_rate"])
    with pytest.raises(ValueError, match="3 frames but 2 families"):
        by_family(alarms, ["x", "y"])


def test_stage_breakdown_reads_the_per_frame_tables(tmp_path):
    pd.DataFrame({"name": ["f0", "f1", "f2"], "family": ["wet", "dry", "wet"]}).to_parquet(tmp_path / "m.parquet")
    per_frame = tmp_path / "per_frame"
    write_frames(per_frame / "tflite_int8_test.parquet", ["f0", "f1", "f2"], {"hit": np.array([1, 0, 1])})
    write_frames(per_frame / "tflite_int8_test_rois.parquet", ["f0"], {"hit": np.array([0])})  # not a frame table
    write_frames(per_frame / "tflite_int8_other.parquet", ["f0"], {"hit": np.array([0])})  # no manifest for "other"

    def ratios_of(columns):
        return {"hit_rate": Ratio.mean(columns["hit"]), "unused": Ratio.mean(columns["hit"])}

    rows = stage_breakdown(per_frame, {"test": tmp_path / "m.parquet"}, ratios_of, ["hit_rate"], resamples=100)
    assert [(r["form"], r["set"], r["family"], r["frames"], r["hit_rate"]) for r in rows] == [
        ("tflite_int8", "test", "dry", 1, 0.0),
        ("tflite_int8", "test", "wet", 2, 1.0),
    ]
    assert "unused" not in rows[0]
    table = pd.read_csv(write_breakdown(tmp_path / "out" / "stage.csv", rows))
    assert list(table.columns[:4]) == ["form", "set", "family", "frames"] and len(table) == 2
    # a frame the manifest does not know is counted as family "unknown"
    assert manifest_families(tmp_path / "m.parquet", ["f2", "new"]) == ["wet", "unknown"]
