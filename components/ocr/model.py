"""SSD detectors on MobileNetV2 features at strides 8 and 16 (docs/ocr.md#model), from torchvision's parts.

Both stages are the same family: torchvision's ``SSD`` (default boxes, SSD head, matching, loss
with hard-negative mining, box coding, batched NMS) around a MobileNetV2 trunk. The seed detected
from VGG's conv4_3 (stride 8) and conv7 (stride 16); here the two maps are the MobileNetV2
expansion layers at those strides, the same taps torchvision's SSDlite uses one octave lower: they
are the widest tensors at each stride (6x the block width), which matters at width 0.35-0.5.

A model is fully described by a small dict of plain values (``spec``) saved beside its weights, so
evaluation, export and serving rebuild it without reading params.yaml.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchvision.models import MobileNet_V2_Weights, mobilenet_v2
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
from torchvision.models.detection.ssd import SSD, SSDHead
from torchvision.models.detection.transform import GeneralizedRCNNTransform
from torchvision.ops import boxes as box_ops

from components.io import sha256_file
from components.ocr.config import RoiParams
from components.ocr.pipeline import CLASS_TOPK

STRIDES = (8, 16)
# stage 1's default-box sizes when the settings object has none: ocr.roi's own default, one copy
DEFAULT_ANCHOR_SCALES = RoiParams.model_fields["anchor_scales"].default


class MobileNetV2Taps(nn.Module):
    """MobileNetV2 (no weights) cut into the two SSD source maps at strides 8 and 16.

    Blocks 7 and 14 are the first stride-2 blocks after each tap: they have no residual, so they can
    be split after their 1x1 expansion, which gives the stride-8 and stride-16 maps.
    """

    def __init__(self, width_mult: float, fuse: bool = False):
        super().__init__()
        f = mobilenet_v2(weights=None, width_mult=width_mult).features
        self.to_s8, self.to_s16 = _taps(f)  # load_pretrained fills them from a file
        self.out_channels = [f[7].conv[0].out_channels, f[14].conv[0].out_channels]
        self.fuse = TopDown(*self.out_channels) if fuse else None

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        s8 = self.to_s8(x)
        s16 = self.to_s16(s8)
        if self.fuse is not None:
            s8 = self.fuse(s8, s16)
        return OrderedDict([("s8", s8), ("s16", s16)])


def _taps(f: nn.Sequential) -> tuple[nn.Sequential, nn.Sequential]:
    """torchvision's ``mobilenet_v2().features`` cut into the stride-8 and stride-16 trunks."""
    return nn.Sequential(*f[:7], f[7].conv[0]), nn.Sequential(*f[7].conv[1:], *f[8:14], f[14].conv[0])


def torch_imagenet_paths() -> list[Path]:
    """Where torchvision caches ``MobileNet_V2_Weights.IMAGENET1K_V2`` and ``_V1`` (preferred first):
    ``torch.hub.get_dir()/checkpoints`` (``$TORCH_HOME/hub``, default ``~/.cache/torch/hub``)."""
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    return [
        hub / os.path.basename(w.url) for w in (MobileNet_V2_Weights.IMAGENET1K_V2, MobileNet_V2_Weights.IMAGENET1K_V1)
    ]


def resolve_pretrained(spec: str, width_mult: float, name: str = "ocr") -> Path | None:
    """The state dict file ``spec`` names (``none`` -> None, ``imagenet`` -> torchvision's cached file,
    else a path); ``name`` (``ocr.roi``, ``ocr.char``) goes into the errors. Nothing is downloaded."""
    if spec == "none":
        return None
    if spec == "imagenet":
        if float(width_mult) != 1.0:
            raise ValueError(
                f"{name}.pretrained: imagenet: torchvision has MobileNetV2 ImageNet weights only for "
                f"width_mult 1.0, not {name}.width_mult {width_mult}; set pretrained: none, width_mult: 1.0, "
                f"or give a path to a mobilenet_v2 state dict of width {width_mult}"
            )
        paths = torch_imagenet_paths()
        for path in paths:
            if path.is_file():
                return path
        raise FileNotFoundError(
            f"{name}.pretrained: imagenet: none of {', '.join(map(str, paths))} found and nothing is downloaded at run "
            "time; put torchvision's MobileNet_V2_Weights IMAGENET1K_V2 (or _V1) file there, or give a path to a "
            "local "
            f"state dict (under models/pretrained/), or set pretrained: none"
        )
    path = Path(spec)
    if not path.is_file():
        raise FileNotFoundError(
            f"{name}.pretrained: weights file {path} not found; put a torchvision mobilenet_v2 state "
            f"dict (keys features.*) of width_mult {width_mult} there (under models/pretrained/), "
            f"or use imagenet or none"
        )
    return path


def load_pretrained(model: SSD, spec: str, width_mult: float, name: str = "ocr") -> dict[str, Any] | None:
    """Fill the MobileNetV2 trunk of ``model`` (an SSD of ``build_ssd``) from the file ``spec`` names.

    The file is a state dict of a torchvision ``mobilenet_v2`` (``features.*``; ``classifier.*`` and
    the blocks past the stride-16 tap are ignored); it is loaded strictly into a bare
    ``mobilenet_v2(width_mult=width_mult)`` first, so a file of another width fails with its name.
    The heads (and the ``fuse`` block) stay as they are. Returns ``pretrained``, ``pretrained_path``,
    ``pretrained_sha256`` (for the flow to log), or None for ``none``.
    """
    path = resolve_pretrained(spec, width_mult, name)
    if path is None:
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # not a torch file / not a plain state dict
        raise ValueError(f"{name}.pretrained: cannot read {path} as a state dict: {e}") from e
    if not isinstance(state, dict) or not any(str(k).startswith("features.") for k in state):
        raise ValueError(
            f"{name}.pretrained: {path} is not a state dict of a torchvision mobilenet_v2 (no features.* keys)"
        )
    net = mobilenet_v2(weights=None, width_mult=width_mult)
    try:
        net.features.load_state_dict({k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")})
    except RuntimeError as e:
        raise ValueError(
            f"{name}.pretrained: {path} does not fit mobilenet_v2 of width_mult {width_mult} "
            f"({name}.width_mult); is it of another width? {str(e)[:500]}"
        ) from e
    s8, s16 = _taps(net.features)
    model.backbone.to_s8.load_state_dict(s8.state_dict())
    model.backbone.to_s16.load_state_dict(s16.state_dict())
    return {"pretrained": spec, "pretrained_path": str(path), "pretrained_sha256": sha256_file(path)}


class TopDown(nn.Module):
    """Stride-16 semantics added into the stride-8 map (one FPN step), then a depthwise-separable
    3x3 block. Characters are small, so they are found on the stride-8 map, but telling 36 classes
    apart needs the depth only the stride-16 map has; at width 0.5 the stride-8 tap is 6 blocks
    deep. Costs about 6 MMAC at a 192 px crop, 11 at 256."""

    def __init__(self, c8: int, c16: int):
        super().__init__()
        self.lateral = nn.Conv2d(c16, c8, 1)
        self.smooth = nn.Sequential(
            nn.Conv2d(c8, c8, 3, padding=1, groups=c8, bias=False),
            nn.BatchNorm2d(c8),
            nn.ReLU6(inplace=True),
            nn.Conv2d(c8, c8, 1, bias=False),
            nn.BatchNorm2d(c8),
            nn.ReLU6(inplace=True),
        )

    def forward(self, s8: torch.Tensor, s16: torch.Tensor) -> torch.Tensor:
        up = nn.functional.interpolate(self.lateral(s16), size=s8.shape[-2:], mode="nearest")
        return self.smooth(s8 + up)


class _CachedDefaultBoxes(DefaultBoxGenerator):
    """torchvision's default boxes, computed once per (feature grids, image size) instead of on
    every forward: the inputs of both stages always have one size.

    torchvision gives the boxes' widths as fractions of the input width and heights of its height,
    so on a 2:1 strip a "square" default box would be twice as wide as tall. With
    ``height_relative`` both are fractions of the input height (upright strips of stage 2)."""

    def __init__(self, *args, height_relative: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.height_relative = height_relative
        self._cache: dict = {}

    def _grid_default_boxes(self, grid_sizes, image_size, dtype=torch.float32):
        key = (tuple(tuple(int(v) for v in g) for g in grid_sizes), tuple(int(v) for v in image_size), dtype)
        if key not in self._cache:
            boxes = super()._grid_default_boxes(grid_sizes, image_size, dtype)
            if self.height_relative:  # (cx, cy, w, h) as fractions: w in units of the height
                boxes = boxes.clone()
                boxes[:, 2] *= float(image_size[0]) / float(image_size[1])
            self._cache[key] = boxes
        return self._cache[key]


#: ``input_norm: per_image`` divides by the image's spread, but never by less than this (pixels in [0, 1]):
#: a strip of bare body would otherwise have its sensor noise blown up to full contrast.
MIN_SPREAD = 0.02


def standardize(images: torch.Tensor) -> torch.Tensor:
    """Each image (C, H, W, or a batch N, C, H, W) to zero mean and unit standard deviation over all
    its pixels and channels (``input_norm: per_image``). Colours keep their relations; only the
    exposure and the contrast go. Training, PyTorch inference and the ONNX graph all call this."""
    dims = (-3, -2, -1)
    mean = images.mean(dim=dims, keepdim=True)
    spread = torch.sqrt(((images - mean) ** 2).mean(dim=dims, keepdim=True))
    return (images - mean) / torch.clamp(spread, min=MIN_SPREAD)


class _SameSizeTransform(GeneralizedRCNNTransform):
    """SSD's transform, minus the bilinear resize when the input already has the model's size
    (the /4 frames and the letterboxed crops always do): a few ms per image on one core. With
    ``per_image`` set, each image is standardized on its own (``standardize``) instead of by the fixed
    mean and std."""

    per_image = False

    def normalize(self, image: torch.Tensor) -> torch.Tensor:
        return standardize(image) if self.per_image else super().normalize(image)

    def resize(self, image, target=None):
        w, h = self.fixed_size
        if tuple(image.shape[-2:]) == (h, w):
            return image, target
        return super().resize(image, target)


class TopKSSD(SSD):
    """torchvision's SSD whose detections also carry, per kept box, the ``class_topk`` most probable
    classes of that box's softmax (background excluded): ``topk_labels`` (N, k, 1-based) and
    ``topk_scores`` (N, k). The reading decodes markings from them (``components.ocr.grammar``);
    boxes, labels and scores are exactly torchvision's (same thresholding, top-k and NMS). With
    ``class_topk`` 0 (stage 1: one class) the detections are torchvision's dicts as they are."""

    class_topk = 0

    def postprocess_detections(self, head_outputs, image_anchors, image_shapes):
        pred_scores = torch.softmax(head_outputs["cls_logits"], dim=-1)
        num_classes = pred_scores.size(-1)
        k = min(int(self.class_topk), num_classes - 1)
        detections = []
        for reg, scores, anchors, image_shape in zip(
            head_outputs["bbox_regression"], pred_scores, image_anchors, image_shapes
        ):
            boxes = box_ops.clip_boxes_to_image(self.box_coder.decode_single(reg, anchors), image_shape)
            image_boxes, image_scores, image_labels, image_anchor = [], [], [], []
            for label in range(1, num_classes):
                score = scores[:, label]
                idx = torch.nonzero(score > self.score_thresh).squeeze(1)  # the anchors above threshold
                score = score[idx]
                score, order = score.topk(det_utils._topk_min(score, self.topk_candidates, 0))
                idx = idx[order]
                image_boxes.append(boxes[idx])
                image_scores.append(score)
                image_labels.append(torch.full_like(score, fill_value=label, dtype=torch.int64))
                image_anchor.append(idx)
            image_boxes, image_scores = torch.cat(image_boxes), torch.cat(image_scores)
            image_labels, image_anchor = torch.cat(image_labels), torch.cat(image_anchor)
            keep = box_ops.batched_nms(image_boxes, image_scores, image_labels, self.nms_thresh)[
                : self.detections_per_img
            ]
            det = {"boxes": image_boxes[keep], "scores": image_scores[keep], "labels": image_labels[keep]}
            if k > 0:
                top_scores, top_labels = scores[image_anchor[keep], 1:].topk(k, dim=1)
                det.update(topk_labels=top_labels + 1, topk_scores=top_scores)
            detections.append(det)
        return detections


def build_ssd(spec: dict[str, Any]) -> SSD:
    """An SSD from ``spec``: width_mult, size [w, h], num_classes (with background), anchor_scales
    (3 values: stride-8 scale, stride-16 scale, upper bound; fractions of the input), aspect_ratios
    (one list per map), score_threshold, nms_iou, detections, fuse (top-down stride-16 -> 8)."""
    backbone = MobileNetV2Taps(spec["width_mult"], fuse=spec.get("fuse", False))
    anchors = _CachedDefaultBoxes(
        spec["aspect_ratios"],
        scales=list(spec["anchor_scales"]),
        steps=list(STRIDES),
        height_relative=spec.get("crop") == "upright",
    )
    head = SSDHead(backbone.out_channels, anchors.num_anchors_per_location(), spec["num_classes"])
    w, h = spec["size"]
    model = TopKSSD(
        backbone,
        anchors,
        (w, h),
        spec["num_classes"],
        head=head,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.25, 0.25, 0.25],
        score_thresh=spec["score_threshold"],
        nms_thresh=spec["nms_iou"],
        detections_per_img=spec["detections"],
        topk_candidates=spec["detections"] * 2,
        iou_thresh=spec.get("match_iou", 0.5),
    )
    model.class_topk = CLASS_TOPK if spec.get("kind") == "char" else 0  # the reading decodes characters only
    t = model.transform
    model.transform = _SameSizeTransform(
        t.min_size[0], t.max_size, t.image_mean, t.image_std, size_divisible=1, fixed_size=t.fixed_size
    )
    model.transform.per_image = spec.get("input_norm", "fixed") == "per_image"
    return model


def _input_norm(p) -> dict[str, str]:
    """The spec entry for ``input_norm``; absent when fixed, so earlier models' specs stay as they were."""
    norm = getattr(p, "input_norm", "fixed")
    return {} if norm == "fixed" else {"input_norm": norm}


def roi_spec(p) -> dict[str, Any]:
    """Stage 1: one class (resistor) on the frame / 4. Bodies are 220-480 px long at full
    resolution (55-120 px at /4), down to ~160 px in wide views and over half the frame in close-ups,
    and rotated up to 50 degrees: ``anchor_scales`` (default 0.12, 0.3, 0.8 of the input) gives the
    stride-8 map the small ones and stride 16 the rest."""
    return {
        "kind": "roi",
        "width_mult": p.width_mult,
        "size": list(p.input_size),
        "num_classes": 2,
        "classes": ["resistor"],
        "anchor_scales": [float(v) for v in getattr(p, "anchor_scales", DEFAULT_ANCHOR_SCALES)],
        "aspect_ratios": [[2], [2, 3]],
        "score_threshold": p.score_threshold,
        "nms_iou": p.nms_iou,
        "detections": 20,
        "match_iou": 0.5,
        **_input_norm(p),
    }


def char_spec(p, classes: tuple[str, ...]) -> dict[str, Any]:
    """Stage 2: 36 character classes in a letterboxed crop. Characters are 25-95 px tall in ROIs
    of 250-580 px, i.e. 0.04-0.15 of the crop side (median 0.1), taller than wide, rotated up to 50
    degrees, at a pitch of about 0.6 of their height: at the default 256 px the median glyph is
    21x27 px and neighbours are 16 px apart, two stride-8 steps (at 192 px: 16x20 and 12).
    Matching at IoU 0.4 gives small glyphs more than one positive default box.

    ``crop: upright``: strips of ``strip_size`` [w, h] (192x96) that cover 0.9 of the body length,
    text horizontal; glyphs are 0.17-0.57 of the strip height (median ~0.32, ~30 px), so the default
    boxes are fractions of the height (18-54 px at 96 px, as the square's 18-51 px at 256)."""
    crop = getattr(p, "crop", "square")
    common = {
        "kind": "char",
        "width_mult": p.width_mult,
        "num_classes": len(classes) + 1,
        "classes": list(classes),
        "aspect_ratios": [[2], [2]],
        "score_threshold": p.score_threshold,
        "nms_iou": p.nms_iou,
        "detections": 40,
        "match_iou": 0.4,
        "fuse": True,
        **_input_norm(p),
    }
    if crop == "upright":
        return {
            **common,
            "size": [int(v) for v in p.strip_size],
            "anchor_scales": [0.19, 0.32, 0.56],
            "crop": "upright",
        }
    return {**common, "size": [p.crop_size, p.crop_size], "anchor_scales": [0.07, 0.12, 0.2]}


def save_model(model: SSD, spec: dict[str, Any], path, extra: dict | None = None) -> None:
    """Weights + spec in one file, written atomically (loadable with weights_only=True)."""
    from components.io import atomic_path

    with atomic_path(path) as tmp:
        torch.save({"spec": spec, "state_dict": model.state_dict(), **(extra or {})}, tmp)


def load_model(path, device: str | torch.device = "cpu") -> tuple[SSD, dict[str, Any]]:
    blob = torch.load(path, map_location=device, weights_only=True)
    model = build_ssd(blob["spec"])
    model.load_state_dict(blob["state_dict"])
    return model.to(device).eval(), blob["spec"]


def parameter_hash(model: nn.Module) -> str:
    """sha256 over every parameter and buffer (names and bytes): proves a model did not change."""
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def freeze(model: nn.Module) -> nn.Module:
    """No gradients, eval mode (BatchNorm statistics stay as trained)."""
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def fuse_batchnorm(model: nn.Module) -> nn.Module:
    """Fold every BatchNorm that directly follows a convolution (in the same ``nn.Sequential``, as
    in all of MobileNetV2 and the top-down block) into that convolution, in place; eval mode only.

    BatchNorm is a per-channel affine map at inference, so the fused model computes the same
    detections (to float rounding) with one pass over memory fewer per layer: with channels-last,
    about a sixth of the two-stage time at batch 1 on one CPU thread (docs/experiments.md, OCR speed-ups)."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    if model.training:
        raise ValueError("fuse_batchnorm needs a model in eval mode (it folds the running statistics)")
    for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(seq) - 1):
            if isinstance(seq[i], nn.Conv2d) and isinstance(seq[i + 1], nn.BatchNorm2d):
                seq[i], seq[i + 1] = fuse_conv_bn_eval(seq[i], seq[i + 1]), nn.Identity()
    return model


def for_inference(model: nn.Module) -> nn.Module:
    """Frozen, BatchNorm folded, channels-last (NHWC): the fastest layout for oneDNN's CPU
    convolutions. Only for serving: the weights no longer load into ``build_ssd``'s modules."""
    return fuse_batchnorm(freeze(model)).to(memory_format=torch.channels_last)


def resolve_device(device: str) -> torch.device:
    if device == "cuda" or (device == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")
