"""Parameters of the road-crack segmenter (``crack:`` in params.yaml)."""

from __future__ import annotations

from components.schema import Strict


class CrackParams(Strict):
    pass
