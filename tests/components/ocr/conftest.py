"""Tiny OCR fixtures: a few real synthetic frames (640x480) with a manifest (helpers in tests/helpers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.data import make_resistor_dataset


@pytest.fixture(scope="session")
def tiny_ocr(tmp_path_factory) -> Path:
    return make_resistor_dataset(tmp_path_factory.mktemp("ocr_tiny"))
