"""Import real datasets into the canonical formats (docs/architecture.md#data-formats) without
losing anything (docs/architecture.md#reliability-rules).

OCR sources (output: a flat folder of ``<name>.<jpg|png>`` + ``<name>.json``, LabelMe style):

* ``labelme``: any folder tree of LabelMe JSON files (``imagePath`` relative to the JSON's folder).
  Sub-folders are flattened into names joined by ``__`` (``site_a/img_01.json`` -> ``site_a__img_01``).
* ``kaist``: the seed's KAIST/SSD-tutorial pairs ``<split>_images.json`` + ``<split>_objects.json``,
  any number of splits per folder. Integer labels map through ``label_map.json`` ({name: int}) in the
  same folder, else through :data:`DEFAULT_LABEL_MAP`. The format has neither group ids nor texts:
  every character goes to the ROI holding its centre and the text is read with :func:`reading_order`.

Crack sources (output: ``images/<name>.png``, ``annotations/<name>_PLINE.json``, optional
``masks/<name>.png`` 0/255):

* ``pline``: AI-Hub style ``images/`` + ``annotations/*_PLINE.json`` (also a canonical folder, whose
  ``masks/`` are kept).
* ``png_masks``: CrackForest/DeepCrack style images with masks of the same stem in ``masks/``,
  ``labels/``, ``gt/`` or beside the image as ``<stem>_mask.png`` / ``<stem>_label.png``.

Reliability: each bad sample becomes a ``(file, reason)`` entry of the :class:`ImportReport` and the
import goes on; every path comes from inside the source folder (no ``..``, no absolute paths, no
symlinks that lead outside); images are decoded (with a pixel limit) only where a conversion needs it;
the result is built in a hidden temporary folder and moved into place only when complete, with
``import_report.json`` (``{"format", "imported": n, "problems": [{"file", "reason"}]}``) inside.

Fan-out: each reader plans in this process (walk, pairing, order-dependent decisions), converts
each sample in a job run by ``components.fanout`` (``workers`` processes or a Dask ``client``, from
a per-format crossover on) and folds the results in input order, so the folder and the report are
the same with any number of workers.

Modules: :mod:`.run` (``import_ocr`` / ``import_crack``: one import as a transaction),
:mod:`.formats` (names and detection), one reader per format (:mod:`.labelme`, :mod:`.kaist`,
:mod:`.pline`, :mod:`.png_masks`) over what the readers of a task share (:mod:`.ocr_samples`,
:mod:`.crack_samples`), :mod:`.convert` (plan, jobs and fold), :mod:`.files` (safe access to the
source folder), :mod:`.reading` and :mod:`.report`. This module re-exports the public names.
"""

from __future__ import annotations

from components.data.importers.formats import (
    CRACK_FORMATS,
    DEFAULT_LABEL_MAP,
    IMAGE_EXTS,
    LABEL_MAP_NAME,
    LOSSY_EXTS,
    MASK_DIRS,
    MASK_SUFFIXES,
    OCR_FORMATS,
    detect_crack_format,
    detect_ocr_format,
)
from components.data.importers.kaist import kaist_shapes
from components.data.importers.reading import reading_order
from components.data.importers.report import REPORT_NAME, ImportReport
from components.data.importers.run import import_crack, import_ocr

__all__ = [
    "CRACK_FORMATS",
    "DEFAULT_LABEL_MAP",
    "IMAGE_EXTS",
    "ImportReport",
    "LABEL_MAP_NAME",
    "LOSSY_EXTS",
    "MASK_DIRS",
    "MASK_SUFFIXES",
    "OCR_FORMATS",
    "REPORT_NAME",
    "detect_crack_format",
    "detect_ocr_format",
    "import_crack",
    "import_ocr",
    "kaist_shapes",
    "reading_order",
]
