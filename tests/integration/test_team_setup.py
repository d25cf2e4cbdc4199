"""The team setup, for real on loopback: MLflow tracking and registry on PostgreSQL with artifacts
in S3 (moto's S3 server), proxied by one ``mlflow server``.

The export_crack and register flows run against it unchanged (only ``MLFLOW_TRACKING_URI`` differs
from the one-machine setup); the test then reads PostgreSQL (psycopg2) and the bucket (boto3)
directly to show where each record landed, serves ``models:/road-crack-segmenter@champion`` from
that server, and runs two register flows from two working copies at the same time.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import mlflow
import numpy as np
import pandas as pd
import pytest
import requests
import yaml
from prefect.settings import PREFECT_API_URL, temporary_settings

from components.crack.data import normalize
from components.crack.qat import quantize
from components.data.manifest import Splits, build_crack_manifest
from tests.components.export.tiny_models import H, W, mini_unet
from tests.flows.crack_gates import make_eval_sets, write_gate_inputs
from tests.helpers import REPO
from tests.helpers.data import make_crack_dataset
from tests.integration.helpers import clean_env, free_port, run, server
from tests.integration.team_servers import (
    S3,
    Postgres,
    mlflow_team_server,
    postgres_server,
    prefect_api,
    require_postgres,
    s3_server,
)

pytestmark = pytest.mark.integration

NAME = "road-crack-segmenter"
BUCKET = "team-mlflow"
PY = sys.executable


@dataclass(frozen=True)
class Team:
    pg: Postgres
    s3: S3
    mlflow: str
    prefect_api: str


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    require_postgres()
    tmp = tmp_path_factory.mktemp("team")
    start = time.monotonic()
    with (
        postgres_server() as pg,
        s3_server(tmp, (BUCKET,)) as s3,
        mlflow_team_server(tmp, pg, s3, BUCKET) as uri,
        prefect_api(tmp) as api,
    ):
        print(f"team servers up in {time.monotonic() - start:.1f} s")
        yield Team(pg, s3, uri, api)


def _git(root: Path, message: str) -> None:
    for cmd in (
        ["git", "init", "-q"],
        ["git", "config", "user.email", "ci@example.invalid"],
        ["git", "config", "user.name", "ci"],
        ["git", "add", "-A"],
        ["git", "commit", "-qm", message],
    ):
        run(cmd, root)


@pytest.fixture(scope="module")
def project(tmp_path_factory, team):
    """A working copy with a tiny crack dataset and a tiny QAT model, exported by the export_crack
    flow with its run tracked to the team server."""
    import tensorflow as tf

    root = tmp_path_factory.mktemp("team-project")
    make_crack_dataset(root / "data/crack", n=4)
    samples = build_crack_manifest(root / "data/crack", Splits(0.8, 0.1, 0.1), 50_000_000, 5, progress=False)
    (root / "data/manifests").mkdir(parents=True)
    pd.concat([samples.assign(split=s) for s in ("train", "val", "test")]).to_parquet(
        root / "data/manifests/crack.parquet"
    )
    make_eval_sets(root)
    tf.keras.utils.set_random_seed(0)
    parent = mini_unet()
    qat = quantize(parent)
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
    os.environ["MLFLOW_TRACKING_URI"] = team.mlflow  # the only change from the one-machine setup
    try:
        with temporary_settings(updates={PREFECT_API_URL: team.prefect_api}):
            from flows.evaluate_crack import evaluate_crack
            from flows.export_crack import export_crack

            evaluate_crack(root=root)
            export_crack(root=root)
            yield root
    finally:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        os.environ.update(saved)


def _metrics(root: Path, quantized: float, float_parent: float) -> None:
    write_gate_inputs(root, quantized, float_parent)


def test_register_lands_in_postgres_and_s3_and_serves_from_there(team, project):
    from flows.register import register

    _metrics(project, 0.80, 0.805)
    with temporary_settings(updates={PREFECT_API_URL: team.prefect_api}):
        out = register("crack", root=project)
    assert out == {"version": 1, "promoted": True, "previous_champion": 0, "checks_failed": 0}

    # read back through MLflow
    client = mlflow.MlflowClient(tracking_uri=team.mlflow)
    assert client.get_model_version_by_alias(NAME, "champion").version == "1"
    v1 = client.get_model_version(NAME, "1")
    assert v1.tags["gate.passed"] == "true" and v1.tags["metric.dice"] == "0.8"
    run_ = client.get_run(v1.tags["source_run_id"])
    assert run_.data.tags["stage"] == "register_crack" and run_.data.metrics["gate_passed"] == 1.0

    # ... and straight from PostgreSQL: runs, params, metrics, tags, versions, aliases
    pg = team.pg
    stages = dict(
        pg.query("SELECT r.run_uuid, t.value FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid WHERE t.key = 'stage'")
    )
    assert sorted(stages.values()) == ["evaluate_crack", "export_crack", "register_crack"]
    export_run = next(k for k, v in stages.items() if v == "export_crack")
    assert ("export.representative_images", "4") in pg.query(
        "SELECT key, value FROM params WHERE run_uuid = %s", (export_run,)
    )
    assert pg.query(
        "SELECT value FROM metrics WHERE run_uuid = %s AND key = 'candidate.dice'", (run_.info.run_id,)
    ) == [(0.8,)]
    assert pg.query("SELECT name, version, run_id FROM model_versions") == [(NAME, 1, run_.info.run_id)]
    assert pg.query("SELECT alias, version FROM registered_model_aliases WHERE name = %s", (NAME,)) == [("champion", 1)]
    assert ("gate.passed", "true") in pg.query("SELECT key, value FROM model_version_tags WHERE name = %s", (NAME,))
    ((location,),) = pg.query("SELECT artifact_location FROM experiments WHERE name = 'inspection-pipeline'")
    assert location.startswith("mlflow-artifacts:"), location  # proxied: clients never see the bucket

    # ... and the files in the bucket
    keys = team.s3.keys(BUCKET)
    model_keys = [k for k in keys if "/artifacts/export/crack_int8.tflite" in k]
    assert model_keys and all(k.startswith("mlartifacts/") for k in keys), keys
    assert any(k.endswith("model_card.md") for k in keys) and any(k.endswith("/MLmodel") for k in keys)
    assert any(k.endswith("crack_meta.json") for k in keys)  # export_crack's own artifacts too
    body = team.s3.client().get_object(Bucket=BUCKET, Key=model_keys[0])["Body"].read()
    assert body == (project / "models/export/crack/crack_int8.tflite").read_bytes()

    # the champion served from the registry, its files coming from S3 through the server
    port = free_port()
    cmd = [
        str(Path(PY).parent / "mlflow"),
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
    payload = {"dataframe_split": {"columns": ["image"], "data": [[base64.b64encode(image).decode()]]}}
    with server(cmd, f"http://127.0.0.1:{port}/ping", project, clean_env(MLFLOW_TRACKING_URI=team.mlflow)):
        r = requests.post(f"http://127.0.0.1:{port}/invocations", json=payload, timeout=60)
    assert r.status_code == 200, r.text
    row = r.json()["predictions"][0]
    assert (row["height"], row["width"]) == (288, 384) and 0.0 <= row["masking_rate"] <= 1.0


def _working_copy(project: Path, dst: Path, quantized: float, float_parent: float) -> Path:
    """Another user's working directory: the project's data, model and export with its own metrics
    and its own git commit (the code is the repository's, on PYTHONPATH)."""
    shutil.copytree(project, dst, ignore=shutil.ignore_patterns("server-*.log", "__pycache__"))
    _metrics(dst, quantized, float_parent)
    _git(dst, f"candidate {dst.name}")
    return dst


def test_two_users_register_at_once(team, project, tmp_path):
    client = mlflow.MlflowClient(tracking_uri=team.mlflow)
    if client.get_registered_model(NAME).aliases.get("champion") is None:
        pytest.skip("needs the champion of the previous test")
    champion_before = client.get_model_version_by_alias(NAME, "champion").version
    # alice's candidate beats the champion (0.80); bob's loses 0.02 to its float parent: gate fails
    copies = {
        "alice": _working_copy(project, tmp_path / "alice", 0.85, 0.85),
        "bob": _working_copy(project, tmp_path / "bob", 0.78, 0.80),
    }
    env = clean_env(MLFLOW_TRACKING_URI=team.mlflow, PREFECT_API_URL=team.prefect_api, PYTHONPATH=str(REPO))
    procs = {
        who: subprocess.Popen(
            [PY, "-m", "flows.register", "crack"],
            cwd=root,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for who, root in copies.items()
    }
    outputs = {who: p.communicate(timeout=900)[0] for who, p in procs.items()}
    for who, p in procs.items():
        assert p.returncode == 0, f"{who}:\n{outputs[who][-4000:]}"

    result = {who: json.loads((root / "metrics/register_crack.json").read_text()) for who, root in copies.items()}
    versions = {who: str(r["version"]) for who, r in result.items()}
    assert len(set(versions.values())) == 2 and set(versions.values()).isdisjoint({champion_before}), versions
    assert result["alice"]["promoted"] and not result["bob"]["promoted"]
    assert client.get_model_version_by_alias(NAME, "champion").version == versions["alice"]

    commits = {who: run(["git", "rev-parse", "HEAD"], root).stdout.strip() for who, root in copies.items()}
    own_dice = {"alice": 0.85, "bob": 0.78}
    for who, version in versions.items():  # each version, its run and its parent are this user's own
        mv = client.get_model_version(NAME, version)
        r = client.get_run(mv.tags["source_run_id"])
        assert r.data.tags["registered_version"] == version and r.data.tags["git_commit"] == commits[who]
        assert r.data.metrics["candidate.dice"] == own_dice[who] and mv.tags["metric.dice"] == str(own_dice[who])
        assert mv.tags["git_commit"] == commits[who]
        parent = client.get_run(r.data.tags["mlflow.parentRunId"])
        assert parent.data.tags["run_type"] == "pipeline" and parent.data.tags["git_commit"] == commits[who]
    assert client.get_model_version(NAME, versions["bob"]).tags["gate.passed"] == "false"
    assert (
        "shortfall vs its float parent +0.0200" in client.get_model_version(NAME, versions["bob"]).tags["gate.reasons"]
    )
    rows = team.pg.query("SELECT version FROM model_versions WHERE name = %s ORDER BY version", (NAME,))
    assert [v for (v,) in rows] == sorted(int(v) for v in {champion_before, *versions.values()})


# Bad input. MLflow's client retries a failing server 7 times with growing pauses (minutes); two
# quick retries are enough to show the error a user gets.
FAST_FAIL = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}


def _versions(pg: Postgres) -> list[int]:
    return [v for (v,) in pg.query("SELECT version FROM model_versions WHERE name = %s ORDER BY version", (NAME,))]


def _register_fails(team: Team, root: Path) -> str:
    """Run the register flow where it must fail; return its last stderr line (the one error)."""
    env = clean_env(
        MLFLOW_TRACKING_URI=team.mlflow, PREFECT_API_URL=team.prefect_api, PYTHONPATH=str(REPO), **FAST_FAIL
    )
    out = run([PY, "-m", "flows.register", "crack"], root, check=False, env=env)
    assert out.returncode == 1, out.stdout[-2000:] + out.stderr[-3000:]
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("register crack failed: MLflow tracking at " + team.mlflow), out.stderr[-3000:]
    return last


def test_missing_bucket_is_one_error_naming_the_uri_and_registers_nothing(team, project, tmp_path):
    before, champion = _versions(team.pg), team.pg.query("SELECT alias, version FROM registered_model_aliases")
    root = _working_copy(project, tmp_path / "carol", 0.95, 0.95)  # would pass every gate
    s3 = team.s3.client()
    for key in team.s3.keys(BUCKET):
        s3.delete_object(Bucket=BUCKET, Key=key)
    s3.delete_bucket(Bucket=BUCKET)
    try:
        print(_register_fails(team, root))
    finally:
        s3.create_bucket(Bucket=BUCKET)
    assert _versions(team.pg) == before  # the model's files never landed, so no version either
    assert team.pg.query("SELECT alias, version FROM registered_model_aliases") == champion
    ((status,),) = team.pg.query(
        "SELECT r.status FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid "
        "WHERE t.key = 'git_commit' AND t.value = %s AND r.name = 'register_crack'",
        (run(["git", "rev-parse", "HEAD"], root).stdout.strip(),),
    )
    assert status == "FAILED"


def test_stopped_postgres_is_one_error_naming_the_uri_and_registers_nothing(team, project, tmp_path):
    before = _versions(team.pg)
    root = _working_copy(project, tmp_path / "dave", 0.95, 0.95)
    team.pg.stop()
    try:
        print(_register_fails(team, root))
    finally:
        team.pg.start()
    assert _versions(team.pg) == before
