"""Batch prediction end to end through ``python -m flows.predict`` on tiny real exports (ONNX OCR,
TFLite crack): bad files, Ctrl-C and --resume, video with a stride, assets join, CSR masks,
``models:/`` references and the deployment's parameters.

The CLI runs with ``--no-prefect`` (a temporary Prefect server costs about 20 s); the flow body is
the same function.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import scipy.sparse
import yaml

from components.data.synth_resistors import render_resistor_frame
from flows.predict import PredictOptions, main
from tests.helpers import REPO

CLI = ["--no-prefect", "--no-progress"]


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    return [render_resistor_frame([11, i], 640, 480)[0] for i in range(2)]


@pytest.fixture(scope="module")
def ocr_model(tmp_path_factory, frames) -> Path:
    """The tiny untrained two-stage OCR of the export tests, exported to ONNX (a few seconds)."""
    import torch

    from components.export.ocr_onnx import ExportSettings, export_ocr
    from tests.helpers.ocr import tiny_two_stage

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("ocr_model") / "ocr"
    export_ocr(tiny_two_stage(), frames, out, ExportSettings(opset=17), source={"test": "tiny"}, log=lambda *a: None)
    return out


@pytest.fixture(scope="module")
def crack_model(tmp_path_factory) -> Path:
    """A tiny QAT UNet converted to a full-integer TFLite model (seconds; TensorFlow only here)."""
    import tensorflow as tf

    from components.crack.data import normalize
    from components.crack.qat import quantize
    from components.export.crack_tflite import export
    from tests.components.export.tiny_models import H, W, mini_unet

    tf.keras.utils.set_random_seed(0)
    qat = quantize(mini_unet())
    calib = np.random.default_rng(0).integers(0, 255, (4, H, W, 3), np.uint8)
    qat(normalize(calib), training=True)
    out = tmp_path_factory.mktemp("crack_model") / "crack"
    export(qat, calib, out, forms=("int8",))
    return out


def _jpegs(folder: Path, frames, n: int, prefix: str = "f") -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        cv2.imwrite(str(folder / f"{prefix}{i:03d}.jpg"), cv2.cvtColor(frames[i % len(frames)], cv2.COLOR_RGB2BGR))
        names.append(f"{prefix}{i:03d}.jpg")
    return names


def _tables(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_parquet(out / "results.parquet"), pd.read_csv(out / "results.csv", keep_default_na=False)


def test_folder_with_a_corrupt_jpeg_and_a_text_file(tmp_path, frames, ocr_model, capsys):
    inp, out = tmp_path / "in", tmp_path / "out"
    _jpegs(inp, frames, 2)
    _jpegs(inp / "sub", frames, 1, prefix="s")
    good = (inp / "f000.jpg").read_bytes()
    (inp / "sub/broken.jpg").write_bytes(good[: len(good) // 3])  # truncated camera upload
    (inp / "readme.txt").write_text("not an image")
    assert main(["ocr", str(inp), "--model", str(ocr_model), "--out", str(out), *CLI]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["processed"] == 4 and summary["errors"] == 1 and summary["skipped_files"] == ["readme.txt"]

    df, csv = _tables(out)
    assert set(df.image) == {"f000.jpg", "f001.jpg", "sub/s000.jpg", "sub/broken.jpg"}
    bad = df[df.image == "sub/broken.jpg"]
    assert len(bad) == 1 and bad.status.iloc[0] == "error" and bad.roi.iloc[0] == -1
    assert "broken.jpg" in bad.error.iloc[0] and "cannot be decoded" in bad.error.iloc[0]
    ok = df[df.status == "ok"]
    assert (ok.error == "").all() and (ok.model == str(ocr_model.resolve())).all()
    assert ok.roi.ge(0).any(), "the tiny model finds ROIs on the synthetic frames"
    assert (out / "skipped.txt").read_text().startswith("readme.txt\t")
    assert sorted(p.relative_to(out / "overlays").as_posix() for p in (out / "overlays").rglob("*.png")) == [
        "f000.jpg.png",
        "f001.jpg.png",
        "sub/s000.jpg.png",
    ]
    assert not list(inp.rglob("*.png")), "nothing is written next to the inputs"
    # the CSV is the same table; lists are JSON
    assert list(csv.image) == list(df.image) and list(csv.roi) == list(df.roi)
    assert [json.loads(v) for v in csv.char_labels] == [list(v) for v in df.char_labels]
    # a second run without --resume refuses to mix into the results
    assert main(["ocr", str(inp), "--model", str(ocr_model), "--out", str(out), *CLI]) == 2
    assert "--resume" in capsys.readouterr().err


def test_temporaries_of_a_killed_run_are_removed(tmp_path, frames, ocr_model, caplog):
    """A SIGKILL between writing an overlay's temporary file and renaming it leaves ``.*.tmp.png``."""
    inp, out = tmp_path / "in", tmp_path / "out"
    _jpegs(inp, frames, 1)
    (out / "overlays" / "sub").mkdir(parents=True)
    stale = [
        out / "overlays" / ".f000.jpg.png.k3j2h1.tmp.png",
        out / "overlays" / "sub" / ".x.jpg.png.abcd.tmp.png",
        out / ".results.parquet.zz9.tmp.parquet",
    ]
    for p in stale:
        p.write_bytes(b"half an overlay")
    (out / "overlays" / "keep.png").write_bytes(b"not ours to delete")
    assert main(["ocr", str(inp), "--model", str(ocr_model), "--out", str(out), *CLI]) == 0
    assert not any(p.exists() for p in stale)
    assert (out / "overlays" / "keep.png").exists() and (out / "overlays" / "f000.jpg.png").exists()
    assert not [p for p in out.rglob(".*") if ".tmp." in p.name]
    assert "removed 3 temporary file(s)" in caplog.text


def test_output_inside_the_input_is_refused(tmp_path, ocr_model, capsys):
    (tmp_path / "in").mkdir()
    assert (
        main(["ocr", str(tmp_path / "in"), "--model", str(ocr_model), "--out", str(tmp_path / "in/preds"), *CLI]) == 2
    )
    assert "inside the input folder" in capsys.readouterr().err
    assert not (tmp_path / "in/preds").exists()


# Runs the CLI with each prediction slowed down, so that Ctrl-C lands mid-run, and reports whether
# torch or TensorFlow got imported (the batch path must not need them). Ctrl-C is set to raise
# KeyboardInterrupt as in a terminal: a child inherits an ignored SIGINT from its parent, and in
# one full xdist run the worker had it ignored (the CLI then ran to the end and exited 0).
_SLOW_CLI = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
import components.predict.predictors as P
call = P.OcrPredictor.__call__
def slow(self, *a, **k):
    time.sleep(0.2)
    return call(self, *a, **k)
P.OcrPredictor.__call__ = slow
from flows.predict import main
code = main(sys.argv[1:])
heavy = [m for m in ("torch", "tensorflow") if m in sys.modules]
if heavy:
    print("imported", heavy, file=sys.stderr)
    code = 3
sys.exit(code)
"""


@pytest.mark.slow
def test_ctrl_c_flushes_then_resume_completes(tmp_path, frames, ocr_model):
    inp, out = tmp_path / "in", tmp_path / "out"
    names = _jpegs(inp, frames, 20)
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "PIPELINE_RUN_ID")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _SLOW_CLI,
            "ocr",
            str(inp),
            "--model",
            str(ocr_model),
            "--out",
            str(out),
            "--flush-every",
            "3",
            *CLI,
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while not (out / ".parts/part-000000.parquet").exists():
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "no chunk written in 90 s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err[-3000:]
    assert "interrupted" in err and "imported" not in err
    # the runner's INFO summary reaches stderr without Prefect (importing Prefect used to hide it)
    assert re.search(r"INFO INTERRUPTED, flushed: \d+ images this run .* holds \d+ images", err), err[-3000:]

    df, csv = _tables(out)
    done = list(dict.fromkeys(df.image))
    assert 3 <= len(done) < len(names) and done == names[: len(done)]
    assert list(csv.image) == list(df.image) and list(csv.roi) == list(df.roi)
    assert not (out / ".parts").exists(), "the parts were merged"
    first = df.copy()

    assert main(["ocr", str(inp), "--model", str(ocr_model), "--out", str(out), "--resume", *CLI]) == 0
    df, csv = _tables(out)
    assert list(dict.fromkeys(df.image)) == names
    assert not df.duplicated(["image", "roi"]).any() and len(csv) == len(df)
    pd.testing.assert_frame_equal(df.iloc[: len(first)].reset_index(drop=True), first, check_like=False)


def test_video_with_stride(tmp_path, frames, ocr_model, capsys):
    video, out = tmp_path / "clip.mp4", tmp_path / "out"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
    for i in range(10):
        writer.write(cv2.resize(cv2.cvtColor(frames[i % 2], cv2.COLOR_RGB2BGR), (320, 240)))
    writer.release()
    assert main(["ocr", str(video), "--model", str(ocr_model), "--out", str(out), "--stride", "4", *CLI]) == 0
    summary = json.loads(capsys.readouterr().out)
    df, _ = _tables(out)
    assert list(dict.fromkeys(df.image)) == ["clip.mp4#frame=0", "clip.mp4#frame=4", "clip.mp4#frame=8"]
    assert (df.status == "ok").all()
    annotated = out / "clip.annotated.mp4"
    assert summary["videos"] == [str(annotated)]
    cap = cv2.VideoCapture(str(annotated))
    assert cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    cap.release()


@pytest.mark.slow
def test_crack_masks_as_csr_with_assets(tmp_path, crack_model, capsys):
    from components.export.crack_runtime import TfliteSegmenter

    inp, out = tmp_path / "roads", tmp_path / "out"
    inp.mkdir()
    rng = np.random.default_rng(3)
    images = {f"r{i}.png": rng.integers(0, 255, (70 + 10 * i, 100 + 20 * i, 3), np.uint8) for i in range(3)}
    for name, img in images.items():
        cv2.imwrite(str(inp / name), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    assets = tmp_path / "assets.json"
    assets.write_text(
        json.dumps(
            [
                {"name": "r0", "latitude": 45.07, "longitude": 7.68, "timestamp": "2026-05-01T10:00:00Z"},
                {"name": "r2", "latitude": 45.08, "longitude": 7.69, "timestamp": "2026-05-01T10:01:00Z"},
                {"name": "no_such_image", "latitude": 0.0, "longitude": 0.0},
            ]
        )
    )
    bad = tmp_path / "bad_assets.json"
    bad.write_text('[{"name": "r0", "latitude": 45.0},')
    assert main(["crack", str(inp), "--model", str(crack_model), "--out", str(out), "--assets", str(bad), *CLI]) == 2
    assert str(bad) in capsys.readouterr().err and not out.exists()

    assert main(["crack", str(inp), "--model", str(crack_model), "--out", str(out), "--assets", str(assets), *CLI]) == 0
    assert json.loads(capsys.readouterr().out)["assets_matched"] == 2
    df, csv = _tables(out)
    assert list(df.image) == list(images) and (df.status == "ok").all()
    segmenter = TfliteSegmenter.load(crack_model)
    for row, img in zip(df.itertuples(), images.values()):
        mask = (
            scipy.sparse.csr_matrix(
                (np.ones(len(row.mask_indices)), row.mask_indices, row.mask_indptr), shape=(row.height, row.width)
            )
            .toarray()
            .astype(bool)
        )
        expected = segmenter.predict(img)
        assert mask.shape == img.shape[:2] and (mask == expected.mask).all()
        assert row.masking_rate == pytest.approx(expected.masking_rate)
    assert df.masking_rate.between(0.05, 0.95).all(), "partial masks, so the CSR check means something"
    assert list(df.latitude.iloc[[0, 2]]) == [45.07, 45.08] and np.isnan(df.latitude.iloc[1])
    assert pd.isna(df.timestamp.iloc[1]) and "no_such_image" not in set(df.name.dropna())
    assert json.loads(csv.mask_indptr.iloc[0]) == df.mask_indptr.iloc[0].tolist()


def test_tiling_option_reads_large_frames_as_asked(tmp_path, crack_model, capsys):
    """``--tiling always`` reads a frame 1.5x the model input in tiles at full resolution, ``never``
    shrinks it, ``auto`` follows the size rule (shrinks it: not above 2x); each equals the runtime's
    own ``predict(tiling=...)``. For OCR the option is refused with a clear message."""
    from components.export.crack_runtime import TfliteSegmenter
    from tests.components.export.tiny_models import H, W

    inp = tmp_path / "roads"
    inp.mkdir()
    img = np.random.default_rng(4).integers(0, 255, (int(1.5 * H), int(1.5 * W), 3), np.uint8)
    cv2.imwrite(str(inp / "big.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    segmenter = TfliteSegmenter.load(crack_model)
    masks = {}
    for tiling in ("auto", "always", "never"):
        out = tmp_path / f"out_{tiling}"
        argv = ["crack", str(inp), "--model", str(crack_model), "--out", str(out), "--tiling", tiling, *CLI]
        assert main(argv) == 0
        row = _tables(out)[0].iloc[0]
        masks[tiling] = (
            scipy.sparse.csr_matrix(
                (np.ones(len(row.mask_indices)), row.mask_indices, row.mask_indptr), shape=(row.height, row.width)
            )
            .toarray()
            .astype(bool)
        )
        np.testing.assert_array_equal(masks[tiling], segmenter.predict(img, tiling=tiling).mask)
    assert (masks["auto"] == masks["never"]).all() and not (masks["always"] == masks["never"]).all()
    with pytest.raises(SystemExit):
        main(["ocr", str(inp), "--model", str(crack_model), "--out", str(tmp_path / "o"), "--tiling", "always", *CLI])
    assert "applies to crack models only" in capsys.readouterr().err


@pytest.mark.slow
def test_models_uri_resolves_alias_to_version(tmp_path, frames, ocr_model, monkeypatch, capsys):
    import mlflow

    shipped = tmp_path / "registered/model/artifacts/export"  # the pyfunc model's layout
    shipped.mkdir(parents=True)
    for f in ocr_model.iterdir():
        (shipped / f.name).write_bytes(f.read_bytes())
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model("resistor-ocr")
    version = client.create_model_version("resistor-ocr", (tmp_path / "registered/model").as_uri())
    client.set_registered_model_alias("resistor-ocr", "champion", version.version)

    inp = tmp_path / "in"
    _jpegs(inp, frames, 1)
    assert (
        main(["ocr", str(inp), "--model", "models:/resistor-ocr@champion", "--out", str(tmp_path / "out"), *CLI]) == 0
    )
    df, _ = _tables(tmp_path / "out")
    assert set(df.model) == {"models:/resistor-ocr/1"}
    capsys.readouterr()
    assert main(["crack", str(inp), "--model", "models:/resistor-ocr/1", "--out", str(tmp_path / "o2"), *CLI]) == 2
    assert "not a crack export" in capsys.readouterr().err
    assert main(["ocr", str(inp), "--model", "models:/resistor-ocr@staging", "--out", str(tmp_path / "o3"), *CLI]) == 2
    assert "not found in the registry" in capsys.readouterr().err


def test_deployment_parameters_fit_the_flow():
    spec = yaml.safe_load((REPO / "prefect.yaml").read_text())
    (dep,) = [d for d in spec["deployments"] if d["name"] == "batch-predict"]
    assert dep["entrypoint"] == "flows/predict.py:batch_predict"
    options = PredictOptions(**dep["parameters"]["options"])
    assert options.model == "models:/resistor-ocr@champion"


# Two commands in one checkout (issue #22 item 13): batch prediction with Prefect while the pipeline
# runs. A second temporary Prefect server on the pipeline's SQLite database timed out after 68 s.


def _prefect_env(home: Path, **extra: str) -> dict[str, str]:
    drop = ("MLFLOW_TRACKING_URI", "PIPELINE_RUN_ID")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API") and k not in drop}
    return {**env, "PREFECT_HOME": str(home), **extra}


def _predict_cli(inp: Path, out: Path, model: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "flows.predict",
        "ocr",
        str(inp),
        "--model",
        str(model),
        "--out",
        str(out),
        "--no-progress",
    ]
    return subprocess.run(cmd, check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def test_predict_shares_the_prefect_server_of_a_running_pipeline(tmp_path, frames, ocr_model, monkeypatch):
    import requests
    from prefect.settings import PREFECT_HOME, temporary_settings

    from flows.pipeline import prefect_server

    home, inp, out = tmp_path / ".prefect", tmp_path / "in", tmp_path / "out"
    _jpegs(inp, frames, 2)
    monkeypatch.setenv("PREFECT_HOME", str(home))  # the server process's database lives here
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings(updates={PREFECT_HOME: home}), prefect_server() as url:
        assert json.loads((home / "api_server.json").read_text())["url"] == url
        proc = _predict_cli(inp, out, ocr_model, _prefect_env(home))
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert f"using the Prefect server of the pipeline running in this checkout ({url})" in proc.stderr
        assert "Starting temporary server" not in proc.stderr
        runs = requests.post(
            f"{url}/flow_runs/filter", json={"flows": {"name": {"any_": ["batch_predict"]}}}, timeout=30
        ).json()
        assert [r["state_type"] for r in runs] == ["COMPLETED"], runs
    assert not (home / "api_server.json").exists(), "the announcement goes with the server"
    assert json.loads(proc.stdout[proc.stdout.index("{") :])["processed"] == 2


def test_predict_goes_on_without_the_api_when_prefects_server_does_not_start(tmp_path, frames, ocr_model):
    inp, out = tmp_path / "in", tmp_path / "out"
    _jpegs(inp, frames, 2)
    # a real temporary server that cannot answer within 1 s: Prefect gives up as it did after 68 s
    env = _prefect_env(tmp_path / ".prefect", PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="1")
    proc = _predict_cli(inp, out, ocr_model, env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    warnings = [line for line in proc.stderr.splitlines() if "running without the Prefect API" in line]
    assert len(warnings) == 1 and "did not start" in warnings[0], proc.stderr[-3000:]
    assert re.search(r"INFO done: 2 images this run", proc.stderr), proc.stderr[-3000:]
    assert json.loads(proc.stdout[proc.stdout.index("{") :])["processed"] == 2


@pytest.mark.slow  # waits out the Prefect client retries against the stopped server (~45 s)
def test_predict_finishes_when_the_pipelines_server_goes_away(tmp_path, frames, ocr_model, monkeypatch):
    """The pipeline ends (and stops its server) while a prediction shared it: the prediction still
    completes its results and exits 0 with one warning (it used to end in a ConnectError, exit 1)."""
    from prefect.settings import PREFECT_HOME, temporary_settings

    from flows.pipeline import prefect_server

    home, inp, out = tmp_path / ".prefect", tmp_path / "in", tmp_path / "out"
    names = _jpegs(inp, frames, 12)
    monkeypatch.setenv("PREFECT_HOME", str(home))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings(updates={PREFECT_HOME: home}), prefect_server():
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _SLOW_CLI,
                "ocr",
                str(inp),
                "--model",
                str(ocr_model),
                "--out",
                str(out),
                "--flush-every",
                "3",
                "--no-progress",
            ],
            cwd=REPO,
            env=_prefect_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 300
            while not (out / ".parts/part-000000.parquet").exists():
                assert proc.poll() is None, proc.communicate()[1][-3000:]
                assert time.monotonic() < deadline, "no chunk written in 300 s"
                time.sleep(0.05)
        except BaseException:
            proc.kill()
            raise
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    assert "the pipeline's Prefect server went away during the run" in err, err[-3000:]
    df, _ = _tables(out)
    assert list(dict.fromkeys(df.image)) == names


# --- fan-out on Dask: a real 2-worker LocalCluster (worker processes) against one process ---------

FANOUT = ["--workers", "2", "--fanout-min", "0"]


def _same_outputs(a: Path, b: Path) -> None:
    pd.testing.assert_frame_equal(pd.read_parquet(a / "results.parquet"), pd.read_parquet(b / "results.parquet"))
    assert (a / "results.csv").read_bytes() == (b / "results.csv").read_bytes()
    pngs = sorted(p.relative_to(a).as_posix() for p in a.rglob("*.png"))
    assert pngs == sorted(p.relative_to(b).as_posix() for p in b.rglob("*.png"))
    assert all((a / p).read_bytes() == (b / p).read_bytes() for p in pngs)


def test_two_dask_workers_write_the_tables_of_one_process(tmp_path, frames, ocr_model, crack_model, capsys):
    inp = tmp_path / "in"
    _jpegs(inp, frames, 9)
    _jpegs(inp / "sub", frames, 4, prefix="s")
    good = (inp / "f000.jpg").read_bytes()
    (inp / "sub/broken.jpg").write_bytes(good[: len(good) // 3])
    for kind, model in (("ocr", ocr_model), ("crack", crack_model)):
        one, two = tmp_path / f"{kind}1", tmp_path / f"{kind}2"
        summaries = []
        for out, extra in ((one, []), (two, FANOUT)):
            assert main([kind, str(inp), "--model", str(model), "--out", str(out), *CLI, *extra]) == 0
            summaries.append(json.loads(capsys.readouterr().out))
        assert [(s["processed"], s["errors"]) for s in summaries] == [(14, 1), (14, 1)]
        _same_outputs(one, two)
        assert len(list((two / "overlays").rglob("*.png"))) == 13

    video = tmp_path / "clip.mp4"  # frames decoded here, sent out, the video written here
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
    for i in range(12):
        writer.write(cv2.resize(cv2.cvtColor(frames[i % 2], cv2.COLOR_RGB2BGR), (320, 240)))
    writer.release()
    assert (
        main(["ocr", str(video), "--model", str(ocr_model), "--out", str(tmp_path / "v1"), "--stride", "2", *CLI]) == 0
    )
    assert (
        main(
            [
                "ocr",
                str(video),
                "--model",
                str(ocr_model),
                "--out",
                str(tmp_path / "v2"),
                "--stride",
                "2",
                *CLI,
                *FANOUT,
            ]
        )
        == 0
    )
    _same_outputs(tmp_path / "v1", tmp_path / "v2")
    cap = cv2.VideoCapture(str(tmp_path / "v2/clip.annotated.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 6
    cap.release()


def test_workers_load_the_model_once_each(tmp_path, frames, crack_model, dask_client, monkeypatch):
    from components.predict import runner
    from components.predict.predictors import PredictorSpec
    from components.predict.sources import open_source
    from components.predict.store import ResultStore
    from tests.helpers.fanout import loads_of, on_cluster

    inp = tmp_path / "in"
    _jpegs(inp, frames, 24)
    spec = PredictorSpec("crack", crack_model, "tiny", 1)
    summary, batches = on_cluster(
        dask_client,
        lambda: runner.run_batch(
            open_source(inp),
            spec,
            ResultStore(tmp_path / "out", "crack"),
            progress=False,
            client=dask_client,
            min_fanout=0,
            overlays=False,
        ),
    )
    assert summary.processed == 24 and len(batches) >= 2
    loads = dask_client.run(loads_of, spec)
    assert sorted(loads.values()) == [1, 1], "each worker loaded the model once, whatever the number of shards"


# The parent consumes the results slowly, so Ctrl-C lands while the workers have shards in flight.
_SLOW_PARENT_CLI = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
import components.predict.store as S
add = S.ResultStore.add
def slow(self, rows):
    time.sleep(0.3)
    return add(self, rows)
S.ResultStore.add = slow
from flows.predict import main
sys.exit(main(sys.argv[1:]))
"""


def test_ctrl_c_with_dask_workers_keeps_a_prefix_then_resume_completes(tmp_path, frames, ocr_model):
    inp, out, ref = tmp_path / "in", tmp_path / "out", tmp_path / "ref"
    names = _jpegs(inp, frames, 30)
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "PIPELINE_RUN_ID")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _SLOW_PARENT_CLI,
            "ocr",
            str(inp),
            "--model",
            str(ocr_model),
            "--out",
            str(out),
            "--flush-every",
            "3",
            *CLI,
            *FANOUT,
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        while not (out / ".parts/part-000000.parquet").exists():
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "no chunk written in 180 s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err[-3000:]
    df, _ = _tables(out)
    done = list(dict.fromkeys(df.image))
    assert 3 <= len(done) < len(names) and done == names[: len(done)], "a prefix of the input, as in one process"
    assert not (out / ".parts").exists()

    assert main(["ocr", str(inp), "--model", str(ocr_model), "--out", str(out), "--resume", *CLI, *FANOUT]) == 0
    assert main(["ocr", str(inp), "--model", str(ocr_model), "--out", str(ref), *CLI]) == 0
    _same_outputs(ref, out)


def test_batch_predict_flow_fans_out_on_its_dask_task_runner(tmp_path, frames, crack_model, prefect_server, caplog):
    from flows.predict import batch_predict

    inp = tmp_path / "in"
    _jpegs(inp, frames, 6)
    base = {"kind": "crack", "input": str(inp), "model": str(crack_model), "progress": False, "fanout_min": 0}
    caplog.set_level("INFO")
    summary = batch_predict(PredictOptions(**base, out=str(tmp_path / "two"), workers=2))
    assert summary["processed"] == 6 and "Creating a new Dask cluster" in caplog.text
    batch_predict(PredictOptions(**base, out=str(tmp_path / "one")))
    _same_outputs(tmp_path / "one", tmp_path / "two")
