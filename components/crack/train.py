"""Training loop shared by float training and QAT fine-tuning (a short custom loop, not fit()).

* Adam with cosine decay stepped per batch over the *true* total, ``epochs * steps_per_epoch``
  (the seed computed its decay length from a different step count and hit zero after 16 of 20
  epochs). The schedule reads ``optimizer.iterations``, which the resume state restores, so a
  resumed run continues the same curve.
* After every epoch the model is scored on the validation split with the Dice of docs/architecture.md#metrics; the best
  epoch's weights are kept (``best.npz``) and loaded back at the end, when ``save`` writes the
  stage output.
* Every ``save_cycle`` epochs the full state (weights, optimizer slots and step, epoch, best Dice,
  history) goes to ``last.npz``. Both files are written atomically (temporary file + rename) in
  ``state_dir`` under ``.cache/``, outside the DVC outs that DVC deletes before a stage runs. A run
  killed with SIGKILL restarts from the last complete state; the state carries a fingerprint of
  the parameters and data, so it is only reused for the same job, and it is deleted once the
  output is saved.
* Progress (step, loss, images/s, ETA) goes to ``log`` every ``log_every`` steps and per epoch.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf
import tf_keras as keras

from components.crack.data import (
    CrackSplit,
    predict_logits,
    steps_per_epoch,
    train_dataset,
)
from components.crack.losses import distillation, get_loss
from components.crack.metrics import Accumulator
from components.io import atomic_path

STATE_VERSION = 1


def setup_tf(seed: int, threads: int | None = None) -> None:
    """Deterministic seeds; one inter-op thread (less oversubscription); ``threads`` intra-op threads,
    else TensorFlow's default: all cores, or ``TF_NUM_INTRAOP_THREADS`` where that is set."""
    try:
        if threads:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialised in this process (tests)
        pass
    keras.utils.set_random_seed(seed)


def cosine_schedule(lr: float, epochs: int, steps: int) -> keras.optimizers.schedules.CosineDecay:
    """lr at step k = lr * (1 + cos(pi * k / (epochs*steps))) / 2; 0 exactly after the last step."""
    return keras.optimizers.schedules.CosineDecay(lr, decay_steps=epochs * steps, alpha=0.0)


def fmt_s(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s"


@dataclass
class FitResult:
    best_dice: float
    best_epoch: int
    history: list[dict] = field(default_factory=list)
    resumed_from: int = 0
    train_seconds: float = 0.0
    train_images: int = 0

    @property
    def images_per_s(self) -> float:
        return self.train_images / self.train_seconds if self.train_seconds else 0.0


def validate(model, data: CrackSplit, batch_size: int = 16) -> float:
    acc, truth = Accumulator(), data.scoring_masks()
    for start, logits in predict_logits(model, data, batch_size):
        acc.add(logits, truth[start : start + len(logits)])
    return acc.result()["dice"]


def _save_weights(path: Path, model) -> None:
    buf = io.BytesIO()
    np.savez(buf, *model.get_weights())
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())


def _load_weights(path: Path) -> list[np.ndarray]:
    with np.load(path) as z:
        return [z[f"arr_{i}"] for i in range(len(z.files))]


def _save_state(path: Path, model, optimizer, meta: dict) -> None:
    arrays = {f"w{i}": w for i, w in enumerate(model.get_weights())}
    arrays.update({f"o{i}": v.numpy() for i, v in enumerate(optimizer.variables)})
    buf = io.BytesIO()
    np.savez(buf, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())


def _load_state(path: Path, model, optimizer, fingerprint: str) -> dict | None:
    """Restore a compatible state into model and optimizer; None if absent or from another job."""
    if not path.exists():
        return None
    with np.load(path) as z:
        meta = json.loads(z["meta"].tobytes().decode())
        if meta.get("fingerprint") != fingerprint or meta.get("version") != STATE_VERSION:
            return None
        n_w = sum(k.startswith("w") for k in z.files)
        model.set_weights([z[f"w{i}"] for i in range(n_w)])
        optimizer.build(model.trainable_variables)
        for i, var in enumerate(optimizer.variables):
            var.assign(z[f"o{i}"])
    return meta


def fit(
    model: keras.Model,
    train: CrackSplit,
    val: CrackSplit,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    loss: str = "ce",
    focal_gamma: float = 2.0,
    crack_weight: float = 1.0,
    augment_cfg=None,
    crop_size: tuple[int, int] | None = None,
    seed: int = 0,
    save_cycle: int = 1,
    state_dir: str | Path,
    fingerprint: str,
    save: Callable[[keras.Model], None],
    on_epoch: Callable[[dict], None] | None = None,
    log: Callable[[str], None] = print,
    log_every: int = 20,
    val_batch_size: int = 16,
    start_dice: float | None = None,
    init: Callable[[keras.Model], None] | None = None,
    teacher: keras.Model | None = None,
) -> FitResult:
    """Train ``model`` in place; return the best validation Dice, its epoch and the history.

    ``init(model)`` runs only when the training starts fresh (no matching resume state), before the
    first step: where pretrained encoder weights are loaded.

    ``start_dice``, the validation Dice of the model as given, makes it the epoch-0 candidate: when
    no epoch beats it (fine-tuning that only hurts), the starting weights are what is saved.

    ``teacher``: train towards this model's softmax on the same (augmented) crops instead of the
    labels (``losses.distillation``; ``loss`` is then unused): QAT that keeps the float model's
    operating point.
    """
    state_dir = Path(state_dir)
    state_path, best_path = state_dir / "last.npz", state_dir / "best.npz"
    steps = steps_per_epoch(train.epoch_size(), batch_size)
    schedule = cosine_schedule(lr, epochs, steps)
    optimizer = keras.optimizers.Adam(schedule)
    loss_fn = distillation if teacher is not None else get_loss(loss, focal_gamma, crack_weight)

    @tf.function
    def train_step(x, y):
        if teacher is not None:
            y = tf.nn.softmax(teacher(x, training=False))
        with tf.GradientTape() as tape:
            value = loss_fn(y, model(x, training=True))
        grads = tape.gradient(value, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return value

    meta = _load_state(state_path, model, optimizer, fingerprint)
    start = meta["epoch"] if meta else 0
    if not meta and init is not None:
        init(model)
    best, best_epoch = (meta["best_dice"], meta["best_epoch"]) if meta else (-1.0, -1)
    if not meta and start_dice is not None:
        best, best_epoch = start_dice, 0
        _save_weights(best_path, model)
    history = meta["history"] if meta else []
    result = FitResult(best, best_epoch, history, resumed_from=start)
    if meta:
        log(f"resuming from epoch {start}/{epochs} (best val dice {best:.4f} at epoch {best_epoch}) from {state_path}")
    total_steps, t_begin = (epochs - start) * steps, time.perf_counter()
    for epoch in range(start, epochs):
        t_epoch, losses = time.perf_counter(), []
        for step, (x, y) in enumerate(train_dataset(train, batch_size, seed, epoch, augment_cfg, crop_size)):
            losses.append(float(train_step(x, y)))
            done = (epoch - start) * steps + step + 1
            if done % log_every == 0 or step + 1 == steps:
                rate = done * batch_size / (time.perf_counter() - t_begin)
                eta = (total_steps - done) * batch_size / rate
                log(
                    f"epoch {epoch + 1}/{epochs} step {step + 1}/{steps} loss {np.mean(losses[-log_every:]):.4f} "
                    f"{rate:.1f} img/s ETA {fmt_s(eta)}"
                )
        train_s = time.perf_counter() - t_epoch
        result.train_seconds += train_s
        result.train_images += steps * batch_size
        val_dice = validate(model, val, val_batch_size)
        row = {
            "epoch": epoch + 1,
            "loss": float(np.mean(losses)),
            "val_dice": val_dice,
            "lr": float(schedule(optimizer.iterations)),
            "epoch_s": train_s,
            "images_per_s": steps * batch_size / train_s,
        }
        history.append(row)
        if val_dice > best:
            best, best_epoch = val_dice, epoch + 1
            _save_weights(best_path, model)
        log(
            f"epoch {epoch + 1}/{epochs}: loss {row['loss']:.4f} val dice {val_dice:.4f} (best {best:.4f} @ "
            f"{best_epoch}) "
            f"{row['images_per_s']:.1f} img/s {fmt_s(train_s)}"
        )
        if on_epoch:
            on_epoch(row)
        if (epoch + 1) % save_cycle == 0 and epoch + 1 < epochs:
            _save_state(
                state_path,
                model,
                optimizer,
                {
                    "version": STATE_VERSION,
                    "fingerprint": fingerprint,
                    "epoch": epoch + 1,
                    "best_dice": best,
                    "best_epoch": best_epoch,
                    "history": history,
                },
            )
    if best_epoch >= 0 and best_path.exists():
        model.set_weights(_load_weights(best_path))
    save(model)
    state_path.unlink(missing_ok=True)  # done and saved: a later run of this job starts fresh
    best_path.unlink(missing_ok=True)
    result.best_dice, result.best_epoch = best, best_epoch
    return result
