"""An off-the-shelf alternative to our stage-1 detector: torchvision's SSDLite320-MobileNetV3-Large,
trained here on the same ROI data with the same recipe, against models/ocr/roi.pt.

    python bench/ssdlite_peer.py [--quick] [--epochs N] [--threads 2] [--out FILE]

Same data (manifest splits; frames downsampled by 4 to ``ocr.roi.input_size``, held as uint8, with
the stage's flip + photometric augmentation), same optimizer and schedule (AdamW, ``ocr.roi`` lr,
batch size, one-cycle, weight decay) and the training loop our detector uses
(``components.ocr.engine``), for a fixed small budget: ``FULL_EPOCHS`` epochs, about the wall time
of our 8 (a training step of SSDLite costs ~3 of ours on this CPU); ``--epochs`` changes it. No pretrained weights
(``weights=None, weights_backbone=None``: there is no internet, and ours starts from scratch too).
SSDLite resizes its input to 320x320 itself; its post-processing is set to ours (score > 0.05,
NMS IoU 0.45, 20 detections) so latency compares the same work.

Reported for both detectors: AP50 of the raw detector on the test split (``voc_map`` on the
downsampled frames, as ``train_roi`` validates), validation AP50 per epoch (ours from
``plots/train_roi.csv``, written when roi.pt was trained), parameters, state-dict size, FLOPs
(``FlopCounterMode``) and latency of one detector call at batch 1.
"""

from __future__ import annotations

import csv
import io
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from bench.common import REPO, finish, load_average, parse_common
from components.config import load_params
from components.latency import time_calls
from components.ocr import transforms as T
from components.ocr.data import RoiDataset, collate, load_frames
from components.ocr.engine import (
    fit,
    make_optimizer,
    make_scheduler,
    predict,
    seed_everything,
)
from components.ocr.metrics import voc_map
from components.ocr.model import load_model
from components.ocr.train import dataset_targets

DATA = REPO / "data/ocr"
MANIFEST = REPO / "data/manifests/ocr.parquet"
ROI_MODEL = REPO / "models/ocr/roi.pt"
ROI_HISTORY = REPO / "plots/train_roi.csv"
# a fixed small budget: a SSDLite320 training step costs ~3 of ours (0.8 vs 0.3 GFLOP per frame, plus
# hard-swish and squeeze-excitation), so 3 epochs take about the time of our 8; the schedule is ours, compressed
FULL_EPOCHS = 3


def build_ssdlite(spec: dict):
    """SSDLite320 (MobileNetV3-Large, reduced tail as torchvision does without a pretrained backbone),
    2 classes, post-processing as our detector's ``spec``. BatchNorm momentum 0.1 as in our detector:
    torchvision's 0.03 suits its 600-epoch recipe, but after the few hundred steps here the running
    statistics would still lag the weights and the model would find nothing in eval mode."""
    from functools import partial

    from torch import nn
    from torchvision.models.detection import ssdlite320_mobilenet_v3_large

    model = ssdlite320_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=2, norm_layer=partial(nn.BatchNorm2d, eps=0.001, momentum=0.1)
    )
    model.score_thresh, model.nms_thresh = spec["score_threshold"], spec["nms_iou"]
    model.detections_per_img, model.topk_candidates = spec["detections"], spec["detections"] * 2
    return model


def ap50(model, ds: RoiDataset) -> float:
    images = [ds[i][0] for i in range(len(ds))]
    return voc_map(predict(model, images, "cpu"), dataset_targets(ds))[0] if images else float("nan")


def our_history() -> list[dict]:
    if not ROI_HISTORY.exists():
        return []
    rows = list(csv.DictReader(io.StringIO(ROI_HISTORY.read_text())))
    return [
        {"epoch": int(r["epoch"]), "val_roi_ap50": float(r["val_roi_ap50"]), "epoch_s": float(r["epoch_s"])}
        for r in rows
        if r.get("val_roi_ap50")
    ]


def state_bytes(model) -> int:
    with tempfile.TemporaryFile() as f:
        torch.save(model.state_dict(), f)
        return f.tell()


def detector_row(model, test: RoiDataset, threads_list, warmup: int, runs: int) -> dict:
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    x = test[0][0]
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model([x])
    row = {
        "params": sum(p.numel() for p in model.parameters()),
        "state_dict_bytes": state_bytes(model),
        "flops": int(counter.get_total_flops()),
        "test_ap50": ap50(model, test),
        "latency": {},
    }
    images = [test[i][0] for i in range(min(len(test), 16))]
    for t in threads_list:
        torch.set_num_threads(t)
        with torch.no_grad():
            row["latency"][str(t)] = {
                **time_calls(lambda im: model([im]), images, warmup, runs),
                "load_average": load_average(),
            }
    return row


def main(argv: list[str] | None = None) -> dict:
    def extra(ap):
        ap.add_argument(
            "--epochs", type=int, help=f"default {FULL_EPOCHS} (quick: 1); ocr.roi.epochs for the same budget as ours"
        )
        ap.add_argument(
            "--threads",
            type=int,
            default=1,
            help="torch threads for training (1: on a shared 2-core machine 2 threads ran 3x slower per step)",
        )
        ap.add_argument("--latency-threads", type=int, nargs="+", default=[1, 2])

    args = parse_common(argv, __doc__.splitlines()[0], extra)
    q = args.quick
    p = load_params(REPO / "params.yaml").ocr.roi
    epochs = args.epochs or (1 if q else FULL_EPOCHS)
    torch.set_num_threads(args.threads)
    seed_everything(0)
    train = load_frames(MANIFEST, DATA, "train", 32 if q else 0)
    val = load_frames(MANIFEST, DATA, "val", 8 if q else 0)
    test = load_frames(MANIFEST, DATA, "test", 10 if q else 0)
    tf = T.Compose([T.HorizontalFlip(0.5, 0), T.Photometric(0.8, 1)])  # train_roi's augmentation
    train_ds = RoiDataset(train, p.input_size, tf, progress=False)
    val_ds = RoiDataset(val, p.input_size, None, progress=False)
    test_ds = RoiDataset(test, p.input_size, None, progress=False)
    ours, spec = load_model(ROI_MODEL)
    model = build_ssdlite(spec)
    g = torch.Generator().manual_seed(0)
    loader = DataLoader(
        train_ds,
        batch_size=p.batch_size,
        shuffle=True,
        collate_fn=collate,
        generator=g,
        drop_last=len(train_ds) > p.batch_size,
    )
    optimizer = make_optimizer(model, p.lr, p.weight_decay)
    scheduler = make_scheduler(optimizer, p.lr_schedule, p.lr, epochs * len(loader), p.warmup_frac)
    print(
        f"SSDLite320: training {epochs} epoch(s) on {len(train_ds)} frames ({len(loader)} steps/epoch), "
        f"{args.threads} threads, load {load_average()}",
        flush=True,
    )
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        history = fit(
            model,
            loader,
            epochs=epochs,
            optimizer=optimizer,
            scheduler=scheduler,
            device=torch.device("cpu"),
            checkpoint=Path(tmp) / "ssdlite.pt",
            save_cycle=10**6,
            fingerprint="bench",
            on_epoch_end=lambda e, losses: {"val_roi_ap50": ap50(model, val_ds)},
            progress=False,
            log=lambda m: print("  " + m, flush=True),
        )
    train_s = time.perf_counter() - t0
    warmup, runs = (2, 8) if q else (5, 40)
    result = {
        "epochs": epochs,
        "train_frames": len(train_ds),
        "val_frames": len(val_ds),
        "test_frames": len(test_ds),
        "batch_size": p.batch_size,
        "lr": p.lr,
        "schedule": p.lr_schedule,
        "train_threads": args.threads,
        "input_size": list(p.input_size),
        "ssdlite": {
            **detector_row(model, test_ds, args.latency_threads, warmup, runs),
            "train_s": train_s,
            "val_history": [
                {"epoch": h["epoch"], "val_roi_ap50": h.get("val_roi_ap50"), "epoch_s": h["epoch_s"]} for h in history
            ],
        },
        "ours": {
            **detector_row(ours, test_ds, args.latency_threads, warmup, runs),
            "epochs": p.epochs,
            "val_history": our_history(),
        },
    }
    for name in ("ours", "ssdlite"):
        r = result[name]
        print(
            f"  {name:<8s} test AP50 {r['test_ap50']:.4f}, {r['params'] / 1e6:.2f} M params, {r['flops'] / 1e9:.2f} "
            "GFLOP, " + ", ".join(f"{t}t p50 {v['latency_ms_p50']:.1f} ms" for t, v in r["latency"].items()),
            flush=True,
        )
    return finish(args, result)


if __name__ == "__main__":
    main()
