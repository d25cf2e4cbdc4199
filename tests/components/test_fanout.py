"""components.fanout on a real 2-worker LocalCluster (worker processes, not threads)."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from components.fanout import lazy_client, map_ordered
from tests.helpers.fanout import on_cluster


def _square(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def _fail_on_7(x: int) -> int:
    if x == 7:
        raise ValueError(f"job {x} is bad")
    return x


def _tasks_left(dask_scheduler) -> int:
    """Tasks still to run or running (an erred one stays known while its exception is referenced)."""
    return sum(1 for t in dask_scheduler.tasks.values() if t.state in ("waiting", "queued", "processing", "no-worker"))


def _worker_state() -> tuple[bool, int]:
    import cv2

    return signal.getsignal(signal.SIGINT) == signal.SIG_IGN, cv2.getNumThreads()


def test_results_in_order_on_the_cluster_from_a_lazy_iterable(dask_client):
    serial = [r for r, _ in map_ordered(_square, range(50), 1, progress=False)]
    parallel, batches = on_cluster(
        dask_client,
        lambda: list(
            map_ordered(_square, (x for x in range(50)), client=dask_client, count=50, batch=3, progress=False)
        ),
    )
    assert serial == [r for r, _ in parallel] == [x * x for x in range(50)]
    pids = {pid for _, pid in parallel}
    assert os.getpid() not in pids and len(pids) == 2, "both worker processes did part of the work"
    assert len(batches) == 17  # 50 jobs in batches of 3


def test_small_inputs_stay_in_this_process_without_starting_a_cluster():
    asked = []

    def client():
        asked.append(1)
        raise AssertionError("no cluster for 5 jobs")

    out = list(map_ordered(_square, range(5), 2, client=client, min_jobs=6, progress=False))
    assert [r for r, _ in out] == [0, 1, 4, 9, 16] and {p for _, p in out} == {os.getpid()} and not asked
    with lazy_client(1) as get:
        assert get is None  # one worker, no scheduler: no cluster at all


def test_a_failing_job_raises_its_own_error_and_early_close_cancels(dask_client):
    with pytest.raises(ValueError, match="job 7 is bad"):
        list(map_ordered(_fail_on_7, range(20), client=dask_client, batch=2, progress=False))
    it = map_ordered(_square, range(200), client=dask_client, batch=1, progress=False)
    assert next(it)[0] == 0
    it.close()  # the queued batches are cancelled, not left running
    deadline = time.monotonic() + 30
    while dask_client.run_on_scheduler(_tasks_left) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert dask_client.run_on_scheduler(_tasks_left) == 0


def test_workers_are_single_threaded_and_leave_ctrl_c_to_the_parent(dask_client):
    states = dask_client.run(_worker_state)
    assert len(states) == 2 and all(s == (True, 1) for s in states.values())


def _page_faults_of_frame_temporaries() -> tuple[str | None, int]:
    """Make and drop 20 frame-sized (14 MB) arrays, as a generator does: minor page faults after the first."""
    import resource

    import numpy as np

    np.ones((960, 1280, 3), np.float32).sum()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        np.ones((960, 1280, 3), np.float32).sum()
    return os.environ.get("MALLOC_TRIM_THRESHOLD_"), resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_workers_reuse_freed_memory_instead_of_faulting_it_in_again(dask_client):
    """Dask's default (MALLOC_TRIM_THRESHOLD_=65536) maps every large temporary afresh: about 10,700 page
    faults here (numpy asks for huge pages), none with ``WORKER_MALLOC_ENV``, which keeps freed heap."""
    from components.fanout import WORKER_MALLOC_ENV

    pages_touched = 20 * 960 * 1280 * 3 * 4 // 4096
    for trim, faults in dask_client.run(_page_faults_of_frame_temporaries).values():
        assert trim == str(WORKER_MALLOC_ENV["MALLOC_TRIM_THRESHOLD_"])
        assert faults < pages_touched / 20, f"{faults} page faults for {pages_touched} pages of temporaries"


def test_unguarded_script_does_not_rerun_in_the_workers(tmp_path):
    """Workers are spawned: without care each would import the script again (and start clusters forever)."""
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent("""
        from components.fanout import map_ordered
        print("MAIN RAN")
        print(sum(map_ordered(abs, range(-20, 0), 2, progress=False)))
    """)
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=240, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("MAIN RAN") == 1 and out.stdout.strip().endswith(str(sum(range(1, 21))))
