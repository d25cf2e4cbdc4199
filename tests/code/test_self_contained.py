"""The repository documents itself: no tracked file may point at a design page outside the clone.

A fresh clone has only what git tracks, so every reference must lead to the repository's own docs
(docs/architecture.md and the pages beside it). Runs ``git ls-files`` and reads each text file once.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Built from parts so that this file does not match its own patterns.
FORBIDDEN = ("../" + "shared", "shared/" + "DESIGN", "DESIGN" + " §")


def tracked_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [REPO / p for p in out.decode().split("\0") if p]


def offending_lines(text: str) -> list[tuple[int, str]]:
    return [(i, line.strip()) for i, line in enumerate(text.splitlines(), 1) if any(f in line for f in FORBIDDEN)]


def test_patterns_are_caught():
    outside, section = "see ../" + "shared/x.md", "per DESIGN" + " §6"
    assert offending_lines(f"{outside}\nok\n{section}") == [(1, outside), (3, section)]
    assert offending_lines("the DESIGNATORS list; docs/architecture.md#metrics") == []


def test_no_tracked_file_refers_outside_the_repository():
    hits = []
    for path in tracked_files():
        if not path.is_file() or path.stat().st_size > 5_000_000:
            continue
        data = path.read_bytes()
        if b"\0" in data[:4096]:
            continue  # binary
        hits += [
            f"{path.relative_to(REPO)}:{n}: {line}" for n, line in offending_lines(data.decode("utf-8", "replace"))
        ]
    assert not hits, "references outside the repository (point at docs/ instead):\n" + "\n".join(hits)
