"""Parameters of the two-stage resistor OCR (``ocr:`` in params.yaml).

Each stage reads only its own sub-model, so DVC can declare ``ocr.roi`` for ``train_roi``,
``ocr.char`` for ``train_ocr`` and ``ocr.eval`` for ``evaluate_ocr``: changing the evaluation
threshold does not retrain anything.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from components.schema import Size, Strict


def _roi_threshold(value):
    """``auto`` (the threshold train_roi chose on val by F1, components.ocr.threshold) or a fixed
    number in [0, 1); checked here so a typo fails with one clear message, not a union's two."""
    if value == "auto":
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"roi_score_threshold must be auto or a number in [0, 1), not {value!r}")
    return float(value)


# a stage-1 score threshold: a fixed number, or auto = resolved from metrics/train_roi.json
RoiThreshold = Annotated[float | Literal["auto"], BeforeValidator(_roi_threshold)]


class Detector(Strict):
    """What both SSD stages share: backbone width, schedule, checkpointing."""

    width_mult: float = Field(gt=0, le=2)  # MobileNetV2 width multiplier
    epochs: int = Field(gt=0)
    batch_size: int = Field(gt=0)
    lr: float = Field(gt=0)  # peak learning rate of the schedule
    lr_schedule: Literal["onecycle", "cosine", "constant"]
    warmup_frac: float = Field(ge=0, lt=1)  # share of steps spent warming up (onecycle)
    weight_decay: float = Field(ge=0)
    save_cycle: int = Field(gt=0)  # checkpoint every N epochs (and on Ctrl-C) for resume
    score_threshold: float = Field(ge=0, lt=1)  # detections kept by the model (before reading)
    nms_iou: float = Field(gt=0, le=1)
    max_train_frames: int = Field(ge=0)  # 0 = all; smaller for quick experiments and tests
    # photometric augmentation beyond the generator (components.ocr.transforms.Photometric; 0 = off)
    low_light_prob: float = Field(0.0, ge=0, le=1)  # share of augmented images under-exposed with gain noise
    color_swap_prob: float = Field(0.0, ge=0, le=1)  # share of augmented images with RGB channels permuted
    # trunk start of a fresh training: none (random) | imagenet (torchvision's cached file; width_mult 1.0 only)
    # | path to a torchvision mobilenet_v2 state dict of the same width (components.ocr.model.load_pretrained)
    pretrained: str = Field("none", min_length=1)
    # input scaling: fixed ((x - 0.5) / 0.25, every image alike) | per_image (each image to zero mean and
    # unit spread over its pixels, components.ocr.model.standardize): a dim or flat image reaches the
    # trunk with the contrast of a well-lit one
    input_norm: Literal["fixed", "per_image"] = "fixed"


class RoiParams(Detector):
    input_size: Size  # [width, height] of the downsampled frame (frame / 4)
    # share of labelled bodies whose dark grey pixels get a random colour (transforms.BodyTint; 0 = off)
    body_tint_prob: float = Field(0.0, ge=0, le=1)
    # share of frames seen closer or farther (transforms.RandomZoom; 0 = off), by a factor in zoom = [lo, hi]
    zoom_prob: float = Field(0.0, ge=0, le=1)
    zoom: Annotated[tuple[float, float], Field(strict=False)] = (1.0, 1.0)
    # default-box sizes as fractions of the input: [stride-8 map, stride-16 map, upper bound]
    # (components.ocr.model.roi_spec); the first sets the smallest bodies that get a well-matched box,
    # the last the largest (docs/ocr.md: 0.16, 0.32, 0.55 left a fifth of wide_view and macro_closeup unmatched)
    anchor_scales: Annotated[tuple[float, float, float], Field(strict=False)] = (0.12, 0.3, 0.8)

    @model_validator(mode="after")
    def _zoom_range(self):
        lo, hi = self.zoom
        if not 0.1 <= lo <= 1.0 <= hi <= 4.0:
            raise ValueError(f"ocr.roi.zoom: [{lo}, {hi}]: expected 0.1 <= lo <= 1 <= hi <= 4")
        return self

    @model_validator(mode="after")
    def _anchor_order(self):
        a = self.anchor_scales
        if not 0 < a[0] < a[1] < a[2] <= 1:
            raise ValueError(f"ocr.roi.anchor_scales: {list(a)}: expected 0 < first < second < bound <= 1")
        return self


class CharParams(Detector):
    crop: Literal["square", "upright"]  # square: letterboxed crop_size^2 | upright: strip turned upright
    crop_size: int = Field(gt=31)  # crops are letterboxed into crop_size x crop_size (crop: square)
    strip_size: Size  # [w, h] of the upright strip (crop: upright)
    strip_rotation_deg: float = Field(ge=0, le=90)  # upright: random rotation +-deg (the angle error left to stage 2)
    crop_margin: float = Field(ge=0, le=1)  # ROI box grown by this share of its size on each side
    roi_score_threshold: RoiThreshold  # stage-1 boxes kept as training crops
    gt_roi_crops: bool  # also train on crops of the ground-truth ROIs
    balance_classes: bool  # sample crops with rare characters more often
    rotation_deg: float = Field(ge=0, le=90)  # random rotation of square training crops, +-deg ("angle50")
    rotation_prob: float = Field(ge=0, le=1)
    photometric_prob: float = Field(ge=0, le=1)
    # glyph shapes beyond the generator's fonts (components.ocr.transforms.GlyphShape; 0 = off)
    glyph_shear: float = Field(0.0, ge=0, le=0.6)  # largest horizontal shear |dx/dy| (slanted faces)
    stroke_prob: float = Field(0.0, ge=0, le=1)  # share of crops with strokes made bolder or lighter


class EvalParams(Strict):
    roi_score_threshold: RoiThreshold
    char_score_threshold: float = Field(ge=0, lt=1)  # characters read into the string
    dedupe_iou: float = Field(gt=0, le=1)  # overlapping characters of any class: keep the best
    # a ROI where stage 2 reads no character is reported only from this stage-1 score on; auto = train_roi's
    # F1 choice on val; 0 = always reported
    unreadable_roi_threshold: RoiThreshold = 0.0
    # likewise a ROI whose characters form no valid marking (status invalid); 0 = always reported
    invalid_roi_threshold: RoiThreshold = 0.0
    # a ROI whose glyphs fill less than this share of the strip's height is read again from a closer strip
    # (components.ocr.pipeline.zoom_maps; upright strips only); 0 = one pass
    zoom_glyph_height: float = Field(0.0, ge=0, lt=1)
    zoom_max: float = Field(2.5, ge=1)  # the closer strip magnifies at most this much
    # a reported ROI with no valid marking is read again from its strip turned a quarter, kept when that
    # reads one (components.ocr.pipeline.read_turned; upright strips only)
    turned_read: bool = False
    max_frames: int = Field(ge=0)  # 0 = the whole test split
    latency_warmup: int = Field(ge=0)
    latency_runs: int = Field(gt=0)
    latency_threads: int = Field(gt=0)
    overlays: int = Field(ge=0)  # overlay PNGs logged to MLflow


class OcrParams(Strict):
    device: Literal["auto", "cpu", "cuda"]  # auto = CUDA when present
    seed: int
    threads: int = Field(ge=0)  # torch CPU threads for training; 0 = torch default
    roi: RoiParams
    char: CharParams
    eval: EvalParams
