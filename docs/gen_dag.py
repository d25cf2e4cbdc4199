"""Draw the DVC stage graph of ``dvc.yaml`` as ``docs/img/dag.png`` (matplotlib only, no graphviz).

    python docs/gen_dag.py

An edge A -> B means stage B depends on a file (or a folder holding it) that stage A writes, the
same rule ``dvc dag`` applies; edges implied by a longer path are left out (transitive reduction),
so the picture stays readable (``dvc dag`` prints every edge). Stages are placed in layers by their longest path from
a source
stage, OCR stages on the left and crack stages on the right. Rerun after changing ``dvc.yaml``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import yaml
from matplotlib.patches import FancyBboxPatch

REPO = Path(__file__).resolve().parents[1]
COLOURS = {
    "prepare": "#d9e8fb",
    "eval_data": "#fde9c8",
    "validate": "#fde9c8",
    "train": "#dff3d8",
    "qat": "#dff3d8",
    "evaluate": "#efe0f7",
    "export": "#fbd9d9",
    "register": "#e4e4e4",
}
TOOLS = {
    "prepare": "generate / import",
    "eval_data": "fixed test + OOD sets",
    "validate": "Great Expectations",
    "train_roi": "PyTorch SSD, stage 1",
    "train_ocr": "PyTorch SSD, stage 2",
    "train_crack": "tf-keras UNet, float",
    "qat": "tfmot QAT",
    "evaluate": "metrics + plots",
    "export_ocr": "ONNX int8",
    "export_crack": "TFLite int8",
    "register": "MLflow registry + gates",
}


def _paths(entries) -> list[str]:
    return [next(iter(e)) if isinstance(e, dict) else e for e in entries or []]


def edges(stages: dict) -> list[tuple[str, str]]:
    """(producer, consumer) pairs: a dependency equal to or inside another stage's output."""
    written = {name: _paths(s.get("outs")) + _paths(s.get("metrics")) for name, s in stages.items()}
    out = []
    for consumer, s in stages.items():
        for dep in s.get("deps", []):
            for producer, outs in written.items():
                if producer != consumer and any(dep == o or dep.startswith(o.rstrip("/") + "/") for o in outs):
                    out.append((producer, consumer))
    return sorted(set(out))


def reduce(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The transitive reduction: an edge A -> C is left out when a longer path A -> ... -> C exists."""
    succ: dict[str, set[str]] = {}
    for a, b in pairs:
        succ.setdefault(a, set()).add(b)

    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for n in succ.get(todo.pop(), ()):
                if n in seen:
                    continue
                seen.add(n)
                todo.append(n)
        return seen

    return [(a, c) for a, c in pairs if not any(c in reachable(b) for b in succ.get(a, ()) if b != c)]


def layers(stages: dict, pairs: list[tuple[str, str]]) -> dict[str, int]:
    level = {name: 0 for name in stages}
    for _ in stages:  # longest path; the graph is acyclic (DVC checks it)
        for a, b in pairs:
            level[b] = max(level[b], level[a] + 1)
    return level


def draw(dvc_yaml: Path = REPO / "dvc.yaml", out: Path = REPO / "docs" / "img" / "dag.png") -> Path:
    stages = yaml.safe_load(dvc_yaml.read_text())["stages"]
    pairs = edges(stages)
    level = layers(stages, pairs)
    pairs = reduce(pairs)
    pos = {}
    for side, x0 in (("ocr", 0.0), ("crack", 1.0)):
        for lv in sorted(set(level.values())):
            row = [n for n in stages if n.endswith(side) and level[n] == lv and n not in pos]
            row += [n for n in stages if side == "ocr" and n in ("train_roi",) and level[n] == lv and n not in pos]
            for i, n in enumerate(row):
                pos[n] = (x0 + 0.45 * i, -lv)
    for n in stages:  # anything not named *_ocr / *_crack
        pos.setdefault(n, (0.5, -level[n]))
    xs = [p[0] for p in pos.values()]
    fig, ax = plt.subplots(figsize=(8, 1.0 * (max(level.values()) + 1) + 0.8))
    w, h = 0.36, 0.5
    for a, b in pairs:
        (xa, ya), (xb, yb) = pos[a], pos[b]
        direct = level[b] - level[a] == 1 or xa != xb
        ax.annotate(
            "",
            xy=(xb, yb + h / 2),
            xytext=(xa, ya - h / 2),
            zorder=1,
            arrowprops={
                "arrowstyle": "-|>",
                "color": "#555" if direct else "#999",
                "lw": 1.0,
                "shrinkA": 0,
                "shrinkB": 0,
                "connectionstyle": "arc3" if direct else f"arc3,rad={-0.12 * (level[b] - level[a])}",
            },
        )
    for n, (x, y) in pos.items():
        kind = "eval_data" if n.startswith("eval_data") else n.split("_")[0]
        ax.add_patch(
            FancyBboxPatch(
                (x - w / 2, y - h / 2),
                w,
                h,
                boxstyle="round,pad=0.02",
                fc=COLOURS.get(kind, "white"),
                ec="#333",
                lw=1,
                zorder=3,
            )
        )
        ax.text(x, y + 0.07, n, ha="center", va="center", fontsize=9, family="monospace", weight="bold", zorder=4)
        ax.text(
            x, y - 0.13, TOOLS.get(n, TOOLS.get(kind, "")), ha="center", va="center", fontsize=7, color="#444", zorder=4
        )
    ax.text(0.225, 0.55, "resistor OCR", ha="center", fontsize=11, weight="bold")
    ax.text(1.225, 0.55, "road-crack segmentation", ha="center", fontsize=11, weight="bold")
    ax.set_xlim(min(xs) - 0.55, max(xs) + 0.3)
    ax.set_ylim(-max(level.values()) - 0.5, 0.85)
    ax.axis("off")
    fig.suptitle(
        "DVC stages (dvc.yaml; edges implied by a longer path left out). "
        "Every stage runs a Prefect flow and logs one MLflow run",
        fontsize=9,
        y=0.02,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


if __name__ == "__main__":
    print(draw())
