"""Small predicted crack regions are dropped (components/crack/postprocess.py), in scoring as in the runtime."""

from __future__ import annotations

import numpy as np
import pytest

from components.crack.metrics import Accumulator, frame_ratios
from components.crack.postprocess import drop_small_regions, drop_small_regions_batch, min_region_px


def _logits(masks: np.ndarray) -> np.ndarray:
    m = np.asarray(masks, np.float32)
    return np.stack([1 - m, m], axis=-1)


def test_regions_under_the_size_are_dropped_and_others_kept_whole():
    mask = np.zeros((60, 80), bool)
    mask[2:11, 2:13] = True  # 99 px: dropped
    mask[30:40, 30:40] = True  # 100 px: kept
    out = drop_small_regions(mask, 100)
    assert not out[2:11, 2:13].any() and out[30:40, 30:40].all() and out.sum() == 100
    assert drop_small_regions(mask, 0).sum() == mask.sum()  # 0 keeps everything
    assert drop_small_regions(np.zeros((5, 5), bool), 10).sum() == 0


def test_a_thin_diagonal_crack_is_one_region():
    """8-connectivity: a 1-px diagonal line of 150 px is one region, not 150 specks."""
    mask = np.zeros((200, 200), bool)
    idx = np.arange(150)
    mask[idx + 10, idx + 20] = True
    assert drop_small_regions(mask, 100).sum() == 150


def test_batch_and_pixel_count():
    masks = np.zeros((3, 20, 20), bool)
    masks[1, :5, :5] = True
    assert drop_small_regions_batch(masks, 26).sum() == 0 and drop_small_regions_batch(masks, 25).sum() == 25
    assert min_region_px(0.001, (384, 288)) == 111 and min_region_px(0.0, (384, 288)) == 0


def test_a_speck_on_a_crack_free_frame_is_no_longer_an_alarm():
    truth = np.zeros((2, 64, 64), bool)
    truth[1, 10:50, 30:34] = True  # a 160-px crack
    pred = truth.copy()
    pred[0, 5:10, 5:10] = True  # a 25-px speck on the crack-free frame
    raw, filtered = Accumulator(), Accumulator(min_region_px=50)
    raw.add(_logits(pred), truth)
    scored = filtered.add(_logits(pred), truth)
    assert not scored[0].any() and scored[1].sum() == 160  # the crack survives
    r_raw = frame_ratios(raw.frame_table(), min_area=0.001)
    r_filtered = frame_ratios(filtered.frame_table(), min_area=0.001)
    assert r_raw["false_alarm_rate"].value() == 1.0 and r_filtered["false_alarm_rate"].value() == 0.0
    assert filtered.per_image_dice() == pytest.approx([1.0, 1.0])
    assert r_raw["dice_cracked"].value() == r_filtered["dice_cracked"].value() == pytest.approx(1.0)
