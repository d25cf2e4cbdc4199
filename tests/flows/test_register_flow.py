"""export_crack then register on a real ``mlflow server`` (SQLite backend, proxied artifacts) on
loopback: gates pass, fail, worse than champion, new test split; then ``mlflow models serve`` of
``models:/road-crack-segmenter@champion`` from that server answering HTTP, and refusing bad payloads
(large ones with a short answer that starts with the reason).

The export is the real export_crack flow on a tiny QAT model with the UNet's layer types (the
MobileNetV2 UNet takes over a minute per TFLite conversion; the integration tests run it). The
gate tests then write the metrics files themselves, because their subject is the decision for
given numbers, not model quality.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path

import cv2
import mlflow
import numpy as np
import pandas as pd
import pytest
import requests
import scipy.sparse
import yaml

from components.crack.data import normalize
from components.crack.qat import quantize
from components.data.manifest import Splits, build_crack_manifest
from components.registry.pyfunc_models import MAX_IMAGE_BYTES
from flows.evaluate_crack import evaluate_crack
from flows.export_crack import export_crack
from flows.register import register
from tests.components.export.tiny_models import H, W, mini_unet
from tests.flows.crack_gates import FRAMES, make_eval_sets, write_gate_inputs
from tests.helpers import REPO
from tests.helpers.data import make_crack_dataset
from tests.integration.helpers import clean_env, free_port, server

NAME = "road-crack-segmenter"


# slow: exports a crack model, serves it with `mlflow models serve`
pytestmark = [pytest.mark.usefixtures("prefect_server"), pytest.mark.slow]


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory):
    """A real MLflow tracking + registry server for the module."""
    tmp = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--backend-store-uri",
        f"sqlite:///{tmp / 'server.db'}",
        "--artifacts-destination",
        str(tmp / "artifacts"),
        "--workers",
        "1",
    ]
    with server(cmd, f"{uri}/health", tmp, clean_env()):
        yield uri


@pytest.fixture(scope="module")
def project(tmp_path_factory, tracking_server):
    """A project folder with a tiny crack dataset (every sample in every split), a tiny QAT model
    and its export by the export_crack flow, tracked to the server."""
    import tensorflow as tf

    root = tmp_path_factory.mktemp("register")
    make_crack_dataset(root / "data/crack", n=4)
    samples = build_crack_manifest(root / "data/crack", Splits(0.8, 0.1, 0.1), 50_000_000, 5, progress=False)
    (root / "data/manifests").mkdir(parents=True)
    pd.concat([samples.assign(split=s) for s in ("train", "val", "test")]).to_parquet(
        root / "data/manifests/crack.parquet"
    )
    make_eval_sets(root)
    tf.keras.utils.set_random_seed(0)
    parent = mini_unet()
    qat = quantize(parent)  # the UNet's layer types; converts in seconds
    qat(normalize(np.random.default_rng(0).integers(0, 255, (4, H, W, 3), np.uint8)), training=True)
    (root / "models/crack").mkdir(parents=True)
    qat.save(root / "models/crack/qat.h5")
    parent.save(root / "models/crack/float.keras")  # evaluate_crack scores both; export_crack reads its QAT scores
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["crack"]["model"]["input_size"] = [W, H]
    params["crack"]["train"]["crop_size"] = [W, H]  # a crop is cut from a frame of the input size
    params["export"]["crack"].update(representative_images=4, latency_runs=2, latency_warmup=1, dynamic_range=True)
    params["registry"]["crack"] = {
        "minimums": {"dice": 0.5},
        "maximums": {},
        "max_quantization_drop": {"dice": 0.01},
        "compare_key": "dice",
        "champion_tolerance": 0.0,
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    saved = {k: os.environ.pop(k) for k in ("MLFLOW_TRACKING_URI", "PIPELINE_RUN_ID") if k in os.environ}
    os.environ["MLFLOW_TRACKING_URI"] = tracking_server
    try:
        yield root
    finally:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        os.environ.update(saved)


def _metrics(root: Path, quantized: float, float_parent: float, names: list[str] = FRAMES) -> None:
    write_gate_inputs(root, quantized, float_parent, names)


def test_export_crack_flow_writes_both_forms_and_their_metrics(project):
    with pytest.raises(FileNotFoundError, match="evaluate_crack"):  # it reads the QAT model's scores from there
        export_crack(root=project)
    evaluate_crack(root=project)
    metrics = export_crack(root=project)
    evaluated = json.loads((project / "metrics/evaluate_crack.json").read_text())
    assert metrics["qat"] == evaluated["qat"]
    int8 = metrics["tflite_int8"]
    assert 0.0 <= int8["mask_agreement_vs_qat"] <= 1.0  # a share of pixels (an untrained model: about half)
    assert int8["dice_delta_vs_qat"] == pytest.approx(int8["dice"] - evaluated["qat"]["dice"], abs=1e-4)
    assert {"qat", "tflite_int8", "tflite_dynamic"} <= set(metrics)
    assert {"dice", "latency_ms_p50", "latency_ms_p50_2t", "model_bytes"} <= set(metrics["tflite_int8"])
    assert json.loads((project / "metrics/export_crack.json").read_text()) == json.loads(json.dumps(metrics))
    meta = json.loads((project / "models/export/crack/crack_meta.json").read_text())
    assert meta["input_size"] == [W, H] and set(meta["files"]) == {"int8", "dynamic"}


def test_gates_decide_the_champion(project, tracking_server):
    client = mlflow.MlflowClient(tracking_uri=tracking_server)
    _metrics(project, 0.80, 0.805)
    first = register("crack", root=project)
    assert first["promoted"] and first["version"] == 1
    v1 = client.get_model_version(NAME, "1")
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "1"
    assert v1.tags["gate.passed"] == "true" and v1.tags["metric.dice"] == "0.8"
    assert {"git_commit", "dvc_data_hash", "test_split", "gate.champion.dice"} <= set(v1.tags)
    assert v1.description.startswith(f"# {NAME}") and "## Limits" in v1.description
    local = Path(mlflow.artifacts.download_artifacts(f"models:/{NAME}/1", tracking_uri=tracking_server))
    assert (local / "artifacts/model_card.md").exists() and (local / "serving_input_example.json").exists()
    assert sorted(p.name for p in (local / "artifacts/export").iterdir()) == ["crack_int8.tflite", "crack_meta.json"]
    # a loader may choose how large frames are read: MLflow overrides only logged config keys
    served = mlflow.pyfunc.load_model(str(local), model_config={"tiling": "always"}).unwrap_python_model()
    assert served.tiling == "always"
    assert mlflow.pyfunc.load_model(str(local)).unwrap_python_model().tiling == "auto"

    _metrics(project, 0.78, 0.80)  # loses 0.02 to its float parent
    second = register("crack", root=project)
    v2 = client.get_model_version(NAME, "2")
    assert not second["promoted"] and v2.tags["gate.passed"] == "false"
    assert "shortfall vs its float parent +0.0200, 95% upper bound +0.0200 > margin 0.01" in v2.tags["gate.reasons"]
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "1"

    _metrics(project, 0.79, 0.795)  # fine on its own, but worse than the champion's 0.80
    third = register("crack", root=project)
    v3 = client.get_model_version(NAME, "3")
    assert not third["promoted"] and third["previous_champion"] == 1
    assert "shortfall vs the champion +0.0100" in v3.tags["gate.reasons"]
    assert "float parent" not in v3.tags["gate.reasons"]
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "1"


def test_champion_is_reevaluated_when_the_test_split_changed(project, tracking_server):
    manifest = project / "data/manifests/crack_test.parquet"
    original = pd.read_parquet(manifest)
    try:
        changed = original[original.name != original.name.min()]
        changed.to_parquet(manifest)
        _metrics(project, 0.95, 0.95, names=sorted(changed.name))
        out = register("crack", root=project)
        version = mlflow.MlflowClient(tracking_uri=tracking_server).get_model_version(NAME, str(out["version"]))
        detail = version.tags["gate.champion.dice"]
        # the champion's stored scores were on the old test set: it is scored again on the new one,
        # frame by frame, so the comparison is paired on the 3 frames left
        assert "vs the champion" in detail and "over 3 frames" in detail, detail
        assert out["promoted"]
    finally:
        original.to_parquet(manifest)


def _post(url: str, payload: dict) -> requests.Response:
    return requests.post(url, json=payload, timeout=60)


def test_mlflow_serves_the_champion_and_refuses_bad_payloads(project, tracking_server):
    port = free_port()
    env = clean_env(MLFLOW_TRACKING_URI=tracking_server)
    cmd = [
        str(Path(sys.executable).parent / "mlflow"),
        "models",
        "serve",
        "-m",
        f"models:/{NAME}@champion",
        "--env-manager",
        "local",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    image = cv2.imencode(".png", cv2.imread(str(next((project / "data/crack/images").glob("*.png")))))[1].tobytes()
    good = {"dataframe_split": {"columns": ["image"], "data": [[base64.b64encode(image).decode()]]}}
    url = f"http://127.0.0.1:{port}/invocations"
    with server(cmd, f"http://127.0.0.1:{port}/ping", project, env):
        r = _post(url, good)
        assert r.status_code == 200, r.text
        row = r.json()["predictions"][0]
        mask = scipy.sparse.csr_matrix(
            (np.ones(len(row["mask_indices"])), row["mask_indices"], row["mask_indptr"]),
            shape=(row["height"], row["width"]),
        ).toarray()
        assert mask.shape == (288, 384) and abs(mask.mean() - row["masking_rate"]) < 1e-9

        bad = {
            "not an image": {
                "dataframe_split": {"columns": ["image"], "data": [[base64.b64encode(b"GIF? no").decode()]]}
            },
            "wrong column": {"dataframe_split": {"columns": ["pixels"], "data": [["abc"]]}},
            "wrong shape": {"inputs": [[1, 2, 3]]},
            "oversized": {"dataframe_split": {"columns": ["image"], "data": [["A" * (MAX_IMAGE_BYTES * 4 // 3 + 8)]]}},
        }
        for what, payload in bad.items():
            r = _post(url, payload)
            assert 400 <= r.status_code < 500, (what, r.status_code, r.text[:300])
            assert r.json().get("message"), what
        assert "cannot be decoded" in _post(url, bad["not an image"]).json()["message"]
        assert "byte limit" in _post(url, bad["oversized"]).json()["message"]

        # ~20 MB bad requests (under the size limit) get a short answer that starts with the reason,
        # whichever part refuses them
        garbage = base64.b64encode(b"GIF? no" * 2_200_000).decode()
        large = {
            "image 0: cannot be decoded": json.dumps({"instances": [{"image": garbage}]}),  # our predict
            "Model is missing inputs ['image']": json.dumps({"inputs": {"pixels": [garbage]}}),  # MLflow's schema
            "Invalid input. Ensure that input is a valid JSON": "{" + garbage,  # MLflow's JSON parser
        }
        for reason, body in large.items():
            assert len(body) > 20_000_000
            r = requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=120)
            assert r.status_code == 400 and len(r.content) < 1000, (reason, r.status_code, len(r.content), r.text[:300])
            assert r.json()["message"].startswith(reason), r.json()
        assert _post(url, good).status_code == 200  # still serving after the bad requests
