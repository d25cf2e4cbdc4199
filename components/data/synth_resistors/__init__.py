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

The package follows the order a frame is drawn in: :mod:`.styles` (the family presets), :mod:`.fonts`
and :mod:`.markings` (what is printed), :mod:`.raster` (drawing primitives), :mod:`.parts`,
:mod:`.scene`, :mod:`.pcb` and :mod:`.surfaces` (what lies under the parts), :mod:`.layout`,
:mod:`.distractors`, :mod:`.camera`, :mod:`.frames` (one frame), :mod:`.dataset` (files on disk) and
:mod:`.sheets` (contact sheets). This module re-exports the public names.
"""

from __future__ import annotations

from components.data.synth_resistors.dataset import generate_resistor_dataset
from components.data.synth_resistors.fonts import HELD_OUT_FONTS, MARKING_FONTS, TRAIN_FONTS
from components.data.synth_resistors.frames import RenderedFrame, render_resistor_frame, render_resistor_frame_debug
from components.data.synth_resistors.markings import E24, E96, EIA96_LETTERS
from components.data.synth_resistors.sheets import draw_annotation, family_sheet
from components.data.synth_resistors.styles import (
    DEFAULT_FAMILY,
    DEFAULT_OOD_FAMILIES,
    DEFAULT_TRAIN_FAMILIES,
    FAMILIES,
    MAX_ANGLE_DEG,
    MAX_BODY_PX,
    MAX_CHAR_PX,
    MIN_BODY_PX,
    MIN_CHAR_PX,
    PACKAGES,
    ResistorStyle,
    resolve_families,
)

__all__ = [
    "DEFAULT_FAMILY",
    "DEFAULT_OOD_FAMILIES",
    "DEFAULT_TRAIN_FAMILIES",
    "E24",
    "E96",
    "EIA96_LETTERS",
    "FAMILIES",
    "HELD_OUT_FONTS",
    "MARKING_FONTS",
    "MAX_ANGLE_DEG",
    "MAX_BODY_PX",
    "MAX_CHAR_PX",
    "MIN_BODY_PX",
    "MIN_CHAR_PX",
    "PACKAGES",
    "RenderedFrame",
    "ResistorStyle",
    "TRAIN_FONTS",
    "draw_annotation",
    "family_sheet",
    "generate_resistor_dataset",
    "render_resistor_frame",
    "render_resistor_frame_debug",
    "resolve_families",
]
