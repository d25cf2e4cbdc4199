"""The benchmark suite's pure helpers (bench/ is plain scripts, not a package): tables, the README
markers, the stage order, the merge of per-thread crack results, the classical crack baseline, and
that the report renders from a minimal results file. No model is loaded; runs in about a second."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from bench import common, crack_baseline, report, run_all, scaling

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_fmt_and_md_table():
    assert common.fmt(None) == "-" and common.fmt(float("nan")) == "-"
    assert common.fmt(1234567) == "1,234,567" and common.fmt(1234.5) == "1,234"
    assert common.fmt(0.123456, 3) == "0.123" and common.fmt(41.04) == "41" and common.fmt(True) == "yes"
    table = common.md_table(["a", "b"], [["x|y", 0.5], [3, None]])
    assert table.splitlines() == ["| a | b |", "|---|---|", "| x\\|y | 0.5 |", "| 3 | - |"]


def test_replace_between_markers_replaces_only_the_block():
    text = f"# T\n\nintro\n\n## Results\n\n{common.README_BEGIN}\nold\n{common.README_END}\n\n## After\nkeep\n"
    out = common.replace_between_markers(text, "new table")
    assert (
        "old" not in out and "new table" in out and out.endswith("## After\nkeep\n") and out.startswith("# T\n\nintro")
    )
    assert common.replace_between_markers(out, "new table") == out  # idempotent
    appended = common.replace_between_markers("# T\n", "body")
    assert appended == f"# T\n\n## Results\n\n{common.README_BEGIN}\nbody\n{common.README_END}\n"


def test_stage_order_follows_outs_and_deps():
    dvc = {
        "stages": {
            "train": {"deps": ["data/manifests/x.parquet", "code.py"], "outs": ["models/m.pt"]},
            "report": {"deps": ["models/m.pt"], "metrics": [{"metrics/r.json": {"cache": False}}]},
            "prepare": {"deps": ["code.py"], "outs": ["data/x"]},
            "validate": {"deps": ["data/x"], "outs": ["data/manifests/x.parquet"]},
        }
    }
    assert scaling.stage_order(dvc) == ["prepare", "validate", "train", "report"]
    real = scaling.stage_order(yaml.safe_load((BENCH.parent / "dvc.yaml").read_text()))
    assert real.index("validate_ocr") < real.index("train_roi") < real.index("train_ocr") < real.index("register_ocr")
    assert real.index("qat_crack") < real.index("export_crack") < real.index("register_crack")
    with pytest.raises(ValueError, match="cycle"):
        scaling.stage_order({"stages": {"a": {"deps": ["b"], "outs": ["a"]}, "b": {"deps": ["a"], "outs": ["b"]}}})


def test_scaling_sizes_reach_the_scaling_command_only(tmp_path):
    by_key = {key: cmd for _, key, cmd in run_all.commands(False, tmp_path, [64, 256])}
    assert by_key["scaling"][by_key["scaling"].index("--sizes") + 1 :][:2] == ["64", "256"]
    assert all("--sizes" not in cmd for key, cmd in by_key.items() if key != "scaling")
    assert "--sizes" not in dict((k, c) for _, k, c in run_all.commands(False, tmp_path))["scaling"]


def test_parts_kept_from_an_earlier_run_keep_its_cpu_and_the_report_names_it():
    previous = {
        "meta": {"cpu": "Old CPU"},
        "peak": {"n": 1},
        "steps": {"peak": {"wall_s": 1.0}, "scaling": {"wall_s": 2.0, "cpu": "Older CPU"}},
    }
    kept = run_all.carried_over(previous)
    assert "meta" not in kept and kept["peak"] == {"n": 1}
    assert kept["steps"]["peak"]["cpu"] == "Old CPU" and kept["steps"]["scaling"]["cpu"] == "Older CPU"
    kept["steps"]["ocr_forms"] = {"wall_s": 3.0, "cpu": "New CPU", "run": "now"}
    md = report.header({**kept, "meta": {"cpu": "New CPU", "cores": 2, "date": "now"}})
    assert "`peak` were measured on Old CPU" in md and "`scaling` were measured on Older CPU" in md
    assert "`ocr_forms` were" not in md
    assert "Another CPU" not in report.header({"meta": {"cpu": "New CPU"}, "steps": {"peak": {"cpu": "New CPU"}}})


def test_merge_crack_keys_latency_by_threads():
    one = {
        "threads": 1,
        "test_images": 3,
        "flops": {"flops_per_frame": 10},
        "baseline": {"dice": 0.2},
        "forms": {
            "tflite_int8": {
                "dice": 0.7,
                "model_bytes": 5,
                "latency": {"1": {"latency_ms_p50": 9}},
                "throughput": {"1": {"images_per_s": 100, "best_batch": 4}},
            }
        },
    }
    two = {
        "threads": 2,
        "test_images": 3,
        "forms": {
            "tflite_int8": {
                "model_bytes": 5,
                "latency": {"2": {"latency_ms_p50": 6}},
                "throughput": {"2": {"images_per_s": 150, "best_batch": 8}},
            }
        },
    }
    m = run_all.merge_crack({"crack_2t": two, "crack_1t": one})
    f = m["forms"]["tflite_int8"]
    assert m["threads"] == [1, 2] and m["baseline"] == {"dice": 0.2} and f["dice"] == 0.7
    assert set(f["latency"]) == {"1", "2"} and f["throughput"]["2"]["best_batch"] == 8


def test_blackhat_otsu_finds_a_dark_line_and_stays_quiet_on_flat_asphalt():
    rng = np.random.default_rng(0)
    image = rng.normal(150, 6, (96, 128, 3)).clip(0, 255).astype(np.uint8)
    truth = np.zeros((96, 128), bool)
    truth[46:50, 10:118] = True  # a 4 px dark crack
    image[truth] = 60
    mask = crack_baseline.segment(image, kernel=11, blur=3, min_area=30, otsu_passes=1)
    assert (mask & truth).sum() / truth.sum() > 0.9 and (mask & ~truth).sum() < 0.05 * truth.sum()
    flat = rng.normal(150, 6, (96, 128, 3)).clip(0, 255).astype(np.uint8)
    assert crack_baseline.segment(flat, kernel=11, blur=9, min_area=400, otsu_passes=2).sum() < 50
    m = crack_baseline.score(image[None], truth[None].astype(np.uint8), kernel=11, blur=3, min_area=30, otsu_passes=1)
    assert m["dice"] > 0.9


def test_report_renders_from_a_minimal_results_file():
    lat = {"1": {"latency_ms_p50": 10.0, "latency_ms_p95": 12.0, "fps": 90.0}}
    tp = {"1": {"images_per_s": 100.0, "best_batch": 2, "by_batch": {"1": 90.0, "2": 100.0}}}
    results = {
        "meta": {
            "cpu": "Test CPU",
            "cores": 2,
            "usable_cores": 2,
            "mode": "quick",
            "date": "2026-01-01",
            "gpu": {"available": False, "names": [], "note": "no GPU"},
            "versions": {"torch": "x"},
        },
        "steps": {
            "peak": {"wall_s": 1.0, "returncode": 0},
            "ssdlite": {"wall_s": 1.0, "returncode": 1, "error": "boom"},
        },
        "peak": {
            "n": 64,
            "reps": 1,
            "threads": {
                "1": {
                    "torch_fp32_gflops": 50.0,
                    "numpy_fp32_gflops": 40.0,
                    "torch_int8_gops": 200.0,
                    "fp32_peak_gflops": 50.0,
                }
            },
        },
        "ocr_forms": {
            "test_frames": 2,
            "latency_frames": 2,
            "warmup": 1,
            "runs": 2,
            "batches": [1, 2],
            "batch_path_matches_single": True,
            "flops": {
                "stage1_flops": 1e8,
                "stage2_flops_per_crop": 2e8,
                "crop_size": 224,
                "rois_per_frame": 2.0,
                "flops_per_frame": 5e8,
            },
            "forms": {
                "onnx_int8": {
                    "roi_ap50": 1.0,
                    "char_map50": 0.6,
                    "string_accuracy": 0.5,
                    "cer": 0.2,
                    "rois": 3,
                    "model_bytes": 1_600_000,
                    "latency": lat,
                    "throughput": tp,
                }
            },
            "input_size": [{"input": "320x240", "pixels": 76800, "flops": 3e8, "1t": lat["1"]}],
        },
        "crack_forms": {
            "test_images": 2,
            "warmup": 1,
            "runs": 2,
            "batches": [1],
            "export": {"stale": True},
            "flops": {"flops_per_frame": 5.5e8, "tf_profiler_flops": 5.6e8, "input": "384x288"},
            "baseline": {
                "dice": 0.2,
                "iou": 0.1,
                "precision": 0.3,
                "recall": 0.4,
                "latency_ms_p50": 5.0,
                "latency_ms_p95": 6.0,
                "settings": {"kernel": 15, "blur": 9, "min_area": 400, "otsu_passes": 2},
                "grid": 4,
                "val_dice": 0.25,
            },
            "forms": {
                "tflite_int8": {
                    "dice": 0.7,
                    "iou": 0.6,
                    "precision": 0.8,
                    "recall": 0.7,
                    "model_bytes": 545_000,
                    "latency": lat,
                    "throughput": tp,
                }
            },
            "input_size": [
                {"input": "384x288", "pixels": 110592, "flops": 5.5e8, "keras_float": lat["1"], "tflite_int8": None}
            ],
        },
        "scaling": {
            "sizes": [12, 24],
            "stages": ["prepare_ocr"],
            "schedule": scaling.TINY,
            "every_size": ["prepare_ocr"],
            "fit": {"prepare_ocr": {"fixed_s": 6.0, "per_frame_s": 0.33}},
            "runs": [
                {"frames": 12, "total_s": 10.0, "stages": {"prepare_ocr": {"wall_s": 10.0, "peak_rss_mb": 300.0}}},
                {"frames": 24, "total_s": 14.0, "stages": {"prepare_ocr": {"wall_s": 14.0, "peak_rss_mb": 310.0}}},
            ],
        },
    }
    md = report.render(results)
    for expected in (
        "Test CPU",
        "ONNX int8 (deployed)",
        "TFLite int8 (deployed)",
        "black-hat + Otsu",
        "`prepare_ocr`",
        "of peak",
        "No GPU",
        "`ssdlite` (boom)",
        "per 224 px square crop",
        "not the model the TFLite files were converted from",
        "n/a",
    ):
        assert expected in md, expected


def test_linear_fit_recovers_fixed_and_per_frame_cost():
    runs = [{"frames": n, "stages": {"a": {"wall_s": 10 + 0.5 * n}, "b": {"wall_s": 3.0}}} for n in (16, 32, 64)]
    runs[0]["stages"]["once"] = {"wall_s": 99.0}
    fit = scaling.linear_fit(runs)
    assert (fit["a"]["fixed_s"], fit["a"]["per_frame_s"]) == (10.0, 0.5) and fit["b"]["per_frame_s"] == 0
    assert "once" not in fit


def test_roi_recall_body_colour_reads_the_body_not_the_marking_or_the_board():
    from bench.roi_recall import BLUE_MARGIN, body_colour

    image = np.full((100, 200, 3), (20, 120, 30), np.uint8)  # green board
    image[20:80, 40:160] = (30, 48, 112)  # a blue body in the box ...
    image[45:55, 95:105] = (235, 210, 110)  # ... with a small ink mark in its middle
    r, g, b = body_colour(image, (40, 20, 160, 80))
    assert (r, g, b) == (30, 48, 112) and b - r > BLUE_MARGIN
