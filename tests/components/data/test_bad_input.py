"""Issue #22, "nothing good lost, nothing bad accepted": each case a user reproduced on a fresh clone.

Every test builds its tiny dataset in tmp_path and goes through the same functions the pipeline uses
(import -> manifest -> Great Expectations validation).
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import cv2
import numpy as np

from components.data.importers import import_crack, import_ocr
from components.data.manifest import Splits, build_crack_manifest, build_ocr_manifest
from components.data.validation import validate_crack, validate_ocr
from tests.helpers.data import make_crack_dataset, make_ocr_dataset

SPLITS = Splits(0.6, 0.2, 0.2)
MAX_PIXELS = 2_000_000
NO_MIN = {"train": 0, "val": 0, "test": 0}


def _validate_ocr(root: Path, tmp_path: Path):
    samples, boxes = build_ocr_manifest(root, SPLITS, MAX_PIXELS, workers=1, progress=False)
    return validate_ocr(
        samples,
        boxes,
        root,
        tmp_path / "docs",
        min_size=(320, 240),
        max_size=(4096, 4096),
        max_rois=5,
        min_split=NO_MIN,
    )


def _validate_crack(root: Path, tmp_path: Path):
    samples = build_crack_manifest(root, SPLITS, MAX_PIXELS, thickness=5, workers=1, progress=False)
    return validate_crack(
        samples, root, tmp_path / "docs", min_size=(64, 64), max_size=(4096, 4096), max_coverage=0.9, min_split=NO_MIN
    )


def _problems(report) -> dict[str, str]:
    return {Path(f).name: r for f, r in report.problems}


def _edit(json_path: Path, fn) -> None:
    data = json.loads(json_path.read_text())
    fn(data)
    json_path.write_text(json.dumps(data))


# --------------------------------------------------------------------- 1: problems stick to their file


def test_stray_file_with_the_same_stem_does_not_drop_the_good_sample(tmp_path):
    src = tmp_path / "src"
    make_ocr_dataset(src, n=6)
    cv2.imwrite(str(src / "s000.png"), np.zeros((480, 640, 3), np.uint8))  # stray, referenced by no JSON
    out = tmp_path / "ocr"
    report = import_ocr(src, out, fmt="labelme")
    assert "not referenced" in _problems(report)["s000.png"]
    validated = _validate_ocr(out, tmp_path)
    assert "s000" not in validated.bad, validated.bad["s000"]
    ok = set(validated.samples[validated.samples.status == "ok"].name)
    assert ok == {f"s{i:03d}" for i in range(6)}
    stray = [n for n in validated.bad if n.endswith("s000.png")]
    assert len(stray) == 1 and "not referenced" in " ".join(validated.bad[stray[0]])


# ---------------------------------------------------------------------- 2: duplicates keep one copy


def test_duplicates_keep_the_first_copy_by_sorted_path(tmp_path):
    root = tmp_path / "ocr"
    make_ocr_dataset(root, n=6)
    shutil.copy(root / "s001.jpg", root / "good_01.jpg")
    _edit_copy = json.loads((root / "s001.json").read_text())
    for name in ("good_01", "dup_a"):
        if name == "dup_a":
            shutil.copy(root / "good_01.jpg", root / "dup_a.jpg")
        (root / f"{name}.json").write_text(json.dumps({**_edit_copy, "imagePath": f"{name}.jpg"}))
    report = _validate_ocr(root, tmp_path)
    # three copies of one image: dup_a.jpg < good_01.jpg < s001.jpg, so dup_a is kept
    assert "dup_a" not in report.bad
    for name in ("good_01", "s001"):
        assert "duplicate of dup_a.jpg" in " ".join(report.bad[name]) and f"{name}.jpg" in " ".join(report.bad[name])
    ok = set(report.samples[report.samples.status == "ok"].name)
    assert ok == {"dup_a", "s000", "s002", "s003", "s004", "s005"}


def test_crack_duplicates_keep_one_copy(crack_root, tmp_path):
    shutil.copy(crack_root / "images" / "c001.png", crack_root / "images" / "c001_copy.png")
    shutil.copy(crack_root / "annotations" / "c001_PLINE.json", crack_root / "annotations" / "c001_copy_PLINE.json")
    report = _validate_crack(crack_root, tmp_path)
    assert "c001" not in report.bad
    assert "duplicate of images/c001.png" in " ".join(report.bad["c001_copy"])


# ------------------------------------------------------------- 3: coordinates: non-finite, out of range


def _crack_source(tmp_path: Path, polylines: dict[str, list]) -> Path:
    src = tmp_path / "src"
    make_crack_dataset(src, n=2)
    for name, lines in polylines.items():
        shutil.copy(src / "images" / "c000.png", src / "images" / f"{name}.png")
        # json.dumps writes NaN/Infinity literals, as some tools do
        (src / "annotations" / f"{name}_PLINE.json").write_text(
            json.dumps({"annotations": [{"polyline": p} for p in lines]})
        )
    return src


def test_crack_import_refuses_huge_outside_and_non_finite_polylines(tmp_path):
    src = _crack_source(
        tmp_path,
        {
            "huge": [[10, 10, 1e12, 1e12]],
            "outside": [[1000, 1000, 1200, 1100]],  # image is 384x288: wholly outside
            "nan": [[10, 10, float("nan"), 20]],
            "inf": [[10, 10, float("inf"), 20]],
            "edge": [[-5, 10, 390, 200]],  # a few px past the border: accepted
        },
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        report = import_crack(src, tmp_path / "out", fmt="pline")
    problems = _problems(report)
    assert "outside the 384x288 image" in problems["huge_PLINE.json"] and "1e+12" in problems["huge_PLINE.json"]
    assert "outside" in problems["outside_PLINE.json"]
    assert "non-finite" in problems["nan_PLINE.json"] and "non-finite" in problems["inf_PLINE.json"]
    assert sorted(report.imported) == ["c000", "c001", "edge"]


def test_crack_manifest_refuses_bad_polylines_without_overflow(crack_root, tmp_path):
    ann = crack_root / "annotations"
    (ann / "c001_PLINE.json").write_text(json.dumps({"annotations": [{"polyline": [10, 10, 1e12, 1e12]}]}))
    (ann / "c002_PLINE.json").write_text(json.dumps({"annotations": [{"polyline": [900, 900, 950, 990]}]}))
    (ann / "c003_PLINE.json").write_text('{"annotations": [{"polyline": [10, 10, NaN, 20]}]}')
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # the int32 cast warning would fail the test
        report = _validate_crack(crack_root, tmp_path)
    reasons = {k: " ".join(v) for k, v in report.bad.items()}
    assert "c001_PLINE.json" in reasons["c001"] and "outside the 384x288 image" in reasons["c001"]
    assert "wholly outside" in reasons["c002"] or "outside the 384x288 image" in reasons["c002"]
    assert "non-finite" in reasons["c003"]
    assert set(report.bad) == {"c001", "c002", "c003"}


def test_ocr_nan_box_says_non_finite_and_far_boxes_are_refused(tmp_path):
    src = tmp_path / "src"
    make_ocr_dataset(src, n=4)
    _edit(src / "s001.json", lambda d: d["shapes"][1]["points"][1].__setitem__(0, float("nan")))
    _edit(src / "s002.json", lambda d: d["shapes"][1]["points"][1].__setitem__(0, 1e12))
    _edit(src / "s003.json", lambda d: d["shapes"][1]["points"][1].__setitem__(0, 645))  # 5 px past: clipped
    report = import_ocr(src, tmp_path / "out", fmt="labelme")
    problems = _problems(report)
    assert "non-finite" in problems["s001.json"]
    assert "more than 16 px outside the 640x480 image" in problems["s002.json"]
    assert sorted(report.imported) == ["s000", "s003"]
    # in a canonical folder (no import) validation says "non-finite" too, not "ends right of the image"
    root = tmp_path / "canon"
    make_ocr_dataset(root, n=3)
    _edit(root / "s001.json", lambda d: d["shapes"][1]["points"][1].__setitem__(0, float("nan")))
    reasons = " ".join(_validate_ocr(root, tmp_path).bad["s001"])
    assert "non-finite" in reasons and "s001.json" in reasons and "ends right of the image" not in reasons


# ------------------------------------------------------------ 4: grey, RGBA and 16-bit reach training alike


def test_grey_rgba_and_16bit_images_are_accepted_by_validation(crack_root, ocr_root, tmp_path):
    img = crack_root / "images"
    cv2.imwrite(str(img / "c000.png"), np.full((288, 384), 90, np.uint8))  # grey PNG
    cv2.imwrite(str(img / "c002.png"), np.full((288, 384, 4), 90, np.uint8))  # BGRA PNG
    cv2.imwrite(str(img / "c004.png"), np.full((288, 384), 90 * 257, np.uint16))  # 16-bit grey
    assert _validate_crack(crack_root, tmp_path / "c").bad == {}
    cv2.imwrite(str(ocr_root / "s000.png"), np.full((480, 640, 4), 90, np.uint8))  # RGBA PNG for OCR
    _edit(ocr_root / "s000.json", lambda d: d.update(imagePath="s000.png"))
    (ocr_root / "s000.jpg").unlink()
    assert _validate_ocr(ocr_root, tmp_path / "o").bad == {}


# -------------------------------------------------------------------- 10: a wrong format gets one hint


def test_wrong_format_gets_one_hint_naming_the_likely_format(tmp_path):
    src = tmp_path / "src"
    make_ocr_dataset(src, n=5)
    report = import_ocr(src, tmp_path / "out", fmt="kaist")
    assert report.imported == []
    hints = [r for f, r in report.problems if "looks like 'labelme'" in r]
    assert len(hints) == 1 and report.problems[0][0] == str(src) and "format: labelme" in hints[0]
    crack = tmp_path / "crack"
    make_crack_dataset(crack, n=3)
    report = import_crack(crack, tmp_path / "out2", fmt="png_masks")
    assert "looks like 'pline'" in report.problems[0][1]
    # the right format gets no hint
    assert not any("looks like" in r for _, r in import_ocr(src, tmp_path / "out3", fmt="labelme").problems)
