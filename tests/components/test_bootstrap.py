"""Bootstrap intervals and paired differences over frames (components/bootstrap.py)."""

from __future__ import annotations

import numpy as np
import pytest

from components.bootstrap import (
    Ratio,
    paired_difference,
    percentile_interval,
    ratio_metrics,
    resample_weights,
)


def _scores(n: int, seed: int = 0) -> np.ndarray:
    return np.clip(np.random.default_rng(seed).normal(0.7, 0.25, n), 0, 1)


def test_a_ratio_is_the_pooled_value_and_its_mean_form_the_plain_mean():
    r = Ratio([1, 2, 3], [2, 2, 4])
    assert r.value() == pytest.approx(6 / 8)
    x = _scores(50)
    assert Ratio.mean(x).value() == pytest.approx(x.mean())
    cracked = np.arange(50) % 3 == 0
    assert Ratio.mean(x, cracked).value() == pytest.approx(x[cracked].mean())


def test_every_resample_draws_n_frames_and_the_draw_is_seeded():
    w = resample_weights(40, 200, seed=3)
    assert w.shape == (200, 40) and (w.sum(1) == 40).all()
    assert np.array_equal(w, resample_weights(40, 200, seed=3))
    assert not np.array_equal(w, resample_weights(40, 200, seed=4))


def test_interval_brackets_the_value_and_narrows_with_more_frames():
    small = ratio_metrics({"dice": Ratio.mean(_scores(60))})
    large = ratio_metrics({"dice": Ratio.mean(_scores(1000))})
    for m in (small, large):
        assert m["dice_ci_low"] < m["dice"] < m["dice_ci_high"]
    width = {k: m["dice_ci_high"] - m["dice_ci_low"] for k, m in (("small", small), ("large", large))}
    # the standard error falls as 1/sqrt(n): 60 -> 1000 frames is about 4x narrower
    assert 3.0 < width["small"] / width["large"] < 5.5


def test_the_same_scores_give_the_same_interval_every_time():
    ratios = {"dice": Ratio.mean(_scores(300)), "pixel": Ratio(np.arange(300), np.arange(300) + 5)}
    assert ratio_metrics(ratios, seed=1) == ratio_metrics(ratios, seed=1)
    assert set(ratio_metrics(ratios, suffix="_ood")) == {
        "dice_ood",
        "dice_ood_ci_low",
        "dice_ood_ci_high",
        "pixel_ood",
        "pixel_ood_ci_low",
        "pixel_ood_ci_high",
    }


def test_a_resample_without_denominator_is_left_out_not_counted_as_zero():
    r = Ratio.mean([1.0, 0.0], where=[True, False])
    samples = r.resampled(np.array([[2.0, 0.0], [0.0, 2.0], [1.0, 1.0]]))
    assert samples[0] == 1.0 and np.isnan(samples[1]) and samples[2] == 1.0
    assert percentile_interval(samples) == (1.0, 1.0)


def test_paired_difference_of_nearly_identical_models_is_tight_where_each_interval_is_wide():
    a = _scores(1000)
    b = a.copy()
    b[:5] = 0.0  # 5 of 1000 frames differ
    diff = paired_difference(Ratio.mean(b), Ratio.mean(a))
    single = ratio_metrics({"d": Ratio.mean(a)})
    assert diff.value == pytest.approx(-a[:5].sum() / 1000)
    assert diff.upper() - diff.lower() < 0.2 * (single["d_ci_high"] - single["d_ci_low"])
    assert diff.upper() <= 0.0 + 1e-12  # b is never better than a on any frame


def test_paired_difference_needs_the_same_frames():
    with pytest.raises(ValueError, match="same frames"):
        paired_difference(Ratio.mean([1, 0]), Ratio.mean([1, 0, 1]))
