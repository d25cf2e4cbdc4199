"""Symlinks leading outside a source folder are found before `dvc add` and refused by prepare (issue #22, item 5)."""

from __future__ import annotations

import os

import pytest

from components.data.check_source import escaping_symlinks, main
from components.data.prepare import SourceError, resolve_source
from tests.helpers.data import make_ocr_dataset


@pytest.fixture
def source(tmp_path):
    src = tmp_path / "data" / "sources" / "X"
    make_ocr_dataset(src, n=2)
    return src


def test_clean_folder_passes(source, tmp_path, capsys):
    os.symlink(source / "s000.jpg", source / "inside_link.jpg")  # a link that stays inside is fine
    assert escaping_symlinks(source) == []
    assert main([str(source)]) == 0 and "safe" in capsys.readouterr().out
    assert resolve_source("data/sources/X", tmp_path) is not None


def test_escaping_links_are_named_and_refused(source, tmp_path, capsys):
    secret = tmp_path / "secret.jpg"
    secret.write_bytes((source / "s000.jpg").read_bytes())
    (tmp_path / "elsewhere").mkdir()
    os.symlink(secret, source / "s001.jpg.link")
    (source / "s001.jpg").unlink()
    os.symlink(secret, source / "s001.jpg")
    os.symlink(tmp_path / "elsewhere", source / "more")  # a folder link
    os.symlink(tmp_path / "gone.jpg", source / "broken.jpg")  # broken, pointing outside
    found = [p.name for p, _ in escaping_symlinks(source)]
    assert found == ["broken.jpg", "more", "s001.jpg", "s001.jpg.link"]
    assert main([str(source)]) == 1
    err = capsys.readouterr().err
    assert "4 symlink(s) lead outside" in err and f"s001.jpg -> {secret}" in err
    with pytest.raises(SourceError, match=r"s001\.jpg -> .*secret\.jpg"):
        resolve_source("data/sources/X", tmp_path)
