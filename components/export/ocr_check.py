"""Keep a quantized detector only where the reading holds (``export.ocr.checked_detectors``).

Stage 1 in int8 saves 1.3-2.5 ms of a 13-17 ms frame, but whether it costs accuracy depends on the
trained model: on one AMD model it was half a point better, on one Intel model a point worse, more
than the quantization gate allows (docs/experiments.md). So the export decides per model, before
anything is registered: the deployable (int8) form reads the validation split twice, once as
quantized and once with the checked detector in fp32 (the other detector as deployed), and every
key of ``registry.ocr.max_quantization_drop`` must have its paired-bootstrap shortfall within its
margin, the same non-inferiority test the quantization gate applies on the test set
(``components.registry.gates.paired_checks``). When it fails, the int8 form falls back to the
detector's fp32 file (``record_check``), exactly as for a detector in ``float_detectors``; either way
``ocr_meta.json`` records the decision and its numbers under ``quantization.<detector>.check``.

The validation split, not the test set, decides: the test set stays the judge of the result.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from components.export.ocr_runtime import META_FILE, OnnxTwoStageOcr, load_meta
from components.io import atomic_write_text
from components.ocr.data import Frame
from components.ocr.evaluate import evaluate
from components.registry.gates import Bootstrap, Check, GateResult, ocr_frame_scores, paired_checks


def check_quantized_detector(
    export_dir: str | Path, name: str, frames: Sequence[Frame], margins: dict[str, float], boot: Bootstrap
) -> GateResult:
    """The deployable form against the same form with detector ``name`` in fp32, on ``frames``.
    Without frames (a dataset with no validation split) nothing shows that int8 holds: the check
    fails, and the detector stays fp32."""
    if not frames:
        why = f"no validation frames to check the int8 {name} detector on: kept fp32 (give the data a val split)"
        return GateResult((Check("quantization.frames", False, why),))
    names = [f.name for f in frames]
    scores = {}
    for label, forms in (("int8", None), ("fp32", {name: "fp32"})):
        ev = evaluate(OnnxTwoStageOcr.load(export_dir, "int8", threads=1, forms=forms), list(frames), progress=False)
        scores[label] = ocr_frame_scores(names, ev.frames, ev.roi_records, ev.char_records)
    return paired_checks(scores["int8"], scores["fp32"], margins, boot, f"{name} in fp32", "quantization")


def record_check(export_dir: str | Path, name: str, result: GateResult, split: str, frames: int) -> bool:
    """Write the decision into ``ocr_meta.json``; on a failed check the int8 form falls back to the
    detector's fp32 file and its int8 file is deleted. Returns whether the detector stays int8."""
    export_dir = Path(export_dir)
    meta = load_meta(export_dir)
    check = {"passed": result.passed, "split": split, "frames": frames, "checks": [c.detail for c in result.checks]}
    if result.passed:
        meta["quantization"][name]["check"] = check
    else:
        int8 = export_dir / meta["files"][f"{name}_int8"]["path"]
        meta["files"][f"{name}_int8"] = dict(meta["files"][f"{name}_fp32"])
        meta["quantization"][name] = {"kept_fp32": True, "check": check}
    atomic_write_text(export_dir / META_FILE, json.dumps(meta, indent=2) + "\n")
    if not result.passed:
        int8.unlink()
    return result.passed
