"""Local server processes (Prefect API, MLflow tracking) started for a while on a free loopback port.

Used by ``flows.pipeline`` (one Prefect server shared by all stages of a run) and by the
integration tests (real servers, never fakes). The log goes to a file so a failure can show it.
``announce`` / ``announced`` let another command in the same checkout find such a server (a
second Prefect server on the same SQLite database cannot start while the first one writes to it).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from components.io import atomic_write_text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def local_server(
    cmd: list[str],
    health_url: str,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
    timeout_s: float = 120,
) -> Iterator[subprocess.Popen]:
    """Start ``cmd``, wait until ``health_url`` answers, and terminate it on exit.

    Raises RuntimeError with the tail of the server's log if it exits or stays silent too long.
    """
    log_path = log_path or Path(tempfile.mkstemp(prefix="server-", suffix=".log")[1])
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    with urllib.request.urlopen(health_url, timeout=2):
                        break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        why = (
                            f"exited with {proc.returncode}"
                            if proc.poll() is not None
                            else f"silent for {timeout_s:.0f} s"
                        )
                        raise RuntimeError(
                            f"{' '.join(cmd[:4])} ... {why}; log {log_path}:\n{log_path.read_text()[-3000:]}"
                        ) from None
                    time.sleep(0.5)
            yield proc
        finally:
            stop(proc)


def stop(proc: subprocess.Popen, timeout_s: float = 30) -> None:
    """Ask ``proc`` to exit (SIGTERM), and kill it if it has not within ``timeout_s``."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def announce(path: Path, url: str) -> Iterator[None]:
    """Write ``{"url", "pid"}`` to ``path`` for the duration, so that ``announced(path)`` finds the
    server; the file is removed on exit if it is still this process's."""
    path = Path(path)
    atomic_write_text(path, json.dumps({"url": url, "pid": os.getpid()}) + "\n")
    try:
        yield
    finally:
        try:
            if json.loads(path.read_text()).get("pid") == os.getpid():
                path.unlink()
        except (OSError, ValueError):
            pass


def announced(path: Path, health: str = "/health") -> str | None:
    """The URL written by a live ``announce`` at ``path`` whose ``url + health`` answers; None when
    there is none (no file, its process gone after a SIGKILL, the server not answering)."""
    try:
        info = json.loads(Path(path).read_text())
        url, pid = str(info["url"]), int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, another user's
        pass
    try:
        with urllib.request.urlopen(url + health, timeout=5):
            return url
    except (OSError, ValueError):
        return None
