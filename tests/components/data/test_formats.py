"""Canonical formats: round trips through the files and clear errors for malformed ones."""

import json

import numpy as np
import pytest

from components.data.crack_format import load_mask, rasterize, read_pline, write_pline
from components.data.ocr_format import (
    AnnotationError,
    OcrAnnotation,
    Shape,
    read_labelme,
    write_labelme,
)


def test_labelme_round_trip_keeps_everything(tmp_path):
    ann = OcrAnnotation(
        "a.jpg",
        1280,
        960,
        [
            Shape("resistor", 10.5, 20, 300, 120, 0, "4R7"),
            Shape("4", 20, 30, 60, 110, 0),
            Shape("R", 70, 30, 110, 110, 0),
            Shape("7", 120, 30, 160, 110, 0),
        ],
    )
    write_labelme(ann, tmp_path / "a.json")
    back = read_labelme(tmp_path / "a.json")
    assert back == ann
    assert back.rois[0].text == "4R7" and [c.label for c in back.chars_of(0)] == ["4", "R", "7"]
    raw = json.loads((tmp_path / "a.json").read_text())
    assert raw["shapes"][0]["shape_type"] == "rectangle" and raw["shapes"][0]["points"] == [[10.5, 20], [300, 120]]


def test_labelme_points_in_any_corner_order_are_normalised(tmp_path):
    data = {
        "imagePath": "a.jpg",
        "imageWidth": 10,
        "imageHeight": 10,
        "shapes": [{"label": "1", "shape_type": "rectangle", "points": [[8, 9], [2, 3]], "group_id": 0}],
    }
    (tmp_path / "a.json").write_text(json.dumps(data))
    assert read_labelme(tmp_path / "a.json").shapes[0].box == (2, 3, 8, 9)


@pytest.mark.parametrize(
    "content,why",
    [
        ("[1, 2]", "expected a JSON object"),
        ('{"imagePath": "a.jpg"}', "not a LabelMe rectangle annotation"),
        (
            '{"imagePath": "a.jpg", "imageWidth": 1, "imageHeight": 1, "shapes": [{"label": "1", "shape_type": '
            '"polygon", '
            '"points": [[0, 0], [1, 1], [0, 1]]}]}',
            "only rectangles",
        ),
        ("\x00\x01garbage", "not valid JSON"),
    ],
)
def test_labelme_errors_name_the_file(tmp_path, content, why):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(AnnotationError, match=why) as exc:
        read_labelme(path)
    assert str(path) in str(exc.value)


def test_pline_round_trip_and_rasterise(tmp_path):
    lines = [np.array([[10.0, 10.0], [100.0, 10.0]]), np.array([[50.0, 0.0], [50.0, 40.0], [80.0, 60.0]])]
    write_pline(lines, tmp_path / "x_PLINE.json")
    back = read_pline(tmp_path / "x_PLINE.json")
    assert all(np.allclose(a, b) for a, b in zip(lines, back))
    mask = rasterize(back, 64, 128, thickness=5)
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 1}
    assert mask[10, 10:101].all() and mask[8:13, 60].sum() == 5 and mask[5, 60] == 0  # 5 px thick, open line
    assert mask[10, 105] == 0  # open: nothing past the end


def test_pline_errors_and_png_mask_preference(tmp_path):
    (tmp_path / "annotations").mkdir()
    bad = tmp_path / "annotations" / "y_PLINE.json"
    bad.write_text('{"annotations": [{"polyline": [1, 2, 3]}]}')
    with pytest.raises(AnnotationError, match="even number"):
        read_pline(bad)
    import cv2

    (tmp_path / "masks").mkdir()
    m = np.zeros((20, 30), np.uint8)
    m[5:8, 4:9] = 255
    cv2.imwrite(str(tmp_path / "masks" / "y.png"), m)
    assert load_mask(tmp_path, "y", 20, 30).sum() == 15  # the PNG wins over the (broken) polylines
    with pytest.raises(AnnotationError, match="mask is 30x20, image is 40x20"):
        load_mask(tmp_path, "y", 20, 40)
