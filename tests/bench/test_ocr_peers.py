"""The peers bench's own logic (the peers themselves are an optional dependency group)."""

from __future__ import annotations

import numpy as np

from bench.ocr_peers import Tally, clean, join_lines


def quad(x: float, y: float) -> np.ndarray:
    return np.array([[x, y], [x + 10, y], [x + 10, y + 5], [x, y + 5]], np.float32)


def test_peer_text_is_reduced_to_the_marking_vocabulary():
    assert clean(" 4r7 ") == "4R7"
    assert clean("1O3-Ω.") == "1O3"


def test_pieces_are_joined_left_to_right_whatever_order_the_peer_returns():
    assert join_lines([(quad(40, 0), "7"), (quad(0, 2), "4R")]) == "4R7"
    assert join_lines([]) == ""


def test_tally_counts_a_missed_roi_as_wrong_and_its_whole_label_as_edits():
    t = Tally()
    t.add(["103", "4R7"], ["103", None], ms=12.0)
    t.add(["1001"], ["1002"], ms=8.0)
    s = t.summary()
    assert s["string_accuracy"] == round(1 / 3, 5)
    assert s["cer"] == (0 + 3 + 1) / 10  # 0.4 exactly
    assert s["string_accuracy_ci_low"] <= s["string_accuracy"] <= s["string_accuracy_ci_high"]
    assert s["misreads"] == ["4R7->(none)", "1001->1002"]
