"""families.csv: the style family of each sample, beside the dataset, into the manifest."""

from __future__ import annotations

import pytest

from components.data.families import FAMILIES_FILE, FamiliesFileError, read_families, write_families
from components.data.manifest import FixedSplit, Splits, build_crack_manifest
from tests.helpers.data import make_crack_dataset


def test_round_trip_and_absent_file(tmp_path):
    assert read_families(tmp_path) == {}
    write_families(tmp_path, [("a", "concrete"), ("b", "wet")])
    assert read_families(tmp_path) == {"a": "concrete", "b": "wet"}


@pytest.mark.parametrize(
    "text, where",
    [("id,style\na,x\n", "first line"), ("name,family\na,\n", ":2"), ("name,family\na,x\na,y\n", "listed twice")],
)
def test_bad_files_are_named_with_the_line(tmp_path, text, where):
    (tmp_path / FAMILIES_FILE).write_text(text)
    with pytest.raises(FamiliesFileError, match=where) as err:
        read_families(tmp_path)
    assert str(tmp_path / FAMILIES_FILE) in str(err.value)


def test_manifest_takes_the_family_and_a_fixed_split(tmp_path):
    names = make_crack_dataset(tmp_path, n=3)
    write_families(tmp_path, [(names[0], "concrete"), (names[1], "wet")])
    samples = build_crack_manifest(tmp_path, Splits(0.8, 0.1, 0.1), 50_000_000, 5, progress=False)
    assert dict(zip(samples.name, samples.family)) == {names[0]: "concrete", names[1]: "wet", names[2]: "unknown"}
    fixed = build_crack_manifest(tmp_path, FixedSplit("ood"), 50_000_000, 5, progress=False)
    assert set(fixed.split) == {"ood"}
