"""Helpers the tests share, imported as ``from tests.helpers... import ...`` (never from a conftest file).

* ``tests.helpers``            ``REPO``, the repository root (importing it loads nothing heavy);
* ``tests.helpers.data``       tiny canonical datasets on disk: OCR and crack frames, generator frames with manifests;
* ``tests.helpers.ocr``        tiny OCR parameters and an untrained two-stage OCR (torch);
* ``tests.helpers.dashboard``  the registry and results content the dashboard tests write and read back;
* ``tests.helpers.fanout``     which fan-out batches ran on a Dask cluster, what its workers hold (light: workers
                               import it).

Fixtures stay in the conftest files next to the tests that use them; they build on these helpers.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
