"""Training loop: the cosine schedule's length, that training learns, and resume after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from components.crack.data import CrackSplit
from components.crack.train import cosine_schedule
from tests.helpers import REPO

TINY = {
    "input_size": (96, 64),
    "alpha": 0.35,
    "decoder_filters": (16, 16, 16, 16),
    "decoder_convs": 1,
    "decoder_block": "separable",
}


def tiny_split(n: int, seed: int = 0) -> CrackSplit:
    """Noise images with a dark straight crack in most of them (a learnable signal)."""
    import cv2

    rng = np.random.default_rng(seed)
    images = rng.integers(90, 170, size=(n, 64, 96, 3), dtype=np.uint8)
    masks = np.zeros((n, 64, 96), np.uint8)
    for i in range(n):
        if i % 4:
            p = rng.integers(0, [96, 64, 96, 64])
            cv2.line(masks[i], (int(p[0]), int(p[1])), (int(p[2]), int(p[3])), 1, 3)
            images[i][masks[i] > 0] //= 3
    return CrackSplit([f"t{i}" for i in range(n)], images, masks)


def test_cosine_schedule_reaches_zero_only_at_the_true_last_step():
    epochs, steps = 20, 37
    sched = cosine_schedule(1e-3, epochs, steps)
    total = epochs * steps
    assert float(sched(0)) == pytest.approx(1e-3)
    assert float(sched(total // 2)) == pytest.approx(5e-4, rel=1e-4)
    # the seed's schedule was already ~0 after 16 of 20 epochs; here the lr there is still ~1/10 of the peak
    assert float(sched(16 * steps)) == pytest.approx(1e-3 * (1 + np.cos(np.pi * 0.8)) / 2, rel=1e-4)
    assert float(sched(16 * steps)) > 9e-5
    assert 0 < float(sched(total - 1)) < 1e-8
    assert float(sched(total)) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.slow
def test_a_few_steps_reduce_the_loss(tmp_path):
    from components.crack.model import build_unet
    from components.crack.train import fit, setup_tf

    setup_tf(0)
    data = tiny_split(16)
    model = build_unet(**TINY, flexible=True)
    saved = []
    result = fit(
        model,
        data,
        tiny_split(4, seed=1),
        epochs=4,
        batch_size=4,
        lr=3e-3,
        state_dir=tmp_path / "state",
        fingerprint="t",
        save=saved.append,
        log=lambda s: None,
    )
    losses = [row["loss"] for row in result.history]
    assert losses[-1] < 0.7 * losses[0], losses
    assert saved == [model] and 1 <= result.best_epoch <= 4
    assert not list((tmp_path / "state").glob("*.npz"))  # state cleared once the output is saved
    assert result.images_per_s > 0


@pytest.mark.slow
def test_a_start_dice_no_epoch_beats_keeps_the_starting_weights(tmp_path):
    """Fine-tuning that only hurts (here: an absurd learning rate) must not replace a better start."""
    from components.crack.model import build_unet
    from components.crack.train import fit, setup_tf

    setup_tf(0)
    model = build_unet(**TINY, flexible=True)
    start = [w.copy() for w in model.get_weights()]
    result = fit(
        model,
        tiny_split(8),
        tiny_split(4, seed=1),
        epochs=1,
        batch_size=4,
        lr=10.0,
        state_dir=tmp_path,
        fingerprint="t",
        save=lambda m: None,
        log=lambda s: None,
        start_dice=1.0,
    )
    assert (result.best_epoch, result.best_dice) == (0, 1.0) and len(result.history) == 1
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), start))
    assert not list(tmp_path.glob("*.npz"))


@pytest.mark.slow
def test_distillation_trains_on_the_teachers_softmax_not_the_labels(tmp_path):
    """crack.qat.distill: each step's target is the teacher's softmax on the same augmented crop.
    With lr 0 the weights stay put, so the epoch's loss must equal the distillation loss computed
    here on the same batches, and differ from the loss on the labels."""
    import tensorflow as tf
    import tf_keras as keras

    from components.crack.data import train_dataset
    from components.crack.losses import cross_entropy, distillation
    from components.crack.model import build_unet
    from components.crack.train import fit, setup_tf

    inp = keras.Input((None, None, 3))  # a teacher that calls the dark pixels crack
    dark = keras.layers.Lambda(lambda x: 6.0 * (-1.0 - tf.reduce_mean(x, -1, keepdims=True)))(inp)
    teacher = keras.Model(inp, keras.layers.Concatenate()([keras.layers.Lambda(tf.zeros_like)(dark), dark]))
    setup_tf(0)
    student, data = build_unet(**TINY, flexible=True), tiny_split(8)
    batches = list(train_dataset(data, 4, seed=3, epoch=0))
    expected = np.mean([float(distillation(tf.nn.softmax(teacher(x)), student(x, training=True))) for x, _ in batches])
    on_labels = np.mean([float(cross_entropy(y, student(x, training=True))) for x, y in batches])
    result = fit(
        student,
        data,
        tiny_split(4, seed=1),
        epochs=1,
        batch_size=4,
        lr=1e-12,
        seed=3,
        state_dir=tmp_path,
        fingerprint="d",
        save=lambda m: None,
        log=lambda s: None,
        teacher=teacher,
    )
    assert result.history[0]["loss"] == pytest.approx(expected, rel=1e-4)
    assert result.history[0]["loss"] != pytest.approx(on_labels, rel=1e-3)  # the labels' loss is told apart


TRAIN_SCRIPT = """
import json
from components.crack.model import build_unet
from components.crack.train import fit, setup_tf
from tests.components.crack.test_train import TINY, tiny_split
setup_tf(0, threads=1)
model = build_unet(**TINY, flexible=True)
r = fit(model, tiny_split(8), tiny_split(4, 1), epochs={epochs}, batch_size=4, lr=1e-3, state_dir={state!r},
        fingerprint="job", save=lambda m: None, log=lambda s: print(s, flush=True))
print("RESULT " + json.dumps({{"resumed_from": r.resumed_from, "epochs": [h["epoch"] for h in r.history]}}), flush=True)
"""


@pytest.mark.slow
def test_resumes_after_sigkill(tmp_path):
    epochs, state = 6, tmp_path / "state"  # killed right after epoch 1 is saved (an epoch takes >0.1 s)
    script = tmp_path / "train.py"
    script.write_text(TRAIN_SCRIPT.format(epochs=epochs, state=str(state)))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(
        [sys.executable, str(script)], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 120
    while not (state / "last.npz").exists():
        assert proc.poll() is None, (
            f"training ended before its first checkpoint:\n{proc.stdout.read().decode()[-3000:]}"
        )
        assert time.monotonic() < deadline, "no checkpoint within 120 s"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with np.load(state / "last.npz") as z:
        saved_epoch = json.loads(z["meta"].tobytes().decode())["epoch"]
    assert 1 <= saved_epoch < epochs

    out = subprocess.run(
        [sys.executable, str(script)], check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert f"resuming from epoch {saved_epoch}/{epochs}" in out.stdout
    result = json.loads(out.stdout.split("RESULT ", 1)[1])
    assert result["resumed_from"] == saved_epoch
    assert result["epochs"] == list(range(1, epochs + 1))  # history continues; no epoch lost or repeated
    assert not (state / "last.npz").exists()
