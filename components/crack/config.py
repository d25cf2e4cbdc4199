"""Parameters of the road-crack segmenter (``crack:`` in params.yaml).

Split by stage so that DVC reruns only what a change touches: ``model`` and ``train`` feed the
float training (``train_crack``), ``qat`` only the quantization-aware fine-tuning (``qat_crack``),
``eval`` only the evaluation (``evaluate_crack``), ``postprocess`` the evaluation and the export
(the deployed runtime applies it).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.schema import Size, Strict, check_within


class CrackModel(Strict):
    input_size: Size  # [width, height], multiples of 32; frames of another size are resized
    alpha: float = Field(gt=0, le=1.4)  # MobileNetV2 width multiplier
    decoder_filters: list[int] = Field(min_length=4, max_length=4)  # strides 16, 8, 4, 2
    decoder_convs: int = Field(ge=1, le=4)  # 3x3 conv-BN-ReLU blocks per decoder level
    decoder_block: Literal["conv", "separable"]  # plain 3x3 conv or depthwise-separable
    bottleneck: Literal["project", "out_relu"]  # stride-32 features: block_16_project or the 1280-ch out_relu
    # encoder start of a fresh float training: none (random) | imagenet (Keras' no-top file, local cache only)
    # | path to a MobileNetV2 no-top .h5 of the same alpha (components.crack.model.load_pretrained)
    pretrained: str = Field("none", min_length=1)


class CrackAugment(Strict):
    hflip: bool
    vflip: bool
    brightness: float = Field(ge=0, le=1)  # max |delta| as a share of 255
    contrast: float = Field(ge=0, lt=1)  # factor in [1 - c, 1 + c]
    rotate_deg: float = Field(ge=0, le=45)  # max |angle|
    scale: float = Field(ge=0, lt=1)  # zoom factor in [1 - s, 1 + s]
    # camera-like photometric augmentation (0 = off), components.crack.augment.camera
    gamma: float = Field(0.0, ge=0, le=1.5)  # exposure curve: gamma in [exp(-g), exp(g)]
    color: float = Field(0.0, ge=0, lt=1)  # per-channel gain in [1 - c, 1 + c]
    blur_prob: float = Field(0.0, ge=0, le=1)  # share of crops blurred ...
    blur_sigma: float = Field(0.0, ge=0, le=3)  # ... with a Gaussian of sigma up to this (px)
    noise: float = Field(0.0, ge=0, le=0.2)  # sensor noise std up to this share of 255
    jpeg_prob: float = Field(0.0, ge=0, le=1)  # share of crops JPEG-compressed ...
    jpeg_quality: int = Field(95, ge=5, le=95)  # ... at a quality in [jpeg_quality, 95]
    falloff: float = Field(0.0, ge=0, le=2)  # light falling off from a random point (flash): strength up to this
    # scene: straight grooves that are not cracks (saw cuts, lane and slab joints), components.crack.augment.grooves
    groove_prob: float = Field(0.0, ge=0, le=1)  # share of crops with one or two grooves
    groove_max_width: float = Field(5.0, ge=1, le=20)  # px at model scale; widths drawn in [1, this]


class CrackTrain(Strict):
    epochs: int = Field(gt=0)
    batch_size: int = Field(gt=0)
    lr: float = Field(gt=0)  # Adam peak; cosine decay to 0 at the last step
    loss: Literal["ce", "focal", "dice", "ce_dice"]
    focal_gamma: float = Field(ge=0)  # loss: focal only
    crack_weight: float = Field(gt=0)  # ce/focal: weight of crack pixels (1 = unweighted)
    augment: CrackAugment
    crop_size: Size  # [width, height] random training crop; = input_size: whole frames
    native_tiles: bool = False  # also train on a full-resolution window of each frame the runtime tiles
    save_cycle: int = Field(gt=0)  # epochs between resume checkpoints
    seed: int


class CrackQat(Strict):
    epochs: int = Field(gt=0)
    batch_size: int = Field(gt=0)
    lr: float = Field(gt=0)
    calibration_batches: int = Field(ge=0)  # batches of training frames that set the fake-quant ranges first
    freeze_batch_norm: bool  # fine-tune with the float model's batch-norm statistics fixed
    save_cycle: int = Field(gt=0)
    augment: bool  # same augmentation and crop as float training, or whole frames as they are
    distill: bool  # fine-tune towards the float model's own predictions instead of the labels


class CrackEval(Strict):
    n_overlays: int = Field(ge=0)  # best and worst test images each, per model form
    pr_thresholds: int = Field(ge=2)  # points of the precision/recall-vs-threshold curve
    batch_size: int = Field(gt=0)
    false_alarm_min_area: float = Field(ge=0, lt=1)  # predicted crack area (share of the frame) that is an alarm


class CrackPostprocess(Strict):
    # predicted crack regions smaller than this share of the model input are dropped (components/crack/postprocess.py)
    min_region_area: float = Field(0.001, ge=0, lt=1)
    # predicted straight lines (joints, saw cuts) this long, as a share of the frame's shorter side, are dropped
    straight_line_min_run: float = Field(0.5, ge=0, le=1)


class CrackParams(Strict):
    model: CrackModel
    train: CrackTrain
    qat: CrackQat
    eval: CrackEval
    postprocess: CrackPostprocess = CrackPostprocess()

    @model_validator(mode="after")
    def _crop_inside_frame(self) -> CrackParams:  # training crops are cut from frames at model.input_size
        check_within(self.train.crop_size, self.model.input_size, "train.crop_size", "model.input_size")
        return self
