"""MLflow tracking conventions shared by every stage (docs/architecture.md#tracking).

* Tracking URI from ``params.yaml`` (``sqlite:///mlruns/mlflow.db``) unless ``MLFLOW_TRACKING_URI``
  points at a server; artifacts under ``mlruns/artifacts``.
* One MLflow run per stage run, nested under a *pipeline* run. A pipeline run is opened by
  ``flows.pipeline`` (which exports ``PIPELINE_RUN_ID``) and closed by it; a stage started on its own
  (``dvc repro`` directly) joins the pipeline run of the same git commit, creating it if needed
  (tagged ``opened_by: stage``), so runs of one code version stay together in the UI. No pipeline
  flow owns such a run, so each stage closes it when it ends, with the stage's own status: it never
  stays RUNNING.
* Every stage run carries the git commit and, where it reads or writes data, the DVC hash of that
  data, computed exactly as DVC computes it (so it matches ``dvc.lock``).
* A store that cannot be used (server unreachable, its database stopped, its artifact bucket
  missing) is one :class:`TrackingUnavailable` naming the tracking URI, not a stack of HTTP retries.
  The registry is only written after a model's files are stored, so such a failure leaves no version.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import mlflow

from components.io import absolute_sqlite

PIPELINE_ENV = "PIPELINE_RUN_ID"
ARTIFACTS_DIR = Path("mlruns/artifacts")


class TrackingUnavailable(RuntimeError):
    """The MLflow tracking store at a URI cannot be used; the message names the URI and the cause."""


def _unavailable(uri: str, exc: BaseException) -> TrackingUnavailable:
    cause = " ".join(str(exc).split())
    cause = cause[:500] + (" ..." if len(cause) > 500 else "")
    return TrackingUnavailable(f"MLflow tracking at {uri} cannot be used: {cause}")


def resolve_uri(tracking_uri: str, root: Path | None = None) -> str:
    """``MLFLOW_TRACKING_URI`` when set, else ``tracking_uri`` (params.yaml); a SQLite path made
    absolute against ``root`` (default: cwd), because MLflow caches stores by URI: a relative one
    would follow the first cwd."""
    return absolute_sqlite(os.environ.get("MLFLOW_TRACKING_URI") or tracking_uri, Path(root or Path.cwd()))


def configure(tracking_uri: str, experiment: str, root: Path | None = None) -> str:
    """Point MLflow at the store and experiment; return the experiment id. Relative paths (a SQLite
    store, its artifacts folder) are taken from ``root`` (default: cwd)."""
    uri = resolve_uri(tracking_uri, root)
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    try:
        exp = mlflow.get_experiment_by_name(experiment)
    except (mlflow.exceptions.MlflowException, OSError) as exc:  # requests' errors are OSErrors
        raise _unavailable(uri, exc) from exc
    if exp is not None:
        mlflow.set_experiment(experiment)
        return exp.experiment_id
    location = None
    if uri.startswith("sqlite:"):  # a local store keeps its artifacts beside the database
        artifacts = Path(root or Path.cwd()) / ARTIFACTS_DIR
        artifacts.mkdir(parents=True, exist_ok=True)
        location = artifacts.resolve().as_uri()
    try:
        exp_id = mlflow.create_experiment(experiment, artifact_location=location)
    except mlflow.exceptions.MlflowException:  # created concurrently by another stage
        exp_id = mlflow.get_experiment_by_name(experiment).experiment_id
    mlflow.set_experiment(experiment)
    return exp_id


def git_commit(root: Path | None = None) -> str:
    """HEAD's commit of the checkout at ``root`` (default: cwd), with ``-dirty`` when tracked files
    differ; ``unknown`` outside git."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, cwd=root
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            cwd=root,
        ).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def dvc_hash(path: str | Path) -> str:
    """The md5 DVC records for ``path`` (``<md5>.dir`` for folders), without touching the cache."""
    from dvc.fs import LocalFileSystem
    from dvc_data.hashfile.build import build
    from dvc_data.hashfile.db import HashFileDB

    fs = LocalFileSystem()
    with tempfile.TemporaryDirectory() as scratch:
        _, _, obj = build(HashFileDB(fs, scratch), str(Path(path).resolve()), fs, "md5", dry_run=True)
    return obj.hash_info.value


OPENED_BY_STAGE = "stage"  # tag opened_by of a pipeline run that a stage opened (no pipeline flow owns it)


def _pipeline_run_id(experiment_id: str, commit: str) -> tuple[str, bool]:
    """The pipeline run to nest under, and whether the stage must close it (no pipeline flow owns it)."""
    if os.environ.get(PIPELINE_ENV):
        return os.environ[PIPELINE_ENV], False
    found = mlflow.search_runs(
        [experiment_id],
        filter_string=f"tags.run_type = 'pipeline' and tags.git_commit = '{commit}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
        output_format="list",
    )
    if found:
        return found[0].info.run_id, found[0].data.tags.get("opened_by") == OPENED_BY_STAGE
    run = mlflow.MlflowClient().create_run(
        experiment_id,
        run_name=f"pipeline {commit[:12]}",
        tags={"run_type": "pipeline", "git_commit": commit, "opened_by": OPENED_BY_STAGE},
    )
    return run.info.run_id, True


def start_pipeline_run(tracking_uri: str, experiment: str, root: Path | None = None) -> str:
    """Open a fresh pipeline run (used by ``flows.pipeline``); stages join it via PIPELINE_RUN_ID."""
    exp_id = configure(tracking_uri, experiment, root)
    commit = git_commit(root)
    run = mlflow.MlflowClient().create_run(
        exp_id, run_name=f"pipeline {commit[:12]}", tags={"run_type": "pipeline", "git_commit": commit}
    )
    return run.info.run_id


@contextmanager
def stage_run(
    stage: str, tracking_uri: str, experiment: str, tags: dict[str, str] | None = None, root: Path | None = None
) -> Iterator[mlflow.ActiveRun]:
    """An MLflow run for one stage, nested under the pipeline run and tagged with the git commit of
    the checkout at ``root`` (default: cwd).

    An MLflow error inside (the store failing mid-stage, e.g. the artifact bucket refusing the
    model's files) ends the run as FAILED and comes out as :class:`TrackingUnavailable`. A pipeline
    run that no pipeline flow owns is closed with the stage's status when the stage ends."""
    exp_id = configure(tracking_uri, experiment, root)
    uri = mlflow.get_tracking_uri()
    commit = git_commit(root)
    parent, close_parent = None, False
    status = "FAILED"
    try:
        parent, close_parent = _pipeline_run_id(exp_id, commit)
        all_tags = {
            "stage": stage,
            "run_type": "stage",
            "git_commit": commit,
            "mlflow.parentRunId": parent,
            **(tags or {}),
        }
        with mlflow.start_run(run_name=stage, experiment_id=exp_id, tags=all_tags) as run:
            try:
                yield run
            except KeyboardInterrupt:
                status = "KILLED"
                raise
            status = "FINISHED"
    except mlflow.exceptions.MlflowException as exc:
        raise _unavailable(uri, exc) from exc
    finally:
        if close_parent:
            _close(parent, status)


def _close(run_id: str, status: str) -> None:
    """End a pipeline run a stage opened; a store failing here must not hide the stage's own outcome."""
    with suppress(mlflow.exceptions.MlflowException, OSError):
        mlflow.MlflowClient().set_terminated(run_id, status=status)
