"""Glue shared by the flows: parameters, tracking, and writing metrics files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow
from prefect.context import get_run_context
from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, PREFECT_HOME, temporary_settings

from components.io import atomic_write_text
from components.servers import announced

SHARED_SERVER_RETRIES = 2  # Prefect client retries against a running pipeline's server (default 5)

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


def server_file() -> Path:
    """Where ``flows.pipeline`` announces the Prefect server it started (under PREFECT_HOME, so one
    per checkout: ``.prefect/api_server.json``)."""
    return Path(PREFECT_HOME.value()).resolve() / "api_server.json"


@contextmanager
def shared_prefect_api() -> Iterator[str | None]:
    """Point Prefect at the server a running pipeline of this checkout announced, if one answers and
    ``PREFECT_API_URL`` is not set; yields its URL, or None (Prefect then does what it would anyway).

    Without this, a second command started its own temporary server on the same SQLite database
    (``.prefect/prefect.db``) and timed out after about 68 s waiting for it while the pipeline ran.
    """
    url = None if PREFECT_API_URL.value() else announced(server_file())
    if url is None:
        yield None
        return
    # Two retries (2 s + 4 s) instead of Prefect's five (up to a minute per request): when the
    # pipeline ends and its server with it, every call of the run would wait out all five.
    with temporary_settings(updates={PREFECT_API_URL: url, PREFECT_CLIENT_MAX_RETRIES: SHARED_SERVER_RETRIES}):
        yield url
