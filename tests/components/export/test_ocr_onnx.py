"""OCR export: fp32 parity with PyTorch, int8 QDQ, the torch-free runtime, and sha256 verification."""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import onnx
import pytest
import torch

from components.export.ocr_onnx import (
    ExportSettings,
    ParityError,
    check_parity,
    default_boxes,
    export_ocr,
    parity,
    qdq_count,
    quantize_int8,
    staged_dir,
)
from components.export.ocr_runtime import (
    META_FILE,
    NMS_TABLE_MAX,
    ExportIntegrityError,
    OnnxTwoStageOcr,
    batched_nms,
    load_meta,
    postprocess,
)
from components.ocr.data import load_frames
from components.ocr.pipeline import roi_crops
from components.registry.gates import Bootstrap
from tests.helpers import REPO
from tests.helpers.data import make_resistor_dataset
from tests.helpers.ocr import tiny_two_stage


def test_fp32_graphs_match_pytorch_and_pass_the_checker(ocr_export):
    rng = np.random.default_rng(0)
    for name, model, spec, batch in (
        ("roi", ocr_export.ocr.roi_model, ocr_export.ocr.roi_spec, 1),
        ("char", ocr_export.ocr.char_model, ocr_export.ocr.char_spec, 3),
    ):
        path = ocr_export.dir / f"{name}_fp32.onnx"
        onnx.checker.check_model(onnx.load(str(path)), full_check=True)
        w, h = spec["size"]
        x = rng.random((batch, 3, h, w), dtype=np.float32)  # batch 3: stage 2 has a dynamic batch
        worst = parity(path, model, spec, [x])
        assert worst["scores"] < 1e-4 and worst["boxes"] < 1e-4, (name, worst)
        assert ocr_export.meta["parity"][name]["scores"] < 1e-3


def test_parity_check_fails_loudly_naming_the_file(ocr_export, tmp_path):
    model, spec = ocr_export.ocr.roi_model, ocr_export.ocr.roi_spec
    w, h = spec["size"]
    x = np.random.default_rng(1).random((1, 3, h, w), dtype=np.float32)
    changed = copy.deepcopy(model)
    with torch.no_grad():
        changed.head.classification_head.module_list[0].bias[::2].add_(1.0)  # background logits
    path = ocr_export.dir / "roi_fp32.onnx"
    with pytest.raises(ParityError, match="roi_fp32.onnx.*scores"):
        check_parity(path, changed, spec, [x], atol=1e-3)


def test_int8_has_qdq_nodes_keeps_the_tail_float_and_is_smaller(ocr_export):
    for name in ("roi", "char"):
        fp32, int8 = ocr_export.dir / f"{name}_fp32.onnx", ocr_export.dir / f"{name}_int8.onnx"
        model = onnx.load(str(int8))
        onnx.checker.check_model(model, full_check=True)
        assert qdq_count(int8) > 20 and qdq_count(fp32) == 0
        assert int8.stat().st_size < 0.7 * fp32.stat().st_size  # tiny model: the default boxes weigh a lot
        # decode + softmax stay float: the outputs come from float ops, no Q/DQ after the head
        producers = {o: n.op_type for n in model.graph.node for o in n.output}
        assert producers["scores"] == "Softmax" and producers["boxes"] == "Min"
        consumers = {i: n.op_type for n in model.graph.node for i in n.input}
        tail = [n for n in model.graph.node if n.op_type in ("Exp", "Softmax", "Min")]
        assert tail and all(consumers.get(n.output[0]) != "QuantizeLinear" for n in tail)
        q = ocr_export.meta["quantization"][name]
        assert q["float_tail"] and q["per_channel"] and q["calibration_images"] >= 1


def _activation_ranges(path) -> dict[str, tuple[float, int]]:
    """(scale, zero point) of each activation QuantizeLinear in a QDQ graph."""
    model = onnx.load(str(path))
    init = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    return {
        n.input[0]: (float(init[n.input[1]]), int(init[n.input[2]]))
        for n in model.graph.node
        if n.op_type == "QuantizeLinear" and n.input[0] not in init
    }


def test_entropy_calibration_clips_outliers_that_minmax_keeps(tmp_path):
    """ONNX Runtime's quantize_static runs entropy with 128 histogram bins, which leaves one candidate
    range, the full one: "entropy" was minmax. Ours must clip rare outliers, and a ReLU output must
    keep zero at the bottom of its uint8 range."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Conv2d(8, 4, 3)).eval()
    fp32 = tmp_path / "net.onnx"
    torch.onnx.export(net, torch.zeros(1, 3, 16, 16), str(fp32), input_names=["images"], dynamo=False)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((1, 3, 16, 16)).astype(np.float32) for _ in range(16)]
    inputs[3][0, 0, 5, 5] = 60.0  # one outlier pixel, 15 sigma out
    ranges = {}
    for method in ("minmax", "entropy"):
        quantize_int8(fp32, tmp_path / f"{method}.onnx", inputs, per_channel=True, method=method, float_tail=False)
        ranges[method] = _activation_ranges(tmp_path / f"{method}.onnx")
    assert ranges["minmax"].keys() == ranges["entropy"].keys()
    x_minmax, x_entropy = ranges["minmax"]["images"][0], ranges["entropy"]["images"][0]
    assert x_entropy < 0.5 * x_minmax  # the input's scale is no longer set by the one outlier
    relu = [k for k in ranges["entropy"] if "Relu" in k]
    assert relu and all(ranges["entropy"][k][1] == 0 for k in relu)


def test_meta_holds_what_inference_needs(ocr_export):
    meta = load_meta(ocr_export.dir)
    ocr = ocr_export.ocr
    assert meta["schema_version"] == 1
    assert meta["pipeline"] == {
        "crop_margin": 0.08,
        "roi_score_threshold": 0.3,
        "char_score_threshold": 0.2,
        "dedupe_iou": 0.35,
        "grammar_min_prob": 0.2,
        "crop": "square",
        "unreadable_roi_threshold": 0.0,
        "invalid_roi_threshold": 0.0,
        "zoom_glyph_height": 0.0,
        "zoom_max": 2.5,
        "turned_read": False,
    }
    for name, spec in (("roi", ocr.roi_spec), ("char", ocr.char_spec)):
        d = meta["detectors"][name]
        assert d["input_size"] == list(spec["size"]) and d["classes"] == list(spec["classes"])
        assert (d["score_threshold"], d["nms_iou"], d["detections"]) == (
            spec["score_threshold"],
            spec["nms_iou"],
            spec["detections"],
        )
    assert sorted(meta["files"]) == ["char_fp32", "char_int8", "roi_fp32", "roi_int8"]
    assert all(len(f["sha256"]) == 64 for f in meta["files"].values())


def test_the_unreadable_roi_rule_and_the_closer_and_turned_reads_travel_with_the_export(ocr_frames, tmp_path):
    ocr = tiny_two_stage()
    ocr.config = dataclasses.replace(
        ocr.config,
        unreadable_roi_threshold=0.7,
        invalid_roi_threshold=0.6,
        zoom_glyph_height=0.25,
        zoom_max=2.0,
        turned_read=True,
    )
    export_ocr(ocr, ocr_frames, tmp_path / "ocr", ExportSettings(opset=17), {}, log=lambda *a: None)
    pipeline = load_meta(tmp_path / "ocr")["pipeline"]
    assert (pipeline["unreadable_roi_threshold"], pipeline["invalid_roi_threshold"]) == (0.7, 0.6)
    assert (pipeline["zoom_glyph_height"], pipeline["zoom_max"]) == (0.25, 2.0)
    config = OnnxTwoStageOcr.load(tmp_path / "ocr", "int8", 1).config
    assert (config.unreadable_roi_threshold, config.invalid_roi_threshold) == (0.7, 0.6)
    assert (config.zoom_glyph_height, config.zoom_max, config.turned_read) == (0.25, 2.0, True)
    # an export from before the closer and turned reads has no such keys: it reads in one pass
    meta = load_meta(tmp_path / "ocr")
    for key in ("zoom_glyph_height", "zoom_max", "turned_read"):
        del meta["pipeline"][key]
    (tmp_path / "ocr" / META_FILE).write_text(json.dumps(meta))
    config = OnnxTwoStageOcr.load(tmp_path / "ocr", "int8", 1).config
    assert (config.zoom_glyph_height, config.turned_read) == (0.0, False)


@pytest.mark.parametrize("n", [3, 60, NMS_TABLE_MAX, NMS_TABLE_MAX + 300])
def test_batched_nms_keeps_what_torchvision_keeps(n):
    """Both ways of computing the overlaps (all pairs at once up to NMS_TABLE_MAX candidates, one row
    per kept box above it) give torchvision's batched_nms, ties in score included."""
    from torchvision.ops import batched_nms as tv_batched_nms

    rng = np.random.default_rng(n)
    xy = rng.uniform(0, 150, (n, 2)).astype(np.float32)
    boxes = np.concatenate([xy, xy + rng.uniform(0, 40, (n, 2)).astype(np.float32)], 1)
    scores = np.round(rng.uniform(0, 1, n), 2).astype(np.float32)  # rounded: many ties
    labels = rng.integers(1, 4, n)
    ref = tv_batched_nms(torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(labels), 0.45)
    np.testing.assert_array_equal(batched_nms(boxes, scores, labels, 0.45), ref.numpy())
    np.testing.assert_array_equal(batched_nms(boxes, scores, labels, 0.45, limit=5), ref.numpy()[:5])


def test_postprocess_matches_torchvision_ssd(ocr_export):
    """Per-class threshold, top-k and class-wise NMS against SSD.postprocess_detections itself."""
    ssd, spec = ocr_export.ocr.char_model, ocr_export.ocr.char_spec
    w, h = spec["size"]
    anchors = default_boxes(ssd, spec)
    g = torch.Generator().manual_seed(3)
    reg = torch.randn(1, len(anchors), 4, generator=g) * 0.5
    logits = torch.randn(1, len(anchors), spec["num_classes"], generator=g) * 4
    ref = ssd.postprocess_detections({"bbox_regression": reg, "cls_logits": logits}, [anchors], [(h, w)])[0]
    boxes = torch.stack([ssd.box_coder.decode_single(reg[0], anchors)])
    boxes[..., 0::2] = boxes[..., 0::2].clamp(0, w)
    boxes[..., 1::2] = boxes[..., 1::2].clamp(0, h)
    b, lab, s = postprocess(
        boxes[0].numpy(),
        torch.softmax(logits[0], -1).numpy(),
        spec["score_threshold"],
        spec["detections"] * 2,
        spec["nms_iou"],
        spec["detections"],
    )
    assert len(ref["boxes"]) == len(b) > 3
    np.testing.assert_array_equal(lab, ref["labels"].numpy())
    np.testing.assert_allclose(s, ref["scores"].numpy(), rtol=1e-6)
    np.testing.assert_allclose(b, ref["boxes"].numpy(), atol=1e-4)
    # the top-k classes of each kept box, as TopKSSD keeps them
    *_, top_l, top_s = postprocess(
        boxes[0].numpy(),
        torch.softmax(logits[0], -1).numpy(),
        spec["score_threshold"],
        spec["detections"] * 2,
        spec["nms_iou"],
        spec["detections"],
        class_topk=3,
    )
    np.testing.assert_array_equal(top_l, ref["topk_labels"].numpy())
    np.testing.assert_allclose(top_s, ref["topk_scores"].numpy(), rtol=1e-6)


def _same(a, b, char_atol: float = 0.05):
    assert len(a.rois) == len(b.rois) > 0
    for x, y in zip(a.rois, b.rois):
        np.testing.assert_allclose(x.box, y.box, atol=0.05)
        assert x.text == y.text and x.char_labels == y.char_labels
        assert (x.raw_text, x.valid, x.value_ohm, x.code_kind, x.status) == (
            y.raw_text,
            y.valid,
            y.value_ohm,
            y.code_kind,
            y.status,
        )
        np.testing.assert_allclose(x.score, y.score, atol=1e-4)
        np.testing.assert_allclose(x.char_boxes, y.char_boxes, atol=char_atol)
    np.testing.assert_array_equal(a.all_char_labels, b.all_char_labels)
    np.testing.assert_allclose(a.all_char_scores, b.all_char_scores, atol=1e-4)


def test_onnx_fp32_pipeline_gives_the_same_results_as_pytorch(ocr_export, ocr_frames):
    onnx_ocr = OnnxTwoStageOcr.load(ocr_export.dir, form="fp32", threads=1)
    assert onnx_ocr.config == ocr_export.ocr.config
    texts = 0
    for image in ocr_frames:
        ref, got = ocr_export.ocr(image), onnx_ocr(image)
        _same(ref, got)
        texts += sum(len(r.text) for r in got.rois)
    assert texts > 0  # the comparison covered read characters
    int8 = OnnxTwoStageOcr.load(ocr_export.dir, form="int8", threads=2)(ocr_frames[0])
    assert len(int8.rois) > 0


def test_upright_strips_export_and_run_the_same_on_onnx(ocr_export_upright, ocr_frames):
    """Stage 2 on 96x48 upright strips: the export records the crop mode, the runtime cuts the same
    strips (same preprocessing function) and gives PyTorch's results; int8 runs too."""
    meta = load_meta(ocr_export_upright.dir)
    assert meta["pipeline"]["crop"] == "upright" and meta["detectors"]["char"]["input_size"] == [96, 48]
    onnx_ocr = OnnxTwoStageOcr.load(ocr_export_upright.dir, form="fp32", threads=1)
    assert onnx_ocr.config == ocr_export_upright.ocr.config and onnx_ocr.config.strip_size == (96, 48)
    cfg = onnx_ocr.config
    for image in ocr_frames:
        ref, got = ocr_export_upright.ocr(image), onnx_ocr(image)
        assert len(ref.rois) == len(got.rois) > 0
        np.testing.assert_allclose([r.box for r in ref.rois], [r.box for r in got.rois], atol=0.05)
        rboxes = np.array([r.box for r in got.rois], np.float32)
        _, strips = roi_crops(image, rboxes, cfg)
        assert all(s.shape == (48, 96, 3) for s in strips)
        # the untrained detector's many near-tied glyphs make the reading a coin toss between two float
        # paths, so the detections on the strips are compared: the best ones, box for box
        for t, o in zip(ocr_export_upright.ocr.detect_chars(strips), onnx_ocr.detect_chars(strips)):
            n = min(5, len(t[0]))
            assert n > 0 and len(o[0]) >= n
            np.testing.assert_array_equal(t[1][:n], o[1][:n])
            np.testing.assert_allclose(t[0][:n], o[0][:n], atol=0.02)
            np.testing.assert_allclose(t[2][:n], o[2][:n], atol=1e-4)
    int8 = OnnxTwoStageOcr.load(ocr_export_upright.dir, form="int8", threads=1)(ocr_frames[0])
    assert len(int8.rois) > 0


def test_per_image_input_norm_ignores_exposure_and_exports_the_same(ocr_frames, tmp_path):
    """``input_norm: per_image``: a strip at a third of the light with a raised black level gives the
    stage-2 model the same input, hence the same scores (the point of the option; the fixed scaling
    does not), and the ONNX graph standardizes as PyTorch does."""
    torch.set_num_threads(1)
    ocr = tiny_two_stage(crop="upright", input_norm="per_image")
    assert ocr.char_spec["input_norm"] == "per_image" and "input_norm" not in ocr.roi_spec
    rboxes = np.array([r.box for r in ocr(ocr_frames[0]).rois], np.float32)
    _, strips = roi_crops(ocr_frames[0], rboxes, ocr.config)
    x = torch.from_numpy(np.stack(strips)).permute(0, 3, 1, 2).float() / 255
    fixed = tiny_two_stage(crop="upright").char_model
    for model, invariant in ((ocr.char_model, True), (fixed, False)):
        with torch.no_grad():
            a, b = (
                model.head(list(model.backbone(model.transform(list(v))[0].tensors).values()))
                for v in (x, x / 3 + 0.05)
            )
        same = torch.allclose(a["cls_logits"], b["cls_logits"], atol=1e-3)
        assert same == invariant
    out = tmp_path / "ocr"
    export_ocr(ocr, ocr_frames, out, ExportSettings(opset=17), source={"test": "tiny"}, log=lambda *a: None)
    onnx_ocr = OnnxTwoStageOcr.load(out, form="fp32", threads=1)
    for t, o in zip(ocr.detect_chars(strips), onnx_ocr.detect_chars(strips)):
        n = min(5, len(t[0]))
        np.testing.assert_array_equal(t[1][:n], o[1][:n])
        # dividing by a strip's own spread (floored at 0.02, not 0.25) magnifies float rounding up to
        # ~12x; a graph that standardized otherwise would be off by tenths
        np.testing.assert_allclose(t[2][:n], o[2][:n], atol=5e-4)


def test_runtime_does_not_import_torch(ocr_export, ocr_frames, tmp_path):
    np.save(tmp_path / "frame.npy", ocr_frames[0])
    code = textwrap.dedent(f"""
        import sys
        import numpy as np
        from components.export.ocr_runtime import OnnxTwoStageOcr
        result = OnnxTwoStageOcr.load({str(ocr_export.dir)!r}, form="int8")(np.load({str(tmp_path / "frame.npy")!r}))
        leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "torchvision"))
        assert not leaked, leaked
        print(len(result.rois))
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.strip()) >= 0


def test_tampered_model_fails_the_sha256_check(ocr_export, tmp_path):
    bad = tmp_path / "ocr"
    shutil.copytree(ocr_export.dir, bad)
    f = bad / "char_int8.onnx"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    OnnxTwoStageOcr.load(bad, form="fp32")  # the other form's files are intact
    with pytest.raises(ExportIntegrityError, match=r"char_int8\.onnx: sha256 mismatch"):
        OnnxTwoStageOcr.load(bad, form="int8")
    f.unlink()
    with pytest.raises(ExportIntegrityError, match=r"char_int8\.onnx: missing"):
        OnnxTwoStageOcr.load(bad, form="int8")
    meta = json.loads((bad / META_FILE).read_text())
    (bad / META_FILE).write_text(json.dumps({**meta, "schema_version": 99}))
    with pytest.raises(ExportIntegrityError, match="ocr_meta.json: schema_version 99"):
        OnnxTwoStageOcr.load(bad, form="fp32")


def test_staged_dir_publishes_only_complete_exports(tmp_path):
    dest = tmp_path / "ocr"
    with staged_dir(dest) as d:
        (d / "a.onnx").write_text("1")
    assert (dest / "a.onnx").read_text() == "1"
    with pytest.raises(RuntimeError), staged_dir(dest) as d:
        (d / "a.onnx").write_text("2")
        raise RuntimeError("interrupted")
    assert (dest / "a.onnx").read_text() == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["ocr"]  # no leftovers beside it


def test_a_detector_kept_fp32_is_the_int8_forms_fp32_graph(ocr_export, ocr_frames, tmp_path):
    """``float_detectors``: stage 1 is not quantized; the int8 form loads its fp32 file (meta points
    there, no second copy) and gives exactly the fp32 form's ROIs, while stage 2 is still int8."""
    from components.export.ocr_onnx import ExportSettings, export_ocr

    out = tmp_path / "ocr"
    meta = export_ocr(ocr_export.ocr, ocr_frames, out, ExportSettings(float_detectors=("roi",)), log=lambda *a: None)
    assert meta["quantization"]["roi"] == {"kept_fp32": True} and meta["quantization"]["char"]["per_channel"]
    assert meta["files"]["roi_int8"] == meta["files"]["roi_fp32"] and not (out / "roi_int8.onnx").exists()
    assert qdq_count(out / "char_int8.onnx") > 20
    int8, fp32 = OnnxTwoStageOcr.load(out, "int8"), OnnxTwoStageOcr.load(out, "fp32")
    x = np.random.default_rng(4).random((1, 3, *reversed(int8.roi.size)), dtype=np.float32)
    for a, b in zip(int8.roi.raw(x), fp32.roi.raw(x)):
        np.testing.assert_array_equal(a, b)
    # what the registry ships for the int8 form: its files as the metadata lists them, the fp32 stage 1 included
    from components.registry.registry import MODELS, stage_export

    shipped = stage_export(MODELS["ocr"], out, tmp_path / "shipped")
    assert sorted(p.name for p in shipped.iterdir()) == ["char_int8.onnx", META_FILE, "roi_fp32.onnx"]
    assert OnnxTwoStageOcr.load(shipped, "int8").config == int8.config


@pytest.mark.parametrize("margin", [0.5, -0.5])
def test_a_checked_detector_stays_int8_only_when_the_check_passes(ocr_export, tmp_path, margin):
    """``checked_detectors``: the int8 form is read twice (stage 1 int8, stage 1 fp32) and compared frame
    by frame. The export's own two forms read these frames alike, so the shortfall is 0: within a
    margin of +0.5, never within -0.5. Passed: stage 1 stays int8 and the decision is in the metadata.
    Failed: its int8 file goes, the int8 form reads the fp32 file, as for ``float_detectors``."""
    from components.export.ocr_check import check_quantized_detector, record_check

    out = tmp_path / "ocr"
    shutil.copytree(ocr_export.dir, out)
    data = make_resistor_dataset(tmp_path / "data", n=4)
    frames = load_frames(data / "data/manifests/ocr.parquet", data / "data/ocr", "test")
    result = check_quantized_detector(out, "roi", frames, {"string_accuracy": margin}, Bootstrap(resamples=200))
    assert result.passed == (margin > 0)
    assert f"paired bootstrap over {len(frames)} frames" in result.checks[0].detail
    kept = record_check(out, "roi", result, "val", len(frames))
    meta = load_meta(out)
    assert kept == result.passed and meta["quantization"]["roi"]["check"]["passed"] == kept
    assert meta["quantization"]["roi"]["check"]["frames"] == len(frames) > 0
    assert (out / "roi_int8.onnx").exists() == kept
    assert (meta["files"]["roi_int8"] == meta["files"]["roi_fp32"]) == (not kept)
    assert qdq_count(out / "char_int8.onnx") > 20  # stage 2 is not touched either way
    int8 = OnnxTwoStageOcr.load(out, "int8")  # sha256 of every file still checks out
    x = np.random.default_rng(4).random((1, 3, *reversed(int8.roi.size)), dtype=np.float32)
    fp32_roi = OnnxTwoStageOcr.load(out, "int8", forms={"roi": "fp32"}).roi
    same = all(np.array_equal(a, b) for a, b in zip(int8.roi.raw(x), fp32_roi.raw(x)))
    assert same == (not kept)


def test_without_validation_frames_a_checked_detector_stays_fp32(ocr_export, tmp_path):
    from components.export.ocr_check import check_quantized_detector, record_check

    out = tmp_path / "ocr"
    shutil.copytree(ocr_export.dir, out)
    result = check_quantized_detector(out, "roi", [], {"string_accuracy": 0.01}, Bootstrap(resamples=200))
    assert not result.passed and "no validation frames" in result.reasons[0]
    assert not record_check(out, "roi", result, "val", 0) and not (out / "roi_int8.onnx").exists()


def test_forms_take_a_detector_from_another_form_and_refuse_unknown_ones(ocr_export):
    mixed = OnnxTwoStageOcr.load(ocr_export.dir, "int8", forms={"roi": "fp32"})
    assert qdq_count(ocr_export.dir / "char_int8.onnx") > 20 and mixed.form == "int8"
    with pytest.raises(ValueError, match="fp16"):
        OnnxTwoStageOcr.load(ocr_export.dir, "int8", forms={"roi": "fp16"})
    with pytest.raises(ValueError, match="stage1"):
        OnnxTwoStageOcr.load(ocr_export.dir, "int8", forms={"stage1": "fp32"})


def test_a_detector_is_kept_fp32_or_checked_not_both():
    from pydantic import ValidationError

    from components.config import load_params
    from components.export.config import OcrExport

    good = load_params(REPO / "params.yaml").export.ocr.model_dump(exclude={"float_detectors", "checked_detectors"})
    assert OcrExport(**good, float_detectors=["char"], checked_detectors=["roi"]).checked_detectors == ["roi"]
    with pytest.raises(ValidationError, match="either kept fp32"):
        OcrExport(**good, float_detectors=["roi"], checked_detectors=["roi"])


def test_float_detectors_accepts_only_detector_names():
    from pydantic import ValidationError

    from components.config import load_params
    from components.export.config import OcrExport

    good = load_params(REPO / "params.yaml").export.ocr.model_dump(exclude={"float_detectors", "checked_detectors"})
    assert OcrExport(**good, float_detectors=["roi"]).float_detectors == ["roi"]
    with pytest.raises(ValidationError, match="float_detectors"):
        OcrExport(**good, float_detectors=["stage1"])
