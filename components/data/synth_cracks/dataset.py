"""A synthetic crack dataset on disk in the canonical crack format, frame i from
``default_rng([seed, i])`` so any number of workers writes the same files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2

from components.data.crack_format import ANNOTATIONS_DIR, IMAGES_DIR, PLINE_SUFFIX, write_pline
from components.data.families import write_families
from components.data.synth_cracks.frames import render_crack_frame
from components.data.synth_cracks.styles import BASE_HEIGHT, BASE_WIDTH, DEFAULT_TRAIN_FAMILIES, check_families
from components.fanout import ClientSource, map_ordered
from components.io import atomic_write_bytes


def _write_one(args: tuple[str, int, int, int, int, str, bool]) -> str:
    out_dir, seed, i, width, height, family, crack_free = args
    name = f"crack_{i:06d}"
    img, polylines = render_crack_frame([seed, i], width, height, family, crack_free)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"{name}: PNG encoding failed")
    root = Path(out_dir)
    atomic_write_bytes(root / IMAGES_DIR / f"{name}.png", buf.tobytes())
    write_pline(polylines, root / ANNOTATIONS_DIR / f"{name}{PLINE_SUFFIX}")
    return name


#: Below this many frames a cluster's start-up costs more than it saves (docs/operations.md#fan-out-on-dask).
MIN_FANOUT_FRAMES = 200


def generate_crack_dataset(
    out_dir: Path,
    num_frames: int,
    seed: int,
    workers: int = 2,
    width: int = BASE_WIDTH,
    height: int = BASE_HEIGHT,
    families: Sequence[str] | None = None,
    progress: bool = True,
    client: ClientSource | None = None,
    crack_free_frames: int = 0,
) -> list[str]:
    """Write ``num_frames`` frames in the canonical crack format under ``out_dir``; return their names.

    Frame i is rendered from ``np.random.default_rng([seed, i])`` in family ``families[i % len(families)]``
    (``None``: :data:`DEFAULT_TRAIN_FAMILIES`), so the files are identical for any number of workers and
    on any cluster (``client``, ``components.fanout``; fewer than :data:`MIN_FANOUT_FRAMES` frames are drawn
    in this process).
    ``families.csv`` (name, family) is written at ``out_dir``. Images and annotations are written
    atomically; frames of a ``frame_scale`` family are written at their larger size.

    ``crack_free_frames`` more frames follow, numbered on from ``num_frames`` in the same family
    cycle but drawn without cracks (``render_crack_frame(..., crack_free=True)``). The first
    ``num_frames`` stay exactly as without them, so a test set that gains them keeps its old frames.
    """
    if num_frames < 0 or crack_free_frames < 0:
        raise ValueError(f"num_frames and crack_free_frames must be >= 0, got {num_frames}, {crack_free_frames}")
    fams = tuple(DEFAULT_TRAIN_FAMILIES if families is None else families)
    if not fams:
        raise ValueError("families must name at least one family")
    check_families(fams)
    out_dir = Path(out_dir)
    (out_dir / IMAGES_DIR).mkdir(parents=True, exist_ok=True)
    (out_dir / ANNOTATIONS_DIR).mkdir(parents=True, exist_ok=True)
    jobs = [
        (str(out_dir), int(seed), i, int(width), int(height), fams[i % len(fams)], i >= num_frames)
        for i in range(num_frames + crack_free_frames)
    ]
    names = list(
        map_ordered(
            _write_one,
            jobs,
            workers,
            client=client,
            min_jobs=MIN_FANOUT_FRAMES,
            desc="synthetic cracks",
            progress=progress,
        )
    )
    write_families(out_dir, [(name, job[5]) for name, job in zip(names, jobs)])
    return names
