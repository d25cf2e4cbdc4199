"""Helpers for the integration tests: a tiny copy of the repository, and servers on free loopback ports."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from components.servers import free_port, local_server  # noqa: F401  (re-exported for the tests)

REPO = Path(__file__).resolve().parents[2]
FRAMES = 12
CRACK_FREE_EXTRA = 2  # crack-free frames the tiny crack test set gets after its FRAMES


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without MLflow/Prefect settings, with this venv first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PREFECT_", "PIPELINE_"))}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


def run(
    cmd: list[str], cwd: Path, check: bool = True, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env or clean_env(), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def make_tiny_clone(dst: Path, frames: int = FRAMES) -> Path:
    """The working tree (tracked + untracked-not-ignored files) as a fresh git repo with tiny datasets."""
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
        if src.is_file():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / rel)
    params = yaml.safe_load((dst / "params.yaml").read_text())
    params["data"]["ocr"]["num_frames"] = frames
    params["data"]["crack"]["num_frames"] = frames
    params["eval_data"]["num_frames"] = frames
    params["eval_data"]["crack"]["test_crack_free"] = CRACK_FREE_EXTRA
    params["validation"]["min_split_size"] = {"train": 1, "val": 0, "test": 0}
    params["ocr"]["threads"] = 0  # torch's default: all cores, or OMP_NUM_THREADS (tests/conftest.py)
    (dst / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for cmd in (
        ["git", "init", "-q"],
        ["git", "config", "user.email", "ci@example.invalid"],
        ["git", "config", "user.name", "ci"],
        ["git", "add", "-A"],
        ["git", "commit", "-qm", "tiny"],
    ):
        run(cmd, dst)
    return dst


@contextmanager
def server(cmd: list[str], health_url: str, cwd: Path, env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """A real server for a test, its log kept in the test's folder (``server-<name>-<port>.log``)."""
    log = cwd / f"server-{cmd[2] if len(cmd) > 2 else Path(cmd[0]).name}-{health_url.split(':')[-1].split('/')[0]}.log"
    with local_server(cmd, health_url, cwd=cwd, env=env, log_path=log) as proc:
        yield proc
