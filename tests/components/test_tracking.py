"""components.tracking: a tracking store that cannot be reached is one error naming its URI."""

from __future__ import annotations

import pytest

from components import tracking
from components.servers import free_port


def test_unreachable_server_is_one_error_naming_the_uri(monkeypatch):
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with pytest.raises(tracking.TrackingUnavailable, match=f"MLflow tracking at {uri} cannot be used"):
        tracking.configure("sqlite:///unused.db", "inspection-pipeline")


def test_error_inside_a_stage_run_names_the_uri(tmp_path, monkeypatch):
    import mlflow

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("PIPELINE_RUN_ID", raising=False)
    uri = f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    unavailable = pytest.raises(tracking.TrackingUnavailable, match=f"MLflow tracking at {uri} cannot be used")
    with unavailable, tracking.stage_run("s", "sqlite:///mlruns/mlflow.db", "e", root=tmp_path):
        mlflow.MlflowClient().get_run("no-such-run")
    runs = mlflow.search_runs(experiment_names=["e"], output_format="list")
    assert [r.info.status for r in runs if r.data.tags.get("stage") == "s"] == ["FAILED"]
    mlflow.set_tracking_uri(None)


def _pipeline_runs(client, experiment: str) -> list:
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id], "tags.run_type = 'pipeline'")


def test_a_pipeline_run_opened_by_a_plain_dvc_repro_is_closed(tmp_path, monkeypatch):
    """No pipeline flow owns the run a stage opens (``dvc repro`` alone): it ends with its stages, never RUNNING."""
    import mlflow

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("PIPELINE_RUN_ID", raising=False)
    uri = "sqlite:///mlruns/mlflow.db"
    with tracking.stage_run("first", uri, "e", root=tmp_path) as run:
        parent = run.data.tags["mlflow.parentRunId"]
        client = mlflow.MlflowClient()
        assert client.get_run(parent).info.status == "RUNNING"  # open while its stage runs
    assert client.get_run(parent).info.status == "FINISHED" and client.get_run(parent).info.end_time
    with pytest.raises(ValueError, match="boom"), tracking.stage_run("second", uri, "e", root=tmp_path) as run:
        assert run.data.tags["mlflow.parentRunId"] == parent  # the same commit: the same pipeline run
        raise ValueError("boom")
    assert client.get_run(parent).info.status == "FAILED"
    with tracking.stage_run("second", uri, "e", root=tmp_path):  # rerun after the fix
        pass
    runs = _pipeline_runs(client, "e")
    assert [(r.info.run_id, r.info.status, r.data.tags["opened_by"]) for r in runs] == [(parent, "FINISHED", "stage")]
    mlflow.set_tracking_uri(None)


def test_a_pipeline_run_of_the_pipeline_flow_is_left_to_its_owner(tmp_path, monkeypatch):
    import mlflow

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = "sqlite:///mlruns/mlflow.db"
    owned = tracking.start_pipeline_run(uri, "e", root=tmp_path)
    monkeypatch.setenv("PIPELINE_RUN_ID", owned)
    with tracking.stage_run("s", uri, "e", root=tmp_path) as run:
        assert run.data.tags["mlflow.parentRunId"] == owned
    client = mlflow.MlflowClient()
    assert client.get_run(owned).info.status == "RUNNING"  # flows.pipeline closes it after dvc repro
    monkeypatch.delenv("PIPELINE_RUN_ID")
    client.set_terminated(owned)
    with tracking.stage_run("later", uri, "e", root=tmp_path) as run:  # a plain dvc repro later joins it ...
        assert run.data.tags["mlflow.parentRunId"] == owned
    assert client.get_run(owned).info.status == "FINISHED"  # ... and leaves its owner's status alone
    assert "opened_by" not in client.get_run(owned).data.tags
    mlflow.set_tracking_uri(None)
