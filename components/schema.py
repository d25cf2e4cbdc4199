"""Base classes for the typed parameter schemas (components/config.py and each model's config.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """No unknown keys, no silent type coercion, immutable once loaded."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


Size = Annotated[tuple[int, int], Field(strict=False)]  # [width, height]; YAML has lists, not tuples


def check_within(low: tuple[int, ...], high: tuple[int, ...], low_name: str, high_name: str) -> None:
    """Raise ValueError unless ``low`` <= ``high`` in every dimension ([width, height] pairs)."""
    for axis, lo, hi in zip(("width", "height"), low, high):
        if lo > hi:
            raise ValueError(f"{low_name} {list(low)} is larger than {high_name} {list(high)} ({axis} {lo} > {hi})")
