"""Where the dashboard looks: the same MLflow store and experiment as the pipeline, and a results
folder written by ``python -m flows.predict``.

* Tracking URI: ``MLFLOW_TRACKING_URI`` when set (as for every stage), else ``mlflow.tracking_uri``
  in ``params.yaml``. A relative SQLite path is taken from the repository root, not the folder
  Streamlit was started in, so the dashboard opens the pipeline's store from anywhere.
* Experiment: ``mlflow.experiment`` in ``params.yaml``.
* Results: ``DASHBOARD_RESULTS`` when set, else ``predictions/`` (relative to the repository root).

``params.yaml`` is read leniently (only the ``mlflow`` section): the dashboard should still show
the registry while someone is editing the pipeline's parameters.

A page waits for its MLflow answers, so an unreachable tracking server must fail in seconds: the
MLflow client's own defaults (7 retries with exponential backoff, 120 s timeout) kept the page
blank for over four minutes. ``HTTP_DEFAULTS`` shortens them unless the environment sets them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from components.io import absolute_sqlite

DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"
DEFAULT_EXPERIMENT = "inspection-pipeline"
RESULTS_ENV = "DASHBOARD_RESULTS"
DEFAULT_RESULTS = "predictions"
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}


@dataclass(frozen=True)
class Settings:
    root: Path  # the repository root
    tracking_uri: str
    experiment: str
    results: Path  # a results folder, or a folder holding several

    @property
    def dvc_yaml(self) -> Path:
        return self.root / "dvc.yaml"

    def path(self, text: str) -> Path:
        """A path typed by the user: relative ones are taken from the repository root."""
        return from_root(self.root, text)


def from_root(root: Path, text: str) -> Path:
    p = Path(text.strip() or ".").expanduser()
    return p if p.is_absolute() else root / p


def _mlflow_params(root: Path) -> dict:
    try:
        section = (yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8")) or {}).get("mlflow")
    except (OSError, yaml.YAMLError, AttributeError):
        return {}
    return section if isinstance(section, dict) else {}


def load(root: Path, environ: Mapping[str, str] = os.environ) -> Settings:
    params = _mlflow_params(root)
    uri = environ.get("MLFLOW_TRACKING_URI") or str(params.get("tracking_uri") or DEFAULT_TRACKING_URI)
    experiment = str(params.get("experiment") or DEFAULT_EXPERIMENT)
    return Settings(
        root, absolute_sqlite(uri, root), experiment, from_root(root, environ.get(RESULTS_ENV) or DEFAULT_RESULTS)
    )


def missing_store(uri: str) -> Path | None:
    """The SQLite file of ``uri`` when it does not exist (opening it would create an empty store,
    migrations and all, so the page says so instead); None otherwise."""
    if not uri.startswith("sqlite:///"):
        return None
    path = Path(uri.removeprefix("sqlite:///"))
    return None if path.is_file() else path


def apply_http_defaults(environ: MutableMapping[str, str] = os.environ) -> None:
    """Fail fast on an unreachable tracking server (see the module docstring); explicit settings win."""
    for key, value in HTTP_DEFAULTS.items():
        environ.setdefault(key, value)
