"""DDP under torchrun: two CPU replicas (gloo) train one model on disjoint shards of the tiny fixture.

Each test starts ``torchrun --nproc_per_node=2`` (as ``python -m torch.distributed.run``, the same
program) on a free port; every replica writes what it saw and its final weights' hash
(``tests/components/ocr/ddp_job.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from components.ocr.distributed import ShardedWeightedSampler
from components.ocr.model import load_model, parameter_hash
from components.servers import free_port
from tests.helpers import REPO


def _torchrun(root: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_addr=127.0.0.1",
        f"--master_port={free_port()}",
        "-m",
        "tests.components.ocr.ddp_job",
        str(root),
        str(out),
        *args,
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.run(cmd, check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)


def _ranks(out: Path) -> tuple[dict, dict]:
    r0, r1 = (json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["world_size"] == r1["world_size"] == 2
    return r0, r1


@pytest.mark.slow
def test_two_replicas_train_one_model_on_disjoint_shards(tiny_ocr, tmp_path):
    run = _torchrun(tiny_ocr, tmp_path, "--stage", "roi", "--epochs", "1")
    assert run.returncode == 0, run.stdout + run.stderr
    r0, r1 = _ranks(tmp_path)
    assert r0["initial"] == r1["initial"]
    assert r0["final"] == r1["final"]  # parameters and BatchNorm buffers, bit for bit
    assert r0["final"] != r0["initial"]  # and they did train
    s0, s1 = r0["seen"], r1["seen"]  # the 6 frames, 3 per replica, each read once
    assert len(s0) == len(s1) == 3 and not set(s0) & set(s1) and set(s0) | set(s1) == set(range(6))
    assert r0["on_epoch"] == [1] and r1["on_epoch"] == []  # validation and logging on rank 0 only
    model, _ = load_model(tmp_path / "roi.pt")  # written by rank 0: the replicas' model
    assert parameter_hash(model) == r0["final"]
    assert not (tmp_path / "roi_last.pt").exists()


@pytest.mark.parametrize("n", [7, 8])
def test_weighted_shards_split_one_weighted_epoch(n):
    weights = [1.0] * (n - 1) + [50.0]
    shards = [ShardedWeightedSampler(weights, 2, r, seed=3) for r in (0, 1)]
    draws = [list(s) for s in shards]
    assert [len(d) for d in draws] == [len(s) for s in shards] == [(n + 1) // 2] * 2
    merged = [d for pair in zip(*draws) for d in pair]  # positions r, r + 2, ... put back together
    g = torch.Generator().manual_seed(3)
    assert (
        merged == torch.multinomial(torch.tensor(weights, dtype=torch.double), len(merged), True, generator=g).tolist()
    )
    for s in shards:
        s.set_epoch(1)
    assert [list(s) for s in shards] != draws  # a new draw each epoch
