"""Promotion gates: absolute minimums/maximums, quantization tolerance, not worse than the champion,
and the paired bootstrap over test frames that decides the comparisons."""

from __future__ import annotations

import numpy as np
import pytest

from components.crack.metrics import frame_ratios
from components.registry.config import Gates
from components.registry.gates import Bootstrap, FrameScores, check_gates

GATES = Gates(
    minimums={"dice": 0.6},
    maximums={"cer": 0.3},
    max_quantization_drop={"dice": 0.01, "cer": 0.02},
    compare_key="dice",
    champion_tolerance=0.0,
)
FLOAT = {"dice": 0.75, "cer": 0.10}


def test_a_good_candidate_without_champion_passes_every_check():
    r = check_gates({"dice": 0.745, "cer": 0.11}, FLOAT, None, GATES)
    assert r.passed and r.reasons == []
    assert {c.name for c in r.checks} == {
        "minimum.dice",
        "maximum.cer",
        "quantization.dice",
        "quantization.cer",
        "champion.dice",
    }


def test_below_minimum_and_too_much_quantization_loss_fail_with_numbers():
    r = check_gates({"dice": 0.55, "cer": 0.35}, FLOAT, None, GATES)
    assert not r.passed
    failed = {c.name for c in r.checks if not c.passed}
    assert failed == {"minimum.dice", "maximum.cer", "quantization.dice", "quantization.cer"}
    assert any("0.5500 < minimum 0.6" in x for x in r.reasons)
    assert any("drop 0.2000 > tolerance 0.01" in x for x in r.reasons)


def test_lower_is_better_keys_count_a_rise_as_a_drop():
    ok = check_gates({"dice": 0.75, "cer": 0.115}, FLOAT, None, GATES)
    bad = check_gates({"dice": 0.75, "cer": 0.13}, FLOAT, None, GATES)
    assert ok.passed and [c.name for c in bad.checks if not c.passed] == ["quantization.cer"]


def test_worse_than_the_champion_fails_and_equal_passes():
    worse = check_gates({"dice": 0.70, "cer": 0.1}, {"dice": 0.705, "cer": 0.1}, {"dice": 0.72}, GATES)
    assert [c.name for c in worse.checks if not c.passed] == ["champion.dice"]
    assert "worse by 0.0200" in worse.reasons[0]
    assert check_gates({"dice": 0.72, "cer": 0.1}, {"dice": 0.72, "cer": 0.1}, {"dice": 0.72}, GATES).passed


def test_missing_or_nan_metrics_fail_rather_than_pass():
    r = check_gates({"dice": float("nan")}, FLOAT, {}, GATES)
    assert not r.passed
    assert all(not c.passed for c in r.checks)


# ------------------------------------------------------------- paired bootstrap over test frames


CRACK_GATES = Gates(
    minimums={},
    maximums={},
    max_quantization_drop={"dice_cracked": 0.01, "false_alarm_rate": 0.02},
    compare_key="dice_cracked",
    champion_tolerance=0.02,
)


def _crack_scores(dice: np.ndarray, alarms: np.ndarray) -> FrameScores:
    """Per-frame pixel counts of frames with a 1000-px crack (Dice = dice) and crack-free frames
    (a 500-px prediction where ``alarms``)."""
    n_crack, n_free = len(dice), len(alarms)
    tp = np.concatenate([np.round(1000 * dice), np.zeros(n_free)]).astype(int)
    cracked = np.arange(n_crack + n_free) < n_crack
    pred = np.where(cracked, 1000, np.where(np.concatenate([np.zeros(n_crack, bool), alarms]), 500, 0))
    cols = {
        "tp": tp,
        "fp": pred - tp,
        "fn": np.where(cracked, 1000 - tp, 0),
        "pred_area": pred,
        "truth_area": np.where(cracked, 1000, 0),
        "pixels": np.full(len(tp), 110_592),
    }
    names = tuple(f"f{i:04d}" for i in range(len(tp)))
    return FrameScores(names, frame_ratios(cols, 0.001))


def _model(seed: int = 0, n: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(0.8, 0.15, 3 * n // 4), 0, 1), rng.random(n // 4) < 0.05


def test_one_frame_flip_no_longer_flips_the_quantization_gate():
    dice, alarms = _model()
    parent = _crack_scores(dice, alarms)
    flipped_dice, flipped_alarms = dice.copy(), alarms.copy()
    flipped_dice[np.argmax(dice)] = 0.0  # one cracked frame lost entirely
    flipped_alarms[np.flatnonzero(~alarms)[0]] = True  # and one crack-free frame now alarms
    for candidate in (_crack_scores(dice, alarms), _crack_scores(flipped_dice, flipped_alarms)):
        r = check_gates({}, {}, None, CRACK_GATES, {"quantized": candidate, "float": parent})
        assert r.passed, r.reasons
    # the old rule on a 60-frame split: one crack-free frame going from Dice 1 to 0 costs 1/60 > 0.01
    old = Gates(
        minimums={}, maximums={}, max_quantization_drop={"dice": 0.01}, compare_key="dice", champion_tolerance=0
    )
    assert not check_gates({"dice": 0.75 - 1 / 60}, {"dice": 0.75}, None, old).passed


def test_a_really_worse_model_is_still_refused_on_both_checks():
    dice, alarms = _model()
    champion = _crack_scores(dice, alarms)
    worse_dice, worse_alarms = _model(seed=1)  # an under-trained model: cracks traced worse, more alarms
    worse = _crack_scores(
        np.clip(dice - 0.06 + 0.05 * (worse_dice - 0.8), 0, 1),
        alarms | (worse_alarms | (np.arange(len(alarms)) % 9 == 0)),
    )
    r = check_gates(
        {}, {}, {"dice_cracked": 0.8}, CRACK_GATES, {"quantized": worse, "float": champion, "champion": champion}
    )
    failed = {c.name for c in r.checks if not c.passed}
    assert failed == {"quantization.dice_cracked", "quantization.false_alarm_rate", "champion.dice_cracked"}
    assert all("paired bootstrap over 1000 frames" in c.detail for c in r.checks)


def test_the_same_two_models_give_the_same_decision_and_numbers_every_time():
    a, b = _crack_scores(*_model(0)), _crack_scores(*_model(2))
    runs = [
        check_gates(
            {},
            {},
            {"dice_cracked": 0.8},
            CRACK_GATES,
            {"quantized": a, "float": b, "champion": b},
            Bootstrap(1000, 0, 0.95),
        )
        for _ in range(2)
    ]
    assert runs[0] == runs[1]


def test_paired_checks_need_the_same_frames():
    a = _crack_scores(*_model(0))
    b = _crack_scores(*_model(0, n=400))
    with pytest.raises(ValueError, match="same frames"):
        check_gates({}, {}, None, CRACK_GATES, {"quantized": a, "float": b})


def test_ap_keys_are_compared_through_their_detections():
    from components.ocr.metrics import voc_records

    rng = np.random.default_rng(0)
    gts = [
        {"boxes": np.array([[0, 0, 10, 10], [20, 0, 30, 10]], float), "labels": np.array([1, 2])} for _ in range(200)
    ]
    good = [{"boxes": g["boxes"], "labels": g["labels"], "scores": rng.random(2)} for g in gts]
    bad = [
        {"boxes": g["boxes"] + (15 if i % 4 == 0 else 0), "labels": g["labels"], "scores": rng.random(2)}
        for i, g in enumerate(gts)
    ]
    names = tuple(f"f{i}" for i in range(200))
    gates = Gates(
        minimums={},
        maximums={},
        max_quantization_drop={"char_map50": 0.01},
        compare_key="char_map50",
        champion_tolerance=0.0,
    )

    def scores(dets):
        return FrameScores(names, {}, {"char_map50": voc_records(dets, gts)})

    assert check_gates({}, {}, None, gates, {"quantized": scores(good), "float": scores(good)}).passed
    r = check_gates({}, {}, None, gates, {"quantized": scores(bad), "float": scores(good)})
    assert not r.passed and r.reasons[0].startswith("char_map50: shortfall vs its float parent +0.")


def test_paired_checks_decide_each_margin_and_need_per_frame_scores():
    """``paired_checks`` (the export's int8 check): one check per margin key, decided by the paired
    bootstrap like the gates; no point-value fallback, so a key without per-frame scores is an error."""
    from components.registry.gates import paired_checks

    dice, alarms = _model()
    same, parent = _crack_scores(dice, alarms), _crack_scores(dice, alarms)
    worse = _crack_scores(np.clip(dice - 0.05, 0, 1), alarms)
    margins = {"dice_cracked": 0.01, "false_alarm_rate": 0.02}
    ok = paired_checks(same, parent, margins, Bootstrap(), "stage 1 in fp32", "quantization")
    assert ok.passed and [c.name for c in ok.checks] == ["quantization.dice_cracked", "quantization.false_alarm_rate"]
    bad = paired_checks(worse, parent, margins, Bootstrap(), "stage 1 in fp32", "quantization")
    assert not bad.passed and [c.name for c in bad.checks if not c.passed] == ["quantization.dice_cracked"]
    assert "shortfall vs stage 1 in fp32 +0.05" in bad.reasons[0]
    with pytest.raises(ValueError, match="string_accuracy: no per-frame scores"):
        paired_checks(same, parent, {"string_accuracy": 0.01}, Bootstrap(), "stage 1 in fp32", "quantization")
