"""Paths and glue shared by the crack flows (train_crack, qat_crack, evaluate_crack)."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
from prefect import task

from components.crack.data import CrackSplit, load_split
from flows.stage import Stage

DATA = Path("data/crack")
MANIFEST = Path("data/manifests/crack.parquet")
MODELS = Path("models/crack")
FLOAT_MODEL = MODELS / "float.keras"
QAT_MODEL = MODELS / "qat.h5"  # HDF5: the .keras format loses the QAT input quantizer's variables
STATE = Path(".cache/crack")  # resume state; outside DVC outs, which DVC deletes before a run
PLOTS = Path("plots/crack")


def crack_stage(name: str, params_file: str | Path, root: Path | None) -> Stage:
    """A crack stage (:class:`flows.stage.Stage`), TensorFlow seeded from ``crack.train.seed`` first."""
    from components.crack.train import setup_tf

    st = Stage.load(name, params_file, root)
    setup_tf(st.params.crack.train.seed)
    return st


@task(name="load-crack-splits")
def load_splits(root: Path, params, splits: tuple[str, ...]) -> dict[str, CrackSplit]:
    """Decode the manifest's ``status == ok`` samples of each split into memory at the model input size
    (and large frames at full resolution too, see below)."""
    manifest = pd.read_parquet(root / MANIFEST)
    size = tuple(params.crack.model.input_size)
    # large frames are kept at full resolution where they are read in tiles: always for validation
    # (scored as the runtime reads them), for training when crack.train.native_tiles is on
    keep = {"train": params.crack.train.native_tiles}
    out = {
        s: load_split(
            manifest,
            root / DATA,
            s,
            size,
            params.data.crack.line_thickness,
            params.data.max_pixels,
            keep_large=keep.get(s, True),
        )
        for s in splits
    }
    empty = [s for s, data in out.items() if not len(data)]
    if empty:
        raise ValueError(
            f"{MANIFEST}: no usable (status ok) samples in split(s) {', '.join(empty)}; "
            "the crack stages need train, val and test samples (see data.splits)"
        )
    return out


@task(name="load-crack-eval-sets")
def load_eval_sets(root: Path, params) -> dict[str, CrackSplit]:
    """The fixed evaluation sets (``test``: training styles, ``ood``: held-out styles) at the model input
    size, their large frames also at full resolution (scored in tiles, as the runtime reads them)."""
    from flows.paths import SETS, set_dir, set_manifest

    size = tuple(params.crack.model.input_size)
    out = {
        name: load_split(
            root / set_manifest("crack", name),
            root / set_dir("crack", name),
            name,
            size,
            params.data.crack.line_thickness,
            params.data.max_pixels,
            keep_large=True,
        )
        for name in SETS
    }
    empty = [name for name, data in out.items() if not len(data)]
    if empty:
        raise ValueError(f"evaluation set(s) {', '.join(empty)} have no usable samples; run the eval_data_crack stage")
    return out


def crack_mask_rules(params):
    """``crack.postprocess`` as the :class:`components.crack.postprocess.MaskRules` scoring and the runtime apply."""
    from components.crack.postprocess import MaskRules

    return MaskRules.from_params(params.crack.postprocess, params.crack.model.input_size)


def set_metrics(result, params, suffix: str = "") -> dict[str, float]:
    """Point values and bootstrap intervals of every crack metric on one set (keys end in ``suffix``)."""
    from components.bootstrap import ratio_metrics
    from components.crack.metrics import frame_ratios

    b = params.bootstrap
    ratios = frame_ratios(result.frames, params.crack.eval.false_alarm_min_area)
    return ratio_metrics(ratios, b.resamples, b.seed, b.confidence, suffix)


def split_identity(root: Path, splits: dict[str, CrackSplit]) -> list[str]:
    """The exact samples of each split (names and sha256 from the manifest), as a fingerprint part:
    a resume state is reused only for the same params and the same samples."""
    manifest = pd.read_parquet(root / MANIFEST).set_index("name")
    return [
        f"{name}:{','.join(split.names)}:{','.join(manifest.loc[split.names, 'sha256'])}"
        for name, split in sorted(splits.items())
    ]


def log_epoch(row: dict) -> None:
    """An ``on_epoch`` callback: the epoch's numbers to the stage run, step = epoch."""
    mlflow.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=row["epoch"])
