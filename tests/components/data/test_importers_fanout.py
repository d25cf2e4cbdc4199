"""The importers on a real 2-worker LocalCluster (the session's ``dask_client``) write the same files
and the same ``import_report.json`` as one process, for each of the four formats, on folders holding
bad samples, duplicates and names that collide (where a name depends on the samples before it)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from components.data import crack_format as cf
from components.data.exporters import export_kaist, export_png_masks
from components.data.importers import REPORT_NAME, import_crack, import_ocr
from components.data.importers import convert as importer_convert
from components.data.prepare import prepare_dataset
from tests.helpers.data import make_crack_dataset, make_ocr_dataset
from tests.helpers.fanout import on_cluster


def _contents(root: Path) -> dict[str, str]:
    """Every file below ``root`` (relative posix path, hidden ones included) -> its sha256."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _labelme_source(root: Path) -> Path:
    make_ocr_dataset(root, n=6)
    (root / "bad.json").write_text("{not json")  # a bad sample
    (root / "twice.json").write_text((root / "s001.json").read_text())  # a second annotation of s001.jpg
    (root / "S002.json").write_text("{broken")  # fails before its name is claimed: s002.json keeps 's002'
    (root / "x").mkdir()
    (root / "x" / "s003.json").write_text(json.dumps({"imagePath": "../s003.jpg", "shapes": []}))  # '..' refused
    (root / "x" / "s004.jpg").write_bytes((root / "s004.jpg").read_bytes())
    (root / "x" / "s004.json").write_text((root / "s004.json").read_text())  # named 'x__s004_2':
    (root / "x__s004.json").write_text((root / "s004.json").read_text())  # this one, walked first, is 'x__s004'
    return root


def _kaist_source(tmp: Path) -> Path:
    make_ocr_dataset(tmp / "canon", n=6)
    src = tmp / "kaist"
    export_kaist(tmp / "canon", src, split="TRAIN", int_labels=True)
    paths = json.loads((src / "TRAIN_images.json").read_text())
    objects = json.loads((src / "TRAIN_objects.json").read_text())
    orphan = {**objects[1], "boxes": [*objects[1]["boxes"], [600, 400, 610, 410]], "labels": [*objects[1]["labels"], 5]}
    paths += [paths[0], paths[1], paths[1]]  # a duplicate of an imported entry; one of a failed entry, then good
    objects += [objects[0], orphan, objects[1]]
    objects[1] = orphan  # entry 1 fails (a character outside any ROI): its later good listing imports
    (src / "TRAIN_images.json").write_text(json.dumps(paths))
    (src / "TRAIN_objects.json").write_text(json.dumps(objects))
    return src


def _pline_source(root: Path) -> Path:
    make_crack_dataset(root, n=6)
    ok, buf = cv2.imencode(".jpg", np.full((288, 384, 3), 90, np.uint8))
    (root / "images" / "c001.jpg").write_bytes(buf.tobytes())  # same key as c001.png: a duplicate
    (root / "images" / "C002.png").write_bytes((root / "images" / "c002.png").read_bytes())
    (root / "annotations" / "C002_PLINE.json").write_text("{'annotations': }")  # bad, and before c002's name
    (root / "images" / "Broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")  # fails after taking its name
    cf.write_pline([], cf.annotation_path(root, "Broken"))
    (root / "images" / "broken.png").write_bytes((root / "images" / "c000.png").read_bytes())  # so: 'broken_2'
    cf.write_pline([], cf.annotation_path(root, "broken"))
    return root


def _png_masks_source(tmp: Path) -> Path:
    make_crack_dataset(tmp / "canon", n=6)
    src = tmp / "masks_ds"
    export_png_masks(tmp / "canon", src, thickness=5)
    ok, buf = cv2.imencode(".jpg", np.full((288, 384, 3), 90, np.uint8))
    (src / "images" / "c001.jpg").write_bytes(buf.tobytes())  # same key as c001.png: a duplicate
    cv2.imwrite(str(src / "masks" / "c003.png"), np.zeros((10, 10), np.uint8))  # wrong size: a bad sample
    (src / "images" / "nomask.png").write_bytes((src / "images" / "c000.png").read_bytes())
    return src


SOURCES = {
    "labelme": (import_ocr, lambda tmp: _labelme_source(tmp / "labelme")),
    "kaist": (import_ocr, _kaist_source),
    "pline": (import_crack, lambda tmp: _pline_source(tmp / "pline")),
    "png_masks": (import_crack, _png_masks_source),
}


@pytest.mark.parametrize("fmt", list(SOURCES))
def test_import_on_two_dask_workers_matches_one_process(fmt, tmp_path, dask_client):
    importer, make = SOURCES[fmt]
    src = make(tmp_path)
    one = importer(src, tmp_path / "one", fmt=fmt)  # workers=1: this process
    two, batches = on_cluster(
        dask_client,
        lambda: importer(src, tmp_path / "two", fmt=fmt, workers=2, client=dask_client, min_jobs=2),
    )
    assert batches, "the samples were converted on the cluster"
    assert one.imported and one.problems, "the folder has good and bad samples"
    assert (two.imported, two.problems) == (one.imported, one.problems)
    assert _contents(tmp_path / "two") == _contents(tmp_path / "one")  # no staging folder left either
    assert (tmp_path / "two" / REPORT_NAME).read_bytes() == (tmp_path / "one" / REPORT_NAME).read_bytes()


def test_name_claims_follow_the_samples_before(tmp_path):
    """What the fold must reproduce: a sample that failed before naming frees its name, one that
    failed after keeps it (here in one process; the test above compares with the cluster)."""
    report = import_ocr(_labelme_source(tmp_path / "labelme"), tmp_path / "out", fmt="labelme")
    assert "s002" in report.imported and "s002_2" not in report.imported
    assert {"x__s004", "x__s004_2"} <= set(report.imported)
    crack = import_crack(_pline_source(tmp_path / "pline"), tmp_path / "crack", fmt="pline")
    assert "c002" in crack.imported  # C002's annotation was unreadable: it never took the name
    assert "broken_2" in crack.imported and "broken" not in crack.imported  # Broken.jpg took 'broken'
    problems = {Path(f).name: r for f, r in crack.problems}
    assert "same name" in problems["c001.jpg"] and "not valid JSON" in problems["C002_PLINE.json"]


def test_prepare_passes_the_cluster_to_the_import(tmp_path, dask_client, monkeypatch):
    src = tmp_path / "data/sources/shots"
    make_ocr_dataset(src, n=4)
    kwargs = dict(num_frames=0, width=0, height=0, seed=0, max_pixels=50_000_000, progress=False, root=tmp_path)

    def prepare():
        return prepare_dataset(
            "ocr", "data/sources/shots", "auto", tmp_path / "out", workers=2, client=dask_client, **kwargs
        )

    assert importer_convert.MIN_FANOUT_SAMPLES["labelme"] is None  # copies gain nothing on a cluster
    assert on_cluster(dask_client, prepare)[1] == [], "by default an OCR import stays in this process"
    monkeypatch.setitem(importer_convert.MIN_FANOUT_SAMPLES, "labelme", 2)
    summary, batches = on_cluster(dask_client, prepare)
    assert batches and summary["samples"] == 4 and summary["import_problems"] == 0
    assert (tmp_path / "out" / REPORT_NAME).is_file()
    assert not [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]
