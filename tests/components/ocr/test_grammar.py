"""The marking grammar (values of real resistor codes) and decoding the OCR's top-k under it."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from components.data.ocr_format import MAX_TEXT_LEN
from components.data.synth_resistors import markings as synth
from components.ocr.grammar import (
    CODE_KINDS,
    E24,
    E96,
    EIA96_MULTIPLIERS,
    decode,
    parse_marking,
    raw_string,
    viable_prefix,
)
from components.ocr.pipeline import PipelineConfig, assemble, char_candidates
from components.ocr.preprocess import square_map


def _ohm(text: str) -> float:
    m = parse_marking(text)
    assert m is not None, text
    return m.value_ohm


# ------------------------------------------------------------------------------ the table ---

STANDARD = [
    # 3-digit: two significant digits x 10^n
    ("100", 10.0, "3digit"),
    ("101", 100.0, "3digit"),
    ("102", 1e3, "3digit"),
    ("472", 4.7e3, "3digit"),
    ("103", 10e3, "3digit"),
    ("223", 22e3, "3digit"),
    ("104", 100e3, "3digit"),
    ("334", 330e3, "3digit"),
    ("105", 1e6, "3digit"),
    ("106", 10e6, "3digit"),
    ("221", 220.0, "3digit"),
    ("680", 68.0, "3digit"),
    ("151", 150.0, "3digit"),
    ("912", 9.1e3, "3digit"),
    ("560", 56.0, "3digit"),
    ("737", 730e6, "3digit"),
    # 4-digit: three significant digits x 10^n
    ("1000", 100.0, "4digit"),
    ("1001", 1e3, "4digit"),
    ("4702", 47e3, "4digit"),
    ("1002", 10e3, "4digit"),
    ("4991", 4.99e3, "4digit"),
    ("2490", 249.0, "4digit"),
    ("1003", 100e3, "4digit"),
    ("1004", 1e6, "4digit"),
    ("9760", 976.0, "4digit"),
    ("3011", 3.01e3, "4digit"),
    ("1894", 1.89e6, "4digit"),
    ("4358", 43.5e9, "4digit"),
    ("1002FT", 10e3, "4digit"),
    ("4990J", 499.0, "4digit"),
    # R-notation: R is the decimal point
    ("4R7", 4.7, "r_notation"),
    ("R047", 0.047, "r_notation"),
    ("R47", 0.47, "r_notation"),
    ("0R22", 0.22, "r_notation"),
    ("1R0", 1.0, "r_notation"),
    ("49R9", 49.9, "r_notation"),
    ("R010", 0.01, "r_notation"),
    ("00R1", 0.1, "r_notation"),
    ("01R0", 1.0, "r_notation"),
    ("100R", 100.0, "r_notation"),
    ("1R", 1.0, "r_notation"),
    ("2R20", 2.2, "r_notation"),
    # jumpers
    ("0", 0.0, "jumper"),
    ("00", 0.0, "jumper"),
    ("000", 0.0, "jumper"),
    ("0000", 0.0, "jumper"),
    ("0R0", 0.0, "jumper"),
    ("0R", 0.0, "jumper"),
    ("R00", 0.0, "jumper"),
    # EIA-96 spot checks
    ("01A", 100.0, "eia96"),
    ("01B", 1e3, "eia96"),
    ("01C", 10e3, "eia96"),
    ("68X", 49.9, "eia96"),
    ("96D", 976e3, "eia96"),
    ("13Z", 0.133, "eia96"),
    ("44H", 2.8e3, "eia96"),
    ("30S", 20.0, "eia96"),
    ("01F", 10e6, "eia96"),
    ("85E", 7.5e6, "eia96"),
]


@pytest.mark.parametrize("text,ohm,kind", STANDARD)
def test_standard_codes_have_their_values(text, ohm, kind):
    m = parse_marking(text)
    assert m is not None and m.code_kind == kind and m.code_kind in CODE_KINDS
    assert math.isclose(m.value_ohm, ohm, rel_tol=1e-9, abs_tol=1e-12), (text, m.value_ohm, ohm)


def test_e24_three_digit_codes():
    for sig, exp in itertools.product(E24, range(7)):
        assert _ohm(f"{sig}{exp}") == pytest.approx(sig * 10.0**exp, rel=1e-12)


def test_e96_four_digit_codes():
    for sig, exp in itertools.product(E96, range(5)):
        assert _ohm(f"{sig}{exp}") == pytest.approx(sig * 10.0**exp, rel=1e-12)


def test_full_eia96_table_with_every_multiplier():
    assert len(E96) == 96 and E96[0] == 100 and E96[-1] == 976 and list(E96) == sorted(E96)
    expected = {
        "Z": 0.001,
        "Y": 0.01,
        "R": 0.01,
        "X": 0.1,
        "S": 0.1,
        "A": 1,
        "B": 10,
        "H": 10,
        "C": 100,
        "D": 1e3,
        "E": 1e4,
        "F": 1e5,
    }
    assert expected == EIA96_MULTIPLIERS
    for i, letter in itertools.product(range(1, 97), expected):
        m = parse_marking(f"{i:02d}{letter}")
        assert m is not None and m.code_kind == "eia96"
        assert m.value_ohm == pytest.approx(E96[i - 1] * expected[letter], rel=1e-12)
    assert parse_marking("00A") is None and parse_marking("97A") is None


def test_two_digits_and_r_read_as_eia96_with_the_r_notation_alternative():
    m = parse_marking("47R")
    assert (m.code_kind, m.value_ohm, m.alternative_ohm) == ("eia96", 3.01, 47.0)
    assert parse_marking("97R").code_kind == "r_notation" and parse_marking("00R").code_kind == "jumper"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "435B",
        "936B",
        "630BR",
        "1895H",
        "13ZR",
        "73",
        "047",
        "0472",
        "R",
        "RR1",
        "4R7R",
        "R04700",
        "12345",
        "47K",
        "1002FTX",
        "1002FTJKB",
        "A01",
        "4.7",
        "ab1",
        "01G",
    ],
)
def test_strings_no_resistor_carries_are_rejected(text):
    assert parse_marking(text) is None


def test_the_same_series_as_the_generator():
    assert E96 == synth.E96 and E24 == synth.E24
    assert set(synth.EIA96_LETTERS) == set(EIA96_MULTIPLIERS)


def _generator_space():
    """Every marking ``synth_resistors.markings._marking`` can produce (part-number suffixes: all of 1-2
    letters, a sample of 3-4)."""
    yield from (f"{s}{e}" for s in E24 for e in range(7))
    yield from (f"{s}{e}" for s in E96 for e in range(5))
    for n in (3, 4):
        digit_sets = [f"{v:0{n - 1}d}" for v in (1, 2, 3, 5, 10, 15, 20, 22, 33, 47, 50, 68)]
        digit_sets += [str(s) for s in (E24 if n == 3 else E96)]
        for d in digit_sets:
            for p in range(n - 1):
                yield d[:p] + "R" + d[p:]
    yield from (f"{i:02d}{c}" for i in range(1, 97) for c in synth.EIA96_LETTERS)
    yield from ("0", "00", "000", "0000")
    rng = np.random.default_rng(0)
    letters = list("FGJKTRDBW")
    suffixes = ["".join(t) for k in (1, 2) for t in itertools.product(letters, repeat=k)]
    suffixes += ["".join(rng.choice(letters, size=k)) for k in (3, 4) for _ in range(200)]
    for s, e, suf in itertools.product(E96, range(5), suffixes[::7]):
        yield f"{s}{e}{suf}"[:MAX_TEXT_LEN]


def test_every_marking_the_generator_emits_parses():
    bad = [t for t in _generator_space() if parse_marking(t) is None]
    assert not bad, bad[:20]
    rng = np.random.default_rng(1)
    drawn = [synth._marking(rng) for _ in range(5000)]
    assert [t for t in drawn if parse_marking(t) is None] == []


def test_prefixes_of_markings_are_viable():
    for text in itertools.islice(_generator_space(), 0, None, 3):
        assert all(viable_prefix(text[:i]) for i in range(len(text) + 1)), text
    assert not viable_prefix("435B") and not viable_prefix("A") and not viable_prefix("13ZR")


# ------------------------------------------------------------------------------- decoding ---


def _pos(text: str, p: float = 0.9, alt: dict[int, tuple[str, float]] | None = None):
    """Positions spelling ``text`` at probability ``p``; ``alt`` adds (char, prob) at a position."""
    out = [[(c, p)] for c in text]
    for i, (c, q) in (alt or {}).items():
        out[i] = sorted(out[i] + [(c, q)], key=lambda x: -x[1])
    return out


def test_lookalike_b_decodes_to_8():
    pos = _pos("435", alt=None) + [[("B", 0.6), ("8", 0.3)]]
    d = decode(pos)
    assert (d.text, d.valid, d.code_kind, raw_string(pos)) == ("4358", True, "4digit", "435B")
    assert d.value_ohm == pytest.approx(435e8)
    assert decode(_pos("936") + [[("B", 0.55), ("8", 0.4)]]).text == "9368"


def test_a_valid_eia96_reading_stays():
    d = decode(_pos("01") + [[("B", 0.6), ("8", 0.3)]])
    assert (d.text, d.code_kind, d.value_ohm) == ("01B", "eia96", 1000.0)


def test_other_lookalikes_resolved_by_the_grammar():
    assert decode(_pos("47") + [[("D", 0.6), ("0", 0.35)]] + _pos("2")).text == "4702"  # 0/D inside a code
    assert decode(_pos("01") + [[("D", 0.6), ("0", 0.35)]]).text == "01D"  # EIA-96 letter stays
    assert decode(_pos("4") + [[("S", 0.6), ("5", 0.35)]] + _pos("1")).text == "451"  # 5/S
    assert decode(_pos("22") + [[("S", 0.6), ("5", 0.35)]]).text == "22S"  # EIA-96 S stays
    assert decode([[("Y", 0.6), ("1", 0.35)]] + _pos("02")).text == "102"  # 1/Y
    assert decode(_pos("50") + [[("Y", 0.6), ("1", 0.35)]]).text == "50Y"  # EIA-96 Y stays
    assert decode(_pos("4") + [[("B", 0.5), ("8", 0.4)]] + _pos("R2")).text == "48R2"  # 8/B in R-notation


def test_a_spurious_detection_is_dropped():
    d = decode(_pos("13Z") + [[("R", 0.5)]])
    assert (d.text, d.valid) == ("13Z", True)
    # 630BR: B read as 8, and the R is a valid series letter after a 4-digit code (part-number style)
    d = decode(_pos("630") + [[("B", 0.6), ("8", 0.3)], [("R", 0.5), ("K", 0.1)]])
    assert d.text == "6308R" and d.value_ohm == pytest.approx(630e8)
    d = decode(_pos("630") + [[("B", 0.6), ("8", 0.3)], [("Q", 0.5), ("K", 0.1)]])
    assert d.text == "6308" and d.value_ohm == pytest.approx(630e8)
    d = decode(_pos("189") + [[("5", 0.6), ("4", 0.3)], [("H", 0.5), ("4", 0.1)]])
    assert d.text in ("1895", "1894")  # dropping H is needed; 5 vs 4 is up to the scores
    assert decode(_pos("189") + [[("5", 0.3), ("4", 0.6)], [("H", 0.5)]]).text == "1894"


def test_at_most_one_drop():
    d = decode(_pos("13Z") + [[("R", 0.5)], [("Q", 0.5)]])
    assert not d.valid and d.text == "13ZRQ" and d.value_ohm is None and d.code_kind is None
    assert decode(_pos("13Z") + [[("R", 0.5)], [("Q", 0.5)]], max_drops=2).text == "13Z"


def test_invalid_when_no_marking_is_probable_enough():
    pos = _pos("435", 0.97) + [[("B", 0.9), ("8", 0.01)]]
    d = decode(pos, min_prob=0.6)  # best marking: 435 (B dropped, factor 0.09), mean 0.53
    assert (d.text, d.valid, d.value_ohm, d.code_kind) == ("435B", False, None, None)
    assert d.confidence == pytest.approx((0.97**3 * 0.9) ** 0.25)
    assert decode(pos, min_prob=0.1).text == "435"
    assert decode(_pos("XQ")).valid is False
    assert decode([]) == ("", None, None, False, 0.0)


def test_confidence_is_the_geometric_mean_times_the_roi_score():
    d = decode(_pos("472", 0.8), roi_score=0.5)
    assert d.valid and d.confidence == pytest.approx(0.4)
    text, value, kind, valid, conf = d  # the tuple of the issue
    assert (text, value, kind, valid, conf) == ("472", 4700.0, "3digit", True, d.confidence)


# ---------------------------------------------------------------------- wired into the glue ---

MAPS = [square_map((0, 0, 64, 64), 1.0)]  # frame -> crop of the one ROI: identity


def test_assemble_decodes_each_roi_from_the_top_k():
    names = tuple("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    idx = {c: i + 1 for i, c in enumerate(names)}
    cfg = PipelineConfig(roi_size=(160, 120), crop_size=64, margin=0.0, names=names, char_score_threshold=0.3)
    text, alt = "435B", [("1", 0.05), ("9", 0.04), ("6", 0.05), ("8", 0.3)]
    boxes = np.array([[4 + 12 * i, 20, 14 + 12 * i, 36] for i in range(4)], np.float32)
    labels = np.array([idx[c] for c in text])
    scores = np.array([0.9, 0.9, 0.9, 0.6], np.float32)
    topk_l = np.array([[idx[c], idx[a[0]], idx["Z"]] for c, a in zip(text, alt)])
    topk_s = np.array([[s, a[1], 0.01] for s, a in zip(scores, alt)], np.float32)
    roi = np.array([[0, 0, 64, 64]], np.float32)
    res = assemble(roi, np.array([0.95], np.float32), MAPS, [(boxes, labels, scores, topk_l, topk_s)], cfg)
    r = res.rois[0]
    assert (r.text, r.raw_text, r.valid, r.code_kind) == ("4358", "435B", True, "4digit")
    assert r.value_ohm == pytest.approx(435e8) and r.char_labels == list("435B")
    # without top-k (a detector that gives labels only) the only repair left is dropping a character
    r = assemble(roi, np.array([0.95], np.float32), MAPS, [(boxes, labels, scores)], cfg).rois[0]
    assert (r.text, r.raw_text, r.valid, r.value_ohm) == ("435", "435B", True, 4.3e6)
    cfg = PipelineConfig(roi_size=(160, 120), crop_size=64, margin=0.0, names=names, grammar_min_prob=0.9)
    r = assemble(roi, np.array([0.95], np.float32), MAPS, [(boxes, labels, scores)], cfg).rois[0]
    assert (r.text, r.raw_text, r.valid, r.value_ohm, r.code_kind) == ("435B", "435B", False, None, None)


def test_assemble_sets_the_roi_status_read_invalid_unreadable():
    from components.ocr.pipeline import INVALID, READ, ROI_STATUSES, UNREADABLE

    names = tuple("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    idx = {c: i + 1 for i, c in enumerate(names)}
    cfg = PipelineConfig(roi_size=(160, 120), crop_size=64, margin=0.0, names=names, char_score_threshold=0.3)
    roi, rs = np.array([[0, 0, 64, 64]], np.float32), np.array([0.95], np.float32)

    def chars(text: str, score: float):
        boxes = np.array([[4 + 12 * i, 20, 14 + 12 * i, 36] for i in range(len(text))], np.float32).reshape(-1, 4)
        return boxes, np.array([idx[c] for c in text], np.int64), np.full(len(text), score, np.float32)

    (r,) = assemble(roi, rs, MAPS, [chars("472", 0.9)], cfg).rois
    assert (r.status, r.text, r.valid) == (READ, "472", True)
    (r,) = assemble(roi, rs, MAPS, [chars("XQ", 0.9)], cfg).rois
    assert (r.status, r.text, r.raw_text, r.valid) == (INVALID, "XQ", "XQ", False)
    # characters below the threshold only, and none at all: nothing to read
    for det in (chars("472", 0.1), chars("", 0.9)):
        (r,) = assemble(roi, rs, MAPS, [det], cfg).rois
        assert (r.status, r.text, r.valid) == (UNREADABLE, "", False)
    assert ROI_STATUSES == ("read", "invalid", "unreadable")


def test_an_unreadable_roi_needs_a_surer_stage_1_to_be_reported():
    names = tuple("0123456789R")
    cfg = PipelineConfig(roi_size=(160, 120), crop_size=64, margin=0.0, names=names, unreadable_roi_threshold=0.5)
    rois = np.array([[0, 0, 64, 64], [0, 0, 64, 64], [0, 0, 64, 64]], np.float32)
    scores = np.array([0.9, 0.45, 0.45], np.float32)
    nothing = (np.zeros((0, 4), np.float32), np.zeros(0, np.int64), np.zeros(0, np.float32))
    legible = (np.array([[4, 20, 14, 36], [16, 20, 26, 36]], np.float32), np.array([5, 8]), np.array([0.9, 0.9]))
    res = assemble(rois, scores, MAPS * 3, [nothing, nothing, legible], cfg)
    # kept: the sure unreadable one and the unsure one with characters; dropped: the unsure blank one
    assert [(r.score, r.status) for r in res.rois] == [
        (pytest.approx(0.9), "unreadable"),
        (pytest.approx(0.45), "invalid"),
    ]
    assert len(res.all_char_boxes) == 2  # what stage 2 saw still counts for the character mAP
    off = PipelineConfig(roi_size=(160, 120), crop_size=64, margin=0.0, names=names)
    assert (
        off.unreadable_roi_threshold == 0.0
        and len(assemble(rois, scores, MAPS * 3, [nothing, nothing, legible], off).rois) == 3
    )


def test_an_invalid_roi_needs_a_surer_stage_1_to_be_reported():
    """Characters that form no marking (an IC package's code, a sticker) on a ROI stage 1 is unsure
    of: left out from ``invalid_roi_threshold``; a valid marking is kept at any score."""
    names = tuple("0123456789R")
    cfg = PipelineConfig(roi_size=(160, 120), crop_size=64, margin=0.0, names=names, invalid_roi_threshold=0.5)
    rois = np.array([[0, 0, 64, 64]] * 3, np.float32)
    scores = np.array([0.9, 0.45, 0.45], np.float32)
    one_glyph = (np.array([[4, 20, 14, 36]], np.float32), np.array([5]), np.array([0.9]))  # "4": no marking
    marking = (
        np.array([[4 + 12 * i, 20, 14 + 12 * i, 36] for i in range(3)], np.float32),
        np.array([5, 8, 3]),
        np.full(3, 0.9),
    )
    res = assemble(rois, scores, MAPS * 3, [one_glyph, one_glyph, marking], cfg)
    assert [(r.score, r.status, r.text) for r in res.rois] == [
        (pytest.approx(0.9), "invalid", "4"),
        (pytest.approx(0.45), "read", "472"),
    ]
    off = PipelineConfig(roi_size=(160, 120), crop_size=64, margin=0.0, names=names)
    assert [r.status for r in assemble(rois, scores, MAPS * 3, [one_glyph, one_glyph, marking], off).rois] == [
        "invalid",
        "invalid",
        "read",
    ]


def test_unreadable_rate_counts_the_rois_without_characters():
    from components.ocr.evaluate import unreadable_rate
    from components.ocr.pipeline import FrameResult, RoiResult

    def roi(status: str) -> RoiResult:
        return RoiResult((0, 0, 1, 1), 0.9, "", 0.5, np.zeros((0, 4)), [], np.zeros(0), status=status)

    assert unreadable_rate([FrameResult([roi("read"), roi("unreadable")]), FrameResult([roi("invalid")])]) == (
        pytest.approx(1 / 3)
    )
    assert math.isnan(unreadable_rate([FrameResult([])]))


def test_char_candidates_merge_the_label_and_the_top_k():
    names = ["8", "B"]
    out = char_candidates([0], np.array([2]), np.array([0.6]), (np.array([[2, 1]]), np.array([[0.6, 0.3]])), names)
    assert out == [[("B", 0.6), ("8", pytest.approx(0.3))]]


def test_ssd_detections_carry_each_box_top_k_classes():
    import torch

    from components.ocr.model import build_ssd

    spec = {
        "kind": "char",
        "width_mult": 0.25,
        "size": [64, 64],
        "num_classes": 37,
        "classes": list("0123456789" + "A" * 26),
        "anchor_scales": [0.07, 0.12, 0.2],
        "aspect_ratios": [[2], [2]],
        "score_threshold": 0.0,
        "nms_iou": 0.45,
        "detections": 10,
        "match_iou": 0.4,
        "fuse": True,
    }
    torch.manual_seed(0)
    model = build_ssd(spec).eval()
    with torch.no_grad():
        d = model([torch.rand(3, 64, 64)])[0]
    n = len(d["boxes"])
    assert n > 0 and d["topk_labels"].shape == (n, 3) and d["topk_scores"].shape == (n, 3)
    assert (d["topk_labels"] >= 1).all() and (d["topk_scores"][:, :-1] >= d["topk_scores"][:, 1:]).all()
    assert (d["topk_scores"][:, 0] >= d["scores"] - 1e-6).all()


def test_value_accuracy_and_valid_rate():
    from components.ocr.evaluate import valid_rate, value_accuracy
    from components.ocr.pipeline import FrameResult, RoiResult

    def roi(text, valid, value):
        return RoiResult(
            (0, 0, 1, 1), 0.9, text, 0.8, np.zeros((0, 4)), [], np.zeros(0), raw_text=text, valid=valid, value_ohm=value
        )

    right, same_value, wrong, invalid = (
        roi("472", True, 4700.0),
        roi("4701", True, 4700.0),
        roi("471", True, 470.0),
        roi("47X", False, None),
    )
    # a different code of the same value counts; an unparseable label is left out; an undetected ROI is a miss
    pairs = [("472", right), ("472", same_value), ("472", wrong), ("472", invalid), ("472", None), ("PART", right)]
    assert value_accuracy(pairs) == pytest.approx(2 / 5)
    assert math.isnan(value_accuracy([("PART", right)]))
    assert valid_rate([FrameResult([right, invalid]), FrameResult([]), FrameResult([wrong])]) == pytest.approx(2 / 3)
    assert math.isnan(valid_rate([FrameResult([])]))
