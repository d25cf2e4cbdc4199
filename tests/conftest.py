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
