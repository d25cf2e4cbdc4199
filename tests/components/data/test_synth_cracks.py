"""Synthetic road-crack generator: determinism, crack-free share, and agreement of picture and annotation."""

from __future__ import annotations

import numpy as np
import pytest

from components.data.crack_format import rasterize, read_pline
from components.data.synth_cracks import (
    CRACK_FREE_PROB,
    _render,
    generate_crack_dataset,
    render_crack_frame,
)

W, H = 384, 288


@pytest.fixture(scope="module")
def frames():
    """40 rendered frames with their debug info (crack darkening map, distractors)."""
    return [_render(np.random.default_rng([7, i]), W, H) for i in range(40)]


def test_render_shape_and_determinism():
    a, pa = render_crack_frame([3, 1])
    b, pb = render_crack_frame([3, 1])
    assert a.shape == (H, W, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert len(pa) == len(pb) and all(np.array_equal(x, y) for x, y in zip(pa, pb))
    c, _ = render_crack_frame([3, 2])
    assert not np.array_equal(a, c)
    d, _ = render_crack_frame(4)
    assert not np.array_equal(a, d)


def test_dataset_identical_for_any_worker_count(tmp_path):
    n1 = generate_crack_dataset(tmp_path / "w1", 6, seed=11, workers=1, progress=False)
    n2 = generate_crack_dataset(tmp_path / "w2", 6, seed=11, workers=2, progress=False)
    assert n1 == n2 == [f"crack_{i:06d}" for i in range(6)]
    for name in n1:
        for rel in (f"images/{name}.png", f"annotations/{name}_PLINE.json"):
            assert (tmp_path / "w1" / rel).read_bytes() == (
                tmp_path / "w2" / rel
            ).read_bytes(), rel
    # frame i of the dataset is render_crack_frame([seed, i]); another seed gives other files
    _, lines = render_crack_frame([11, 3])
    stored = read_pline(tmp_path / "w1" / "annotations" / "crack_000003_PLINE.json")
    assert len(stored) == len(lines)
    assert all(np.allclose(s, p, atol=0.006) for s, p in zip(stored, lines))
    n3 = generate_crack_dataset(tmp_path / "s12", 2, seed=12, workers=1, progress=False)
    assert (tmp_path / "s12" / "images" / f"{n3[0]}.png").read_bytes() != (
        tmp_path / "w1" / "images" / f"{n1[0]}.png"
    ).read_bytes()
    assert not list(tmp_path.rglob("*.tmp*")), "temporary files left behind"


def test_about_a_quarter_crack_free():
    # the crack/no-crack draw is the first draw of each frame's generator
    free = [
        np.random.default_rng([0, i]).random() < CRACK_FREE_PROB for i in range(400)
    ]
    assert CRACK_FREE_PROB == 0.25
    assert 0.18 <= np.mean(free) <= 0.32
    # and the rendered frames follow it
    for i in range(12):
        _, lines = render_crack_frame([0, i])
        assert (len(lines) == 0) == free[i], i


def test_polylines_inside_image_and_reasonably_sampled(frames):
    n_lines = 0
    for _, lines, _ in frames:
        for p in lines:
            n_lines += 1
            assert p.ndim == 2 and p.shape[1] == 2 and len(p) >= 2
            assert (p[:, 0] >= 0).all() and (p[:, 0] <= W - 1).all()
            assert (p[:, 1] >= 0).all() and (p[:, 1] <= H - 1).all()
            seg = np.hypot(*np.diff(p, axis=0).T)
            assert seg.max() < 12.0  # a point every few px
            assert len(p) <= 1000
    assert n_lines > 20


def test_drawn_cracks_lie_on_the_annotated_centre_lines(frames):
    checked = 0
    inside_fracs, contrasts = [], []
    for img, lines, info in frames:
        dark = info["crack_dark"]
        if not lines:
            assert dark.max() == 0.0
            continue
        strong = dark > 0.5
        assert strong.sum() > 50
        m9 = rasterize(lines, H, W, thickness=9).astype(bool)
        inside_fracs.append((strong & m9).sum() / strong.sum())
        gray = img.astype(np.float64).mean(axis=2)
        m5 = rasterize(lines, H, W, thickness=5).astype(bool)
        ring = rasterize(lines, H, W, thickness=17).astype(bool) & ~m9
        contrasts.append(gray[m5].mean() / gray[ring].mean())
        checked += 1
    assert checked >= 20
    assert min(inside_fracs) >= 0.9, inside_fracs
    # the 5-px mask is clearly darker than a ring just outside it, in every frame
    assert np.median(contrasts) < 0.65, contrasts
    assert max(contrasts) < 0.85, contrasts


def test_mask_misaligned_by_a_few_pixels_fails_the_agreement(frames):
    # the agreement check above can fail: shifted centre lines miss most of the dark pixels
    _, lines, info = next(f for f in frames if f[1] and sum(len(p) for p in f[1]) > 60)
    strong = info["crack_dark"] > 0.5
    shifted = [p + np.array([7.0, 7.0]) for p in lines]
    m9 = rasterize(shifted, H, W, thickness=9).astype(bool)
    assert (strong & m9).sum() / strong.sum() < 0.9


def test_distractors_are_not_annotated(frames):
    free = [(img, info) for img, lines, info in frames if not lines]
    assert free, "no crack-free frame among the sample"
    assert any(info["distractors"] for _, info in free)
    # scan more crack-free frames: paint and sealed joints appear, still with no polylines
    seen = set()
    for i in range(200):
        rng = np.random.default_rng([1, i])
        if rng.random() >= CRACK_FREE_PROB:
            continue
        _, lines, info = _render(np.random.default_rng([1, i]), W, H)
        assert lines == [] and info["crack_dark"].max() == 0.0
        seen.update(d.split("_")[0] for d in info["distractors"])
        if {"lane", "sealed"} <= seen:
            break
    assert {"lane", "sealed"} <= seen, seen


def test_larger_frames():
    img, lines = render_crack_frame([2, 5], width=768, height=576)
    assert img.shape == (576, 768, 3)
    for p in lines:
        assert (p >= 0).all() and (p[:, 0] <= 767).all() and (p[:, 1] <= 575).all()
