"""Run the whole pipeline: one MLflow pipeline run and one Prefect API server around ``dvc repro``.

``python -m flows.pipeline`` opens a fresh MLflow *pipeline* run and runs ``dvc repro`` with its id
in ``PIPELINE_RUN_ID``, so every stage DVC decides to run records its MLflow run nested under it.
Unless ``PREFECT_API_URL`` already points at a Prefect server, it starts one on loopback for the
duration (state under ``.prefect/``), so the stages share it instead of each starting a temporary
one (about 12 s saved per stage). Extra arguments go to ``dvc repro`` (e.g. ``validate_ocr``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from typing import Iterator

import mlflow

from components import tracking
from components.config import load_params


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def prefect_server(timeout_s: float = 120) -> Iterator[str | None]:
    """Yield the API URL of a Prefect server started on loopback, or None if one is configured already."""
    if os.environ.get("PREFECT_API_URL"):
        yield None
        return
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"Prefect server exited with {proc.returncode}: {proc.stderr.read()[-2000:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Prefect server on {url} did not answer within {timeout_s:.0f} s")
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    params = load_params()
    run_id = tracking.start_pipeline_run(params.mlflow.tracking_uri, params.mlflow.experiment)
    client = mlflow.MlflowClient()
    start = time.perf_counter()
    code = 1
    try:
        with prefect_server() as api_url:
            # stage commands say `python`: make it this interpreter, whatever the caller's PATH
            env = {**os.environ, tracking.PIPELINE_ENV: run_id,
                   "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
            if api_url:
                env["PREFECT_API_URL"] = api_url
            print(f"MLflow pipeline run {run_id}; Prefect API {env.get('PREFECT_API_URL', '(configured)')}; "
                  f"dvc repro {' '.join(argv)}", flush=True)
            code = subprocess.call([sys.executable, "-m", "dvc", "repro", *argv], env=env)
    finally:
        client.log_metric(run_id, "wall_time_s", time.perf_counter() - start)
        client.set_terminated(run_id, status="FINISHED" if code == 0 else "FAILED")
    return code


if __name__ == "__main__":
    sys.exit(main())
