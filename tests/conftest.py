"""Shared test fixtures: tiny canonical datasets built here, independent of the generators."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.data import make_crack_dataset, make_ocr_dataset

ONE_THREAD = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "OPENCV_FOR_THREADS_NUM")


def pytest_configure(config: pytest.Config) -> None:
    """With several xdist workers, each computes on one thread (torch, TensorFlow, OpenCV).

    Every library sizes its pool to all cores, so two workers on two cores ran four busy threads and
    lost time to each other: the tiny OCR flow test took 78 s beside a copy of itself with two
    threads each, 55 s with one (as long as alone). Set here, in the controller before it starts
    the workers, the variables reach every worker and every stage process they start; ``-n 0`` keeps
    the libraries' defaults, and a value already in the environment wins.
    """
    if (getattr(config.option, "numprocesses", None) or 0) > 1:
        for var in ONE_THREAD:
            os.environ.setdefault(var, "1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order test files longest first: integration, then slow or browser, then the rest.

    xdist (``--dist loadfile``, with ``--no-loadscope-reorder`` in pyproject.toml) hands files to
    the workers in this order, so the long integration files start at once and the short ones fill
    in at the end. Its default order (most tests first) started the crack pipeline test, seven
    minutes long, at 95 % of the run, and one worker idled for minutes while the other finished it.
    Tests keep their order within a file.
    """

    def rank(item: pytest.Item) -> int:
        names = {m.name for m in item.iter_markers()}
        return 0 if "integration" in names else 1 if names & {"slow", "browser"} else 2

    file_rank: dict[Path, int] = {}
    for item in items:
        file_rank[item.path] = min(file_rank.get(item.path, 2), rank(item))
    items.sort(key=lambda item: file_rank[item.path])  # stable: file and test order kept within a rank


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
