"""Model cards: what a registered version is, what it was trained and judged on, and where it fails.

The card is Markdown, stored inside the MLflow model (``model_card.md``) and as the registered
version's description, so the registry UI shows it beside the version.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.registry.gates import GateResult

INTENDED_USE = {
    "ocr": (
        "Reading the printed value code (3-digit, 4-digit, R-notation, EIA-96) of chip resistors in "
        "top-down camera frames of boards or trays, for incoming inspection and pick-and-place verification. "
        "Input: a whole camera frame; the model finds each resistor and reads its marking."
    ),
    "crack": (
        "Marking crack pixels in road-surface photographs (asphalt, camera looking down), to rate road "
        "segments by masking rate for maintenance planning. Input: one frame; output: its crack mask."
    ),
}

LIMITS = {
    "ocr": [
        "Characters 0-9 and A-Z only; markings rotated more than 50 degrees are outside training.",
        "Letters are rare in the data, so letter-containing codes read less reliably than digit codes.",
        "Trained on synthetic frames unless the data source says otherwise: validate on your own camera first.",
        "Stage 1 runs on the frame downsampled by 4: resistors shorter than ~200 px at full resolution may be missed.",
    ],
    "crack": [
        "Trained at 384x288; other sizes are resized, so hairline cracks in large frames can vanish.",
        "Lane paint, joints, tyre marks and shadows are hard negatives; expect some false positives on them.",
        "Dice is 0 by definition on a crack-free frame with any false-positive pixel: read the masking rate, not "
        "Dice, per frame.",
        "Trained on synthetic frames unless the data source says otherwise: validate on your own roads first.",
    ],
}


@dataclass(frozen=True)
class CardFacts:
    key: str  # "ocr" | "crack"
    name: str  # registered model name
    data_source: str  # params data.<key>.source
    data_hash: str  # DVC hash of the dataset folder
    test_split: str  # fingerprint of the test split
    test_size: int
    git_commit: str
    forms: dict[str, dict]  # model form -> metrics (float parent and quantized, same evaluator)
    deployed_form: str


def render(facts: CardFacts, gates: GateResult) -> str:
    keys = sorted({k for m in facts.forms.values() for k, v in m.items() if isinstance(v, (int, float))})
    header = "| metric | " + " | ".join(facts.forms) + " |"
    lines = [header, "|" + "---|" * (len(facts.forms) + 1)]
    for k in keys:
        cells = [f"{m[k]:.4g}" if isinstance(m.get(k), (int, float)) else "" for m in facts.forms.values()]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    gate_lines = [f"- {'PASS' if c.passed else 'FAIL'} `{c.name}`: {c.detail}" for c in gates.checks]
    return "\n".join(
        [
            f"# {facts.name}",
            "",
            f"Deployed form: **{facts.deployed_form}**. Git commit `{facts.git_commit}`.",
            "",
            "## Intended use",
            INTENDED_USE[facts.key],
            "",
            "## Data",
            f"- source: `{facts.data_source}`, DVC hash `{facts.data_hash}`",
            f"- test split: {facts.test_size} samples, fingerprint `{facts.test_split[:16]}`",
            "",
            "## Metrics (test split, same evaluator for every form)",
            *lines,
            "",
            "## Promotion gates",
            *gate_lines,
            "",
            "## Limits",
            *(f"- {x}" for x in LIMITS[facts.key]),
            "",
            "## Input and output",
            (
                "Input: a table with one column `image`, each cell a base64-encoded PNG or JPEG file "
                '(`mlflow models serve` JSON: `{"dataframe_split": {"columns": ["image"], "data": [["<base64>"]]}}`).'
            ),
            "Output: see the model signature.",
            "",
        ]
    )
