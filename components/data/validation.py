"""Great Expectations validation of the manifests (docs/architecture.md#data-formats, #reliability-rules).

The manifest builder has already opened every file; here the rules live as GX expectations over
the manifest tables, so the checks are declarative, reported as GX data docs (HTML) and readable by
anyone who knows GX. Each failed expectation names the offending rows (``unexpected_index_column
_names``), which become a per-sample list of reasons: every bad sample is listed, none is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.expectations.row_conditions import Column

from components.data.ocr_format import CHAR_CLASSES, MAX_TEXT_LEN, ROI_LABEL

ROI = {"row_condition": Column("kind") == "roi"}  # rules that apply to ROI rows of the box table
CHAR = {"row_condition": Column("kind") == "char"}


@dataclass
class Rule:
    """One expectation with the sentence a person reads when a sample breaks it."""

    expectation: gxe.Expectation
    meaning: str
    show: tuple[str, ...] = ()  # columns whose values go into the message


@dataclass(frozen=True)
class Outcome:
    """How one rule fared on one table, for the offline summary report."""

    table: str
    meaning: str
    expectation: str
    success: bool
    unexpected: int
    rows: int


def _size_rules(min_size: tuple[int, int], max_size: tuple[int, int], channels: list[int]) -> list[Rule]:
    return [
        Rule(gxe.ExpectColumnValuesToBeInSet(column="status", value_set=["ok"]), "file is unusable", ("reason",)),
        # the manifest already left out all but the first copy of each image (by sorted path); this
        # rule guards that no two *usable* samples share their bytes
        Rule(
            gxe.ExpectColumnValuesToBeUnique(column="sha256", row_condition=Column("status") == "ok"),
            "duplicate image content (same sha256 as another usable sample)",
            ("sha256",),
        ),
        Rule(
            gxe.ExpectColumnValuesToBeBetween(column="width", min_value=min_size[0], max_value=max_size[0]),
            f"image width outside [{min_size[0]}, {max_size[0]}]",
            ("width",),
        ),
        Rule(
            gxe.ExpectColumnValuesToBeBetween(column="height", min_value=min_size[1], max_value=max_size[1]),
            f"image height outside [{min_size[1]}, {max_size[1]}]",
            ("height",),
        ),
        Rule(
            gxe.ExpectColumnValuesToBeInSet(column="channels", value_set=channels),
            f"channels not in {channels}",
            ("channels",),
        ),
        Rule(
            gxe.ExpectColumnValuesToBeInSet(column="split", value_set=["train", "val", "test", "ood"]),
            "unknown split",
            ("split",),
        ),
    ]


def ocr_sample_rules(min_size, max_size, max_rois: int) -> list[Rule]:
    return _size_rules(min_size, max_size, [3]) + [
        Rule(
            gxe.ExpectColumnPairValuesToBeEqual(column_A="width", column_B="annotated_width"),
            "imageWidth in the JSON differs from the image",
            ("width", "annotated_width"),
        ),
        Rule(
            gxe.ExpectColumnPairValuesToBeEqual(column_A="height", column_B="annotated_height"),
            "imageHeight in the JSON differs from the image",
            ("height", "annotated_height"),
        ),
        Rule(
            gxe.ExpectColumnValuesToBeBetween(column="n_rois", min_value=0, max_value=max_rois),
            f"more than {max_rois} ROIs",
            ("n_rois",),
        ),
    ]


def ocr_box_rules() -> list[Rule]:
    vocab = [ROI_LABEL, *CHAR_CLASSES]
    return [
        Rule(
            gxe.ExpectColumnValuesToBeInSet(column="label", value_set=vocab),
            "label not in the vocabulary (resistor, 0-9, A-Z)",
            ("label",),
        ),
        Rule(
            gxe.ExpectColumnValuesToBeBetween(column="x1", min_value=0), "box starts left of the image", ("label", "x1")
        ),
        Rule(
            gxe.ExpectColumnValuesToBeBetween(column="y1", min_value=0), "box starts above the image", ("label", "y1")
        ),
        Rule(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="image_width", column_B="x2", or_equal=True),
            "box ends right of the image",
            ("label", "x2", "image_width"),
        ),
        Rule(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="image_height", column_B="y2", or_equal=True),
            "box ends below the image",
            ("label", "y2", "image_height"),
        ),
        Rule(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="x2", column_B="x1"),
            "degenerate box (x2 <= x1)",
            ("label", "x1", "x2"),
        ),
        Rule(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="y2", column_B="y1"),
            "degenerate box (y2 <= y1)",
            ("label", "y1", "y2"),
        ),
        Rule(gxe.ExpectColumnValuesToNotBeNull(column="group_id"), "box without group_id", ("label",)),
        Rule(
            gxe.ExpectColumnValueLengthsToBeBetween(column="text", min_value=1, max_value=MAX_TEXT_LEN, **ROI),
            f"ROI text must have 1-{MAX_TEXT_LEN} characters",
            ("text",),
        ),
        Rule(
            gxe.ExpectColumnValuesToBeInSet(column="chars_match_text", value_set=[True], **ROI),
            "ROI text does not match its character boxes",
            ("text", "group_id"),
        ),
        Rule(
            gxe.ExpectColumnValuesToBeInSet(column="inside_roi", value_set=[True], **CHAR),
            "character box not inside its ROI",
            ("label", "group_id"),
        ),
    ]


def crack_sample_rules(min_size, max_size, max_coverage: float) -> list[Rule]:
    return _size_rules(min_size, max_size, [3]) + [
        Rule(
            gxe.ExpectColumnValuesToBeBetween(column="mask_coverage", min_value=0.0, max_value=max_coverage),
            f"mask covers more than {max_coverage:.0%} of the image",
            ("mask_coverage",),
        ),
    ]


def split_rules() -> list[Rule]:
    return [
        Rule(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="count", column_B="minimum", or_equal=True),
            "split has fewer usable samples than validation.min_split_size",
            ("count", "minimum"),
        )
    ]


def split_table(samples: pd.DataFrame, bad: set[str], minimum: dict[str, int]) -> pd.DataFrame:
    ok = samples[(samples.status == "ok") & ~samples.name.isin(bad)]
    return pd.DataFrame(
        [
            {
                "name": f"split:{s}",
                "path": f"split:{s}",
                "split": s,
                "count": int((ok.split == s).sum()),
                "minimum": int(m),
            }
            for s, m in minimum.items()
        ]
    )


class Validator:
    """An ephemeral GX context whose data docs go to ``docs_dir``; one suite per table."""

    def __init__(self, dataset: str, root: Path, docs_dir: Path):
        self.dataset = dataset
        self.root = Path(root)
        self.docs_dir = Path(docs_dir)
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.context.add_data_docs_site(
            site_name="reports",
            site_config={
                "class_name": "SiteBuilder",
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(self.docs_dir.resolve()),
                },
            },
        )
        self.source = self.context.data_sources.add_pandas(f"{dataset}_manifest")
        self.outcomes: list[Outcome] = []

    def check(self, table: str, frame: pd.DataFrame, rules: list[Rule]) -> tuple[dict[str, list[str]], list[str]]:
        """Run ``rules`` over ``frame``; return reasons per sample name and the failed rule texts."""
        batch = self.source.add_dataframe_asset(table).add_batch_definition_whole_dataframe("all")
        suite = self.context.suites.add(gx.ExpectationSuite(name=f"{self.dataset}_{table}"))
        for i, rule in enumerate(rules):
            rule.expectation.meta = {"rule": i, "meaning": rule.meaning}
            suite.add_expectation(rule.expectation)
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{self.dataset}_{table}", data=batch, suite=suite)
        )
        checkpoint = self.context.checkpoints.add(
            gx.Checkpoint(
                name=f"{self.dataset}_{table}",
                validation_definitions=[definition],
                actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=["reports"])],
                result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["row_id"]},
            )
        )
        frame = frame.reset_index(drop=True).assign(row_id=lambda f: range(len(f)))
        result = checkpoint.run(batch_parameters={"dataframe": frame})
        bad: dict[str, list[str]] = {}
        failed: list[str] = []
        for run in result.run_results.values():
            for r in run.results:
                rule = rules[r.expectation_config.meta["rule"]]
                self.outcomes.append(
                    Outcome(
                        table,
                        rule.meaning,
                        r.expectation_config.type,
                        bool(r.success),
                        int(r.result.get("unexpected_count") or 0),
                        len(frame),
                    )
                )
                if r.success:
                    continue
                if r.exception_info and r.exception_info.get("raised_exception"):
                    failed.append(f"{table}: {rule.meaning}: GX error {r.exception_info.get('exception_message')}")
                    continue
                failed.append(f"{table}: {rule.meaning}")
                for hit in r.result.get("unexpected_index_list") or []:
                    row = frame.iloc[int(hit["row_id"])]
                    if "reason" in rule.show:  # the manifest builder already wrote the full reason
                        reason = str(row["reason"])
                    else:
                        details = ", ".join(f"{c}={row[c]}" for c in rule.show)
                        reason = f"{self.root / row['path']}: {rule.meaning}" + (f" ({details})" if details else "")
                    bad.setdefault(str(row["name"]), []).append(reason)
        return bad, failed

    def build_docs(self) -> Path:
        self.context.build_data_docs(site_names=["reports"])
        return self.docs_dir / "index.html"


# ------------------------------------------------------------------------------ whole datasets ---


class DataValidationError(RuntimeError):
    """Raised under ``on_error: fail``; the message lists every bad sample with its reasons."""


@dataclass
class DatasetReport:
    samples: pd.DataFrame  # the manifest, with status/reason final
    boxes: pd.DataFrame | None  # OCR only
    bad: dict[str, list[str]]  # sample name -> reasons
    failed_rules: list[str]
    docs_index: Path
    outcomes: list[Outcome]


def _merge(into: dict[str, list[str]], more: dict[str, list[str]]) -> None:
    for name, reasons in more.items():
        into.setdefault(name, []).extend(r for r in reasons if r not in into.get(name, []))


def _finish(
    validator: Validator, samples: pd.DataFrame, boxes, bad, failed, min_split: dict[str, int]
) -> DatasetReport:
    split_bad, split_failed = validator.check("splits", split_table(samples, set(bad), min_split), split_rules())
    failed += split_failed
    samples = samples.copy()
    flagged = samples.name.isin(set(bad))
    samples.loc[flagged, "status"] = "error"
    samples.loc[flagged, "reason"] = samples.loc[flagged, "name"].map(lambda n: "; ".join(bad[n]))
    _merge(bad, split_bad)  # split shortfalls are dataset-level: listed, but no sample row to mark
    return DatasetReport(samples, boxes, bad, failed, validator.build_docs(), validator.outcomes)


def validate_ocr(
    samples: pd.DataFrame,
    boxes: pd.DataFrame,
    root: Path,
    docs_dir: Path,
    *,
    min_size,
    max_size,
    max_rois: int,
    min_split: dict[str, int],
) -> DatasetReport:
    validator = Validator("ocr", root, docs_dir)
    bad, failed = validator.check("samples", samples, ocr_sample_rules(min_size, max_size, max_rois))
    box_bad, box_failed = validator.check("boxes", boxes, ocr_box_rules())
    _merge(bad, box_bad)
    return _finish(validator, samples, boxes, bad, failed + box_failed, min_split)


def validate_crack(
    samples: pd.DataFrame,
    root: Path,
    docs_dir: Path,
    *,
    min_size,
    max_size,
    max_coverage: float,
    min_split: dict[str, int],
) -> DatasetReport:
    validator = Validator("crack", root, docs_dir)
    bad, failed = validator.check("samples", samples, crack_sample_rules(min_size, max_size, max_coverage))
    return _finish(validator, samples, None, bad, failed, min_split)


def describe_bad(bad: dict[str, list[str]], limit: int | None = None) -> str:
    """One line per bad sample and reason, for error messages and logs."""
    lines = [f"  {name}: {reason}" for name, reasons in sorted(bad.items()) for reason in reasons]
    if limit is not None and len(lines) > limit:
        lines = lines[:limit] + [f"  ... and {len(lines) - limit} more (see the bad-sample list in the report)"]
    return "\n".join(lines)


def validate_dataset(
    dataset: str,
    samples: pd.DataFrame,
    boxes: pd.DataFrame | None,
    root: Path,
    docs_dir: Path,
    rules,
    min_split: dict[str, int],
) -> DatasetReport:
    """``validate_ocr`` or ``validate_crack`` with the thresholds of ``rules`` (``params.validation``):
    the one place that maps the params onto the checks, for the training data and the fixed sets."""
    if dataset == "ocr":
        return validate_ocr(
            samples,
            boxes,
            root,
            docs_dir,
            min_size=rules.ocr.min_size,
            max_size=rules.ocr.max_size,
            max_rois=rules.ocr.max_rois_per_image,
            min_split=min_split,
        )
    return validate_crack(
        samples,
        root,
        docs_dir,
        min_size=rules.crack.min_size,
        max_size=rules.crack.max_size,
        max_coverage=rules.crack.max_mask_coverage,
        min_split=min_split,
    )
