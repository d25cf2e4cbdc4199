"""The OCR flows end to end at tiny scale: train_roi -> train_ocr -> evaluate_ocr as Prefect flows.

Checks the files DVC declares (models, metrics with the keys of docs/architecture.md#metrics, plots), the MLflow record
(one nested run per stage, frozen-ROI hashes equal), and that ``--save-json`` output is canonical
LabelMe that the importer reads back with the same boxes.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml

from components.data.importers import import_ocr
from components.data.ocr_format import read_labelme
from flows.evaluate_ocr import evaluate_ocr
from flows.train_ocr import train_ocr
from flows.train_roi import train_roi
from tests.helpers.data import make_resistor_dataset
from tests.helpers.ocr import tiny_params

METRIC_KEYS = {
    "roi_ap50",
    "char_map50",
    "char_map",
    "string_accuracy",
    "cer",
    "latency_ms_p50",
    "latency_ms_p95",
    "fps",
}


# slow: trains, evaluates and exports the tiny OCR through the flows
pytestmark = [pytest.mark.usefixtures("prefect_server"), pytest.mark.slow]


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    make_resistor_dataset(tmp_path, n=4)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params(epochs=1)))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("PIPELINE_RUN_ID", raising=False)
    return tmp_path


def test_ocr_flows_train_evaluate_and_save_json_round_trip(project, tmp_path):
    roi = train_roi(progress=False, root=project)
    assert (project / "models/ocr/roi.pt").exists() and not (project / ".cache/ocr/roi_last.pt").exists()
    assert roi["epochs"] == 1 and json.loads((project / "metrics/train_roi.json").read_text())["train_frames"] == 4
    rows = list(csv.DictReader((project / "plots/train_roi.csv").open()))
    assert [r["epoch"] for r in rows] == ["1"] and {"loss", "val_roi_ap50", "lr"} <= set(rows[0])
    # the operating threshold chosen on val, which roi_score_threshold: auto reads back
    stored = json.loads((project / "metrics/train_roi.json").read_text())
    assert 0.0 <= stored["roi_threshold_f1"] < 1.0 and 0.0 <= stored["roi_threshold_f1_score"] <= 1.0
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["ocr"]["eval"]["roi_score_threshold"] = "auto"
    (project / "params.yaml").write_text(yaml.safe_dump(params))

    train_ocr(progress=False, root=project)
    assert (project / "models/ocr/char.pt").exists()
    assert "val_char_map50" in json.loads((project / "metrics/train_ocr.json").read_text())

    shown, preds = tmp_path / "overlays", tmp_path / "preds"
    metrics = evaluate_ocr(save_image=str(shown), save_json=str(preds), progress=False, root=project)
    on_disk = json.loads((project / "metrics/evaluate_ocr.json").read_text())
    assert set(on_disk) >= METRIC_KEYS and on_disk["frames"] == on_disk["frames_ood"] == 4
    assert on_disk["string_accuracy_ci_low"] <= on_disk["string_accuracy"] <= on_disk["string_accuracy_ci_high"]
    # the OOD set holds the same frames here: the same model gives the same numbers
    assert on_disk["string_accuracy_ood"] == on_disk["string_accuracy"] and on_disk["cer_ood"] == on_disk["cer"]
    assert (project / "reports/per_frame/evaluate_ocr/torch_fp32_ood_chars.parquet").exists()
    families = pd.read_csv(project / "reports/families/evaluate_ocr.csv")  # the same metrics per family
    assert set(zip(families["form"], families["set"])) == {("torch_fp32", "test"), ("torch_fp32", "ood")}
    assert families.groupby("set")["frames"].sum().to_dict() == {"test": 4, "ood": 4}
    assert {"string_accuracy", "roi_recall_ci_high"} <= set(families.columns)
    assert all(0.0 <= on_disk[k] <= 1.0 for k in ("roi_ap50", "char_map50", "char_map", "string_accuracy"))
    assert on_disk["latency_ms_p50"] > 0 and metrics["fps"] > 0
    assert (project / "plots/evaluate_ocr/confusion.png").stat().st_size > 1000
    assert next(csv.reader((project / "plots/evaluate_ocr/confusion.csv").open())) == ["actual", "predicted"]
    assert len(list(shown.glob("*.png"))) == 4

    # --save-json: canonical LabelMe that the importer takes back unchanged
    written = {p.stem: read_labelme(p) for p in sorted(preds.glob("*.json"))}
    assert len(written) == 4
    report = import_ocr(preds, tmp_path / "reimported", "labelme")
    assert len(report.imported) == 4 and not report.problems
    for name, ann in written.items():
        back = read_labelme(tmp_path / "reimported" / f"{name}.json")
        assert [(s.label, s.box, s.group_id, s.text) for s in back.shapes] == [
            (s.label, s.box, s.group_id, s.text) for s in ann.shapes
        ]

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlruns' / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("inspection-pipeline").experiment_id])
    stages = {r.data.tags["stage"]: r for r in runs if r.data.tags.get("run_type") == "stage"}
    assert set(stages) == {"train_roi", "train_ocr", "evaluate_ocr"}
    parents = {r.data.tags["mlflow.parentRunId"] for r in stages.values()}
    assert len(parents) == 1
    t = stages["train_ocr"].data.tags
    assert t["roi_param_hash_before"] == t["roi_param_hash_after"]
    assert stages["train_roi"].data.tags["dvc_data_hash"].endswith(".dir")
    history = client.get_metric_history(stages["train_roi"].info.run_id, "loss")
    assert [m.step for m in history] == [1]
    assert set(METRIC_KEYS) <= set(stages["evaluate_ocr"].data.metrics)
