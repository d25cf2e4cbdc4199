"""Shared helpers of the benchmark scripts: machine description, child processes with peak memory,
JSON output, markdown tables and the generated section of docs/benchmarks.md between markers.

Framework-free (no torch, no TensorFlow): every script imports it. The OCR scripts (torch, ONNX
Runtime) and the crack scripts (TensorFlow, LiteRT) run in separate processes, so that each one's
peak memory and thread count are its own, which ``bench/run_all.py`` starts and merges.

Run a script as ``python -m bench.<name>`` or ``python bench/<name>.py``: the project is installed
(editable) into the environment, so ``bench``, ``components`` and ``flows`` import from anywhere.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

RESULTS_DIR = REPO / "bench" / "results"
README_BEGIN = "<!-- bench:begin -->"
README_END = "<!-- bench:end -->"
PACKAGES = (
    "torch",
    "torchvision",
    "onnxruntime",
    "tensorflow",
    "tf-keras",
    "tensorflow-model-optimization",
    "ai-edge-litert",
    "numpy",
    "opencv-python-headless",
    "dvc",
    "prefect",
    "mlflow",
)


# -------------------------------------------------------------------------------- the machine ---


def cpu_model() -> str:
    """``model name`` from /proc/cpuinfo (what the VM exposes), plus the widest SIMD it reports."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    name = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")), "unknown")
    flags = next((ln.split(":", 1)[1].split() for ln in info.splitlines() if ln.startswith("flags")), [])
    simd = next((s for s in ("avx512f", "avx2", "avx", "sse4_2") if s in flags), "")
    extras = [f for f in ("avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile") if f in flags]
    mhz = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("cpu MHz")), "")
    clock = f" at {float(mhz) / 1000:.2f} GHz (reported)" if mhz else ""
    return name + clock + (f" ({', '.join([simd, *extras])})" if simd else "")


def memory_gb() -> float:
    try:
        for ln in Path("/proc/meminfo").read_text().splitlines():
            if ln.startswith("MemTotal:"):
                return round(int(ln.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return float("nan")


def versions(packages: Sequence[str] = PACKAGES) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for p in packages:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            continue
    tess = shutil.which("tesseract")
    if tess:
        first = subprocess.run([tess, "--version"], capture_output=True, text=True, check=False).stdout.splitlines()
        out["tesseract"] = first[0].split()[-1] if first else "?"
    return out


def gpu_info() -> dict:
    """Whether this machine has a CUDA GPU (``nvidia-smi``); the suite measures CPU forms only."""
    smi = shutil.which("nvidia-smi")
    if smi:
        r = subprocess.run(
            [smi, "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, check=False
        )
        names = [n.strip() for n in r.stdout.splitlines() if n.strip()]
        if r.returncode == 0 and names:
            return {
                "available": True,
                "names": names,
                "note": "a GPU is present, but this suite measures the CPU deployable forms only",
            }
    return {"available": False, "names": [], "note": "no GPU on this machine: GPU measurements skipped"}


def machine(mode: str) -> dict:
    cores = os.cpu_count() or 1
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return {
        "cpu": cpu_model(),
        "cores": cores,
        "usable_cores": usable,
        "memory_gb": memory_gb(),
        "os": f"{platform.system()} {platform.release()}",
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "mode": mode,
        "load_average_start": round(os.getloadavg()[0], 2),
        "versions": versions(),
        "gpu": gpu_info(),
    }


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


# ---------------------------------------------------------------------------- child processes ---


def run_child(
    cmd: Sequence[str],
    *,
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    log: Path | None = None,
    echo: bool = False,
) -> dict:
    """Run ``cmd`` and measure it: wall seconds and the peak resident memory of the largest process
    in its tree (``wait4``'s ``ru_maxrss``: the child's own, or its largest waited-for descendant's),
    in MB. Output goes to ``log`` (a temporary file if None) and, with ``echo``, line by line to
    stdout as well; the result keeps its last 4000 characters. ``timeout`` (seconds) kills the
    child's process group."""
    import tempfile
    import threading

    own_log = log is None
    log = Path(tempfile.mkstemp(prefix="bench-", suffix=".log")[1]) if own_log else Path(log)
    t0 = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            text=True,
            errors="replace",
            bufsize=1,
        )

        def pump():  # copy the child's output as it comes (a full pipe would block the child)
            assert proc.stdout is not None
            for line in proc.stdout:
                out.write(line)
                out.flush()
                if echo:
                    print(line, end="", flush=True)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            while True:
                got, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if got:
                    break
                if timeout is not None and time.perf_counter() - t0 > timeout:
                    raise subprocess.TimeoutExpired(list(cmd), timeout)
                time.sleep(0.05)
        except BaseException:
            os.killpg(proc.pid, 15)
            proc.wait()
            raise
        finally:
            reader.join(timeout=10)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text(errors="replace")
    if own_log:
        log.unlink(missing_ok=True)
    return {
        "cmd": " ".join(str(c) for c in cmd),
        "returncode": proc.returncode,
        "wall_s": wall,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "output_tail": text[-4000:],
    }


def python_env(**extra: str) -> dict[str, str]:
    """This environment without MLflow/Prefect/pipeline settings (a benchmark never logs into the
    user's tracking server), with this interpreter's folder first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PREFECT_", "PIPELINE_"))}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


# ------------------------------------------------------------------------------------- output ---


def write_json(path: str | Path, obj) -> None:
    from components.io import atomic_write_text

    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_jsonable) + "\n")


def _jsonable(v):
    if hasattr(v, "item"):
        return v.item()
    if hasattr(v, "tolist"):
        return v.tolist()
    return str(v)


def fmt(v, digits: int = 3) -> str:
    """A table cell: '-' for missing/NaN, thousands without decimals, else ``digits`` significant."""
    if v is None or v == "":
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if math.isnan(v):
            return "-"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        if v == 0:
            return "0"
        return f"{v:.{digits}g}" if abs(v) < 10**digits else f"{v:.0f}"
    return str(v)


def md_table(headers: Sequence[str], rows: Sequence[Sequence], digits: int = 3) -> str:
    """A GitHub markdown table; numbers through ``fmt``, ``|`` in cells escaped."""

    def cell(v):
        return fmt(v, digits).replace("|", "\\|") if not isinstance(v, str) else v.replace("|", "\\|")

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def replace_between_markers(
    text: str, body: str, begin: str = README_BEGIN, end: str = README_END, heading: str = "## Results"
) -> str:
    """``text`` with everything between the markers replaced by ``body``; without markers, a new
    ``heading`` section holding them is appended at the end."""
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    block = f"{begin}\n{body.strip()}\n{end}"
    if pattern.search(text):
        return pattern.sub(lambda _: block, text, count=1)
    return text.rstrip("\n") + f"\n\n{heading}\n\n{block}\n"


def throughput(call, batches: dict[int, list], min_seconds: float, warmup: int = 1) -> dict:
    """Images/s of ``call(batch)`` at each batch size (``batches``: size -> list of batches of that
    size, reused in a cycle), each timed for at least ``min_seconds`` after ``warmup`` calls; the
    best size and its rate."""
    by = {}
    for size, items in batches.items():
        for i in range(warmup):
            call(items[i % len(items)])
        n, t0, k = 0, time.perf_counter(), 0
        while True:
            call(items[k % len(items)])
            k += 1
            n += size
            dt = time.perf_counter() - t0
            if dt >= min_seconds and k >= 2:
                break
        by[size] = n / dt
    best = max(by, key=by.get)
    return {"by_batch": {str(k): v for k, v in by.items()}, "best_batch": best, "images_per_s": by[best]}


def parse_common(argv, description: str, extra=None):
    """The arguments every bench script takes: ``--quick`` and ``--out`` (JSON file)."""
    import argparse

    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--quick", action="store_true", help="few frames and iterations: checks that it works")
    ap.add_argument("--out", type=Path, help="write the results here as JSON")
    if extra:
        extra(ap)
    return ap.parse_args(argv)


def finish(args, result: dict) -> dict:
    if args.out:
        write_json(args.out, result)
        print(f"wrote {args.out}")
    return result
