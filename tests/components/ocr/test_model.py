"""The SSD builder: source maps at strides 8 and 16, default boxes on them, torchvision's machinery."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torchvision.models.detection.ssd import SSD, SSDHead

from components.data.ocr_format import CHAR_CLASSES
from components.ocr.model import (
    build_ssd,
    char_spec,
    for_inference,
    freeze,
    fuse_batchnorm,
    load_model,
    parameter_hash,
    roi_spec,
    save_model,
)
from tests.helpers.ocr import tiny_two_stage

ROI = SimpleNamespace(width_mult=0.35, input_size=(320, 240), score_threshold=0.05, nms_iou=0.45)
CHAR = SimpleNamespace(width_mult=0.35, crop_size=128, score_threshold=0.05, nms_iou=0.45)


def test_roi_model_taps_strides_8_and_16_and_anchors_tile_them():
    spec = roi_spec(ROI)
    model = build_ssd(spec).eval()
    assert isinstance(model, SSD) and isinstance(model.head, SSDHead)
    feats = model.backbone(torch.zeros(1, 3, 240, 320))
    assert [tuple(f.shape[-2:]) for f in feats.values()] == [(30, 40), (15, 20)]  # 240/8, 320/8; /16
    assert [f.shape[1] for f in feats.values()] == model.backbone.out_channels
    per_loc = model.anchor_generator.num_anchors_per_location()
    assert per_loc == [4, 6]
    from torchvision.models.detection.image_list import ImageList

    anchors = model.anchor_generator(ImageList(torch.zeros(1, 3, 240, 320), [(240, 320)]), list(feats.values()))[0]
    assert anchors.shape == (30 * 40 * 4 + 15 * 20 * 6, 4)
    centres = (anchors[:, :2] + anchors[:, 2:]) / 2
    # the first default boxes sit at the centre of the first stride-8 cell, the stride-16 ones at (8, 8)
    assert torch.allclose(centres[0], torch.tensor([4.0, 4.0]))
    assert torch.allclose(centres[30 * 40 * 4], torch.tensor([8.0, 8.0]))
    out = model([torch.rand(3, 240, 320)])[0]
    assert set(out) == {"boxes", "scores", "labels"}


def _default_boxes(model, h: int = 240, w: int = 320) -> torch.Tensor:
    from torchvision.models.detection.image_list import ImageList

    feats = list(model.backbone(torch.zeros(1, 3, h, w)).values())
    return model.anchor_generator(ImageList(torch.zeros(1, 3, h, w), [(h, w)]), feats)[0]


def test_roi_anchor_scales_set_the_smallest_default_box_and_travel_with_the_model(tmp_path):
    """``ocr.roi.anchor_scales``: the first value sizes the stride-8 default boxes (small bodies, as in
    wide_view frames); a saved model keeps the anchors it was trained with, whatever params say later."""
    new = roi_spec(ROI)  # the default sizes
    assert new["anchor_scales"] == [0.12, 0.3, 0.8]
    old = roi_spec(SimpleNamespace(**{**vars(ROI), "anchor_scales": (0.16, 0.32, 0.55)}))  # before 2026-12-06
    old_boxes, new_boxes = _default_boxes(build_ssd(old)), _default_boxes(build_ssd(new))
    assert old_boxes.shape == new_boxes.shape  # same boxes per location, other sizes
    # the first (square) box of the first stride-8 cell is 0.16 resp. 0.12 of the input wide
    assert torch.allclose(old_boxes[0, 2] - old_boxes[0, 0], torch.tensor(0.16 * 320))
    assert torch.allclose(new_boxes[0, 2] - new_boxes[0, 0], torch.tensor(0.12 * 320))
    save_model(freeze(build_ssd(old)), old, tmp_path / "roi.pt")  # a model trained before the change
    loaded, spec = load_model(tmp_path / "roi.pt")
    assert spec["anchor_scales"] == [0.16, 0.32, 0.55]
    assert torch.allclose(_default_boxes(loaded), old_boxes)


def test_roi_anchor_scales_must_grow():
    from components.config import load_params
    from components.ocr.config import RoiParams

    base = load_params().ocr.roi.model_dump()
    assert RoiParams(**{**base, "anchor_scales": [0.12, 0.3, 0.8]}).anchor_scales == (0.12, 0.3, 0.8)
    for bad in ([0.3, 0.12, 0.8], [0.0, 0.3, 0.8], [0.12, 0.3, 1.2]):
        with pytest.raises(ValueError, match="ocr.roi.anchor_scales"):
            RoiParams(**{**base, "anchor_scales": bad})


def test_width_multiplier_changes_the_backbone():
    small = build_ssd(roi_spec(SimpleNamespace(**{**vars(ROI), "width_mult": 0.25})))
    big = build_ssd(roi_spec(SimpleNamespace(**{**vars(ROI), "width_mult": 0.75})))
    assert small.backbone.out_channels[0] < big.backbone.out_channels[0]
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in big.parameters())


def test_char_model_has_36_classes_plus_background_and_trains_one_step():
    model = build_ssd(char_spec(CHAR, CHAR_CLASSES)).train()
    assert model.head.classification_head.num_columns == 37 and len(CHAR_CLASSES) == 36
    losses = model(
        [torch.rand(3, 128, 128)], [{"boxes": torch.tensor([[40.0, 50.0, 52.0, 68.0]]), "labels": torch.tensor([5])}]
    )
    assert set(losses) == {"bbox_regression", "classification"}
    sum(losses.values()).backward()


def test_save_load_round_trip_and_hash(tmp_path):
    spec = roi_spec(ROI)
    model = freeze(build_ssd(spec))
    save_model(model, spec, tmp_path / "roi.pt")
    loaded, spec2 = load_model(tmp_path / "roi.pt")
    assert spec2 == spec and parameter_hash(loaded) == parameter_hash(model)
    with torch.no_grad():
        next(loaded.parameters()).add_(1e-3)
    assert parameter_hash(loaded) != parameter_hash(model)


@pytest.mark.slow
def test_serving_form_folds_every_batchnorm_and_detects_the_same():
    ocr = tiny_two_stage()  # settled BatchNorm statistics: fresh ones (mean 0, var 1) barely change when folded
    model, size = ocr.char_model, ocr.config.crop_size
    images = [torch.rand(3, size, size, generator=torch.Generator().manual_seed(i)) for i in range(3)]
    with torch.no_grad():
        feats = model.backbone(torch.stack(images))
        before = model(images)
    served = for_inference(copy.deepcopy(model))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in served.modules())
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) > 30  # the original is untouched
    assert all(not p.requires_grad for p in served.parameters())
    first_conv = served.backbone.to_s8[0][0]
    assert first_conv.weight.is_contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        feats2 = served.backbone(torch.stack(images))
        after = served(images)
    for a, b in zip(feats.values(), feats2.values()):
        assert torch.allclose(a, b, atol=1e-4, rtol=1e-4)
    for a, b in zip(before, after):
        assert torch.equal(a["labels"], b["labels"])
        assert torch.allclose(a["scores"], b["scores"], atol=1e-4)
        assert torch.allclose(a["boxes"], b["boxes"], atol=1e-3)


def test_folding_batchnorm_in_training_mode_is_refused():
    with pytest.raises(ValueError, match="eval mode"):
        fuse_batchnorm(build_ssd(roi_spec(ROI)).train())
