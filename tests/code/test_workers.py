"""Test processes share the machine's cores: beside other xdist workers, each computes on one thread.

tests/conftest.py sets the variables in the controller before it starts the workers; this checks
they arrived before torch and OpenCV sized their pools (a worker that imported either first would
run two threads per core and slow the whole suite down).
"""

from __future__ import annotations

import os

import pytest


def test_a_worker_beside_others_computes_on_one_thread():
    if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) < 2:
        pytest.skip("one test process (-n 0): the libraries keep their defaults")
    import cv2
    import torch

    assert torch.get_num_threads() == 1
    assert cv2.getNumThreads() == 1
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == "1"  # read by TensorFlow when its first op runs
