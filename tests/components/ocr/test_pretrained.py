"""ocr.*.pretrained: MobileNetV2 trunk from a local state dict (no download), errors that name the file."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pytest
import torch
from torchvision.models import mobilenet_v2

from components.ocr.model import (
    build_ssd,
    load_pretrained,
    roi_spec,
    torch_imagenet_paths,
)


def _ssd(width=0.35):
    torch.manual_seed(0)
    return build_ssd(
        roi_spec(SimpleNamespace(width_mult=width, input_size=(128, 96), score_threshold=0.05, nms_iou=0.45))
    )


@pytest.fixture
def weights_file(tmp_path):
    torch.manual_seed(1)
    net = mobilenet_v2(weights=None, width_mult=0.35)
    with torch.no_grad():
        for t in net.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.randn_like(t))
    path = tmp_path / "mnv2_w035.pth"
    torch.save(net.state_dict(), path)  # full model: features.* and classifier.*
    return path, net


def test_path_fills_trunk_and_leaves_heads(weights_file):
    path, net = weights_file
    model = _ssd()
    heads = {k: v.clone() for k, v in model.head.state_dict().items()}
    info = load_pretrained(model, str(path), 0.35, "ocr.roi")
    assert info == {
        "pretrained": str(path),
        "pretrained_path": str(path),
        "pretrained_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    f = net.features
    pairs = [
        (model.backbone.to_s8[0][0].weight, f[0][0].weight),  # first conv
        (model.backbone.to_s8[3].conv[0][1].running_mean, f[3].conv[0][1].running_mean),
        (model.backbone.to_s8[7][0].weight, f[7].conv[0][0].weight),  # stride-8 tap (block 7's expansion)
        (model.backbone.to_s16[0][0].weight, f[7].conv[1][0].weight),
        (model.backbone.to_s16[-1][0].weight, f[14].conv[0][0].weight),
    ]  # stride-16 tap
    for got, want in pairs:
        assert torch.equal(got, want)
    trunk = {
        **{f"s8.{k}": v for k, v in model.backbone.to_s8.state_dict().items()},
        **{f"s16.{k}": v for k, v in model.backbone.to_s16.state_dict().items()},
    }
    file_values = [v for k, v in net.state_dict().items() if k.startswith("features.")]
    assert all(any(v.shape == w.shape and torch.equal(v, w) for w in file_values) for v in trunk.values())
    for k, v in model.head.state_dict().items():
        assert torch.equal(v, heads[k]), k


def test_imagenet_needs_width_1_and_names_cache_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    paths = torch_imagenet_paths()
    assert [p.name for p in paths] == ["mobilenet_v2-7ebf99e0.pth", "mobilenet_v2-b0353104.pth"]
    assert all(p.parent == tmp_path / "hub/checkpoints" for p in paths)
    with pytest.raises(ValueError, match="width_mult 1.0"):
        load_pretrained(_ssd(), "imagenet", 0.35, "ocr.roi")
    with pytest.raises(FileNotFoundError, match="nothing is downloaded") as e:
        load_pretrained(_ssd(1.0), "imagenet", 1.0, "ocr.char")
    assert str(paths[0]) in str(e.value) and "ocr.char" in str(e.value)


def test_wrong_width_and_missing_file_name_the_file(weights_file, tmp_path):
    path, _ = weights_file
    with pytest.raises(ValueError, match="width_mult 0.5") as e:
        load_pretrained(_ssd(0.5), str(path), 0.5, "ocr.roi")
    assert str(path) in str(e.value)
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "absent.pth")):
        load_pretrained(_ssd(), str(tmp_path / "absent.pth"), 0.35, "ocr.roi")
    assert load_pretrained(_ssd(), "none", 0.35) is None


def test_engine_runs_init_on_a_fresh_start_only(tmp_path):
    from torch import nn

    from components.ocr.engine import fit, save_checkpoint

    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    calls = []
    kw = {
        "optimizer": opt,
        "scheduler": sched,
        "device": "cpu",
        "checkpoint": tmp_path / "last.pt",
        "save_cycle": 1,
        "fingerprint": "f",
        "progress": False,
        "log": lambda s: None,
        "init": calls.append,
    }
    fit(model, [], epochs=0, **kw)  # nothing to resume from: init, then (no) training
    assert calls == [model]
    save_checkpoint(
        tmp_path / "last.pt",
        epoch=0,
        model=model,
        optimizer=opt,
        scheduler=sched,
        history=[{"epoch": 1}],
        fingerprint="f",
    )
    assert fit(model, [], epochs=1, **kw) == [{"epoch": 1}]  # resumed after its only epoch: no init
    assert calls == [model]
