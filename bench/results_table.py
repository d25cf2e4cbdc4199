"""The README's results table, generated from the committed metrics files.

    python -m bench.results_table            # print the tables
    python -m bench.results_table --write    # replace the blocks between the markers in README.md
                                             # (and the peers block in docs/benchmarks.md)

Every number comes from ``metrics/*.json`` as the pipeline wrote them: the deployed int8 forms
(``export_crack.json`` / ``export_ocr.json``) and their float parents (``evaluate_crack.json`` /
``evaluate_ocr.json``), on the fixed in-distribution test set and on the held-out-style (OOD) set,
each with its 95 % bootstrap interval over frames. The second table, OCR peers, comes from
``bench/results/ocr_peers.json`` (``python -m bench.ocr_peers``). A test checks that the README holds
exactly what this prints, so the tables cannot go stale.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

START, END = "<!-- results:start (python -m bench.results_table --write) -->", "<!-- results:end -->"
PEERS_START, PEERS_END = "<!-- peers:start (python -m bench.results_table --write) -->", "<!-- peers:end -->"
PEERS_FILE = Path("bench/results/ocr_peers.json")
READERS = {"ours_int8": "ours (int8)", "rapidocr": "RapidOCR", "easyocr": "EasyOCR", "tesseract": "Tesseract 5"}
CROPS = {"stage1_crops": "frame, our stage 1", "gt_crops": "labelled ROIs"}
ROWS = {
    "crack": (
        ("export_crack.json", "tflite_int8", "int8 TFLite"),
        ("evaluate_crack.json", "float", "float"),
        # not the per-image mean `dice`: it leans on the share of crack-free frames, which test and OOD differ in
        ("dice_cracked", "false_alarm_rate", "pixel_dice"),
    ),
    "ocr": (
        ("export_ocr.json", "onnx_int8", "int8 ONNX"),
        ("evaluate_ocr.json", None, "float"),
        ("string_accuracy", "cer", "char_map50", "roi_precision", "roi_recall"),
    ),
}
LOWER_IS_BETTER = {"cer", "false_alarm_rate"}


def _cell(m: dict, key: str) -> str:
    if key not in m:
        return "-"
    low, high = m.get(f"{key}_ci_low"), m.get(f"{key}_ci_high")
    return f"{m[key]:.3f} [{low:.3f}, {high:.3f}]" if low is not None and high is not None else f"{m[key]:.3f}"


def table(metrics_dir: Path = Path("metrics")) -> str:
    lines = [
        "| model | form | metric | test (training styles) | OOD (held-out styles) | OOD - test |",
        "|---|---|---|---|---|---|",
    ]
    for model, (deployed, parent, keys) in ROWS.items():
        for file, form, label in (deployed, parent):
            path = metrics_dir / file
            if not path.exists():
                continue
            data = json.loads(path.read_text())
            m = data.get(form, {}) if form else data
            if not any(k.endswith("_ood") for k in m):
                continue  # measured before the fixed sets existed: not comparable, left out
            for key in keys:
                gap = f"{m[key + '_ood'] - m[key]:+.3f}" if key in m and key + "_ood" in m else "-"
                name = f"`{key}`" + (" (lower is better)" if key in LOWER_IS_BETTER else "")
                lines.append(
                    f"| {'road crack' if model == 'crack' else 'resistor OCR'} | {label} | {name} | "
                    f"{_cell(m, key)} | {_cell(m, key + '_ood')} | {gap} |"
                )
    return "\n".join(lines)


def peers_table(path: Path = PEERS_FILE) -> str:
    """Our int8 model beside the general OCR engines on the same frames: string accuracy with its
    interval on both sets, CER, p50 time per frame (test set) and how many times slower than ours."""
    sets = json.loads(path.read_text())["sets"]
    test, ood = sets["test"], sets.get("ood", {})
    lines = [
        "| reader | input | `string_accuracy` test | OOD | `cer` test / OOD | ms per frame p50 | x ours |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, input_name in CROPS.items():
        ours_ms = test[f"ours_int8/{kind}"]["ms_per_frame_p50"]
        for reader, label in READERS.items():
            key = f"{reader}/{kind}"
            if key not in test:
                continue
            t, o = test[key], ood.get(key, {})
            cer = f"{t['cer']:.3f} / {o['cer']:.3f}" if o else f"{t['cer']:.3f} / -"
            lines.append(
                f"| {label} | {input_name} | {_cell(t, 'string_accuracy')} | "
                f"{_cell(o, 'string_accuracy') if o else '-'} | {cer} | {t['ms_per_frame_p50']:.1f} | "
                f"{t['ms_per_frame_p50'] / ours_ms:.0f}x |"
            )
    return "\n".join(lines)


def replace_block(text: str, block: str, start: str = START, end: str = END) -> str:
    head, sep, rest = text.partition(start)
    if not sep or end not in rest:
        raise ValueError(f"no '{start}' ... '{end}' block")
    return head + start + "\n" + block + "\n" + end + rest.partition(end)[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.results_table", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the block in README.md")
    parser.add_argument("--readme", type=Path, default=Path("README.md"))
    parser.add_argument("--benchmarks", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args(argv)
    block = table()
    peers = peers_table() if PEERS_FILE.exists() else None
    if not args.write:
        print(block + ("\n\n" + peers if peers else ""))
        return 0
    readme = replace_block(args.readme.read_text(encoding="utf-8"), block)
    if peers:
        readme = replace_block(readme, peers, PEERS_START, PEERS_END)
        bench_doc = replace_block(args.benchmarks.read_text(encoding="utf-8"), peers, PEERS_START, PEERS_END)
        args.benchmarks.write_text(bench_doc, encoding="utf-8")
    args.readme.write_text(readme, encoding="utf-8")
    print(f"{args.readme}: results tables rewritten" + (f"; {args.benchmarks}: peers table" if peers else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
