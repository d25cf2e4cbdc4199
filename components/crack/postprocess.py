"""Small predicted crack regions are dropped before a mask is reported or scored.

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
"""

from __future__ import annotations

import cv2
import numpy as np


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


def drop_small_regions_batch(masks: np.ndarray, min_px: int) -> np.ndarray:
    """(N, H, W) boolean masks, each without its regions of fewer than ``min_px`` pixels."""
    masks = np.asarray(masks, bool)
    if min_px <= 1:
        return masks
    return np.stack([drop_small_regions(m, min_px) for m in masks]) if len(masks) else masks
