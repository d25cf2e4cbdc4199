"""Promotion gates of the model registry (``registry:`` in params.yaml, docs/architecture.md#registry-and-gates).

A new version becomes ``champion`` only when every gate passes: absolute minimums on the
quantized model's metrics, the quantized-vs-float tolerance, and not worse than the current
champion on the same test split (by ``compare_key``, within ``champion_tolerance``).
"""

from __future__ import annotations

from pydantic import Field

from components.schema import Strict


class Gates(Strict):
    minimums: dict[str, float]  # metric key -> lowest acceptable value (quantized model)
    maximums: dict[str, float]  # for lower-is-better keys (cer): highest acceptable value
    max_quantization_drop: dict[str, float]  # metric key -> largest allowed float minus quantized
    compare_key: str  # metric that must not be worse than the champion's
    # (higher is better unless it is in LOWER_IS_BETTER)
    champion_tolerance: float = Field(ge=0)  # allowed shortfall against the champion


class RegisterParams(Strict):
    ocr: Gates
    crack: Gates
