"""OCR test helpers: the repository's parameters shrunk to seconds of CPU, and an untrained two-stage OCR."""

from __future__ import annotations

from types import SimpleNamespace

import torch
import yaml

from components.data.ocr_format import CHAR_CLASSES
from components.ocr.model import build_ssd, char_spec, roi_spec
from components.ocr.predict import TwoStageOcr
from tests.helpers import REPO


def tiny_params(epochs: int = 2) -> dict:
    """The repo's params.yaml with the OCR section shrunk to seconds of CPU."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    o = params["ocr"]
    o["threads"] = 0  # torch's default: all cores, or OMP_NUM_THREADS (tests/conftest.py)
    o["roi"].update(
        input_size=[160, 120], width_mult=0.25, epochs=epochs, batch_size=4, save_cycle=1, score_threshold=0.01
    )
    o["char"].update(
        crop_size=64,
        strip_size=[96, 48],
        width_mult=0.25,
        epochs=epochs,
        batch_size=8,
        save_cycle=1,
        roi_score_threshold=0.01,
        score_threshold=0.01,
    )
    o["eval"].update(latency_warmup=1, latency_runs=3, overlays=2, roi_score_threshold=0.01, char_score_threshold=0.01)
    return params


def _settle_batchnorm(model, size: tuple[int, int], gen: torch.Generator) -> None:
    """BatchNorm statistics from a few random batches, so untrained activations neither vanish nor
    explode through the layers (fresh running stats are the identity and the features die out)."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for _ in range(3):
            x = torch.rand(4, 3, size[1], size[0], generator=gen)
            model.backbone((x - 0.5) / 0.25)
    model.eval()


def tiny_two_stage(seed: int = 0, crop: str = "square", input_norm: str = "fixed") -> TwoStageOcr:
    """Untrained detectors at the smallest sizes (stage 1 160x120, stage 2 64 px crops), with
    settled BatchNorm statistics and the classification heads scaled up so that scores spread out:
    untrained softmax scores sit within float noise of each other, which would make top-k and NMS
    comparisons between PyTorch and ONNX Runtime a matter of luck. ``crop: upright``: stage 2 on 96x48
    upright strips instead of 64 px squares; ``input_norm`` is stage 2's."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    rs = roi_spec(SimpleNamespace(width_mult=0.25, input_size=(160, 120), score_threshold=0.05, nms_iou=0.45))
    cs = char_spec(
        SimpleNamespace(
            width_mult=0.25,
            crop_size=64,
            score_threshold=0.05,
            nms_iou=0.45,
            crop=crop,
            strip_size=(96, 48),
            input_norm=input_norm,
        ),
        CHAR_CLASSES,
    )
    cs["detections"] = 12
    roi, char = build_ssd(rs), build_ssd(cs)
    for m, spec, gain in ((roi, rs, 0.3), (char, cs, 3.0)):
        _settle_batchnorm(m, spec["size"], gen)
        with torch.no_grad():
            for conv in m.head.classification_head.module_list:
                conv.weight.mul_(gain)
    return TwoStageOcr(
        roi, rs, char, cs, margin=0.08, roi_score_threshold=0.3, char_score_threshold=0.2, dedupe_iou=0.35
    )
