"""End to end: `dvc repro register_ocr` at tiny scale in a temporary git clone.

prepare_ocr -> validate_ocr -> train_roi -> train_ocr -> evaluate_ocr -> export_ocr -> register_ocr
with the real DVC, Prefect, MLflow, GX and ONNX Runtime; then the metrics files, the MLflow record
(stage runs nested under one pipeline run), that ``mlflow models serve`` of
``models:/resistor-ocr@champion`` answers a real HTTP request, and that a change to ``ocr.eval``
makes DVC rerun only ``evaluate_ocr``.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
import requests
import yaml

from tests.integration.helpers import clean_env, free_port, make_tiny_clone, run, server

pytestmark = pytest.mark.integration  # a tiny clone of the repository, real DVC/Prefect/MLflow

OCR_STAGES = {"train_roi", "train_ocr", "evaluate_ocr"}


def _dvc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "dvc", *args], cwd)


def _runs(clone: Path) -> list:
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{clone / 'mlruns' / 'mlflow.db'}")
    return client.search_runs([client.get_experiment_by_name("inspection-pipeline").experiment_id], max_results=1000)


@pytest.fixture(scope="module")
def ocr_clone(tmp_path_factory) -> Path:
    """A tiny clone (8 frames of 640x480, tiny models) after `flows.pipeline evaluate_ocr`."""
    dst = make_tiny_clone(tmp_path_factory.mktemp("ocr"), frames=8)
    params = yaml.safe_load((dst / "params.yaml").read_text())
    params["data"]["ocr"].update(width=640, height=480)
    params["data"]["splits"] = {"train": 0.75, "val": 0.25, "test": 0.0}  # models are judged on eval_data
    o = params["ocr"]
    o["roi"].update(input_size=[160, 120], width_mult=0.25, epochs=1, batch_size=4, score_threshold=0.01)
    o["char"].update(
        crop_size=64, strip_size=[96, 48], width_mult=0.25, epochs=1, batch_size=8, roi_score_threshold=0.01
    )
    o["eval"].update(latency_warmup=1, latency_runs=3, overlays=1, roi_score_threshold=0.01)
    params["export"]["ocr"].update(calibration_frames=4, latency_runs=2, latency_warmup=1)
    # a tiny model is never good: open the absolute gates so that promotion itself is exercised
    params["registry"]["ocr"].update(minimums={}, maximums={}, max_quantization_drop={"string_accuracy": 1.0})
    (dst / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "commit", "-qam", "tiny ocr"], dst)
    run([sys.executable, "-m", "flows.pipeline", "register_ocr"], dst)
    return dst


def test_ocr_stages_write_metrics_and_nested_runs(ocr_clone):
    metrics = json.loads((ocr_clone / "metrics/evaluate_ocr.json").read_text())
    assert {
        "roi_ap50",
        "char_map50",
        "char_map",
        "string_accuracy",
        "cer",
        "latency_ms_p50",
        "latency_ms_p95",
        "fps",
    } <= set(metrics)
    for key in ("string_accuracy", "cer", "roi_precision", "roi_recall", "roi_ap50", "char_map50"):
        assert {f"{key}_ci_low", f"{key}_ci_high", f"{key}_ood", f"{key}_ood_ci_low", f"{key}_ood_ci_high"} <= set(
            metrics
        )
    assert metrics["frames"] == metrics["frames_ood"] == 8
    for stage in ("train_roi", "train_ocr"):
        assert (ocr_clone / f"metrics/{stage}.json").exists() and (ocr_clone / f"plots/{stage}.csv").exists()
    lock = yaml.safe_load((ocr_clone / "dvc.lock").read_text())["stages"]
    assert set(lock) >= OCR_STAGES
    runs = _runs(ocr_clone)
    pipeline = [r for r in runs if r.data.tags.get("run_type") == "pipeline"]
    stages = {r.data.tags["stage"]: r for r in runs if r.data.tags.get("run_type") == "stage"}
    assert set(stages) >= OCR_STAGES and len(pipeline) == 1
    assert all(stages[s].data.tags["mlflow.parentRunId"] == pipeline[0].info.run_id for s in OCR_STAGES)
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{ocr_clone / 'mlruns' / 'mlflow.db'}")
    assert client.get_metric_history(stages["train_roi"].info.run_id, "loss")


def test_eval_param_change_reruns_only_evaluation(ocr_clone):
    assert "up to date" in _dvc("status", "--with-deps", "evaluate_ocr", cwd=ocr_clone).stdout
    path = ocr_clone / "params.yaml"
    original = path.read_text()
    params = yaml.safe_load(original)
    params["ocr"]["eval"]["char_score_threshold"] = 0.5
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        status = json.loads(_dvc("status", "--json", "--with-deps", "evaluate_ocr", cwd=ocr_clone).stdout)
        assert set(status) == {"evaluate_ocr"}, status
        params["ocr"]["char"]["epochs"] = 2
        path.write_text(yaml.safe_dump(params, sort_keys=False))
        status = json.loads(_dvc("status", "--json", "--with-deps", "evaluate_ocr", cwd=ocr_clone).stdout)
        assert "train_ocr" in status and "train_roi" not in status, status
    finally:
        path.write_text(original)


def test_exported_registered_and_served(ocr_clone):
    export = json.loads((ocr_clone / "metrics/export_ocr.json").read_text())
    assert {"torch_fp32", "onnx_fp32", "onnx_int8"} <= set(export)
    assert export["onnx_int8"]["model_bytes"] < export["onnx_fp32"]["model_bytes"]
    assert json.loads((ocr_clone / "metrics/register_ocr.json").read_text())["promoted"] is True
    uri = f"sqlite:///{ocr_clone / 'mlruns' / 'mlflow.db'}"
    version = mlflow.MlflowClient(tracking_uri=uri).get_model_version_by_alias("resistor-ocr", "champion")
    assert version.tags["model_form"] == "onnx_int8" and version.tags["gate.passed"] == "true"

    port = free_port()
    cmd = [
        str(Path(sys.executable).parent / "mlflow"),
        "models",
        "serve",
        "-m",
        "models:/resistor-ocr@champion",
        "--env-manager",
        "local",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    image = next((ocr_clone / "data/ocr").glob("*.jpg")).read_bytes()
    url = f"http://127.0.0.1:{port}/invocations"
    with server(cmd, f"http://127.0.0.1:{port}/ping", ocr_clone, clean_env(MLFLOW_TRACKING_URI=uri)):
        ok = requests.post(url, timeout=60, json={"inputs": {"image": [base64.b64encode(image).decode()]}})
        bad = requests.post(url, timeout=60, json={"inputs": {"image": ["bm90IGFuIGltYWdl"]}})
    assert ok.status_code == 200, ok.text
    rows = ok.json()["predictions"]
    assert isinstance(rows, list) and all({"text", "x1", "char_boxes", "confidence"} <= set(r) for r in rows)
    assert bad.status_code == 400 and "cannot be decoded" in bad.json()["message"]
