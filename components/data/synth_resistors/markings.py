"""Resistor marking codes as printed on real chip resistors (3-digit, 4-digit, R-notation, EIA-96,
zero-ohm jumpers, part-number style).

Kept apart from the renderer because the OCR grammar (``components/ocr/grammar.py``) is tested
against everything :func:`_marking` can emit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from components.data.ocr_format import MAX_TEXT_LEN

E24 = (10, 11, 12, 13, 15, 16, 18, 20, 22, 24, 27, 30, 33, 36, 39, 43, 47, 51, 56, 62, 68, 75, 82, 91)


E96 = tuple(round(100 * 10 ** (i / 96)) for i in range(96))


EIA96_LETTERS = "ZYRXSABHCDEF"  # multiplier letters of the EIA-96 code


def _marking(
    rng: np.random.Generator,
    max_len: int = MAX_TEXT_LEN,
    weights: Sequence[float] = (0.30, 0.24, 0.20, 0.15, 0.04, 0.07),
) -> str:
    """One resistor marking in a real code style (characters 0-9 and A-Z only)."""
    style = rng.choice(6, p=np.asarray(weights, np.float64) / sum(weights))
    if style == 0:  # 3-digit: two significant digits and a power of ten
        return f"{E24[rng.integers(len(E24))]}{rng.choice(7, p=[0.12, 0.16, 0.2, 0.22, 0.16, 0.1, 0.04])}"
    if style == 1:  # 4-digit: three significant digits and a power of ten
        return f"{E96[rng.integers(len(E96))]}{rng.choice(5, p=[0.2, 0.2, 0.25, 0.2, 0.15])}"
    if style == 2:  # R-notation: the R marks the decimal point (4R7, R47, R010, 0R22, 49R9)
        n = int(rng.choice([3, 4], p=[0.5, 0.5]))
        if rng.random() < 0.3:  # small current-sense values with leading zeros
            digits = f"{rng.choice([1, 2, 3, 5, 10, 15, 20, 22, 33, 47, 50, 68]):0{n - 1}d}"
        else:
            sig = E24[rng.integers(len(E24))] if n == 3 else E96[rng.integers(len(E96))]
            digits = str(sig)
        p = int(rng.integers(0, n - 1))
        return digits[:p] + "R" + digits[p:]
    if style == 3:  # EIA-96: code 01-96 and a multiplier letter
        return f"{rng.integers(1, 97):02d}{EIA96_LETTERS[rng.integers(len(EIA96_LETTERS))]}"
    if style == 4:  # zero-ohm jumpers
        return str(rng.choice(["0", "00", "000", "0000"]))
    # longer part-number style markings: a value code and tolerance/series letters
    base = f"{E96[rng.integers(len(E96))]}{rng.integers(0, 5)}"
    suffix = "".join(rng.choice(list("FGJKTRDBW"), size=int(rng.integers(1, 5))))
    return (base + suffix)[:max_len]
