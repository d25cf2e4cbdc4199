"""A synthetic resistor dataset on disk: ``res_{i:06d}.jpg`` + LabelMe ``.json`` per frame and
``families.csv``, frame i from ``default_rng([seed, i])`` so any number of workers writes the same files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from components.data.families import write_families
from components.data.ocr_format import write_labelme
from components.data.synth_resistors.frames import _render
from components.data.synth_resistors.styles import resolve_families
from components.fanout import ClientSource, map_ordered
from components.io import atomic_write_bytes


def _write_one(job: tuple[str, int, int, int, int, str]) -> str:
    out_dir, seed, i, width, height, family = job
    fr = _render(np.random.default_rng([seed, i]), width, height, family=family)
    name = f"res_{i:06d}"
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(fr.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, fr.jpeg_quality]
    )
    if not ok:
        raise RuntimeError(f"{name}: JPEG encoding failed")
    out = Path(out_dir)
    atomic_write_bytes(out / f"{name}.jpg", buf.tobytes())
    fr.annotation.image_path = f"{name}.jpg"
    write_labelme(fr.annotation, out / f"{name}.json")
    return name


#: Below this many frames a cluster's start-up costs more than it saves (docs/operations.md#fan-out-on-dask).
MIN_FANOUT_FRAMES = 60


def generate_resistor_dataset(
    out_dir: Path,
    num_frames: int,
    seed: int,
    workers: int = 2,
    width: int = 1280,
    height: int = 960,
    progress: bool = True,
    families: Sequence[str] | None = None,
    client: ClientSource | None = None,
) -> list[str]:
    """Write ``res_{i:06d}.jpg`` + ``.json`` for i < num_frames and ``families.csv`` into ``out_dir``;
    returns the names.

    Frame i draws from ``default_rng([seed, i])`` only and shows family ``families[i % len(families)]``
    (``None``: ``DEFAULT_TRAIN_FAMILIES``), so the files do not depend on ``workers`` or ``client``
    (``components.fanout``: a Dask cluster to render on; fewer than :data:`MIN_FANOUT_FRAMES` frames are
    rendered in this process). Unknown family names raise ``ValueError`` before anything is written.
    """
    names = resolve_families(families)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [
        (str(out_dir), int(seed), i, int(width), int(height), names[i % len(names)]) for i in range(int(num_frames))
    ]
    done = list(
        map_ordered(
            _write_one,
            jobs,
            workers,
            client=client,
            min_jobs=MIN_FANOUT_FRAMES,
            desc="synth resistors",
            unit="frame",
            progress=progress,
        )
    )
    write_families(out_dir, [(name, job[-1]) for name, job in zip(done, jobs)])
    return done
