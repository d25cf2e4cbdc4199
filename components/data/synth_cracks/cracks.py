"""The annotated cracks: line cracks along random walks with branches, alligator (fatigue) cracking
as a lattice of wobbly edges, and the darkening map they are drawn into.

The polylines the cracks are drawn along are the annotation, so picture and label agree by
construction.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from components.data.synth_cracks.clipping import _clip_polyline, _cut_circles
from components.data.synth_cracks.looks import CRACKS
from components.data.synth_cracks.noise import _F32, _smooth1d, _smooth_noise
from components.data.synth_cracks.styles import CrackStyle, _chance


def _walk(rng, start, heading: float, length: float, step: float, wander: float, curl: float) -> np.ndarray:
    """Points of a crack walk from ``start``: smooth direction drift plus stone-scale zig-zag."""
    n = max(2, int(length / step))
    th = (
        heading
        + wander * _smooth1d(rng, n, 10.0)
        + curl * 0.035 * np.cumsum(rng.standard_normal(n))
        + 0.35 * _smooth1d(rng, n, 1.5)
        + rng.normal(0.0, 0.22, n)
    )
    lens = step * rng.uniform(0.7, 1.3, n)
    d = np.stack([np.cos(th) * lens, np.sin(th) * lens], axis=1)
    return np.vstack([np.asarray(start, np.float64)[None, :], start + np.cumsum(d, axis=0)])


def _crack_through(rng, start, heading, length, step, wander, curl) -> np.ndarray:
    """A crack that runs from ``start`` in both directions (total ``length``)."""
    f = rng.uniform(0.3, 0.7)
    fwd = _walk(rng, start, heading, length * f, step, wander, curl)
    back = _walk(rng, start, heading + math.pi, length * (1 - f), step, wander, curl)
    return np.vstack([back[::-1], fwd[1:]])


def _add_branches(rng, cracks, pts, base_w, dark, step, style: CrackStyle, depth: int = 0):
    n = len(pts)
    if n < 12:
        return
    main_len = n * step
    rate = style.branch_rate if depth == 0 else 0.5 * style.branch_rate / 1.3
    for _ in range(min(int(rng.poisson(rate)), 4)):
        k = int(rng.integers(int(0.1 * n), int(0.9 * n)))
        k0, k1 = max(0, k - 2), min(n - 1, k + 2)
        local = math.atan2(pts[k1, 1] - pts[k0, 1], pts[k1, 0] - pts[k0, 0])
        ang = local + (1 if rng.random() < 0.5 else -1) * rng.uniform(0.35, 1.2)
        blen = main_len * rng.uniform(0.12, 0.45)
        bpts = _walk(rng, pts[k], ang, blen, step, 0.3, 0.8)
        bw = max(style.crack_width_range[0], base_w * rng.uniform(0.45, 0.85))
        cracks.append((bpts, bw, dark * rng.uniform(0.8, 1.0), False))
        if depth == 0 and rng.random() < 0.35:
            _add_branches(rng, cracks, bpts, bw, dark, step, style, depth + 1)


def _crack_width(rng, style: CrackStyle) -> float:
    lo, hi = style.crack_width_range
    return lo + (hi - lo) * float(rng.beta(1.6, 2.4))


def _free_point(rng, w: int, h: int, circles, lo: float = 0.15, hi: float = 0.85) -> tuple[float, float]:
    """A random point in the central part of the frame, outside the manhole covers if possible."""
    for _ in range(20):
        x, y = rng.uniform(lo, hi) * w, rng.uniform(lo, hi) * h
        if all(math.hypot(x - cx, y - cy) > r for cx, cy, r in circles):
            break
    return x, y


def _line_crack(rng, cracks, kind: str, w: int, h: int, sc: float, step: float, style: CrackStyle, circles=()):
    if kind == "longitudinal":
        heading = math.pi / 2 + rng.normal(0.0, 0.12)
        length, wander, curl = rng.uniform(0.6, 1.6) * h, 0.18, 0.4
    elif kind == "transverse":
        heading = rng.normal(0.0, 0.12)
        length, wander, curl = rng.uniform(0.6, 1.5) * w, 0.18, 0.4
    elif kind == "diagonal":
        heading = rng.choice([-1, 1]) * rng.uniform(0.4, 1.15)
        length, wander, curl = rng.uniform(0.6, 1.4) * math.hypot(w, h) * 0.7, 0.25, 0.6
    else:  # meandering (block / random cracking)
        heading = rng.uniform(0, 2 * math.pi)
        length, wander, curl = rng.uniform(0.4, 1.1) * math.hypot(w, h) * 0.6, 0.45, 1.6
    start = _free_point(rng, w, h, circles)
    pts = _crack_through(rng, start, heading, length, step, wander, curl)
    bw, dark = _crack_width(rng, style), rng.uniform(*style.crack_darkness_range)
    cracks.append((pts, bw, dark, True))
    _add_branches(rng, cracks, pts, bw, dark, step, style)


def _alligator(rng, cracks, w: int, h: int, sc: float, step: float, style: CrackStyle, circles=()):
    """Fatigue cracking: a jittered lattice of nodes inside a blob, edges drawn as wobbly cracks."""
    cx, cy = _free_point(rng, w, h, circles, 0.2, 0.8)
    rx, ry = rng.uniform(0.25, 0.55) * w, rng.uniform(0.25, 0.6) * h
    cell = rng.uniform(*CRACKS.alligator_cell_px) * sc
    rot = rng.uniform(0, math.pi)
    half = max(rx, ry) * 1.2
    m = int(2 * half / cell) + 2
    gi, gj = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    off = (gi % 2) * 0.5 * rng.uniform(0.0, 1.0)  # brick-like offset of alternate rows
    lx = (gj + off) * cell - half + rng.normal(0, 0.16 * cell, gj.shape)
    ly = gi * cell * rng.uniform(0.8, 1.2) - half + rng.normal(0, 0.16 * cell, gi.shape)
    c, s = math.cos(rot), math.sin(rot)
    nx, ny = cx + c * lx - s * ly, cy + s * lx + c * ly
    ang = np.arctan2(ny - cy, nx - cx)
    rad = np.hypot((nx - cx) / rx, (ny - cy) / ry)
    edge = 1.0 + 0.25 * np.sin(3 * ang + rng.uniform(0, 6.3)) + 0.15 * np.sin(5 * ang + rng.uniform(0, 6.3))
    inside = rad < edge
    lo, hi = style.crack_width_range
    bw = rng.uniform(lo, min(hi, lo + 2.0))
    dk_lo, dk_hi = style.crack_darkness_range
    dark = rng.uniform(dk_lo, dk_hi - 0.01)
    for i in range(m):
        for j in range(m):
            if not inside[i, j]:
                continue
            nbrs = []
            if j + 1 < m:
                nbrs.append((i, j + 1))
            if i + 1 < m:
                nbrs.append((i + 1, j) if rng.random() < 0.75 else (i + 1, min(m - 1, j + 1)))
                if rng.random() < 0.1:
                    nbrs.append((i + 1, max(0, j - 1)))
            for a, b in nbrs:
                if not inside[a, b] or rng.random() < 0.1:
                    continue
                p0, p1 = np.array([nx[i, j], ny[i, j]]), np.array([nx[a, b], ny[a, b]])
                L = float(np.hypot(*(p1 - p0)))
                if 2 * step > L:
                    continue
                k = max(2, int(L / step))
                tt = np.linspace(0.0, 1.0, k + 1)
                perp = np.array([-(p1 - p0)[1], (p1 - p0)[0]]) / L
                wob = 0.03 * L * _smooth1d(rng, k + 1, 3.0) * np.sin(np.pi * tt) + 1.1 * sc * _smooth1d(
                    rng, k + 1, 0.8
                ) * np.sqrt(np.sin(np.pi * tt))
                pts = p0[None, :] + tt[:, None] * (p1 - p0)[None, :] + wob[:, None] * perp[None, :]
                cracks.append(
                    (
                        pts,
                        bw * rng.uniform(0.8, 1.2),
                        dark * rng.uniform(0.85, 1.1),
                        False,
                    )
                )


def _crack_items(rng, w: int, h: int, sc: float, style: CrackStyle, circles) -> list:
    """The cracks of one frame, clipped to it and cut around manholes: (points, width, darkness, taper)."""
    step = CRACKS.step_px * max(1.0, sc**0.5)
    cracks: list = []
    kinds = ["longitudinal", "transverse", "diagonal", "meander", "alligator"]
    a = style.alligator_prob
    p = [q * (1.0 - a) / 0.82 for q in CRACKS.line_kind_weights] + [a]  # 0.82: the weights' sum
    first = rng.choice(kinds, p=p)
    if first == "alligator":
        _alligator(rng, cracks, w, h, sc, step, style, circles)
        if rng.random() < CRACKS.alligator_line_prob:
            _line_crack(rng, cracks, "longitudinal", w, h, sc, step, style, circles)
    else:
        _line_crack(rng, cracks, first, w, h, sc, step, style, circles)
    for p_extra in style.extra_crack_probs:
        if _chance(rng, p_extra):
            _line_crack(rng, cracks, rng.choice(kinds[:4]), w, h, sc, step, style, circles)
    items = []
    for pts, bw, dark, taper_start in cracks:
        for piece in _clip_polyline(pts, w, h):
            for sub in _cut_circles(piece, circles):
                if float(np.hypot(*np.diff(sub, axis=0).T).sum()) >= 3.0:
                    items.append((sub, bw, dark, taper_start and sub is pts))
    return items


def _draw_cracks(rng, items, h: int, w: int, sc: float, style: CrackStyle) -> np.ndarray:
    """Crack darkening map in [0, 1] (fraction of light removed) for (points, base width, darkness, taper)."""
    canvas = np.zeros((h, w), np.uint8)

    def on_border(
        p: np.ndarray,
    ) -> bool:  # a crack end cut by the image border is not a tip
        return p[0] <= 0.5 or p[1] <= 0.5 or p[0] >= w - 1.5 or p[1] >= h - 1.5

    for pts, bw, dark, taper_start in items:
        n = len(pts)
        wid = bw * (0.8 + 0.22 * _smooth1d(rng, n, 5.0)) + 0.4 * rng.standard_normal(n)
        ramp = min(8, max(1, n // 3))
        t = np.ones(n)
        if taper_start and not on_border(pts[0]):
            t[:ramp] = np.minimum(t[:ramp], np.linspace(0.4, 1.0, ramp))
        if not on_border(pts[-1]):
            t[n - ramp :] = np.minimum(t[n - ramp :], np.linspace(1.0, 0.4, ramp))
        wid = np.clip(wid * t, *style.crack_width_range)
        dk = np.clip(dark * (0.92 + 0.1 * _smooth1d(rng, n, 8.0)) * (0.75 + 0.25 * t), 0.3, 0.98)
        p16 = np.round(pts * 16).astype(np.int32)
        wi = np.round(0.5 * (wid[:-1] + wid[1:])).astype(int)
        vi = np.round(255 * 0.5 * (dk[:-1] + dk[1:])).astype(int)
        for i in range(n - 1):
            cv2.line(
                canvas,
                (int(p16[i, 0]), int(p16[i, 1])),
                (int(p16[i + 1, 0]), int(p16[i + 1, 1])),
                int(vi[i]),
                thickness=int(wi[i]),
                lineType=cv2.LINE_AA,
                shift=4,
            )
    core = canvas.astype(_F32) / 255.0
    # ragged edges: chipped asphalt along the crack lips
    fine = _smooth_noise(rng, h, w, 1.6 * sc)
    lips = cv2.dilate(core, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    dmap = np.maximum(core, lips * 0.85 * (fine > 0.35))
    dmap *= 0.88 + 0.12 * np.clip(fine + 0.5, 0.0, 1.0)  # debris / texture inside the crack
    halo = cv2.GaussianBlur(core, (0, 0), 1.6 * sc) * 0.3  # shallow depression beside the crack
    return np.maximum(cv2.GaussianBlur(dmap, (0, 0), 0.45 * sc), halo)
