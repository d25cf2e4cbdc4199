"""The per-family table of an evaluating stage: ``reports/families/<stage>.csv``.

Called at the end of ``evaluate_*`` and ``export_*``, after their per-frame tables are written: for
every model form and fixed set, each headline metric per family of frames, with its 95 % bootstrap
interval (``components.breakdown``). The table is small and kept in git (``cache: false``), so
``git diff`` shows which family a change moved; it also goes to the stage's MLflow run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from components.breakdown import FAMILIES_REPORTS, stage_breakdown, write_breakdown
from components.per_frame import PER_FRAME
from flows.paths import SETS, set_manifest

KEYS = {
    "crack": ("dice_cracked", "false_alarm_rate", "pixel_dice"),
    "ocr": ("string_accuracy", "cer", "roi_precision", "roi_recall"),
}


def family_report(st, task: str, ratios_of: Callable[[dict], dict]) -> Path:
    """Write and log ``reports/families/<stage>.csv`` for stage ``st`` of ``task`` (crack | ocr);
    ``ratios_of`` is the task's ``frame_ratios`` (per-frame columns -> metric ratios)."""
    b = st.params.bootstrap
    rows = stage_breakdown(
        st.path(PER_FRAME / st.name),
        {name: st.path(set_manifest(task, name)) for name in SETS},
        ratios_of,
        KEYS[task],
        b.resamples,
        b.seed,
        b.confidence,
    )
    path = FAMILIES_REPORTS / f"{st.name}.csv"
    write_breakdown(st.path(path), rows)
    st.log_artifact(path, artifact_path="families")
    return path
