"""The deployable models as MLflow pyfunc models: what ``mlflow models serve`` and ``predict`` run.

Both take the same input, a table with one column ``image`` holding each image file (PNG/JPEG)
base64-encoded, because that is what fits MLflow's JSON serving protocol and keeps the camera's
own encoding. Bad input is refused per request with a ``BadRequest`` (an MlflowException carrying
INVALID_PARAMETER_VALUE), which the scoring server turns into HTTP 400 whose JSON ``message`` is the
reason alone, at most ``MAX_ERROR_CHARS`` long; the server keeps serving. Left to itself, MLflow's
scoring server puts the whole request in front of the reason (``Failed to predict data '<request>'``,
``Input: <request>``): a 21 MB bad request got a 29 MB answer. See ``short_scoring_errors``.
Nothing here imports torch or TensorFlow: the quantized runtimes need only ONNX
Runtime or LiteRT, numpy and OpenCV, so a serving container stays small.

* ``resistor-ocr`` returns one row per resistor found: its box, the read text and confidence, the
  raw string, whether the text is a valid marking with its value in ohms and code kind (None when
  not valid; ``components.ocr.grammar``), ``read_status`` (read | invalid | unreadable:
  ``components.ocr.pipeline.ROI_STATUSES``), and the character boxes, labels and scores in reading order.
* ``road-crack-segmenter`` returns one row per image: the masking rate (share of crack pixels) and
  the mask in CSR form (``mask_indptr``, ``mask_indices``; reload with
  ``scipy.sparse.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(height, width))``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import os

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, ErrorCode

from components.io import (
    DEFAULT_MAX_PIXELS,
    MIN_PREDICT_SIDE,
    ImageReadError,
    decode_image,
)
from components.predict.rows import mask_csr, roi_fields

IMAGE_COLUMN = "image"
MAX_IMAGE_BYTES = 20 * 1024 * 1024  # per encoded image
MAX_IMAGES = 64  # per request
MIN_SIDE = MIN_PREDICT_SIDE  # px; smaller is not a camera frame (same rule as batch prediction)
MAX_ERROR_CHARS = 500  # the message of a 400 answer

OCR_COLUMNS = [
    "image",
    "roi",
    "x1",
    "y1",
    "x2",
    "y2",
    "roi_score",
    "text",
    "confidence",
    "raw_text",
    "valid",
    "value_ohm",
    "code_kind",
    "read_status",
    "char_boxes",
    "char_labels",
    "char_scores",
]
CRACK_COLUMNS = ["image", "height", "width", "masking_rate", "crack_pixels", "mask_indptr", "mask_indices"]


def bounded(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how long it was."""
    text = str(text)
    if len(text) <= limit:
        return text
    tail = f" ... (cut; {len(text)} characters)"
    return text[: limit - len(tail)] + tail


class BadRequest(MlflowException):
    """A refused request: HTTP 400 (or the given code) whose JSON ``message`` is the reason alone, bounded.

    MLflow's scoring server catches an MlflowException from ``predict`` and assigns
    ``e.message = f"Failed to predict data '{data}'. \\nError: {e.message}"``, which echoes the whole
    request when it arrived as a dict of arrays. ``message`` is set once (by the constructor) and later
    assignments are ignored, so the answer starts with the reason and stays short.
    """

    def __init__(self, reason: str, error_code: int = INVALID_PARAMETER_VALUE):
        super().__init__(bounded(reason), error_code=error_code)

    @property
    def message(self) -> str:
        return self._reason

    @message.setter
    def message(self, value: str) -> None:
        if not hasattr(self, "_reason"):  # the constructor's assignment; later ones are the server's wrapping
            self._reason = bounded(value)


def bad_request(message: str) -> BadRequest:
    return BadRequest(message)


def mlflow_reason(message: str) -> str:
    """The reason in one of MLflow's own refusal messages, without the request it echoes: the part
    before ``Input:`` (request not JSON) and after the last ``Error:`` (schema enforcement, which
    prints the data first)."""
    head = message.split("\nInput:", 1)[0].strip()
    if head.startswith(("Failed to predict data", "Failed to enforce schema")) and "Error: " in head:
        head = head.rsplit("Error: ", 1)[1].strip()
    return bounded(head)


def short_scoring_errors() -> bool:
    """In an ``mlflow models serve`` process, give MLflow's own refusals the short form too.

    The scoring server refuses some requests before the model sees them (body not JSON, input not
    fitting the signature) with messages that quote the request whole. Its ``invocations`` function
    is looked up per request, so wrapping it here (called from ``load_context``, before the server
    builds its app) turns every MlflowException it raises into a ``BadRequest`` with the same HTTP
    status and the reason alone; the full message goes to the server's log. Does nothing outside a
    scoring server (batch prediction loads the same model in-process) or when already done; returns
    whether the wrapper is in place.
    """
    from mlflow.pyfunc import scoring_server

    # private names of MLflow 3's scoring server: if a later MLflow renames them, serving goes on unwrapped
    if not os.environ.get(getattr(scoring_server, "_SERVER_MODEL_PATH", "__pyfunc_model_path__")) or not callable(
        getattr(scoring_server, "invocations", None)
    ):
        return False
    if getattr(scoring_server.invocations, "short_errors", False):
        return True
    original = scoring_server.invocations

    @functools.wraps(original)
    def invocations(*args, **kwargs):
        try:
            return original(*args, **kwargs)
        except BadRequest:
            raise
        except MlflowException as exc:
            trace = exc.json_kwargs.get("stack_trace")
            logging.getLogger(__name__).warning(
                "refused a request: %s%s", bounded(exc.message, 1000), f"\n{trace}" if trace else ""
            )
            raise BadRequest(mlflow_reason(exc.message), ErrorCode.Value(exc.error_code)) from None

    invocations.short_errors = True
    scoring_server.invocations = invocations
    return True


def encode_image_file(data: bytes) -> str:
    """What a client puts in the ``image`` column."""
    return base64.b64encode(data).decode("ascii")


def decode_images(model_input) -> list[np.ndarray]:
    """RGB uint8 arrays from the request table; raise a 400-mapped error naming the row and reason."""
    if isinstance(model_input, dict):
        model_input = pd.DataFrame(model_input)
    if not isinstance(model_input, pd.DataFrame) or IMAGE_COLUMN not in model_input.columns:
        raise bad_request(
            f"expected a table with a column {IMAGE_COLUMN!r} of base64-encoded PNG/JPEG files, "
            f"got {type(model_input).__name__} with columns {list(getattr(model_input, 'columns', []))}"
        )
    if len(model_input) > MAX_IMAGES:
        raise bad_request(f"{len(model_input)} images in one request; send at most {MAX_IMAGES}")
    images = []
    for i, value in enumerate(model_input[IMAGE_COLUMN]):
        name = f"image {i}"
        if isinstance(value, str):
            if len(value) > MAX_IMAGE_BYTES * 4 // 3 + 4:
                raise bad_request(f"{name}: {len(value)} base64 characters exceeds the {MAX_IMAGE_BYTES} byte limit")
            try:
                value = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise bad_request(f"{name}: not valid base64 (send the image file's bytes base64-encoded)") from None
        if not isinstance(value, (bytes, bytearray)):
            raise bad_request(f"{name}: expected a base64 string, got {type(value).__name__}")
        if len(value) > MAX_IMAGE_BYTES:
            raise bad_request(f"{name}: {len(value)} bytes exceeds the {MAX_IMAGE_BYTES} byte limit")
        try:
            image = decode_image(bytes(value), name, DEFAULT_MAX_PIXELS, min_side=MIN_SIDE)
        except ImageReadError as exc:
            raise bad_request(
                str(exc) if "px on a side" in str(exc) else f"{exc} (expected a PNG or JPEG file)"
            ) from None
        images.append(image)
    return images


class ResistorOcrModel(mlflow.pyfunc.PythonModel):
    """Both int8 ONNX detectors and the two-stage glue (artifact ``export_dir``)."""

    def load_context(self, context) -> None:
        from components.export.ocr_runtime import OnnxTwoStageOcr

        short_scoring_errors()
        config = context.model_config or {}
        self.ocr = OnnxTwoStageOcr.load(
            context.artifacts["export_dir"], form=config.get("form", "int8"), threads=int(config.get("threads", 1))
        )

    def predict(self, context, model_input, params=None) -> pd.DataFrame:
        rows = [
            {"image": i, **roi_fields(k, roi)}
            for i, image in enumerate(decode_images(model_input))
            for k, roi in enumerate(self.ocr(image).rois)
        ]
        return ocr_frame(rows)


def ocr_frame(rows: list[dict]) -> pd.DataFrame:
    """The OCR answer as a table; ``value_ohm`` and ``code_kind`` of readings that are no valid
    marking stay None (JSON null), not NaN (which strict JSON parsers refuse)."""
    frame = pd.DataFrame(rows, columns=OCR_COLUMNS)
    for col in ("value_ohm", "code_kind"):
        frame[col] = pd.Series([r.get(col) for r in rows], index=frame.index, dtype=object)
    return frame


def mask_to_csr(mask: np.ndarray) -> tuple[list[int], list[int]]:
    """(indptr, indices) of a boolean mask in compressed sparse row form, as JSON-ready lists (the
    same CSR as the batch results: ``components.predict.rows.mask_csr``)."""
    indptr, indices = mask_csr(mask)
    return indptr.tolist(), indices.tolist()


class RoadCrackModel(mlflow.pyfunc.PythonModel):
    """The full-integer TFLite segmenter and its normalization metadata (artifact ``export_dir``)."""

    def load_context(self, context) -> None:
        from components.crack.tiling import check_tiling
        from components.export.crack_runtime import TfliteSegmenter

        short_scoring_errors()
        config = context.model_config or {}
        self.segmenter = TfliteSegmenter.load(
            context.artifacts["export_dir"], form=config.get("form", "int8"), threads=int(config.get("threads", 1))
        )
        # large frames: components.crack.tiling.TILING_CHOICES
        self.tiling = check_tiling(str(config.get("tiling", "auto")))

    def predict(self, context, model_input, params=None) -> pd.DataFrame:
        rows = []
        for i, image in enumerate(decode_images(model_input)):
            pred = self.segmenter.predict(image, tiling=self.tiling)
            indptr, indices = mask_to_csr(pred.mask)
            rows.append(
                {
                    "image": i,
                    "height": int(pred.mask.shape[0]),
                    "width": int(pred.mask.shape[1]),
                    "masking_rate": float(pred.masking_rate),
                    "crack_pixels": len(indices),
                    "mask_indptr": indptr,
                    "mask_indices": indices,
                }
            )
        return pd.DataFrame(rows, columns=CRACK_COLUMNS)
