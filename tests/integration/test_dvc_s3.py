"""DVC with an S3 remote (moto's S3 server on loopback): the pipeline flow's ``push`` path (what the
``pipeline`` deployment of prefect.yaml runs with ``push: true``) uploads data and a model to the
bucket; with the cache and the workspace outputs deleted, ``dvc pull`` brings back the same bytes.

The only difference from the one-machine setup is the remote's configuration (``dvc remote add``
with ``endpointurl`` here; a real bucket needs no endpoint) and the credentials in the environment.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import pytest

from tests.integration.helpers import FRAMES, clean_env, make_tiny_clone, run
from tests.integration.team_servers import prefect_api, s3_server

pytestmark = pytest.mark.integration

PY = sys.executable
BUCKET = "team-dvc"
TARGETS = ["validate_ocr", "validate_crack"]          # the data half of the DAG
OUTPUTS = ["data/ocr", "data/crack", "data/manifests/ocr.parquet", "data/manifests/crack.parquet",
           "reports/validation/ocr", "models/crack/float.keras"]


def _digests(root: Path) -> dict[str, str]:
    """sha256 of every file under the DVC outputs, by path."""
    out = {}
    for rel in OUTPUTS:
        p = root / rel
        for f in ([p] if p.is_file() else sorted(x for x in p.rglob("*") if x.is_file())):
            out[str(f.relative_to(root))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def test_pipeline_pushes_to_s3_and_a_bare_workspace_pulls_it_back(tmp_path):
    clone = tmp_path / "clone"
    clone.mkdir()
    make_tiny_clone(clone)
    # one Prefect server for both pipeline runs and their stages (else each starts its own)
    with s3_server(tmp_path, (BUCKET,)) as s3, prefect_api(tmp_path) as api:
        env = clean_env(**s3.env, PREFECT_API_URL=api)
        dvc = [PY, "-m", "dvc"]
        run([*dvc, "remote", "add", "-d", "--local", "team", f"s3://{BUCKET}/dvc-store"], clone, env=env)
        run([*dvc, "remote", "modify", "--local", "team", "endpointurl", s3.endpoint], clone, env=env)

        run([PY, "-m", "flows.pipeline", *TARGETS], clone, env=env)
        # a model: stand-in bytes committed as train_crack's output (training it is the slow tests' job)
        model = clone / "models/crack/float.keras"
        model.parent.mkdir(parents=True, exist_ok=True)
        model.write_bytes(b"stand-in model " * 1000)
        run([*dvc, "commit", "--force", "train_crack"], clone, env=env)
        # the deployment's push: true path: the pipeline flow with push (DVC finds nothing to rerun;
        # `dvc push` sends every cached output, the model included)
        out = run([PY, "-m", "flows.pipeline", *TARGETS, "--push"], clone, env=env)
        assert "Finished in state Completed()" in out.stdout + out.stderr
        before = _digests(clone)
        assert len([k for k in before if k.startswith("data/ocr/") and k.endswith(".jpg")]) == FRAMES

        keys = s3.keys(BUCKET, "dvc-store/")
        assert keys and all(k.startswith("dvc-store/files/md5/") for k in keys)
        model_md5 = hashlib.md5(model.read_bytes()).hexdigest()
        assert f"dvc-store/files/md5/{model_md5[:2]}/{model_md5[2:]}" in keys

        shutil.rmtree(clone / ".dvc/cache")
        for rel in OUTPUTS:
            p = clone / rel
            shutil.rmtree(p) if p.is_dir() else p.unlink()
        run([*dvc, "pull", "--with-deps", *TARGETS, "train_crack"], clone, env=env)
        assert _digests(clone) == before
        status = run([*dvc, "status", "--cloud", "--with-deps", *TARGETS, "train_crack"], clone, env=env).stdout
        assert "up to date" in status.lower() or "in sync" in status.lower(), status
