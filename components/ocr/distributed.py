"""DistributedDataParallel for the OCR detectors under ``torchrun`` (docs/architecture.md#scale-out).

``torchrun --nproc_per_node=N -m flows.train_roi`` starts N copies of the same program and puts
RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT in each one's environment. The training
code (``components/ocr/train.py``, ``engine.py``) calls the helpers below at the few points where a
replica must behave differently; without torchrun (WORLD_SIZE unset or 1) every helper is a no-op,
so single-process training is exactly the loop it always was.

The choices, and why:

* **Process group** from torchrun's environment (``env://``), gloo on CPU and NCCL on CUDA (one GPU
  per replica: ``cuda:LOCAL_RANK``), created lazily by the first training call, so any caller (a
  flow, a test, a notebook) gets DDP just by being started with torchrun.
* **Data**: each replica reads a disjoint shard of the training set per epoch (``DistributedSampler``,
  reshuffled per epoch by ``set_epoch``); ``batch_size`` is per replica, so one optimizer step sees
  N x ``batch_size`` images. The learning rate is not rescaled: raise ``lr`` yourself if you want to.
  Augmentations are seeded per replica (``replica_seed``) so replicas do not flip and jitter their
  shards in lockstep.
* **BatchNorm stays per replica** (no SyncBatchNorm): each replica normalises with the statistics
  of its own batch of ``batch_size`` images, which is what single-process training at that batch
  size does, so a recipe tuned on one process carries over. SyncBatchNorm would add a blocking
  all-reduce to every one of the ~50 BatchNorm layers of the MobileNetV2 trunk in every forward and
  backward, which on gloo/CPU costs more than it gains; it pays off only when per-replica batches
  are too small (a few images) for stable statistics.
* **Buffers** (BatchNorm running statistics, used only in eval mode) are averaged over the replicas
  at the end of each epoch (``average_buffers``), before validation and checkpoints. DDP's own
  buffer sync (``forward_sync_buffers``, formerly ``broadcast_buffers``) would not be enough: it
  copies rank 0's buffers at the *start* of each training forward, so the last forward of an epoch
  leaves every replica with its own statistics. It is turned off (it would cost a broadcast per
  step and throw away the other replicas' statistics); DDP still syncs buffers once when it wraps
  the model, and all-reduces gradients as usual, so parameters stay identical.
* **Rank 0 does all the I/O**: checkpoints, the final model, metrics, MLflow, logs and progress
  bars; it alone validates. The other replicas wait at a barrier meanwhile. A resume reads the
  checkpoint on rank 0 and broadcasts it, so every replica restarts from the same state.
"""

from __future__ import annotations

import atexit
import math
import os
from collections.abc import Sequence

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler


def world_size() -> int:
    """Number of replicas torchrun started (1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """This replica's global rank (0 without torchrun); rank 0 is the one that writes."""
    return int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    return rank() == 0


def active() -> bool:
    """True once the process group of a multi-replica run exists."""
    return world_size() > 1 and dist.is_available() and dist.is_initialized()


def setup(device: str | torch.device) -> str | torch.device:
    """Join torchrun's process group (once) and return this replica's device.

    A single process gets ``device`` back unchanged. Under torchrun, CUDA means ``cuda:LOCAL_RANK``
    with NCCL, anything else the CPU with gloo.
    """
    if world_size() <= 1:
        return device
    cuda = torch.device(device).type == "cuda"
    if cuda:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo", device_id=device if cuda else None)
        atexit.register(_teardown)
    return device


def _teardown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def main_only(log):
    """``log`` on rank 0, a no-op on the other replicas (one line per event, not N)."""
    return log if is_main() else _quiet


def _quiet(message: str) -> None:
    pass


def replica_seed(seed: int) -> int:
    """Seed of this replica's augmentations: ``seed`` on rank 0 (and in a single process)."""
    return seed + 10_000 * rank()


def wrap(model: torch.nn.Module, device) -> torch.nn.Module:
    """``model`` in DDP under torchrun (gradients all-reduced in backward), else ``model`` itself.
    Validation, checkpoints and the saved model use the unwrapped ``model``."""
    if not active():
        return model
    device = torch.device(device)
    return torch.nn.parallel.DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None, forward_sync_buffers=False
    )


class ShardedWeightedSampler(Sampler[int]):
    """``WeightedRandomSampler`` (with replacement) split over replicas: every replica draws the same
    ``len(weights)`` indices from a generator seeded with ``seed + epoch``, then keeps the draws at
    positions ``rank, rank + N, ...``. Replicas thus take disjoint parts of one weighted epoch,
    the same number of batches each (DDP needs that, or the last all-reduce never completes)."""

    def __init__(self, weights: Sequence[float], num_replicas: int, rank: int, seed: int = 0):
        self.weights = torch.as_tensor(weights, dtype=torch.double)
        self.num_replicas, self.rank, self.seed, self.epoch = num_replicas, rank, seed, 0
        self.num_samples = math.ceil(len(self.weights) / num_replicas)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        draws = torch.multinomial(self.weights, self.num_samples * self.num_replicas, replacement=True, generator=g)
        return iter(draws[self.rank :: self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples


def sampler(ds: Dataset, seed: int, weights: Sequence[float] | None = None) -> Sampler | None:
    """This replica's shard of ``ds`` (weighted draws if ``weights``), or None in a single process."""
    if not active():
        return None
    if weights is not None:
        return ShardedWeightedSampler(weights, world_size(), rank(), seed)
    return DistributedSampler(ds, num_replicas=world_size(), rank=rank(), shuffle=True, seed=seed)


def set_epoch(loader: DataLoader, epoch: int) -> None:
    """Reshuffle the shards for ``epoch`` (same permutation on every replica, so still disjoint)."""
    if hasattr(loader.sampler, "set_epoch"):
        loader.sampler.set_epoch(epoch)


def _comm_device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def mean(values: dict[str, float]) -> dict[str, float]:
    """Per-replica epoch means (losses) -> their mean over all replicas, for rank 0 to log."""
    if not active() or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=_comm_device())
    dist.all_reduce(t)
    return {k: float(v) / world_size() for k, v in zip(keys, t.tolist())}


@torch.no_grad()
def average_buffers(model: torch.nn.Module) -> None:
    """Float buffers (BatchNorm running mean/var) := their mean over replicas; integer ones
    (``num_batches_tracked``, equal anyway) := rank 0's. Afterwards every replica holds the same
    buffers, bit for bit (an all-reduce hands every rank the same sum)."""
    if not active():
        return
    for b in model.buffers():
        if b.is_floating_point():
            dist.all_reduce(b)
            b.div_(world_size())
        else:
            dist.broadcast(b, 0)


def broadcast_object(obj):
    """Rank 0's ``obj`` on every replica (the others pass anything, e.g. None)."""
    if not active():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0, device=_comm_device())
    return box[0]


def barrier() -> None:
    """Wait for every replica (the others idle here while rank 0 validates and writes)."""
    if active():
        dist.barrier(device_ids=[torch.cuda.current_device()] if dist.get_backend() == "nccl" else None)
