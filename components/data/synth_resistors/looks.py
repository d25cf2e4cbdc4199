"""The fixed look of the resistor generator: probabilities and sizes every style family shares.

:mod:`.styles` holds what a *family* varies (one :class:`~.styles.ResistorStyle` per name); this module
holds the rest of the numbers the drawing code draws from, one frozen preset per part of the frame,
so they are named and found in one place instead of being literals inside long functions.

Conventions: ``(lo, hi)`` pairs are uniform ranges; ``*_mm`` sizes are in millimetres (times the
frame's px/mm scale); ``*_px`` pairs clip a size to pixel limits at the base frame width (times the
drawing resolution); counts drawn with ``rng.integers(lo, hi)`` exclude ``hi``. Changing a value
changes every dataset generated afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

Range = tuple[float, float]
RGB = tuple[float, float, float]


@dataclass(frozen=True)
class PcbLook:
    """The PCB surface (:mod:`.pcb`): solder mask over copper, exposed metal, silkscreen."""

    # solder mask: a mottled colour; copper under it shows as lighter, warmer mask
    mottle: float = 0.025  # amplitude of the large-scale mask mottling
    mottle_cells_px: Range = (60, 12)  # fbm cell sizes of the mottling
    mottle_weights: Range = (1.0, 0.6)
    mask_grain: float = 0.03
    pour_prob: float = 0.35  # a copper pour (a large filled area) under the mask
    pour_size: Range = (0.4, 1.2)  # pour side, times the frame side
    traces: tuple[int, int] = (3, 12)  # number of traces (hi excluded)
    trace_width_mm: Range = (0.12, 0.5)
    trace_width_px: Range = (5, 80)
    trace_directions: tuple[int, ...] = (0, 2, 4, 6, 1, 3)  # start direction in 45-degree steps
    trace_direction_weights: tuple[float, ...] = (0.25, 0.25, 0.2, 0.2, 0.05, 0.05)
    trace_segments: tuple[int, int] = (2, 6)  # straight runs per trace (hi excluded)
    segment_length: Range = (0.1, 0.5)  # times the frame diagonal
    trace_turns: tuple[int, ...] = (-2, -1, 1, 2)  # direction change between runs, in 45-degree steps
    copper_blur_px: Range = (1.0, 3.0)
    copper_gain: Range = (1.18, 1.45)  # brightness of mask over copper
    copper_gain_black: Range = (1.05, 1.15)  # ... on black mask, where copper hardly shows
    copper_warm: RGB = (1.04, 1.0, 0.92)
    # exposed metal: empty footprints and test pads, solder domes, vias
    gold_prob: float = 0.35  # gold (ENIG) finish, else tin
    gold_rgb: RGB = (205, 168, 92)
    tin_rgb: RGB = (180, 180, 176)
    pad_brightness: Range = (0.85, 1.1)
    pad_length_mm: Range = (0.3, 1.2)
    pad_length_px: Range = (20, 260)
    pad_width_mm: Range = (0.3, 1.0)
    pad_width_px: Range = (20, 220)
    pad_spacing: Range = (1.0, 2.5)  # centre distance of a pad pair, times the pad length
    solder_dome_prob: float = 0.15
    pad_pair_prob: float = 0.7  # a footprint of two pads, else a single test pad
    pad_margin_px: float = 6
    via_radius_mm: Range = (0.15, 0.35)
    via_radius_px: Range = (7, 70)
    via_margin_px: float = 4
    tented_prob: float = 0.5  # a via covered by mask (a bump), else bare metal with a hole
    # silkscreen: lines, outlines around the resistors, designators and other text
    silk_white_prob: float = 0.85
    silk_white: RGB = (235, 235, 228)
    silk_yellow: RGB = (230, 215, 120)
    silk_line_mm: float = 0.12
    silk_line_px: Range = (3, 22)
    silk_line_length: Range = (0.1, 0.4)  # times the frame diagonal
    outline_prob: float = 0.55  # a resistor gets a silkscreen outline
    outline_margin: Range = (0.2, 0.6)  # beyond the pads, times the body width
    outline_height: Range = (1.5, 1.9)  # times the body width
    silk_text_mm: Range = (0.5, 1.1)
    silk_text_px: Range = (24, 120)
    silk_text_angles: tuple[float, ...] = (0, 90, -90)  # relative to the board
    silk_text_angle_weights: tuple[float, ...] = (0.6, 0.25, 0.15)
    silk_text_tries: int = 6  # positions tried before a text is dropped
    silk_text_margin_px: float = 8
    worn_print_prob: float = 0.5  # worn, dotty print
    silk_opacity: Range = (0.8, 0.97)


@dataclass(frozen=True)
class LayoutLook:
    """Placing the labelled resistors (:mod:`.layout`)."""

    main_package_prob: float = 0.65  # a loose resistor has the frame's main package, else another that fits
    place_tries: int = 25  # positions tried per loose resistor before it is dropped
    frame_margin_px: float = 6.0  # a resistor body keeps this far from the frame edge
    gap_px: float = 4  # between resistor boxes (with their pads)
    pocket_length: Range = (1.12, 1.3)  # tape pocket size, times the body length
    pocket_width: Range = (1.2, 1.5)  # ... times the body width
    tape_angle_sd: float = 2.5  # degrees a part turns in its pocket


@dataclass(frozen=True)
class TapeLook:
    """Carrier tape (:mod:`.surfaces`): EIA-481 8 mm paper or embossed plastic tape."""

    paper_grey: Range = (195, 230)
    paper_tint: RGB = (1.0, 0.97, 0.9)
    paper_pocket_shade: Range = (0.35, 0.55)  # pocket colour, times the paper colour
    plastic_grey: Range = (35, 65)
    plastic_pocket_shade: float = 0.7
    width_mm: float = 8.0
    pocket_line_offset: Range = (-0.1, 0.3)  # of the pocket line from the tape centre, times the width
    machine_grey: Range = (20, 70)  # the surface beside the tape
    hole_pitch_mm: float = 4.0  # sprocket holes: 1.5 mm diameter, 4 mm pitch, 3.5 mm from the pocket line
    hole_offset_mm: float = 3.5
    hole_radius_mm: float = 0.75
    cover_tape_prob: float = 0.7  # a transparent cover tape, seen by its two sealing lines
    seal_offset_mm: Range = (1.6, 2.6)
    seal_width_mm: float = 0.25


@dataclass(frozen=True)
class DistractorLook:
    """Unlabelled parts (:mod:`.distractors`): plain chip capacitors and SOT/SOIC packages."""

    place_tries: int = 8  # positions tried per part before it is dropped
    board_turn_sd: float = 1.5  # degrees a part on a board turns from the board axes
    cap_length_px: Range = (120, 700)
    cap_width_jitter: Range = (0.95, 1.1)  # times the package's width/length ratio
    cap_pad_ext: Range = (0.08, 0.2)  # pad beyond each end on a board, times the length
    cap_rgb: tuple[Range, Range, Range] = ((165, 195), (125, 145), (85, 105))  # tan ceramic, per channel
    cap_brightness: Range = (0.55, 1.0)
    # (body length mm, body width mm, (pins on one side, pins on the other)): SOT-23, SOT-23-5, SOIC-8
    ic_packages: tuple[tuple[float, float, tuple[int, int]], ...] = (
        (2.9, 1.3, (1, 2)),
        (2.9, 1.6, (3, 2)),
        (4.9, 3.9, (4, 4)),
    )
    ic_length_px: Range = (120, 900)
    ic_code_prob: float = 0.6  # a real part code, else random characters
    laser_mark_prob: float = 0.7  # laser-marked (grey) text, else printed (white)
    laser_grey: Range = (110, 170)
    print_grey: Range = (190, 230)


@dataclass(frozen=True)
class LabelLook:
    """Printed stickers with text (:mod:`.distractors`)."""

    char_px: Range = (18, 40)  # cap height of the text
    line_spacing: float = 1.7  # times the cap height
    place_tries: int = 8
    paper_rgb: tuple[RGB, ...] = ((238, 236, 228), (240, 225, 120), (235, 240, 245), (245, 190, 120))
    paper_brightness: Range = (0.85, 1.0)


PCB = PcbLook()
LAYOUT = LayoutLook()
TAPE = TapeLook()
DISTRACTORS = DistractorLook()
LABEL = LabelLook()
