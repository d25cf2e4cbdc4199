"""Hard negatives, drawn but never labelled: plain chip capacitors, SOT/SOIC packages with
laser-marked codes, and printed stickers with text (some with resistor-like codes).
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw

from components.data.synth_resistors.fonts import _font, _font_advance_ratio, _font_cap_ratio, _render_glyphs
from components.data.synth_resistors.looks import DISTRACTORS, LABEL
from components.data.synth_resistors.markings import _marking
from components.data.synth_resistors.parts import _chip_patch, _ic_patch, _with_text
from components.data.synth_resistors.raster import (
    Patch,
    _c3,
    _composite,
    _free,
    _grain,
    _premult,
    _rot,
    _rotated_bbox,
    _rrect_alpha,
    _shadow_of,
    _smooth,
    _tint,
    _xform,
)
from components.data.synth_resistors.scene import Scene
from components.data.synth_resistors.styles import PACKAGES, ResistorStyle, _count, _pick


def _place_distractors(rng: np.random.Generator, sc: Scene, img: np.ndarray, taken: list) -> None:
    """Unlabelled parts: plain chip capacitors and SOT/SOIC packages (often with laser-marked text)."""
    h, w = img.shape[:2]
    s, st = sc.scale, sc.style
    items = ["cap"] * _count(rng, st.caps) + ["ic"] * _count(rng, st.ics)
    for it in items:
        for _try in range(DISTRACTORS.place_tries):
            ang = (
                sc.board_angle + float(rng.choice([0, 90])) + rng.normal(0, DISTRACTORS.board_turn_sd)
                if sc.kind == "pcb"
                else rng.uniform(-90, 90)
            )
            cx, cy = rng.uniform(-0.05, 1.05) * w, rng.uniform(-0.05, 1.05) * h
            if it == "cap":
                _, lmm, wmm = PACKAGES[rng.integers(len(PACKAGES))]
                lo_px, hi_px = DISTRACTORS.cap_length_px
                length = float(np.clip(lmm * s, lo_px * sc.res, hi_px * sc.res))
                width = length * wmm / lmm * rng.uniform(*DISTRACTORS.cap_width_jitter)
                pad_ext = length * rng.uniform(*DISTRACTORS.cap_pad_ext) if sc.kind == "pcb" else 0.0
                bb = _rotated_bbox(ang, length + 2 * pad_ext + 40, width * 1.3 + 40, cx, cy)
            else:
                bl, bw, pins = DISTRACTORS.ic_packages[rng.choice(len(DISTRACTORS.ic_packages))]
                lo_px, hi_px = DISTRACTORS.ic_length_px
                length = float(np.clip(bl * s, lo_px * sc.res, hi_px * sc.res))
                width = length * bw / bl
                bb = _rotated_bbox(ang, length + 40, width * 1.7 + 40, cx, cy)
            if not _free(bb, sc.forbidden, 4) or not _free(bb, taken, 2):
                continue
            if it == "cap":
                lv = rng.uniform(*DISTRACTORS.cap_brightness)
                tan = np.array([rng.uniform(*r) for r in DISTRACTORS.cap_rgb], np.float32) * lv
                patch = _chip_patch(
                    rng,
                    length,
                    width,
                    rng.uniform(0.12, 0.22),
                    tan,
                    pad_ext,
                    sc.pad_rgb if sc.kind == "pcb" else None,
                    0.0,
                    sc.light,
                    ang,
                )
            else:
                patch = _ic_patch(rng, length, width, pins, sc.pad_rgb if sc.kind == "pcb" else None, sc.light, ang)
                if rng.random() < st.ic_marking_prob:
                    _mark_ic(rng, patch, length, width, st)
            ph, pw = patch.top.shape[:2]
            a, t = _xform(ang, pw, ph, cx, cy)
            _composite(img, patch, a, t, 0.45)
            taken.append(bb)
            sc.negatives.append((it, _rotated_bbox(ang, pw, ph, cx, cy)))
            break


_IC_CODES = ("LM358", "2N7002", "BC847", "78L05", "NE555", "TL431", "AMS1117", "A7W", "1AM", "S4", "PJ", "T04")


def _mark_ic(rng: np.random.Generator, patch: Patch, length: float, width: float, st: ResistorStyle) -> None:
    """Laser-marked (light grey) or printed (white) part code on an IC body: text that is not a resistor."""
    text = (
        str(_pick(rng, _IC_CODES))
        if rng.random() < DISTRACTORS.ic_code_prob
        else "".join(rng.choice(list("0123456789ABCDEFGHJKLMNPRSTUVWXYZ"), size=int(rng.integers(2, 6))))
    )
    char_h = width * rng.uniform(0.16, 0.3)
    adv = _font_advance_ratio(font := _pick(rng, st.fonts))
    char_h = min(char_h, 0.8 * length / (len(text) * adv * 1.15))
    if char_h < 6:
        return
    glyphs = _render_glyphs(text, font, char_h, 1.0, 0.08)
    _n, gh, gw = glyphs.shape
    ph = patch.top.shape[0]
    ox, oy = round(14 + (length - gw) / 2), round((ph - gh) / 2)
    if ox < 14 or oy < (ph - width) / 2 or gw > patch.top.shape[1] - 2 * 14:
        return
    v = (
        rng.uniform(*DISTRACTORS.laser_grey)
        if rng.random() < DISTRACTORS.laser_mark_prob
        else rng.uniform(*DISTRACTORS.print_grey)
    )
    _with_text(rng, patch, glyphs, ox, oy, np.array([v, v, v], np.float32))


_LABEL_WORDS = ("LOT", "QTY", "P/N", "D/C", "REEL", "PASS", "QC", "ESD", "ROHS", "REV", "MSL")


def _label_lines(rng: np.random.Generator) -> list[str]:
    """Text of a sticker: lot/part/value lines, sometimes with resistor-like codes (hard negatives)."""
    lines = []
    for _ in range(int(rng.integers(1, 4))):
        r = rng.random()
        if r < 0.4:
            lines.append(f"{_pick(rng, _LABEL_WORDS)} {rng.integers(10, 99999)}")
        elif r < 0.7:
            lines.append(f"{_marking(rng)} {_pick(rng, ('1%', '5%', '0603', '0805', '1206', 'F', 'J'))}")
        else:
            lines.append("".join(rng.choice(list("0123456789ABCDEFGHJKLMNPRSTUVWXYZ-"), size=int(rng.integers(4, 12)))))
    return lines


def _place_labels(rng: np.random.Generator, sc: Scene, img: np.ndarray, zoom: float) -> None:
    """Paper stickers with printed text (TrueType, like the markings), never where a resistor is."""
    h, w = img.shape[:2]
    for _ in range(_count(rng, sc.style.labels)):
        lines = _label_lines(rng)
        font = _pick(rng, sc.style.fonts)
        char_h = rng.uniform(*LABEL.char_px) * zoom
        f = _font(font, max(8, round(char_h / _font_cap_ratio(font))))
        lh = round(char_h * LABEL.line_spacing)
        pad = round(char_h * rng.uniform(0.5, 1.0))
        tw = max(round(f.getlength(t)) for t in lines)
        pw, ph = tw + 2 * pad, lh * len(lines) + 2 * pad - round(0.5 * char_h)
        ang = sc.board_angle + float(rng.normal(0, 4)) + float(rng.choice([0, 90]))
        for _try in range(LABEL.place_tries):
            cx, cy = rng.uniform(0, 1) * w, rng.uniform(0, 1) * h
            bb = _rotated_bbox(ang, pw + 24, ph + 24, cx, cy)
            if _free(bb, sc.forbidden, 4):
                break
        else:
            continue
        text = Image.new("L", (pw, ph), 0)
        dr = ImageDraw.Draw(text)
        for k, t in enumerate(lines):
            dr.text((pad, pad + k * lh + char_h), t, font=f, fill=255, anchor="ls")
        ink = cv2.GaussianBlur(np.asarray(text, np.float32) / 255.0, (0, 0), 0.6)
        paper = np.array(_pick(rng, LABEL.paper_rgb), np.float32) * rng.uniform(*LABEL.paper_brightness)
        lum = 1 + 0.03 * _smooth(rng, ph, pw, 30) + 0.02 * _grain(rng, ph, pw)
        rgb = _tint(lum, paper) * _c3(1 - 0.85 * ink)
        alpha = _rrect_alpha(
            (np.arange(pw, dtype=np.float32) + 0.5)[None, :],
            (np.arange(ph, dtype=np.float32) + 0.5)[:, None],
            1,
            1,
            pw - 1,
            ph - 1,
            r=pad * 0.5,
        )
        m = 12
        patch = Patch(top=np.pad(_premult(np.clip(rgb, 0, 255), alpha), ((m, m), (m, m), (0, 0))))
        patch.shadow = _shadow_of(patch.top[..., 3].copy(), _rot(ang).T, sc.light * 0.5, 2.0)
        a, t = _xform(ang, pw + 2 * m, ph + 2 * m, cx, cy)
        _composite(img, patch, a, t, 0.35)
        sc.negatives.append(("label", bb))
