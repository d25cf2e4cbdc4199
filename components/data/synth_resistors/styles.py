"""Style families of the resistor generator: one frozen :class:`ResistorStyle` preset per name.

A family fixes what an inspection camera in a factory varies (surface, fonts, colours, counts and
sizes of parts, light, blur, noise, JPEG quality); every random draw of a frame reads its ranges and
probabilities from here, so a new look is a new preset, not a code change. Chip package sizes and
the pixel limits the frame scale is chosen from live here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from components.data.synth_resistors.fonts import HELD_OUT_FONTS, TRAIN_FONTS

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
