"""Importers (real data -> canonical) and exporters (canonical -> foreign formats).

Every dataset is built here, tiny, in tmp_path: round trips canonical -> format -> canonical must be
equal, and each kind of bad input must give a problem entry naming the file while the good samples
still import.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import cv2
import numpy as np
import pytest

from components.data import crack_format as cf
from components.data.exporters import (
    export_kaist,
    export_labelme,
    export_pline,
    export_png_masks,
)
from components.data.importers import (
    DEFAULT_LABEL_MAP,
    REPORT_NAME,
    detect_crack_format,
    detect_ocr_format,
    import_crack,
    import_ocr,
    reading_order,
)
from components.data.ocr_format import OcrAnnotation, Shape, read_labelme, write_labelme
from components.io import read_image

# ------------------------------------------------------------------------------------------------
# builders
# ------------------------------------------------------------------------------------------------


def _image(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _encoded(ext: str, h: int = 60, w: int = 80, seed: int = 0) -> bytes:
    ok, buf = cv2.imencode(ext, _image(h, w, seed))
    assert ok
    return buf.tobytes()


def _marking(text: str, cx: float, cy: float, angle_deg: float, size: float = 12.0, pitch: float = 16.0):
    """Axis-aligned boxes of the characters of ``text`` written along a line rotated by angle_deg."""
    t = np.deg2rad(angle_deg)
    d = np.array([np.cos(t), np.sin(t)])
    half = size / 2 * (abs(np.cos(t)) + abs(np.sin(t)))
    n = len(text)
    boxes = []
    for k in range(n):
        c = np.array([cx, cy]) + (k - (n - 1) / 2) * pitch * d
        boxes.append(tuple(round(float(v), 2) for v in (c[0] - half, c[1] - half, c[0] + half, c[1] + half)))
    xs = [b[0] for b in boxes] + [b[2] for b in boxes]
    ys = [b[1] for b in boxes] + [b[3] for b in boxes]
    roi = (min(xs) - 4.0, min(ys) - 4.0, max(xs) + 4.0, max(ys) + 4.0)
    return roi, boxes


# name -> (image ext, [(text, cx, cy, angle)])
OCR_SAMPLES = {
    "site_a__res_001": (".jpg", [("4R7", 80, 60, 0.0), ("12345678", 230, 170, -45.0)]),
    "site_a__day2__res_002": (".png", [("K", 60, 60, 0.0), ("1M0", 220, 80, 45.0)]),
    "res_003": (".jpg", [("ABCDEFGH", 160, 120, 45.0)]),
    "res_004": (".jpg", []),  # a frame without a resistor
}


def make_canonical_ocr(root: Path, samples=OCR_SAMPLES, seed: int = 0) -> Path:
    """A canonical OCR folder; characters are listed in shuffled order so reading order matters."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i, (name, (ext, markings)) in enumerate(samples.items()):
        ok, buf = cv2.imencode(ext, _image(240, 320, i))
        assert ok
        (root / f"{name}{ext}").write_bytes(buf.tobytes())
        shapes = []
        for gid, (text, cx, cy, angle) in enumerate(markings):
            roi, boxes = _marking(text, cx, cy, angle)
            shapes.append(Shape("resistor", *roi, group_id=gid, text=text))
            chars = [Shape(ch, *b, group_id=gid) for ch, b in zip(text, boxes)]
            if len(chars) > 1:
                order = list(range(len(chars)))
                while order == sorted(order):
                    rng.shuffle(order)
                chars = [chars[j] for j in order]
            shapes.extend(chars)
        write_labelme(OcrAnnotation(f"{name}{ext}", 320, 240, shapes), root / f"{name}.json")
    return root


def load_ocr(root: Path) -> dict:
    """name -> (width, height, [(label, box, group_id, text)], image bytes)."""
    out = {}
    for jp in sorted(root.glob("*.json")):
        if jp.name == REPORT_NAME:
            continue
        ann = read_labelme(jp)
        assert ann.image_path == f"{jp.stem}{Path(ann.image_path).suffix}"
        shapes = [(s.label, tuple(round(v, 3) for v in s.box), s.group_id, s.text) for s in ann.shapes]
        out[jp.stem] = (ann.width, ann.height, shapes, (root / ann.image_path).read_bytes())
    return out


def _report(dst: Path) -> dict:
    return json.loads((dst / REPORT_NAME).read_text())


def _problem_files(report) -> dict[str, str]:
    return {Path(f).name: r for f, r in report.problems}


# (name, [polylines]) of a canonical crack dataset
CRACK_SAMPLES = {
    "road_001": [[[5.0, 5.0], [40.5, 30.25], [70.0, 31.0]], [[10.0, 50.0], [60.0, 52.0]]],
    "road_002": [[[0.0, 0.0], [79.0, 59.0]]],
    "road_003": [],  # no crack: a valid sample with an empty list
}


def make_canonical_crack(root: Path, samples=CRACK_SAMPLES) -> Path:
    for i, (name, lines) in enumerate(samples.items()):
        (root / cf.IMAGES_DIR).mkdir(parents=True, exist_ok=True)
        (root / cf.IMAGES_DIR / f"{name}.png").write_bytes(_encoded(".png", 60, 80, seed=10 + i))
        cf.write_pline([np.asarray(p) for p in lines], cf.annotation_path(root, name))
    return root


def _lines(path: Path) -> list[list[float]]:
    return [p.reshape(-1).tolist() for p in cf.read_pline(path)]


# ------------------------------------------------------------------------------------------------
# reading order
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("angle", [-50, -45, -20, 0, 20, 45, 50])
@pytest.mark.parametrize("n", [1, 2, 3, 8])
def test_reading_order_recovers_rotated_lines(angle, n):
    _, boxes = _marking("X" * n, 200, 200, angle)
    perm = list(range(n))
    random.Random(n * 100 + angle).shuffle(perm)
    shuffled = [boxes[j] for j in perm]
    assert [perm[i] for i in reading_order(shuffled)] == list(range(n))


@pytest.mark.parametrize("angle", [-50, 50])
def test_reading_order_uses_the_line_direction_not_x(angle):
    """Steep text with characters alternately off the line: sorting by x gets it wrong, PCA does not."""
    t = np.deg2rad(angle)
    d, perp = np.array([np.cos(t), np.sin(t)]), np.array([-np.sin(t), np.cos(t)])
    centres = [np.array([100.0, 100.0]) + k * 20 * d + (9 if k % 2 else -9) * perp for k in range(8)]
    boxes = [[c[0] - 6, c[1] - 6, c[0] + 6, c[1] + 6] for c in centres]
    assert list(np.argsort([c[0] for c in centres])) != list(range(8))  # the naive order fails
    assert reading_order(boxes[::-1]) == list(range(8))[::-1]
    assert reading_order(boxes) == list(range(8))


def test_reading_order_degenerate():
    assert reading_order([]) == []
    assert reading_order([[0, 0, 4, 4]] * 3) == [0, 1, 2]


# ------------------------------------------------------------------------------------------------
# OCR round trips
# ------------------------------------------------------------------------------------------------


def test_labelme_round_trip_nested_tree(tmp_path):
    canon = make_canonical_ocr(tmp_path / "canon")
    tree = tmp_path / "labelme"
    export_labelme(canon, tree)
    assert (tree / "site_a" / "day2" / "res_002.json").is_file()  # the names became folders
    assert detect_ocr_format(tree) == "labelme"
    out = tmp_path / "out"
    report = import_ocr(tree, out)
    assert report.format == "labelme" and report.problems == []
    assert sorted(report.imported) == sorted(OCR_SAMPLES)
    assert load_ocr(out) == load_ocr(canon)  # boxes, labels, group ids, texts, image bytes
    assert _report(out) == {"format": "labelme", "imported": len(OCR_SAMPLES), "problems": []}


@pytest.mark.parametrize("int_labels", [True, False])
def test_kaist_round_trip(tmp_path, int_labels):
    canon = make_canonical_ocr(tmp_path / "canon")
    kaist = tmp_path / "kaist"
    export_kaist(canon, kaist, split="TRAIN", int_labels=int_labels)
    labels = json.loads((kaist / "TRAIN_objects.json").read_text())[0]["labels"]
    assert all(isinstance(v, int if int_labels else str) for v in labels)
    assert (kaist / "label_map.json").exists() == int_labels
    assert detect_ocr_format(kaist) == "kaist"
    out = tmp_path / "out"
    report = import_ocr(kaist, out)
    assert report.format == "kaist" and report.problems == []
    assert load_ocr(out) == load_ocr(canon)  # texts rebuilt by reading order, group ids by containment


def test_kaist_several_splits_in_one_folder(tmp_path):
    names = list(OCR_SAMPLES)
    a = make_canonical_ocr(tmp_path / "a", {n: OCR_SAMPLES[n] for n in names[:2]})
    b = make_canonical_ocr(tmp_path / "b", {n: OCR_SAMPLES[n] for n in names[2:]})
    kaist = tmp_path / "kaist"
    export_kaist(a, kaist, split="TRAIN", int_labels=True)
    export_kaist(b, kaist, split="TEST", int_labels=False)
    out = tmp_path / "out"
    report = import_ocr(kaist, out)
    assert report.problems == [] and sorted(report.imported) == sorted(names)
    assert load_ocr(out) == {**load_ocr(a), **load_ocr(b)}


def test_kaist_default_and_custom_int_label_maps(tmp_path):
    src = tmp_path / "kaist"
    src.mkdir()
    (src / "a.jpg").write_bytes(_encoded(".jpg", 100, 200))
    roi, boxes = _marking("4R", 100, 50, 0)
    (src / "TRAIN_images.json").write_text(json.dumps(["a.jpg"]))
    # default map: 1 resistor, 2 + digit, 12 + letter
    (src / "TRAIN_objects.json").write_text(
        json.dumps([{"boxes": [boxes[1], list(roi), boxes[0]], "labels": [29, 1, 6], "difficulties": [0, 0, 0]}])
    )
    assert DEFAULT_LABEL_MAP["R"] == 29 and DEFAULT_LABEL_MAP["4"] == 6 and DEFAULT_LABEL_MAP["resistor"] == 1
    out = tmp_path / "out"
    report = import_ocr(src, out)
    assert report.problems == []
    ann = read_labelme(out / "a.json")
    assert [s.label for s in ann.shapes] == ["R", "resistor", "4"]
    assert ann.rois[0].text == "4R" and [s.group_id for s in ann.shapes] == [0, 0, 0]
    assert (ann.width, ann.height) == (200, 100)
    # a label_map.json beside the files wins over the default map
    (src / "label_map.json").write_text(json.dumps({"background": 0, "resistor": 5, "4": 7, "R": 9}))
    (src / "TRAIN_objects.json").write_text(
        json.dumps([{"boxes": [boxes[1], list(roi), boxes[0]], "labels": [9, 5, 7], "difficulties": [0, 0, 0]}])
    )
    out2 = tmp_path / "out2"
    assert import_ocr(src, out2).problems == []
    assert load_ocr(out2) == load_ocr(out)


def test_labelme_import_normalises_and_fills_missing_text(tmp_path):
    src = tmp_path / "src"
    (src / "imgs").mkdir(parents=True)
    (src / "imgs" / "x.jpeg").write_bytes(_encoded(".jpg"))
    roi, boxes = _marking("1K", 40, 30, 30)
    data = {
        "imagePath": "imgs\\x.jpeg",  # Windows separators, .jpeg
        "imageWidth": 80,
        "imageHeight": 60,
        "shapes": [
            {"label": "Resistor", "shape_type": "rectangle", "points": [roi[2:], roi[:2]], "group_id": 3, "flags": {}},
            {
                "label": "k",
                "shape_type": "polygon",
                "points": [[boxes[1][0], boxes[1][1]], [boxes[1][2], boxes[1][1]], [boxes[1][2], boxes[1][3]]],
                "group_id": 3,
            },
            {"label": "1", "shape_type": "rectangle", "points": [boxes[0][:2], boxes[0][2:]], "group_id": 3},
        ],
    }
    (src / "x.json").write_text(json.dumps(data))
    out = tmp_path / "out"
    report = import_ocr(src, out)
    assert report.problems == [] and report.imported == ["x"]
    ann = read_labelme(out / "x.json")
    assert ann.image_path == "x.jpg" and (out / "x.jpg").read_bytes() == (src / "imgs" / "x.jpeg").read_bytes()
    assert [s.label for s in ann.shapes] == ["resistor", "K", "1"]
    assert ann.rois[0].text == "1K" and ann.rois[0].box == (roi[0], roi[1], roi[2], roi[3])
    assert ann.shapes[1].box == pytest.approx(boxes[1])


# ------------------------------------------------------------------------------------------------
# OCR bad inputs
# ------------------------------------------------------------------------------------------------


def _labelme_json(image_path: str) -> str:
    return json.dumps({"imagePath": image_path, "imageWidth": 80, "imageHeight": 60, "shapes": []})


def test_labelme_bad_inputs_are_reported_and_good_samples_import(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(_encoded(".jpg"))
    (outside / "secret.json").write_text(_labelme_json("secret.jpg"))
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    for n in ("good", "dotdot", "absolute", "link"):
        (src / f"{n}.jpg").write_bytes(_encoded(".jpg", seed=len(n)))
    (src / "good.json").write_text(_labelme_json("good.jpg"))
    (src / "sub" / "good.json").write_text(_labelme_json("../good.jpg"))  # `..` refused even if inside
    (src / "notjson.json").write_text("{this is not json")
    (src / "dotdot.json").write_text(_labelme_json("../outside/secret.jpg"))
    (src / "absolute.json").write_text(_labelme_json(str(outside / "secret.jpg")))
    (src / "escape.jpg").symlink_to(outside / "secret.jpg")
    (src / "escape.json").write_text(_labelme_json("escape.jpg"))
    (src / "linked.json").symlink_to(outside / "secret.json")
    (src / "missing.json").write_text(_labelme_json("missing.jpg"))
    (src / "notlabelme.json").write_text(json.dumps({"foo": 1}))

    out = tmp_path / "out"
    report = import_ocr(src, out, fmt="labelme")
    assert report.imported == ["good"]
    problems = _problem_files(report)
    assert "not valid JSON" in problems["notjson.json"]
    assert "'..'" in problems["dotdot.json"] and "relative" in problems["dotdot.json"]
    assert "absolute" in problems["absolute.json"] and "relative" in problems["absolute.json"]
    assert "outside" in problems["escape.json"]
    assert "outside" in problems["linked.json"]
    assert "not found" in problems["missing.json"]
    assert "imagePath" in problems["notlabelme.json"]
    assert any(f.endswith(os.path.join("sub", "good.json")) and "'..'" in r for f, r in report.problems)
    for n in ("dotdot", "absolute", "link"):  # images no annotation could claim are not silently lost
        assert "not referenced" in problems[f"{n}.jpg"]
    assert sorted(p.name for p in out.iterdir()) == ["good.jpg", "good.json", REPORT_NAME]
    written = _report(out)
    assert written["imported"] == 1 and len(written["problems"]) == len(report.problems)
    assert {"file", "reason"} == set(written["problems"][0])
    assert not any("secret" in p.name for p in out.iterdir())


def test_kaist_bad_inputs_are_reported_and_good_samples_import(tmp_path):
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(_encoded(".jpg"))
    src = tmp_path / "kaist"
    src.mkdir()
    roi, boxes = _marking("47", 40, 30, 0)
    good = {"boxes": [list(roi), *map(list, boxes)], "labels": ["resistor", "4", "7"], "difficulties": [0, 0, 0]}
    orphan = {
        "boxes": [list(roi), *map(list, boxes), [70, 50, 78, 58]],
        "labels": ["resistor", "4", "7", "Z"],
        "difficulties": [0] * 4,
    }
    for n in ("good", "orphan"):
        (src / f"{n}.jpg").write_bytes(_encoded(".jpg", seed=len(n)))
    (src / "escape.jpg").symlink_to(outside)
    paths = ["good.jpg", "orphan.jpg", "../outside.jpg", str(outside), "escape.jpg", "missing.jpg"]
    (src / "TRAIN_images.json").write_text(json.dumps(paths))
    (src / "TRAIN_objects.json").write_text(json.dumps([good, orphan, good, good, good, good]))
    (src / "TEST_images.json").write_text(json.dumps(["good.jpg"]))
    (src / "TEST_objects.json").write_text("not json at all")

    out = tmp_path / "out"
    report = import_ocr(src, out)
    assert report.format == "kaist" and report.imported == ["good"]
    reasons = [(Path(f).name, r) for f, r in report.problems]

    def reason_of(file, needle):
        return [r for f, r in reasons if f == file and needle in r]

    assert reason_of("TEST_objects.json", "not valid JSON")
    assert reason_of("TRAIN_objects.json", "'Z'") and reason_of("TRAIN_objects.json", "no 'resistor' box")
    assert len(reason_of("TRAIN_images.json", "relative")) == 2  # `..` and the absolute path
    assert reason_of("TRAIN_images.json", "'..'") and reason_of("TRAIN_images.json", "absolute")
    assert reason_of("TRAIN_images.json", "outside")  # the escaping symlink
    assert reason_of("TRAIN_images.json", "'missing.jpg' not found")
    assert reason_of("TRAIN_objects.json", "'orphan.jpg'")  # the sample is named, not only the list
    assert "escape.jpg" in dict(reasons) and "outside" in dict(reasons)["escape.jpg"]  # the link itself
    assert read_labelme(out / "good.json").rois[0].text == "47"


def test_detect_ocr_format(tmp_path):
    make_canonical_ocr(tmp_path / "canon")
    assert detect_ocr_format(tmp_path / "canon") == "labelme"
    export_kaist(tmp_path / "canon", tmp_path / "kaist")
    assert detect_ocr_format(tmp_path / "kaist") == "kaist"
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.json").write_text("[]")
    with pytest.raises(ValueError, match="empty"):
        detect_ocr_format(tmp_path / "empty")
    with pytest.raises(ValueError, match="unknown OCR format"):
        import_ocr(tmp_path / "canon", tmp_path / "o", fmt="coco")


# ------------------------------------------------------------------------------------------------
# destination handling
# ------------------------------------------------------------------------------------------------


def test_destination_rules(tmp_path):
    canon = make_canonical_ocr(tmp_path / "canon", {"a": (".jpg", [("1", 40, 40, 0)])})
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="busy"):
        import_ocr(canon, busy)
    assert (busy / "notes.txt").read_text() == "mine"
    with pytest.raises(ValueError, match="inside"):
        import_ocr(canon, canon / "out")
    out = tmp_path / "out"
    out.mkdir()  # an empty folder is fine
    import_ocr(canon, out)
    assert load_ocr(out) == load_ocr(canon)
    # a previous import is replaced as a whole
    (canon / "a.json").rename(canon / "b.json")
    ann = read_labelme(canon / "b.json")
    write_labelme(ann, canon / "b.json")
    report = import_ocr(canon, out)
    assert report.imported == ["b"] and not (out / "a.json").exists() and (out / "b.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


# ------------------------------------------------------------------------------------------------
# crack round trips
# ------------------------------------------------------------------------------------------------


def test_pline_round_trip(tmp_path):
    canon = make_canonical_crack(tmp_path / "canon")
    exported = tmp_path / "aihub"
    export_pline(canon, exported)
    assert detect_crack_format(exported) == "pline"
    out = tmp_path / "out"
    report = import_crack(exported, out)
    assert report.format == "pline" and report.problems == [] and sorted(report.imported) == sorted(CRACK_SAMPLES)
    for name, lines in CRACK_SAMPLES.items():
        assert _lines(cf.annotation_path(out, name)) == [np.asarray(p).reshape(-1).tolist() for p in lines]
        assert (out / "images" / f"{name}.png").read_bytes() == (canon / "images" / f"{name}.png").read_bytes()
    assert not (out / "masks").exists()


def test_png_masks_round_trip(tmp_path):
    canon = make_canonical_crack(tmp_path / "canon")
    exported = tmp_path / "masks_ds"
    export_png_masks(canon, exported, thickness=5)
    assert set(np.unique(cv2.imread(str(exported / "masks" / "road_001.png"), cv2.IMREAD_GRAYSCALE))) == {0, 255}
    assert detect_crack_format(exported) == "png_masks"
    out = tmp_path / "out"
    report = import_crack(exported, out)
    assert report.format == "png_masks" and report.problems == []
    for name, lines in CRACK_SAMPLES.items():
        expected = cf.rasterize([np.asarray(p) for p in lines], 60, 80, 5)
        assert np.array_equal(cf.load_mask(out, name, 60, 80), expected)
        assert cf.read_pline(cf.annotation_path(out, name)) == []
        m = cv2.imread(str(out / "masks" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        assert m.dtype == np.uint8 and m.ndim == 2 and set(np.unique(m)) <= {0, 255}
    # a canonical folder holding masks re-imports (as 'pline') with its masks kept
    again = tmp_path / "again"
    export_pline(out, tmp_path / "aihub")
    assert import_crack(tmp_path / "aihub", again).problems == []
    for name, lines in CRACK_SAMPLES.items():
        assert np.array_equal(
            cf.load_mask(again, name, 60, 80), cf.rasterize([np.asarray(p) for p in lines], 60, 80, 5)
        )


def test_aihub_pline_import_conversions_and_problems(tmp_path):
    outside = tmp_path / "outside.png"
    outside.write_bytes(_encoded(".png"))
    src = tmp_path / "aihub"
    (src / "images").mkdir(parents=True)
    (src / "annotations").mkdir()
    jpg = _encoded(".jpg", seed=3)
    (src / "images" / "a.jpg").write_bytes(jpg)
    extra = {
        "annotations": [{"id": 7, "attributes": {"class": "crack"}, "polyline": [1, 2, 30, 40, 50, 41]}],
        "info": {"x": 1},
    }
    (src / "annotations" / "a_PLINE.json").write_text(json.dumps(extra))
    (src / "images" / "nocrack.png").write_bytes(_encoded(".png", seed=4))
    (src / "annotations" / "nocrack_PLINE.json").write_text(json.dumps({"annotations": []}))
    (src / "images" / "noann.png").write_bytes(_encoded(".png", seed=5))
    (src / "images" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    (src / "annotations" / "broken_PLINE.json").write_text(json.dumps({"annotations": []}))
    (src / "images" / "badjson.png").write_bytes(_encoded(".png", seed=6))
    (src / "annotations" / "badjson_PLINE.json").write_text("{'annotations': }")
    (src / "images" / "escape.png").symlink_to(outside)
    (src / "annotations" / "escape_PLINE.json").write_text(json.dumps({"annotations": []}))
    (src / "annotations" / "orphan_PLINE.json").write_text(json.dumps({"annotations": []}))

    out = tmp_path / "out"
    report = import_crack(src, out)
    assert report.format == "pline" and sorted(report.imported) == ["a", "nocrack"]
    problems = _problem_files(report)
    assert "annotation file" in problems["noann.png"] and "empty" in problems["noann.png"]
    assert "cannot be decoded" in problems["broken.jpg"]
    assert "not valid JSON" in problems["badjson_PLINE.json"]
    assert "outside" in problems["escape.png"]
    assert "no image" in problems["orphan_PLINE.json"]
    assert _lines(cf.annotation_path(out, "a")) == [[1.0, 2.0, 30.0, 40.0, 50.0, 41.0]]
    assert json.loads(cf.annotation_path(out, "a").read_text()) == {
        "annotations": [{"polyline": [1.0, 2.0, 30.0, 40.0, 50.0, 41.0]}]
    }
    converted = read_image(out / "images" / "a.png")
    assert (out / "images" / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert np.array_equal(converted, read_image(src / "images" / "a.jpg"))
    assert cf.read_pline(cf.annotation_path(out, "nocrack")) == []
    assert len(_report(out)["problems"]) == len(report.problems)


def test_png_mask_variants_and_problems(tmp_path):
    src = tmp_path / "ds"
    (src / "images").mkdir(parents=True)
    (src / "labels").mkdir()
    (src / "gt").mkdir()
    crack = np.zeros((60, 80), np.uint8)
    crack[10:20, 5:70] = 1
    (src / "images" / "zero_one.png").write_bytes(_encoded(".png", seed=1))
    cv2.imwrite(str(src / "labels" / "zero_one.png"), crack)  # 0/1 mask
    (src / "images" / "rgb.jpg").write_bytes(_encoded(".jpg", seed=2))
    rgb = np.zeros((60, 80, 3), np.uint8)
    rgb[crack > 0] = (0, 0, 200)  # a red crack (BGR on disk)
    cv2.imwrite(str(src / "gt" / "rgb.png"), rgb)
    (src / "images" / "sib.png").write_bytes(_encoded(".png", seed=3))
    cv2.imwrite(str(src / "images" / "sib_mask.png"), crack * 255)  # <stem>_mask.png beside the image
    (src / "images" / "wrongsize.png").write_bytes(_encoded(".png", seed=4))
    cv2.imwrite(str(src / "labels" / "wrongsize.png"), np.zeros((30, 40), np.uint8))
    (src / "images" / "undecodable.png").write_bytes(_encoded(".png", seed=5))
    (src / "gt" / "undecodable.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (src / "images" / "nomask.png").write_bytes(_encoded(".png", seed=6))

    assert detect_crack_format(src) == "png_masks"
    out = tmp_path / "out"
    report = import_crack(src, out)
    assert sorted(report.imported) == ["rgb", "sib", "zero_one"]
    for name in report.imported:
        assert np.array_equal(cf.load_mask(out, name, 60, 80), crack), name
        assert set(np.unique(cv2.imread(str(out / "masks" / f"{name}.png"), cv2.IMREAD_UNCHANGED))) == {0, 255}
    problems = _problem_files(report)
    assert "30" in problems["wrongsize.png"] and "60" in problems["wrongsize.png"]  # names both sizes
    assert any(Path(f).parent.name == "labels" for f, _ in report.problems)  # the mask is the file named
    assert "cannot be decoded" in problems["undecodable.png"]
    assert "no mask" in problems["nomask.png"]
    assert np.array_equal(read_image(out / "images" / "rgb.png"), read_image(src / "images" / "rgb.jpg"))


def test_png_masks_in_folder_root(tmp_path):
    src = tmp_path / "root_ds"
    src.mkdir()
    (src / "a.png").write_bytes(_encoded(".png", seed=1))
    cv2.imwrite(str(src / "a_label.png"), np.full((60, 80), 255, np.uint8))
    assert detect_crack_format(src) == "png_masks"
    report = import_crack(src, tmp_path / "out")
    assert report.imported == ["a"] and report.problems == []
    assert cf.load_mask(tmp_path / "out", "a", 60, 80).all()


def test_detect_crack_format_rejects_unknown(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "photo.png").write_bytes(_encoded(".png"))
    with pytest.raises(ValueError, match="x"):
        detect_crack_format(tmp_path / "x")
    with pytest.raises(ValueError, match="not a known crack dataset"):
        import_crack(tmp_path / "x", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_kaist_char_in_two_rois_goes_to_the_one_it_overlaps_most():
    from components.data.importers import kaist_shapes

    rois = [(0.0, 0.0, 50.0, 40.0), (30.0, 0.0, 100.0, 40.0)]
    chars = [(28.0, 10.0, 58.0, 30.0), (60.0, 10.0, 70.0, 30.0), (10.0, 10.0, 20.0, 30.0)]  # char 0: centre in both
    shapes, orphans = kaist_shapes(rois + chars, ["resistor", "resistor", "A", "B", "C"])
    assert orphans == []
    assert [s.group_id for s in shapes] == [0, 1, 1, 1, 0]
    assert [s.text for s in shapes[:2]] == ["C", "AB"]
