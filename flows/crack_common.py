"""Paths and glue shared by the crack flows (train_crack, qat_crack, evaluate_crack)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
from prefect import task

from components.crack.data import CrackSplit, load_split

DATA = Path("data/crack")
MANIFEST = Path("data/manifests/crack.parquet")
MODELS = Path("models/crack")
FLOAT_MODEL = MODELS / "float.keras"
QAT_MODEL = MODELS / "qat.h5"          # HDF5: the .keras format loses the QAT input quantizer's variables
STATE = Path(".cache/crack")           # resume state; outside DVC outs, which DVC deletes before a run
PLOTS = Path("plots/crack")
PER_FRAME = Path("reports/per_frame")  # <stage>/<form>_<set>.parquet: what each model scored on each frame


@task(name="load-crack-splits")
def load_splits(params, splits: tuple[str, ...]) -> dict[str, CrackSplit]:
    """Decode the manifest's ``status == ok`` samples of each split into memory at the model input size."""
    manifest = pd.read_parquet(MANIFEST)
    size = tuple(params.crack.model.input_size)
    out = {s: load_split(manifest, DATA, s, size, params.data.crack.line_thickness, params.data.max_pixels) for s in splits}
    empty = [s for s, data in out.items() if not len(data)]
    if empty:
        raise ValueError(f"{MANIFEST}: no usable (status ok) samples in split(s) {', '.join(empty)}; "
                         "the crack stages need train, val and test samples (see data.splits)")
    return out


@task(name="load-crack-eval-sets")
def load_eval_sets(params) -> dict[str, CrackSplit]:
    """The fixed evaluation sets (``test``: training styles, ``ood``: held-out styles) at the model input size."""
    from flows.paths import SETS, set_dir, set_manifest

    size = tuple(params.crack.model.input_size)
    out = {name: load_split(set_manifest("crack", name), set_dir("crack", name), name, size,
                            params.data.crack.line_thickness, params.data.max_pixels) for name in SETS}
    empty = [name for name, data in out.items() if not len(data)]
    if empty:
        raise ValueError(f"evaluation set(s) {', '.join(empty)} have no usable samples; run the eval_data_crack stage")
    return out


def set_metrics(result, params, suffix: str = "") -> dict[str, float]:
    """Point values and bootstrap intervals of every crack metric on one set (keys end in ``suffix``)."""
    from components.bootstrap import ratio_metrics
    from components.crack.metrics import frame_ratios

    b = params.bootstrap
    ratios = frame_ratios(result.frames, params.crack.eval.false_alarm_min_area)
    return ratio_metrics(ratios, b.resamples, b.seed, b.confidence, suffix)


def fingerprint(*parts, splits: dict[str, CrackSplit] | None = None) -> str:
    """Identity of a training job (params + exact samples): a resume state is reused only for the same one."""
    manifest = pd.read_parquet(MANIFEST)
    h = hashlib.sha256(json.dumps([p.model_dump() if hasattr(p, "model_dump") else p for p in parts], sort_keys=True,
                                  default=str).encode())
    for name, split in sorted((splits or {}).items()):
        rows = manifest.set_index("name").loc[split.names, "sha256"]
        h.update(f"{name}:{','.join(split.names)}:{','.join(rows)}".encode())
    return h.hexdigest()[:16]


def param_dict(prefix: str, values: dict) -> dict[str, str]:
    """Nested params as ``a.b`` keys with string values, for mlflow.log_params."""
    out: dict[str, str] = {}
    for k, v in values.items():
        if isinstance(v, dict):
            out.update(param_dict(f"{prefix}{k}.", v))
        else:
            out[f"{prefix}{k}"] = str(v)
    return out
