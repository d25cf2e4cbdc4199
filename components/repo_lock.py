"""One pipeline run at a time per repository.

DVC refuses a second ``dvc repro`` while one runs, and two runs writing the same MLflow SQLite store
and outputs would race anyway. The pipeline takes this lock first: a second run waits (printing
who holds it) and fails with a clear message after a timeout. It is an OS file lock (flock), so a
killed run releases it with its process.
"""

from __future__ import annotations

import fcntl
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = Path(".dvc/tmp/pipeline.lock")


class PipelineBusy(RuntimeError):
    """Another pipeline run holds the repository lock for longer than the timeout."""


@contextmanager
def repository_lock(timeout_s: float, poll_s: float = 2.0, root: str | Path = ".") -> Iterator[None]:
    """Exclusive lock on the repository at ``root`` for one pipeline run; waits up to ``timeout_s``."""
    lock_file = Path(root) / LOCK_FILE
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+") as fh:
        deadline = time.monotonic() + timeout_s
        announced = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip() or "unknown"
                if time.monotonic() > deadline:
                    raise PipelineBusy(
                        f"another pipeline run ({holder}) holds {lock_file}; gave up after {timeout_s:.0f} s"
                    ) from None
                if not announced:
                    print(f"waiting for another pipeline run ({holder}) to finish ...", file=sys.stderr, flush=True)
                    announced = True
                time.sleep(poll_s)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        fh.flush()
        try:
            yield
        finally:
            fh.truncate(0)
            fcntl.flock(fh, fcntl.LOCK_UN)
