"""The prepare and validate flows on real-data sources, run as Prefect flows in a scratch project."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml

from components.data.prepare import SourceError
from components.data.validation import DataValidationError
from flows.prepare import prepare
from flows.validate import validate
from tests.helpers import REPO
from tests.helpers.data import make_crack_dataset, make_ocr_dataset

# slow: runs the data flows against a Prefect server
pytestmark = [pytest.mark.usefixtures("prefect_server"), pytest.mark.slow]


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A scratch working directory with the repo's params.yaml, tiny and pointed at real sources."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["data"]["ocr"].update(source="data/sources/resistors", format="auto")
    params["data"]["crack"].update(source="data/sources/roads", format="png_masks")
    params["data"]["workers"] = 1
    params["validation"]["min_split_size"] = {"train": 0, "val": 0, "test": 0}
    params["validation"]["ocr"]["min_size"] = [320, 240]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("PIPELINE_RUN_ID", raising=False)
    return tmp_path


def _set(project: Path, dotted: str, value) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text())
    *parents, leaf = dotted.split(".")
    node = params
    for p in parents:
        node = node[p]
    node[leaf] = value
    (project / "params.yaml").write_text(yaml.safe_dump(params))


def test_labelme_source_with_a_bad_file_fails_then_quarantines(project):
    src = project / "data/sources/resistors"
    make_ocr_dataset(src, n=8)
    (src / "s003.json").write_text("{ not json")
    summary = prepare("ocr", root=project)
    assert (
        summary["format"] == "labelme" and summary["samples"] == 7 and summary["import_problems"] == 2
    )  # s003.json unreadable, s003.jpg unreferenced
    assert len(list((project / "data/ocr").glob("*.jpg"))) == 7

    with pytest.raises(DataValidationError, match=r"s003\.json.*not valid JSON"):
        validate("ocr", root=project)
    assert not (project / "data/manifests/ocr.parquet").exists()

    _set(project, "validation.on_error", "quarantine")
    stats = validate("ocr", root=project)
    # one row per source file that has a problem, named after that file (never after a canonical sample)
    assert stats["bad_samples"] == 2 and stats["samples_ok"] == 7
    manifest = pd.read_parquet(project / "data/manifests/ocr.parquet")
    bad = manifest[manifest.status != "ok"].set_index("name")
    assert sorted(bad.index) == [f"import:{src.absolute()}/s003.jpg", f"import:{src.absolute()}/s003.json"]
    assert "not valid JSON" in bad.reason[f"import:{src.absolute()}/s003.json"]
    assert "not referenced" in bad.reason[f"import:{src.absolute()}/s003.jpg"]
    assert json.loads((project / "metrics/validate_ocr.json").read_text())["bad_samples"] == 2
    page = (project / "reports/validation/ocr/report.html").read_text()
    assert "quarantined" in page and "s003.json" in page and "not valid JSON" in page

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlruns' / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("inspection-pipeline").experiment_id])
    tags = sorted((r.data.tags["stage"], r.data.tags.get("validation", "-")) for r in runs if "stage" in r.data.tags)
    assert tags == [("prepare_ocr", "-"), ("validate_ocr", "failed"), ("validate_ocr", "quarantined")]


def test_png_mask_source_imports_and_validates(project, tmp_path):
    make_crack_dataset(tmp_path / "canon", n=4)
    from components.data.exporters import export_png_masks

    export_png_masks(tmp_path / "canon", project / "data/sources/roads", thickness=5)
    assert prepare("crack", root=project)["samples"] == 4
    stats = validate("crack", root=project)
    assert stats["samples_ok"] == 4 and stats["crack_free"] == 2 and stats["mask_coverage"]["max"] > 0


def test_source_outside_data_sources_is_refused(project, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    make_ocr_dataset(elsewhere, n=2)
    _set(project, "data.ocr.source", str(elsewhere))
    with pytest.raises(SourceError, match="must lie under data/sources"):
        prepare("ocr", root=project)
    shutil.rmtree(elsewhere)
    with pytest.raises(SourceError, match="is not a folder"):
        prepare("ocr", root=project)


def test_synthetic_prepare_and_validate_on_two_dask_workers_match_one_process(project, monkeypatch, caplog):
    """The flows' Dask task runner (a 2-process LocalCluster, sized from data.workers) writes the same
    files and manifest rows, in the same order, as one process."""
    from components.data import manifest
    from components.data.synth_cracks import dataset as synth_dataset

    monkeypatch.setattr(synth_dataset, "MIN_FANOUT_FRAMES", 0)  # 8 frames: fanned out all the same
    monkeypatch.setattr(manifest, "MIN_FANOUT_FILES", 0)
    _set(project, "data.crack.source", "synthetic")
    _set(project, "data.crack.num_frames", 8)
    caplog.set_level("INFO")
    out = {}
    for workers in (1, 2):
        _set(project, "data.workers", workers)
        caplog.clear()
        assert prepare("crack", root=project)["samples"] == 8
        validate("crack", root=project)
        assert ("Creating a new Dask cluster" in caplog.text) == (workers > 1), "a cluster only when asked for"
        root = project / "data/crack"
        files = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
        out[workers] = (files, pd.read_parquet(project / "data/manifests/crack.parquet"))
    assert list(out[1][0]) == list(out[2][0]) and out[1][0] == out[2][0]
    pd.testing.assert_frame_equal(out[1][1], out[2][1])
    assert len(out[2][1]) == 8
