"""End to end: `dvc repro evaluate_crack` at tiny scale in a temporary git clone.

prepare_crack -> validate_crack -> train_crack -> qat_crack -> evaluate_crack with the real DVC,
Prefect, MLflow and TensorFlow, on 16 frames resized to 96x64 and a tiny decoder, then checks the
outputs and MLflow runs, and that changing only a QAT parameter reruns qat_crack (and what follows)
but never train_crack.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml

from tests.integration.helpers import CRACK_FREE_EXTRA, make_tiny_clone, run

pytestmark = pytest.mark.integration  # a tiny clone of the repository, real DVC/Prefect/MLflow

FRAMES = 16
STAGES = ["train_crack", "qat_crack", "evaluate_crack"]


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    dst = make_tiny_clone(tmp_path_factory.mktemp("crack"), frames=FRAMES)
    params = yaml.safe_load((dst / "params.yaml").read_text())
    params["data"]["splits"] = {"train": 0.75, "val": 0.25, "test": 0.0}  # models are judged on eval_data
    c = params["crack"]
    c["model"].update(input_size=[96, 64], decoder_filters=[16, 16, 16, 16], decoder_convs=1)
    c["train"].update(epochs=2, batch_size=2, crop_size=[64, 64])
    c["qat"].update(epochs=1, batch_size=2)
    c["eval"].update(n_overlays=1)
    (dst / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    # model files are DVC outputs; if a copy was ever committed to git, DVC refuses to write them
    run(["git", "rm", "-r", "-q", "--cached", "--ignore-unmatch", "models/crack", "plots/crack/overlays"], dst)
    run(["git", "commit", "-qam", "tiny crack"], dst)
    return dst


@pytest.fixture(scope="module")
def repro(clone) -> None:
    run([sys.executable, "-m", "flows.pipeline", "evaluate_crack"], clone)


def test_outputs_metrics_and_plots(clone, repro):
    assert (clone / "models/crack/float.keras").stat().st_size > 0
    assert (clone / "models/crack/qat.h5").stat().st_size > 0
    metrics = json.loads((clone / "metrics/evaluate_crack.json").read_text())
    keys = {"dice", "iou", "precision", "recall", "dice_cracked", "false_alarm_rate", "pixel_dice", "pixel_iou"}
    for form in ("float", "qat"):
        expected = {f"{k}{s}{c}" for k in keys for s in ("", "_ood") for c in ("", "_ci_low", "_ci_high")}
        assert set(metrics[form]) == expected
        values = {k: v for k, v in metrics[form].items() if v == v}  # NaN: a set with no crack-free frame
        assert all(0.0 <= v <= 1.0 for v in values.values())
        assert all(
            values[f"{k}_ci_low"] <= values[k] + 1e-9 <= values[f"{k}_ci_high"] + 2e-9
            for k in keys
            if k in values and f"{k}_ci_low" in values
        )
        assert (clone / f"plots/crack/pr_{form}.csv").exists()
        assert len(list((clone / "plots/crack/overlays").glob(f"{form}_*.png"))) == 4  # best + worst, test + ood
        for eval_set in ("test", "ood"):
            table = pd.read_parquet(clone / f"reports/per_frame/evaluate_crack/{form}_{eval_set}.parquet")
            extra = CRACK_FREE_EXTRA if eval_set == "test" else 0  # eval_data.crack.test_crack_free
            assert len(table) == metrics[f"{eval_set}_images"] == FRAMES + extra
    families = pd.read_csv(clone / "reports/families/evaluate_crack.csv")  # the same metrics per family
    assert set(zip(families["form"], families["set"])) == {(f, s) for f in ("float", "qat") for s in ("test", "ood")}
    assert families.query("form == 'float'").groupby("set")["frames"].sum().to_dict() == {
        "test": FRAMES + CRACK_FREE_EXTRA,
        "ood": FRAMES,
    }
    train = json.loads((clone / "metrics/train_crack.json").read_text())
    assert train["params"] > 0 and train["train_images_per_s"] > 0
    assert len((clone / "plots/crack/train_float.csv").read_text().splitlines()) == 1 + 2  # header + 2 epochs
    assert not list((clone / ".cache/crack").rglob("*.npz"))  # resume state cleared after success
    lock = yaml.safe_load((clone / "dvc.lock").read_text())["stages"]
    assert set(STAGES) <= set(lock)


def test_mlflow_runs_with_data_hash(clone, repro):
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{clone / 'mlruns' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("inspection-pipeline")
    runs = {r.data.tags.get("stage"): r for r in client.search_runs([exp.experiment_id], max_results=100)}
    lock = yaml.safe_load((clone / "dvc.lock").read_text())["stages"]
    data_hash = next(o["md5"] for o in lock["prepare_crack"]["outs"] if o["path"] == "data/crack")
    for stage in STAGES:
        assert runs[stage].info.status == "FINISHED" and runs[stage].data.tags["dvc_data_hash"] == data_hash
    assert "val_dice" in runs["train_crack"].data.metrics
    history = client.get_metric_history(runs["train_crack"].info.run_id, "val_dice")
    assert sorted(m.step for m in history if m.step > 0) == [1, 2]  # per epoch (step 0: the best, as a summary)
    assert {"float.dice", "qat.dice", "qat.recall"} <= set(runs["evaluate_crack"].data.metrics)


def test_qat_param_change_does_not_retrain_float(clone, repro):
    path = clone / "params.yaml"
    original = path.read_text()
    params = yaml.safe_load(original)
    params["crack"]["qat"]["lr"] = params["crack"]["qat"]["lr"] / 2
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        status = json.loads(run([sys.executable, "-m", "dvc", "status", "--json", *STAGES], clone).stdout)
        assert set(status) == {"qat_crack"}, status
        dry = run([sys.executable, "-m", "dvc", "repro", "--dry", "evaluate_crack"], clone).stdout
        assert "Running stage 'qat_crack'" in dry and "Running stage 'train_crack'" not in dry, dry
    finally:
        path.write_text(original)
