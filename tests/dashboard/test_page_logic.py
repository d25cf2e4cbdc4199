"""The dashboard's page logic against a real MLflow store and real result folders (see conftest)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from components.dashboard import registry, results, settings, status
from components.predict.store import PARTS, RESULTS
from tests.helpers import REPO
from tests.helpers.dashboard import CRACK_REASON, EXPERIMENT, N_CRACK, OCR_V2_REASON


@pytest.fixture(scope="module")
def client(store) -> MlflowClient:
    return MlflowClient(tracking_uri=store, registry_uri=store)


def test_settings_follow_the_environment_then_params_yaml(tmp_path):
    (tmp_path / "params.yaml").write_text("mlflow:\n  tracking_uri: sqlite:///store/m.db\n  experiment: exp\n")
    cfg = settings.load(tmp_path, environ={})
    assert cfg.tracking_uri == f"sqlite:///{tmp_path}/store/m.db" and cfg.experiment == "exp"  # not the cwd's
    assert cfg.results == tmp_path / "predictions" and cfg.path("runs/a") == tmp_path / "runs/a"
    cfg = settings.load(
        tmp_path, environ={"MLFLOW_TRACKING_URI": "http://127.0.0.1:5000", "DASHBOARD_RESULTS": "/data/preds"}
    )
    assert cfg.tracking_uri == "http://127.0.0.1:5000" and cfg.results == Path("/data/preds")
    (tmp_path / "params.yaml").write_text("mlflow: [broken")
    assert settings.load(tmp_path, environ={}).experiment == settings.DEFAULT_EXPERIMENT
    assert settings.load(REPO, environ={}).tracking_uri == f"sqlite:///{REPO}/mlruns/mlflow.db"
    assert settings.missing_store(f"sqlite:///{tmp_path}/none.db") == tmp_path / "none.db"
    assert settings.missing_store("http://127.0.0.1:5000") is None
    env = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "60"}
    settings.apply_http_defaults(env)
    assert env == {**settings.HTTP_DEFAULTS, "MLFLOW_HTTP_REQUEST_TIMEOUT": "60"}, "explicit settings win"


def test_champions_history_and_gates(client):
    overviews = [registry.overview(client, n) for n in registry.model_names(client)]
    assert [o.name for o in overviews] == ["resistor-ocr", "road-crack-segmenter"]
    ocr, crack = overviews
    assert ocr.champion == 1 and ocr.latest == 2, "the alias, not the newest version, makes the champion"
    assert list(ocr.history.version) == [2, 1] and list(ocr.history.aliases) == ["", "champion"]
    assert list(ocr.history.gates) == ["failed", "passed"] and ocr.history.gate_reasons[0] == OCR_V2_REASON
    assert ocr.history.string_accuracy.tolist() == [0.41, 0.4906] and "fps_2t" not in ocr.history  # headline keys only
    assert crack.champion is None and crack.history.gates.tolist() == ["failed"]

    table = registry.champions(overviews)
    assert table.champion.tolist()[0] == 1 and pd.isna(table.champion[1])
    assert table.latest_gate_reasons.tolist() == [OCR_V2_REASON, CRACK_REASON]

    d = registry.version_detail(client, "road-crack-segmenter", 1)
    assert d.gate_passed is False and d.gate_reasons == CRACK_REASON and not d.champion
    assert d.gates.to_dict("records")[0] == {"check": "quantization.dice", "passed": False, "detail": CRACK_REASON}
    assert list(d.metrics) == ["dice", "iou", "latency_ms_p50", "model_bytes"] and d.metrics["dice"] == 0.6857
    assert d.card.startswith("# road-crack-segmenter") and d.tags["model_form"] == "tflite_int8"
    v1 = registry.version_detail(client, "resistor-ocr", 1)
    assert v1.champion and v1.gate_passed and v1.gates.passed.all() and list(v1.metrics)[-1] == "fps_2t"


def test_gate_tags_parse_and_metrics_format():
    tags = {
        "gate.minimum.dice": "pass: dice 0.7 >= minimum 0.6",
        "gate.quantization.dice": "fail: drop 0.02: too much",
        "gate.passed": "false",
        "gate.reasons": "drop",
        "metric.dice": "0.7",
        "metric.bad": "n/a",
        "git_commit": "x",
    }
    gates = registry.gates_from_tags(tags)
    assert gates.to_dict("records") == [
        {"check": "quantization.dice", "passed": False, "detail": "drop 0.02: too much"},
        {"check": "minimum.dice", "passed": True, "detail": "dice 0.7 >= minimum 0.6"},
    ]
    assert registry.metrics_from_tags(tags) == {"dice": 0.7}
    assert registry.gates_from_tags({}).empty
    fmt = registry.format_metric
    assert (
        fmt("model_bytes", 1604585),
        fmt("latency_ms_p95", 21.53),
        fmt("fps", 69.35),
        fmt("dice", 0.68567),
        fmt("rois", 106.0),
    ) == ("1.60 MB", "21.5 ms", "69.3", "0.686", "106")


def test_test_and_ood_side_by_side_with_intervals():
    metrics = {
        "dice_cracked": 0.81,
        "dice_cracked_ci_low": 0.8,
        "dice_cracked_ci_high": 0.82,
        "dice_cracked_ood": 0.61,
        "dice_cracked_ood_ci_low": 0.58,
        "dice_cracked_ood_ci_high": 0.64,
        "dice": 0.7,
        "latency_ms_p50": 9.0,
    }
    table = registry.test_vs_ood(metrics)
    assert table.to_dict("records") == [
        {
            "metric": "dice_cracked",
            "test": "0.810 [0.800, 0.820]",
            "ood": "0.610 [0.580, 0.640]",
            "gap (ood - test)": -0.2,
        }
    ]
    assert registry.test_vs_ood({"dice": 0.7}).empty


def test_last_run_of_each_stage(client):
    stages = status.dvc_stages(REPO / "dvc.yaml")
    assert stages[:3] == ["prepare_ocr", "eval_data_ocr", "prepare_crack"] and "register_crack" in stages
    table = status.last_stage_runs(client, EXPERIMENT, stages).set_index("stage")
    assert list(table.index) == stages + ["retired_stage"], "dvc.yaml order, then stages that left it"
    assert table.loc["validate_crack", "status"] == "FAILED", "the newest run counts, not the last good one"
    assert table.loc["evaluate_crack", "status"] == "FINISHED"
    assert table.loc["evaluate_crack", "metrics"] == "float.dice 0.709, float.iou 0.607"
    assert table.loc["register_ocr", "duration_s"] >= 0 and len(table.loc["register_ocr", "run_id"]) == 32
    assert table.loc["train_roi", "status"] == status.NEVER and table.loc["train_roi", "run_id"] == ""
    pipeline = status.last_pipeline_run(client, EXPERIMENT)
    assert pipeline["git_commit"] == "unknown" and {"validate_crack", "register_ocr", "register_crack"} <= set(
        pipeline["stages"]
    )
    assert status.last_stage_runs(client, "no-such-experiment", ["a"]).status.tolist() == [status.NEVER]
    assert status.last_pipeline_run(client, "no-such-experiment") is None
    assert status.dvc_stages(REPO / "no-dvc.yaml") == []
    assert status.short_commit("0123456789abcdef0123-dirty") == "0123456789ab-dirty"


def test_crack_results(results_root):
    assert results.find_folders(results_root) == [results_root / "crack", results_root / "ocr"]
    res = results.load(results_root / "crack")
    assert res.kind == "crack" and not results.HEAVY & set(res.table.columns), "masks are not loaded"
    s = results.summary(res)
    assert (s["images"], s["errors"], s["skipped_files"], s["with_cracks"]) == (N_CRACK + 1, 1, 1, N_CRACK - 1)
    assert s["mean_masking_rate"] == pytest.approx(res.ok.masking_rate.mean()) and 0 < s["max_masking_rate"] < 0.5
    assert res.errors.to_dict("records") == [
        {"image": "road/broken.png", "error": "road/broken.png: cannot be decoded (truncated PNG)"}
    ]
    assert res.skipped.path.tolist() == ["road/notes.txt"]

    points = results.map_points(res)
    assert len(points) == N_CRACK - 1, "the image without an asset and the error row have no point"
    assert points.lat.iloc[1] == pytest.approx(45.071) and points.weight.iloc[1] == pytest.approx(
        100 * res.ok.masking_rate.iloc[1]
    )
    assert results.overlay(res, "road/f003.png") == (results_root / "crack/overlays/road/f003.png").resolve()
    assert results.overlay(res, "road/broken.png") is None and results.overlay(res, "../../etc/passwd") is None


def test_map_view_fits_the_points():
    track = pd.DataFrame({"lat": [45.0, 45.01], "lon": [7.0, 7.001]})  # 1.1 km north-south
    lat, lon, zoom = results.map_view(track, width_px=900, height_px=420)
    assert (lat, lon) == pytest.approx((45.005, 7.0005))
    metres_per_px = 78271.52 * math.cos(math.radians(lat)) / 2**zoom  # deck.gl's web mercator (512 px tiles)
    assert 0.7 * 420 < 1113 / metres_per_px < 420, "the track fills most of the map's height, and fits"
    assert results.map_view(track.head(1))[2] == 17, "one point: street zoom"


def test_ocr_results(results_root):
    res = results.load(results_root / "ocr")
    reads = results.ocr_reads(res)
    assert reads[["image", "roi", "text"]].values.tolist() == [
        ["a.jpg", 0, "4R7"],
        ["b.jpg", 0, "103"],
        ["b.jpg", 1, "01C"],
    ]
    assert reads.characters[0] == "4:0.95 R:0.90 7:0.88" and reads.confidence.tolist() == [0.91, 0.62, 0.45]
    s = results.summary(res)
    assert (s["images"], s["resistors"], s["images_without_resistor"], s["errors"]) == (4, 3, 1, 1)
    assert math.isclose(s["mean_confidence"], (0.91 + 0.62 + 0.45) / 3)
    assert results.map_points(res) is None, "no coordinates, no map"
    assert results.overlay(res, "b.jpg").name == "b.jpg.png"
    assert results.display_table(res).char_labels.tolist()[:2] == ["4 R 7", "1 0 3"]
    assert {"valid", "value_ohm", "code_kind", "raw_text", "value", "read_status"} <= set(reads.columns)
    assert [results.format_ohm(v) for v in (4.7, 10e3, 2.2e6, 0.0, None, float("nan"))] == [
        "4.7 Ohm",
        "10 kOhm",
        "2.2 MOhm",
        "0 Ohm",
        "",
        "",
    ]


def test_video_keys_point_at_the_annotated_video(tmp_path):
    res = results.Results(tmp_path, "crack", pd.DataFrame(), pd.DataFrame())
    for name in ("drive.annotated.mp4", "drive.annotated.from-120.mp4"):
        (tmp_path / name).write_bytes(b"")
    assert results.overlay(res, "drive.mp4#frame=40").name == "drive.annotated.mp4"
    assert results.overlay(res, "drive.mp4#frame=125").name == "drive.annotated.from-120.mp4"
    assert results.overlay(res, "other.mp4#frame=0") is None


def test_unusable_result_folders_are_named_with_the_reason(tmp_path, results_root):
    with pytest.raises(results.ResultsError, match=r"nowhere: no such folder"):
        results.load(tmp_path / "nowhere")
    with pytest.raises(results.ResultsError, match=rf"{tmp_path}/{RESULTS}: no results table here"):
        results.load(tmp_path)
    (tmp_path / PARTS).mkdir()
    with pytest.raises(results.ResultsError, match=r"unmerged rows.*--resume"):
        results.load(tmp_path)
    (tmp_path / RESULTS).write_bytes((results_root / "crack" / RESULTS).read_bytes()[:300])  # truncated copy
    with pytest.raises(results.ResultsError, match=rf"{tmp_path}/{RESULTS}: cannot be read as parquet"):
        results.load(tmp_path)
    pd.DataFrame({"name": ["x"], "sha256": ["y"]}).to_parquet(tmp_path / RESULTS)  # a manifest, say
    with pytest.raises(results.ResultsError, match=r"not a batch-prediction table \(its columns are name, sha256\)"):
        results.load(tmp_path)
    assert results.find_folders(tmp_path / "nowhere") == [] and results.find_folders(tmp_path) == [tmp_path]


def test_page_logic_imports_no_framework():
    """The dashboard never needs torch or TensorFlow (seconds each to import), and
    mlflow (seconds to import) only once a tab reads the registry."""
    code = (
        "import sys; import components.dashboard.registry, components.dashboard.results, components.dashboard.status, "
        "components.dashboard.settings; print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', "
        "'tensorflow', 'mlflow'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
