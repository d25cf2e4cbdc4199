"""Paths several stages share: the fixed evaluation sets and their manifests.

A light module (no heavy imports), so a stage that only needs to know where the evaluation sets are
does not import, and so does not depend on, the code that builds them (``flows.eval_data``). The
paths are the ones dvc.yaml declares as outs of ``eval_data_*``; ``tests/code/test_dvc_deps.py`` checks
that every path a flow spells is declared there.
"""

from __future__ import annotations

from pathlib import Path

EVAL_ROOT = Path("data/eval")
MANIFESTS = Path("data/manifests")
SETS = ("test", "ood")


def set_dir(dataset: str, name: str) -> Path:
    """``data/eval/<dataset>/<name>``: the canonical folder of one evaluation set."""
    return EVAL_ROOT / dataset / name


def set_manifest(dataset: str, name: str, boxes: bool = False) -> Path:
    """``data/manifests/<dataset>_<name>.parquet`` (``..._boxes.parquet`` for OCR boxes)."""
    return MANIFESTS / f"{dataset}_{name}{'_boxes' if boxes else ''}.parquet"
