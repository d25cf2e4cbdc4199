"""The flow tests run their flows against a real, temporary Prefect API server (one per module)."""

from __future__ import annotations

import warnings

import pytest
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.testing.utilities import prefect_test_harness

DRAIN_TIMEOUT_S = 10


def drain_prefect_workers(timeout: float = DRAIN_TIMEOUT_S) -> int:
    """Send the logs and events still queued in this process, waiting at most ``timeout`` seconds per
    service; forget the workers that did not finish. Returns how many were forgotten.

    ``prefect_test_harness`` drains them on exit with no time limit. Under ``pytest -n 2`` a worker
    process runs many modules, each with its own server, and an events worker that still holds items
    for a server already gone waits a client timeout per item: once in CI that left the teardown
    of a module blocked for more than ten minutes. Draining here first, with a bound, keeps a lost
    log line from stopping the suite; the harness then finds nothing left to wait for.
    """
    stuck = 0
    for service in (APILogWorker, EventsWorker):
        _, not_done = service.drain_all(timeout=timeout)
        if not_done:
            stuck += len(not_done)
            with service._instance_cache_lock:  # Prefect has no public way to drop a stuck service
                service._instances.clear()
    return stuck


@pytest.fixture(scope="module")
def prefect_server():
    with prefect_test_harness(server_startup_timeout=120):
        yield
        stuck = drain_prefect_workers()
        if stuck:
            warnings.warn(
                f"{stuck} Prefect log/event worker(s) did not drain in {DRAIN_TIMEOUT_S} s; dropped", stacklevel=2
            )
