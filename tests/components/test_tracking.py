"""components.tracking: a tracking store that cannot be reached is one error naming its URI."""

from __future__ import annotations

import pytest

from components import tracking
from components.servers import free_port


def test_unreachable_server_is_one_error_naming_the_uri(monkeypatch):
    uri = f"http://127.0.0.1:{free_port()}"   # nothing listens there
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with pytest.raises(tracking.TrackingUnavailable, match=f"MLflow tracking at {uri} cannot be used"):
        tracking.configure("sqlite:///unused.db", "inspection-pipeline")


def test_error_inside_a_stage_run_names_the_uri(tmp_path, monkeypatch):
    import mlflow

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("PIPELINE_RUN_ID", raising=False)
    with pytest.raises(tracking.TrackingUnavailable, match="MLflow tracking at sqlite:////.*mlflow.db cannot be used"):
        with tracking.stage_run("s", "sqlite:///mlruns/mlflow.db", "e"):
            mlflow.MlflowClient().get_run("no-such-run")
    runs = mlflow.search_runs(experiment_names=["e"], output_format="list")
    assert [r.info.status for r in runs if r.data.tags.get("stage") == "s"] == ["FAILED"]
    mlflow.set_tracking_uri(None)
