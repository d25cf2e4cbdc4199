"""Promotion gates: absolute minimums/maximums, quantization tolerance, not worse than the champion."""

from __future__ import annotations

from components.registry.config import Gates
from components.registry.gates import check_gates

GATES = Gates(minimums={"dice": 0.6}, maximums={"cer": 0.3}, max_quantization_drop={"dice": 0.01, "cer": 0.02},
              compare_key="dice", champion_tolerance=0.0)
FLOAT = {"dice": 0.75, "cer": 0.10}


def test_a_good_candidate_without_champion_passes_every_check():
    r = check_gates({"dice": 0.745, "cer": 0.11}, FLOAT, None, GATES)
    assert r.passed and r.reasons == []
    assert {c.name for c in r.checks} == {"minimum.dice", "maximum.cer", "quantization.dice", "quantization.cer", "champion.dice"}


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
