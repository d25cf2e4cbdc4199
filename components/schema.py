"""Base classes for the typed parameter schemas (components/config.py and each model's config.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """No unknown keys, no silent type coercion, immutable once loaded."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


Size = Annotated[tuple[int, int], Field(strict=False)]  # [width, height]; YAML has lists, not tuples
