import os
from collections import Counter

import cv2
import numpy as np
import pytest

from components.io import (
    ImageReadError,
    UnsafePathError,
    atomic_write_text,
    read_image,
    resolve_inside,
)
from components.splits import split_of


def test_split_is_stable_and_independent_of_other_samples():
    names = [f"img_{i}" for i in range(2000)]
    first = {n: split_of(n, 0.8, 0.1, 0.1) for n in names}
    more = {n: split_of(n, 0.8, 0.1, 0.1) for n in names + [f"new_{i}" for i in range(500)]}
    assert all(first[n] == more[n] for n in names)
    counts = Counter(first.values())
    assert 0.75 < counts["train"] / 2000 < 0.85 and 0.07 < counts["test"] / 2000 < 0.13
    with pytest.raises(ValueError, match="sum to 1"):
        split_of("x", 0.8, 0.1, 0.2)


def test_resolve_inside_refuses_escapes(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "ok.jpg").write_bytes(b"x")
    (tmp_path / "secret.jpg").write_bytes(b"x")
    os.symlink(tmp_path / "secret.jpg", root / "link.jpg")
    assert resolve_inside(root, "ok.jpg") == (root / "ok.jpg").resolve()
    for bad, why in [
        ("../secret.jpg", r"'\.\.'"),
        ("/etc/passwd", "absolute"),
        ("C:\\x.jpg", "absolute"),
        ("link.jpg", "outside the dataset root"),
        ("", "empty"),
    ]:
        with pytest.raises(UnsafePathError, match=why):
            resolve_inside(root, bad, source="a.json")


def test_read_image_errors_name_file_and_reason(tmp_path):
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), np.zeros((20, 30, 3), np.uint8))
    assert read_image(good).shape == (20, 30, 3)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    truncated = tmp_path / "trunc.png"
    truncated.write_bytes(good.read_bytes()[:-30])
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(500))
    bomb = tmp_path / "bomb.png"
    cv2.imwrite(str(bomb), np.zeros((3000, 3000), np.uint8))
    cases = [
        (empty, "0 bytes"),
        (truncated, "cannot be decoded"),
        (garbage, "cannot be decoded"),
        (bomb, "exceeds the limit"),
        (tmp_path / "missing.png", "cannot be read"),
    ]
    for path, why in cases:
        with pytest.raises(ImageReadError, match=why) as exc:
            read_image(path, max_pixels=1_000_000)
        assert str(path) in str(exc.value)


def test_atomic_write_leaves_old_file_on_failure(tmp_path, monkeypatch):
    dest = tmp_path / "out.json"
    atomic_write_text(dest, "old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_text(dest, "new")
    assert dest.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
