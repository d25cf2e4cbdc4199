"""Synthetic road-crack generator: determinism, crack-free share, agreement of picture and annotation,
and the named style families (each renders, differs from the others, train and OOD sets disjoint)."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from components.data.crack_format import rasterize, read_pline
from components.data.families import read_families
from components.data.prepare import prepare_dataset
from components.data.synth_cracks import (
    CRACK_FREE_PROB,
    DEFAULT_FAMILY,
    DEFAULT_OOD_FAMILIES,
    DEFAULT_TRAIN_FAMILIES,
    FAMILIES,
    CrackStyle,
    generate_crack_dataset,
    render_crack_frame,
)
from components.data.synth_cracks import dataset as synth_dataset
from components.data.synth_cracks.frames import _render
from tests.helpers import REPO
from tests.helpers.fanout import on_cluster

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


def test_dataset_identical_for_any_worker_count(tmp_path, dask_client, monkeypatch):
    monkeypatch.setattr(synth_dataset, "MIN_FANOUT_FRAMES", 0)  # 6 frames: fanned out all the same
    fams = ["default", "hi_res", "concrete", "phone_jpeg"]
    n1 = generate_crack_dataset(tmp_path / "w1", 6, seed=11, workers=1, families=fams, progress=False)
    n2, batches = on_cluster(
        dask_client,
        lambda: generate_crack_dataset(
            tmp_path / "w2", 6, seed=11, workers=2, families=fams, progress=False, client=dask_client
        ),
    )
    assert batches, "the frames were drawn on the cluster"
    assert n1 == n2 == [f"crack_{i:06d}" for i in range(6)]
    for name in n1:
        for rel in (f"images/{name}.png", f"annotations/{name}_PLINE.json"):
            assert (tmp_path / "w1" / rel).read_bytes() == (tmp_path / "w2" / rel).read_bytes(), rel
    assert (tmp_path / "w1" / "families.csv").read_bytes() == (tmp_path / "w2" / "families.csv").read_bytes()
    # frame i of the dataset is render_crack_frame([seed, i], family=families[i % 4]); another seed
    # gives other files
    _, lines = render_crack_frame([11, 3], family="phone_jpeg")
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
    free = [np.random.default_rng([0, i]).random() < CRACK_FREE_PROB for i in range(400)]
    assert CRACK_FREE_PROB == 0.25
    assert 0.18 <= np.mean(free) <= 0.32
    # and the rendered frames follow it
    for i in range(12):
        _, lines = render_crack_frame([0, i])
        assert (len(lines) == 0) == free[i], i


def test_crack_free_frames_follow_the_dataset_unchanged(tmp_path):
    # eval_data.crack.test_crack_free: frames without cracks appended after num_frames; the first
    # num_frames are the same files as without them, so a test set that gains them keeps its frames
    fams = ["default", "wet"]
    plain = generate_crack_dataset(tmp_path / "plain", 3, seed=5, workers=1, families=fams, progress=False)
    more = generate_crack_dataset(
        tmp_path / "more", 3, seed=5, workers=1, families=fams, progress=False, crack_free_frames=4
    )
    assert more == plain + [f"crack_{i:06d}" for i in range(3, 7)]
    for name in plain:
        assert (tmp_path / "plain/images" / f"{name}.png").read_bytes() == (
            tmp_path / "more/images" / f"{name}.png"
        ).read_bytes()
    for i, name in enumerate(more[3:], start=3):
        assert read_pline(tmp_path / "more/annotations" / f"{name}_PLINE.json") == []
        img, lines = render_crack_frame([5, i], family=fams[i % 2], crack_free=True)
        assert lines == [] and img.shape == (H, W, 3)
    assert read_families(tmp_path / "more") == {n: fams[i % 2] for i, n in enumerate(more)}
    # a frame that would have held cracks comes out without any
    cracked = next(i for i in range(20) if render_crack_frame([5, i])[1])
    assert render_crack_frame([5, cracked], crack_free=True)[1] == []
    with pytest.raises(ValueError, match="crack_free_frames"):
        generate_crack_dataset(tmp_path / "bad", 1, seed=5, workers=1, progress=False, crack_free_frames=-1)
    with pytest.raises(ValueError, match="crack_free_frames is for the crack dataset"):
        prepare_dataset(
            "ocr",
            "synthetic",
            "auto",
            tmp_path / "ocr",
            num_frames=1,
            width=640,
            height=480,
            seed=0,
            workers=1,
            max_pixels=10**7,
            crack_free_frames=1,
        )


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


# ------------------------------------------------------------------------------------- families


def _gray(img: np.ndarray) -> np.ndarray:
    """Grey image at the base size (a hi_res frame downscaled like the pipeline would)."""
    g = img.astype(np.float64).mean(axis=2)
    return g if g.shape == (H, W) else cv2.resize(g, (W, H), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def family_frames():
    """{family: 5 rendered frames with debug info}, the same seeds for every family."""
    return {
        fam: [_render(np.random.default_rng([21, i]), W, H, style) for i in range(5)] for fam, style in FAMILIES.items()
    }


def test_families_are_typed_presets_and_split_disjoint():
    assert 8 <= len(FAMILIES) <= 12 and DEFAULT_FAMILY in FAMILIES
    assert all(isinstance(s, CrackStyle) for s in FAMILIES.values())
    with pytest.raises(AttributeError):
        FAMILIES["default"].crack_free_prob = 0.5  # frozen
    assert FAMILIES["default"] == CrackStyle()  # the original look is the default preset
    train, ood = set(DEFAULT_TRAIN_FAMILIES), set(DEFAULT_OOD_FAMILIES)
    assert not train & ood
    assert train | ood <= set(FAMILIES) and DEFAULT_FAMILY in train
    assert 2 <= len(ood) <= 4 and len(train) >= 5
    assert len(set(FAMILIES.values())) == len(FAMILIES)  # no two presets alike


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_renders_with_matching_masks(family, family_frames):
    style = FAMILIES[family]
    fh, fw = round(H * style.frame_scale), round(W * style.frame_scale)
    cracked = 0
    for img, lines, info in family_frames[family]:
        assert img.shape == (fh, fw, 3) and img.dtype == np.uint8
        assert 15 < img.mean() < 220, "frame nearly black or white"
        if not lines:
            assert info["crack_dark"].max() == 0.0
            continue
        cracked += 1
        for p in lines:
            assert p.ndim == 2 and p.shape[1] == 2 and len(p) >= 2
            assert (p >= 0).all() and (p[:, 0] <= fw - 1).all() and (p[:, 1] <= fh - 1).all()
        strong = info["crack_dark"] > 0.5
        m9 = rasterize(lines, fh, fw, thickness=9).astype(bool)
        assert (strong & m9).sum() / strong.sum() >= 0.9
        gray = img.astype(np.float64).mean(axis=2)
        m5 = rasterize(lines, fh, fw, thickness=5).astype(bool)
        ring = rasterize(lines, fh, fw, thickness=17).astype(bool) & ~m9
        assert gray[m5].mean() / gray[ring].mean() < 0.85, "cracks not visibly darker"
    assert cracked >= 2


def test_render_is_deterministic_per_family():
    for fam in ("concrete", "wet", "phone_jpeg"):
        a, pa = render_crack_frame([5, 2], family=fam)
        b, pb = render_crack_frame([5, 2], family=fam)
        assert np.array_equal(a, b) and len(pa) == len(pb)
        assert all(np.array_equal(x, y) for x, y in zip(pa, pb))
    # the same seed in another family is another picture
    assert not np.array_equal(render_crack_frame([5, 2], family="wet")[0], render_crack_frame([5, 2])[0])


def test_families_differ_measurably(family_frames):
    def stat(fam, f):
        return float(np.mean([f(_gray(img)) for img, _, _ in family_frames[fam]]))

    def mean(fam):
        return stat(fam, np.mean)

    def sharp(fam):  # fine detail: mean |Laplacian| at the base size
        return stat(fam, lambda g: np.abs(cv2.Laplacian(g, cv2.CV_64F)).mean())

    base = mean("default")
    assert mean("concrete") > 1.25 * base  # light grey slabs
    assert mean("night_flash") < 0.65 * base  # dark
    assert mean("wet") < 0.8 * base
    assert mean("fresh_asphalt") < mean("worn_asphalt")
    assert sharp("phone_jpeg") < 0.6 * sharp("default")  # motion blur + JPEG
    assert sharp("hi_res") < 0.7 * sharp("default")  # thin cracks, fine texture averaged away
    shadowed = [info["distractors"] for _, _, info in family_frames["shadowed"]]
    assert all(any(d.startswith("shadow") for d in ds) for ds in shadowed)
    sealed = sum(
        d == "sealed_joint" for _, _, info in family_frames["sealed_joints_heavy"] for d in info["distractors"]
    )
    assert sealed >= 4


def test_families_csv_and_default_train_families(tmp_path):
    names = generate_crack_dataset(tmp_path / "d", 10, seed=3, workers=1, progress=False)
    fams = read_families(tmp_path / "d")
    n = len(DEFAULT_TRAIN_FAMILIES)
    assert fams == {name: DEFAULT_TRAIN_FAMILIES[i % n] for i, name in enumerate(names)}
    lines = (tmp_path / "d" / "families.csv").read_text().splitlines()
    assert lines[0] == "name,family" and lines[1] == f"crack_000000,{DEFAULT_TRAIN_FAMILIES[0]}"
    hi = DEFAULT_TRAIN_FAMILIES.index("hi_res")  # hi-res frames are written at their larger size
    img = cv2.imread(str(tmp_path / "d" / "images" / f"{names[hi]}.png"))
    assert img.shape[:2] == (round(H * FAMILIES["hi_res"].frame_scale), round(W * FAMILIES["hi_res"].frame_scale))


def test_unknown_family_is_an_error_naming_it(tmp_path):
    with pytest.raises(ValueError, match="nope") as e:
        render_crack_frame(1, family="nope")
    assert "concrete" in str(e.value)
    with pytest.raises(ValueError, match="gravel"):
        generate_crack_dataset(tmp_path / "x", 2, seed=1, families=["default", "gravel"], progress=False)
    assert not (tmp_path / "x" / "images").exists() or not list((tmp_path / "x" / "images").iterdir())
    with pytest.raises(ValueError):
        generate_crack_dataset(tmp_path / "y", 2, seed=1, families=[], progress=False)


@pytest.mark.parametrize("package", ["synth_cracks", "synth_resistors"])
def test_contact_sheet_command_help_writes_nothing(package):
    """``--help`` prints the usage and exits; it used to redraw the sheets under docs/."""
    docs_before = {p: p.stat().st_mtime_ns for p in (REPO / "docs").rglob("*.png")}
    done = subprocess.run(
        [sys.executable, "-m", f"components.data.{package}", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"python -m components.data.{package}" in done.stdout
    assert {p: p.stat().st_mtime_ns for p in (REPO / "docs").rglob("*.png")} == docs_before
