"""Spread over training seeds: a recipe trained N times, each model scored on the fixed sets.

    python -m bench.seeds [--model crack|ocr|roi] [--seeds 0 1 2] [--set crack.train.augment.gamma=0.4 ...] [--out FILE]
                          [--keep-models DIR]

One trained model is one draw: the same recipe on another seed (or another CPU) gives another
model. This trains the float crack segmenter of ``params.yaml`` once per seed, on the prepared
training data (``data/crack``, ``data/manifests/crack.parquet``), and scores each best-epoch model
on the fixed ``test`` and ``ood`` sets (``eval_data_crack``'s outputs) with the pipeline's metric
code. It prints, per headline metric, the mean and the range over seeds, and writes every number
to ``bench/results/seeds_crack[_<tag>].json``. ``--set`` overrides params for this run only (dotted
keys, YAML values), so two recipes can be compared over the same seeds without touching
``params.yaml`` or DVC's state. Nothing is tracked in MLflow or registered.

The float model is what is compared: the quantized forms follow it within the quantization gate.

``--model ocr`` does the same for stage 2 of the OCR: the character detector is trained once per seed
on crops of the frozen stage-1 model in ``models/ocr/roi.pt`` (the pipeline's), and each two-stage
model (PyTorch fp32, ``ocr.eval`` thresholds) is scored on the fixed sets; results in
``bench/results/seeds_ocr[_<tag>].json``. Stage 1 stays one draw: its own spread is not included.

``--model roi`` is the other half: stage 1 is trained once per seed, and each is scored on the fixed
sets alone (``roi_precision``, ``roi_recall``) and together with the pipeline's stage 2
(``models/ocr/char.pt``, trained on crops of the pipeline's stage 1) as the two-stage model; results
in ``bench/results/seeds_roi[_<tag>].json``. ``roi_score_threshold: auto`` is chosen on val per seed.

``--keep-models DIR`` (crack only) saves each seed's best-epoch model as ``DIR/crack_seed<seed>.keras``,
so a change in how models are scored can be measured on the same models without training again.

``--rescore ocr.eval.KEY=VALUE`` (OCR only, repeatable): each trained model is scored a second time
with these reading settings (thresholds, the closer read), under ``rescored`` in each run and
``summary_rescored``: an inference-time setting compared on the same models of several seeds.
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import yaml

from components.bootstrap import Ratio

HEADLINES = {
    "crack": ("dice", "dice_cracked", "false_alarm_rate", "pixel_dice"),
    "ocr": ("string_accuracy", "cer", "char_map50", "value_accuracy"),
    "roi": ("roi_precision", "roi_recall", "string_accuracy", "cer"),
}


def _override(raw: dict, assignment: str) -> None:
    key, _, value = assignment.partition("=")
    *parents, leaf = key.split(".")
    node = raw
    for p in parents:
        node = node[p]
    if leaf not in node:
        raise KeyError(f"--set {key}: no such parameter in params.yaml")
    node[leaf] = yaml.safe_load(value)


def train_and_score(params, seed: int, splits: dict, sets: dict, keep: Path | None = None) -> dict:
    """Train one float model with ``seed``; its metrics (with intervals) on each evaluation set.
    ``keep``: a folder the best-epoch model is saved to (``crack_seed<seed>.keras``), so a scoring
    change can be measured later on the same models without training them again."""
    from components.crack.evaluate import evaluate
    from components.crack.model import from_params, twin
    from components.crack.train import fit, setup_tf
    from flows.crack_common import crack_mask_rules, set_metrics

    c, t = params.crack, params.crack.train
    setup_tf(seed)
    model = from_params(c.model, flexible=True)
    best = {}

    def save(m):
        best["model"] = twin(m, from_params(c.model))

    with tempfile.TemporaryDirectory() as state:
        t0 = time.perf_counter()
        result = fit(
            model,
            splits["train"],
            splits["val"],
            epochs=t.epochs,
            batch_size=t.batch_size,
            lr=t.lr,
            loss=t.loss,
            focal_gamma=t.focal_gamma,
            crack_weight=t.crack_weight,
            augment_cfg=t.augment,
            crop_size=tuple(t.crop_size),
            seed=seed,
            save_cycle=t.epochs,
            state_dir=state,
            fingerprint=f"bench-seed-{seed}",
            save=save,
            log=lambda *_: None,
        )
        train_s = time.perf_counter() - t0
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        best["model"].save(keep / f"crack_seed{seed}.keras")
    out = {"seed": seed, "val_dice": result.best_dice, "best_epoch": result.best_epoch, "train_s": round(train_s, 1)}
    out["families"] = {}
    for name, data in sets.items():
        suffix = "" if name == "test" else f"_{name}"
        result = evaluate(best["model"], data, c.eval.batch_size, rules=crack_mask_rules(params))
        out.update(set_metrics(result, params, suffix))
        out["families"][name] = family_values(result, data, params, name)
    return out


def family_values(result, data, params, set_name: str) -> dict[str, dict[str, float]]:
    """Point values of the crack metrics per style family of one fixed set (no intervals: the
    spread over seeds is what this bench reports)."""
    from components.breakdown import manifest_families
    from components.crack.metrics import frame_ratios
    from flows.paths import set_manifest

    families = np.asarray(manifest_families(set_manifest("crack", set_name), data.names), dtype=object)
    ratios = frame_ratios(result.frames, params.crack.eval.false_alarm_min_area)
    return {
        fam: {k: float(Ratio(r.num[families == fam], r.den[families == fam]).value()) for k, r in ratios.items()}
        for fam in sorted(set(families))
    }


def _run_files(tmp: Path, stem: str, seed: int) -> dict:
    """What a bench run of an OCR trainer writes to (a temporary folder) and how it is told apart."""
    return {
        "checkpoint": tmp / f"{stem}_last.pt",
        "fingerprint": f"bench-seed-{seed}",
        "out": tmp / f"{stem}.pt",
        "seed": seed,
        "progress": False,
        "log": lambda *_: None,
    }


def score_two_stage(roi_path: Path, char_path: Path, thresholds: dict, params, sets: dict, device) -> dict:
    """The two-stage model of these weights, reading as the pipeline does with ``thresholds``
    (``flows.ocr_common.reading_thresholds``), scored on each evaluation set: metrics with intervals,
    ``_<set>`` keys beyond ``test``."""
    from components.ocr.evaluate import evaluate
    from components.ocr.predict import TwoStageOcr
    from flows.ocr_common import set_metrics

    model = TwoStageOcr.load(roi_path, char_path, device=str(device), **thresholds)
    out: dict = {}
    for name, frames in sets.items():
        out.update(set_metrics(evaluate(model, frames, False), params, "" if name == "test" else f"_{name}"))
    return out


def rescore_params(raw: dict, assignments: list[str]):
    """``raw`` params with the ``--rescore`` assignments (``ocr.eval`` keys only), parsed; None if none."""
    from components.config import parse_params

    if not assignments:
        return None
    other = [a for a in assignments if not a.startswith("ocr.eval.")]
    if other:
        raise ValueError(f"--rescore {', '.join(other)}: only ocr.eval settings can change after training")
    raw = copy.deepcopy(raw)
    for assignment in assignments:
        _override(raw, assignment)
    return parse_params(raw)


def train_and_score_ocr(params, seed: int, splits: dict, sets: dict, rescore=None) -> dict:
    """Train one stage-2 model with ``seed`` on crops of the frozen stage 1; the two-stage model's
    metrics (with intervals) on each evaluation set, and with ``rescore``'s reading settings under
    ``rescored`` when given."""
    from components.ocr.model import load_model
    from components.ocr.train import train_char_model
    from flows.ocr_common import ROI_MODEL, reading_thresholds, roi_threshold, setup_torch

    root, ocr = Path.cwd(), params.ocr
    device = setup_torch(ocr)
    char = params.ocr.char
    char = char.model_copy(update={"roi_score_threshold": roi_threshold(root, char.roi_score_threshold)})
    roi_model, roi_spec = load_model(root / ROI_MODEL, device)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        summary = train_char_model(
            splits["train"],
            splits["val"],
            char,
            roi_model,
            roi_spec["size"],
            device=device,
            **_run_files(Path(tmp), "char", seed),
        )
        train_s = time.perf_counter() - t0
        out = {"seed": seed, "train_s": round(train_s, 1), "crops_s": round(summary["crops_s"], 1)}
        thresholds = reading_thresholds(root, ocr.eval)
        out.update(score_two_stage(root / ROI_MODEL, Path(tmp) / "char.pt", thresholds, params, sets, device))
        if rescore is not None:
            again = reading_thresholds(root, rescore.ocr.eval)
            out["rescored"] = score_two_stage(root / ROI_MODEL, Path(tmp) / "char.pt", again, params, sets, device)
    return out


def train_and_score_roi(params, seed: int, splits: dict, sets: dict, rescore=None) -> dict:
    """Train one stage-1 model with ``seed``; with the pipeline's stage 2, the two-stage model's
    metrics (stage-1 precision and recall among them, with intervals) on each evaluation set, and
    with ``rescore``'s reading settings under ``rescored`` when given."""
    from components.ocr.model import load_model
    from components.ocr.threshold import AUTO
    from components.ocr.train import choose_roi_threshold, train_roi_model
    from flows.ocr_common import CHAR_MODEL, STAGE1_THRESHOLDS, reading_thresholds, setup_torch

    root, ocr = Path.cwd(), params.ocr
    device = setup_torch(ocr)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        train_roi_model(
            splits["train"],
            splits["val"],
            ocr.roi,
            device=device,
            **_run_files(Path(tmp), "roi", seed),
        )
        train_s = time.perf_counter() - t0
        out_path = Path(tmp) / "roi.pt"
        evals = [ocr.eval] + ([rescore.ocr.eval] if rescore is not None else [])
        f1 = None  # this model's own F1 choice on val, not the pipeline model's, where a setting is auto
        if any(getattr(e, k) == AUTO for e in evals for k in STAGE1_THRESHOLDS):
            roi_model, spec = load_model(out_path, device)
            f1 = float(choose_roi_threshold(roi_model, spec["size"], splits["val"], device, False).threshold)

        def own_thresholds(e) -> dict:
            auto = {k: f1 for k in STAGE1_THRESHOLDS if getattr(e, k) == AUTO}
            return reading_thresholds(root, e.model_copy(update=auto))

        thresholds = own_thresholds(ocr.eval)
        out = {"seed": seed, "train_s": round(train_s, 1), "roi_score_threshold": thresholds["roi_score_threshold"]}
        out.update(score_two_stage(out_path, root / CHAR_MODEL, thresholds, params, sets, device))
        if rescore is not None:
            again = own_thresholds(rescore.ocr.eval)
            out["rescored"] = score_two_stage(out_path, root / CHAR_MODEL, again, params, sets, device)
    return out


def summarize(runs: list[dict], headline: tuple[str, ...]) -> dict:
    """Mean, min and max over seeds of every headline metric on both sets."""
    out = {}
    for key in headline:
        for suffix in ("", "_ood"):
            values = [r[key + suffix] for r in runs if key + suffix in r]
            if values:
                out[key + suffix] = {
                    "mean": round(sum(values) / len(values), 4),
                    "min": round(min(values), 4),
                    "max": round(max(values), 4),
                }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.seeds", description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(HEADLINES), default="crack")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--rescore", action="append", default=[], metavar="ocr.eval.KEY=VALUE", help="also score with these"
    )
    parser.add_argument("--tag", default="", help="suffix of the results file (e.g. the recipe's name)")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--keep-models", type=Path, metavar="DIR", help="crack: save each seed's model here")
    args = parser.parse_args(argv)

    from components.config import parse_params

    raw = yaml.safe_load(Path(args.params).read_text(encoding="utf-8"))
    for assignment in args.overrides:
        _override(raw, assignment)
    params = parse_params(raw)
    if args.rescore and args.model not in ("ocr", "roi"):
        parser.error("--rescore is for --model ocr or roi")
    if args.keep_models and args.model != "crack":
        parser.error("--keep-models is for --model crack")
    try:
        rescore = rescore_params(raw, args.rescore)
    except (KeyError, ValueError) as exc:
        parser.error(str(exc))
    if args.model in ("ocr", "roi"):
        from flows.ocr_common import load_eval_frames, load_split

        p = params.ocr.char if args.model == "ocr" else params.ocr.roi
        splits = {
            "train": load_split.fn(Path.cwd(), "train", p.max_train_frames),
            "val": load_split.fn(Path.cwd(), "val"),
        }
        sets = load_eval_frames(Path.cwd(), params.ocr.eval.max_frames)
        train_one = partial(train_and_score_ocr if args.model == "ocr" else train_and_score_roi, rescore=rescore)
    else:
        from flows.crack_common import load_eval_sets, load_splits

        splits = load_splits.fn(Path.cwd(), params, ("train", "val"))
        sets, train_one = load_eval_sets.fn(Path.cwd(), params), partial(train_and_score, keep=args.keep_models)
    headline = HEADLINES[args.model]
    runs = []
    for seed in args.seeds:
        runs.append(train_one(params, seed, splits, sets))
        r = runs[-1]
        print(
            f"seed {seed}: "
            + ", ".join(f"{k} {r[k]:.4f} / ood {r[k + '_ood']:.4f}" for k in headline)
            + f" ({r['train_s']:.0f} s)",
            flush=True,
        )
    result = {
        "model": args.model,
        "recipe": args.overrides,
        "seeds": args.seeds,
        "summary": summarize(runs, headline),
        "runs": runs,
    }
    if rescore is not None:
        result["rescore"] = args.rescore
        result["summary_rescored"] = summarize([r["rescored"] for r in runs], headline)
    out = args.out or Path(f"bench/results/seeds_{args.model}{'_' + args.tag if args.tag else ''}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"over seeds {args.seeds} (mean [min, max]):")
    for key, s in result["summary"].items():
        print(f"  {key:24s} {s['mean']:.4f} [{s['min']:.4f}, {s['max']:.4f}]")
    for key, s in result.get("summary_rescored", {}).items():
        print(f"  {key:24s} {s['mean']:.4f} [{s['min']:.4f}, {s['max']:.4f}]  rescored {' '.join(args.rescore)}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
