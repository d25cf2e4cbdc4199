"""Split assignment by a stable hash of the sample name (docs/architecture.md#data-formats).

The split depends on the name alone, so adding or removing other samples never moves an existing
sample to another split, and every machine computes the same assignment.
"""

from __future__ import annotations

import hashlib

SPLITS = ("train", "val", "test")


def split_of(name: str, train: float, val: float, test: float) -> str:
    """Return 'train', 'val' or 'test' for ``name`` given fractions that sum to 1."""
    total = train + val + test
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"split fractions must sum to 1, got {train} + {val} + {test} = {total}")
    u = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big") / 2**64
    if u < train:
        return "train"
    if u < train + val:
        return "val"
    return "test"
