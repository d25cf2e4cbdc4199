"""Small predicted crack regions and straight lines are dropped (components/crack/postprocess.py), in
scoring as in the runtime."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from components.crack.metrics import Accumulator, frame_ratios
from components.crack.postprocess import MaskRules, drop_small_regions, drop_straight_lines, min_region_px


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
    assert MaskRules(26).apply_batch(masks).sum() == 0 and MaskRules(25).apply_batch(masks).sum() == 25
    assert min_region_px(0.001, (384, 288)) == 111 and min_region_px(0.0, (384, 288)) == 0


def test_a_speck_on_a_crack_free_frame_is_no_longer_an_alarm():
    truth = np.zeros((2, 64, 64), bool)
    truth[1, 10:50, 30:34] = True  # a 160-px crack
    pred = truth.copy()
    pred[0, 5:10, 5:10] = True  # a 25-px speck on the crack-free frame
    raw, filtered = Accumulator(), Accumulator(MaskRules(min_region_px=50))
    raw.add(_logits(pred), truth)
    scored = filtered.add(_logits(pred), truth)
    assert not scored[0].any() and scored[1].sum() == 160  # the crack survives
    r_raw = frame_ratios(raw.frame_table(), min_area=0.001)
    r_filtered = frame_ratios(filtered.frame_table(), min_area=0.001)
    assert r_raw["false_alarm_rate"].value() == 1.0 and r_filtered["false_alarm_rate"].value() == 0.0
    assert filtered.per_image_dice() == pytest.approx([1.0, 1.0])
    assert r_raw["dice_cracked"].value() == r_filtered["dice_cracked"].value() == pytest.approx(1.0)


def _crack(rng: np.random.Generator, height: int = 288, width: int = 384) -> np.ndarray:
    """A 5-px crack that wanders like the generator's, left to right: its heading drifts at random
    about a general direction."""
    mask = np.zeros((height, width), np.uint8)
    y, x, course = height / 2, 0.0, rng.uniform(-0.5, 0.5)
    heading, points = course, []
    while 0 <= x < width and 0 <= y < height:
        points.append((int(x), int(y)))
        heading = course + 0.85 * (heading - course) + rng.normal(0, 0.2)
        x, y = x + 4 * np.cos(heading), y + 4 * np.sin(heading)
    cv2.polylines(mask, [np.array(points, np.int32)], False, 1, 5)
    return mask.astype(bool)


def _joint(mask: np.ndarray, p0: tuple[int, int], p1: tuple[int, int], width: int = 4) -> np.ndarray:
    out = mask.astype(np.uint8).copy()
    cv2.line(out, p0, p1, 1, width)
    return out.astype(bool)


def test_joints_across_the_frame_are_dropped_and_a_crossing_crack_kept():
    """Two sawn joints crossing the frame (as on a concrete slab) go; a wandering crack that crosses
    them keeps all its pixels except those inside the joints' bands."""
    crack = _crack(np.random.default_rng(3))
    joints = _joint(_joint(np.zeros_like(crack), (0, 20), (383, 26)), (250, 0), (243, 287))
    assert (crack & joints).any()  # the crack crosses a joint
    out = drop_straight_lines(crack | joints, 0.5)
    assert not (out & joints & ~crack).any()  # every joint pixel off the crack is gone
    assert (out & crack).sum() >= 0.9 * crack.sum()  # the crack keeps 90 % (it loses the crossings only)
    assert (drop_straight_lines(crack | joints, 0.0) == (crack | joints)).all()  # 0 = off


def test_a_joint_traced_over_half_the_frame_is_dropped_a_shorter_one_kept():
    """The rule is the straight run's length as a share of the shorter side: a joint the model traced
    over 60 % of the frame's height goes, one of 40 % stays (it could be a straight stretch of crack)."""
    empty = np.zeros((288, 384), bool)
    long = _joint(empty, (200, 0), (204, int(0.6 * 288)))
    short = _joint(empty, (200, 0), (204, int(0.4 * 288)))
    assert not drop_straight_lines(long, 0.5).any()
    assert drop_straight_lines(short, 0.5).sum() == short.sum()


def test_wandering_cracks_are_never_taken_for_joints():
    """No crack drawn like the generator's loses a pixel, alone or as a dense web (the straight chords
    through a web have cracks beside them), at the default run of half the frame."""
    rng = np.random.default_rng(0)
    for _ in range(40):
        single = _crack(rng)
        web = single | _crack(rng) | _crack(rng) | np.rot90(_crack(rng, 384, 288))
        for mask in (single, web):
            assert drop_straight_lines(mask, 0.5).sum() == mask.sum()


def test_rules_round_trip_through_the_export_metadata():
    rules = MaskRules(111, 0.5)
    assert MaskRules.from_meta(rules.to_meta()) == rules
    assert MaskRules.from_meta({"min_region_px": 111}) == MaskRules(111, 0.0)  # older exports: no line rule
