"""Test data for the dashboard: a real MLflow SQLite store and real batch-prediction folders.

* The store is written by the pipeline's own code: stage runs through ``components.tracking.stage_run``
  (nested under a pipeline run, tagged ``stage``/``run_type``), a trivial pyfunc model registered as
  versions of ``resistor-ocr`` and ``road-crack-segmenter`` with the ``metric.*`` tags of
  ``flows.register`` and the gate tags of ``components.registry.registry.record_gates``.
* The results folders are written by ``components.predict``'s row builders, result store, assets join
  and overlay code, i.e. exactly what ``python -m flows.predict`` writes, without running a model.

Creating an MLflow SQLite store costs several seconds (schema migrations), so one store serves the
whole package.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import mlflow
import numpy as np
import pytest

from components import tracking
from components.ocr.pipeline import FrameResult, RoiResult
from components.ocr.plots import overlay as ocr_overlay
from components.ocr.plots import write_png
from components.predict.assets import join_assets, load_assets
from components.predict.overlays import crack_overlay
from components.predict.rows import crack_rows, error_rows, ocr_rows
from components.predict.store import ResultStore, write_skipped
from components.registry.gates import Check, GateResult
from components.registry.registry import record_gates
from tests.helpers.dashboard import CRACK_METRICS, CRACK_REASON, EXPERIMENT, N_CRACK, OCR_METRICS, OCR_V2_REASON


class Echo(mlflow.pyfunc.PythonModel):
    """The smallest real model: enough for the registry, which is all the dashboard reads."""

    def predict(self, context, model_input):
        return model_input


def _register(name: str, model_uri: str, metrics: dict, checks: list[Check]) -> int:
    version = mlflow.register_model(model_uri, name)
    client = mlflow.MlflowClient()
    tags = {
        "git_commit": "0123456789abcdef0123456789abcdef01234567",
        "dvc_data_hash": "f34355a531b65038.dir",
        "test_split": "09a774439b70999723787abe",
        "model_form": "onnx_int8" if name == "resistor-ocr" else "tflite_int8",
        **{f"metric.{k}": str(v) for k, v in metrics.items()},
    }
    for k, v in tags.items():
        client.set_model_version_tag(name, version.version, k, v)
    client.update_model_version(name, version.version, description=f"# {name}\n\nModel card of v{version.version}.")
    record_gates(name, str(version.version), GateResult(tuple(checks)))
    return int(version.version)


@pytest.fixture(scope="session")
def store(tmp_path_factory) -> str:
    """The tracking URI of a store holding stage runs and three registered versions:
    resistor-ocr v1 (champion) and v2 (failed the champion gate), road-crack-segmenter v1 (failed
    the quantization gate, so no champion)."""
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.delenv("PIPELINE_RUN_ID", raising=False)
        try:
            with tracking.stage_run("validate_crack", uri, EXPERIMENT, root=root):
                mlflow.log_metrics({"samples": 600.0})
            with pytest.raises(RuntimeError), tracking.stage_run("validate_crack", uri, EXPERIMENT, root=root):
                raise RuntimeError("bad samples")  # the newest validate_crack run failed
            with tracking.stage_run("evaluate_crack", uri, EXPERIMENT, root=root):
                mlflow.log_metrics({"float.dice": 0.709, "float.iou": 0.607, "val_loss": 0.1})
            with tracking.stage_run("retired_stage", uri, EXPERIMENT, root=root):  # not in dvc.yaml any more
                pass
            with tracking.stage_run("register_ocr", uri, EXPERIMENT, root=root):
                info = mlflow.pyfunc.log_model(name="model", python_model=Echo(), pip_requirements=["mlflow"])
                ok = [
                    Check("minimum.roi_ap50", True, "roi_ap50 0.9995 >= minimum 0.9"),
                    Check("champion.string_accuracy", True, "no champion yet"),
                ]
                assert _register("resistor-ocr", info.model_uri, OCR_METRICS, ok) == 1
                worse = [
                    Check("minimum.roi_ap50", True, "roi_ap50 0.9990 >= minimum 0.9"),
                    Check("champion.string_accuracy", False, OCR_V2_REASON),
                ]
                assert _register("resistor-ocr", info.model_uri, {**OCR_METRICS, "string_accuracy": 0.41}, worse) == 2
            with tracking.stage_run("register_crack", uri, EXPERIMENT, root=root):
                checks = [
                    Check("minimum.dice", True, "dice 0.6857 >= minimum 0.6"),
                    Check("quantization.dice", False, CRACK_REASON),
                ]
                assert _register("road-crack-segmenter", info.model_uri, CRACK_METRICS, checks) == 1
        finally:
            mlflow.set_tracking_uri(None)  # leave no global URI behind for later tests
    return uri


def _crack_frame(rng: np.random.Generator, i: int) -> tuple[np.ndarray, np.ndarray]:
    """A grey road frame and a 'predicted' crack mask of growing size (the first one crack-free)."""
    img = rng.integers(90, 140, (96, 128, 3), dtype=np.uint8)
    mask = np.zeros((96, 128), np.uint8)
    if i:
        pts = np.cumsum(rng.integers(-6, 12, (6, 2)), axis=0) + [10, 10]
        cv2.polylines(mask, [pts.astype(np.int32)], False, 1, thickness=1 + i // 3)
    return img, mask.astype(bool)


@pytest.fixture(scope="session")
def results_root(tmp_path_factory) -> Path:
    """``predictions/`` with a crack run (assets with GPS for all but one image, an unreadable image,
    a skipped text file) and an OCR run (three resistors, a frame without one, an unreadable image)."""
    root = tmp_path_factory.mktemp("predictions")
    rng = np.random.default_rng(0)

    crack = ResultStore(root / "crack", "crack")
    model = "models:/road-crack-segmenter/1"
    for i in range(N_CRACK):
        img, mask = _crack_frame(rng, i)
        crack.add(crack_rows(f"road/f{i:03d}.png", mask, float(mask.mean()), model))
        write_png(root / "crack/overlays/road" / f"f{i:03d}.png", crack_overlay(img, mask, float(mask.mean())))
    crack.add(error_rows("crack", "road/broken.png", "road/broken.png: cannot be decoded (truncated PNG)", model))
    assets = [
        {
            "name": f"f{i:03d}",
            "latitude": 45.07 + 0.001 * i,
            "longitude": 7.68 + 0.0005 * i,
            "timestamp": f"2026-05-01T10:{i:02d}:00",
        }
        for i in range(N_CRACK - 1)
    ]
    (root / "assets.json").write_text(json.dumps(assets))
    table = load_assets(root / "assets.json")
    crack.finalize(lambda t: join_assets(t, table))
    write_skipped(root / "crack", [("road/notes.txt", "not an image (extension '.txt')")])

    ocr = ResultStore(root / "ocr", "ocr")
    model = "models:/resistor-ocr/1"
    chars = np.array([[20, 20, 30, 40], [32, 20, 42, 40], [44, 20, 54, 40]], np.float32)
    frames = {
        "a.jpg": [RoiResult((10, 10, 60, 50), 0.99, "4R7", 0.91, chars, ["4", "R", "7"], np.array([0.95, 0.9, 0.88]))],
        "b.jpg": [
            RoiResult((5, 5, 50, 45), 0.97, "103", 0.62, chars, ["1", "0", "3"], np.array([0.7, 0.5, 0.66])),
            RoiResult((60, 10, 110, 50), 0.93, "01C", 0.45, chars, ["0", "1", "C"], np.array([0.4, 0.5, 0.45])),
        ],
        "c.jpg": [],
    }
    for name, rois in frames.items():
        result = FrameResult(rois)
        ocr.add(ocr_rows(name, result, model))
        write_png(
            root / "ocr/overlays" / f"{name}.png",
            ocr_overlay(rng.integers(0, 255, (64, 128, 3), dtype=np.uint8), result),
        )
    ocr.add(error_rows("ocr", "d.jpg", "d.jpg: cannot be decoded", model))
    ocr.finalize()
    write_skipped(root / "ocr", [])
    return root
