"""End to end: `dvc repro` of the data stages at tiny scale in a temporary git clone.

Runs the real DVC, Prefect (temporary local API server), MLflow (SQLite store) and Great
Expectations, then checks the outputs, the MLflow record, that a second `dvc repro` does nothing,
that DVC reruns only what a parameter change touches, and push/pull round trips to a local remote
and to an S3 remote (moto's S3 server on loopback; the pipeline flow's ``--push``, which the
``pipeline`` deployment runs with ``push: true``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml

from tests.integration.helpers import CRACK_FREE_EXTRA, FRAMES, clean_env, make_tiny_clone, run
from tests.integration.team_servers import s3_server

pytestmark = pytest.mark.integration  # a tiny clone of the repository, real DVC/Prefect/MLflow

STAGES = {"prepare_ocr", "prepare_crack", "validate_ocr", "validate_crack", "eval_data_ocr", "eval_data_crack"}
TARGETS = ["validate_ocr", "validate_crack", "eval_data_ocr", "eval_data_crack"]  # the data half of the DAG


def _dvc(*args: str, cwd: Path, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "dvc", *args], cwd, check, env)


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    return make_tiny_clone(tmp_path_factory.mktemp("clone"))


@pytest.fixture(scope="module")
def repro(clone) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "flows.pipeline", *TARGETS], clone)


def _client(clone: Path) -> mlflow.MlflowClient:
    return mlflow.MlflowClient(tracking_uri=f"sqlite:///{clone / 'mlruns' / 'mlflow.db'}")


def _runs(clone: Path) -> list:
    client = _client(clone)
    exp = client.get_experiment_by_name("inspection-pipeline")
    return client.search_runs([exp.experiment_id], max_results=1000)


def test_outputs_exist_and_are_valid(clone, repro):
    assert len(list((clone / "data/ocr").glob("*.jpg"))) == FRAMES
    assert len(list((clone / "data/ocr").glob("*.json"))) == FRAMES
    assert len(list((clone / "data/crack/images").glob("*.png"))) == FRAMES
    for ds in ("ocr", "crack"):
        manifest = pd.read_parquet(clone / f"data/manifests/{ds}.parquet")
        assert len(manifest) == FRAMES and (manifest.status == "ok").all()
        assert {"path", "sha256", "width", "height", "channels", "split", "status"} <= set(manifest.columns)
        metrics = json.loads((clone / f"metrics/validate_{ds}.json").read_text())
        assert metrics["samples_ok"] == FRAMES and metrics["bad_samples"] == 0
        assert (clone / f"reports/validation/{ds}/index.html").exists()  # GX data docs
        assert "passed" in (clone / f"reports/validation/{ds}/report.html").read_text()
    boxes = pd.read_parquet(clone / "data/manifests/ocr_boxes.parquet")
    assert (boxes.kind == "roi").sum() >= FRAMES


def test_fixed_evaluation_sets_hold_training_styles_and_held_out_styles(clone, repro):
    params = yaml.safe_load((clone / "params.yaml").read_text())
    for ds in ("ocr", "crack"):
        train = pd.read_parquet(clone / f"data/manifests/{ds}.parquet")
        test = pd.read_parquet(clone / f"data/manifests/{ds}_test.parquet")
        ood = pd.read_parquet(clone / f"data/manifests/{ds}_ood.parquet")
        extra = CRACK_FREE_EXTRA if ds == "crack" else 0  # eval_data.crack.test_crack_free
        assert len(test) == FRAMES + extra and len(ood) == FRAMES
        assert (test.status == "ok").all() and (ood.status == "ok").all()
        if extra:
            assert (test.sort_values("path").tail(extra).n_polylines == 0).all()
        assert set(test.split) == {"test"} and set(ood.split) == {"ood"}
        assert set(train.family) <= set(params["data"][ds]["families"])
        assert set(test.family) <= set(params["data"][ds]["families"])
        assert set(ood.family) <= set(params["eval_data"][ds]["ood_families"]) and len(set(ood.family)) > 1
        assert not set(test.sha256) & set(train.sha256) and not set(ood.sha256) & set(test.sha256)
        stats = json.loads((clone / f"metrics/eval_data_{ds}.json").read_text())
        assert stats["test"]["samples_ok"] == FRAMES + extra and stats["ood"]["samples_ok"] == FRAMES
    # the evaluation sets do not depend on the size of the training data
    params["data"]["crack"]["num_frames"] = FRAMES + 4
    original = (clone / "params.yaml").read_text()
    (clone / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        status = json.loads(_dvc("status", "--json", "--with-deps", *TARGETS, cwd=clone).stdout)
        assert "eval_data_crack" not in status and "prepare_crack" in status, status
    finally:
        (clone / "params.yaml").write_text(original)


def test_every_log_reaches_the_prefect_server_before_it_stops(repro):
    # the pipeline's own server stops when the flow returns; logs still queued then were reported as
    # "--- Error logging to API ---" on the last line a user sees
    assert "Error logging to API" not in repro.stdout + repro.stderr
    assert "Finished in state Completed()" in repro.stdout + repro.stderr


def test_mlflow_has_one_nested_run_per_stage_with_data_hash(clone, repro):
    runs = _runs(clone)
    pipeline = [r for r in runs if r.data.tags.get("run_type") == "pipeline"]
    stages = [r for r in runs if r.data.tags.get("run_type") == "stage"]
    assert len(pipeline) == 1 and pipeline[0].info.status == "FINISHED"
    assert {r.data.tags["stage"] for r in stages} == STAGES and len(stages) == len(STAGES)
    assert all(r.data.tags["mlflow.parentRunId"] == pipeline[0].info.run_id for r in stages)
    lock = yaml.safe_load((clone / "dvc.lock").read_text())["stages"]
    ocr_hash = next(o["md5"] for o in lock["prepare_ocr"]["outs"] if o["path"] == "data/ocr")
    by_stage = {r.data.tags["stage"]: r for r in stages}
    assert by_stage["prepare_ocr"].data.tags["dvc_data_hash"] == ocr_hash
    assert by_stage["validate_ocr"].data.tags["dvc_data_hash"] == ocr_hash
    assert by_stage["validate_crack"].data.metrics["samples_ok"] == FRAMES
    assert "prefect.flow_run_id" in by_stage["validate_crack"].data.tags
    arts = [a.path for a in _client(clone).list_artifacts(by_stage["validate_ocr"].info.run_id)]
    assert "dataset_statistics.json" in arts and "validation_report" in arts


def test_second_repro_does_nothing(clone, repro):
    before = len(_runs(clone))
    out = _dvc("repro", *TARGETS, cwd=clone)
    assert "Data and pipelines are up to date" in out.stdout + out.stderr
    assert len(_runs(clone)) == before


def test_param_change_reruns_only_dependent_stages(clone, repro):
    params_path = clone / "params.yaml"
    original = params_path.read_text()
    params = yaml.safe_load(original)
    params["validation"]["crack"]["max_mask_coverage"] = 0.4
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        status = json.loads(_dvc("status", "--json", *TARGETS, cwd=clone).stdout)
        assert set(status) == {"validate_crack", "eval_data_crack"}, status  # the same checks judge both
    finally:
        params_path.write_text(original)


def test_bad_file_fails_validation_naming_it(clone, repro):
    victim = sorted((clone / "data/ocr").glob("*.jpg"))[0]
    saved = victim.read_bytes()
    try:
        victim.write_bytes(saved[: len(saved) // 3])
        out = run([sys.executable, "-m", "flows.validate", "ocr"], clone, check=False)
        assert out.returncode == 1
        assert victim.name in out.stderr and "cannot be decoded" in out.stderr
        assert not (clone / "data/manifests/ocr.parquet").exists()  # nothing that looks complete
        assert victim.stem in (clone / "reports/validation/ocr/bad_samples.csv").read_text()
    finally:
        victim.write_bytes(saved)
        _dvc("checkout", "--force", "--with-deps", *TARGETS, cwd=clone)
    assert "up to date" in _dvc("status", *TARGETS, cwd=clone).stdout


def test_push_pull_round_trip_to_local_remote(clone, repro, tmp_path):
    _dvc("remote", "add", "-d", "-f", "--local", "local", str(tmp_path / "store"), cwd=clone)
    _dvc("push", "--with-deps", *TARGETS, cwd=clone)
    shutil.rmtree(clone / "data/ocr")
    shutil.rmtree(clone / ".dvc/cache")
    _dvc("pull", "--with-deps", *TARGETS, cwd=clone)
    assert len(list((clone / "data/ocr").glob("*.jpg"))) == FRAMES
    assert "up to date" in _dvc("status", *TARGETS, cwd=clone).stdout


S3_OUTPUTS = [
    "data/ocr",
    "data/crack",
    "data/manifests/ocr.parquet",
    "data/manifests/crack.parquet",
    "reports/validation/ocr",
    "models/crack/float.keras",
]


def _digests(root: Path) -> dict[str, str]:
    """sha256 of every file under the outputs, by path."""
    out = {}
    for rel in S3_OUTPUTS:
        p = root / rel
        for f in [p] if p.is_file() else sorted(x for x in p.rglob("*") if x.is_file()):
            out[str(f.relative_to(root))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def test_pipeline_push_to_s3_remote_and_pull_into_a_bare_workspace(clone, repro, tmp_path):
    """Only the remote's configuration differs from the local round trip: ``dvc remote add`` with
    ``endpointurl`` (a real AWS bucket needs none) and the credentials in the environment."""
    bucket = "team-dvc"
    with s3_server(tmp_path, (bucket,)) as s3:
        env = clean_env(**s3.env)
        _dvc("remote", "add", "-d", "-f", "--local", "team", f"s3://{bucket}/dvc-store", cwd=clone, env=env)
        _dvc("remote", "modify", "--local", "team", "endpointurl", s3.endpoint, cwd=clone, env=env)
        # a model too: stand-in bytes committed as train_crack's output (training it is other tests' job)
        model = clone / "models/crack/float.keras"
        model.parent.mkdir(parents=True, exist_ok=True)
        model.write_bytes(b"stand-in model " * 1000)
        _dvc("commit", "--force", "train_crack", cwd=clone, env=env)
        # the deployment's push: true path: DVC finds nothing to rerun, then `dvc push` sends every
        # cached output to the default remote, the model included
        out = run([sys.executable, "-m", "flows.pipeline", *TARGETS, "--push"], clone, env=env)
        assert "Finished in state Completed()" in out.stdout + out.stderr
        before = _digests(clone)
        assert len([k for k in before if k.startswith("data/ocr/") and k.endswith(".jpg")]) == FRAMES

        keys = s3.keys(bucket, "dvc-store/")
        assert keys and all(k.startswith("dvc-store/files/md5/") for k in keys)
        md5 = hashlib.md5(model.read_bytes()).hexdigest()
        assert f"dvc-store/files/md5/{md5[:2]}/{md5[2:]}" in keys

        shutil.rmtree(clone / ".dvc/cache")
        for rel in S3_OUTPUTS:
            p = clone / rel
            shutil.rmtree(p) if p.is_dir() else p.unlink()
        _dvc("pull", "--with-deps", *TARGETS, "train_crack", cwd=clone, env=env)
        assert _digests(clone) == before
        status = _dvc("status", "--cloud", "--with-deps", *TARGETS, "train_crack", cwd=clone, env=env).stdout
        assert "in sync" in status.lower() or "up to date" in status.lower(), status
