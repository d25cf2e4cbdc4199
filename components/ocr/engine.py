"""Training loop of both detectors: short and flat, after torchvision's references/detection.

``fit`` runs epochs of ``train_one_epoch``, calls back after each (the flow logs to MLflow and DVC
plots there, so this module knows nothing of either), and checkpoints every ``save_cycle`` epochs
and on Ctrl-C. A checkpoint holds model, optimizer, schedule, RNG states and the history so far,
plus a fingerprint of the run's parameters and data: a rerun with the same fingerprint resumes
after the last saved epoch (also after SIGKILL, since checkpoints are written atomically), any
other run starts fresh. The checkpoint is removed once the final model is written.

Under ``torchrun`` the same loop runs in every replica (``components/ocr/distributed.py``): the
model is wrapped in DDP for the training steps, the loader's sampler is reshuffled per epoch, and
only rank 0 validates, logs, shows progress and writes checkpoints while the others wait.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from components.io import atomic_path
from components.ocr import distributed


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """AdamW; no weight decay on BatchNorm and biases (1-d tensors), as in torchvision's references."""
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (no_decay if p.ndim <= 1 else decay).append(p)
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=lr
    )


def make_scheduler(optimizer, kind: str, lr: float, total_steps: int, warmup_frac: float):
    """Per-step schedule: one-cycle (warm-up then cosine to ~0), cosine, or constant."""
    total_steps = max(1, total_steps)
    if kind == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=lr,
            total_steps=total_steps,
            pct_start=max(warmup_frac, 1e-3),
            div_factor=10.0,
            final_div_factor=100.0,
        )
    if kind == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total_steps) / total_steps))
        )
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0)


def _to(device, images, targets):
    return [i.to(device, non_blocking=True) for i in images], [{k: v.to(device) for k, v in t.items()} for t in targets]


def train_one_epoch(
    model,
    loader: DataLoader,
    optimizer,
    scheduler,
    device,
    epoch: int,
    epochs: int,
    progress: bool = True,
    max_grad_norm: float = 10.0,
) -> dict[str, float]:
    """One pass over ``loader``; returns the mean of each SSD loss and their sum (``loss``)."""
    model.train()
    sums: dict[str, float] = {}
    n = 0
    bar = tqdm(
        loader,
        desc=f"epoch {epoch + 1}/{epochs}",
        unit="batch",
        disable=not progress,
        dynamic_ncols=True,
        leave=False,
        file=sys.stderr,
    )
    for images, targets in bar:
        images, targets = _to(device, images, targets)
        losses = model(images, targets)
        loss = sum(losses.values())
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss is {loss.item()} at epoch {epoch + 1}; lower the learning rate")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        scheduler.step()
        n += 1
        for k, v in losses.items():
            sums[k] = sums.get(k, 0.0) + float(v.detach())
        sums["loss"] = sums.get("loss", 0.0) + float(loss.detach())
        bar.set_postfix(loss=f"{sums['loss'] / n:.3f}", lr=f"{optimizer.param_groups[0]['lr']:.2e}")
    return {k: v / max(n, 1) for k, v in sums.items()}


@torch.no_grad()
def predict(model, images: Iterable[torch.Tensor], device, batch_size: int = 16) -> list[dict[str, np.ndarray]]:
    """Detections (boxes, labels, scores as numpy) for each image tensor, in order."""
    model.eval()
    images = list(images)
    out = []
    for i in range(0, len(images), batch_size):
        dets = model([im.to(device) for im in images[i : i + batch_size]])
        out += [{k: v.cpu().numpy() for k, v in d.items()} for d in dets]
    return out


# ---------------------------------------------------------------------------------- checkpoints ---


def save_checkpoint(
    path: str | Path, *, epoch: int, model, optimizer, scheduler, history: list[dict], fingerprint: str
) -> None:
    """Everything a resume needs; atomic, so a kill mid-write leaves the previous checkpoint."""
    state = {
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "history": history,
        "fingerprint": fingerprint,
        "torch_rng": torch.get_rng_state(),
        "numpy_rng": _np_state(),
    }
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def _np_state() -> dict:
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "name": name,
        "keys": torch.from_numpy(keys.astype(np.int64)),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "gauss": float(gauss),
    }


def load_checkpoint(path: str | Path, fingerprint: str, model, optimizer, scheduler) -> tuple[int, list[dict]]:
    """Restore from ``path`` if it exists and belongs to this run; return (next epoch, history)."""
    path = Path(path)
    # rank 0 reads, every replica restarts from what it read (also when only rank 0 sees the file)
    state = torch.load(path, map_location="cpu", weights_only=True) if distributed.is_main() and path.exists() else None
    state = distributed.broadcast_object(state)
    if state is None or state.get("fingerprint") != fingerprint:
        return 0, []
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    s = state["numpy_rng"]
    np.random.set_state((s["name"], s["keys"].numpy().astype(np.uint32), s["pos"], s["has_gauss"], s["gauss"]))
    return int(state["epoch"]) + 1, list(state["history"])


def fit(
    model,
    loader: DataLoader,
    *,
    epochs: int,
    optimizer,
    scheduler,
    device,
    checkpoint: str | Path,
    save_cycle: int,
    fingerprint: str,
    on_epoch_end: Callable[[int, dict], dict] | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
    init: Callable[[Any], None] | None = None,
) -> list[dict]:
    """Train for ``epochs`` (resuming from ``checkpoint`` when it matches ``fingerprint``).

    ``init(model)`` runs only when the training starts fresh (no matching checkpoint), on every
    replica, before the first step: where pretrained backbone weights are loaded.

    ``on_epoch_end(epoch, train_losses)`` returns validation metrics; each history row is
    ``{"epoch": e + 1, **losses, **metrics, "lr": ..., "epoch_s": ...}``.

    Under torchrun: ``on_epoch_end``, ``log``, progress and checkpoints on rank 0 only (its history
    rows hold the losses averaged over the replicas); ``model`` stays unwrapped, DDP is inside.
    """
    main = distributed.is_main()
    progress = progress and main
    log = distributed.main_only(log)
    if distributed.world_size() > 1:  # per-replica step counts differ with the number of replicas
        fingerprint = f"{fingerprint}/world_size={distributed.world_size()}"
    start, history = load_checkpoint(checkpoint, fingerprint, model, optimizer, scheduler)
    if start:
        log(f"resuming from {checkpoint} after epoch {start}/{epochs}")
    elif init is not None:
        init(model)
    # channels-last (NHWC): oneDNN's CPU convolutions, depthwise ones above all, run about 1.7x
    # faster forward and backward than in NCHW (measured in docs/experiments.md, OCR speed-ups)
    model.to(device, memory_format=torch.channels_last)
    net = distributed.wrap(model, device)  # the model itself in a single process
    epoch_bar = tqdm(
        range(start, epochs),
        initial=start,
        total=epochs,
        desc="epochs",
        unit="epoch",
        disable=not progress,
        dynamic_ncols=True,
        file=sys.stderr,
    )
    epoch = start - 1
    try:
        for epoch in epoch_bar:
            t0 = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            distributed.set_epoch(loader, epoch)
            losses = train_one_epoch(net, loader, optimizer, scheduler, device, epoch, epochs, progress)
            losses = distributed.mean(losses)
            distributed.average_buffers(model)
            train_s = time.perf_counter() - t0
            metrics = on_epoch_end(epoch, losses) if on_epoch_end and main else {}
            row = {"epoch": epoch + 1, **losses, **metrics, "lr": lr, "epoch_s": train_s}
            history.append(row)
            epoch_bar.set_postfix({k: f"{v:.3f}" for k, v in row.items() if k in ("loss", *metrics)})
            log(f"epoch {epoch + 1}/{epochs}: " + ", ".join(f"{k}={v:.4g}" for k, v in row.items() if k != "epoch"))
            if main and (epoch + 1) % save_cycle == 0 and epoch + 1 < epochs:
                save_checkpoint(
                    checkpoint,
                    epoch=epoch,
                    model=model,
                    optimizer=optimizer,
                    scheduler=scheduler,
                    history=history,
                    fingerprint=fingerprint,
                )
            distributed.barrier()  # the other replicas wait here while rank 0 validates and writes
    except KeyboardInterrupt:  # Ctrl-C: keep what the finished epochs earned, then stop
        if main and history and history[-1]["epoch"] == epoch + 1:
            save_checkpoint(
                checkpoint,
                epoch=epoch,
                model=model,
                optimizer=optimizer,
                scheduler=scheduler,
                history=history,
                fingerprint=fingerprint,
            )
            log(f"interrupted: checkpoint after epoch {epoch + 1} in {checkpoint}; rerun to resume")
        raise
    finally:
        epoch_bar.close()
    return history
