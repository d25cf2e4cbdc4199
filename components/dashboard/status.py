"""Pipeline status from MLflow: the last run of every stage, and the last pipeline run.

``components.tracking`` tags every stage run ``run_type=stage`` and ``stage=<name>`` (nested under a
``run_type=pipeline`` run) in the pipeline's experiment. The stages are listed in ``dvc.yaml``
order, so a stage that never ran shows up as such instead of being silently absent; runs of
stages that are not (or no longer) in ``dvc.yaml`` are listed after them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import yaml

from components.dashboard.registry import HEADLINE, format_metric

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run

NEVER = "never run"
COLUMNS = ["stage", "status", "started", "duration_s", "git_commit", "metrics", "flow_run", "run_id"]


def dvc_stages(dvc_yaml: str | Path) -> list[str]:
    """The stage names of ``dvc.yaml`` in file order (empty when it cannot be read)."""
    try:
        stages = (yaml.safe_load(Path(dvc_yaml).read_text(encoding="utf-8")) or {}).get("stages") or {}
    except (OSError, yaml.YAMLError, AttributeError):
        return []
    return list(stages) if isinstance(stages, dict) else []


def _experiment_id(client: MlflowClient, experiment: str) -> str | None:
    exp = client.get_experiment_by_name(experiment)
    return None if exp is None else exp.experiment_id


def _newest(client: MlflowClient, exp_id: str, filter_string: str, n: int = 1) -> list[Run]:
    return list(client.search_runs([exp_id], filter_string, order_by=["attributes.start_time DESC"], max_results=n))


def _headline(run: Run) -> str:
    """The run's metrics (docs/architecture.md#metrics; nested ones such as ``tflite_int8.dice`` too), as short text."""
    picked = [(k, v) for k, v in sorted(run.data.metrics.items()) if k.rpartition(".")[2] in HEADLINE]
    return ", ".join(f"{k} {format_metric(k.rpartition('.')[2], v)}" for k, v in picked[:6])


def short_commit(commit: str) -> str:
    """``<40 hex>-dirty`` -> ``<12 hex>-dirty``: enough to find it, short enough for a table."""
    sha, dirty, _ = commit.partition("-dirty")
    return sha[:12] + dirty


def _row(stage: str, run: Run | None) -> dict:
    if run is None:
        return {
            "stage": stage,
            "status": NEVER,
            "started": pd.NaT,
            "duration_s": None,
            "git_commit": "",
            "metrics": "",
            "flow_run": "",
            "run_id": "",
        }
    info, tags = run.info, run.data.tags
    return {
        "stage": stage,
        "status": info.status,
        "started": pd.to_datetime(info.start_time, unit="ms", utc=True),
        "duration_s": round((info.end_time - info.start_time) / 1000, 1) if info.end_time else None,
        "git_commit": short_commit(tags.get("git_commit", "")),
        "metrics": _headline(run),
        "flow_run": tags.get("prefect.flow_run_name", ""),
        "run_id": info.run_id,
    }


def last_stage_runs(client: MlflowClient, experiment: str, stages: list[str] | None = None) -> pd.DataFrame:
    """One row per stage: the status, start, duration, commit and headline metrics of its newest run."""
    exp_id = _experiment_id(client, experiment)
    stages = list(stages or [])
    if exp_id is None:
        return pd.DataFrame([_row(s, None) for s in stages], columns=COLUMNS)
    rows = [
        _row(s, next(iter(_newest(client, exp_id, f"tags.run_type = 'stage' and tags.stage = '{s}'")), None))
        for s in stages
    ]
    # stages that are not in the list (renamed, removed, or no dvc.yaml): their newest runs
    seen = set(stages)
    for run in _newest(client, exp_id, "tags.run_type = 'stage'", n=1000):
        name = run.data.tags.get("stage", "")
        if name and name not in seen:
            seen.add(name)
            rows.append(_row(name, run))
    return pd.DataFrame(rows, columns=COLUMNS)


def last_pipeline_run(client: MlflowClient, experiment: str) -> dict | None:
    """The newest pipeline run: its name, status, start, commit and how many stage runs it holds."""
    exp_id = _experiment_id(client, experiment)
    if exp_id is None:
        return None
    runs = _newest(client, exp_id, "tags.run_type = 'pipeline'")
    if not runs:
        return None
    run = runs[0]
    children = client.search_runs([exp_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'", max_results=1000)
    return {
        "name": run.info.run_name,
        "status": run.info.status,
        "started": pd.to_datetime(run.info.start_time, unit="ms", utc=True),
        "git_commit": run.data.tags.get("git_commit", ""),
        "stages": sorted({c.data.tags.get("stage", "") for c in children} - {""}),
        "wall_time_s": run.data.metrics.get("wall_time_s"),
        "run_id": run.info.run_id,
    }
