"""The serving input contract: base64 image files in, clear 400-mapped errors for anything else."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pandas as pd
import pytest
import scipy.sparse
from mlflow.exceptions import MlflowException
from PIL import Image

from components.registry.pyfunc_models import (
    MAX_ERROR_CHARS,
    BadRequest,
    decode_images,
    encode_image_file,
    mask_to_csr,
    mlflow_reason,
    short_scoring_errors,
)


def _png(h: int = 48, w: int = 64) -> bytes:
    img = np.random.default_rng(0).integers(0, 255, (h, w, 3), np.uint8)
    return cv2.imencode(".png", img)[1].tobytes()


def test_decodes_base64_pngs_to_rgb():
    images = decode_images(pd.DataFrame({"image": [encode_image_file(_png()), encode_image_file(_png(40, 50))]}))
    assert [i.shape for i in images] == [(48, 64, 3), (40, 50, 3)]


@pytest.mark.parametrize(
    "frame, message",
    [
        (pd.DataFrame({"picture": ["x"]}), "column 'image'"),
        (pd.DataFrame({"image": ["***not base64***"]}), "image 0: not valid base64"),
        (pd.DataFrame({"image": [base64.b64encode(b"hello, not an image").decode()]}), "image 0: cannot be decoded"),
        (pd.DataFrame({"image": [encode_image_file(_png(8, 8))]}), "smaller than 32 px"),
        (pd.DataFrame({"image": [17]}), "expected a base64 string"),
        ([1, 2, 3], "expected a table"),
    ],
)
def test_bad_payloads_get_a_400_with_the_reason(frame, message):
    with pytest.raises(MlflowException) as err:
        decode_images(frame)
    assert err.value.get_http_status_code() == 400
    assert message in err.value.message


def test_the_reason_survives_the_scoring_servers_rewrite():
    """MLflow's scoring server assigns ``e.message = f"Failed to predict data '{data}'. ..."``."""
    with pytest.raises(BadRequest) as err:
        decode_images({"image": ["%" * 5_000_000]})
    err.value.message = f"Failed to predict data '{'%' * 5_000_000}'. \nError: {err.value.message}"
    body = err.value.serialize_as_json()
    assert err.value.message.startswith("image 0: not valid base64") and len(body) < 1000
    long = BadRequest("x" * 10_000)
    assert len(long.message) == MAX_ERROR_CHARS and long.message.endswith("(cut; 10000 characters)")


def test_mlflows_own_refusals_lose_the_echoed_request():
    request = "R0lG" * 1_000_000
    reason = "Invalid input. Ensure that input is a valid JSON formatted string. Error: 'JSONDecodeError(...)'"
    assert mlflow_reason(f"{reason}\nInput: \n{request}\n") == reason
    schema = (
        f"Failed to predict data '{request}'. \nError: Failed to enforce schema of data '{request}' with schema "
        "'['image': string (required)]'. Error: Model is missing inputs ['image']."
    )
    assert mlflow_reason(schema) == "Model is missing inputs ['image']."
    assert len(mlflow_reason(request)) == MAX_ERROR_CHARS


def test_the_scoring_server_hook_stays_out_of_other_processes(monkeypatch):
    from mlflow.pyfunc import scoring_server

    monkeypatch.delenv(scoring_server._SERVER_MODEL_PATH, raising=False)
    before = scoring_server.invocations
    assert short_scoring_errors() is False and scoring_server.invocations is before


def test_decompression_bomb_is_refused_from_the_header(tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("L", (10000, 6000)).save(path)  # 60 Mpx of zeros compresses to a few kB
    with pytest.raises(MlflowException, match="exceeds the limit"):
        decode_images(pd.DataFrame({"image": [encode_image_file(path.read_bytes())]}))


def test_mask_csr_reloads_with_scipy():
    mask = np.random.default_rng(1).random((37, 53)) > 0.8
    indptr, indices = mask_to_csr(mask)
    back = scipy.sparse.csr_matrix((np.ones(len(indices), bool), indices, indptr), shape=mask.shape).toarray()
    assert np.array_equal(back, mask)
