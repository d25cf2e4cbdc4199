"""Predicted crack regions that cannot be cracks are dropped before a mask is reported or scored:
small regions, and ruler-straight lines (joints and saw cuts).

**Small regions.**
On crack-free frames a few dozen stray pixels (a joint, a stain, sensor noise) were enough to
raise a false alarm: with plain argmax masks, 19 % of the crack-free test frames and 57 % of the
crack-free held-out-style frames had one (int8 model, 2026-12-03). The smallest crack the
annotation draws is a 5-px line about 20 px long, 0.1 % of a 384x288 input, so a connected
predicted region smaller than that cannot be a crack this data shows. ``min_region_area`` (a share
of the model input, ``crack.postprocess`` in params.yaml) drops such regions; it is the same size
as the false-alarm rule of the metrics (``crack.eval.false_alarm_min_area``).

The rule is applied in model-input pixels: on the mask at model size when a frame is resized, and
on the full-resolution mask when a large frame is read in tiles (whose pixels are model pixels).
Regions are 8-connected, so a thin diagonal crack stays one region.

**Straight lines.** A concrete slab's sawn joint, a loop-detector saw cut or the seam between two
paving lanes is a thin dark line, and the model, which decides from local evidence, traces it as a
crack: 74 % of the crack-free concrete frames of the held-out styles alarmed, nearly all on joints
(docs/crack.md, known weaknesses). Training on drawn grooves did not teach it otherwise
(docs/experiments.md). What tells a joint from a crack is a property of the whole line: a crack
wanders and changes width, a joint is straight to a pixel or two over the whole frame. So a
predicted line that stays within ``LINE_TOLERANCE_PX`` of a straight line for at least
``line_min_run`` of the frame's shorter side, with nothing predicted just beside it (which keeps
the straight chords through a web of fatigue cracks), is removed, with the band of
``LINE_BAND_PX`` on each side; a crack that crosses it keeps the rest of its pixels. Candidates come
from a probabilistic Hough transform of the mask. Applied to the true crack masks of the training
split, a run of half the frame (the default) removes nothing (540 frames at model size, 63 large
ones at full resolution); a third of the frame touches 1 frame, a quarter 12, so half it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

LINE_TOLERANCE_PX = 2.0  # a joint's pixels stay this close to its fitted straight line
LINE_BAND_PX = 4.0  # removed on each side of the line; beyond it, up to LINE_FLANK_PX, must be empty
LINE_FLANK_PX = 10.0
LINE_GAP_PX = 4  # a run of the line may skip this many positions (a faint stretch, a crossing)
LINE_CANDIDATES = 32  # longest Hough segments tested per mask


def min_region_px(min_region_area: float, input_size: tuple[int, int] | list[int]) -> int:
    """The area share of the model input (``width``, ``height``) as a pixel count."""
    width, height = input_size
    return int(round(float(min_region_area) * int(width) * int(height)))


def drop_small_regions(mask: np.ndarray, min_px: int) -> np.ndarray:
    """(H, W) boolean mask without its 8-connected regions of fewer than ``min_px`` pixels."""
    mask = np.asarray(mask, bool)
    if min_px <= 1 or not mask.any():
        return mask
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_px
    return keep[labels]


def _inside(point: np.ndarray, direction: np.ndarray, height: int, width: int) -> tuple[float, float]:
    """The parameter interval of ``point + t * direction`` that lies inside the frame."""
    lo, hi = -np.inf, np.inf
    for axis, limit in ((0, width - 1), (1, height - 1)):
        if abs(direction[axis]) > 1e-9:
            a, b = (0 - point[axis]) / direction[axis], (limit - point[axis]) / direction[axis]
            lo, hi = max(lo, min(a, b)), min(hi, max(a, b))
    return float(lo), float(hi)


def _longest_run(positions: np.ndarray, gap: int) -> int:
    """Length of the longest stretch of sorted integer ``positions`` with no hole wider than ``gap``."""
    if not len(positions):
        return 0
    breaks = np.nonzero(np.diff(positions) > gap + 1)[0]
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(positions) - 1]])
    return int((positions[ends] - positions[starts]).max()) + 1


def drop_straight_lines(mask: np.ndarray, min_run: float) -> np.ndarray:
    """(H, W) boolean mask without its straight, isolated lines of at least ``min_run`` x the shorter
    side (module docstring); the mask itself when none is found, so callers can tell by identity.
    ``min_run`` 0 keeps everything."""
    mask = np.asarray(mask, bool)
    height, width = mask.shape
    run_px = float(min_run) * min(height, width)
    if min_run <= 0 or mask.sum() < run_px:
        return mask
    segments = cv2.HoughLinesP(
        mask.view(np.uint8) * 255, 1, np.pi / 180, int(run_px / 4), minLineLength=int(run_px / 2), maxLineGap=3
    )
    if segments is None:
        return mask
    segments = segments.reshape(-1, 4).astype(np.float32)
    segments = segments[np.argsort(-np.hypot(*(segments[:, 2:] - segments[:, :2]).T), kind="stable")]
    ys, xs = np.nonzero(mask)
    points = np.stack([xs, ys], 1).astype(np.float32)
    gone = np.zeros(len(points), bool)  # pixels of lines already removed
    out = mask.copy()
    for x0, y0, x1, y1 in segments[:LINE_CANDIDATES]:
        direction = np.array([x1 - x0, y1 - y0], np.float32) / np.hypot(x1 - x0, y1 - y0)
        near = np.abs((points - (x0, y0)) @ (-direction[1], direction[0])) <= LINE_TOLERANCE_PX + 1
        if (near & ~gone).sum() < run_px / 2:  # nothing left of it, or too little to be a line
            continue
        vx, vy, cx, cy = cv2.fitLine(points[near], cv2.DIST_L2, 0, 0.01, 0.01).ravel()
        point, direction = np.array([cx, cy]), np.array([vx, vy])
        t0, t1 = _inside(point, direction, height, width)
        offset = np.abs((points - point) @ (-direction[1], direction[0]))
        along = np.floor((points - point) @ direction - t0).astype(np.int64)
        length = int(t1 - t0) + 1
        inside = (along >= 0) & (along < length)
        # the line is judged on the mask as predicted, so where it crosses a joint already removed it
        # runs on; beside it, only what is still there counts
        on_line = np.zeros(length, bool)
        on_line[along[inside & (offset <= LINE_TOLERANCE_PX)]] = True
        beside = inside & ~gone & (offset > LINE_BAND_PX) & (offset <= LINE_FLANK_PX)
        on_line[along[beside]] = False
        if _longest_run(np.nonzero(on_line)[0], LINE_GAP_PX) < run_px:
            continue
        band = (offset <= LINE_BAND_PX) & ~gone
        out[ys[band], xs[band]] = False
        gone |= band
    return out if gone.any() else mask


@dataclass(frozen=True)
class MaskRules:
    """The post-processing a predicted mask gets before it is reported or scored, in one place for
    the metrics (``components.crack.metrics.Accumulator``) and the runtime (crack_meta.json)."""

    min_region_px: int = 0  # regions smaller than this (model-input pixels) are dropped
    line_min_run: float = 0.0  # straight lines this long (share of the shorter side) are dropped

    @classmethod
    def from_params(cls, postprocess, input_size: tuple[int, int] | list[int]) -> MaskRules:
        """From ``crack.postprocess`` (components/crack/config.py) and the model input (width, height)."""
        return cls(min_region_px(postprocess.min_region_area, input_size), float(postprocess.straight_line_min_run))

    @classmethod
    def from_meta(cls, postprocess: dict) -> MaskRules:
        """From the ``postprocess`` entry of crack_meta.json (an export without the line rule keeps none)."""
        return cls(int(postprocess.get("min_region_px", 0)), float(postprocess.get("straight_line_min_run", 0.0)))

    def to_meta(self) -> dict:
        """The ``postprocess`` entry of crack_meta.json that ``from_meta`` reads back."""
        return {"min_region_px": self.min_region_px, "straight_line_min_run": self.line_min_run}

    def apply(self, mask: np.ndarray) -> np.ndarray:
        """(H, W) boolean mask with small regions and straight lines dropped; what a line removal
        leaves of a joint's fringe is a small region and goes too."""
        mask = drop_small_regions(mask, self.min_region_px)
        lines_dropped = drop_straight_lines(mask, self.line_min_run)
        if lines_dropped is mask:
            return mask
        return drop_small_regions(lines_dropped, self.min_region_px)

    def apply_batch(self, masks: np.ndarray) -> np.ndarray:
        """(N, H, W) boolean masks, each through ``apply``."""
        masks = np.asarray(masks, bool)
        if not len(masks) or (self.min_region_px <= 1 and self.line_min_run <= 0):
            return masks
        return np.stack([self.apply(m) for m in masks])
