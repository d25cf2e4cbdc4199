"""Crack TFLite export: integer tensors, runtime parity with the QAT model, metadata, sha256, normalization."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
import tf_keras as keras
from ai_edge_litert.interpreter import Interpreter

from components.crack.data import CrackSplit, normalize
from components.crack.qat import quantize
from components.export.crack_runtime import (
    FILES,
    META_FILE,
    ExportIntegrityError,
    TfliteSegmenter,
    preprocess,
    read_meta,
)
from components.export.crack_tflite import (
    NormalizationMismatch,
    evaluate_tflite,
    export,
    strip_quantization,
    verify_normalization,
)
from components.io import sha256_file
from tests.components.export.tiny_models import H, W, mini_unet
from tests.helpers import REPO


def _images(n: int, seed: int, h: int = H, w: int = W) -> np.ndarray:
    """Smooth random RGB images with a dark stroke (structure, not pure noise)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.empty((n, h, w, 3), np.uint8)
    for i in range(n):
        base = 90 + 80 * np.sin(xx / rng.uniform(5, 15) + rng.uniform(0, 6))[..., None] * rng.uniform(0.3, 1, 3)
        noisy = base + rng.normal(0, 12, (h, w, 3))
        stroke = np.abs(yy - (rng.uniform(0.2, 0.8) * h + rng.uniform(-0.5, 0.5) * xx)) < 2
        noisy[stroke] = 25
        out[i] = np.clip(noisy, 0, 255).astype(np.uint8)
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny QAT model with calibrated ranges, exported once for the whole module."""
    keras.utils.set_random_seed(0)
    qat = quantize(mini_unet())
    calib = _images(8, seed=1)
    for _ in range(3):  # training-mode passes move the fake-quant ranges and BN statistics off their defaults
        qat(normalize(calib), training=True)
    out = tmp_path_factory.mktemp("export")
    meta = export(qat, calib[:4], out)
    return qat, out, meta


def _tensor_dtypes(path):
    it = Interpreter(model_path=str(path))
    it.allocate_tensors()
    tensors = it.get_tensor_details()
    weights = [
        tensors[op["inputs"][1]] for op in it._get_ops_details() if op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D")
    ]
    return it, {t["dtype"] for t in tensors}, weights


@pytest.mark.slow
def test_int8_model_is_integer_throughout(exported):
    _, out, _ = exported
    it, dtypes, weights = _tensor_dtypes(out / FILES["int8"])
    assert it.get_input_details()[0]["dtype"] == np.int8 and it.get_output_details()[0]["dtype"] == np.int8
    assert np.float32 not in dtypes, "a float tensor is left in the full-integer model"
    assert dtypes <= {np.int8, np.int32}  # int32 only for biases and resize sizes
    assert weights and all(w["dtype"] == np.int8 for w in weights)


@pytest.mark.slow
def test_dynamic_model_has_int8_weights_and_float_activations(exported):
    _, out, _ = exported
    it, dtypes, weights = _tensor_dtypes(out / FILES["dynamic"])
    assert it.get_input_details()[0]["dtype"] == np.float32 and it.get_output_details()[0]["dtype"] == np.float32
    big = [w for w in weights if np.prod(w["shape"]) >= 1024]  # the converter leaves smaller weights float
    assert big and all(w["dtype"] == np.int8 for w in big)
    assert np.float32 in dtypes


@pytest.mark.slow
def test_runtime_matches_the_qat_keras_model(exported):
    qat, out, _ = exported
    images = _images(4, seed=7)
    want = qat(normalize(images), training=False).numpy()
    want_mask = want[..., 1] > want[..., 0]
    confident = np.abs(want[..., 1] - want[..., 0]) > 0.15
    # int8 runs the integer arithmetic QAT simulates; dynamic range keeps float activations (closer to
    # the float model), so on an untrained net it differs from QAT at near-ties only
    for form, min_agree in (("int8", 0.98), ("dynamic", 0.9)):
        seg = TfliteSegmenter.load(out, form, threads=2)
        got = np.concatenate([b for _, b in seg.iter_logits(images, batch_size=3)])
        assert got.shape == want.shape and got.dtype == np.float32
        agree = (got[..., 1] > got[..., 0]) == want_mask
        assert agree.mean() >= min_agree and agree[confident].mean() >= 0.99, form
        assert np.abs(got - want).max() < 0.2 * np.abs(want).max(), form
        if form == "dynamic":
            dynamic = got
    plain = strip_quantization(qat)
    assert not [layer.name for layer in plain.layers if "quant" in type(layer).__name__.lower()]
    float_logits = plain(normalize(images), training=False).numpy()
    # the dynamic-range model is the stripped float model with int8 weights
    assert np.abs(dynamic - float_logits).max() < 0.25 * np.abs(dynamic - want).max()


@pytest.mark.slow
def test_predict_any_size_and_evaluation(exported):
    _, out, _ = exported
    seg = TfliteSegmenter.load(out, "int8")
    image = _images(1, seed=3, h=150, w=200)[0]
    pred = seg.predict(image)
    assert (
        pred.prob.shape == pred.mask.shape == (150, 200) and pred.prob.dtype == np.float32 and pred.mask.dtype == bool
    )
    assert pred.prob.min() >= 0 and pred.prob.max() <= 1 and pred.masking_rate == pytest.approx(pred.mask.mean())
    at_size = _images(1, seed=4)[0]
    logits = seg.logits(at_size)
    np.testing.assert_array_equal(seg.predict(at_size).mask, logits[..., 1] > logits[..., 0])
    assert seg.predict(image[..., 0]).mask.shape == (150, 200)  # grey accepted
    with pytest.raises(ValueError, match="uint8"):
        seg.predict(image.astype(np.float32))
    images = _images(3, seed=5)
    split = CrackSplit(["a", "b", "c"], images, np.zeros(images.shape[:3], np.uint8))
    result = evaluate_tflite(seg, split)
    assert set(result.metrics) == {"dice", "iou", "precision", "recall"} and result.predictions.shape == (3, H, W)


@pytest.mark.slow
def test_metadata_round_trip(exported):
    _, out, meta = exported
    assert read_meta(out) == json.loads(json.dumps(meta))
    assert meta["schema_version"] == 1 and meta["input_size"] == [W, H] and meta["labels"] == ["background", "crack"]
    for form, name in FILES.items():
        assert meta["files"][form]["file"] == name and meta["files"][form]["sha256"] == sha256_file(out / name)
    verify_normalization(meta)
    seg = TfliteSegmenter.load(out, "dynamic")
    assert seg.input_size == (W, H) and seg.labels == ["background", "crack"]


@pytest.mark.slow
def test_tampered_model_is_refused(exported, tmp_path):
    _, out, _ = exported
    copy_dir = tmp_path / "export"
    shutil.copytree(out, copy_dir)
    path = copy_dir / FILES["int8"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ExportIntegrityError, match=r"crack_int8\.tflite: sha256 mismatch"):
        TfliteSegmenter.load(copy_dir, "int8")
    TfliteSegmenter.load(copy_dir, "dynamic")  # the untouched form still loads
    meta = json.loads((copy_dir / META_FILE).read_text())
    meta["schema_version"] = 99
    (copy_dir / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ExportIntegrityError, match="schema_version"):
        TfliteSegmenter.load(copy_dir, "dynamic")


@pytest.mark.slow
def test_seed_normalization_bug_is_rejected(exported):
    """The seed's metadata said mean = std = 127.5 (pixels in [-1, 1]); training used /255 + ImageNet."""
    _, _, meta = exported
    seed_meta = copy.deepcopy(meta)
    seed_meta["normalization"].update(scale=1.0, mean=[127.5] * 3, std=[127.5] * 3)
    with pytest.raises(NormalizationMismatch, match=r"does not match training.*mean \[127\.5"):
        verify_normalization(seed_meta)
    only_stats = copy.deepcopy(meta)
    only_stats["normalization"]["std"] = [1.0, 1.0, 1.0]
    with pytest.raises(NormalizationMismatch, match="std"):
        verify_normalization(only_stats)
    image = np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)
    assert np.abs(preprocess(image, seed_meta["normalization"]) - normalize(image).numpy()).max() > 0.5


@pytest.mark.slow
def test_metadata_preprocessing_reproduces_training_normalize(exported):
    _, _, meta = exported
    image = np.random.default_rng(1).integers(0, 256, (2, 37, 53, 3), dtype=np.uint8)
    np.testing.assert_array_equal(preprocess(image, meta["normalization"]), normalize(image).numpy())
    every_value = np.arange(256, dtype=np.uint8).reshape(1, 256, 1).repeat(3, axis=2)
    np.testing.assert_array_equal(preprocess(every_value, meta["normalization"]), normalize(every_value).numpy())


def test_runtime_imports_neither_tensorflow_nor_torch():
    code = (
        "import sys, components.export.crack_runtime; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'tf_keras', 'torch', 'keras')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_tiles_cover_the_frame_with_the_stated_overlap():
    from components.crack.tiling import tile_starts, tile_weight

    assert tile_starts(100, 100, 0.25) == [0] and tile_starts(60, 100, 0.25) == [0]
    starts = tile_starts(1920, 384, 0.25)
    assert starts[0] == 0 and starts[-1] == 1920 - 384
    assert all(0 < b - a <= 288 for a, b in zip(starts, starts[1:]))
    w = tile_weight(64, 96)
    assert w.shape == (64, 96) and w.max() == 1.0 and w.min() >= 0.1 and w[32, 48] > w[0, 0]


@pytest.mark.slow
def test_large_frames_are_read_in_tiles_at_full_resolution(exported):
    _, out, _ = exported
    seg = TfliteSegmenter.load(out, "int8")
    tile = _images(1, seed=6)[0]
    big = np.tile(tile, (3, 4, 1))  # 3 x 4 copies of a model-size image
    assert seg.should_tile(big.shape) and not seg.should_tile(tile.shape)
    tiled, shrunk = seg.predict(big), seg.predict(big, tiling="never")
    assert tiled.mask.shape == shrunk.mask.shape == big.shape[:2]
    # tiles aligned with the copies see exactly the model-size image: its own margin comes back there
    own = seg.crack_margin(tile) > 0
    assert (tiled.mask[:H, :W] == own).mean() > 0.9
    assert not np.array_equal(tiled.mask, shrunk.mask)
    with pytest.raises(ValueError, match="tiling"):
        seg.predict(big, tiling="sometimes")


@pytest.mark.slow
def test_evaluation_reads_large_frames_as_the_runtime_does(exported):
    """A split's large frames (``CrackSplit.large``) are scored from the tiled full-resolution read,
    the one ``predict`` serves, brought to model size; the other frames as they are."""
    from components.crack.tiling import margin_at_model_size

    _, out, _ = exported
    seg = TfliteSegmenter.load(out, "int8")
    images = _images(2, seed=8)
    big = np.tile(images[0], (3, 3, 1))
    split = CrackSplit(["big", "small"], images, np.zeros(images.shape[:3], np.uint8), {0: (big, big[..., 0])})
    got = evaluate_tflite(seg, split).predictions
    tiled = margin_at_model_size(seg.tiled_margin(big), seg.input_size)
    np.testing.assert_array_equal(got[0], seg.rules.apply(tiled[..., 1] > 0))
    assert not np.array_equal(got[0], seg.predict(images[0]).mask)  # not the shrunk frame's reading
    np.testing.assert_array_equal(got[1], seg.predict(images[1]).mask)


def test_runtime_drops_small_regions_as_the_metadata_says(exported):
    """``postprocess.min_region_px`` in crack_meta.json: predict and evaluate_tflite drop the same regions,
    and ``prob > 0.5`` stays the mask."""
    from components.crack.postprocess import MaskRules, drop_small_regions

    _, out, meta = exported
    content = (out / FILES["int8"]).read_bytes()
    plain = TfliteSegmenter(content, meta | {"postprocess": {}}, "int8")
    images = _images(4, seed=7)
    raw = [plain.predict(im).mask for im in images]
    sizes = sorted({int(m.sum()) for m in raw if m.any()})
    assert sizes, "the tiny model predicts no crack at all; the test needs some"
    min_px = max(2, sizes[len(sizes) // 2])
    seg = TfliteSegmenter(content, meta | {"postprocess": {"min_region_px": min_px}}, "int8")
    assert seg.rules == MaskRules(min_px) and plain.rules == MaskRules()
    for im, r in zip(images, raw, strict=True):
        pred = seg.predict(im)
        np.testing.assert_array_equal(pred.mask, drop_small_regions(r, min_px))
        np.testing.assert_array_equal(pred.prob > 0.5, pred.mask)
    split = CrackSplit(list("abcd"), images, np.zeros(images.shape[:3], np.uint8))
    np.testing.assert_array_equal(
        evaluate_tflite(seg, split).predictions, np.stack([seg.predict(im).mask for im in images])
    )
    big = TfliteSegmenter(content, meta | {"postprocess": {"min_region_px": W * H + 1}}, "int8")
    assert not any(big.predict(im).mask.any() for im in images)
    large = _images(1, seed=8, h=H * 3, w=W * 3)[0]  # tiles at full resolution: the rule counts those pixels
    huge = TfliteSegmenter(content, meta | {"postprocess": {"min_region_px": large.shape[0] * large.shape[1] + 1}})
    tiled = huge.predict(large, tiling="always")
    assert plain.predict(large, tiling="always").mask.any() and not tiled.mask.any() and (tiled.prob <= 0.5).all()


def test_runtime_drops_straight_lines_as_the_metadata_says(exported):
    """``postprocess.straight_line_min_run`` in crack_meta.json: a joint across the frame in the logit
    margin is pushed below 0.5, a wandering crack beside it is kept; an export without the key keeps both."""
    from components.crack.postprocess import MaskRules
    from components.export.crack_runtime import DROPPED_MARGIN

    _, out, meta = exported
    content = (out / FILES["int8"]).read_bytes()
    seg = TfliteSegmenter(content, meta | {"postprocess": {"straight_line_min_run": 0.5}}, "int8")
    plain = TfliteSegmenter(content, meta | {"postprocess": {}}, "int8")
    assert seg.rules == MaskRules(0, 0.5)
    diff = np.full((H, W), -5.0, np.float32)
    diff[:, W // 2 - 1 : W // 2 + 2] = 5.0  # a joint top to bottom
    crack = np.zeros((H, W), np.uint8)
    pts = np.array([(x, H // 4 + int(6 * np.sin(x / 5))) for x in range(0, W // 3)], np.int32)
    cv2.polylines(crack, [pts], False, 1, 3)
    diff[crack > 0] = 5.0
    cleaned = seg.apply_rules(diff)
    assert (cleaned[:, W // 2] == DROPPED_MARGIN).all() and (cleaned[crack > 0] > 0).all()
    np.testing.assert_array_equal(plain.apply_rules(diff), diff)


def test_served_model_reads_large_frames_as_its_config_says(exported):
    """The registered pyfunc's ``model_config`` ``tiling`` (``mlflow models serve`` users set it at
    load time) reaches the runtime; an unknown value fails at load, naming the choices."""
    import base64

    import pandas as pd
    from mlflow.pyfunc import PythonModelContext

    from components.registry.pyfunc_models import IMAGE_COLUMN, RoadCrackModel

    _, out, _ = exported
    seg = TfliteSegmenter.load(out, "int8")
    big = _images(1, seed=9, h=int(1.5 * H), w=int(1.5 * W))[0]
    ok, png = cv2.imencode(".png", cv2.cvtColor(big, cv2.COLOR_RGB2BGR))
    request = pd.DataFrame({IMAGE_COLUMN: [base64.b64encode(png.tobytes()).decode()]})
    for tiling in ("always", "never"):
        served = RoadCrackModel()
        served.load_context(PythonModelContext({"export_dir": str(out)}, {"tiling": tiling}))
        row = served.predict(None, request).iloc[0]
        assert row.crack_pixels == int(seg.predict(big, tiling=tiling).mask.sum())
    with pytest.raises(ValueError, match="auto, always, never"):
        RoadCrackModel().load_context(PythonModelContext({"export_dir": str(out)}, {"tiling": "sometimes"}))
