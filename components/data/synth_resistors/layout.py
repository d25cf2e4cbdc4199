"""Where the labelled resistors go: frame scale from the main package, board angle, marking and
font per resistor (fitted inside the overcoat), non-overlapping positions, and tape pockets.
"""

from __future__ import annotations

import numpy as np

from components.data.synth_resistors.fonts import _font_advance_ratio
from components.data.synth_resistors.looks import LAYOUT
from components.data.synth_resistors.markings import _marking
from components.data.synth_resistors.parts import ResistorSpec
from components.data.synth_resistors.raster import _free, _rot, _rotated_bbox
from components.data.synth_resistors.styles import (
    _BASE,
    MAX_ANGLE_DEG,
    MIN_CHAR_PX,
    PACKAGES,
    ResistorStyle,
    _count,
    _pick,
)


def _sample_resistor(
    rng: np.random.Generator,
    scale: float,
    pkg: tuple,
    angle: float,
    soldered: bool,
    zoom: float = 1.0,
    st: ResistorStyle = _BASE,
) -> ResistorSpec | None:
    _, lmm, wmm = pkg
    length = lmm * scale * rng.uniform(0.97, 1.03)
    width = length * (wmm / lmm) * rng.uniform(0.93, 1.07)
    cap_frac = rng.uniform(0.12, 0.2)
    inner_w = length * (1 - 2 * cap_frac) * 0.9 - 6
    inner_h = width * 0.78
    font = _pick(rng, st.fonts)
    hscale = rng.uniform(0.72, 1.08)
    tracking = rng.uniform(0.03, 0.22)
    target = rng.uniform(*st.char_px) * zoom
    adv = _font_advance_ratio(font) * hscale
    for _ in range(20):
        text = _marking(rng, weights=st.marking_weights)
        n = len(text)
        per_h = n * adv * 1.08 + tracking * (n - 1)  # text width per unit of char height
        char_h = min(target, inner_h * 0.8, inner_w / per_h)
        if char_h >= MIN_CHAR_PX * zoom:
            break
    else:
        return None
    pad_ext = length * rng.uniform(0.08, 0.22) if soldered else 0.0
    return ResistorSpec(length, width, angle, text, font, float(char_h), hscale, tracking, cap_frac, pad_ext)


def _body_box(sp: ResistorSpec) -> tuple[float, float, float, float]:
    return _rotated_bbox(sp.angle, sp.length, sp.width, sp.cx, sp.cy)


def _sample_angle(rng: np.random.Generator, board_angle: float, aligned_prob: float = 0.55) -> float:
    if rng.random() < aligned_prob:
        a = board_angle + rng.normal(0, 2.0)
    else:
        a = rng.uniform(-MAX_ANGLE_DEG, MAX_ANGLE_DEG)
    return float(np.clip(a, -MAX_ANGLE_DEG, MAX_ANGLE_DEG))


def _layout(
    rng: np.random.Generator, kind: str, h: int, w: int, zoom: float, st: ResistorStyle = _BASE
) -> tuple[float, float, list[ResistorSpec], list]:
    """Frame scale, board angle, placed resistors and (for tape) the pockets."""
    pkg_i = int(rng.integers(len(PACKAGES)))
    main = PACKAGES[pkg_i]
    lo_px, hi_px = st.body_px
    body0 = rng.uniform(lo_px, hi_px) * zoom
    scale = body0 / main[1]
    board_angle = float(rng.uniform(-MAX_ANGLE_DEG, MAX_ANGLE_DEG))
    n_want = _count(rng, st.resistor_counts)
    allowed = [p for p in PACKAGES if lo_px * zoom * 1.03 <= p[1] * scale <= hi_px * zoom * 0.97] or [main]
    if kind == "tape":
        specs, pockets = _layout_on_tape(rng, h, w, zoom, st, scale, board_angle, main, n_want)
    else:
        specs, pockets = _layout_loose(rng, kind, h, w, zoom, st, scale, board_angle, main, allowed, n_want), []
    return scale, board_angle, specs, pockets


def _in_frame(bb: tuple[float, float, float, float], w: int, h: int) -> bool:
    m = LAYOUT.frame_margin_px
    return not (bb[0] < m or bb[1] < m or bb[2] > w - m or bb[3] > h - m)


def _layout_on_tape(
    rng: np.random.Generator,
    h: int,
    w: int,
    zoom: float,
    st: ResistorStyle,
    scale: float,
    board_angle: float,
    main: tuple,
    n_want: int,
) -> tuple[list[ResistorSpec], list]:
    """Resistors of the main package in the pockets of a carrier tape; returns them and every pocket."""
    specs: list[ResistorSpec] = []
    pockets: list = []
    sp0 = None
    for _ in range(5):
        sp0 = _sample_resistor(rng, scale, main, board_angle, soldered=False, zoom=zoom, st=st)
        if sp0 is not None:
            break
    if sp0 is None:
        return specs, pockets
    pl, pwid = sp0.length * rng.uniform(*LAYOUT.pocket_length), sp0.width * rng.uniform(*LAYOUT.pocket_width)
    pitch = max(2.0 * scale, pwid + 0.6 * sp0.width, 4.0 * scale if main[1] >= 2.0 else 0)
    a = _rot(board_angle)
    # the tape axis is perpendicular to the parts' long axis
    axis = a @ np.array([0.0, 1.0])
    c0 = np.array([rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h])
    cands = []
    for k in range(-8, 9):
        c = c0 + k * pitch * axis
        bb = _rotated_bbox(board_angle, pl, pwid, *c)
        if bb[2] < 0 or bb[0] > w or bb[3] < 0 or bb[1] > h:
            continue
        pockets.append((c, (pl, pwid)))
        cands.append(c)
    order = rng.permutation(len(cands))
    for idx in order:
        if len(specs) >= n_want:
            break
        sp = _sample_resistor(rng, scale, main, board_angle, soldered=False, zoom=zoom, st=st) if specs else sp0
        if sp is None:
            continue
        sp.angle = float(np.clip(board_angle + rng.normal(0, LAYOUT.tape_angle_sd), -MAX_ANGLE_DEG, MAX_ANGLE_DEG))
        jit = _rot(board_angle) @ np.array(
            [rng.uniform(-1, 1) * (pl - sp.length) * 0.3, rng.uniform(-1, 1) * (pwid - sp.width) * 0.3]
        )
        sp.cx, sp.cy = float(cands[idx][0] + jit[0]), float(cands[idx][1] + jit[1])
        bb = _body_box(sp)
        if not _in_frame(bb, w, h) or not _free(bb, [s.box for s in specs], LAYOUT.gap_px):
            continue
        sp.box = bb
        specs.append(sp)
    return specs, pockets


def _layout_loose(
    rng: np.random.Generator,
    kind: str,
    h: int,
    w: int,
    zoom: float,
    st: ResistorStyle,
    scale: float,
    board_angle: float,
    main: tuple,
    allowed: list,
    n_want: int,
) -> list[ResistorSpec]:
    """Resistors anywhere on a board or mat (soldered on a board), mostly of the main package."""
    specs: list[ResistorSpec] = []
    for _ in range(n_want):
        for _try in range(LAYOUT.place_tries):
            pkg = main if rng.random() < LAYOUT.main_package_prob else allowed[rng.integers(len(allowed))]
            sp = _sample_resistor(
                rng,
                scale,
                pkg,
                _sample_angle(rng, board_angle, st.aligned_prob),
                soldered=(kind == "pcb"),
                zoom=zoom,
                st=st,
            )
            if sp is None:
                continue
            sp.cx, sp.cy = float(rng.uniform(0, w)), float(rng.uniform(0, h))
            bb = _body_box(sp)
            if not _in_frame(bb, w, h):
                continue
            # keep other resistors (with their pads) out of this one's box and vice versa
            ext = _rotated_bbox(sp.angle, sp.length + 2 * sp.pad_ext, sp.width * 1.3, sp.cx, sp.cy)
            if not all(
                _free(ext, [o.box], LAYOUT.gap_px)
                and _free(
                    bb, [_rotated_bbox(o.angle, o.length + 2 * o.pad_ext, o.width * 1.3, o.cx, o.cy)], LAYOUT.gap_px
                )
                for o in specs
            ):
                continue
            sp.box = bb
            specs.append(sp)
            break
    return specs
