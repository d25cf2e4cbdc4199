"""Property-based tests (Hypothesis) of the image decoder and the importers (issue #22, item 8).

Inputs are good files damaged at random: truncations, bit flips, headers that lie about the size,
and JSON of random shape and numbers (NaN, infinities, huge values). The properties:

* nothing raises an exception other than the documented ``ImageReadError`` (decoder); an import
  never raises at all;
* every file that is not imported is reported with its path and a reason;
* every good file in the same folder is kept.

The same properties hold for the manifest step (canonical folders, where validation's per-sample
rows come from) and for the serving decoder (a refused request is a short 400 naming the image).

Each test runs 120 examples (``FUZZ_EXAMPLES`` in the environment changes that; ``bench/fuzz.py``
runs thousands) with no deadline; all are marked ``fuzz`` (``-m "not fuzz"`` skips them).
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import warnings
import zlib
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.data.importers import import_crack, import_ocr
from components.data.manifest import Splits, build_crack_manifest, build_ocr_manifest
from components.data.ocr_format import OcrAnnotation, Shape, write_labelme
from components.io import ImageReadError, decode_image, read_image
from components.registry.pyfunc_models import (
    MAX_ERROR_CHARS,
    MIN_SIDE,
    BadRequest,
    decode_images,
    encode_image_file,
)

pytestmark = pytest.mark.fuzz
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "120"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)

_RNG = np.random.default_rng(0)
GOOD_PNG = cv2.imencode(".png", _RNG.integers(0, 255, (48, 64, 3), dtype=np.uint8))[1].tobytes()
GOOD_JPG = cv2.imencode(".jpg", _RNG.integers(0, 255, (48, 64, 3), dtype=np.uint8))[1].tobytes()
GOOD_PNG16 = cv2.imencode(".png", _RNG.integers(0, 65535, (40, 40), dtype=np.uint16))[1].tobytes()


def _png_with_size(width: int, height: int) -> bytes:
    """GOOD_PNG whose IHDR claims another size (CRC fixed, so only the size lies)."""
    data = bytearray(GOOD_PNG)
    ihdr = bytearray(data[12:29])  # b"IHDR" + 13 bytes
    ihdr[4:8], ihdr[8:12] = width.to_bytes(4, "big"), height.to_bytes(4, "big")
    data[12:29] = ihdr
    data[29:33] = zlib.crc32(bytes(ihdr)).to_bytes(4, "big")
    return bytes(data)


@st.composite
def damaged_image(draw) -> bytes:
    base = draw(st.sampled_from([GOOD_PNG, GOOD_JPG, GOOD_PNG16]))
    how = draw(st.sampled_from(["truncate", "flip", "header", "garbage", "intact"]))
    if how == "truncate":
        return base[: draw(st.integers(0, len(base) - 1))]
    if how == "flip":
        data = bytearray(base)
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
        return bytes(data)
    if how == "header":
        return _png_with_size(draw(st.integers(0, 2**31 - 1)), draw(st.integers(0, 2**31 - 1)))
    if how == "garbage":
        return draw(st.binary(max_size=512))
    return base


numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-1e4, 1e4),
    st.integers(-10, 700),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=8)),
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=20,
)


@st.composite
def labelme_like(draw) -> object:
    """Mostly LabelMe-shaped objects with random numbers and types, sometimes anything at all."""
    if draw(st.booleans()):
        return draw(json_values)
    shape = st.fixed_dictionaries(
        {
            "label": st.one_of(st.sampled_from(["resistor", "1", "R", "0", "x"]), json_values),
            "points": st.one_of(
                st.lists(st.lists(numbers, min_size=2, max_size=2), min_size=0, max_size=3), json_values
            ),
            "shape_type": st.sampled_from(["rectangle", "polygon", "circle"]),
            "group_id": st.one_of(st.none(), st.integers(-3, 3), json_values),
        }
    )
    return {
        "imagePath": draw(st.one_of(st.just("bad.png"), st.just("../bad.png"), json_values)),
        "imageWidth": draw(st.one_of(st.just(64), numbers, st.none())),
        "imageHeight": draw(st.one_of(st.just(48), numbers, st.none())),
        "shapes": draw(st.lists(shape, max_size=4)),
    }


def _dumps(value) -> str:
    return json.dumps(value, allow_nan=True)


def _good_ocr(folder: Path, n: int = 2) -> list[str]:
    names = []
    for i in range(n):
        name = f"good{i}"
        (folder / f"{name}.png").write_bytes(GOOD_PNG)
        shapes = [Shape("resistor", 5, 5, 40, 30, 0, "1"), Shape("1", 10, 10, 20, 25, 0)]
        write_labelme(OcrAnnotation(f"{name}.png", 64, 48, shapes), folder / f"{name}.json")
        names.append(name)
    return names


def _assert_reported_or_imported(report, src: Path, bad_files: list[str], bad_name: str) -> None:
    for file, reason in report.problems:
        assert file and reason and isinstance(reason, str), (file, reason)
        assert Path(file).is_absolute() or file.startswith(str(src)), file  # a path, not a bare name
    if bad_name not in report.imported:
        reported = {Path(f).name for f, _ in report.problems}
        assert reported & set(bad_files), (bad_files, report.problems)


# ---------------------------------------------------------------------------------------- decoder


@FUZZ
@given(data=damaged_image(), mode=st.sampled_from(["RGB", "mask", ""]))
def test_decoder_returns_rgb_or_a_named_error(data, mode):
    try:
        arr = decode_image(data, "upload.bin", max_pixels=1_000_000, mode=mode)
    except ImageReadError as exc:
        assert str(exc).startswith("upload.bin: ") and len(str(exc)) > len("upload.bin: ")
        return
    assert arr.dtype == np.uint8 and arr.ndim in (2, 3) and min(arr.shape[:2]) >= 1
    if mode == "RGB":
        assert arr.ndim == 3 and arr.shape[2] == 3


@FUZZ
@given(data=damaged_image())
def test_read_image_names_the_file(data):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "frame.png"
        path.write_bytes(data)
        try:
            read_image(path, max_pixels=1_000_000)
        except ImageReadError as exc:
            assert str(exc).startswith(f"{path}: ")


# -------------------------------------------------------------------------------------- importers


@FUZZ
@given(ann=labelme_like(), image=damaged_image(), raw=st.one_of(st.none(), st.binary(max_size=64)))
def test_labelme_import_keeps_good_and_reports_bad(ann, image, raw):
    with tempfile.TemporaryDirectory() as d:
        src, out = Path(d) / "src", Path(d) / "out"
        src.mkdir()
        good = _good_ocr(src)
        (src / "bad.png").write_bytes(image)
        (src / "bad.json").write_bytes(raw if raw is not None else _dumps(ann).encode())
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            report = import_ocr(src, out, fmt="labelme")
        assert set(good) <= set(report.imported)
        _assert_reported_or_imported(report, src, ["bad.json", "bad.png"], "bad")
        if "bad" in report.imported:  # what was let in reads back as a canonical annotation
            written = json.loads((out / "bad.json").read_text())
            assert all(math.isfinite(v) for s in written["shapes"] for p in s["points"] for v in p)


@FUZZ
@given(
    images=st.one_of(json_values, st.lists(st.sampled_from(["bad.png", "good0.png", "../x.png", 3]), max_size=3)),
    objects=st.one_of(
        json_values,
        st.lists(
            st.fixed_dictionaries(
                {
                    "boxes": st.one_of(st.lists(st.lists(numbers, min_size=4, max_size=4), max_size=3), json_values),
                    "labels": st.one_of(
                        st.lists(st.one_of(st.integers(-1, 40), st.text(max_size=2)), max_size=3), json_values
                    ),
                }
            ),
            max_size=3,
        ),
    ),
    image=damaged_image(),
)
def test_kaist_import_never_raises_and_reports_bad(images, objects, image):
    with tempfile.TemporaryDirectory() as d:
        src, out = Path(d) / "src", Path(d) / "out"
        src.mkdir()
        (src / "good0.png").write_bytes(GOOD_PNG)
        (src / "bad.png").write_bytes(image)
        (src / "TRAIN_images.json").write_text(_dumps(["good0.png"]))
        (src / "TRAIN_objects.json").write_text(
            _dumps([{"boxes": [[5, 5, 40, 30], [10, 10, 20, 25]], "labels": [1, 3]}])
        )
        (src / "TEST_images.json").write_text(_dumps(images))
        (src / "TEST_objects.json").write_text(_dumps(objects))
        report = import_ocr(src, out, fmt="kaist")
        assert "good0" in report.imported
        _assert_reported_or_imported(report, src, ["TEST_images.json", "TEST_objects.json", "bad.png"], "bad")


@FUZZ
@given(
    polylines=st.one_of(json_values, st.lists(st.lists(numbers, max_size=8), max_size=3)),
    image=damaged_image(),
    wrap=st.booleans(),
)
def test_pline_import_keeps_good_and_reports_bad(polylines, image, wrap):
    with tempfile.TemporaryDirectory() as d:
        src, out = Path(d) / "src", Path(d) / "out"
        (src / "images").mkdir(parents=True)
        (src / "annotations").mkdir()
        (src / "images" / "good.png").write_bytes(GOOD_PNG)
        (src / "annotations" / "good_PLINE.json").write_text(_dumps({"annotations": [{"polyline": [1, 1, 60, 40]}]}))
        (src / "images" / "bad.png").write_bytes(image)
        content = (
            {"annotations": [{"polyline": p} for p in polylines]} if wrap and isinstance(polylines, list) else polylines
        )
        (src / "annotations" / "bad_PLINE.json").write_text(_dumps(content))
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # e.g. an int32 overflow when a mask is drawn
            report = import_crack(src, out, fmt="pline")
        assert "good" in report.imported
        _assert_reported_or_imported(report, src, ["bad.png", "bad_PLINE.json"], "bad")


# ---------------------------------------------------------------------------------------- manifest

SPLITS = Splits(0.8, 0.1, 0.1)


def _assert_manifest_rows(samples: pd.DataFrame, good: list[str], bad_name: str) -> None:
    assert set(samples.loc[samples.status == "ok", "name"]) >= set(good), samples[["name", "status", "reason"]]
    for row in samples[samples.status != "ok"].itertuples():
        assert row.reason and isinstance(row.reason, str), row
    bad = samples[samples.name == bad_name]
    assert len(bad) >= 1, "the damaged sample has a row"
    for reason in bad.loc[bad.status != "ok", "reason"]:
        assert bad_name in reason, reason  # the reason names the file


@FUZZ
@given(ann=labelme_like(), image=damaged_image(), raw=st.one_of(st.none(), st.binary(max_size=64)))
def test_ocr_manifest_keeps_good_and_names_bad(ann, image, raw):
    with tempfile.TemporaryDirectory() as d:
        root = Path(d) / "ocr"
        root.mkdir()
        good = _good_ocr(root, 1)  # (two would be duplicates of each other)
        (root / "x_bad.png").write_bytes(image)  # sorts after the good one (duplicates keep the first)
        if isinstance(ann, dict) and ann.get("imagePath") == "bad.png":
            ann = {**ann, "imagePath": "x_bad.png"}
        (root / "x_bad.json").write_bytes(raw if raw is not None else _dumps(ann).encode())
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            samples, _ = build_ocr_manifest(root, SPLITS, 1_000_000, progress=False)
        _assert_manifest_rows(samples, good, "x_bad")


@FUZZ
@given(
    polylines=st.one_of(json_values, st.lists(st.lists(numbers, max_size=8), max_size=3)),
    image=damaged_image(),
    wrap=st.booleans(),
)
def test_crack_manifest_keeps_good_and_names_bad(polylines, image, wrap):
    with tempfile.TemporaryDirectory() as d:
        root = Path(d) / "crack"
        (root / "images").mkdir(parents=True)
        (root / "annotations").mkdir()
        (root / "images" / "good.png").write_bytes(GOOD_PNG)
        (root / "annotations" / "good_PLINE.json").write_text(_dumps({"annotations": [{"polyline": [1, 1, 60, 40]}]}))
        (root / "images" / "x_bad.png").write_bytes(image)
        wrapped = wrap and isinstance(polylines, list)
        content = {"annotations": [{"polyline": p} for p in polylines]} if wrapped else polylines
        (root / "annotations" / "x_bad_PLINE.json").write_text(_dumps(content))
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            samples = build_crack_manifest(root, SPLITS, 1_000_000, thickness=5, progress=False)
        _assert_manifest_rows(samples, ["good"], "x_bad")


# -------------------------------------------------------------------------------- serving decoder


@FUZZ
@given(
    values=st.lists(
        st.one_of(
            damaged_image().map(encode_image_file),
            st.text(max_size=40),
            st.binary(max_size=64),
            numbers,
            st.none(),
            json_values,
        ),
        min_size=1,
        max_size=3,
    ),
    column=st.sampled_from(["image", "image", "pixels"]),
)
def test_serving_decoder_returns_images_or_a_short_400(values, column):
    frame = pd.DataFrame({column: pd.Series(values, dtype=object)})
    try:
        images = decode_images(frame)
    except BadRequest as exc:
        assert exc.get_http_status_code() == 400 and 0 < len(exc.message) <= MAX_ERROR_CHARS, exc.message
        assert column != "image" or re.match(r"image \d+: ", exc.message), exc.message
        return
    assert column == "image" and len(images) == len(values)
    for a in images:
        assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3 and min(a.shape[:2]) >= MIN_SIDE
