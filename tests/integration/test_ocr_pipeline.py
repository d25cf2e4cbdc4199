"""End to end: `dvc repro evaluate_ocr` at tiny scale in a temporary git clone.

prepare_ocr -> validate_ocr -> train_roi -> train_ocr -> evaluate_ocr with the real DVC, Prefect,
MLflow and GX; then the metrics files, the MLflow record (stage runs nested under one pipeline
run), and that a change to ``ocr.eval`` makes DVC rerun only ``evaluate_ocr``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
import yaml

from tests.integration.helpers import make_tiny_clone, run

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
    params["data"]["splits"] = {"train": 0.5, "val": 0.25, "test": 0.25}  # every split non-empty at 8 frames
    o = params["ocr"]
    o["roi"].update(input_size=[160, 120], width_mult=0.25, epochs=1, batch_size=4, score_threshold=0.01)
    o["char"].update(crop_size=64, width_mult=0.25, epochs=1, batch_size=8, roi_score_threshold=0.01)
    o["eval"].update(latency_warmup=1, latency_runs=3, overlays=1, roi_score_threshold=0.01)
    (dst / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "commit", "-qam", "tiny ocr"], dst)
    run([sys.executable, "-m", "flows.pipeline", "evaluate_ocr"], dst)
    return dst


def test_ocr_stages_write_metrics_and_nested_runs(ocr_clone):
    metrics = json.loads((ocr_clone / "metrics/evaluate_ocr.json").read_text())
    assert {"roi_ap50", "char_map50", "char_map", "string_accuracy", "cer", "latency_ms_p50", "latency_ms_p95", "fps"} <= set(metrics)
    for stage in ("train_roi", "train_ocr"):
        assert (ocr_clone / f"metrics/{stage}.json").exists() and (ocr_clone / f"plots/{stage}.csv").exists()
    lock = yaml.safe_load((ocr_clone / "dvc.lock").read_text())["stages"]
    assert OCR_STAGES <= set(lock)
    runs = _runs(ocr_clone)
    pipeline = [r for r in runs if r.data.tags.get("run_type") == "pipeline"]
    stages = {r.data.tags["stage"]: r for r in runs if r.data.tags.get("run_type") == "stage"}
    assert OCR_STAGES <= set(stages) and len(pipeline) == 1
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
