"""Training of stage 1 (ROI) and stage 2 (characters on frozen stage-1 crops), without orchestration.

The flows (flows/train_roi.py, flows/train_ocr.py) call these with params, a checkpoint path and a
per-epoch callback that logs; tests call them directly on tiny data. Started by ``torchrun`` they
train with DistributedDataParallel (``components/ocr/distributed.py``): every replica calls them
with the same arguments, rank 0 alone validates, calls back and writes ``out``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, WeightedRandomSampler
from tqdm import tqdm

from components.data.ocr_format import CHAR_CLASSES
from components.ocr import distributed
from components.ocr import transforms as T
from components.ocr.data import (
    Crop,
    CropDataset,
    Frame,
    RoiDataset,
    build_crops,
    collate,
    predict_rois,
    to_tensor,
)
from components.ocr.engine import (
    fit,
    make_optimizer,
    make_scheduler,
    predict,
    seed_everything,
)
from components.ocr.metrics import voc_map, voc_records
from components.ocr.model import (
    build_ssd,
    char_spec,
    freeze,
    load_pretrained,
    roi_spec,
    save_model,
)
from components.ocr.threshold import ThresholdChoice, choose_threshold

Log = Callable[[str], None]


def _loader(ds, batch_size: int, seed: int, weights: list[float] | None = None) -> DataLoader:
    shard = distributed.sampler(ds, seed, weights)  # under torchrun: this replica's part of each epoch
    if shard is not None:
        return DataLoader(
            ds, batch_size=batch_size, sampler=shard, collate_fn=collate, drop_last=len(shard) > batch_size
        )
    g = torch.Generator().manual_seed(seed)
    drop_last = len(ds) > batch_size
    if weights is not None:
        sampler = WeightedRandomSampler(weights, num_samples=len(ds), replacement=True, generator=g)
        return DataLoader(ds, batch_size=batch_size, sampler=sampler, collate_fn=collate, drop_last=drop_last)
    return DataLoader(ds, batch_size=batch_size, shuffle=True, collate_fn=collate, generator=g, drop_last=drop_last)


def class_balance_weights(crops: list[Crop]) -> list[float]:
    """Per-crop sampling weight ``max over its characters of freq^-1/2``: markings are mostly digits
    and ``R``, letters of EIA-96 codes appear a few times per hundred frames, and mAP weighs every
    class the same. The square root keeps a crop with a one-off letter from dominating the epoch."""
    freq = Counter(int(label) for c in crops for label in c.labels)
    if not freq:
        return [1.0] * len(crops)
    median = float(np.median([f**-0.5 for f in freq.values()]))
    return [max((freq[int(label)] ** -0.5 for label in c.labels), default=median) for c in crops]


def dataset_targets(ds) -> list[dict]:
    """Ground truth of every item of a detection dataset as numpy, the form ``voc_map`` scores."""
    return [{"boxes": t["boxes"].numpy(), "labels": t["labels"].numpy()} for _, t in (ds[i] for i in range(len(ds)))]


def _fit_detector(
    model,
    spec: dict,
    loader,
    p,
    val_images: list,
    val_targets: list,
    metric: str,
    val_batch: int,
    *,
    device,
    checkpoint: Path,
    fingerprint: str,
    out: Path,
    on_epoch: Callable[[dict], None] | None,
    progress: bool,
    log: Log,
    init: Callable,
    extra: dict | None = None,
) -> list[dict]:
    """The epochs of either stage (AdamW + ``p.lr_schedule``; validation mAP50 as ``metric`` after each
    epoch, reported to ``on_epoch``), then the model file ``out`` on rank 0; returns the history."""
    optimizer = make_optimizer(model, p.lr, p.weight_decay)
    scheduler = make_scheduler(optimizer, p.lr_schedule, p.lr, p.epochs * len(loader), p.warmup_frac)

    def on_epoch_end(epoch: int, losses: dict) -> dict:
        metrics = {metric: voc_map(predict(model, val_images, device, val_batch), val_targets)[0]} if val_images else {}
        if on_epoch:
            on_epoch({"epoch": epoch + 1, **losses, **metrics})
        return metrics

    history = fit(
        model,
        loader,
        epochs=p.epochs,
        optimizer=optimizer,
        scheduler=scheduler,
        device=device,
        checkpoint=checkpoint,
        save_cycle=p.save_cycle,
        fingerprint=fingerprint,
        on_epoch_end=on_epoch_end,
        progress=progress,
        log=log,
        init=init,
    )
    if distributed.is_main():
        save_model(model, spec, out, extra=extra)
        checkpoint.unlink(missing_ok=True)
    distributed.barrier()
    return history


def train_roi_model(
    train: list[Frame],
    val: list[Frame],
    p,
    *,
    device,
    checkpoint: Path,
    fingerprint: str,
    out: Path,
    seed: int = 0,
    on_epoch: Callable[[dict], None] | None = None,
    progress: bool = True,
    log: Log = print,
) -> dict:
    """Stage 1 on frames downsampled to ``p.input_size``; writes ``out`` and returns a summary."""
    t0 = time.perf_counter()
    device = distributed.setup(device)
    progress = progress and distributed.is_main()
    val = val if distributed.is_main() else []  # validation runs on rank 0 only
    seed_everything(seed)
    spec = roi_spec(p)
    model = build_ssd(spec).to(device)
    pretrained: dict = {}  # filled only on a fresh start (not on resume)

    def init(m) -> None:
        pretrained.update(load_pretrained(m, p.pretrained, p.width_mult, "ocr.roi") or {})

    aug = distributed.replica_seed(seed)
    photometric = T.Photometric(0.8, aug + 1, p.low_light_prob, p.color_swap_prob)
    flip, tint = T.HorizontalFlip(0.5, aug), T.BodyTint(p.body_tint_prob, aug + 3)
    tf = T.Compose([flip, tint, T.RandomZoom(p.zoom_prob, p.zoom, aug + 4), photometric])
    train_ds = RoiDataset(train, p.input_size, tf, progress)
    val_ds = RoiDataset(val, p.input_size, None, progress)
    val_images = [val_ds[i][0] for i in range(len(val_ds))]
    val_targets = dataset_targets(val_ds)
    loader = _loader(train_ds, p.batch_size, seed)
    history = _fit_detector(
        model,
        spec,
        loader,
        p,
        val_images,
        val_targets,
        "val_roi_ap50",
        16,
        device=device,
        checkpoint=checkpoint,
        fingerprint=fingerprint,
        out=out,
        on_epoch=on_epoch,
        progress=progress,
        log=log,
        init=init,
    )
    return {
        "history": history,
        "train_s": time.perf_counter() - t0,
        "spec": spec,
        "train_frames": len(train),
        "params": sum(q.numel() for q in model.parameters()),
        "pretrained": pretrained,
    }


def char_transforms(p, seed: int) -> T.Compose:
    """Glyph slant and stroke weight (off by default), rotation (squares: anywhere in
    +-rotation_deg; upright strips: the small residual +-strip_rotation_deg the angle estimate
    leaves) and photometric changes."""
    deg = p.strip_rotation_deg if getattr(p, "crop", "square") == "upright" else p.rotation_deg
    photometric = T.Photometric(p.photometric_prob, seed + 1, p.low_light_prob, p.color_swap_prob)
    rotation = T.RandomRotation(deg, p.rotation_prob, seed)
    shear, stroke = getattr(p, "glyph_shear", 0.0), getattr(p, "stroke_prob", 0.0)
    if not (shear or stroke):  # the composition of earlier runs, draw for draw
        return T.Compose([rotation, photometric])
    return T.Compose([T.GlyphShape(shear, stroke, seed + 2), rotation, photometric])


def crop_input_size(p) -> int | list[int]:
    """What ``build_crops`` cuts: the square's side, or the strip's [w, h]."""
    return [int(v) for v in p.strip_size] if getattr(p, "crop", "square") == "upright" else p.crop_size


def train_char_model(
    train: list[Frame],
    val: list[Frame],
    p,
    roi_model,
    roi_size,
    *,
    device,
    checkpoint: Path,
    fingerprint: str,
    out: Path,
    seed: int = 0,
    on_epoch: Callable[[dict], None] | None = None,
    progress: bool = True,
    log: Log = print,
) -> dict:
    """Stage 2 on crops of the frozen ``roi_model``'s predictions; writes ``out``.

    The ROI model is frozen (no gradients, eval mode, not in the optimizer) and used only to make
    the crops, before the character model's training starts.
    """
    t0 = time.perf_counter()
    device = distributed.setup(device)
    progress = progress and distributed.is_main()
    val = val if distributed.is_main() else []  # validation runs on rank 0 only
    log = distributed.main_only(log)
    seed_everything(seed)
    roi_model = freeze(roi_model).to(device)
    spec = char_spec(p, CHAR_CLASSES)
    crop = getattr(p, "crop", "square")
    crops = build_crops(
        train,
        roi_model,
        roi_size,
        p.roi_score_threshold,
        p.crop_margin,
        crop_input_size(p),
        p.gt_roi_crops,
        device,
        progress,
        crop,
    )
    val_crops = build_crops(
        val,
        roi_model,
        roi_size,
        p.roi_score_threshold,
        p.crop_margin,
        crop_input_size(p),
        False,
        device,
        progress,
        crop,
    )
    crops_s = time.perf_counter() - t0
    n_pred = sum(c.source == "pred" for c in crops)
    log(
        f"stage-2 crops: {len(crops)} for training ({n_pred} from stage-1 predictions, "
        f"{sum(len(c.labels) == 0 for c in crops)} without characters), {len(val_crops)} for validation; "
        f"{crops_s:.1f} s"
    )
    model = build_ssd(spec).to(device)
    pretrained: dict = {}  # filled only on a fresh start (not on resume)

    def init(m) -> None:
        pretrained.update(load_pretrained(m, p.pretrained, p.width_mult, "ocr.char") or {})

    weights = class_balance_weights(crops) if p.balance_classes else None
    loader = _loader(
        CropDataset(crops, char_transforms(p, distributed.replica_seed(seed))), p.batch_size, seed, weights
    )
    val_images = [to_tensor(c.image) for c in val_crops]
    val_targets = [{"boxes": c.boxes, "labels": c.labels} for c in val_crops]
    history = _fit_detector(
        model,
        spec,
        loader,
        p,
        val_images,
        val_targets,
        "val_char_map50",
        64,
        device=device,
        checkpoint=checkpoint,
        fingerprint=fingerprint,
        out=out,
        on_epoch=on_epoch,
        progress=progress,
        log=log,
        init=init,
        extra={"crop_margin": float(p.crop_margin)},
    )
    return {
        "history": history,
        "train_s": time.perf_counter() - t0,
        "crops_s": crops_s,
        "spec": spec,
        "train_crops": len(crops),
        "train_crops_pred": n_pred,
        "val_crops": len(val_crops),
        "params": sum(q.numel() for q in model.parameters()),
        "pretrained": pretrained,
        "char_boxes_per_crop": float(np.mean([len(c.labels) for c in crops])) if crops else 0.0,
    }


@torch.no_grad()
def choose_roi_threshold(
    roi_model, roi_size, frames: list[Frame], device: torch.device | str = "cpu", progress: bool = True
) -> ThresholdChoice:
    """The stage-1 threshold with the best F1 on ``frames`` (the val split): every detection the
    model keeps (its own ``score_threshold``) matched VOC-style at IoU 0.5 to the frame's ROIs, in
    full-frame pixels as the pipeline sees them (``components.ocr.threshold.choose_threshold``)."""
    roi_model = roi_model.to(device).eval()
    dets, gts = [], []
    for f in tqdm(frames, desc="roi threshold", unit="img", disable=not progress, dynamic_ncols=True):
        boxes, scores = predict_rois(roi_model, f.image(), roi_size, 0.0, device)
        dets.append({"boxes": boxes, "labels": np.ones(len(boxes), np.int64), "scores": scores})
        gts.append({"boxes": f.rois, "labels": np.ones(len(f.rois), np.int64)})
    rec = voc_records(dets, gts)
    return choose_threshold(rec.score, rec.tp, int(rec.gt_counts.sum()))
