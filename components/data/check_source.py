"""Check a real-data folder before ``dvc add``: ``python -m components.data.check_source data/sources/X``.

``dvc add`` stores what a symlink points to, so a link that leads outside the folder would have the
outside file's content versioned (and later imported) as if it were part of the dataset, without a
word. This check lists every symlink (file or folder, also broken ones) whose target lies outside
the folder and exits with status 1 if there is any; the prepare step runs the same check and
refuses such a folder. Links that stay inside the folder are fine.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def escaping_symlinks(folder: str | Path) -> list[tuple[Path, Path]]:
    """(link, where it leads) for every symlink under ``folder`` whose target is outside it, sorted.

    Folder symlinks are not followed (a link inside the folder is reached through its real path).
    """
    root = Path(folder)
    root_real = root.resolve()
    found: list[tuple[Path, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            p = Path(dirpath) / name
            if not p.is_symlink():
                continue
            target = p.resolve()
            if target != root_real and root_real not in target.parents:
                found.append((p, target))
    return sorted(found)


def describe(found: list[tuple[Path, Path]], folder: str | Path) -> str:
    lines = [f"  {link} -> {target}" for link, target in found]
    return (
        f"{folder}: {len(found)} symlink(s) lead outside the folder; `dvc add` would store the files they "
        f"point to as part of the dataset. Copy the files in (or remove the links) first:\n" + "\n".join(lines)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.data.check_source", description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"{args.folder}: not a folder", file=sys.stderr)
        return 2
    found = escaping_symlinks(args.folder)
    if found:
        print(describe(found, args.folder), file=sys.stderr)
        return 1
    print(f"{args.folder}: no symlink leads outside the folder; safe to `dvc add`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
