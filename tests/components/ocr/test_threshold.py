"""The stage-1 threshold chosen by F1 on hand-made detections, and ``auto`` resolved from train_roi's metrics."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from components.ocr.threshold import THRESHOLD_KEY, choose_threshold, resolve_threshold


def test_choose_threshold_takes_the_f1_peak():
    # 4 ground-truth ROIs; detections by descending score: hit hit miss hit miss miss
    scores = [0.95, 0.9, 0.8, 0.7, 0.4, 0.2]
    tp = [True, True, False, True, False, False]
    c = choose_threshold(scores, tp, 4)
    # >= 0.7 keeps 4 with 3 hits: P 0.75, R 0.75, F1 0.75 (>= 0.9: P 1, R 0.5, F1 0.667)
    assert c.threshold == pytest.approx(0.7)
    assert (c.precision, c.recall, c.f1) == pytest.approx((0.75, 0.75, 0.75))
    assert c.metrics()[THRESHOLD_KEY] == pytest.approx(0.7)


def test_choose_threshold_ties_go_to_the_higher_threshold_and_equal_scores_stay_together():
    # >= 0.9: P 1, R 0.5, F1 2/3; >= 0.5: 3 of 4 kept hit 2 ... F1 = 2*(0.5*0.5)/1 = 0.5 (lower)
    # a tie: 1 gt; >= 0.9 one hit (F1 1.0); >= 0.6 adds nothing that hits -> lower; make exact tie:
    c = choose_threshold([0.9, 0.6, 0.6], [True, True, False], 3)
    # >= 0.9: P 1, R 1/3, F1 0.5; >= 0.6 (both 0.6 kept together): P 2/3, R 2/3, F1 2/3
    assert c.threshold == pytest.approx(0.6) and c.f1 == pytest.approx(2 / 3)
    c = choose_threshold([0.9, 0.5, 0.4], [True, True, False], 3)
    # >= 0.9: F1 0.5; >= 0.5: P 1, R 2/3, F1 0.8; >= 0.4: P 2/3, R 2/3, F1 2/3
    assert c.threshold == pytest.approx(0.5)
    # an exact tie: >= 0.8 (1 hit of 1 kept, 2 gt): F1 2/3; >= 0.3 (2 hits of 4 kept): F1 2/3 -> 0.8
    c = choose_threshold([0.8, 0.5, 0.4, 0.3], [True, False, False, True], 2)
    assert c.f1 == pytest.approx(2 / 3) and c.threshold == pytest.approx(0.8)


def test_choose_threshold_without_detections_or_truth():
    assert choose_threshold([], [], 3).f1 == 0.0
    assert choose_threshold([0.9], [False], 0).f1 == 0.0
    with pytest.raises(ValueError, match="2 scores but 1"):
        choose_threshold([0.9, 0.8], [True], 2)


def test_auto_resolves_to_the_stored_value_and_a_number_stays_fixed(tmp_path):
    path = tmp_path / "train_roi.json"
    path.write_text(json.dumps({"val_roi_ap50": 0.9, THRESHOLD_KEY: 0.42}))
    assert resolve_threshold("auto", path) == pytest.approx(0.42)
    assert resolve_threshold(0.3, tmp_path / "absent.json") == pytest.approx(0.3)


def test_auto_without_a_stored_value_names_the_file(tmp_path):
    path = tmp_path / "train_roi.json"
    with pytest.raises(ValueError, match="train_roi.json"):
        resolve_threshold("auto", path)  # no file
    path.write_text(json.dumps({"val_roi_ap50": 0.9}))
    with pytest.raises(ValueError, match=rf"{path}.*no {THRESHOLD_KEY}"):
        resolve_threshold("auto", path)


def test_config_accepts_auto_or_a_number_in_0_1():
    from components.ocr.config import EvalParams

    base = dict(
        char_score_threshold=0.3, dedupe_iou=0.35, max_frames=0, latency_warmup=1, latency_runs=1, latency_threads=1
    )
    base["overlays"] = 0
    assert EvalParams(roi_score_threshold="auto", **base).roi_score_threshold == "auto"
    assert EvalParams(roi_score_threshold=0.25, **base).roi_score_threshold == pytest.approx(0.25)
    for bad in (1.0, -0.1, "autp", True):
        with pytest.raises(ValidationError, match="roi_score_threshold must be auto or a number in"):
            EvalParams(roi_score_threshold=bad, **base)
