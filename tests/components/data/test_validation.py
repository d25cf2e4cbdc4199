"""Validation: every kind of bad input is listed with its file and reason, and nothing else is lost."""

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from components.data import manifest
from components.data.manifest import (
    Splits,
    build_crack_manifest,
    build_ocr_manifest,
    statistics,
)
from components.data.validation import validate_crack, validate_ocr
from tests.helpers.data import make_ocr_dataset
from tests.helpers.fanout import on_cluster

SPLITS = Splits(0.6, 0.2, 0.2)
MAX_PIXELS = 2_000_000
NO_MIN = {"train": 0, "val": 0, "test": 0}


def _validate_ocr(root: Path, tmp_path: Path, min_split=NO_MIN):
    samples, boxes = build_ocr_manifest(root, SPLITS, MAX_PIXELS, workers=1, progress=False)
    return validate_ocr(
        samples,
        boxes,
        root,
        tmp_path / "docs",
        min_size=(320, 240),
        max_size=(4096, 4096),
        max_rois=5,
        min_split=min_split,
    )


def _edit(json_path: Path, fn) -> None:
    data = json.loads(json_path.read_text())
    fn(data)
    json_path.write_text(json.dumps(data))


def test_clean_dataset_passes_with_data_docs(ocr_root, tmp_path):
    report = _validate_ocr(ocr_root, tmp_path)
    assert report.bad == {} and report.failed_rules == []
    assert (report.samples.status == "ok").all()
    assert report.docs_index.exists() and "ocr_samples" in "".join(p.name for p in (tmp_path / "docs").rglob("*"))
    stats = statistics(report.samples, report.boxes)
    assert stats["rois"] == 6 and stats["chars"] == 18 and stats["char_classes"] == {"0": 6, "1": 6, "R": 6}


def _break_everything(root: Path, outside: Path) -> dict[str, str]:
    """Make 11 samples each bad in one way; return sample name -> expected words in its reason."""
    make_ocr_dataset(root, n=20)  # more clean samples, so the bad ones are a minority
    good = (root / "s000.jpg").read_bytes()
    (root / "s001.jpg").write_bytes(good[:200] + os.urandom(300) + good[500:600])  # corrupted JPEG
    (root / "s002.jpg").write_bytes(b"")  # 0-byte file
    png = cv2.imencode(".png", np.full((480, 640, 3), 90, np.uint8))[1].tobytes()
    (root / "s003.png").write_bytes(png[: len(png) // 2])  # truncated PNG
    _edit(root / "s003.json", lambda d: d.update(imagePath="s003.png"))
    (root / "s003.jpg").unlink()
    _edit(root / "s004.json", lambda d: d["shapes"][1]["points"][1].__setitem__(0, 700))  # box outside
    _edit(root / "s005.json", lambda d: d["shapes"][2].update(label="r"))  # unknown label
    _edit(root / "s006.json", lambda d: d.update(imagePath="../outside.jpg"))  # '..'
    _edit(root / "s007.json", lambda d: d.update(imagePath=str(outside)))  # absolute
    (root / "s008.jpg").unlink()
    os.symlink(outside, root / "s008.jpg")  # symlink escape
    bomb = cv2.imencode(".png", np.zeros((2000, 2000, 3), np.uint8))[1].tobytes()  # 4 Mpx > limit
    (root / "s009.png").write_bytes(bomb)
    _edit(root / "s009.json", lambda d: d.update(imagePath="s009.png"))
    (root / "s009.jpg").unlink()
    (root / "s010.json").write_text('{"imagePath": "s010.jpg", "shapes": [')  # not JSON
    _edit(root / "s011.json", lambda d: d["shapes"][0].update(text="1R0" * 3))  # text too long
    return {
        "s001": "cannot be decoded",
        "s002": "0 bytes",
        "s003": "cannot be decoded",
        "s004": "box ends right of the image",
        "s005": "not in the vocabulary",
        "s006": "'..'",
        "s007": "absolute image path",
        "s008": "outside the dataset root",
        "s009": "exceeds the limit",
        "s010": "not valid JSON",
        "s011": "1-8 characters",
    }


def test_every_bad_input_is_listed_with_file_and_reason(ocr_root, tmp_path):
    outside = tmp_path / "outside.jpg"
    outside.write_bytes((ocr_root / "s000.jpg").read_bytes())
    expected = _break_everything(ocr_root, outside)
    report = _validate_ocr(ocr_root, tmp_path)
    assert set(report.bad) == set(expected), report.bad
    for name, words in expected.items():
        reasons = " | ".join(report.bad[name])
        assert words in reasons, (name, reasons)
        assert name in reasons, (name, reasons)  # the file is named
    ok = report.samples[report.samples.status == "ok"]
    assert len(ok) == 20 - len(expected)  # nothing good was lost
    flagged = report.samples.set_index("name").loc[list(expected)]
    assert (flagged.status == "error").all() and flagged.reason.str.len().gt(0).all()


def test_duplicate_images_keep_the_first_and_grey_is_converted(ocr_root, tmp_path):
    (ocr_root / "s001.jpg").write_bytes((ocr_root / "s000.jpg").read_bytes())
    cv2.imwrite(
        str(ocr_root / "s002.jpg"), np.zeros((480, 640), np.uint8)
    )  # grayscale: converted to RGB like everywhere
    report = _validate_ocr(ocr_root, tmp_path)
    assert "s000" not in report.bad  # the first copy by sorted path is kept
    assert "duplicate of s000.jpg" in " ".join(report.bad["s001"])
    assert "s002" not in report.bad


def test_text_must_match_char_boxes_inside_roi(ocr_root, tmp_path):
    _edit(ocr_root / "s001.json", lambda d: d["shapes"][0].update(text="1R1"))
    _edit(ocr_root / "s002.json", lambda d: d["shapes"][3].update(points=[[400, 300], [420, 330]]))
    (ocr_root / "orphan.jpg").write_bytes((ocr_root / "s003.jpg").read_bytes()[:-1])
    report = _validate_ocr(ocr_root, tmp_path)
    assert "does not match its character boxes" in " ".join(report.bad["s001"])
    assert "not inside its ROI" in " ".join(report.bad["s002"])
    assert "no annotation JSON" in " ".join(report.bad["orphan"])


def test_split_minimum_is_enforced(ocr_root, tmp_path):
    report = _validate_ocr(ocr_root, tmp_path, min_split={"train": 100, "val": 0, "test": 0})
    assert any("split" in r for r in report.failed_rules)
    assert "fewer usable samples" in " ".join(report.bad["split:train"])


def test_crack_validation_flags_bad_files_and_masks(crack_root, tmp_path):
    (crack_root / "images" / "c001.png").write_bytes((crack_root / "images" / "c001.png").read_bytes()[:500])
    (crack_root / "annotations" / "c002_PLINE.json").write_text("not json")
    (crack_root / "annotations" / "c004_PLINE.json").write_text(
        json.dumps({"annotations": [{"polyline": [0, y, 383, y]} for y in range(0, 288, 4)]})
    )  # mask covers ~all
    (crack_root / "annotations" / "c005_PLINE.json").unlink()
    (crack_root / "images" / "c003.png").unlink()
    samples = build_crack_manifest(crack_root, SPLITS, MAX_PIXELS, thickness=5, workers=1, progress=False)
    report = validate_crack(
        samples,
        crack_root,
        tmp_path / "docs",
        min_size=(384, 288),
        max_size=(4096, 4096),
        max_coverage=0.5,
        min_split=NO_MIN,
    )
    reasons = {k: " ".join(v) for k, v in report.bad.items()}
    assert "cannot be decoded" in reasons["c001"] and "c001.png" in reasons["c001"]
    assert "not valid JSON" in reasons["c002"] and "c002_PLINE.json" in reasons["c002"]
    assert "annotation without an image" in reasons["c003"]
    assert "mask covers more than" in reasons["c004"]
    assert "annotation file missing" in reasons["c005"]
    assert set(report.samples[report.samples.status == "ok"].name) == {"c000"}
    ok = report.samples.set_index("name")
    assert ok.loc["c000", "mask_coverage"] == 0.0


@pytest.mark.parametrize("workers", [1, 2])
def test_manifest_is_the_same_for_any_worker_count(ocr_root, workers, dask_client, monkeypatch):
    monkeypatch.setattr(manifest, "MIN_FANOUT_FILES", 0)  # 6 files: fanned out all the same
    client = dask_client if workers > 1 else None
    (samples, boxes), batches = on_cluster(
        dask_client,
        lambda: build_ocr_manifest(ocr_root, SPLITS, MAX_PIXELS, workers=workers, progress=False, client=client),
    )
    assert bool(batches) == (workers > 1)
    assert list(samples.name) == [f"s{i:03d}" for i in range(6)]
    assert samples.sha256.str.len().eq(64).all() and len(boxes) == 24
