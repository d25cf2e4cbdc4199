"""Pipeline cost against dataset size: wall time and peak memory of every DVC stage, in a temporary copy.

    python bench/scaling.py [--quick] [--sizes 16 32 64 128] [--every-size STAGE ...] [--out FILE]

For each size N, a fresh copy of the working tree (a git repository, as the integration tests make
it: ``tests/integration/helpers.py``) gets ``params.yaml`` with N OCR frames and N crack frames and
a tiny schedule (``TINY`` below: 1 epoch per training stage, small calibration and latency loops,
gates open), then every stage runs with ``dvc repro --single-item <stage>`` in DAG order, so each
stage is timed on its own with DVC's hashing and caching included. One Prefect API server is shared
by all stages (as ``flows.pipeline`` does). The models keep their demo architectures (1280x960
frames, width 0.5 detectors, the UNet of params.yaml), so the time per frame is that of the real pipeline;
only epochs and sizes are small. Peak memory is the largest process of each stage (``wait4``).
The repository's own data/, models/, metrics/ and mlruns/ are never touched.

A stage costs its start-up (interpreter, torch/TensorFlow imports, Prefect flow, MLflow run, DVC
hashing: 10-30 s on 2 cores) plus work that grows with the data; some add fixed work (model
conversion, graph building). To fit the full run in minutes, the stages whose work grows with the
frames (``GROWTH``: data generation, validation, both OCR trainings and the evaluation, float crack
training) run at every size, the others once, at the smallest size, for their time and memory.
``--every-size all`` runs every stage at every size (about 10 min per size on 2 cores). Per stage
the table gets a least-squares line ``wall = fixed + per_frame * N`` over the sizes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.common import REPO, finish, load_average, parse_common, python_env, run_child
from components.config import deep_merge, load_params, parse_params
from components.servers import free_port, local_server

SIZES = (16, 32, 64, 128)
QUICK_SIZES = (12, 24)
GROWTH = (
    "prepare_ocr",
    "prepare_crack",
    "validate_ocr",
    "validate_crack",
    "train_roi",
    "train_ocr",
    "evaluate_ocr",
    "train_crack",
)
QUICK_STAGES = ("prepare_ocr", "validate_ocr", "train_roi")
# tiny schedule over the demo params: what grows with N is the per-frame work
TINY = {
    "data": {"workers": 2, "splits": {"train": 0.5, "val": 0.25, "test": 0.25}},  # every split non-empty from 12 frames
    "validation": {"min_split_size": {"train": 1, "val": 1, "test": 1}},
    # stage 2 also trains on ground-truth ROI crops: a 1-epoch stage 1 may find none above the threshold
    "ocr": {
        "roi": {"epochs": 1, "batch_size": 8},
        "char": {"epochs": 1, "batch_size": 8, "gt_roi_crops": True},
        "eval": {"latency_warmup": 1, "latency_runs": 5, "overlays": 2},
    },
    "crack": {"train": {"epochs": 1, "batch_size": 4}, "qat": {"epochs": 1, "batch_size": 4}},
    "export": {
        "ocr": {"calibration_frames": 8, "latency_runs": 5, "latency_warmup": 1},
        "crack": {"representative_images": 8, "latency_runs": 5, "latency_warmup": 1},
    },
}


def stage_order(dvc_yaml: dict) -> list[str]:
    """Stages of a dvc.yaml in an order that runs each after the stages whose outs it depends on
    (file order where the graph leaves a choice)."""
    stages = dvc_yaml["stages"]

    def paths(entries):
        return [next(iter(e)) if isinstance(e, dict) else e for e in entries or []]

    outs = {name: paths(s.get("outs")) + paths(s.get("metrics")) + paths(s.get("plots")) for name, s in stages.items()}
    needs = {}
    for name, s in stages.items():
        deps = paths(s.get("deps"))
        needs[name] = {
            o
            for o, produced in outs.items()
            if o != name and any(d == p or d.startswith(p.rstrip("/") + "/") for d in deps for p in produced)
        }
    order: list[str] = []
    while len(order) < len(stages):
        ready = [n for n in stages if n not in order and needs[n] <= set(order)]
        if not ready:
            raise ValueError(f"dvc.yaml has a cycle among {sorted(set(stages) - set(order))}")
        order.append(ready[0])
    return order


def make_clone(dst: Path, frames: int) -> Path:
    """The working tree (tracked + untracked-not-ignored files) as a fresh git repository with
    ``frames`` OCR and crack frames and the TINY schedule in its params.yaml."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for rel in filter(None, listed):
        src = REPO / rel
        if src.is_file() and not rel.startswith("bench/results/"):
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / rel)
    base = load_params(dst / "params.yaml").model_dump(mode="json")
    merged = deep_merge(base, TINY)
    merged["data"]["ocr"]["num_frames"] = frames
    merged["data"]["crack"]["num_frames"] = frames
    for model in ("ocr", "crack"):  # tiny models never pass the gates: open them (deep_merge keeps dict keys)
        merged["registry"][model].update(minimums={}, maximums={}, max_quantization_drop={})
    parse_params(merged, dst / "params.yaml")  # fails here, naming the key, if TINY no longer fits the schema
    (dst / "params.yaml").write_text(yaml.safe_dump(merged, sort_keys=False))
    for cmd in (
        ["git", "init", "-q"],
        ["git", "config", "user.email", "bench@example.invalid"],
        ["git", "config", "user.name", "bench"],
        ["git", "add", "-A"],
        ["git", "commit", "-qm", f"bench {frames}"],
    ):
        subprocess.run(cmd, cwd=dst, check=True, capture_output=True)
    return dst


def run_size(root: Path, frames: int, stages: list[str], env: dict[str, str], timeout: float) -> dict:
    """A fresh copy with ``frames`` frames; each of ``stages`` (DAG order) by ``dvc repro --single-item``."""
    clone = make_clone(root / f"n{frames}", frames)
    rows = {}
    for stage in stages:
        load = load_average()
        r = run_child(
            [sys.executable, "-m", "dvc", "repro", "--single-item", stage],
            cwd=clone,
            env=env,
            timeout=timeout,
            log=root / f"n{frames}-{stage}.log",
        )
        if r["returncode"] != 0:
            raise RuntimeError(f"stage {stage} at {frames} frames failed ({r['returncode']}):\n{r['output_tail']}")
        rows[stage] = {"wall_s": round(r["wall_s"], 2), "peak_rss_mb": round(r["peak_rss_mb"], 1), "load_average": load}
        print(
            f"  {frames:4d} frames  {stage:<15s} {r['wall_s']:7.1f} s  peak {r['peak_rss_mb']:7.0f} MB  (load {load})",
            flush=True,
        )
    splits = _split_counts(clone)
    return {
        "frames": frames,
        "splits": splits,
        "stages": rows,
        "total_s": round(sum(v["wall_s"] for v in rows.values()), 1),
    }


def _split_counts(clone: Path) -> dict:
    import pandas as pd

    out = {}
    for name in ("ocr", "crack"):
        path = clone / "data" / "manifests" / f"{name}.parquet"
        if path.exists():
            out[name] = {k: int(v) for k, v in pd.read_parquet(path).split.value_counts().items()}
    return out


def linear_fit(per_size: list[dict]) -> dict[str, dict]:
    """Per stage timed at two or more sizes: least-squares ``wall = fixed_s + per_frame_s * N``
    (per_frame_s: the seconds each extra frame of each dataset adds at this schedule), and the slope
    of peak memory (MB per frame)."""
    import numpy as np

    stages = {st for r in per_size for st in r["stages"]}
    out = {}
    for st in sorted(stages):
        pts = [
            (r["frames"], r["stages"][st]["wall_s"], r["stages"][st].get("peak_rss_mb", 0))
            for r in per_size
            if st in r["stages"]
        ]
        if len(pts) < 2:
            continue
        n, w, m = np.array(pts, float).T
        slope, icept = np.polyfit(n, w, 1)
        mem_slope, _ = np.polyfit(n, m, 1)
        out[st] = {
            "fixed_s": round(float(icept), 1),
            "per_frame_s": round(float(slope), 3),
            "peak_mb_per_frame": round(float(mem_slope), 2),
        }
    return out


def main(argv: list[str] | None = None) -> dict:
    def extra(ap):
        ap.add_argument(
            "--sizes", type=int, nargs="+", help=f"frames per dataset (default {SIZES}; quick {QUICK_SIZES})"
        )
        ap.add_argument(
            "--every-size",
            nargs="+",
            metavar="STAGE",
            help=f"stages to time at every size (default {' '.join(GROWTH)}; 'all': every stage; quick: "
            f"{' '.join(QUICK_STAGES)}); the others run once at the smallest size (never in quick mode)",
        )
        ap.add_argument("--keep", action="store_true", help="keep the temporary copies (their path is printed)")
        ap.add_argument("--timeout", type=float, default=1800, help="seconds per stage before it is killed")

    args = parse_common(argv, __doc__.splitlines()[0], extra)
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    order = stage_order(yaml.safe_load((REPO / "dvc.yaml").read_text()))
    every = args.every_size or (QUICK_STAGES if args.quick else GROWTH)
    every = order if list(every) == ["all"] else [s for s in order if s in every]
    unknown = set(args.every_size or ()) - set(order) - {"all"}
    if unknown:
        raise SystemExit(f"unknown stage(s) {sorted(unknown)}; dvc.yaml has {order}")
    stages = order if not args.quick else every  # all stages at the smallest size, `every` at the others
    root = Path(tempfile.mkdtemp(prefix="bench-scaling-"))
    print(f"scaling: sizes {list(sizes)}, {len(stages)} stages, in {root}", flush=True)
    t0 = time.perf_counter()
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    server_env = python_env(PREFECT_HOME=str(root / ".prefect"))
    try:
        with local_server(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            f"{api}/health",
            cwd=root,
            env=server_env,
            log_path=root / "prefect-server.log",
        ):
            env = python_env(PREFECT_API_URL=api, PREFECT_HOME=str(root / ".prefect"))
            sizes = sorted(sizes)
            per_size = [run_size(root, n, stages if i == 0 else every, env, args.timeout) for i, n in enumerate(sizes)]
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    result = {
        "sizes": sorted(sizes),
        "stages": stages,
        "every_size": every,
        "schedule": TINY,
        "runs": per_size,
        "fit": linear_fit(per_size),
        "wall_s": round(time.perf_counter() - t0, 1),
        "threads_note": "each stage uses its own thread settings from params.yaml (ocr.threads 2, TF intra-op = cores)",
    }
    return finish(args, result)


if __name__ == "__main__":
    main()
