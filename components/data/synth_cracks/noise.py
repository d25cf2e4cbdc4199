"""Noise fields and coordinate helpers every layer of a road frame is built from (band-limited
and fractal noise, 1-D smooth noise for crack walks, smoothstep edges, line coordinates).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

_F32 = np.float32


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Band-limited noise (std ~0.6): a Gaussian grid of spacing ``cell`` px, bicubically upsampled."""
    cell = max(float(cell), 1.0)
    if cell >= 12:  # coarse noise: render at low resolution, upsample linearly (much faster)
        f = int(cell // 6)
        small = _smooth_noise(rng, h // f + 2, w // f + 2, cell / f)
        return cv2.resize(small, ((w // f + 2) * f, (h // f + 2) * f), interpolation=cv2.INTER_LINEAR)[:h, :w]
    gh, gw = math.ceil(h / cell) + 1, math.ceil(w / cell) + 1
    grid = rng.standard_normal((gh, gw), dtype=_F32)
    uh, uw = max(h, round(gh * cell)), max(w, round(gw * cell))
    interp = cv2.INTER_CUBIC if cell >= 4 else cv2.INTER_LINEAR
    up = cv2.resize(grid, (uw, uh), interpolation=interp)
    oy = int(rng.integers(0, uh - h + 1))
    ox = int(rng.integers(0, uw - w + 1))
    return up[oy : oy + h, ox : ox + w]


def _fbm(
    rng: np.random.Generator,
    h: int,
    w: int,
    cell: float,
    octaves: int = 4,
    gain: float = 0.5,
) -> np.ndarray:
    """Fractal noise with unit standard deviation; ``cell`` is the coarsest feature size in px."""
    total = np.zeros((h, w), _F32)
    amp = 1.0
    for o in range(octaves):
        total += amp * _smooth_noise(rng, h, w, cell / 2**o)
        amp *= gain
    return total / (float(total.std()) + 1e-6)


def _smooth1d(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    """Smooth 1-D noise of length ``n`` with unit standard deviation (Gaussian-filtered white noise)."""
    sigma = max(sigma, 0.5)
    rad = int(3 * sigma)
    white = rng.standard_normal(n + 2 * rad)
    k = np.exp(-0.5 * (np.arange(-rad, rad + 1) / sigma) ** 2)
    out = np.convolve(white, k / np.sqrt((k**2).sum()), mode="valid")
    return out[:n]


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(w, dtype=_F32)[None, :], np.arange(h, dtype=_F32)[:, None]


def _line_coords(X, Y, cx: float, cy: float, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """(along, across) coordinates of every pixel relative to a line through (cx, cy) at ``angle``."""
    c, s = math.cos(angle), math.sin(angle)
    along = (X - cx) * c + (Y - cy) * s
    across = -(X - cx) * s + (Y - cy) * c
    return along, across
