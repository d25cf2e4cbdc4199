"""Batch prediction throughput: one process against N Dask workers, and the projection per added worker.

    python bench/throughput.py [--crack-model DIR] [--crack-images DIR] [--crack-n 1000]
                               [--ocr-model DIR] [--ocr-images DIR] [--ocr-n 500] [--workers 2]
                               [--overlays] [--json FILE] [--tasks crack ocr]

For each task the first N images of the folder (sorted, recursive) go through
``components.predict.runner.run_batch`` twice: in this process, then on a ``LocalCluster`` of
``--workers`` processes (``components.fanout``), with the same results store, so the tables are
checked to be identical. Measured for the Dask run: the cluster's start-up, the wall time, the CPU
time of this (parent) process, which orders the results and writes the tables and is the serial
part, the workers' CPU time (decode, model, rows; each worker's model load included) and their
busy (wall) time from Dask's task stream. Model of the projection (Amdahl with the measured parts,
in CPU seconds, so that it describes N free cores rather than the load of the moment):

    T(N) = S + W / N,   X(N) = n / T(N)

S = parent CPU seconds, W = worker CPU seconds summed over workers, one free core per worker. The
ceiling as N grows is n / S. On a machine whose cores are taken by other work the wall-clock
speed-up is lower than X(N) / X(1): Linux shares the CPU between sessions (autogroups), so the
workers of one run split that run's share instead of adding to it. The crossover with the in-process
path, n* = start-up / (1/X1 - 1/XN) images (CPU-based speeds for free cores), is what
``MIN_FANOUT_IMAGES`` is set from.

Missing models: ``--proxy-crack`` exports the real crack architecture of ``params.yaml`` untrained
(same layers, so the same work per image as a trained model) and ``--proxy-ocr`` the two-stage
OCR at the real sizes, untrained (stage 2 runs on however many ROIs the untrained stage 1 keeps:
the rows per image are printed, so the cost can be compared with a trained model's).
The machine load (1-minute load average before and after) is printed with each result: on a shared
2-core machine the numbers are one draw under that load.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.common import REPO as RUN  # the project root: its exported models and fixed evaluation sets
from components.predict.predictors import PredictorSpec, loaded
from components.predict.runner import run_batch
from components.predict.sources import IMAGE_EXTENSIONS, FolderSource
from components.predict.store import ResultStore


def first_images(folder: Path, n: int, into: Path) -> int:
    """Symlink the first ``n`` images of ``folder`` (sorted, recursive) into ``into``; return how many."""
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)[:n]
    into.mkdir(parents=True)
    for i, p in enumerate(files):
        (into / f"{i:05d}_{p.name}").symlink_to(p.resolve())
    return len(files)


def load1() -> float:
    return round(os.getloadavg()[0], 2)


def measure(kind: str, model: Path, images: Path, n: int, workers: int, overlays: bool, tmp: Path) -> dict:
    from distributed import Client, get_task_stream

    from components.fanout import local_cluster

    folder = tmp / f"{kind}_in"
    n = first_images(images, n, folder)
    spec = PredictorSpec(kind, model.resolve(), str(model), 1)
    out = {
        "kind": kind,
        "model": str(model),
        "images": n,
        "workers": workers,
        "overlays": overlays,
        "load_before": load1(),
    }
    t = time.perf_counter()
    loaded(spec)
    out["model_load_s"] = round(time.perf_counter() - t, 3)

    cpu, t = time.process_time(), time.perf_counter()
    one = run_batch(
        FolderSource.scan(folder), spec, ResultStore(tmp / f"{kind}_one", kind), overlays=overlays, progress=False
    )
    t1, c1 = time.perf_counter() - t, time.process_time() - cpu
    out["one_process"] = {"seconds": round(t1, 2), "images_per_s": round(n / t1, 2), "cpu_s": round(c1, 2)}
    print(
        f"{kind}: 1 process {n} images in {t1:.1f} s = {n / t1:.2f} images/s, CPU {c1:.1f} s (load {load1()})",
        flush=True,
    )

    t = time.perf_counter()
    cluster = local_cluster(workers)
    client = Client(cluster, set_as_default=False)
    client.wait_for_workers(workers)
    start = time.perf_counter() - t
    try:
        workers_cpu = client.run(time.process_time)
        cpu = time.process_time()
        t = time.perf_counter()
        with get_task_stream(client) as stream:
            two = run_batch(
                FolderSource.scan(folder),
                spec,
                ResultStore(tmp / f"{kind}_dask", kind),
                overlays=overlays,
                progress=False,
                client=client,
                min_fanout=0,
            )
        tn = time.perf_counter() - t
        parent_cpu = time.process_time() - cpu
        worker_cpu = sum(v - workers_cpu[k] for k, v in client.run(time.process_time).items())
    finally:
        client.close()
        cluster.close()
    busy = sum(s["stop"] - s["start"] for task in stream.data for s in task["startstops"] if s["action"] == "compute")
    assert one.processed == two.processed == n
    a, b = pd.read_parquet(tmp / f"{kind}_one/results.parquet"), pd.read_parquet(tmp / f"{kind}_dask/results.parquet")
    pd.testing.assert_frame_equal(a, b)
    x1, xn = n / t1, n / tn
    project = {str(k): round(n / (parent_cpu + worker_cpu / k), 2) for k in range(1, 9)}
    crossover = start / (1 / x1 - 1 / xn) if xn > x1 else None
    out["dask"] = {
        "cluster_start_s": round(start, 2),
        "seconds": round(tn, 2),
        "images_per_s": round(xn, 2),
        "images_per_s_with_start": round(n / (tn + start), 2),
        "speedup": round(xn / x1, 3),
        "parent_cpu_s": round(parent_cpu, 2),
        "worker_cpu_s": round(worker_cpu, 2),
        "worker_busy_s": round(busy, 2),
        "shards": len(stream.data),
    }
    out["tables_identical"] = True
    out["rows_per_image"] = round(len(a) / n, 2)
    out["model_fit"] = {
        "serial_s_per_image": round(parent_cpu / n, 5),
        "parallel_s_per_image": round(worker_cpu / n, 5),
        "serial_fraction": round(parent_cpu / (parent_cpu + worker_cpu), 4),
        "projected_images_per_s": project,
        "ceiling_images_per_s": round(n / parent_cpu, 1),
        "crossover_images": None if crossover is None else int(np.ceil(crossover)),
    }
    out["load_after"] = load1()
    print(
        f"{kind}: {workers} Dask workers {n} images in {tn:.1f} s = {xn:.2f} images/s (speedup {xn / x1:.2f}; "
        f"cluster start {start:.1f} s; parent CPU {parent_cpu:.1f} s, worker CPU {worker_cpu:.1f} s, "
        f"busy {busy:.1f} s; "
        f"crossover {out['model_fit']['crossover_images']} images; load {out['load_after']})",
        flush=True,
    )
    print(
        f"{kind}: projected images/s by workers: {project} (ceiling {out['model_fit']['ceiling_images_per_s']})",
        flush=True,
    )
    return out


def proxy_crack(out: Path) -> Path:
    """The crack architecture of params.yaml, untrained, QAT-wrapped and exported to int8 TFLite."""
    import tensorflow as tf

    from components.config import load_params
    from components.crack.data import normalize
    from components.crack.model import from_params
    from components.crack.qat import quantize
    from components.export.crack_tflite import export

    tf.keras.utils.set_random_seed(0)
    qat = quantize(from_params(load_params().crack.model))
    _, h, w, _ = qat.input_shape
    calib = np.random.default_rng(0).integers(0, 255, (8, h, w, 3), np.uint8)
    qat(normalize(calib), training=True)
    export(qat, calib, out, forms=("int8",))
    return out


def proxy_ocr(out: Path, frames_dir: Path) -> Path:
    """The two-stage OCR at the sizes of params.yaml, untrained (BatchNorm statistics settled), exported
    to ONNX int8 with calibration frames from ``frames_dir``."""
    import torch

    from components.config import load_params
    from components.data.ocr_format import CHAR_CLASSES
    from components.export.ocr_onnx import ExportSettings, export_ocr
    from components.io import read_image
    from components.ocr.model import build_ssd, char_spec, roi_spec
    from components.ocr.predict import TwoStageOcr
    from components.ocr.threshold import AUTO
    from flows.ocr_common import STAGE1_THRESHOLDS, reading_thresholds
    from tests.helpers.ocr import _settle_batchnorm

    p = load_params()
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    rs, cs = roi_spec(p.ocr.roi), char_spec(p.ocr.char, CHAR_CLASSES)
    roi, char = build_ssd(rs), build_ssd(cs)
    for m, s, gain in ((roi, rs, 0.3), (char, cs, 3.0)):
        _settle_batchnorm(m, s["size"], gen)
        with torch.no_grad():
            for conv in m.head.classification_head.module_list:
                conv.weight.mul_(gain)
    e = p.ocr.eval
    # an untrained stand-in has no train_roi choice: auto falls back to the usual 0.3 for reporting a ROI
    # and to 0 (every ROI) for the unreadable and invalid rules
    stand_in = {k: 0.3 if k == "roi_score_threshold" else 0.0 for k in STAGE1_THRESHOLDS if getattr(e, k) == AUTO}
    thresholds = reading_thresholds(RUN, e.model_copy(update=stand_in))
    ocr = TwoStageOcr(roi, rs, char, cs, margin=p.ocr.char.crop_margin, **thresholds)
    frames = [read_image(f) for f in sorted(frames_dir.glob("*.jpg"))[:8]]
    export_ocr(
        ocr,
        frames,
        out,
        ExportSettings.from_params(p.export.ocr),
        source={"bench": "untrained proxy"},
        log=lambda *a: None,
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", nargs="+", default=["crack", "ocr"], choices=["crack", "ocr"])
    ap.add_argument("--crack-model", type=Path, default=RUN / "models/export/crack")
    ap.add_argument("--crack-images", type=Path, default=RUN / "data/eval/crack/test")
    ap.add_argument("--crack-n", type=int, default=1000)
    ap.add_argument("--ocr-model", type=Path, default=RUN / "models/export/ocr")
    ap.add_argument("--ocr-images", type=Path, default=RUN / "data/eval/ocr/test")
    ap.add_argument("--ocr-n", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--overlays", action="store_true", help="also write the overlay PNGs (default: tables only)")
    ap.add_argument("--proxy-crack", type=Path, help="export an untrained crack model of the real architecture here")
    ap.add_argument("--proxy-ocr", type=Path, help="export an untrained two-stage OCR at the real sizes here")
    ap.add_argument("--json", type=Path, help="write the results here")
    a = ap.parse_args()
    if a.proxy_crack:
        a.crack_model = a.crack_model if (a.crack_model / "crack_meta.json").exists() else proxy_crack(a.proxy_crack)
    if a.proxy_ocr:
        a.ocr_model = a.ocr_model if (a.ocr_model / "ocr_meta.json").exists() else proxy_ocr(a.proxy_ocr, a.ocr_images)
    results = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cores": os.cpu_count(), "tasks": []}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in a.tasks:
            model, images, n = {
                "crack": (a.crack_model, a.crack_images, a.crack_n),
                "ocr": (a.ocr_model, a.ocr_images, a.ocr_n),
            }[kind]
            results["tasks"].append(measure(kind, model, images, n, a.workers, a.overlays, Path(tmp)))
    if a.json:
        a.json.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
