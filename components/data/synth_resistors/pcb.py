"""The PCB surface: solder mask over copper traces and pours, exposed pads, solder domes, vias and
silkscreen (outlines and text, the main unlabelled look-alikes).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from components.data.synth_resistors.parts import ResistorSpec
from components.data.synth_resistors.raster import _c3, _fbm, _free, _grain, _rot, _rotated_bbox, _smooth, _stamp, _tint
from components.data.synth_resistors.scene import Scene, _silk_text, _stroke_text_mask
from components.data.synth_resistors.styles import _count, _pick

_MASK_COLOURS = {
    "green": ((18, 75, 38), (40, 120, 60)),
    "darkgreen": ((12, 45, 25), (25, 70, 40)),
    "blue": ((12, 40, 95), (30, 70, 140)),
    "black": ((18, 18, 20), (38, 38, 42)),
    "red": ((95, 15, 18), (150, 35, 35)),
}


def _pcb_background(rng: np.random.Generator, sc: Scene, h: int, w: int, specs: list[ResistorSpec]) -> np.ndarray:
    """Solder mask with copper under it, exposed pads/solder, vias and silkscreen (incl. text)."""
    st = sc.style
    name = _pick(rng, st.mask_colours, st.mask_weights)
    lo, hi = _MASK_COLOURS[name]
    col = np.array([rng.uniform(a, b) for a, b in zip(lo, hi)], np.float32)
    px = sc.res
    mott = 1 + 0.025 * _fbm(rng, h // 2, w // 2, (60 * px, 12 * px), (1.0, 0.6))
    mott = cv2.resize(mott, (w, h), interpolation=cv2.INTER_LINEAR) + 0.03 * _grain(rng, h, w)
    s = sc.scale
    a_b = _rot(sc.board_angle)
    centre = np.array([w / 2, h / 2])

    def to_frame(pts):
        return (np.asarray(pts, np.float64) - centre) @ a_b.T + centre

    # copper under the mask: traces and sometimes a pour, seen as lighter mask
    cu = np.zeros((h, w), np.uint8)
    if rng.random() < 0.35:
        x0, y0 = rng.uniform(-w, w * 0.6), rng.uniform(-h, h * 0.6)
        poly = to_frame(
            [
                [x0, y0],
                [x0 + rng.uniform(0.4, 1.2) * w, y0],
                [x0 + rng.uniform(0.4, 1.2) * w, y0 + rng.uniform(0.4, 1.2) * h],
                [x0, y0 + rng.uniform(0.4, 1.2) * h],
            ]
        )
        cv2.fillPoly(cu, [np.round(poly).astype(np.int32)], 255, cv2.LINE_AA)
    diag = math.hypot(w, h)
    for _ in range(int(rng.integers(3, 12))):
        tw = max(2, int(np.clip(rng.uniform(0.12, 0.5) * s, 5 * px, 80 * px)))
        p = np.array([rng.uniform(-0.2, 1.2) * w, rng.uniform(-0.2, 1.2) * h])
        d = int(rng.choice([0, 2, 4, 6, 1, 3], p=[0.25, 0.25, 0.2, 0.2, 0.05, 0.05]))
        pts = [p.copy()]
        for _ in range(int(rng.integers(2, 6))):
            ang = d * math.pi / 4
            p = p + rng.uniform(0.1, 0.5) * diag * np.array([math.cos(ang), math.sin(ang)])
            pts.append(p.copy())
            d = (d + int(rng.choice([-2, -1, 1, 2]))) % 8
        cv2.polylines(cu, [np.round(to_frame(pts)).astype(np.int32)], False, 255, tw, cv2.LINE_AA)
    cu_a = cv2.GaussianBlur(cu.astype(np.float32) * (1 / 255), (0, 0), rng.uniform(1.0, 3.0) * px)
    gain = rng.uniform(1.18, 1.45) if name != "black" else rng.uniform(1.05, 1.15)
    warm = np.array([1.04, 1.0, 0.92], np.float32)
    img = _tint(mott * (1 + (gain - 1) * cu_a), col)
    img *= 1 + _tint(cu_a, warm - 1)

    # exposed metal: pads (finish), solder blobs, vias
    pad_rgb = np.array([205, 168, 92], np.float32) if rng.random() < 0.35 else np.array([180, 180, 176], np.float32)
    pad_rgb *= rng.uniform(0.85, 1.1)
    sc.pad_rgb = pad_rgb
    metal_a = np.zeros((h, w), np.float32)
    solder_a = np.zeros((h, w), np.float32)
    hole_a = np.zeros((h, w), np.float32)
    tent = np.zeros((h, w), np.float32)
    for _ in range(_count(rng, st.pads)):  # empty footprints / test pads
        pl = float(np.clip(rng.uniform(0.3, 1.2) * s, 20 * px, 260 * px))
        pwid = float(np.clip(rng.uniform(0.3, 1.0) * s, 20 * px, 220 * px))
        ang = sc.board_angle + float(rng.choice([0, 90]))
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        sep = rng.uniform(1.0, 2.5) * pl
        blob = rng.random() < 0.15
        for sgn in (-1, 1) if rng.random() < 0.7 else (0,):
            c = np.array([cx, cy]) + _rot(ang) @ np.array([sgn * sep / 2, 0])
            if not _free(_rotated_bbox(ang, pl, pwid, *c), sc.forbidden, 6 * px):
                continue
            if blob:  # a solder dome on the pad
                yy, xx = np.mgrid[0 : int(pwid), 0 : int(pl)].astype(np.float32)
                dome = 1 - ((xx - pl / 2) / (0.42 * pl)) ** 2 - ((yy - pwid / 2) / (0.42 * pwid)) ** 2
                _stamp(solder_a, np.clip(dome * 3, 0, 1), ang, *c)
            sc.negatives.append(("pad", _stamp(metal_a, np.ones((int(pwid), int(pl)), np.float32), ang, *c)))
    for _ in range(_count(rng, st.vias)):  # vias and test points
        rad = float(np.clip(rng.uniform(0.15, 0.35) * s, 7 * px, 70 * px))
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        if not _free((cx - rad, cy - rad, cx + rad, cy + rad), sc.forbidden, 4 * px):
            continue
        ci = (int(cx), int(cy))
        if rng.random() < 0.5:  # tented: a bump in the mask
            cv2.circle(tent, ci, int(rad), 1.0, -1, cv2.LINE_AA)
            cv2.circle(hole_a, ci, max(1, int(rad * 0.45)), 0.35, -1, cv2.LINE_AA)
        else:
            cv2.circle(metal_a, ci, int(rad), 1.0, -1, cv2.LINE_AA)
            cv2.circle(hole_a, ci, max(1, int(rad * 0.5)), 1.0, -1, cv2.LINE_AA)
    if tent.any():
        img *= _c3(1 + 0.25 * cv2.GaussianBlur(tent, (0, 0), 2.0 * px))
    metal = _tint(1 + 0.06 * _smooth(rng, h, w, 40 * px) + 0.05 * _grain(rng, h, w), pad_rgb)
    img += (metal - img) * _c3(metal_a)
    if solder_a.any():
        sol = cv2.GaussianBlur(solder_a, (0, 0), 3.0 * px)
        # a dull grey dome with a small specular highlight, not a uniformly white blob
        shade = 95 + 55 * sol + 260 * np.clip(sol - 0.8, 0, None) + 10 * _smooth(rng, h, w, 30 * px)
        img += (_c3(shade) - img) * _c3(np.clip(solder_a * 1.5, 0, 1))
    if hole_a.any():
        img *= _c3(1 - 0.85 * np.clip(hole_a, 0, 1))

    # silkscreen: lines, outlines around the resistors, designators and other text
    silk = np.zeros((h, w), np.float32)
    silk_col = np.array([235, 235, 228], np.float32) if rng.random() < 0.85 else np.array([230, 215, 120], np.float32)
    lw = max(2, int(np.clip(0.12 * s, 3 * px, 22 * px)))
    for _ in range(_count(rng, st.silk_lines)):
        p0 = np.array([rng.uniform(0, w), rng.uniform(0, h)])
        ang = math.radians(sc.board_angle + float(rng.choice([0, 90])))
        p1 = p0 + rng.uniform(0.1, 0.4) * diag * np.array([math.cos(ang), -math.sin(ang)])
        cv2.line(silk, tuple(np.round(p0).astype(int)), tuple(np.round(p1).astype(int)), 1.0, lw, cv2.LINE_AA)
    for sp in specs:
        if rng.random() < 0.55:
            ow = sp.length + 2 * sp.pad_ext + rng.uniform(0.2, 0.6) * sp.width
            oh = sp.width * rng.uniform(1.5, 1.9)
            corners = np.array([[-ow / 2, -oh / 2], [ow / 2, -oh / 2], [ow / 2, oh / 2], [-ow / 2, oh / 2]]) @ _rot(
                sp.angle
            ).T + [sp.cx, sp.cy]
            cv2.polylines(silk, [np.round(corners).astype(np.int32)], True, 1.0, lw, cv2.LINE_AA)
    for _ in range(_count(rng, st.silk_texts)):
        mask = _stroke_text_mask(rng, _silk_text(rng), float(np.clip(rng.uniform(0.5, 1.1) * s, 24 * px, 120 * px)))
        ang = sc.board_angle + float(rng.choice([0, 90, -90], p=[0.6, 0.25, 0.15]))
        for _try in range(6):
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            if _free(_rotated_bbox(ang, mask.shape[1], mask.shape[0], cx, cy), sc.forbidden, 8 * px):
                sc.negatives.append(("silk_text", _stamp(silk, mask, ang, cx, cy)))
                break
    if silk.any():
        if rng.random() < 0.5:  # worn / dotty print
            silk *= np.clip(1.0 - 0.4 * np.abs(_grain(rng, h, w)), 0, 1)
        silk = cv2.GaussianBlur(silk, (0, 0), rng.uniform(0.5, 1.0))
        img += (_tint(1 + 0.04 * _smooth(rng, h, w, 10), silk_col) - img) * _c3(silk * rng.uniform(0.8, 0.97))
    return img
