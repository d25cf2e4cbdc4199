"""bench/seeds.py: parameter overrides and the spread over seeds (the training itself runs in the bench)."""

from __future__ import annotations

import pytest

from bench.seeds import HEADLINES, _override, rescore_params, summarize


def test_overrides_take_yaml_values_and_refuse_unknown_keys():
    raw = {"crack": {"train": {"augment": {"gamma": 0.0, "hflip": True}, "epochs": 14}}}
    _override(raw, "crack.train.augment.gamma=0.4")
    _override(raw, "crack.train.epochs=3")
    assert raw["crack"]["train"] == {"augment": {"gamma": 0.4, "hflip": True}, "epochs": 3}
    with pytest.raises(KeyError, match="crack.train.gama"):
        _override(raw, "crack.train.gama=1")


def test_summary_is_mean_and_range_over_seeds():
    runs = [{"dice": 0.7, "dice_ood": 0.5}, {"dice": 0.8, "dice_ood": 0.4}, {"dice": 0.75, "dice_ood": 0.6}]
    s = summarize(runs, HEADLINES["crack"])
    assert s["dice"] == {"mean": 0.75, "min": 0.7, "max": 0.8}
    assert s["dice_ood"] == {"mean": 0.5, "min": 0.4, "max": 0.6}
    assert "pixel_dice" not in s


def test_rescore_changes_only_reading_settings():
    """``--rescore``: the same trained models read again with other ``ocr.eval`` settings; a training
    setting cannot change after training, and an unknown key is refused."""
    import yaml

    from tests.helpers import REPO

    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    assert rescore_params(raw, []) is None
    p = rescore_params(raw, ["ocr.eval.zoom_glyph_height=0", "ocr.eval.char_score_threshold=0.2"])
    assert (p.ocr.eval.zoom_glyph_height, p.ocr.eval.char_score_threshold) == (0.0, 0.2)
    assert raw["ocr"]["eval"]["zoom_glyph_height"] == 0.25  # the run's own params untouched
    with pytest.raises(ValueError, match="only ocr.eval"):
        rescore_params(raw, ["ocr.char.epochs=3"])
    with pytest.raises(KeyError, match="ocr.eval.zoom"):
        rescore_params(raw, ["ocr.eval.zoom=1"])


def test_keep_models_is_refused_for_ocr_before_anything_runs(capsys):
    """Only the crack bench saves its models: asked of the OCR bench, it stops at the arguments."""
    from bench.seeds import main

    with pytest.raises(SystemExit):
        main(["--model", "ocr", "--seeds", "0", "--keep-models", "unused"])
    assert "--keep-models is for --model crack" in capsys.readouterr().err
