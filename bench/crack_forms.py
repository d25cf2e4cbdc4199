"""The road-crack segmenter's forms side by side: Keras float, Keras QAT, TFLite dynamic range, TFLite int8.

    python bench/crack_forms.py --threads N [--accuracy] [--quick] [--out FILE]

TensorFlow fixes its thread pools when it starts, so one process measures one thread count
(``bench/run_all.py`` starts one per count); ``--accuracy`` (once is enough: threads do not change
results) adds the test-split metrics, the FLOPs, latency against input size and the classical
baseline (``bench/crack_baseline.py``). Per form:

* accuracy: ``components.crack.evaluate.evaluate`` (Keras) and ``components.export.crack_tflite.evaluate_tflite``
  (TFLite), the evaluate_crack / export_crack code: dice, iou, precision, recall on the test split;
* latency at batch 1: Keras: normalization + model (traced ``tf.function``) + argmax mask;
  TFLite: ``TfliteSegmenter.predict`` (lookup-table normalization and quantization, invoke,
  dequantization, probability, mask), as served; p50 / p95 ms (``components.latency.time_calls``);
* throughput at batch 1, 2, 4, 8, 16 (TFLite: an interpreter with its input resized to the batch)
  and the best of them;
* size on disk: ``float.keras``, ``qat.h5`` (with optimizer-free HDF5 weights and fake-quant ranges),
  the ``.tflite`` flatbuffers;
* FLOPs per frame: multiply-accumulates of every Conv2D / DepthwiseConv2D / Dense layer from its
  kernel and output shapes, x 2 (BatchNorm folds into the convolutions on export; activations,
  bilinear up-sampling and concatenation are not counted), cross-checked with TensorFlow's own
  graph profiler (``tf.compat.v1.profiler``, which also counts the small element-wise ops).
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np

from bench.common import REPO, finish, load_average, parse_common, throughput

FORMS = ("keras_float", "keras_qat", "tflite_dynamic", "tflite_int8")
BATCHES = (1, 2, 4, 8, 16)
SIZES = ((256, 192), (384, 288), (768, 576), (1152, 864))  # (width, height), multiples of 32
FLOAT_MODEL = REPO / "models/crack/float.keras"
QAT_MODEL = REPO / "models/crack/qat.h5"
EXPORT_DIR = REPO / "models/export/crack"
MANIFEST = REPO / "data/manifests/crack.parquet"
DATA = REPO / "data/crack"
MAC_LAYERS = ("Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Dense")


def layer_macs(model) -> int:
    """Multiply-accumulates of one forward pass at batch 1, from layer shapes (wrappers unwrapped)."""
    total = 0
    for layer in model.layers:
        layer = getattr(layer, "layer", layer)  # tfmot QuantizeWrapper -> the wrapped layer
        kind = type(layer).__name__
        if kind not in MAC_LAYERS:
            continue
        out = layer.output_shape
        positions = int(np.prod([d for d in out[1:-1]])) if len(out) > 2 else 1
        if kind == "Conv2D":
            kh, kw, cin, cout = layer.kernel.shape  # cin is per group
            total += positions * kh * kw * cin * cout
        elif kind == "DepthwiseConv2D":
            kh, kw, cin, mult = layer.depthwise_kernel.shape
            total += positions * kh * kw * cin * mult
        elif kind == "SeparableConv2D":
            kh, kw, cin, mult = layer.depthwise_kernel.shape
            total += positions * (kh * kw * cin * mult + cin * mult * layer.pointwise_kernel.shape[-1])
        else:  # Dense
            cin, cout = layer.kernel.shape
            total += positions * cin * cout
    return int(total)


def profiler_flops(model, height: int, width: int) -> int | None:
    """TensorFlow's graph profiler count for the frozen inference graph (None if it fails)."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    try:
        fn = tf.function(lambda x: model(x, training=False)).get_concrete_function(
            tf.TensorSpec([1, height, width, 3], tf.float32)
        )
        frozen = convert_variables_to_constants_v2(fn)
        opts = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
        opts["output"] = "none"
        with tf.Graph().as_default() as g:
            tf.graph_util.import_graph_def(frozen.graph.as_graph_def(), name="")
            return int(tf.compat.v1.profiler.profile(g, options=opts).total_float_ops)
    except Exception as exc:  # noqa: BLE001  (a cross-check only)
        print(f"  TF profiler failed: {exc}", flush=True)
        return None


class KerasForm:
    """A Keras model as the benchmark calls it: uint8 batch in, argmax masks out."""

    def __init__(self, model):
        import tensorflow as tf

        from components.crack.data import normalize

        self.model = model
        self._infer = tf.function(lambda x: tf.argmax(model(normalize(x), training=False), axis=-1))

    def masks(self, batch: np.ndarray) -> np.ndarray:
        return self._infer(batch).numpy()

    def one(self, image: np.ndarray) -> np.ndarray:
        return self.masks(image[None])[0]


class TfliteBatch:
    """The exported model (bytes checked against crack_meta.json) with its input resized to a batch."""

    def __init__(self, segmenter, form: str, threads: int, batch: int):
        from ai_edge_litert.interpreter import Interpreter

        from components.export.crack_runtime import read_meta
        from components.export.integrity import verified_bytes

        entry = read_meta(EXPORT_DIR)["files"][form]
        content = verified_bytes(EXPORT_DIR / entry["file"], entry["sha256"], "crack_meta.json")
        self.seg, self.interp = segmenter, Interpreter(model_content=content, num_threads=threads)
        inp = self.interp.get_input_details()[0]
        self.interp.resize_tensor_input(inp["index"], [batch, *inp["shape"][1:]])
        self.interp.allocate_tensors()
        self.inp, self.out = self.interp.get_input_details()[0], self.interp.get_output_details()[0]

    def masks(self, batch: np.ndarray) -> np.ndarray:
        self.interp.set_tensor(self.inp["index"], np.concatenate([self.seg.input_tensor(im) for im in batch]))
        self.interp.invoke()
        logits = self.interp.get_tensor(self.out["index"])
        return logits[..., 1] > logits[..., 0]  # same argmax after dequantization (positive scale)


def load_forms(threads: int, forms) -> dict:
    import tf_keras as keras

    from components.crack.qat import load_qat
    from components.export.crack_runtime import TfliteSegmenter

    out = {}
    for form in forms:
        if form == "keras_float":
            out[form] = keras.models.load_model(FLOAT_MODEL, compile=False)
        elif form == "keras_qat":
            out[form] = load_qat(QAT_MODEL)
        else:
            out[form] = TfliteSegmenter.load(EXPORT_DIR, form.split("_", 1)[1], threads)
    return out


def model_bytes(form: str) -> int:
    if form == "keras_float":
        return FLOAT_MODEL.stat().st_size
    if form == "keras_qat":
        return QAT_MODEL.stat().st_size
    from components.export.crack_runtime import FILES

    return (EXPORT_DIR / FILES[form.split("_", 1)[1]]).stat().st_size


def input_size_sweep(float_model, qat_int8, threads: int, images: np.ndarray, warmup: int, runs: int) -> list[dict]:
    """The float UNet (same weights, rebuilt at each size) and the int8 TFLite model (input resized)
    on the test images resized to each size."""
    import cv2

    from components.config import load_params
    from components.crack.model import build_unet
    from components.latency import time_calls

    m = load_params(REPO / "params.yaml").crack.model
    rows = []
    for w, h in SIZES:
        model = build_unet((w, h), m.alpha, tuple(m.decoder_filters), m.decoder_convs, m.bottleneck, m.decoder_block)
        model.set_weights(float_model.get_weights())
        resized = np.stack([cv2.resize(im, (w, h), interpolation=cv2.INTER_AREA) for im in images])
        k = KerasForm(model)
        row = {
            "input": f"{w}x{h}",
            "pixels": w * h,
            "flops": 2 * layer_macs(model),
            "keras_float": time_calls(k.one, resized, warmup, runs),
        }
        try:
            tb = (
                TfliteBatch(qat_int8, "int8", threads, 1)
                if (w, h) == (384, 288)
                else _resized_tflite(qat_int8, threads, w, h)
            )
            row["tflite_int8"] = time_calls(lambda im, tb=tb: tb.masks(im[None]), resized, warmup, runs)
        except Exception as exc:  # noqa: BLE001  (a converted graph may pin its spatial size)
            row["tflite_int8"] = None
            row["tflite_int8_note"] = str(exc).splitlines()[0][:200]
        print(
            f"  {row['input']:>9s}: {row['flops'] / 1e9:6.2f} GFLOP, keras float p50 "
            f"{row['keras_float']['latency_ms_p50']:.1f} ms"
            + (
                f", tflite int8 p50 {row['tflite_int8']['latency_ms_p50']:.1f} ms"
                if row["tflite_int8"]
                else f", tflite int8: {row.get('tflite_int8_note')}"
            ),
            flush=True,
        )
        rows.append(row)
    return rows


def _resized_tflite(seg, threads: int, w: int, h: int):
    from ai_edge_litert.interpreter import Interpreter

    from components.export.crack_runtime import read_meta
    from components.export.integrity import verified_bytes

    entry = read_meta(EXPORT_DIR)["files"]["int8"]
    content = verified_bytes(EXPORT_DIR / entry["file"], entry["sha256"], "crack_meta.json")
    tb = TfliteBatch.__new__(TfliteBatch)
    tb.seg, tb.interp = seg, Interpreter(model_content=content, num_threads=threads)
    tb.interp.resize_tensor_input(tb.interp.get_input_details()[0]["index"], [1, h, w, 3], strict=False)
    tb.interp.allocate_tensors()
    tb.inp, tb.out = tb.interp.get_input_details()[0], tb.interp.get_output_details()[0]
    probe = tb.masks(np.zeros((1, h, w, 3), np.uint8))
    if probe.shape[1:] != (h, w):
        raise ValueError(f"output {probe.shape[1:]} for input {h}x{w}: the graph keeps its trained size")
    return tb


def export_is_stale() -> dict:
    """Whether the .tflite files were converted from the qat.h5 now on disk (crack_meta.json records its sha256)."""
    from components.export.crack_runtime import read_meta
    from components.io import sha256_file

    src = read_meta(EXPORT_DIR).get("source", {})
    now = sha256_file(QAT_MODEL)
    return {
        "export_source_sha256": src.get("sha256"),
        "qat_h5_sha256": now,
        "stale": bool(src.get("sha256")) and src.get("sha256") != now,
    }


def main(argv: list[str] | None = None) -> dict:
    def extra(ap):
        ap.add_argument("--threads", type=int, required=True, help="TensorFlow intra-op and LiteRT threads")
        ap.add_argument("--accuracy", action="store_true", help="also metrics, FLOPs, input sizes, classical baseline")
        ap.add_argument("--forms", nargs="+", default=list(FORMS), choices=FORMS)

    args = parse_common(argv, __doc__.splitlines()[0], extra)
    from components.crack.train import setup_tf

    setup_tf(0, args.threads)  # before any TensorFlow op runs
    from components.config import load_params
    from components.crack.data import load_split
    from components.crack.evaluate import evaluate
    from components.export.crack_tflite import evaluate_tflite
    from components.latency import time_calls

    q = args.quick
    warmup, runs, tp_seconds = (2, 8, 0.5) if q else (5, 50, 2.0)
    params = load_params(REPO / "params.yaml")
    size = tuple(params.crack.model.input_size)
    test = load_split(
        MANIFEST, DATA, "test", size, params.data.crack.line_thickness, params.data.max_pixels, limit=12 if q else None
    )
    lat_images = test.images[:16]
    print(f"crack forms: {len(test)} test images, {args.threads} thread(s), load {load_average()}", flush=True)
    forms = load_forms(args.threads, args.forms)
    result = {
        "threads": args.threads,
        "test_images": len(test),
        "warmup": warmup,
        "runs": runs,
        "throughput_seconds_per_batch_size": tp_seconds,
        "batches": list(BATCHES),
        "export": export_is_stale(),
        "forms": {},
    }
    for form, obj in forms.items():
        row: dict = {"model_bytes": model_bytes(form)}
        is_keras = form.startswith("keras")
        runner = KerasForm(obj) if is_keras else None
        if args.accuracy:
            t0 = time.perf_counter()
            ev = evaluate(obj, test, params.crack.eval.batch_size) if is_keras else evaluate_tflite(obj, test)
            row.update(ev.metrics)
            row["eval_s"] = time.perf_counter() - t0
        load = load_average()
        t = str(args.threads)
        one = runner.one if is_keras else obj.predict
        row["latency"] = {t: {**time_calls(one, lat_images, warmup, runs), "load_average": load}}
        if is_keras:
            batches = {
                b: [lat_images[i : i + b] for i in range(0, len(lat_images) - b + 1, b)]
                for b in BATCHES
                if b <= len(lat_images)
            }
            row["throughput"] = {t: throughput(runner.masks, batches, tp_seconds)}
        else:
            by = {}
            for b in (b for b in BATCHES if b <= len(lat_images)):
                tb = TfliteBatch(obj, form.split("_", 1)[1], args.threads, b)
                by[b] = throughput(
                    tb.masks, {b: [lat_images[i : i + b] for i in range(0, len(lat_images) - b + 1, b)]}, tp_seconds
                )["images_per_s"]
            best = max(by, key=by.get)
            row["throughput"] = {
                t: {"by_batch": {str(k): v for k, v in by.items()}, "best_batch": best, "images_per_s": by[best]}
            }
        lat, tp = row["latency"][t], row["throughput"][t]
        print(
            f"  {form:<15s} p50 {lat['latency_ms_p50']:6.1f} ms, p95 {lat['latency_ms_p95']:6.1f} ms, best "
            f"{tp['images_per_s']:6.1f} img/s at batch {tp['best_batch']}"
            + (f", dice {row['dice']:.4f}" if "dice" in row else "")
            + f", {row['model_bytes'] / 1e3:.0f} kB (load {load})",
            flush=True,
        )
        result["forms"][form] = row
    if args.accuracy:
        float_model = forms.get("keras_float") or load_forms(args.threads, ["keras_float"])["keras_float"]
        h, w = size[1], size[0]
        result["flops"] = {
            "flops_per_frame": 2 * layer_macs(float_model),
            "tf_profiler_flops": profiler_flops(float_model, h, w),
            "params": int(float_model.count_params()),
            "input": f"{w}x{h}",
        }
        int8 = forms.get("tflite_int8") or load_forms(args.threads, ["tflite_int8"])["tflite_int8"]
        result["input_size"] = input_size_sweep(
            float_model, int8, args.threads, test.images[: 4 if q else 8], warmup, max(5, runs // 2)
        )
        import crack_baseline

        val = load_split(
            MANIFEST,
            DATA,
            "val",
            size,
            params.data.crack.line_thickness,
            params.data.max_pixels,
            limit=12 if q else None,
        )
        result["baseline"] = crack_baseline.run(val, test, q)
        b = result["baseline"]
        print(f"  black-hat + Otsu {b['settings']}: dice {b['dice']:.4f}, {b['latency_ms_p50']:.1f} ms/img", flush=True)
    result["load_average_end"] = load_average()
    return finish(args, result)


if __name__ == "__main__":
    main()
