"""Real servers on loopback: a Prefect server and worker run the `validate-data` deployment of
prefect.yaml, and the stage runs land in an MLflow tracking server (SQLite backend, local artifacts)."""

from __future__ import annotations

import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from tests.integration.helpers import (
    FRAMES,
    clean_env,
    free_port,
    make_tiny_clone,
    run,
    server,
)

pytestmark = pytest.mark.integration  # a tiny clone of the repository, real DVC/Prefect/MLflow

PY = sys.executable


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    return make_tiny_clone(tmp_path_factory.mktemp("deploy"))


def test_deployment_runs_on_a_worker_and_tracks_to_mlflow_server(clone, tmp_path):
    prefect_port, mlflow_port = free_port(), free_port()
    prefect_api = f"http://127.0.0.1:{prefect_port}/api"
    mlflow_uri = f"http://127.0.0.1:{mlflow_port}"
    env = clean_env(
        PREFECT_API_URL=prefect_api,
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        MLFLOW_TRACKING_URI=mlflow_uri,
        PWD=str(clone),
    )  # prefect.yaml's pull step runs flows in $PWD at deploy time
    mlflow_cmd = [
        PY,
        "-m",
        "mlflow",
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(mlflow_port),
        "--backend-store-uri",
        f"sqlite:///{tmp_path / 'server.db'}",
        "--artifacts-destination",
        str(tmp_path / "artifacts"),
        "--workers",
        "1",
    ]
    prefect_cmd = [PY, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(prefect_port)]
    with (
        server(mlflow_cmd, f"{mlflow_uri}/health", tmp_path, env),
        server(prefect_cmd, f"{prefect_api}/health", tmp_path, env),
    ):
        run([PY, "-m", "prefect", "work-pool", "create", "local-process", "--type", "process"], clone, env=env)
        run([PY, "-m", "prefect", "--no-prompt", "deploy", "--name", "validate-data"], clone, env=env)
        worker = [PY, "-m", "prefect", "worker", "start", "--pool", "local-process", "--limit", "1"]
        with server(worker, f"{prefect_api}/health", tmp_path, env):
            out = run(
                [
                    PY,
                    "-m",
                    "prefect",
                    "deployment",
                    "run",
                    "pipeline/validate-data",
                    "--watch",
                    "--watch-timeout",
                    "600",
                ],
                clone,
                env=env,
                check=False,
            )
        worker_log = "".join(p.read_text()[-4000:] for p in tmp_path.glob("server-prefect-*.log"))
        assert out.returncode == 0 and "Completed" in out.stdout + out.stderr, out.stdout[-2000:] + worker_log

        manifest = pd.read_parquet(clone / "data/manifests/crack.parquet")
        assert len(manifest) == FRAMES and (manifest.status == "ok").all()

        client = mlflow.MlflowClient(tracking_uri=mlflow_uri)
        runs = client.search_runs([client.get_experiment_by_name("inspection-pipeline").experiment_id])
        stages = sorted(r.data.tags["stage"] for r in runs if r.data.tags.get("run_type") == "stage")
        assert stages == ["prepare_crack", "prepare_ocr", "validate_crack", "validate_ocr"]
        pipeline = [r for r in runs if r.data.tags.get("run_type") == "pipeline"]
        assert len(pipeline) == 1 and pipeline[0].info.status == "FINISHED"
        validate = next(r for r in runs if r.data.tags.get("stage") == "validate_ocr")
        assert "prefect.flow_run_id" in validate.data.tags
        arts = {a.path for a in client.list_artifacts(validate.info.run_id)}
        assert "dataset_statistics.json" in arts  # uploaded through the server's artifact proxy
        assert any((tmp_path / "artifacts").rglob("dataset_statistics.json"))
