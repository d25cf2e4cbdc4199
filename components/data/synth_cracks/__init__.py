"""Deterministic synthetic road-surface camera frames with cracks, in named style families
(docs/architecture.md#synthetic-data).

Every frame is rendered from its own ``numpy.random.Generator``; frame ``i`` of a dataset uses
``np.random.default_rng([seed, i])`` and family ``families[i % len(families)]``, so the output does
not depend on the number of workers.

A frame is built like a photo of a road surface seen from above:

* **surface** - asphalt: dark binder with fine grain and pits, aggregate stones of several sizes
  (grey-level and tint per stone, irregular shapes, relief shading), large-scale mottling; fresh
  (dark, low contrast) to worn (lighter, stones exposed). Or concrete: light cement paste with sand
  speckle, air voids, faint broom striations, mottling, straight sawn joints between slabs;
* **cracks** (annotated) - longitudinal, transverse, diagonal and meandering cracks drawn along random
  walks with smooth direction drift and stone-scale zig-zag, with branches forking off; alligator
  (fatigue) cracking as a network of polygon cells; width varying along the crack, darkness
  varying, ragged edges;
* **distractors** (never annotated) - lane paint (white/yellow, dashed, worn), tyre marks, oil
  stains, sealed joints (straight, wide, smooth sealant), asphalt patches, manhole covers, shadows
  (poles, trees, vehicles), wetness (darker saturated surface, puddles, specular sheen);
* **camera** - light ramp, colour of the light and vignetting, exposure and gamma, blur, motion
  blur, sensor noise, JPEG compression.

The annotation is the list of crack centre lines, exactly the polylines the cracks were drawn
along (clipped to the image, cut around manhole covers), one point every ~3 px.

**Style families.** A family is a named :class:`CrackStyle` preset: the probabilities and ranges of
everything above (surface kind and tone, crack width / darkness / branching / alligator share /
crack-free share, each distractor's probability, lighting, blur, noise, JPEG quality, frame scale).
Models trained on one style fail on frames from another, so training draws from several families
and some are held out entirely as an out-of-distribution (OOD) test set. ``FAMILIES``:

* ``default`` - the original mixed look (renders exactly as before families existed);
* ``fresh_asphalt`` - new dark binder, few narrow cracks, little fatigue cracking;
* ``worn_asphalt`` - grey, stones exposed, wide branched cracks, much alligator cracking, patches;
* ``concrete`` - light grey slabs with sawn joints, thinner cracks, no alligator cracking;
* ``sealed_joints_heavy`` - repaired road: many wide sealed joints and patches (crack look-alikes);
* ``painted_lanes`` - lane and road markings, often two, and tyre marks;
* ``shadowed`` - low sun: one or two hard deep shadows, strong light ramp, warm light;
* ``night_flash`` - night with a camera flash: dark, heavy vignetting, strong noise, lifted gamma;
* ``wet`` - after rain: darker saturated surface, puddles with sky sheen, water-filled cracks;
* ``phone_jpeg`` - hand-held phone: motion blur 3-9 px, JPEG quality 12-35, softer, noisier;
* ``hi_res`` - a high-resolution camera: the frame is 2.5x the requested size (960x720 for the
  384x288 base) with thin 1.5-3.5 px cracks; the pipeline resizes it to the model input.

``DEFAULT_TRAIN_FAMILIES`` are the asphalt families under daylight, wet and hi_res;
``DEFAULT_OOD_FAMILIES`` are ``concrete`` (another surface material), ``night_flash`` (another
illumination: flash, dark, noisy) and ``phone_jpeg`` (another camera: motion blur and compression).
Each differs *in kind* from everything in training, yet stays within what photometric, blur and
compression augmentation could bridge, so the OOD score measures generalisation rather than an
impossible task. ``hi_res`` is in training: real cameras differ in resolution and the pipeline
always resizes, so thin, downscaled cracks are a case the model must learn, not a style to test
transfer on (and holding it out would mostly measure the resize).

The package follows the order a frame is drawn in: :mod:`.styles` (the family presets), :mod:`.noise`
(fields every layer uses), :mod:`.surfaces`, :mod:`.distractors`, :mod:`.cracks` and
:mod:`.clipping` (the annotated centre lines), :mod:`.camera`, :mod:`.frames` (one frame),
:mod:`.dataset` (files on disk) and :mod:`.sheets` (contact sheets). This module re-exports the
public names.
"""

from __future__ import annotations

from components.data.synth_cracks.dataset import generate_crack_dataset
from components.data.synth_cracks.frames import render_crack_frame
from components.data.synth_cracks.sheets import family_sheets, overlay_mask
from components.data.synth_cracks.styles import (
    BASE_HEIGHT,
    BASE_WIDTH,
    CRACK_FREE_PROB,
    DEFAULT_FAMILY,
    DEFAULT_OOD_FAMILIES,
    DEFAULT_TRAIN_FAMILIES,
    FAMILIES,
    MAX_CRACK_WIDTH,
    MIN_CRACK_WIDTH,
    CrackStyle,
    check_families,
    get_style,
)

__all__ = [
    "BASE_HEIGHT",
    "BASE_WIDTH",
    "CRACK_FREE_PROB",
    "CrackStyle",
    "DEFAULT_FAMILY",
    "DEFAULT_OOD_FAMILIES",
    "DEFAULT_TRAIN_FAMILIES",
    "FAMILIES",
    "MAX_CRACK_WIDTH",
    "MIN_CRACK_WIDTH",
    "check_families",
    "family_sheets",
    "generate_crack_dataset",
    "get_style",
    "overlay_mask",
    "render_crack_frame",
]
