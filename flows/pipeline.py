"""Run the whole pipeline: one MLflow pipeline run around ``dvc repro``.

``python -m flows.pipeline`` opens a fresh MLflow *pipeline* run and runs ``dvc repro`` with its id
in ``PIPELINE_RUN_ID``, so every stage DVC decides to run records its MLflow run nested under it.
Extra arguments go to ``dvc repro`` (e.g. ``python -m flows.pipeline validate_ocr``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import mlflow

from components import tracking
from components.config import load_params


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    params = load_params()
    run_id = tracking.start_pipeline_run(params.mlflow.tracking_uri, params.mlflow.experiment)
    client = mlflow.MlflowClient()
    # stage commands say `python`: make it this interpreter, whatever the caller's PATH
    bin_dir = os.path.dirname(sys.executable)
    env = {**os.environ, tracking.PIPELINE_ENV: run_id, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    start = time.perf_counter()
    print(f"MLflow pipeline run {run_id}; dvc repro {' '.join(argv)}", flush=True)
    code = subprocess.call([sys.executable, "-m", "dvc", "repro", *argv], env=env)
    client.log_metric(run_id, "wall_time_s", time.perf_counter() - start)
    client.set_terminated(run_id, status="FINISHED" if code == 0 else "FAILED")
    return code


if __name__ == "__main__":
    sys.exit(main())
