"""The whole benchmark suite in one run: every part side by side, one JSON, one markdown report.

    python bench/run_all.py [--quick] [--update-docs] [--only PART ...] [--skip PART ...]
                            [--scaling-sizes N ...]

Parts (each a plain script that also runs alone and prints its numbers):

    peak       bench/peak.py           GEMM microbenchmark: this CPU's fp32/int8 peak at 1 and 2 threads
    ocr        bench/ocr_forms.py      OCR PyTorch fp32 / ONNX fp32 / ONNX int8: accuracy, latency, throughput, size,
    FLOPs
    tesseract  bench/ocr_tesseract.py  Tesseract 5 (--psm 7) vs our stage 2 on the same ROI crops
    ssdlite    bench/ssdlite_peer.py   torchvision SSDLite320 trained on the same ROI data vs our stage 1
    crack      bench/crack_forms.py    crack Keras float / QAT / TFLite dynamic / TFLite int8 (+ classical baseline),
                                       one process per thread count (TensorFlow fixes its threads at start)
    scaling    bench/scaling.py        pipeline stage wall time and peak memory vs dataset size (temporary copies)

PyTorch and TensorFlow never share a process (each part's peak memory and threads are its own), so each
part runs as a child process (its wall time and peak memory are recorded too) and writes JSON that
this script merges into ``bench/results/results.json``, then renders ``bench/results/RESULTS.md``
and ``scaling.png`` (``bench/report.py``). ``--update-docs`` also rewrites the generated
block of ``docs/benchmarks.md`` between its markers. Parts not run this time keep their previous results from
results.json (``--only``/``--skip``), so one part can be re-measured without the rest; the header
lists what failed. ``--quick`` (a few frames and iterations, two small dataset sizes) checks that
everything works in about 8 minutes on 2 cores. The full run took 49 minutes on 2 shared cores (load
1-7): scaling 25 (a whole tiny pipeline at 16 frames, 11 of them, then the data-dependent stages at
32, 64 and 128 frames), SSDLite training 5, the crack forms 4, the OCR forms 2; ``--skip scaling``
gives the rest in about 13.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from bench.common import (
    REPO,
    RESULTS_DIR,
    load_average,
    machine,
    python_env,
    run_child,
    write_json,
)
from bench.report import write_report

BENCH = REPO / "bench"
PARTS = ("peak", "ocr", "tesseract", "ssdlite", "crack", "scaling")
THREADS = (1, 2)


def commands(quick: bool, tmp: Path, scaling_sizes: list[int] | None = None) -> list[tuple[str, str, list[str]]]:
    """(part, result key, command) in run order: the short CPU-bound parts first, scaling last.
    ``scaling_sizes`` replaces scaling.py's default dataset sizes (larger sizes show the per-frame
    cost that the small defaults hide under each stage's start-up, at more minutes per size)."""
    q = ["--quick"] if quick else []
    py = sys.executable
    cmds = [
        ("peak", "peak", [py, str(BENCH / "peak.py"), *q]),
        ("ocr", "ocr_forms", [py, str(BENCH / "ocr_forms.py"), *q]),
        ("tesseract", "tesseract", [py, str(BENCH / "ocr_tesseract.py"), *q]),
        ("ssdlite", "ssdlite", [py, str(BENCH / "ssdlite_peer.py"), *q]),
    ]
    for t in THREADS:
        extra = ["--accuracy"] if t == THREADS[0] else []
        cmds.append(("crack", f"crack_{t}t", [py, str(BENCH / "crack_forms.py"), "--threads", str(t), *extra, *q]))
    sizes = ["--sizes", *map(str, scaling_sizes)] if scaling_sizes else []
    cmds.append(("scaling", "scaling", [py, str(BENCH / "scaling.py"), *q, *sizes]))
    return [(part, key, [*cmd, "--out", str(tmp / f"{key}.json")]) for part, key, cmd in cmds]


def merge_crack(parts: dict[str, dict]) -> dict:
    """The per-thread-count crack results (``crack_1t``, ``crack_2t``, ...) as one: accuracy, FLOPs,
    sizes and the baseline from the process that measured them, latency and throughput keyed by
    thread count from each process."""
    ordered = [parts[k] for k in sorted(parts, key=lambda k: int(k.split("_")[1].rstrip("t")))]
    base = next((p for p in ordered if "baseline" in p or "flops" in p), ordered[0])
    out = {k: v for k, v in base.items() if k not in ("forms", "threads", "load_average_end")}
    out["threads"] = [p["threads"] for p in ordered]
    out["forms"] = {}
    for p in ordered:
        for form, row in p["forms"].items():
            dst = out["forms"].setdefault(form, {})
            for k, v in row.items():
                if k in ("latency", "throughput"):
                    dst.setdefault(k, {}).update(v)
                elif k not in dst or p is base:
                    dst[k] = v
    return out


def carried_over(previous: dict) -> dict:
    """The previous results without their run's metadata; each part kept from then keeps the CPU it
    was measured on (a part recorded before steps named their CPU was measured at the latest in
    that run, so it gets that run's CPU)."""
    results = {k: v for k, v in previous.items() if k != "meta"}
    results.setdefault("steps", {})
    for step in results["steps"].values():
        step.setdefault("cpu", previous.get("meta", {}).get("cpu", "unknown"))
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 2)[1],
    )
    ap.add_argument("--quick", action="store_true", help="few frames/iterations, small sizes: checks that it works")
    ap.add_argument(
        "--update-docs",
        "--update-readme",
        dest="update_docs",
        action="store_true",
        help="rewrite the generated block of docs/benchmarks.md from the results",
    )
    ap.add_argument(
        "--only", nargs="+", choices=PARTS, help="run only these parts (others keep their previous results)"
    )
    ap.add_argument("--skip", nargs="+", choices=PARTS, default=[], help="do not run these parts")
    ap.add_argument(
        "--scaling-sizes",
        type=int,
        nargs="+",
        metavar="N",
        help="frames per dataset for the scaling part (default: bench/scaling.py's SIZES)",
    )
    ap.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    args = ap.parse_args(argv)
    selected = [p for p in (args.only or PARTS) if p not in args.skip]
    mode = "quick" if args.quick else "full"
    out_json = args.out_dir / "results.json"
    previous = json.loads(out_json.read_text()) if out_json.exists() else {}
    if previous.get("meta", {}).get("mode") not in (None, mode) and set(selected) != set(PARTS):
        print(f"note: {out_json} holds a {previous['meta']['mode']} run; parts not rerun now come from it", flush=True)
    results = carried_over(previous)
    results["meta"] = machine(mode)
    t0 = time.perf_counter()
    ran = []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        tmp = Path(tmp)
        for part, key, cmd in commands(args.quick, tmp, args.scaling_sizes):
            if part not in selected:
                continue
            print(
                f"\n=== {key}: {' '.join(Path(c).name if c.endswith('.py') else c for c in cmd[1:-2])} "
                f"(load {load_average()})",
                flush=True,
            )
            load = load_average()
            r = run_child(cmd, cwd=REPO, env=python_env(), log=tmp / f"{key}.log", echo=True)
            step = {
                "wall_s": round(r["wall_s"], 1),
                "peak_rss_mb": round(r["peak_rss_mb"], 1),
                "returncode": r["returncode"],
                "run": results["meta"]["date"],
                "cpu": results["meta"]["cpu"],
                "load_start": load,
                "load_end": load_average(),
            }
            out = tmp / f"{key}.json"
            if r["returncode"] == 0 and out.exists():
                results[key] = json.loads(out.read_text())
            else:
                step["error"] = (r["output_tail"].strip().splitlines() or ["no output"])[-1][:300]
                print(f"!!! {key} failed ({r['returncode']}): {step['error']}", flush=True)
            results["steps"][key] = step
            ran.append(key)
    crack = {k: results[k] for k in results if k.startswith("crack_") and k.endswith("t") and k[6:-1].isdigit()}
    if crack:
        results["crack_forms"] = merge_crack(crack)
        for k in crack:
            del results[k]
    results["meta"]["load_average_end"] = load_average()
    results["meta"]["suite_wall_s"] = round(time.perf_counter() - t0, 1)
    write_json(out_json, results)
    report = write_report(results, args.out_dir, args.update_docs)
    print(
        f"\nwrote {out_json}, {report}"
        + (", docs/benchmarks.md" if args.update_docs else "")
        + f" in {results['meta']['suite_wall_s'] / 60:.1f} min",
        flush=True,
    )
    print(report.read_text())
    return 1 if any(results["steps"][k].get("returncode") for k in ran) else 0


if __name__ == "__main__":
    sys.exit(main())
