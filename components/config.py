"""Typed pipeline configuration, loaded once from ``params.yaml``.

DVC reads ``params.yaml`` to decide what reruns; this schema makes sure the same file is what the
code expects: a wrong type, a missing key, an unknown key, a key given twice or a range whose
minimum exceeds its maximum fails with the key's dotted name and the file. Stages take the
sub-model they need (``params.data.ocr``), not the whole configuration.

Profiles (``profiles/<name>.yaml``) hold partial overrides; ``apply-profile`` merges one into
``params.yaml`` so that DVC sees and records the change.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from components.crack.config import CrackParams
from components.export.config import ExportParams
from components.io import atomic_write_text
from components.ocr.config import OcrParams
from components.registry.config import RegisterParams
from components.schema import Size, Strict, check_within

PARAMS_FILE = Path("params.yaml")
PROFILES_DIR = Path("profiles")


class Splits(Strict):
    train: float = Field(gt=0, lt=1)
    val: float = Field(ge=0, lt=1)
    test: float = Field(ge=0, lt=1)

    @model_validator(mode="after")
    def _sum_to_one(self) -> Splits:
        if abs(self.train + self.val + self.test - 1.0) > 1e-6:
            raise ValueError(f"train + val + test must be 1, got {self.train + self.val + self.test}")
        return self


class DatasetSpec(Strict):
    """What both datasets share: where the data comes from and the synthetic frames' number and size."""

    source: str = Field(min_length=1)  # synthetic | a folder under data/sources/
    format: str  # each dataset's own choices
    num_frames: int = Field(gt=0)
    width: int = Field(gt=0)
    height: int = Field(gt=0)


class OcrData(DatasetSpec):
    format: Literal["auto", "labelme", "kaist"]
    families: list[str] = Field(min_length=1)  # synthetic style families of training (and the in-distribution test set)


class CrackData(DatasetSpec):
    format: Literal["auto", "pline", "png_masks"]
    line_thickness: int = Field(gt=0, le=50)
    families: list[str] = Field(min_length=1)


class EvalSets(Strict):
    test: str = Field(min_length=1)  # synthetic | a folder under data/sources/ (in-distribution test set)
    ood: str = Field(min_length=1)  # synthetic | a folder under data/sources/ (held-out styles)
    ood_families: list[str] = Field(min_length=1)  # synthetic ood: families never used in training


class CrackEvalSets(EvalSets):
    # synthetic test set only: crack-free frames added after the num_frames, so the false-alarm rate
    # (and the gates on it) rests on thousands of frames, not the ~240 crack-free ones among 1,000
    test_crack_free: int = Field(ge=0)


class EvalDataParams(Strict):
    seed: int  # its own seed: no frame is shared with the training data
    num_frames: int = Field(gt=0)  # per synthetic set
    ocr: EvalSets
    crack: CrackEvalSets


class BootstrapParams(Strict):
    resamples: int = Field(ge=100)
    confidence: float = Field(gt=0.5, lt=1)
    seed: int


class DataParams(Strict):
    seed: int
    workers: int = Field(gt=0)
    splits: Splits
    max_pixels: int = Field(gt=0)
    ocr: OcrData
    crack: CrackData


class MinSplitSize(Strict):
    train: int = Field(ge=0)
    val: int = Field(ge=0)
    test: int = Field(ge=0)


class SizeLimits(Strict):
    """Accepted image sizes: ``min_size`` <= ``max_size`` in width and in height."""

    min_size: Size
    max_size: Size

    @model_validator(mode="after")
    def _ordered(self) -> SizeLimits:
        check_within(self.min_size, self.max_size, "min_size", "max_size")
        return self


class OcrValidation(SizeLimits):
    max_rois_per_image: int = Field(gt=0)


class CrackValidation(SizeLimits):
    max_mask_coverage: float = Field(gt=0, le=1)


class ValidationParams(Strict):
    on_error: Literal["fail", "quarantine"]
    min_split_size: MinSplitSize
    ocr: OcrValidation
    crack: CrackValidation


class MlflowParams(Strict):
    tracking_uri: str
    experiment: str


class Params(Strict):
    data: DataParams
    eval_data: EvalDataParams
    bootstrap: BootstrapParams
    validation: ValidationParams
    ocr: OcrParams
    crack: CrackParams
    export: ExportParams
    registry: RegisterParams
    mlflow: MlflowParams

    @model_validator(mode="after")
    def _ood_held_out(self) -> Params:
        for task in ("ocr", "crack"):
            shared = set(getattr(self.eval_data, task).ood_families) & set(getattr(self.data, task).families)
            if shared:
                raise ValueError(
                    f"eval_data.{task}.ood_families {sorted(shared)} are also training families "
                    f"(data.{task}.families): an OOD set must hold styles never trained on"
                )
        return self


class ParamsError(ValueError):
    """params.yaml does not match the schema; the message names the file and each bad key."""


def _format_errors(exc: ValidationError, source: Path) -> str:
    lines = [f"{source}: {exc.error_count()} invalid parameter(s):"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "<root>"
        if err["type"] == "extra_forbidden":
            msg = "unknown key (not in the schema; typo?)"
        elif err["type"] == "missing":
            msg = "missing key"
        elif err["type"] == "value_error" and isinstance(err.get("input"), dict):  # a rule across keys
            msg = err["msg"].removeprefix("Value error, ")
        else:
            msg = f"{err['msg']} (got {err.get('input')!r})"
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def parse_params(raw: dict, source: Path = PARAMS_FILE) -> Params:
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        raise ParamsError(_format_errors(exc, source)) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in one mapping is an error (PyYAML keeps
    the last silently, so an edit to the first copy would change nothing)."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise ParamsError(
                    f"duplicate key {key!r} at line {key_node.start_mark.line + 1} (first at line {seen[key] + 1})"
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def read_yaml(path: Path):
    """The YAML document in ``path``; ParamsError (naming the file) when unreadable, invalid or with a duplicate key."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # a SafeLoader
    except OSError as exc:
        raise ParamsError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML ({exc})") from exc
    except ParamsError as exc:
        raise ParamsError(f"{path}: {exc}") from None


def load_params(path: str | Path = PARAMS_FILE) -> Params:
    """Load and check ``params.yaml``; raise ParamsError naming the file and the offending keys."""
    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping at the top level")
    return parse_params(raw, path)


def deep_merge(base: dict, override: dict, _prefix: str = "") -> dict:
    """Return ``base`` with ``override`` merged in; an override key absent from base is an error."""
    out = dict(base)
    for key, value in override.items():
        dotted = f"{_prefix}{key}"
        if key not in base:
            raise ParamsError(f"profile sets unknown key {dotted!r}")
        if isinstance(value, dict) and isinstance(base[key], dict):
            out[key] = deep_merge(base[key], value, dotted + ".")
        else:
            out[key] = value
    return out


def _merge_in_place(doc, override: dict) -> None:
    """Write ``override``'s leaves into the round-trip document ``doc`` (keys already checked by
    :func:`deep_merge`): mappings are merged key by key, so every comment and the key order stay; a
    replaced list keeps the flow or block style it had."""
    from ruamel.yaml.comments import CommentedSeq

    for key, value in override.items():
        old = doc[key]
        if isinstance(value, dict) and isinstance(old, dict):
            _merge_in_place(old, value)
        elif isinstance(value, list) and isinstance(old, CommentedSeq):
            new = CommentedSeq(value)
            if old.fa.flow_style():
                new.fa.set_flow_style()
            doc[key] = new
        else:
            doc[key] = value


PROFILE_HEADER = "# profile '{}' applied over the demo defaults (python -m components.config apply-profile)\n"


def apply_profile(name: str, params_path: Path = PARAMS_FILE, profiles_dir: Path = PROFILES_DIR) -> Params:
    """Merge ``profiles/<name>.yaml`` into ``params.yaml`` (checked before writing).

    The file is edited as a ruamel.yaml round-trip document: only the values the profile sets change;
    comments, key order and layout stay, and a first line records the profile applied last."""
    import io

    from ruamel.yaml import YAML

    profile_path = profiles_dir / f"{name}.yaml"
    if not profile_path.exists():
        known = sorted(p.stem for p in profiles_dir.glob("*.yaml"))
        raise ParamsError(f"{profile_path}: no such profile (known: {', '.join(known) or 'none'})")
    text = params_path.read_text(encoding="utf-8")
    override = yaml.safe_load(profile_path.read_text(encoding="utf-8")) or {}
    merged = deep_merge(yaml.safe_load(text), override)
    params = parse_params(merged, profile_path)
    rt = YAML()  # round-trip: comments and order survive
    rt.preserve_quotes = True
    rt.width = 4096  # never re-wrap a line
    rt.indent(mapping=2, sequence=4, offset=2)
    doc = rt.load(text)
    _merge_in_place(doc, override)
    out = io.StringIO()
    rt.dump(doc, out)
    body = out.getvalue()
    first, _, rest = body.partition("\n")
    if first.startswith("# profile '") and "applied over the demo defaults" in first:
        body = rest  # one header line, naming the profile applied last
    atomic_write_text(params_path, PROFILE_HEADER.format(name) + body)
    return params


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.config", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("check", help="validate params.yaml")
    ap = sub.add_parser("apply-profile", help="merge profiles/NAME.yaml into params.yaml")
    ap.add_argument("name")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "check":
            load_params()
            print(f"{PARAMS_FILE}: ok")
        else:
            apply_profile(args.name)
            print(f"{PARAMS_FILE}: profile {args.name!r} applied")
    except ParamsError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
