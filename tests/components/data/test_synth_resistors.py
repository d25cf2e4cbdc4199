"""Synthetic resistor frames: determinism, annotation validity and that every char box holds its glyph."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from components.data.families import FAMILIES_FILE, read_families
from components.data.ocr_format import (
    CHAR_CLASSES,
    MAX_TEXT_LEN,
    ROI_LABEL,
    read_labelme,
)
from components.data.synth_resistors import (
    DEFAULT_FAMILY,
    DEFAULT_OOD_FAMILIES,
    DEFAULT_TRAIN_FAMILIES,
    EIA96_LETTERS,
    FAMILIES,
    HELD_OUT_FONTS,
    TRAIN_FONTS,
    ResistorStyle,
    generate_resistor_dataset,
    render_resistor_frame,
    render_resistor_frame_debug,
)
from components.data.synth_resistors import dataset as synth_dataset
from components.data.synth_resistors.markings import _marking
from tests.helpers.fanout import on_cluster

W, H = 640, 480  # smaller frames keep the determinism/dataset tests fast (sizes scale with the width)
FULL_W, FULL_H = 1280, 960  # the specified frame size, for the content checks
SEEDS = [[7, i] for i in range(8)]


@pytest.fixture(scope="module")
def debug_frames():
    return [render_resistor_frame_debug(s, FULL_W, FULL_H) for s in SEEDS]


def test_same_seed_same_frame_and_different_seed_differs():
    a_img, a_ann = render_resistor_frame([3, 1], W, H)
    b_img, b_ann = render_resistor_frame([3, 1], W, H)
    c_img, c_ann = render_resistor_frame([3, 2], W, H)
    assert a_img.dtype == np.uint8 and a_img.shape == (H, W, 3)
    assert np.array_equal(a_img, b_img)
    assert a_ann.to_dict() == b_ann.to_dict()
    assert not np.array_equal(a_img, c_img)
    assert a_ann.to_dict() != c_ann.to_dict()
    assert a_ann.image_path == ""


def test_debug_path_renders_the_same_pixels():
    img, ann = render_resistor_frame([3, 4], W, H)
    fr = render_resistor_frame_debug([3, 4], W, H)
    assert np.array_equal(img, fr.image)
    assert ann.to_dict() == fr.annotation.to_dict()


def test_annotations_are_valid(debug_frames):
    n_rois = 0
    for fr in debug_frames:
        ann = fr.annotation
        assert (ann.width, ann.height) == (FULL_W, FULL_H)
        assert fr.image.shape == (FULL_H, FULL_W, 3)
        W, H = FULL_W, FULL_H
        rois = ann.rois
        assert 1 <= len(rois) <= 3
        assert len({r.group_id for r in rois}) == len(rois)
        for s in ann.shapes:
            assert s.label == ROI_LABEL or s.label in CHAR_CLASSES
            assert 0 <= s.x1 < s.x2 <= W and 0 <= s.y1 < s.y2 <= H
            assert s.x2 - s.x1 >= 3 and s.y2 - s.y1 >= 3
        for r in rois:
            n_rois += 1
            # resistors lie fully inside the frame (nothing was clipped)
            assert r.x1 > 0 and r.y1 > 0 and r.x2 < W and r.y2 < H
            assert r.text and 1 <= len(r.text) <= MAX_TEXT_LEN
            assert all(c in CHAR_CLASSES for c in r.text)
            chars = ann.chars_of(r.group_id)
            assert "".join(c.label for c in chars) == r.text
            for c in chars:
                assert r.x1 <= c.x1 and c.x2 <= r.x2 and r.y1 <= c.y1 and c.y2 <= r.y2
        # ROIs do not overlap each other
        for i in range(len(rois)):
            for j in range(i + 1, len(rois)):
                a, b = rois[i], rois[j]
                assert a.x2 <= b.x1 or b.x2 <= a.x1 or a.y2 <= b.y1 or b.y2 <= a.y1
    assert n_rois >= len(debug_frames)


def test_every_char_box_holds_its_glyph_ink(debug_frames):
    checked = 0
    for fr in debug_frames:
        chars = [s for s in fr.annotation.shapes if not s.is_roi]
        assert len(chars) == len(fr.glyph_inks)
        for s, (x0, y0, mask) in zip(chars, fr.glyph_inks):
            ys, xs = np.nonzero(mask)
            assert len(xs) > 20, f"glyph {s.label!r} has almost no ink"
            cx, cy = xs + x0 + 0.5, ys + y0 + 0.5  # pixel centres in frame coordinates
            inside = (cx >= s.x1) & (cx <= s.x2) & (cy >= s.y1) & (cy <= s.y2)
            assert inside.mean() >= 0.98, f"{s.label!r}: only {inside.mean():.3f} of its ink is in its box"
            ink_box = (cx.max() - cx.min() + 1) * (cy.max() - cy.min() + 1)
            box = (s.x2 - s.x1) * (s.y2 - s.y1)
            assert box <= 2.0 * ink_box, f"{s.label!r}: box {box:.0f} px^2 is loose around ink {ink_box:.0f} px^2"
            checked += 1
    assert checked >= 10


def test_char_boxes_are_printed_in_the_image(debug_frames):
    """In the final (blurred, noisy) image a char box is brighter inside than the dark body around it."""
    for fr in debug_frames:
        lum = fr.image.astype(np.float32).mean(axis=2)
        ann = fr.annotation
        for r in ann.rois:
            for c in ann.chars_of(r.group_id):
                x1, y1, x2, y2 = int(c.x1), int(c.y1), int(np.ceil(c.x2)), int(np.ceil(c.y2))
                inner = lum[y1:y2, x1:x2]
                # the glyph's strokes are much brighter than the darkest part of its box (body)
                assert np.percentile(inner, 95) - np.percentile(inner, 10) > 40, c.label


def test_sizes_and_text_styles(debug_frames):
    heights, lengths = [], []
    for fr in debug_frames:
        ann = fr.annotation
        for r in ann.rois:
            lengths.append(max(r.x2 - r.x1, r.y2 - r.y1))
            heights += [c.y2 - c.y1 for c in ann.chars_of(r.group_id)]
    # axis-aligned boxes of rotated text/bodies: at least the specified minimum sizes
    assert min(heights) >= 25 * 0.95 and max(heights) <= 70 * 1.6
    assert min(lengths) >= 220 * 0.9 and max(lengths) <= 480 * 1.5
    rng = np.random.default_rng(0)
    codes = [_marking(rng) for _ in range(400)]
    assert all(1 <= len(c) <= MAX_TEXT_LEN and re.fullmatch(r"[0-9A-Z]+", c) for c in codes)
    assert any(re.fullmatch(r"\d{3}", c) for c in codes)
    assert any(re.fullmatch(r"\d{4}", c) for c in codes)
    assert any("R" in c and len(c) <= 4 for c in codes)
    assert any(re.fullmatch(rf"\d\d[{EIA96_LETTERS}]", c) for c in codes)


def test_dataset_is_identical_on_a_dask_cluster(tmp_path, dask_client, monkeypatch):
    monkeypatch.setattr(synth_dataset, "MIN_FANOUT_FRAMES", 0)  # 3 frames: fanned out all the same
    a = generate_resistor_dataset(tmp_path / "a", 3, seed=5, workers=1, width=W, height=H, progress=False)
    b, batches = on_cluster(
        dask_client,
        lambda: generate_resistor_dataset(
            tmp_path / "b", 3, seed=5, workers=2, width=W, height=H, progress=False, client=dask_client
        ),
    )
    assert batches, "the frames were drawn on the cluster"
    assert a == b == ["res_000000", "res_000001", "res_000002"]
    for name in a:
        for ext in (".jpg", ".json"):
            assert (tmp_path / "a" / f"{name}{ext}").read_bytes() == (tmp_path / "b" / f"{name}{ext}").read_bytes()
        ann = read_labelme(tmp_path / "a" / f"{name}.json")
        assert ann.image_path == f"{name}.jpg" and (ann.width, ann.height) == (W, H)
    # frame i of the dataset is render_resistor_frame([seed, i]) of the i-th default family (before JPEG)
    _, ann1 = render_resistor_frame([5, 1], W, H, family=DEFAULT_TRAIN_FAMILIES[1])
    assert read_labelme(tmp_path / "a" / "res_000001.json").shapes == ann1.shapes
    assert not list((tmp_path / "a").glob(".*"))  # no temporary files left behind


# --------------------------------------------------------------------------------------------
# Style families
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def family_frames():
    """One full-size debug frame per family (the seed differs per family)."""
    return {name: render_resistor_frame_debug([21, j], FULL_W, FULL_H, family=name) for j, name in enumerate(FAMILIES)}


def _overlaps(a, b) -> bool:
    return not (a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1])


def test_every_family_renders_valid_annotations(family_frames):
    for name, fr in family_frames.items():
        st = FAMILIES[name]
        ann, (h, w) = fr.annotation, fr.image.shape[:2]
        assert fr.family == name and fr.image.dtype == np.uint8
        assert (ann.width, ann.height) == (w, h)
        lo, hi = st.frame_scale
        assert FULL_W * lo - 8 <= w <= FULL_W * hi + 8 and abs(w / h - FULL_W / FULL_H) < 0.02, name
        assert 1 <= len(ann.rois) <= st.resistor_counts[1], name
        lum = fr.image.astype(np.float32).mean(axis=2)
        chars = [s for s in ann.shapes if not s.is_roi]
        assert len(chars) == len(fr.glyph_inks)
        for r in ann.rois:
            assert 0 < r.x1 < r.x2 < w and 0 < r.y1 < r.y2 < h, name
            assert r.text and "".join(c.label for c in ann.chars_of(r.group_id)) == r.text, name
            for c in ann.chars_of(r.group_id):
                assert c.label in CHAR_CLASSES
                assert r.x1 <= c.x1 < c.x2 <= r.x2 and r.y1 <= c.y1 < c.y2 <= r.y2, name
                inner = lum[int(c.y1) : int(np.ceil(c.y2)), int(c.x1) : int(np.ceil(c.x2))]
                assert np.percentile(inner, 95) - np.percentile(inner, 10) > 25, (name, c.label)  # legible ink
        for s, (x0, y0, mask) in zip(chars, fr.glyph_inks):
            ys, xs = np.nonzero(mask)
            cx, cy = xs + x0 + 0.5, ys + y0 + 0.5
            inside = (cx >= s.x1) & (cx <= s.x2) & (cy >= s.y1) & (cy <= s.y2)
            assert inside.mean() >= 0.98, (name, s.label)
            assert (s.x2 - s.x1) * (s.y2 - s.y1) <= 2.0 * (np.ptp(cx) + 1) * (np.ptp(cy) + 1), (name, s.label)


def test_wide_view_frames_are_larger_and_hold_many_resistors(family_frames):
    fr = family_frames["wide_view"]
    assert fr.image.shape[1] >= 1.5 * FULL_W - 8 and fr.annotation.width == fr.image.shape[1]
    assert len(fr.annotation.rois) >= 3
    img, ann = render_resistor_frame([4, 0], W, H, family="wide_view")  # the scale applies to any requested size
    assert img.shape[1] >= 1.5 * W - 8 and (ann.width, ann.height) == (img.shape[1], img.shape[0])


def test_hard_negatives_are_drawn_but_never_annotated(family_frames):
    kinds = set()
    for name, fr in family_frames.items():
        rois = [(r.x1, r.y1, r.x2, r.y2) for r in fr.annotation.rois]
        # only resistor ROIs and their characters are labelled, one group per ROI
        assert {s.group_id for s in fr.annotation.shapes} == {r.group_id for r in fr.annotation.rois}
        for kind, box in fr.negatives:
            kinds.add(kind)
            assert not any(_overlaps(box, r) for r in rois), (name, kind, box)
    assert {"silk_text", "label", "cap", "ic", "pad"} <= kinds
    # every family can draw look-alikes: text (silkscreen, printed words or stickers) and/or other parts
    for name, st in FAMILIES.items():
        assert st.labels[1] >= 1 and (st.silk_texts[1] >= 1 or "tape" in st.backgrounds), name
        assert st.caps[1] >= 1 or st.backgrounds == ("tape",), name


def test_family_is_deterministic_per_seed():
    for name in ("label_clutter", "phone_jpeg"):
        a_img, a_ann = render_resistor_frame([3, 1], W, H, family=name)
        b_img, b_ann = render_resistor_frame([3, 1], W, H, family=name)
        assert np.array_equal(a_img, b_img) and a_ann.to_dict() == b_ann.to_dict()
    img, _ = render_resistor_frame([3, 1], W, H)
    assert np.array_equal(img, render_resistor_frame([3, 1], W, H, family=DEFAULT_FAMILY)[0])
    assert DEFAULT_FAMILY == "mixed"


def test_dataset_families_csv_and_worker_count(tmp_path, dask_client, monkeypatch):
    monkeypatch.setattr(synth_dataset, "MIN_FANOUT_FRAMES", 0)
    fams = ["green_pcb", "wide_view", "dim_noisy"]
    a = generate_resistor_dataset(
        tmp_path / "a", 4, seed=9, workers=1, width=W, height=H, progress=False, families=fams
    )
    b, batches = on_cluster(
        dask_client,
        lambda: generate_resistor_dataset(
            tmp_path / "b", 4, seed=9, workers=2, width=W, height=H, progress=False, families=fams, client=dask_client
        ),
    )
    assert a == b and batches
    for name in a:
        for ext in (".jpg", ".json"):
            assert (tmp_path / "a" / f"{name}{ext}").read_bytes() == (tmp_path / "b" / f"{name}{ext}").read_bytes()
    assert (tmp_path / "a" / FAMILIES_FILE).read_bytes() == (tmp_path / "b" / FAMILIES_FILE).read_bytes()
    assert read_families(tmp_path / "a") == {n: fams[i % 3] for i, n in enumerate(a)}
    wide = read_labelme(tmp_path / "a" / "res_000001.json")  # wide_view: written at its larger size
    img, ann = render_resistor_frame([9, 1], W, H, family="wide_view")
    assert (wide.width, wide.height) == (img.shape[1], img.shape[0]) and wide.width > W and wide.shapes == ann.shapes
    generate_resistor_dataset(tmp_path / "c", 2, seed=9, workers=1, width=W, height=H, progress=False)
    assert read_families(tmp_path / "c") == {
        "res_000000": DEFAULT_TRAIN_FAMILIES[0],
        "res_000001": DEFAULT_TRAIN_FAMILIES[1],
    }


def test_unknown_family_is_rejected_with_the_known_names(tmp_path):
    with pytest.raises(ValueError, match=r"no_such_family.*known.*mixed"):
        generate_resistor_dataset(tmp_path / "x", 2, seed=0, families=["green_pcb", "no_such_family"], progress=False)
    assert not (tmp_path / "x").exists()
    with pytest.raises(ValueError, match="no_such_family"):
        render_resistor_frame([0, 0], W, H, family="no_such_family")


def test_train_and_ood_families_are_disjoint_including_fonts_and_colours():
    train, ood = set(DEFAULT_TRAIN_FAMILIES), set(DEFAULT_OOD_FAMILIES)
    assert train and len(ood) >= 3 and not train & ood and (train | ood) <= set(FAMILIES)
    assert all(isinstance(st, ResistorStyle) for st in FAMILIES.values())
    train_fonts = {f for n in train for f in FAMILIES[n].fonts}
    ood_fonts = {f for n in ood for f in FAMILIES[n].fonts}
    assert train_fonts <= set(TRAIN_FONTS) and ood_fonts <= set(HELD_OUT_FONTS) and not train_fonts & ood_fonts
    for n in ood:  # each OOD family shows a marking colour no training family has
        train_inks = {c for t in train for c in FAMILIES[t].ink_colours}
        train_bodies = {c for t in train for c in FAMILIES[t].body_colours}
        assert set(FAMILIES[n].ink_colours) - train_inks and set(FAMILIES[n].body_colours) - train_bodies, n
    train_masks = {m for n in train if "pcb" in FAMILIES[n].backgrounds for m in FAMILIES[n].mask_colours}
    assert "black" not in train_masks and "black" in FAMILIES["black_pcb"].mask_colours
    with pytest.raises(dataclasses.FrozenInstanceError):
        FAMILIES["mixed"].fonts = ()  # type: ignore[misc]  # frozen presets
