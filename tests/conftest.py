"""Shared test fixtures: tiny canonical datasets built here, independent of the generators."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.data import make_crack_dataset, make_ocr_dataset


@pytest.fixture
def ocr_root(tmp_path: Path) -> Path:
    root = tmp_path / "ocr"
    make_ocr_dataset(root)
    return root


@pytest.fixture
def crack_root(tmp_path: Path) -> Path:
    root = tmp_path / "crack"
    make_crack_dataset(root)
    return root


@pytest.fixture(scope="session")
def dask_client():
    """A real 2-worker ``LocalCluster`` (processes, one thread each), shared by the tests of a session:
    starting one costs several seconds. ``tests.helpers.fanout.on_cluster`` proves that work ran there."""
    from distributed import Client

    from components.fanout import local_cluster

    with local_cluster(2) as cluster, Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(2)
        yield client
