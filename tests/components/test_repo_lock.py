"""Two pipeline runs at once: the second waits for the repository lock, or gives up with a clear message."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from components.repo_lock import PipelineBusy, repository_lock

HOLDER = textwrap.dedent("""
    import time
    from components.repo_lock import repository_lock
    with repository_lock(timeout_s=5):
        print("locked", flush=True)
        time.sleep({hold})
""")


def _hold(tmp_path, hold_s: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER.format(hold=hold_s)], cwd=tmp_path, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_run_gives_up_with_clear_message(tmp_path):
    holder = _hold(tmp_path, 30)
    try:
        busy = pytest.raises(PipelineBusy, match=r"another pipeline run \(pid \d+ .*\) holds .*pipeline.lock")
        with busy, repository_lock(timeout_s=1, poll_s=0.2, root=tmp_path):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_second_run_waits_then_proceeds(tmp_path, capsys):
    holder = _hold(tmp_path, 2)
    start = time.monotonic()
    with repository_lock(timeout_s=30, poll_s=0.2, root=tmp_path):
        waited = time.monotonic() - start
    holder.wait()
    assert waited > 0.5 and holder.returncode == 0
    assert "waiting for another pipeline run" in capsys.readouterr().err


def test_lock_is_released_when_the_holder_dies(tmp_path):
    holder = _hold(tmp_path, 60)
    holder.kill()  # SIGKILL: the kernel drops the flock with the process
    holder.wait()
    with repository_lock(timeout_s=2, poll_s=0.2, root=tmp_path):
        pass
