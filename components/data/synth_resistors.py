"""Deterministic synthetic camera frames of SMD chip resistors with printed markings
(docs/architecture.md#synthetic-data).

Each frame is a macro photo (1280x960 by default): a PCB (solder mask, copper traces, pads, solder,
vias, silkscreen), a carrier tape (paper or embossed plastic, with pockets and sprocket holes) or an
ESD mat, carrying chip resistors (body, tin end caps, marking in a real code style) among hard
negatives that are drawn but never labelled: silkscreen designators and net names (R12, C3, GND),
printed stickers with text (lot numbers, values, part numbers), plain chip capacitors, SOT/SOIC
packages with laser-marked codes, empty pads and test points. The whole scene then goes through a
camera model: uneven light, colour cast, glare, blur, sensor noise, and JPEG when written.

Every draw follows a *style family* (``FAMILIES``: a frozen ``ResistorStyle`` per name) that sets
what an inspection camera in a factory varies: surface kinds and colours, fonts, body and ink
colours, marking styles, how many resistors at what size, frame scale (``wide_view`` frames are
1.5-2x the requested size with many small parts), distractor counts, light, blur, noise and JPEG
quality. ``DEFAULT_TRAIN_FAMILIES`` are for training; ``DEFAULT_OOD_FAMILIES`` are held out (a
surface, a camera and a light never trained on, all printed with ``HELD_OUT_FONTS`` and marking
colours no training family uses) to test out-of-distribution. ``mixed`` is the original look.
``generate_resistor_dataset`` cycles through the families it is given and writes ``families.csv``.

Every random draw comes from one ``numpy`` Generator per frame (``default_rng([seed, i])``), so a
dataset is identical for any number of workers. Character boxes are computed from the ink of each
rendered glyph, transformed exactly like the pixels, so they are tight around what is printed.
``python -m components.data.synth_resistors`` writes contact sheets per family to ``docs/synth/``.
"""

from __future__ import annotations

import importlib.util
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from components.data.families import write_families
from components.data.ocr_format import (
    MAX_TEXT_LEN,
    ROI_LABEL,
    OcrAnnotation,
    Shape,
    write_labelme,
)
from components.fanout import ClientSource, map_ordered
from components.io import atomic_write_bytes

# --------------------------------------------------------------------------------------------
# Fonts and marking codes
# --------------------------------------------------------------------------------------------

_FONT_DIR = Path(importlib.util.find_spec("matplotlib").origin).parent / "mpl-data" / "fonts" / "ttf"
TRAIN_FONTS: tuple[str, ...] = (  # upright faces, used by the training families
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "cmr10.ttf",
    "cmss10.ttf",
    "cmtt10.ttf",
    "cmb10.ttf",
)
HELD_OUT_FONTS: tuple[str, ...] = (  # oblique and STIX faces, only in the held-out (OOD) families
    "STIXGeneral.ttf",
    "STIXGeneralBol.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf",
)
MARKING_FONTS: tuple[str, ...] = TRAIN_FONTS + HELD_OUT_FONTS
_SILK_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_PLAIN)

E24 = (10, 11, 12, 13, 15, 16, 18, 20, 22, 24, 27, 30, 33, 36, 39, 43, 47, 51, 56, 62, 68, 75, 82, 91)
E96 = tuple(round(100 * 10 ** (i / 96)) for i in range(96))
EIA96_LETTERS = "ZYRXSABHCDEF"  # multiplier letters of the EIA-96 code

# (name, length mm, width mm): chip packages; the frame scale is chosen so bodies are 220-480 px.
PACKAGES = (
    ("0402", 1.0, 0.5),
    ("0603", 1.6, 0.8),
    ("0805", 2.0, 1.25),
    ("1206", 3.2, 1.6),
    ("1210", 3.2, 2.5),
    ("2010", 5.0, 2.5),
    ("2512", 6.4, 3.2),
)
MIN_BODY_PX, MAX_BODY_PX = 220.0, 480.0
MIN_CHAR_PX, MAX_CHAR_PX = 25.0, 70.0
MAX_ANGLE_DEG = 50.0


def _marking(
    rng: np.random.Generator,
    max_len: int = MAX_TEXT_LEN,
    weights: Sequence[float] = (0.30, 0.24, 0.20, 0.15, 0.04, 0.07),
) -> str:
    """One resistor marking in a real code style (characters 0-9 and A-Z only)."""
    style = rng.choice(6, p=np.asarray(weights, np.float64) / sum(weights))
    if style == 0:  # 3-digit: two significant digits and a power of ten
        return f"{E24[rng.integers(len(E24))]}{rng.choice(7, p=[0.12, 0.16, 0.2, 0.22, 0.16, 0.1, 0.04])}"
    if style == 1:  # 4-digit: three significant digits and a power of ten
        return f"{E96[rng.integers(len(E96))]}{rng.choice(5, p=[0.2, 0.2, 0.25, 0.2, 0.15])}"
    if style == 2:  # R-notation: the R marks the decimal point (4R7, R47, R010, 0R22, 49R9)
        n = int(rng.choice([3, 4], p=[0.5, 0.5]))
        if rng.random() < 0.3:  # small current-sense values with leading zeros
            digits = f"{rng.choice([1, 2, 3, 5, 10, 15, 20, 22, 33, 47, 50, 68]):0{n - 1}d}"
        else:
            sig = E24[rng.integers(len(E24))] if n == 3 else E96[rng.integers(len(E96))]
            digits = str(sig)
        p = int(rng.integers(0, n - 1))
        return digits[:p] + "R" + digits[p:]
    if style == 3:  # EIA-96: code 01-96 and a multiplier letter
        return f"{rng.integers(1, 97):02d}{EIA96_LETTERS[rng.integers(len(EIA96_LETTERS))]}"
    if style == 4:  # zero-ohm jumpers
        return str(rng.choice(["0", "00", "000", "0000"]))
    # longer part-number style markings: a value code and tolerance/series letters
    base = f"{E96[rng.integers(len(E96))]}{rng.integers(0, 5)}"
    suffix = "".join(rng.choice(list("FGJKTRDBW"), size=int(rng.integers(1, 5))))
    return (base + suffix)[:max_len]


@lru_cache(maxsize=512)
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_FONT_DIR / name), size)


@cache
def _font_cap_ratio(name: str) -> float:
    """Ink height of digits/capitals per unit of font size."""
    f = _font(name, 200)
    hs = [-f.getbbox(ch, anchor="ls")[1] for ch in "08HE"]
    return float(np.mean(hs)) / 200.0


@cache
def _font_advance_ratio(name: str) -> float:
    """Mean advance width of the 36 characters per unit of cap height."""
    f = _font(name, 200)
    adv = np.mean([f.getlength(ch) for ch in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"])
    return float(adv) / (200.0 * _font_cap_ratio(name))


def _render_glyphs(text: str, font_name: str, char_h: float, hscale: float, tracking: float) -> np.ndarray:
    """Alpha masks (n, h, w) float32 of each character of ``text``, laid out on one baseline."""
    size = max(8, round(char_h / _font_cap_ratio(font_name)))
    f = _font(font_name, size)
    asc, desc = f.getmetrics()
    pad = 4
    advances = [f.getlength(ch) for ch in text]
    track = tracking * char_h / hscale
    width = math.ceil(sum(advances) + track * (len(text) - 1)) + 2 * pad + size // 2
    height = asc + desc + 2 * pad
    masks = np.zeros((len(text), height, width), np.float32)
    x = float(pad)
    for i, (ch, adv) in enumerate(zip(text, advances)):
        im = Image.new("L", (width, height), 0)
        ImageDraw.Draw(im).text((x, pad + asc), ch, font=f, fill=255, anchor="ls")
        masks[i] = np.asarray(im, np.float32) * (1.0 / 255.0)
        x += adv + track
    if abs(hscale - 1.0) > 1e-3:
        nw = max(4, round(width * hscale))
        masks = np.stack(
            [
                cv2.resize(m, (nw, height), interpolation=cv2.INTER_AREA if hscale < 1 else cv2.INTER_LINEAR)
                for m in masks
            ]
        )
    union = masks.max(axis=0) > 0.02
    ys, xs = np.nonzero(union)
    y0, y1 = max(0, ys.min() - 2), ys.max() + 3
    x0, x1 = max(0, xs.min() - 2), xs.max() + 3
    return np.ascontiguousarray(masks[:, y0:y1, x0:x1])


# --------------------------------------------------------------------------------------------
# Style families
# --------------------------------------------------------------------------------------------

Range = tuple[float, float]
RGB = tuple[float, float, float]


@dataclass(frozen=True)
class ResistorStyle:
    """Everything a frame's look is drawn from; one preset per named family (see ``FAMILIES``).

    Ranges are ``(lo, hi)`` for a uniform draw; pixel sizes are for a 1280 px wide base frame and
    scale with the requested width. ``(lo, hi)`` counts draw an integer in ``lo..hi`` inclusive.
    """

    # surface under the parts
    backgrounds: tuple[str, ...] = ("pcb", "tape", "mat")
    background_weights: tuple[float, ...] = (0.6, 0.2, 0.2)
    mask_colours: tuple[str, ...] = ("green", "darkgreen", "blue", "red")  # keys of _MASK_COLOURS
    mask_weights: tuple[float, ...] = (0.5, 0.2, 0.18, 0.12)
    tape_paper_prob: float = 0.55
    mat_colours: tuple[RGB, ...] = ((85, 105, 128), (88, 118, 96), (112, 112, 112), (190, 180, 160), (205, 205, 200))
    # the resistors and their marking
    fonts: tuple[str, ...] = TRAIN_FONTS
    body_colours: tuple[RGB, ...] = ((28, 28, 28),)  # overcoat, times a brightness in body_brightness
    body_brightness: Range = (0.5, 1.5)
    ink_colours: tuple[RGB, ...] = ((230, 230, 222),)
    ink_brightness: Range = (0.83, 1.06)
    marking_weights: tuple[float, ...] = (0.30, 0.24, 0.20, 0.15, 0.04, 0.07)  # 3-digit, 4-digit, R, EIA-96, 0R, long
    resistor_counts: Range = (1, 3)
    body_px: Range = (MIN_BODY_PX, MAX_BODY_PX)  # body length of the frame's main package
    char_px: Range = (MIN_CHAR_PX, MAX_CHAR_PX)  # target cap height of the marking
    frame_scale: Range = (1.0, 1.0)  # frame size relative to the requested size (parts keep their px size)
    aligned_prob: float = 0.55  # a resistor follows the board angle (else any angle up to MAX_ANGLE_DEG)
    # hard negatives: drawn, never labelled
    silk_texts: Range = (1, 5)  # silkscreen designators / net names on a PCB, printed words on a mat
    silk_lines: Range = (0, 4)
    pads: Range = (2, 8)  # empty footprints and test pads (PCB)
    vias: Range = (1, 9)
    caps: Range = (0, 3)  # unmarked chip capacitors
    ics: Range = (0, 2)  # SOT/SOIC packages
    ic_marking_prob: float = 0.6  # an IC carries laser-marked text
    labels: Range = (0, 1)  # printed stickers with text (lot numbers, values, part numbers)
    # camera
    exposure: Range = (0.75, 1.2)
    light_gradient: Range = (0.05, 0.35)
    vignette: Range = (0.1, 0.45)
    hot_spot: Range = (0.0, 0.25)
    colour_cast: Range = (0.87, 1.11)  # red and blue gains (green = 1)
    glare_weights: tuple[float, ...] = (0.35, 0.35, 0.2, 0.1)  # 0, 1, 2, 3 specular spots
    glare_amp: Range = (20.0, 110.0)
    blur_sigma: Range = (0.5, 1.4)
    defocus_prob: float = 0.2
    motion_prob: float = 0.2
    motion_px: Range = (2.5, 6.0)
    read_noise: Range = (1.0, 4.0)
    shot_noise: Range = (0.02, 0.12)
    chroma_noise: Range = (0.5, 3.0)
    gamma: Range = (0.85, 1.1)
    jpeg_quality: Range = (60, 95)


_BASE = ResistorStyle()
_PCB = replace(_BASE, backgrounds=("pcb",), background_weights=(1.0,))
_HELD_OUT_BODY: dict = {  # marking looks no training family shows: blue body, black body with yellowish ink
    "fonts": HELD_OUT_FONTS,
    "body_colours": ((28, 28, 28), (30, 48, 112), (12, 12, 14)),
    "ink_colours": ((230, 230, 222), (245, 245, 240), (235, 210, 110)),
}
FAMILIES: dict[str, ResistorStyle] = {
    # today's look: PCBs of several colours, carrier tape and mats, 1-3 resistors
    "mixed": _BASE,
    "green_pcb": replace(
        _PCB, mask_colours=("green", "darkgreen"), mask_weights=(0.7, 0.3), silk_texts=(2, 7), caps=(1, 4)
    ),
    "blue_pcb": replace(_PCB, mask_colours=("blue",), mask_weights=(1.0,), silk_texts=(2, 6), pads=(3, 10)),
    # carrier tape: a printed splice tape or reel label is the text look-alike there
    "paper_tape": replace(
        _BASE,
        backgrounds=("tape",),
        background_weights=(1.0,),
        tape_paper_prob=1.0,
        resistor_counts=(2, 3),
        labels=(1, 2),
    ),
    "plastic_tape": replace(
        _BASE,
        backgrounds=("tape",),
        background_weights=(1.0,),
        tape_paper_prob=0.0,
        resistor_counts=(2, 3),
        exposure=(0.9, 1.3),
        glare_weights=(0.1, 0.4, 0.3, 0.2),
        glare_amp=(60, 160),
        labels=(1, 2),
    ),
    "esd_mat": replace(
        _BASE,
        backgrounds=("mat",),
        background_weights=(1.0,),
        silk_texts=(1, 4),
        caps=(1, 4),
        ics=(0, 2),
        aligned_prob=0.2,
        labels=(0, 2),
    ),
    # few large resistors seen from close: big glyphs, shallow depth of field
    "macro_closeup": replace(
        _BASE,
        background_weights=(0.7, 0.15, 0.15),
        resistor_counts=(1, 2),
        body_px=(480, 720),
        char_px=(50, 100),
        caps=(0, 1),
        ics=(0, 1),
        blur_sigma=(0.7, 1.8),
        defocus_prob=0.4,
        motion_prob=0.0,
    ),
    # a larger field of view: frames 1.5-2x the base size with many small resistors
    "wide_view": replace(
        _BASE,
        background_weights=(0.8, 0.1, 0.1),
        resistor_counts=(4, 8),
        body_px=(220, 300),
        char_px=(25, 36),
        frame_scale=(1.5, 2.0),
        silk_texts=(4, 12),
        pads=(6, 16),
        vias=(4, 16),
        caps=(3, 8),
        ics=(1, 3),
        labels=(0, 2),
    ),
    # hard negatives everywhere: stickers, marked ICs, silkscreen text, capacitors
    "label_clutter": replace(
        _BASE,
        background_weights=(0.6, 0.0, 0.4),
        silk_texts=(5, 10),
        caps=(3, 6),
        ics=(2, 4),
        ic_marking_prob=1.0,
        labels=(2, 4),
    ),
    # held out (OOD): a solder-mask colour, fonts and marking colours no training family uses
    "black_pcb": replace(_PCB, mask_colours=("black",), mask_weights=(1.0,), silk_texts=(2, 6), **_HELD_OUT_BODY),
    # held out: a handheld phone: motion blur, strong colour cast, heavy JPEG
    "phone_jpeg": replace(
        _BASE,
        **_HELD_OUT_BODY,
        colour_cast=(0.78, 1.2),
        blur_sigma=(0.8, 1.6),
        defocus_prob=0.15,
        motion_prob=0.75,
        motion_px=(4.0, 9.0),
        read_noise=(2.0, 5.0),
        chroma_noise=(2.0, 5.0),
        jpeg_quality=(18, 40),
        gamma=(0.75, 1.0),
    ),
    # held out: a dim line with strong vignetting and a noisy sensor at high gain
    "dim_noisy": replace(
        _BASE,
        **_HELD_OUT_BODY,
        exposure=(0.3, 0.5),
        vignette=(0.4, 0.8),
        hot_spot=(0.0, 0.1),
        glare_weights=(0.7, 0.3, 0.0, 0.0),
        read_noise=(5.0, 10.0),
        shot_noise=(0.2, 0.5),
        chroma_noise=(3.0, 6.0),
        gamma=(0.6, 0.8),
        jpeg_quality=(60, 90),
    ),
}
DEFAULT_FAMILY = "mixed"
DEFAULT_TRAIN_FAMILIES: tuple[str, ...] = (
    "mixed",
    "green_pcb",
    "blue_pcb",
    "paper_tape",
    "plastic_tape",
    "esd_mat",
    "macro_closeup",
    "wide_view",
    "label_clutter",
)
"""Families to train on (the default of ``generate_resistor_dataset``): all surfaces but black
solder mask, all scales, and the hard-negative clutter, with the training fonts and marking colours."""
DEFAULT_OOD_FAMILIES: tuple[str, ...] = ("black_pcb", "phone_jpeg", "dim_noisy")
"""Families kept out of training, each unseen in a different way, so an OOD test set tells which
shift hurts: ``black_pcb`` an unseen surface (black mask); ``phone_jpeg`` an unseen camera (motion
blur, colour cast, JPEG quality 18-40); ``dim_noisy`` unseen light (dim, vignetted, high-gain noise).
All three print with ``HELD_OUT_FONTS`` (oblique and STIX faces) and add marking colours no training
family has (blue body with white ink, black body with yellowish ink)."""


def resolve_families(families: Sequence[str] | None) -> tuple[str, ...]:
    """Validated family names (``None``: ``DEFAULT_TRAIN_FAMILIES``); unknown names raise ``ValueError``."""
    names = tuple(DEFAULT_TRAIN_FAMILIES if families is None else families)
    if isinstance(families, str) or not names:
        raise ValueError(f"families must be a non-empty sequence of names, got {families!r}")
    unknown = sorted({n for n in names if n not in FAMILIES})
    if unknown:
        raise ValueError(f"unknown resistor style families {unknown}; known: {sorted(FAMILIES)}")
    return names


def _style(family: str) -> ResistorStyle:
    return FAMILIES[resolve_families([family])[0]]


def _count(rng: np.random.Generator, r: Range) -> int:
    return int(rng.integers(int(r[0]), int(r[1]) + 1))


def _pick(rng: np.random.Generator, items: Sequence, weights: Sequence[float] | None = None):
    if weights is None:
        return items[int(rng.integers(len(items)))]
    p = np.asarray(weights, np.float64)
    return items[int(rng.choice(len(items), p=p / p.sum()))]


# --------------------------------------------------------------------------------------------
# Small helpers: noise, shapes, compositing
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=2)
def _grain_tile(size: int = 2048) -> np.ndarray:
    """A fixed N(0,1) noise tile (same in every process); frames take random windows of it."""
    return np.random.default_rng(20240611).standard_normal((size, size), dtype=np.float32)


def _grain(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Fine per-pixel texture noise (h, w) ~ N(0,1): a random window of a fixed tile."""
    tile = _grain_tile() if max(h, w) <= 2048 else _grain_tile(4096)  # large frames (wide_view)
    t = tile.shape[0]
    if h > t or w > t:
        tile = np.tile(tile, (h // t + 1, w // t + 1))
    oy, ox = int(rng.integers(tile.shape[0] - h + 1)), int(rng.integers(tile.shape[1] - w + 1))
    g = tile[oy : oy + h, ox : ox + w]
    return g[::-1] if rng.random() < 0.5 else g


def _smooth(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Smooth noise (h, w) with blobs about ``cell`` pixels wide, roughly N(0,1)."""
    gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
    g = rng.standard_normal((gh, gw)).astype(np.float32)
    return cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC) * 1.6


def _fbm(rng: np.random.Generator, h: int, w: int, cells: Sequence[float], weights: Sequence[float]) -> np.ndarray:
    out = np.zeros((h, w), np.float32)
    for c, wt in zip(cells, weights):
        out += wt * _smooth(rng, h, w, c)
    return out


def _rrect_alpha(xs: np.ndarray, ys: np.ndarray, x0: float, y0: float, x1: float, y1: float, r: float) -> np.ndarray:
    """Anti-aliased coverage of a rounded rectangle; xs (1, w) and ys (h, 1) are pixel centres."""
    r = max(0.0, min(r, (x1 - x0) / 2, (y1 - y0) / 2))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    qx = np.abs(xs - cx) - ((x1 - x0) / 2 - r)
    qy = np.abs(ys - cy) - ((y1 - y0) / 2 - r)
    d = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0) - r
    return np.clip(0.5 - d, 0.0, 1.0).astype(np.float32)


def _rot(theta_deg: float) -> np.ndarray:
    """2x2 rotation that turns counter-clockwise on screen (y down) for positive angles."""
    t = math.radians(theta_deg)
    c, s = math.cos(t), math.sin(t)
    return np.array([[c, s], [-s, c]], np.float64)


def _xform(theta: float, pw: float, ph: float, cx: float, cy: float) -> tuple[np.ndarray, np.ndarray]:
    """Continuous-coordinate affine (A, t) that rotates a pw x ph patch about its centre to (cx, cy)."""
    a = _rot(theta)
    return a, np.array([cx, cy]) - a @ np.array([pw / 2, ph / 2])


def _apply(a: np.ndarray, t: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ a.T + t


def _boxes_overlap(b1: Sequence[float], b2: Sequence[float], margin: float = 0.0) -> bool:
    return not (
        b1[2] + margin <= b2[0] or b2[2] + margin <= b1[0] or b1[3] + margin <= b2[1] or b2[3] + margin <= b1[1]
    )


@dataclass
class Patch:
    """A part rendered unrotated: premultiplied RGBA layers and a shadow caster, (h, w, .) float32."""

    top: np.ndarray  # (h, w, 4): premultiplied rgb + alpha, drawn last
    under: np.ndarray | None = None  # (h, w, 4): pads and solder, drawn first
    shadow: np.ndarray | None = None  # (h, w): soft shadow on what lies below the top layer
    glyphs: np.ndarray | None = None  # (n, h, w): each character's alpha in patch coordinates
    body: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1 of the labelled body


def _warp_region(frame_hw: tuple[int, int], a: np.ndarray, t: np.ndarray, pw: int, ph: int):
    """Integer frame region covered by the transformed patch, and the cv2 matrix into it."""
    h, w = frame_hw
    corners = _apply(a, t, np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float64))
    x0 = max(0, math.floor(corners[:, 0].min()) - 1)
    y0 = max(0, math.floor(corners[:, 1].min()) - 1)
    x1 = min(w, math.ceil(corners[:, 0].max()) + 1)
    y1 = min(h, math.ceil(corners[:, 1].max()) + 1)
    if x1 <= x0 or y1 <= y0:
        return None
    # pixel index u maps to continuous u + 0.5; frame index = continuous - 0.5 - region origin
    m = np.zeros((2, 3), np.float64)
    m[:, :2] = a
    m[:, 2] = a @ np.array([0.5, 0.5]) + t - 0.5 - np.array([x0, y0])
    return (x0, y0, x1, y1), m


def _warp(img: np.ndarray, m: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.warpAffine(img, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _composite(frame: np.ndarray, patch: Patch, a: np.ndarray, t: np.ndarray, shadow_strength: float) -> None:
    ph, pw = patch.top.shape[:2]
    reg = _warp_region(frame.shape[:2], a, t, pw, ph)
    if reg is None:
        return
    (x0, y0, x1, y1), m = reg
    size = (x1 - x0, y1 - y0)
    view = frame[y0:y1, x0:x1]
    top = _warp(patch.top, m, size)
    keep = 1.0 - top[..., 3]  # what survives of the layers below
    add = np.ascontiguousarray(top[..., :3])
    if patch.shadow is not None and shadow_strength > 0:
        keep *= 1.0 - shadow_strength * _warp(patch.shadow, m, size)
    if patch.under is not None:
        u = _warp(patch.under, m, size)
        add += u[..., :3] * _c3(keep)
        keep *= 1.0 - u[..., 3]
    view *= _c3(keep)
    view += add


def _premult(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    out = np.empty(alpha.shape + (4,), np.float32)
    out[..., :3] = rgb * _c3(alpha)
    out[..., 3] = alpha
    return out


def _c3(x: np.ndarray) -> np.ndarray:
    """(h, w) -> (h, w, 3) float32 copy; same-shape arithmetic is much faster than broadcasting."""
    return cv2.cvtColor(np.ascontiguousarray(x, dtype=np.float32), cv2.COLOR_GRAY2RGB)


def _tint(x: np.ndarray, rgb) -> np.ndarray:
    """(h, w) field times an RGB colour -> (h, w, 3) float32."""
    return cv2.transform(np.ascontiguousarray(x, dtype=np.float32), np.asarray(rgb, np.float32).reshape(3, 1))


def _shadow_of(alpha: np.ndarray, a_inv: np.ndarray, light: np.ndarray, sigma: float) -> np.ndarray:
    """Blurred, shifted copy of ``alpha``; ``light`` is the shadow offset in frame pixels."""
    dx, dy = a_inv @ light
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    s = cv2.warpAffine(alpha, m, (alpha.shape[1], alpha.shape[0]), flags=cv2.INTER_LINEAR, borderValue=0)
    return cv2.GaussianBlur(s, (0, 0), sigma)


# --------------------------------------------------------------------------------------------
# Parts: chip resistors, chip capacitors, SOT/SOIC packages
# --------------------------------------------------------------------------------------------


@dataclass
class ResistorSpec:
    length: float
    width: float
    angle: float
    text: str
    font: str
    char_h: float
    hscale: float
    tracking: float
    cap_frac: float
    pad_ext: float  # pad/fillet length beyond each end (0 when not soldered)
    cx: float = 0.0
    cy: float = 0.0
    box: tuple[float, float, float, float] = (0, 0, 0, 0)


def _metal(rng: np.random.Generator, h: int, w: int, base: float, tint: np.ndarray, along_y: bool = True) -> np.ndarray:
    """Tin/silver surface (h, w, 3): cylindrical specular band, grain and blotches."""
    n = h if along_y else w
    u = (np.arange(n, dtype=np.float32) + 0.5) / n
    centre, width = rng.uniform(0.25, 0.75), rng.uniform(0.12, 0.32)
    prof = 0.62 + 0.5 * np.exp(-((u - centre) ** 2) / (2 * width**2)) - 0.18 * (np.abs(u - 0.5) * 2) ** 4
    prof = prof[:, None] if along_y else prof[None, :]
    v = base * prof * (1 + 0.07 * _grain(rng, h, w) + 0.06 * _smooth(rng, h, w, max(6.0, min(h, w) / 3)))
    return np.clip(_tint(v, tint), 0, 255)


def _chip_patch(
    rng: np.random.Generator,
    length: float,
    width: float,
    cap_frac: float,
    body_rgb: np.ndarray,
    pad_ext: float,
    pad_rgb: np.ndarray | None,
    ceramic_edge: float,
    light: np.ndarray,
    theta: float,
) -> Patch:
    """A chip (resistor or capacitor) lying along x, with optional pads and solder fillets.

    Shading is built from 1-D profiles (broadcast) plus two shared texture fields, so a patch costs
    only a few dozen passes over its pixels.
    """
    margin = 12.0
    pad_w = width * rng.uniform(1.05, 1.3) if pad_rgb is not None else width
    pw = math.ceil(length + 2 * pad_ext + 2 * margin)
    ph = math.ceil(max(width, pad_w) + 2 * margin)
    bx0, by0 = (pw - length) / 2, (ph - width) / 2
    bx1, by1 = bx0 + length, by0 + width
    x = np.arange(pw, dtype=np.float32) + 0.5
    y = np.arange(ph, dtype=np.float32) + 0.5
    cap_w = cap_frac * length
    body_a = _rrect_alpha(x[None, :], y[:, None], bx0, by0, bx1, by1, r=min(width, length) * rng.uniform(0.02, 0.06))
    tex = _grain(rng, ph, pw)
    blot = _smooth(rng, ph, pw, max(8.0, width / 3))
    surf = 0.05 * tex + 0.06 * blot  # shared relative texture

    # overcoat between the caps, inset from the long edges (the white alumina shows there)
    ox0, ox1 = bx0 + cap_w - 2, bx1 - cap_w + 2
    oy0, oy1 = by0 + ceramic_edge, by1 - ceramic_edge
    oc_a = (
        np.clip(np.minimum(y - oy0, oy1 - y) + 0.5, 0, 1)[:, None]
        * np.clip(np.minimum(x - ox0, ox1 - x) + 0.5, 0, 1)[None, :]
    )
    u, v = (x - bx0) / length, (y - by0) / width
    sheen = (
        rng.uniform(0, 14)
        * np.exp(-((v - rng.uniform(0.2, 0.8)) ** 2) / 0.2)[:, None]
        * np.exp(-((u - rng.uniform(0.2, 0.8)) ** 2) / 0.08)[None, :]
    )
    bw = rng.uniform(1.5, 4.0)
    bev_y = np.exp(-np.clip(np.minimum(y - oy0, oy1 - y), 0, None) / bw)
    bev_x = np.exp(-np.clip(np.minimum(x - (bx0 + cap_w), (bx1 - cap_w) - x), 0, None) / bw)
    g = float(body_rgb.mean())
    dark = g * (1 + surf) + sheen + rng.uniform(4, 14) * np.maximum(bev_y[:, None], bev_x[None, :])

    # tin end caps: cylindrical highlight across, darker end face, groove at the overcoat
    base = rng.uniform(140, 215)
    centre, spread = rng.uniform(0.25, 0.75), rng.uniform(0.12, 0.32)
    prof_y = (
        0.78
        + rng.uniform(0.1, 0.3) * np.exp(-((v - centre) ** 2) / (2 * spread**2))
        - 0.15 * (np.abs(v - 0.5) * 2) ** 6
    )
    end = np.minimum(x - bx0, bx1 - x)
    prof_x = (1 - 0.22 * np.exp(-np.clip(end, 0, None) / max(2.0, 0.12 * cap_w))) * (
        1 - 0.25 * np.exp(-np.abs(end - cap_w) / 2.0)
    )
    metal = (base * prof_y)[:, None] * prof_x[None, :] * (1 + 1.4 * surf)
    wav = 0.8 * _smooth(rng, ph, 1, max(6.0, width / 3))
    cap_a = np.clip(cap_w + wav - end[None, :] + 0.5, 0, 1)

    cer = rng.uniform(150, 200)
    a_oc = oc_a * (1 - cap_a)
    a_cer = np.clip(1 - a_oc - cap_a, 0, 1)
    tint_b = (body_rgb / max(g, 1e-3)).astype(np.float32)
    tint_m = (np.float32(1.0) + rng.uniform(-0.04, 0.04, 3)).astype(np.float32)
    tint_c = np.array([1.0, 0.98, 0.92], np.float32)
    rgb = _tint(a_oc * dark, tint_b) + _tint(cap_a * metal, tint_m) + _tint(a_cer * cer * (1 + surf), tint_c)
    # a thin dark rim where the body's top surface turns down (separates it from pads and solder)
    rim = (
        1
        - rng.uniform(0.25, 0.5)
        * np.clip(
            1.8 - (np.minimum(np.minimum(x - bx0, bx1 - x)[None, :], np.minimum(y - by0, by1 - y)[:, None])), 0, 1.8
        )
        / 1.8
    )
    top = _premult(np.clip(rgb * _c3(rim), 0, 255), body_a)

    # pads and shiny solder fillets under the ends
    under = None
    if pad_rgb is not None and pad_ext > 0:
        inner = cap_w * rng.uniform(0.3, 0.9)
        pyo = (ph - pad_w) / 2
        pad_y = np.clip(np.minimum(y - pyo, pyo + pad_w - y) + 0.5, 0, 1)
        pad_x = np.clip(np.minimum(x - (bx0 - pad_ext), (bx0 + inner) - x) + 0.5, 0, 1) + np.clip(
            np.minimum(x - (bx1 - inner), (bx1 + pad_ext) - x) + 0.5, 0, 1
        )
        pad_a = pad_y[:, None] * np.clip(pad_x, 0, 1)[None, :]
        fl = pad_ext * rng.uniform(0.55, 0.95)
        fw = width * rng.uniform(0.85, 1.02)
        out = np.clip(np.maximum(bx0 - x, x - bx1), 0, None) / max(fl, 1.0)  # 0 at the cap, 1 at the fillet toe
        half = (fw / 2) * (1 - 0.12 * out**2) + 1  # the toe narrows a little
        fil_a = (
            np.clip(half[None, :] - np.abs(y - ph / 2)[:, None] + 0.5, 0, 1)
            * (out < 1)[None, :]
            * rng.uniform(0.85, 1.0)
        )
        peak = rng.uniform(0.15, 0.6)
        shine = 0.6 + 0.8 * np.exp(-((out - peak) ** 2) / (2 * 0.12**2)) - 0.2 * out
        yprof = 1 - 0.3 * np.clip(((y - ph / 2) / (fw / 2)) ** 2, 0, 1)
        solder = rng.uniform(175, 225) * yprof[:, None] * shine[None, :] * (1 + 0.6 * surf)
        pad_l = (1 + 1.3 * surf) * rng.uniform(0.75, 0.92)
        a_f = fil_a
        a_p = pad_a * (1 - a_f)
        under = np.empty((ph, pw, 4), np.float32)
        under[..., :3] = _tint(a_p * pad_l, pad_rgb) + _tint(a_f * np.clip(solder, 0, 255), tint_m)
        under[..., 3] = np.clip(a_p + a_f, 0, 1)
    shadow = _shadow_of(body_a, _rot(theta).T, light * (0.6 + 0.2 * width / 100), max(2.0, width * 0.05))
    return Patch(top=top, under=under, shadow=shadow, body=(bx0, by0, bx1, by1))


def _ic_patch(
    rng: np.random.Generator,
    length: float,
    width: float,
    n_pins: tuple[int, int],
    pad_rgb: np.ndarray | None,
    light: np.ndarray,
    theta: float,
) -> Patch:
    """A SOT/SOIC package: dark moulded body, gull-wing tin pins on the long sides."""
    pin_len = width * rng.uniform(0.25, 0.4)
    margin = 14.0
    pw = math.ceil(length + 2 * margin)
    ph = math.ceil(width + 2 * pin_len + 2 * margin)
    bx0, by0 = margin, (ph - width) / 2
    bx1, by1 = bx0 + length, by0 + width
    xs = (np.arange(pw, dtype=np.float32) + 0.5)[None, :]
    ys = (np.arange(ph, dtype=np.float32) + 0.5)[:, None]
    body_a = _rrect_alpha(xs, ys, bx0, by0, bx1, by1, r=width * 0.05)
    g = rng.uniform(18, 45)
    tex = _grain(rng, ph, pw)
    v = g * (1 + 0.06 * tex + 0.05 * _smooth(rng, ph, pw, width / 3))
    # pin-1 dimple
    dcx, dcy, dr = bx0 + width * 0.25, by1 - width * 0.25, width * rng.uniform(0.06, 0.12)
    dimple = np.clip(dr - np.hypot(xs - dcx, ys - dcy) + 0.5, 0, 1)
    v = v * (1 - 0.35 * dimple)
    rgb = _c3(v)
    pins_a = np.zeros((ph, pw), np.float32)
    base = rng.uniform(150, 210)
    tint = np.array([1.0, 1.0, 1.0], np.float32) + rng.uniform(-0.04, 0.04, 3).astype(np.float32)
    x, y = xs[0], ys[:, 0]

    def band(c: np.ndarray, lo: float, hi: float) -> np.ndarray:
        return np.clip(np.minimum(c - lo, hi - c) + 0.5, 0, 1)

    pin_w = None
    for side, count in zip((0, 1), n_pins):
        if count <= 0:
            continue
        pitch = length / count
        pin_w = pitch * rng.uniform(0.35, 0.5) if pin_w is None else pin_w
        xprof = np.zeros(pw, np.float32)
        for k in range(count):
            pcx = bx0 + pitch * (k + 0.5)
            xprof = np.maximum(xprof, band(x, pcx - pin_w / 2, pcx + pin_w / 2))
        yprof = band(y, by0 - pin_len, by0 + 2) if side == 0 else band(y, by1 - 2, by1 + pin_len)
        pins_a = np.maximum(pins_a, yprof[:, None] * xprof[None, :])
    metal = _metal(rng, ph, pw, base, tint)
    alpha = np.maximum(body_a, pins_a)
    top = np.empty((ph, pw, 4), np.float32)
    top[..., :3] = np.clip(metal, 0, 255) * _c3(pins_a * (1 - body_a)) + np.clip(rgb, 0, 255) * _c3(body_a)
    top[..., 3] = alpha
    under = None
    if pad_rgb is not None:
        pad = cv2.dilate(pins_a, np.ones((5, 5), np.uint8), iterations=max(1, int(pin_len * 0.12)))
        under_rgb = _tint(1 + 0.08 * tex, pad_rgb)
        under = _premult(np.clip(under_rgb, 0, 255), pad * (1 - body_a))
    shadow = _shadow_of(alpha, _rot(theta).T, light, max(2.0, width * 0.05))
    return Patch(top=top, under=under, shadow=shadow)


# --------------------------------------------------------------------------------------------
# Scenes
# --------------------------------------------------------------------------------------------

_MASK_COLOURS = {
    "green": ((18, 75, 38), (40, 120, 60)),
    "darkgreen": ((12, 45, 25), (25, 70, 40)),
    "blue": ((12, 40, 95), (30, 70, 140)),
    "black": ((18, 18, 20), (38, 38, 42)),
    "red": ((95, 15, 18), (150, 35, 35)),
}
_DESIGNATORS = ("R", "C", "U", "D", "L", "Q", "J", "TP", "FB", "SW", "Y")
_SILK_WORDS = (
    "GND",
    "VCC",
    "3V3",
    "5V",
    "VIN",
    "SDA",
    "SCL",
    "RST",
    "TX",
    "RX",
    "EN",
    "OUT",
    "IN",
    "+",
    "1",
    "REV",
    "A1",
)


def _silk_text(rng: np.random.Generator) -> str:
    r = rng.random()
    if r < 0.6:
        return f"{_DESIGNATORS[rng.integers(len(_DESIGNATORS))]}{rng.integers(1, 120)}"
    if r < 0.85:
        return str(_SILK_WORDS[rng.integers(len(_SILK_WORDS))])
    return "".join(rng.choice(list("0123456789ABCDEFGHJKLMNPRSTUVWXYZ"), size=int(rng.integers(2, 7))))


def _stroke_text_mask(rng: np.random.Generator, text: str, height: float) -> np.ndarray:
    """Silkscreen-style (vector stroke font) text as a float mask, unrotated."""
    face = _SILK_FONTS[rng.integers(len(_SILK_FONTS))]
    scale = cv2.getFontScaleFromHeight(face, round(height), 1)
    thick = max(2, round(height * rng.uniform(0.09, 0.15)))
    (tw, th), base = cv2.getTextSize(text, face, scale, thick)
    pad = thick + 4
    m = np.zeros((th + base + 2 * pad, tw + 2 * pad), np.uint8)
    cv2.putText(m, text, (pad, pad + th), face, scale, 255, thick, cv2.LINE_AA)
    return m.astype(np.float32) / 255.0


def _stamp(dst: np.ndarray, mask: np.ndarray, theta: float, cx: float, cy: float) -> tuple[float, float, float, float]:
    """Max-composite a rotated mask into ``dst`` (float32 h x w); returns its frame bbox."""
    ph, pw = mask.shape
    a, t = _xform(theta, pw, ph, cx, cy)
    reg = _warp_region(dst.shape, a, t, pw, ph)
    if reg is None:
        return (0, 0, 0, 0)
    (x0, y0, x1, y1), m = reg
    w = _warp(mask, m, (x1 - x0, y1 - y0))
    np.maximum(dst[y0:y1, x0:x1], w, out=dst[y0:y1, x0:x1])
    return (x0, y0, x1, y1)


def _rotated_bbox(theta: float, pw: float, ph: float, cx: float, cy: float) -> tuple[float, float, float, float]:
    a, t = _xform(theta, pw, ph, cx, cy)
    c = _apply(a, t, np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float64))
    return (c[:, 0].min(), c[:, 1].min(), c[:, 0].max(), c[:, 1].max())


def _free(box, forbidden, margin: float = 0.0) -> bool:
    return not any(_boxes_overlap(box, f, margin) for f in forbidden)


@dataclass
class Scene:
    kind: str
    scale: float  # px per mm (of the image being drawn)
    board_angle: float
    light: np.ndarray  # shadow offset, px
    pad_rgb: np.ndarray | None = None
    forbidden: list = field(default_factory=list)  # resistor boxes (+ margin): nothing else goes there
    res: float = 1.0  # drawing resolution relative to the final frame (pixel limits scale with it)
    style: ResistorStyle = _BASE
    negatives: list = field(default_factory=list)  # (kind, box) of each hard negative drawn (never labelled)


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


def _mat_background(rng: np.random.Generator, sc: Scene, h: int, w: int) -> np.ndarray:
    col = np.array(_pick(rng, sc.style.mat_colours), np.float32) * rng.uniform(0.85, 1.1)
    img = np.empty((h, w, 3), np.float32)
    img[:] = col
    low = cv2.resize(_fbm(rng, h // 4, w // 4, (80, 20, 5), (1.0, 0.5, 0.5)), (w, h), interpolation=cv2.INTER_LINEAR)
    speck = _grain(rng, h, w)
    img *= _c3(1 + 0.03 * low + 0.07 * speck)
    if rng.random() < 0.5:  # printed grid / ruler lines
        lines = np.zeros((h, w), np.float32)
        step = rng.uniform(1.5, 4.0) * sc.scale
        step = max(step, 120.0 * sc.res)
        a = _rot(sc.board_angle)
        c = np.array([w / 2, h / 2])
        for k in range(-8, 9):
            for d in (0, 1):
                off = np.array([k * step, 0]) if d == 0 else np.array([0, k * step])
                along = np.array([0, 2 * w]) if d == 0 else np.array([2 * w, 0])
                p0, p1 = c + a @ (off - along), c + a @ (off + along)
                cv2.line(lines, tuple(np.round(p0).astype(int)), tuple(np.round(p1).astype(int)), 1.0, 2, cv2.LINE_AA)
        lines = cv2.GaussianBlur(lines, (0, 0), 1.0)
        img *= _c3(1 - 0.25 * lines)
    tcol = np.array([240, 240, 235], np.float32) if col.mean() < 140 else np.array([40, 40, 45], np.float32)
    txt = np.zeros((h, w), np.float32)
    for _ in range(_count(rng, sc.style.silk_texts)):
        mask = _stroke_text_mask(rng, _silk_text(rng), float(rng.uniform(25, 90) * sc.res))
        ang = sc.board_angle + float(rng.choice([0, 90]))
        for _try in range(6):
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            if _free(_rotated_bbox(ang, mask.shape[1], mask.shape[0], cx, cy), sc.forbidden, 8 * sc.res):
                sc.negatives.append(("mat_text", _stamp(txt, mask, ang, cx, cy)))
                break
    img += (tcol - img) * _c3(cv2.GaussianBlur(txt, (0, 0), 1.0) * 0.85)
    return img


def _tape_background(rng: np.random.Generator, sc: Scene, h: int, w: int, pockets: list) -> np.ndarray:
    """Paper or black embossed carrier tape along the board angle + 90 degrees, with pockets."""
    paper = rng.random() < sc.style.tape_paper_prob
    a = _rot(sc.board_angle + 90)  # the tape runs along the rotated x axis
    px = sc.res
    if paper:
        col = np.array([rng.uniform(195, 230)] * 3, np.float32) * np.array([1.0, 0.97, 0.9], np.float32)
        fib = _smooth(rng, h // 2, w // 2, 3)  # fibres: noise smeared along the tape
        k = 9
        kern = np.zeros((k, k), np.float32)
        kern[k // 2, :] = 1.0
        kern = cv2.warpAffine(kern, cv2.getRotationMatrix2D((k // 2, k // 2), sc.board_angle + 90, 1.0), (k, k))
        fib = cv2.resize(cv2.filter2D(fib, -1, kern / kern.sum()), (w, h), interpolation=cv2.INTER_LINEAR)
        lum = 1 + 0.06 * fib + 0.04 * _grain(rng, h, w) + 0.03 * _smooth(rng, h, w, 40 * px)
        pocket_col = col * rng.uniform(0.35, 0.55)
    else:
        g = rng.uniform(35, 65)
        col = np.array([g, g, g * 1.03], np.float32)
        lum = 1 + 0.05 * _grain(rng, h, w) + 0.05 * _smooth(rng, h, w, 50 * px)
        pocket_col = col * 0.7
    img = _tint(lum, col)
    s = sc.scale
    centre = pockets[0][0] if pockets else np.array([w / 2, h / 2])
    n_dir = a @ np.array([0.0, 1.0])
    # tape edges: 8 mm wide tape, the pocket line off-centre; outside lies a dark machine surface
    tape_w = 8.0 * s
    off = float(rng.uniform(-0.1, 0.3)) * tape_w
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dist = (xx - centre[0]) * n_dir[0] + (yy - centre[1]) * n_dir[1]
    outside = np.clip(np.abs(dist + off) - tape_w / 2 + 0.5, 0, 1)
    if outside.any():
        surf = rng.uniform(20, 70)
        img += (_c3(surf * (1 + 0.05 * _smooth(rng, h, w, 30 * px))) - img) * _c3(outside)
    # sprocket holes on one side: 1.5 mm diameter, 4 mm pitch, 3.5 mm from the pocket line
    holes = np.zeros((h, w), np.float32)
    side = 1 if rng.random() < 0.5 else -1
    step = 4.0 * s
    phase = rng.uniform(0, step)
    for k in range(-8, 9):
        c = centre + a @ np.array([k * step + phase, side * 3.5 * s])
        cv2.circle(holes, (int(c[0]), int(c[1])), max(1, int(0.75 * s)), 1.0, -1, cv2.LINE_AA)
    holes = cv2.GaussianBlur(holes, (0, 0), 1.0)
    img += (np.float32(25) - img) * _c3(holes)
    # pockets: recesses with a shadowed wall on the lit side
    pmask = np.zeros((h, w), np.float32)
    for c, (pl, pwid) in pockets:
        _stamp(pmask, np.ones((max(1, int(pwid)), max(1, int(pl))), np.float32), sc.board_angle, *c)
    pm = cv2.GaussianBlur(pmask, (0, 0), 1.0)
    wall = np.clip(pm - _shift(pm, sc.light * 1.5), 0, 1)
    rim = np.clip(_shift(pm, -sc.light) - pm, 0, 1)
    img += (pocket_col - img) * _c3(pm * 0.85)
    img *= _c3(1 - 0.5 * wall + 0.25 * rim)
    if rng.random() < 0.7:  # transparent cover tape: the two sealing lines
        lm = np.zeros((h, w), np.float32)
        for sgn in (-1, 1):
            c0 = centre + a @ np.array([0, sgn * rng.uniform(1.6, 2.6) * s])
            p0, p1 = c0 - a @ np.array([4 * w, 0]), c0 + a @ np.array([4 * w, 0])
            cv2.line(
                lm,
                tuple(np.round(p0).astype(int)),
                tuple(np.round(p1).astype(int)),
                1.0,
                max(2, int(0.25 * s)),
                cv2.LINE_AA,
            )
        img *= _c3(1 - 0.1 * cv2.GaussianBlur(lm, (0, 0), 2.0))
    return img


def _shift(img: np.ndarray, d: np.ndarray) -> np.ndarray:
    m = np.float32([[1, 0, d[0]], [0, 1, d[1]]])
    return cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REPLICATE)


# --------------------------------------------------------------------------------------------
# Resistor layout
# --------------------------------------------------------------------------------------------


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
    specs: list[ResistorSpec] = []
    pockets: list = []
    margin_img = 6.0
    if kind == "tape":
        sp0 = None
        for _ in range(5):
            sp0 = _sample_resistor(rng, scale, main, board_angle, soldered=False, zoom=zoom, st=st)
            if sp0 is not None:
                break
        if sp0 is None:
            return scale, board_angle, specs, pockets
        pl, pwid = sp0.length * rng.uniform(1.12, 1.3), sp0.width * rng.uniform(1.2, 1.5)
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
            sp.angle = float(np.clip(board_angle + rng.normal(0, 2.5), -MAX_ANGLE_DEG, MAX_ANGLE_DEG))
            jit = _rot(board_angle) @ np.array(
                [rng.uniform(-1, 1) * (pl - sp.length) * 0.3, rng.uniform(-1, 1) * (pwid - sp.width) * 0.3]
            )
            sp.cx, sp.cy = float(cands[idx][0] + jit[0]), float(cands[idx][1] + jit[1])
            bb = _body_box(sp)
            if bb[0] < margin_img or bb[1] < margin_img or bb[2] > w - margin_img or bb[3] > h - margin_img:
                continue
            if not _free(bb, [s.box for s in specs], 4):
                continue
            sp.box = bb
            specs.append(sp)
        return scale, board_angle, specs, pockets
    for _ in range(n_want):
        for _try in range(25):
            pkg = main if rng.random() < 0.65 else allowed[rng.integers(len(allowed))]
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
            if bb[0] < margin_img or bb[1] < margin_img or bb[2] > w - margin_img or bb[3] > h - margin_img:
                continue
            # keep other resistors (with their pads) out of this one's box and vice versa
            ext = _rotated_bbox(sp.angle, sp.length + 2 * sp.pad_ext, sp.width * 1.3, sp.cx, sp.cy)
            if not all(
                _free(ext, [o.box], 4)
                and _free(bb, [_rotated_bbox(o.angle, o.length + 2 * o.pad_ext, o.width * 1.3, o.cx, o.cy)], 4)
                for o in specs
            ):
                continue
            sp.box = bb
            specs.append(sp)
            break
    return scale, board_angle, specs, pockets


# --------------------------------------------------------------------------------------------
# Distractor parts
# --------------------------------------------------------------------------------------------


def _place_distractors(rng: np.random.Generator, sc: Scene, img: np.ndarray, taken: list) -> None:
    """Unlabelled parts: plain chip capacitors and SOT/SOIC packages (often with laser-marked text)."""
    h, w = img.shape[:2]
    s, st = sc.scale, sc.style
    items = ["cap"] * _count(rng, st.caps) + ["ic"] * _count(rng, st.ics)
    for it in items:
        for _try in range(8):
            ang = (
                sc.board_angle + float(rng.choice([0, 90])) + rng.normal(0, 1.5)
                if sc.kind == "pcb"
                else rng.uniform(-90, 90)
            )
            cx, cy = rng.uniform(-0.05, 1.05) * w, rng.uniform(-0.05, 1.05) * h
            if it == "cap":
                _, lmm, wmm = PACKAGES[rng.integers(len(PACKAGES))]
                length = float(np.clip(lmm * s, 120 * sc.res, 700 * sc.res))
                width = length * wmm / lmm * rng.uniform(0.95, 1.1)
                pad_ext = length * rng.uniform(0.08, 0.2) if sc.kind == "pcb" else 0.0
                bb = _rotated_bbox(ang, length + 2 * pad_ext + 40, width * 1.3 + 40, cx, cy)
            else:
                kind = rng.choice(3)
                bl, bw = [(2.9, 1.3), (2.9, 1.6), (4.9, 3.9)][kind]
                pins = [(1, 2), (3, 2), (4, 4)][kind]
                length = float(np.clip(bl * s, 120 * sc.res, 900 * sc.res))
                width = length * bw / bl
                bb = _rotated_bbox(ang, length + 40, width * 1.7 + 40, cx, cy)
            if not _free(bb, sc.forbidden, 4) or not _free(bb, taken, 2):
                continue
            if it == "cap":
                lv = rng.uniform(0.55, 1.0)
                tan = np.array([rng.uniform(165, 195), rng.uniform(125, 145), rng.uniform(85, 105)], np.float32) * lv
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
        if rng.random() < 0.6
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
    v = rng.uniform(110, 170) if rng.random() < 0.7 else rng.uniform(190, 230)
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
        char_h = rng.uniform(18, 40) * zoom
        f = _font(font, max(8, round(char_h / _font_cap_ratio(font))))
        lh = round(char_h * 1.7)
        pad = round(char_h * rng.uniform(0.5, 1.0))
        tw = max(round(f.getlength(t)) for t in lines)
        pw, ph = tw + 2 * pad, lh * len(lines) + 2 * pad - round(0.5 * char_h)
        ang = sc.board_angle + float(rng.normal(0, 4)) + float(rng.choice([0, 90]))
        for _try in range(8):
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
        paper = np.array(
            _pick(rng, ((238, 236, 228), (240, 225, 120), (235, 240, 245), (245, 190, 120))), np.float32
        ) * rng.uniform(0.85, 1.0)
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


# --------------------------------------------------------------------------------------------
# Camera model
# --------------------------------------------------------------------------------------------


def _camera(rng: np.random.Generator, img: np.ndarray, protect: list, st: ResistorStyle = _BASE) -> np.ndarray:
    """Uneven light, colour cast, glare, lens blur, sensor noise and tone curve; float in, uint8 out."""
    h, w = img.shape[:2]
    sh, sw = h // 8, w // 8
    ys, xs = np.mgrid[0:sh, 0:sw].astype(np.float32)
    xs = xs / sw - 0.5
    ys = ys / sh - 0.5
    # uneven light: a gradient, vignetting and a broad soft hot spot
    ang = rng.uniform(0, 2 * math.pi)
    gain = 1 + rng.uniform(*st.light_gradient) * (xs * math.cos(ang) + ys * math.sin(ang))
    gain *= 1 - rng.uniform(*st.vignette) * (xs**2 + ys**2) * 2
    hx, hy = rng.uniform(-0.4, 0.4), rng.uniform(-0.4, 0.4)
    gain += rng.uniform(*st.hot_spot) * np.exp(-((xs - hx) ** 2 + (ys - hy) ** 2) / (2 * rng.uniform(0.1, 0.3) ** 2))
    gain *= rng.uniform(*st.exposure)
    cast = np.array([rng.uniform(*st.colour_cast), 1.0, rng.uniform(*st.colour_cast)], np.float32)
    img *= cv2.resize(_tint(gain, cast), (w, h), interpolation=cv2.INTER_LINEAR)
    # glare: small bright specular spots, kept weak over the markings so they stay readable
    for _ in range(int(_pick(rng, range(len(st.glare_weights)), st.glare_weights))):
        gx, gy = rng.uniform(0, w), rng.uniform(0, h)
        sx, sy = rng.uniform(0.01, 0.06) * w, rng.uniform(0.01, 0.06) * h
        amp = rng.uniform(*st.glare_amp)
        x0, x1 = int(max(0, gx - 3 * sx)), int(min(w, gx + 3 * sx + 1))
        y0, y1 = int(max(0, gy - 3 * sy)), int(min(h, gy + 3 * sy + 1))
        if x1 <= x0 or y1 <= y0:
            continue
        spot = (
            amp
            * np.exp(-((np.arange(y0, y1, dtype=np.float32)[:, None] - gy) ** 2) / (2 * sy**2))
            * np.exp(-((np.arange(x0, x1, dtype=np.float32)[None, :] - gx) ** 2) / (2 * sx**2))
        )
        for b in protect:
            bx0, by0, bx1, by1 = (int(v) for v in b)
            ix0, iy0, ix1, iy1 = max(bx0, x0), max(by0, y0), min(bx1, x1), min(by1, y1)
            if ix1 > ix0 and iy1 > iy0:
                spot[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] *= 0.25
        img[y0:y1, x0:x1] += _c3(spot)
    # optics: gaussian softness, sometimes a little defocus (disk) or motion (line) on top
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(*st.blur_sigma), borderType=cv2.BORDER_REFLECT)
    r = rng.random()
    if r < st.defocus_prob + st.motion_prob:
        if r < st.defocus_prob:  # defocus disk
            rad = rng.uniform(1.0, 2.4)
            n = 2 * math.ceil(rad) + 1
            yy, xx = np.mgrid[0:n, 0:n] - n // 2
            k = np.clip(rad + 0.5 - np.hypot(xx, yy), 0, 1).astype(np.float32)
        else:  # mild motion
            ln = rng.uniform(*st.motion_px)
            n = 2 * math.ceil(ln / 2) + 1
            k = np.zeros((n, n), np.float32)
            ma = rng.uniform(0, math.pi)
            p = np.array([math.cos(ma), math.sin(ma)]) * ln / 2
            c = n // 2
            cv2.line(k, (round(c - p[0]), round(c - p[1])), (round(c + p[0]), round(c + p[1])), 1.0, 1, cv2.LINE_AA)
        img = cv2.filter2D(img, -1, k / k.sum(), borderType=cv2.BORDER_REFLECT)
    # sensor: signal-dependent luminance noise and coarser chroma noise
    read, shot = rng.uniform(*st.read_noise), rng.uniform(*st.shot_noise)
    sd = cv2.sqrt(np.maximum(cv2.extractChannel(img, 1), 0) * np.float32(shot) + np.float32(read**2))
    # demosaicing correlates noise over ~2 px: half-resolution noise upsampled plus a fine part
    coarse = cv2.resize(rng.standard_normal((h // 2, w // 2), dtype=np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    noise = coarse * np.float32(1.1) + _grain(rng, h, w) * np.float32(0.5)
    noise *= sd
    chroma = rng.standard_normal((h // 4, w // 4, 3), dtype=np.float32) * np.float32(rng.uniform(*st.chroma_noise))
    noise3 = cv2.resize(chroma, (w, h), interpolation=cv2.INTER_LINEAR)
    noise3 += _c3(noise)
    img += noise3
    # quantise, then a tone curve through a lookup table
    out = cv2.convertScaleAbs(np.maximum(img, 0, out=img))
    gamma = rng.uniform(*st.gamma)
    lut = np.clip(255.0 * (np.arange(256) / 255.0) ** gamma + 0.5, 0, 255).astype(np.uint8)
    return cv2.LUT(out, lut)


# --------------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------------


@dataclass
class RenderedFrame:
    image: np.ndarray
    annotation: OcrAnnotation
    jpeg_quality: int
    glyph_inks: list = field(default_factory=list)  # debug: (x0, y0, bool mask) per character shape
    family: str = DEFAULT_FAMILY
    negatives: list = field(default_factory=list)  # (kind, box): unlabelled look-alikes drawn in the frame


def _rng(seed: int | Sequence[int] | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _frame_size(rng: np.random.Generator, st: ResistorStyle, width: int, height: int) -> tuple[int, int]:
    """The frame's (w, h): the requested size times the family's frame scale (multiples of 8)."""
    lo, hi = st.frame_scale
    if lo == hi == 1.0:
        return width, height
    f = rng.uniform(lo, hi)
    return 8 * round(width * f / 8), 8 * round(height * f / 8)


def _background(
    rng: np.random.Generator, sc: Scene, h: int, w: int, specs: list[ResistorSpec], pockets: list
) -> np.ndarray:
    """The surface, drawn at half resolution (its features are large), then upsampled."""
    half = Scene(
        kind=sc.kind,
        scale=sc.scale / 2,
        board_angle=sc.board_angle,
        light=sc.light / 2,
        forbidden=[tuple(v / 2 for v in b) for b in sc.forbidden],
        res=0.5 * sc.res,
        style=sc.style,
    )
    h2, w2 = h // 2, w // 2
    if sc.kind == "pcb":
        img2 = _pcb_background(rng, half, h2, w2, [_halved(sp) for sp in specs])
        sc.pad_rgb = half.pad_rgb
    elif sc.kind == "tape":
        img2 = _tape_background(rng, half, h2, w2, [(c / 2, (pl / 2, pwid / 2)) for c, (pl, pwid) in pockets])
    else:
        img2 = _mat_background(rng, half, h2, w2)
    sc.negatives += [(k, tuple(2 * v for v in b)) for k, b in half.negatives]
    img = cv2.resize(img2, (w, h), interpolation=cv2.INTER_LINEAR)
    img *= _c3(1 + rng.uniform(0.02, 0.05) * _grain(rng, h, w))
    return img


def _render(
    rng: np.random.Generator, width: int, height: int, debug: bool = False, family: str = DEFAULT_FAMILY
) -> RenderedFrame:
    st = _style(family)
    w, h = _frame_size(rng, st, width, height)
    kind = str(_pick(rng, st.backgrounds, st.background_weights))
    zoom = width / 1280.0  # sizes are specified for 1280 px wide (base) frames
    for _attempt in range(20):  # a frame always holds at least one resistor
        scale, board_angle, specs, pockets = _layout(rng, kind, h, w, zoom, st)
        if specs:
            break
    else:
        raise RuntimeError(f"could not place a resistor in a {w}x{h} frame")
    la = rng.uniform(0, 2 * math.pi)
    light = np.array([math.cos(la), math.sin(la)]) * rng.uniform(3, 10)
    sc = Scene(kind=kind, scale=scale, board_angle=board_angle, light=light, res=zoom, style=st)
    for sp in specs:
        x0, y0, x1, y1 = sp.box
        m = 0.08 * sp.length
        sc.forbidden.append((x0 - m, y0 - m, x1 + m, y1 + m))
    img = _background(rng, sc, h, w, specs, pockets)
    if kind != "tape":
        _place_distractors(rng, sc, img, taken=[])
    _place_labels(rng, sc, img, zoom)
    ann = OcrAnnotation(image_path="", width=w, height=h)
    inks: list = []
    protect = [_draw_resistor(rng, sc, img, sp, k, ann, inks if debug else None) for k, sp in enumerate(specs)]
    image = _camera(rng, img, protect, st)
    quality = int(rng.integers(int(st.jpeg_quality[0]), int(st.jpeg_quality[1]) + 1))
    return RenderedFrame(
        image=image, annotation=ann, jpeg_quality=quality, glyph_inks=inks, family=family, negatives=sc.negatives
    )


def _draw_resistor(
    rng: np.random.Generator,
    sc: Scene,
    img: np.ndarray,
    sp: ResistorSpec,
    k: int,
    ann: OcrAnnotation,
    inks: list | None,
) -> tuple[float, float, float, float]:
    """Draw one labelled resistor and append its ROI and character shapes to ``ann``; returns the ROI box."""
    st, (h, w) = sc.style, img.shape[:2]
    glyphs = _render_glyphs(sp.text, sp.font, sp.char_h, sp.hscale, sp.tracking)
    body_rgb = np.array(_pick(rng, st.body_colours), np.float32) * rng.uniform(*st.body_brightness)
    body_rgb += rng.uniform(-3, 3, 3).astype(np.float32)
    ink_rgb = np.clip(np.array(_pick(rng, st.ink_colours), np.float32) * rng.uniform(*st.ink_brightness), 0, 255)
    ceramic = rng.uniform(0, 0.05) * sp.width if rng.random() < 0.6 else 0.0
    patch = _chip_patch(
        rng,
        sp.length,
        sp.width,
        sp.cap_frac,
        np.maximum(body_rgb, 4),
        sp.pad_ext,
        sc.pad_rgb if sc.kind == "pcb" else None,
        ceramic,
        sc.light,
        sp.angle,
    )
    ph, pw = patch.top.shape[:2]
    bx0, by0, bx1, by1 = patch.body
    _n, gh, gw = glyphs.shape
    cap_w = sp.cap_frac * sp.length
    # the text block sits inside the overcoat, centred with a little printing offset
    free_x = (bx1 - bx0 - 2 * cap_w) - gw
    free_y = (by1 - by0 - 2 * ceramic) - gh
    ox = round(bx0 + cap_w + free_x / 2 + rng.uniform(-0.25, 0.25) * max(free_x, 0))
    oy = round(by0 + ceramic + free_y / 2 + rng.uniform(-0.2, 0.2) * max(free_y, 0))
    _with_text(rng, patch, glyphs, ox, oy, ink_rgb)
    a, t = _xform(sp.angle, pw, ph, sp.cx, sp.cy)
    _composite(img, patch, a, t, 0.55)
    # ROI: the rotated body incl. end caps
    corners = _apply(a, t, np.array([[bx0, by0], [bx1, by0], [bx1, by1], [bx0, by1]], np.float64))
    roi = _clip_box((*corners.min(axis=0), *corners.max(axis=0)), w, h)
    ann.shapes.append(Shape(ROI_LABEL, *roi, group_id=k, text=sp.text))
    e = 0.5 * (abs(a[0, 0]) + abs(a[0, 1]))  # half extent of a rotated ink pixel
    for i, ch in enumerate(sp.text):
        ys, xs = np.nonzero(glyphs[i] > 0.5)
        q = _apply(a, t, np.stack([xs + ox + 0.5, ys + oy + 0.5], axis=1).astype(np.float64))
        cb = _clip_box((q[:, 0].min() - e, q[:, 1].min() - e, q[:, 0].max() + e, q[:, 1].max() + e), w, h)
        ann.shapes.append(Shape(ch, *cb, group_id=k))
        if inks is not None:  # the glyph's alpha warped onto the frame by the same path as the pixels
            full = np.zeros((ph, pw), np.float32)
            full[oy : oy + gh, ox : ox + gw] = glyphs[i]
            (gx0, gy0, gx1, gy1), m = _warp_region((h, w), a, t, pw, ph)
            inks.append((gx0, gy0, _warp(full, m, (gx1 - gx0, gy1 - gy0)) > 0.5))
    return roi


def _with_text(
    rng: np.random.Generator, patch: Patch, glyphs: np.ndarray, ox: int, oy: int, ink_rgb: np.ndarray
) -> Patch:
    """Print the glyphs (their block's top-left at patch pixel (ox, oy)) onto the body of ``patch``."""
    _n, gh, gw = glyphs.shape
    ink = glyphs.max(axis=0)
    ink *= rng.uniform(0.8, 1.0) * np.clip(
        1 - rng.uniform(0.05, 0.3) * np.abs(_smooth(rng, gh, gw, rng.uniform(2, 8))), 0, 1
    )
    ink = cv2.GaussianBlur(ink, (0, 0), rng.uniform(0.35, 0.9))
    ink_col = _tint(1 + 0.04 * _grain(rng, gh, gw), ink_rgb)
    region = patch.top[oy : oy + gh, ox : ox + gw]
    ink3 = _c3(ink)
    region[..., :3] = region[..., :3] * (1 - ink3) + ink_col * ink3 * _c3(region[..., 3])
    return patch


def _halved(sp: ResistorSpec) -> ResistorSpec:
    return ResistorSpec(
        sp.length / 2,
        sp.width / 2,
        sp.angle,
        sp.text,
        sp.font,
        sp.char_h / 2,
        sp.hscale,
        sp.tracking,
        sp.cap_frac,
        sp.pad_ext / 2,
        sp.cx / 2,
        sp.cy / 2,
        tuple(v / 2 for v in sp.box),
    )


def _clip_box(b, w: int, h: int) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = b
    return (
        round(float(np.clip(x0, 0, w)), 2),
        round(float(np.clip(y0, 0, h)), 2),
        round(float(np.clip(x1, 0, w)), 2),
        round(float(np.clip(y1, 0, h)), 2),
    )


def render_resistor_frame(
    seed: int | Sequence[int], width: int = 1280, height: int = 960, family: str = DEFAULT_FAMILY
) -> tuple[np.ndarray, OcrAnnotation]:
    """One synthetic frame of ``family``: RGB uint8 and its annotation (``image_path`` empty).

    The frame is (height, width) times the family's frame scale (``wide_view`` frames are larger);
    the annotation is in the frame's own pixel coordinates.
    """
    fr = _render(_rng(seed), width, height, family=family)
    return fr.image, fr.annotation


def render_resistor_frame_debug(
    seed: int | Sequence[int], width: int = 1280, height: int = 960, family: str = DEFAULT_FAMILY
) -> RenderedFrame:
    """Like ``render_resistor_frame`` (same pixels) plus, per character shape, its ink mask in frame
    coordinates as ``(x0, y0, mask)``: the glyph's alpha warped onto the frame, thresholded at 0.5;
    and the boxes of the unlabelled hard negatives (``negatives``)."""
    return _render(_rng(seed), width, height, debug=True, family=family)


# --------------------------------------------------------------------------------------------
# Dataset
# --------------------------------------------------------------------------------------------


def _write_one(job: tuple[str, int, int, int, int, str]) -> str:
    out_dir, seed, i, width, height, family = job
    fr = _render(np.random.default_rng([seed, i]), width, height, family=family)
    name = f"res_{i:06d}"
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(fr.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, fr.jpeg_quality]
    )
    if not ok:
        raise RuntimeError(f"{name}: JPEG encoding failed")
    out = Path(out_dir)
    atomic_write_bytes(out / f"{name}.jpg", buf.tobytes())
    fr.annotation.image_path = f"{name}.jpg"
    write_labelme(fr.annotation, out / f"{name}.json")
    return name


#: Below this many frames a cluster's start-up costs more than it saves (docs/operations.md#fan-out-on-dask).
MIN_FANOUT_FRAMES = 60


def generate_resistor_dataset(
    out_dir: Path,
    num_frames: int,
    seed: int,
    workers: int = 2,
    width: int = 1280,
    height: int = 960,
    progress: bool = True,
    families: Sequence[str] | None = None,
    client: ClientSource | None = None,
) -> list[str]:
    """Write ``res_{i:06d}.jpg`` + ``.json`` for i < num_frames and ``families.csv`` into ``out_dir``;
    returns the names.

    Frame i draws from ``default_rng([seed, i])`` only and shows family ``families[i % len(families)]``
    (``None``: ``DEFAULT_TRAIN_FAMILIES``), so the files do not depend on ``workers`` or ``client``
    (``components.fanout``: a Dask cluster to render on; fewer than :data:`MIN_FANOUT_FRAMES` frames are
    rendered in this process). Unknown family names raise ``ValueError`` before anything is written.
    """
    names = resolve_families(families)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [
        (str(out_dir), int(seed), i, int(width), int(height), names[i % len(names)]) for i in range(int(num_frames))
    ]
    done = list(
        map_ordered(
            _write_one,
            jobs,
            workers,
            client=client,
            min_jobs=MIN_FANOUT_FRAMES,
            desc="synth resistors",
            unit="frame",
            progress=progress,
        )
    )
    write_families(out_dir, [(name, job[-1]) for name, job in zip(done, jobs)])
    return done


# --------------------------------------------------------------------------------------------
# Contact sheets
# --------------------------------------------------------------------------------------------


def draw_annotation(image: np.ndarray, ann: OcrAnnotation, scale: float = 1.0) -> np.ndarray:
    """A copy of ``image`` with ROI boxes (green), character boxes (red) and the ROI text; ``scale``
    thickens lines and text (for thumbnails)."""
    out = image.copy()
    t_roi, t_chr = max(1, round(3 * scale)), max(1, round(2 * scale))
    for s in ann.shapes:
        p0 = (round(s.x1), round(s.y1))
        p1 = (round(s.x2), round(s.y2))
        if s.is_roi:
            cv2.rectangle(out, p0, p1, (0, 255, 0), t_roi)
            cv2.putText(
                out,
                s.text or "",
                (p0[0], max(round(30 * scale), p0[1] - round(10 * scale))),
                cv2.FONT_HERSHEY_SIMPLEX,
                1.5 * scale,
                (0, 255, 0),
                max(1, round(4 * scale)),
                cv2.LINE_AA,
            )
        else:
            cv2.rectangle(out, p0, p1, (255, 0, 0), t_chr)
    return out


def family_sheet(frames: Sequence[tuple[str, list[np.ndarray]]], thumb_width: int = 300) -> np.ndarray:
    """One row per family: its name on a band, then its frames side by side (RGB uint8)."""
    from components.data.contact_sheet import contact_sheet

    rows = []
    for name, images in frames:
        row = contact_sheet(list(images), cols=len(images), thumb_width=thumb_width)
        band = np.full((30, row.shape[1], 3), 255, np.uint8)
        tag = f"{name} (held out)" if name in DEFAULT_OOD_FAMILIES else name
        cv2.putText(band, tag, (6, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 2, cv2.LINE_AA)
        rows.append(np.vstack([band, row]))
    return np.vstack(rows)


def _save_small_png(image: np.ndarray, path: Path, max_bytes: int = 2_000_000) -> None:
    """PNG under ``max_bytes``: full colour when it fits, else a 256-colour palette (dithered)."""
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", optimize=True)
    if buf.tell() > max_bytes:
        buf = io.BytesIO()
        Image.fromarray(image).quantize(colors=256).save(buf, format="PNG", optimize=True)
    atomic_write_bytes(path, buf.getvalue())


def main(per_family: int = 4) -> None:
    """Contact sheets of every family (plain and annotated) under ``docs/synth/``, and ms per frame."""
    import time

    rendered = []
    for j, name in enumerate(FAMILIES):
        t0 = time.perf_counter()
        frames = [render_resistor_frame([0, 100 * j + i], family=name) for i in range(per_family)]
        ms = (time.perf_counter() - t0) * 1000 / per_family
        print(f"{name:14s} {ms:6.0f} ms/frame  {frames[0][0].shape[1]}x{frames[0][0].shape[0]}")
        rendered.append((name, frames))
    out = Path(__file__).resolve().parents[2] / "docs" / "synth"
    out.mkdir(parents=True, exist_ok=True)
    _save_small_png(family_sheet([(n, [f[0] for f in fs]) for n, fs in rendered]), out / "resistor_families.png")
    _save_small_png(
        family_sheet([(n, [draw_annotation(*f, scale=f[0].shape[1] / 900) for f in fs]) for n, fs in rendered]),
        out / "resistor_families_annotated.png",
    )
    print(f"wrote {out / 'resistor_families.png'} and {out / 'resistor_families_annotated.png'}")


if __name__ == "__main__":
    main()
