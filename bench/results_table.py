"""The README's results table, generated from the committed metrics files.

    python -m bench.results_table            # print the table
    python -m bench.results_table --write    # replace the block between the markers in README.md

Every number comes from ``metrics/*.json`` as the pipeline wrote them: the deployed int8 forms
(``export_crack.json`` / ``export_ocr.json``) and their float parents (``evaluate_crack.json`` /
``evaluate_ocr.json``), on the fixed in-distribution test set and on the held-out-style (OOD) set,
each with its 95 % bootstrap interval over frames. A test checks that the README holds exactly
what this prints, so the table cannot go stale.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

START, END = "<!-- results:start (python -m bench.results_table --write) -->", "<!-- results:end -->"
ROWS = {
    "crack": (
        ("export_crack.json", "tflite_int8", "int8 TFLite"),
        ("evaluate_crack.json", "float", "float"),
        ("dice_cracked", "false_alarm_rate", "pixel_dice", "dice"),
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


def replace_block(text: str, block: str) -> str:
    head, sep, rest = text.partition(START)
    if not sep or END not in rest:
        raise ValueError(f"README.md has no '{START}' ... '{END}' block")
    return head + START + "\n" + block + "\n" + END + rest.partition(END)[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.results_table", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the block in README.md")
    parser.add_argument("--readme", type=Path, default=Path("README.md"))
    args = parser.parse_args(argv)
    block = table()
    if args.write:
        args.readme.write_text(replace_block(args.readme.read_text(encoding="utf-8"), block), encoding="utf-8")
        print(f"{args.readme}: results table rewritten")
    else:
        print(block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
