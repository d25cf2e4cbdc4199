"""Training behaviour on a handful of real synthetic frames: resume after SIGKILL, frozen stage 1."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from components.config import parse_params
from components.ocr.data import load_frames
from components.ocr.model import build_ssd, freeze, parameter_hash, roi_spec
from components.ocr.train import train_char_model
from tests.helpers import REPO
from tests.helpers.ocr import tiny_params


def _job(root: Path, ckpt: Path, out: Path, pause: float) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.components.ocr.train_job",
            str(root),
            str(ckpt),
            str(out),
            "--epochs",
            "4",
            "--pause",
            str(pause),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
def test_sigkilled_training_resumes_from_its_last_checkpoint(tiny_ocr, tmp_path):
    ckpt, out = tmp_path / "resume/roi_last.pt", tmp_path / "roi.pt"
    proc = _job(tiny_ocr, ckpt, out, pause=30.0)
    seen = []
    try:
        deadline = time.monotonic() + 120
        for line in proc.stdout:  # the checkpoint of epoch 2 is written before the pause after it
            seen.append(line)
            if line.startswith("epoch 2"):
                break
            assert time.monotonic() < deadline, "".join(seen)
        deadline = time.monotonic() + 30
        while not ckpt.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        saved = torch.load(ckpt, weights_only=True)["epoch"]
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert saved >= 0 and not out.exists()

    rerun = _job(tiny_ocr, ckpt, out, pause=0.0)
    log, _ = rerun.communicate(timeout=180)
    assert rerun.returncode == 0, log
    assert f"resuming from {ckpt} after epoch {saved + 1}/4" in log, log
    epochs_run = [int(e) for e in re.findall(r"^epoch (\d+)$", log, re.MULTILINE)]
    assert epochs_run == list(range(saved + 2, 5)), log  # not from epoch 1 again
    assert "history 1 2 3 4" in log  # the earlier epochs' records came back too
    assert out.exists() and not ckpt.exists()  # final model written, checkpoint retired


def test_stage_two_leaves_the_frozen_roi_model_unchanged(tiny_ocr, tmp_path):
    torch.set_num_threads(1)
    ocr = parse_params(tiny_params(epochs=1)).ocr
    roi = build_ssd(roi_spec(ocr.roi))
    roi.train()  # whatever mode it arrives in, stage 2 must freeze it
    before = parameter_hash(roi)
    frames = load_frames(tiny_ocr / "data/manifests/ocr.parquet", tiny_ocr / "data/ocr", "train")
    summary = train_char_model(
        frames[:3],
        frames[:2],
        ocr.char,
        roi,
        ocr.roi.input_size,
        device="cpu",
        checkpoint=tmp_path / "char_last.pt",
        fingerprint="t",
        out=tmp_path / "char.pt",
        progress=False,
        log=lambda m: None,
    )
    assert parameter_hash(roi) == before
    assert not any(p.requires_grad for p in roi.parameters()) and not roi.training
    assert summary["train_crops"] > 0 and (tmp_path / "char.pt").exists()
    # the check is sensitive: one optimizer step on an unfrozen copy does change the hash
    other = build_ssd(roi_spec(ocr.roi))
    other.load_state_dict(roi.state_dict())
    assert parameter_hash(other) == before
    freeze(other)
    with torch.no_grad():
        next(other.parameters()).mul_(1.001)
    assert parameter_hash(other) != before
