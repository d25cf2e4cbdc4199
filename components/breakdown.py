"""Metrics per family: which kind of frame a model fails on.

A headline number over a thousand frames says how much is lost, not where. Every frame of the fixed
sets carries its family (the generator's style, or the site or camera a user's ``families.csv``
names; ``components.data.families``), and every headline metric is a ratio of per-frame sums
(``components.bootstrap.Ratio``). So the same metric restricted to one family's frames, with its own
bootstrap interval, tells which surface, camera or light costs the points: the table the evaluate
and export stages write to ``reports/families/<stage>.csv``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from components.bootstrap import Ratio, ratio_metrics
from components.data.families import UNKNOWN
from components.io import atomic_path
from components.per_frame import read_frames

FAMILIES_REPORTS = Path("reports/families")  # <stage>.csv, under the project root


def manifest_families(manifest: str | Path, names: Sequence[str]) -> list[str]:
    """The family of each of ``names`` from a manifest's ``family`` column (``unknown`` when absent)."""
    table = pd.read_parquet(manifest, columns=["name", "family"]).drop_duplicates("name").set_index("name")
    known = table["family"].to_dict()
    return [str(known.get(n, UNKNOWN)) for n in names]


def by_family(
    ratios: dict[str, Ratio],
    families: Sequence[str],
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> list[dict]:
    """One row per family, sorted by name: ``family``, ``frames``, then each ratio's value and interval
    over that family's frames only (NaN where the family has none of a metric's frames, e.g. no
    crack-free frame for ``false_alarm_rate``)."""
    fam = np.asarray(list(families), dtype=object)
    for key, r in ratios.items():
        if len(r) != len(fam):
            raise ValueError(f"{key}: {len(r)} frames but {len(fam)} families")
    rows = []
    for name in sorted(set(fam)):
        keep = fam == name
        subset = {k: Ratio(r.num[keep], r.den[keep]) for k, r in ratios.items()}
        rows.append({"family": name, "frames": int(keep.sum()), **ratio_metrics(subset, resamples, seed, confidence)})
    return rows


def write_breakdown(path: str | Path, rows: list[dict]) -> Path:
    """The rows as a CSV (columns in the order of the first row's keys, others after)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with atomic_path(path) as tmp:
        pd.DataFrame(rows, columns=columns).to_csv(tmp, index=False, float_format="%.5g")
    return path


def stage_breakdown(
    per_frame_dir: str | Path,
    manifests: Mapping[str, str | Path],
    ratios_of: Callable[[dict[str, np.ndarray]], dict[str, Ratio]],
    keys: Sequence[str],
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> list[dict]:
    """Rows ``form, set, family, frames, <key>...`` for every per-frame table ``<form>_<set>.parquet``
    in ``per_frame_dir`` whose set has a manifest in ``manifests`` (``{set: path}``); ``ratios_of``
    turns a table's columns into the task's metric ratios (``frame_ratios`` of the task)."""
    rows = []
    for table in sorted(Path(per_frame_dir).glob("*.parquet")):
        form, _, eval_set = table.stem.rpartition("_")
        if eval_set not in manifests or not form:
            continue  # detection tables (<form>_<set>_rois...) and sets without a manifest
        names, columns = read_frames(table)
        ratios = ratios_of(columns)
        chosen = {k: ratios[k] for k in keys if k in ratios}
        families = manifest_families(manifests[eval_set], names)
        for row in by_family(chosen, families, resamples, seed, confidence):
            rows.append({"form": form, "set": eval_set, **row})
    return rows
