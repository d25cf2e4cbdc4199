"""The grammar of SMD resistor markings, their values in ohms, and decoding under that grammar.

Accepted markings (characters 0-9 and A-Z; ``parse_marking`` returns None for anything else):

* ``jumper``: ``0``, ``00``, ``000``, ``0000`` (zero-ohm links); an R-notation string of value 0
  (``0R``, ``0R0``, ``R00``) is a jumper too.
* ``3digit``: two significant digits and a power of ten, ``472`` = 47 x 10^2 = 4.7 kOhm. The first
  digit is 1-9 (a leading zero would be an EIA-96 index or a jumper); the significant digits are
  not required to be an E24 value (manufacturers print E48/E192 values and arbitrary ones too),
  and the multiplier digit may be 0-9.
* ``4digit``: three significant digits and a power of ten, ``4702`` = 470 x 10^2 = 47 kOhm, first
  digit 1-9, optionally followed by up to four tolerance / series letters of a part-number style
  marking (``1002FT``; letters ``B C D F G J K M R T W``), which do not change the value
  (``Marking.suffix`` holds them).
* ``r_notation``: the letter R as the decimal point, with 1-4 digits around it: ``4R7`` = 4.7 Ohm,
  ``R047`` = 0.047 Ohm, ``0R22``, ``00R1``, ``49R9``, ``100R`` = 100 Ohm.
* ``eia96``: a two-digit index 01-96 into the E96 table (100, 102, ..., 976) and a multiplier
  letter: Z = 0.001, Y or R = 0.01, X or S = 0.1, A = 1, B or H = 10, C = 100, D = 1000,
  E = 10^4, F = 10^5 (``01C`` = 10 kOhm, ``68X`` = 49.9 Ohm).

One string fits two rules: two digits and an R (``47R``) is both an EIA-96 code with the R
multiplier (301 x 0.01 = 3.01 Ohm) and R-notation (47 Ohm). It parses as EIA-96 (that is what
the synthetic generator means by it: its R-notation never ends in R); ``Marking.alternative_ohm``
carries the R-notation value. Two digits and R outside 01-96 (``00R``, ``97R``) and other lengths
(``1R``, ``100R``) are R-notation.

Everything ``components.data.synth_resistors.markings._marking`` generates parses (tested over its
output space, part-number suffixes sampled): E24 x 10^0..6, E96 x 10^0..4, R-notation of 3-4
characters with the R in front or inside, EIA-96 01-96 with any of its letters, the four jumper
strings and the part-number style (E96 x 10^0..4 and 1-4 letters of ``FGJKTRDBW``).

Decoding (``decode``): the character detector scores every class for every box, so each position
of the reading comes with its top-k classes and their probabilities. A beam search over the
positions (in reading order) extends each partial string by one of the candidates of the next
position, or skips the position (at most ``max_drops`` times: a spurious duplicate detection),
keeps only partial strings that can still become a marking, and finally keeps the most probable
complete string that parses. A skipped position costs the probability that its box holds no
character, the mass its candidates leave over, ``1 - sum(p)`` (floored at ``drop_floor``): reading
``435B`` (B 0.6, 8 0.3) as ``4358`` (factor 0.3) beats dropping the B (0.1). Every string is so
scored on all positions, whatever its length. The score of a string is the geometric mean of these
per-position factors; it must reach ``min_prob``, otherwise the reading is invalid and the raw
top-1 string is returned. Its confidence is that mean times the ROI score, as for the raw string.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, NamedTuple

CodeKind = Literal["3digit", "4digit", "r_notation", "eia96", "jumper"]
CODE_KINDS: tuple[str, ...] = ("3digit", "4digit", "r_notation", "eia96", "jumper")

# The E96 series (1 % values), index 01-96 of the EIA-96 code.
E96: tuple[int, ...] = (
    100,
    102,
    105,
    107,
    110,
    113,
    115,
    118,
    121,
    124,
    127,
    130,
    133,
    137,
    140,
    143,
    147,
    150,
    154,
    158,
    162,
    165,
    169,
    174,
    178,
    182,
    187,
    191,
    196,
    200,
    205,
    210,
    215,
    221,
    226,
    232,
    237,
    243,
    249,
    255,
    261,
    267,
    274,
    280,
    287,
    294,
    301,
    309,
    316,
    324,
    332,
    340,
    348,
    357,
    365,
    374,
    383,
    392,
    402,
    412,
    422,
    432,
    442,
    453,
    464,
    475,
    487,
    499,
    511,
    523,
    536,
    549,
    562,
    576,
    590,
    604,
    619,
    634,
    649,
    665,
    681,
    698,
    715,
    732,
    750,
    768,
    787,
    806,
    825,
    845,
    866,
    887,
    909,
    931,
    953,
    976,
)
E24: tuple[int, ...] = (10, 11, 12, 13, 15, 16, 18, 20, 22, 24, 27, 30, 33, 36, 39, 43, 47, 51, 56, 62, 68, 75, 82, 91)

# EIA-96 multiplier letters (R and S are the older alternatives of Y and X, H of B).
EIA96_MULTIPLIERS: dict[str, float] = {
    "Z": 1e-3,
    "Y": 1e-2,
    "R": 1e-2,
    "X": 1e-1,
    "S": 1e-1,
    "A": 1.0,
    "B": 1e1,
    "H": 1e1,
    "C": 1e2,
    "D": 1e3,
    "E": 1e4,
    "F": 1e5,
}
SUFFIX_LETTERS = "BCDFGJKMRTW"  # tolerance / series letters after a 4-digit code
MAX_SUFFIX = 4
MAX_R_DIGITS = 4

_JUMPER = re.compile(r"0{1,4}")
_THREE = re.compile(r"([1-9]\d)(\d)")
_FOUR = re.compile(rf"([1-9]\d\d)(\d)([{SUFFIX_LETTERS}]{{0,{MAX_SUFFIX}}})")
_R = re.compile(r"(\d*)R(\d*)")
_EIA = re.compile(rf"(\d\d)([{''.join(EIA96_MULTIPLIERS)}])")


@dataclass(frozen=True)
class Marking:
    text: str
    value_ohm: float
    code_kind: CodeKind
    suffix: str = ""  # letters after a 4-digit code (tolerance, series)
    alternative_ohm: float | None = None  # the other reading of an ambiguous string (``47R``)


def _clean(value: float) -> float:
    """Values to 12 significant digits: 47 x 0.01 is 0.47, not 0.47000000000000003."""
    return float(f"{value:.12g}")


def _r_value(a: str, b: str) -> float:
    return _clean(float(f"{a or '0'}.{b or '0'}"))


@lru_cache(maxsize=65536)
def _parse(text: str) -> Marking | None:
    if not text:
        return None
    if _JUMPER.fullmatch(text):
        return Marking(text, 0.0, "jumper")
    if m := _THREE.fullmatch(text):
        return Marking(text, _clean(int(m[1]) * 10.0 ** int(m[2])), "3digit")
    if m := _FOUR.fullmatch(text):
        return Marking(text, _clean(int(m[1]) * 10.0 ** int(m[2])), "4digit", suffix=m[3])
    if (m := _EIA.fullmatch(text)) and 1 <= int(m[1]) <= 96:
        alt = _r_value(m[1], "") if m[2] == "R" else None
        return Marking(text, _clean(E96[int(m[1]) - 1] * EIA96_MULTIPLIERS[m[2]]), "eia96", alternative_ohm=alt)
    if (m := _R.fullmatch(text)) and 1 <= len(m[1]) + len(m[2]) <= MAX_R_DIGITS:
        value = _r_value(m[1], m[2])
        return Marking(text, value, "jumper" if value == 0 else "r_notation")
    return None


def parse_marking(text: str) -> Marking | None:
    """The value of a resistor marking, or None when ``text`` is no marking (module docstring)."""
    return _parse(text) if isinstance(text, str) else None


def is_marking(text: str) -> bool:
    return parse_marking(text) is not None


@lru_cache(maxsize=65536)
def viable_prefix(text: str) -> bool:
    """Whether some marking starts with ``text`` (the beam search drops partial strings that cannot
    become one). May say yes for a few dead ends; never no for a real prefix."""
    n = len(text)
    if n == 0:
        return True
    if text.isdigit():
        return n <= 4
    if n <= MAX_R_DIGITS + 1 and _R.fullmatch(text):
        return True
    if n == 3 and _EIA.fullmatch(text):
        return 1 <= int(text[:2]) <= 96
    return bool(re.fullmatch(rf"[1-9]\d{{3}}[{SUFFIX_LETTERS}]{{1,{MAX_SUFFIX}}}", text))


# ------------------------------------------------------------------------------- decoding ---

# per position of the reading: the candidate characters and their probabilities, best first
Candidates = Sequence[tuple[str, float]]


class Decoded(NamedTuple):
    text: str  # the decoded marking, or the raw string when ``valid`` is False
    value_ohm: float | None  # None when not valid
    code_kind: str | None  # one of CODE_KINDS; None when not valid
    valid: bool
    confidence: float  # geometric mean of the per-position factors x roi_score


def raw_string(positions: Sequence[Candidates]) -> str:
    """The unconstrained best string: the most probable character of every position."""
    return "".join(max(c, key=lambda x: x[1])[0] for c in positions if len(c))


def _log(p: float) -> float:
    return math.log(min(max(float(p), 1e-9), 1.0))


def decode(
    positions: Sequence[Candidates],
    *,
    min_prob: float = 0.2,
    max_drops: int = 1,
    beam: int = 64,
    drop_floor: float = 0.01,
    roi_score: float = 1.0,
) -> Decoded:
    """The most probable marking spelled by ``positions`` (module docstring); ``valid=False`` and the
    raw top-1 string when none reaches ``min_prob`` (geometric mean per position)."""
    positions = [sorted(((str(c), float(p)) for c, p in cands), key=lambda x: -x[1]) for cands in positions]
    positions = [p for p in positions if p]
    raw = raw_string(positions)
    n = len(positions)
    if not n:
        return Decoded("", None, None, False, 0.0)
    raw_conf = math.exp(sum(_log(p[0][1]) for p in positions) / n) * float(roi_score)
    # state: partial string -> (log probability, drops used); paths to the same string keep the best
    beams: dict[str, tuple[float, int]] = {"": (0.0, 0)}
    for cands in positions:
        nxt: dict[str, tuple[float, int]] = {}
        drop_lp = _log(max(1.0 - sum(p for _, p in cands), drop_floor))
        cand_lp = [(ch, _log(p)) for ch, p in cands]
        for s, (lp, d) in beams.items():
            options = [(s + ch, lp + clp, d) for ch, clp in cand_lp if viable_prefix(s + ch)]
            if d < max_drops:
                options.append((s, lp + drop_lp, d + 1))
            for t, tlp, td in options:
                if t not in nxt or nxt[t][0] < tlp:
                    nxt[t] = (tlp, td)
        beams = dict(sorted(nxt.items(), key=lambda kv: -kv[1][0])[:beam])
        if not beams:
            break
    best: tuple[float, Marking] | None = None
    for s, (lp, _) in beams.items():
        m = parse_marking(s)
        if m is not None and (best is None or lp > best[0]):
            best = (lp, m)
    if best is not None:
        mean = math.exp(best[0] / n)
        if mean >= min_prob:
            m = best[1]
            return Decoded(m.text, m.value_ohm, m.code_kind, True, mean * float(roi_score))
    return Decoded(raw, None, None, False, raw_conf)
