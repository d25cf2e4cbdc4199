"""One image-decoding policy for every stage (issue #22, item 4): bit depth, colour modes, EXIF
orientation and the smallest usable image are handled in ``components.io`` and nowhere else."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from PIL import Image

from components.io import (
    MIN_PREDICT_SIDE,
    ImageReadError,
    decode_image,
    image_size,
    read_image,
    read_mask,
)
from components.predict.sources import open_source
from components.registry.pyfunc_models import decode_images, encode_image_file


def _png16_grey(h=48, w=64) -> tuple[bytes, np.ndarray]:
    ramp = np.tile(np.linspace(0, 65535, w).astype(np.uint16), (h, 1))
    return cv2.imencode(".png", ramp)[1].tobytes(), ramp


def _save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def test_16bit_grey_png_is_scaled_by_bit_depth_not_saturated(tmp_path):
    data, ramp = _png16_grey()
    expected = np.round(ramp / 257.0).astype(np.uint8)
    path = tmp_path / "deep.png"
    path.write_bytes(data)
    for arr in (
        read_image(path),
        decode_image(data, "deep.png"),
        decode_images(pd.DataFrame({"image": [encode_image_file(data)]}))[0],
        next(open_source(path).items(set())).load(),
    ):
        assert arr.dtype == np.uint8 and arr.shape == (48, 64, 3)
        assert np.abs(arr[..., 0].astype(int) - expected).max() <= 1
        assert (arr == 255).mean() < 0.05  # was 99.6 % white


def test_16bit_colour_png_keeps_its_colours(tmp_path):
    rgb16 = np.zeros((40, 40, 3), np.uint16)
    rgb16[..., 0], rgb16[..., 1], rgb16[..., 2] = 65535, 32896, 0  # RGB
    path = tmp_path / "c.png"
    cv2.imwrite(str(path), rgb16[..., ::-1])
    assert read_image(path)[0, 0].tolist() == [255, 128, 0]


@pytest.mark.parametrize(
    "mode, fmt",
    [
        ("L", "PNG"),
        ("L", "JPEG"),
        ("LA", "PNG"),
        ("RGBA", "PNG"),
        ("P", "PNG"),
        ("CMYK", "JPEG"),
        ("1", "PNG"),
        ("I;16", "TIFF"),
        ("RGB", "BMP"),
    ],
)
def test_every_colour_mode_becomes_3_channel_rgb(mode, fmt):
    im = (
        Image.new("RGB", (40, 36), (200, 200, 200)).convert(mode)
        if mode != "I;16"
        else Image.fromarray(np.full((36, 40), 200 * 257, np.uint16))
    )
    arr = decode_image(_save(im, fmt), f"x.{fmt.lower()}")
    assert arr.shape == (36, 40, 3) and arr.dtype == np.uint8
    if mode != "1":  # bilevel: thresholded
        assert abs(int(arr.mean()) - 200) <= 30 if mode == "CMYK" else abs(int(arr.mean()) - 200) <= 3


def test_rgba_drops_alpha_and_keeps_colours():
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 180, 0  # fully transparent red
    arr = decode_image(_save(Image.fromarray(rgba, "RGBA"), "PNG"), "a.png")
    assert arr.shape == (40, 40, 3) and arr[0, 0].tolist() == [180, 0, 0]


def test_exif_orientation_is_applied(tmp_path):
    img = np.zeros((30, 60, 3), np.uint8)
    img[:, :10] = 255  # white strip on the left of the stored pixels
    im = Image.fromarray(img)
    exif = im.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    data = _save(im, "JPEG", exif=exif.tobytes())
    arr = decode_image(data, "phone.jpg")
    (tmp_path / "phone.jpg").write_bytes(data)
    assert image_size(tmp_path / "phone.jpg") == (30, 60)  # the header-only size agrees with the pixels
    assert arr.shape == (60, 30, 3)  # upright: portrait
    assert arr[:10].mean() > 200 and arr[-10:].mean() < 50  # the strip is now on top


def test_tiny_images_refused_with_the_same_rule_in_batch_and_serving(tmp_path):
    data = _save(Image.new("RGB", (1, 1)), "PNG")
    path = tmp_path / "one.png"
    path.write_bytes(data)
    with pytest.raises(ImageReadError, match=f"one.png: 1x1 px is smaller than {MIN_PREDICT_SIDE} px on a side"):
        next(open_source(path).items(set())).load()
    with pytest.raises(MlflowException, match=f"image 0: 1x1 px is smaller than {MIN_PREDICT_SIDE} px on a side"):
        decode_images(pd.DataFrame({"image": [encode_image_file(data)]}))
    assert read_image(path).shape == (1, 1, 3)  # data stages apply their own size rules (validation.min_size)


def test_16bit_mask_keeps_small_values_as_crack(tmp_path):
    m = np.zeros((40, 40), np.uint16)
    m[5, 5], m[6, 6] = 1, 40000
    path = tmp_path / "m.png"
    cv2.imwrite(str(path), m)
    out = read_mask(path)
    assert out.dtype == np.uint8 and out.sum() == 2 and out[5, 5] == 1
