"""Polyline clipping: crack centre lines cut to the image (Liang-Barsky, exact at the border) and
around manhole covers, so an annotation never leaves the frame or crosses a cover.
"""

from __future__ import annotations

import numpy as np


def _clip_segment(p: np.ndarray, q: np.ndarray, xmax: float, ymax: float) -> tuple[float, float] | None:
    """Liang-Barsky: the parameter range [t0, t1] of segment p->q inside [0, xmax] x [0, ymax]."""
    t0, t1 = 0.0, 1.0
    d = q - p
    for pk, qk in (
        (-d[0], p[0]),
        (d[0], xmax - p[0]),
        (-d[1], p[1]),
        (d[1], ymax - p[1]),
    ):
        if pk == 0:
            if qk < 0:
                return None
            continue
        r = qk / pk
        if pk < 0:
            t0 = max(t0, r)
        else:
            t1 = min(t1, r)
        if t0 > t1:
            return None
    return t0, t1


def _clip_polyline(pts: np.ndarray, w: int, h: int) -> list[np.ndarray]:
    """Pieces of an open polyline inside the image [0, w-1] x [0, h-1] (exact at the borders)."""
    xmax, ymax = w - 1.0, h - 1.0
    inside = (pts[:, 0] >= 0) & (pts[:, 0] <= xmax) & (pts[:, 1] >= 0) & (pts[:, 1] <= ymax)
    if inside.all():
        return [pts]
    pieces, cur = [], []
    for i in range(len(pts) - 1):
        p, q = pts[i], pts[i + 1]
        if inside[i] and inside[i + 1]:
            if not cur:
                cur.append(p)
            cur.append(q)
            continue
        seg = _clip_segment(p, q, xmax, ymax)
        if seg is None:
            continue
        a, b = p + seg[0] * (q - p), p + seg[1] * (q - p)
        if not cur:
            cur.append(a)
        cur.append(b)
        if not inside[i + 1]:  # leaving
            pieces.append(np.array(cur))
            cur = []
    if cur:
        pieces.append(np.array(cur))
    return [np.clip(pc, [0, 0], [xmax, ymax]) for pc in pieces if len(pc) >= 2]


def _cut_circles(pts: np.ndarray, circles: list[tuple[float, float, float]]) -> list[np.ndarray]:
    if not circles:
        return [pts]
    keep = np.ones(len(pts), bool)
    for cx, cy, r in circles:
        keep &= np.hypot(pts[:, 0] - cx, pts[:, 1] - cy) > r
    if keep.all():
        return [pts]
    pieces, start = [], None
    for i, k in enumerate(np.append(keep, False)):
        if k and start is None:
            start = i
        elif not k and start is not None:
            pieces.append(pts[start:i])
            start = None
    return [p for p in pieces if len(p) >= 2]
