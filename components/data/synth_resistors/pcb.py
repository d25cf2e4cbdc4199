"""The PCB surface: solder mask over copper traces and pours, exposed pads, solder domes, vias and
silkscreen (outlines and text, the main unlabelled look-alikes).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from components.data.synth_resistors.looks import PCB
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
    mott = 1 + PCB.mottle * _fbm(
        rng, h // 2, w // 2, (PCB.mottle_cells_px[0] * px, PCB.mottle_cells_px[1] * px), PCB.mottle_weights
    )
    mott = cv2.resize(mott, (w, h), interpolation=cv2.INTER_LINEAR) + PCB.mask_grain * _grain(rng, h, w)
    cu_a = _copper(rng, sc, h, w)
    gain = rng.uniform(*PCB.copper_gain) if name != "black" else rng.uniform(*PCB.copper_gain_black)
    warm = np.array(PCB.copper_warm, np.float32)
    img = _tint(mott * (1 + (gain - 1) * cu_a), col)
    img *= 1 + _tint(cu_a, warm - 1)
    _exposed_metal(rng, sc, img)
    _silkscreen(rng, sc, img, specs)
    return img


def _copper(rng: np.random.Generator, sc: Scene, h: int, w: int) -> np.ndarray:
    """Coverage (h, w) float32 of the copper under the mask: traces and sometimes a pour, blurred."""
    px, s = sc.res, sc.scale
    a_b = _rot(sc.board_angle)
    centre = np.array([w / 2, h / 2])

    def to_frame(pts):
        return (np.asarray(pts, np.float64) - centre) @ a_b.T + centre

    cu = np.zeros((h, w), np.uint8)
    if rng.random() < PCB.pour_prob:
        x0, y0 = rng.uniform(-w, w * 0.6), rng.uniform(-h, h * 0.6)
        poly = to_frame(
            [
                [x0, y0],
                [x0 + rng.uniform(*PCB.pour_size) * w, y0],
                [x0 + rng.uniform(*PCB.pour_size) * w, y0 + rng.uniform(*PCB.pour_size) * h],
                [x0, y0 + rng.uniform(*PCB.pour_size) * h],
            ]
        )
        cv2.fillPoly(cu, [np.round(poly).astype(np.int32)], 255, cv2.LINE_AA)
    diag = math.hypot(w, h)
    for _ in range(int(rng.integers(*PCB.traces))):
        tw = max(
            2,
            int(np.clip(rng.uniform(*PCB.trace_width_mm) * s, PCB.trace_width_px[0] * px, PCB.trace_width_px[1] * px)),
        )
        p = np.array([rng.uniform(-0.2, 1.2) * w, rng.uniform(-0.2, 1.2) * h])
        d = int(rng.choice(PCB.trace_directions, p=PCB.trace_direction_weights))
        pts = [p.copy()]
        for _ in range(int(rng.integers(*PCB.trace_segments))):
            ang = d * math.pi / 4
            p = p + rng.uniform(*PCB.segment_length) * diag * np.array([math.cos(ang), math.sin(ang)])
            pts.append(p.copy())
            d = (d + int(rng.choice(PCB.trace_turns))) % 8
        cv2.polylines(cu, [np.round(to_frame(pts)).astype(np.int32)], False, 255, tw, cv2.LINE_AA)
    return cv2.GaussianBlur(cu.astype(np.float32) * (1 / 255), (0, 0), rng.uniform(*PCB.copper_blur_px) * px)


def _exposed_metal(rng: np.random.Generator, sc: Scene, img: np.ndarray) -> None:
    """Pads (gold or tin finish, sets ``sc.pad_rgb``), solder domes and vias, drawn onto ``img``."""
    h, w = img.shape[:2]
    px = sc.res
    pad_rgb = np.array(PCB.gold_rgb, np.float32) if rng.random() < PCB.gold_prob else np.array(PCB.tin_rgb, np.float32)
    pad_rgb *= rng.uniform(*PCB.pad_brightness)
    sc.pad_rgb = pad_rgb
    metal_a = np.zeros((h, w), np.float32)
    solder_a = np.zeros((h, w), np.float32)
    hole_a = np.zeros((h, w), np.float32)
    tent = np.zeros((h, w), np.float32)
    _pads(rng, sc, metal_a, solder_a)
    _vias(rng, sc, metal_a, hole_a, tent)
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


def _pads(rng: np.random.Generator, sc: Scene, metal_a: np.ndarray, solder_a: np.ndarray) -> None:
    """Empty footprints and test pads (some with a solder dome), stamped into the coverage maps."""
    h, w = metal_a.shape
    px, s = sc.res, sc.scale
    for _ in range(_count(rng, sc.style.pads)):
        pl = float(np.clip(rng.uniform(*PCB.pad_length_mm) * s, PCB.pad_length_px[0] * px, PCB.pad_length_px[1] * px))
        pwid = float(np.clip(rng.uniform(*PCB.pad_width_mm) * s, PCB.pad_width_px[0] * px, PCB.pad_width_px[1] * px))
        ang = sc.board_angle + float(rng.choice([0, 90]))
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        sep = rng.uniform(*PCB.pad_spacing) * pl
        blob = rng.random() < PCB.solder_dome_prob
        for sgn in (-1, 1) if rng.random() < PCB.pad_pair_prob else (0,):
            c = np.array([cx, cy]) + _rot(ang) @ np.array([sgn * sep / 2, 0])
            if not _free(_rotated_bbox(ang, pl, pwid, *c), sc.forbidden, PCB.pad_margin_px * px):
                continue
            if blob:  # a solder dome on the pad
                yy, xx = np.mgrid[0 : int(pwid), 0 : int(pl)].astype(np.float32)
                dome = 1 - ((xx - pl / 2) / (0.42 * pl)) ** 2 - ((yy - pwid / 2) / (0.42 * pwid)) ** 2
                _stamp(solder_a, np.clip(dome * 3, 0, 1), ang, *c)
            sc.negatives.append(("pad", _stamp(metal_a, np.ones((int(pwid), int(pl)), np.float32), ang, *c)))


def _vias(rng: np.random.Generator, sc: Scene, metal_a: np.ndarray, hole_a: np.ndarray, tent: np.ndarray) -> None:
    """Vias and test points: tented (a bump in the mask) or bare metal with a hole."""
    h, w = metal_a.shape
    px, s = sc.res, sc.scale
    for _ in range(_count(rng, sc.style.vias)):
        rad = float(np.clip(rng.uniform(*PCB.via_radius_mm) * s, PCB.via_radius_px[0] * px, PCB.via_radius_px[1] * px))
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        if not _free((cx - rad, cy - rad, cx + rad, cy + rad), sc.forbidden, PCB.via_margin_px * px):
            continue
        ci = (int(cx), int(cy))
        if rng.random() < PCB.tented_prob:
            cv2.circle(tent, ci, int(rad), 1.0, -1, cv2.LINE_AA)
            cv2.circle(hole_a, ci, max(1, int(rad * 0.45)), 0.35, -1, cv2.LINE_AA)
        else:
            cv2.circle(metal_a, ci, int(rad), 1.0, -1, cv2.LINE_AA)
            cv2.circle(hole_a, ci, max(1, int(rad * 0.5)), 1.0, -1, cv2.LINE_AA)


def _silkscreen(rng: np.random.Generator, sc: Scene, img: np.ndarray, specs: list[ResistorSpec]) -> None:
    """Silkscreen lines, outlines around the resistors, designators and other text, printed onto ``img``."""
    h, w = img.shape[:2]
    px, s = sc.res, sc.scale
    diag = math.hypot(w, h)
    silk = np.zeros((h, w), np.float32)
    silk_col = np.array(PCB.silk_white if rng.random() < PCB.silk_white_prob else PCB.silk_yellow, np.float32)
    lw = max(2, int(np.clip(PCB.silk_line_mm * s, PCB.silk_line_px[0] * px, PCB.silk_line_px[1] * px)))
    for _ in range(_count(rng, sc.style.silk_lines)):
        p0 = np.array([rng.uniform(0, w), rng.uniform(0, h)])
        ang = math.radians(sc.board_angle + float(rng.choice([0, 90])))
        p1 = p0 + rng.uniform(*PCB.silk_line_length) * diag * np.array([math.cos(ang), -math.sin(ang)])
        cv2.line(silk, tuple(np.round(p0).astype(int)), tuple(np.round(p1).astype(int)), 1.0, lw, cv2.LINE_AA)
    for sp in specs:
        if rng.random() < PCB.outline_prob:
            ow = sp.length + 2 * sp.pad_ext + rng.uniform(*PCB.outline_margin) * sp.width
            oh = sp.width * rng.uniform(*PCB.outline_height)
            corners = np.array([[-ow / 2, -oh / 2], [ow / 2, -oh / 2], [ow / 2, oh / 2], [-ow / 2, oh / 2]]) @ _rot(
                sp.angle
            ).T + [sp.cx, sp.cy]
            cv2.polylines(silk, [np.round(corners).astype(np.int32)], True, 1.0, lw, cv2.LINE_AA)
    for _ in range(_count(rng, sc.style.silk_texts)):
        text = _silk_text(rng)  # the text is drawn before its height (the order of the draws)
        height = rng.uniform(*PCB.silk_text_mm) * s
        mask = _stroke_text_mask(rng, text, float(np.clip(height, PCB.silk_text_px[0] * px, PCB.silk_text_px[1] * px)))
        ang = sc.board_angle + float(rng.choice(PCB.silk_text_angles, p=PCB.silk_text_angle_weights))
        for _try in range(PCB.silk_text_tries):
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            if _free(
                _rotated_bbox(ang, mask.shape[1], mask.shape[0], cx, cy), sc.forbidden, PCB.silk_text_margin_px * px
            ):
                sc.negatives.append(("silk_text", _stamp(silk, mask, ang, cx, cy)))
                break
    if silk.any():
        if rng.random() < PCB.worn_print_prob:
            silk *= np.clip(1.0 - 0.4 * np.abs(_grain(rng, h, w)), 0, 1)
        silk = cv2.GaussianBlur(silk, (0, 0), rng.uniform(0.5, 1.0))
        img += (_tint(1 + 0.04 * _smooth(rng, h, w, 10), silk_col) - img) * _c3(silk * rng.uniform(*PCB.silk_opacity))
