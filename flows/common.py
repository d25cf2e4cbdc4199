"""Glue shared by the flows: parameters, tracking, and writing metrics files."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
from prefect.context import get_run_context

from components.io import atomic_write_text

METRICS_DIR = Path("metrics")


def write_metrics(stage: str, metrics: dict, root: Path = Path(".")) -> Path:
    """``metrics/<stage>.json`` under the project ``root``, for DVC (flat or one level of nesting,
    docs/architecture.md#metrics)."""
    path = root / METRICS_DIR / f"{stage}.json"
    atomic_write_text(path, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return path


def flat(metrics: dict, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a nested dict as ``a.b`` keys, for mlflow.log_metrics."""
    out: dict[str, float] = {}
    for k, v in metrics.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flat(v, key + "."))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[key] = float(v)
    return out


def tag_prefect_run() -> None:
    """Cross-reference the MLflow run and the Prefect flow run that produced it."""
    ctx = get_run_context()
    run = getattr(ctx, "flow_run", None)
    if run is not None:
        mlflow.set_tags({"prefect.flow_run_id": str(run.id), "prefect.flow_run_name": run.name})
