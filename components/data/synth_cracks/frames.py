"""One frame from one ``numpy`` Generator: surface, distractors, wetness, cracks, shadows, light,
camera. The order of the steps is the order of the random draws; changing it changes every dataset.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from components.data.synth_cracks.camera import _camera, _lighting
from components.data.synth_cracks.cracks import _crack_items, _draw_cracks
from components.data.synth_cracks.distractors import _distractors, _shadow
from components.data.synth_cracks.noise import _F32, _grid
from components.data.synth_cracks.styles import (
    BASE_HEIGHT,
    BASE_WIDTH,
    DEFAULT_FAMILY,
    FAMILIES,
    CrackStyle,
    _chance,
    _draw,
    get_style,
)
from components.data.synth_cracks.surfaces import _surface, _wet


def _render(
    rng: np.random.Generator,
    width: int = BASE_WIDTH,
    height: int = BASE_HEIGHT,
    style: CrackStyle | None = None,
) -> tuple[np.ndarray, list[np.ndarray], dict]:
    """Render one frame; returns (RGB uint8, polylines, debug info with the crack darkening map).

    The frame is ``style.frame_scale`` times ``width`` x ``height``.
    """
    style = FAMILIES[DEFAULT_FAMILY] if style is None else style
    w, h = round(int(width) * style.frame_scale), round(int(height) * style.frame_scale)
    if w < 32 or h < 32:
        raise ValueError(f"frame size {w}x{h} is too small (min 32x32)")
    has_crack = rng.random() >= style.crack_free_prob
    sc = math.sqrt(w * h / (BASE_WIDTH * BASE_HEIGHT))
    X, Y = _grid(h, w)
    img, hgt, shade = _surface(rng, h, w, sc, style)
    info: list[str] = []
    circles = _distractors(rng, img, X, Y, sc, hgt, shade, style, info)
    wetness = _draw(rng, style.wetness_range)
    sheen = _wet(rng, img, X, Y, sc, wetness, info) if wetness > 0 else None

    items = _crack_items(rng, w, h, sc, style, circles) if has_crack else []
    polylines = [it[0] for it in items]
    dmap = np.zeros((h, w), _F32)
    if items:
        dmap = _draw_cracks(rng, items, h, w, sc, style)
        img *= (1.0 - dmap)[..., None]
    if sheen is not None:
        img += (sheen * (1.0 - dmap))[..., None] * np.array([0.94, 1.0, 1.1], _F32)  # sky colour
    if _chance(rng, style.shadow_prob):
        _shadow(rng, img, X, Y, sc, info, style.shadow_depth_range)
        if _chance(rng, style.extra_shadow_prob):
            _shadow(rng, img, X, Y, sc, info, style.shadow_depth_range)
    _lighting(rng, img, X, Y, style)
    out = _camera(rng, img, sc, style)
    return out, polylines, {"crack_dark": dmap, "distractors": info, "has_crack": has_crack}


def render_crack_frame(
    seed: int | Sequence[int],
    width: int = BASE_WIDTH,
    height: int = BASE_HEIGHT,
    family: str = DEFAULT_FAMILY,
    crack_free: bool = False,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """One RGB uint8 frame and its crack centre polylines ((N, 2) float x, y) in style ``family``.

    ``seed`` is anything ``np.random.default_rng`` accepts (``[seed, i]`` for frame i of a dataset);
    the polyline list is empty for a crack-free frame. The frame is ``height x width x 3`` except for
    a family with ``frame_scale != 1`` (``hi_res``), whose frames are that many times larger.
    ``crack_free`` draws the frame without cracks (everything else of the family, distractors
    included): the false-alarm rate needs many such frames, which the families draw only 15-35 % of
    the time.
    """
    style = get_style(family)
    if crack_free:
        style = dataclasses.replace(style, crack_free_prob=1.0)
    img, polylines, _ = _render(np.random.default_rng(seed), width, height, style)
    return img, polylines
