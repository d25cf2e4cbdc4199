"""The whole pipeline as one Prefect flow: ``dvc repro`` inside one MLflow pipeline run.

DVC decides what reruns; this flow only wraps it: it takes the repository lock (a second run waits
instead of corrupting DVC or MLflow state), opens an MLflow *pipeline* run whose id reaches every
stage through ``PIPELINE_RUN_ID`` (so their runs nest under it), runs ``dvc repro`` and optionally
``dvc push``. Deployments in ``prefect.yaml`` run this flow; ``python -m flows.pipeline [STAGE...]``
runs it from a shell, starting a Prefect API server on loopback for the duration unless
``PREFECT_API_URL`` points at one (the stages then share it instead of each starting a temporary
server, about 12 s saved per stage).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import mlflow
from prefect import flow, get_run_logger, task
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_API_URL, temporary_settings
from pydantic import BaseModel, Field

from components import tracking
from components.config import load_params
from components.repo_lock import repository_lock
from components.servers import announce, free_port, local_server
from flows.common import server_file


class PipelineOptions(BaseModel):
    """What to run; Prefect shows these fields as a form for the deployments."""

    targets: list[str] = Field(
        default_factory=list, description="DVC stages to reproduce with their upstream (empty: all)"
    )
    force: bool = Field(False, description="rerun the stages even if DVC finds them up to date")
    push: bool = Field(False, description="dvc push data and models to the default remote afterwards")
    lock_timeout_s: float = Field(6 * 3600, ge=0, description="how long to wait for another pipeline run to finish")


def _stage_env(run_id: str) -> dict[str, str]:
    env = {**os.environ, tracking.PIPELINE_ENV: run_id}
    # stage commands say `python`: make it this interpreter, whatever the caller's PATH
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    api = PREFECT_API_URL.value()
    if api:
        env["PREFECT_API_URL"] = api
    return env


@task(name="dvc-repro")
def dvc_repro(targets: list[str], force: bool, env: dict[str, str]) -> None:
    cmd = [sys.executable, "-m", "dvc", "repro", *(["--force"] if force else []), *targets]
    code = subprocess.call(cmd, env=env)
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd[2:])} failed with exit code {code}; the failing stage's message is above")


@task(name="dvc-push", retries=2, retry_delay_seconds=10)
def dvc_push(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "dvc", "push"], env=env, check=True)


@flow(name="pipeline")
def pipeline(options: PipelineOptions = PipelineOptions()) -> str:  # noqa: B008 (Prefect reads the default)
    """Reproduce the DVC pipeline under the repository lock; return the MLflow pipeline run id."""
    log = get_run_logger()
    params = load_params()
    with repository_lock(options.lock_timeout_s):
        run_id = tracking.start_pipeline_run(params.mlflow.tracking_uri, params.mlflow.experiment)
        client = mlflow.MlflowClient()
        start = time.perf_counter()
        status = "FAILED"
        log.info("MLflow pipeline run %s; dvc repro %s", run_id, " ".join(options.targets) or "(all stages)")
        try:
            env = _stage_env(run_id)
            dvc_repro(options.targets, options.force, env)
            if options.push:
                dvc_push(env)
            status = "FINISHED"
        finally:
            client.log_metric(run_id, "wall_time_s", time.perf_counter() - start)
            client.set_terminated(run_id, status=status)
    return run_id


@contextmanager
def prefect_server() -> Iterator[str]:
    """A Prefect API server on a free loopback port for the duration; yields its API URL. Before it
    stops, this process's queued flow logs are sent to it (else Prefect reports them as "Error
    logging to API" once the server is gone). The server is announced in ``.prefect/api_server.json``
    for the duration, so that ``python -m flows.predict`` in the same checkout uses it instead of
    starting a second server on the same database (``flows.common.shared_prefect_api``)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    cmd = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with local_server(cmd, f"{url}/health"), announce(server_file(), url):
        try:
            yield url
        finally:
            APILogWorker.drain_all(timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.pipeline", description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help="DVC stages (default: all)")
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--push", action="store_true", help="dvc push afterwards")
    args = parser.parse_args(argv)
    options = PipelineOptions(targets=args.targets, force=args.force, push=args.push)
    try:
        if os.environ.get("PREFECT_API_URL"):
            pipeline(options)
        else:
            with prefect_server() as url, temporary_settings(updates={PREFECT_API_URL: url}):
                pipeline(options)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"pipeline failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
