"""params.yaml rules across keys (issue #22, item 9): a key given twice, a minimum above its maximum."""

from pathlib import Path

import pytest
import yaml

from components.config import ParamsError, load_params

REPO = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, raw: dict) -> Path:
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump(raw))
    return p


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path):
    text = (REPO / "params.yaml").read_text()
    assert "\n  seed: 42" in text
    p = tmp_path / "params.yaml"
    p.write_text(text.replace("\n  seed: 42", "\n  seed: 42\n  seed: 7", 1))  # PyYAML alone keeps 7 silently
    line = text[: text.index("\n  seed: 42")].count("\n") + 2
    with pytest.raises(ParamsError, match=rf"{p}: duplicate key 'seed' at line {line + 1} \(first at line {line}\)"):
        load_params(p)


@pytest.mark.parametrize(
    "section, low, high",
    [
        ("validation.ocr", "min_size", "max_size"),
        ("validation.crack", "min_size", "max_size"),
    ],
)
def test_a_minimum_above_its_maximum_is_refused(tmp_path, raw, section, low, high):
    node = raw
    for key in section.split("."):
        node = node[key]
    node[low] = [node[high][0] + 1, node[low][1]]  # width above the maximum's
    msg = str(pytest.raises(ParamsError, load_params, _write(tmp_path, raw)).value)
    assert f"{section}: {low} [{node[high][0] + 1}, {node[low][1]}] is larger than {high}" in msg
    assert "(width" in msg and "got" not in msg  # one readable line, not the whole section echoed


def test_a_training_crop_larger_than_the_frame_is_refused(tmp_path, raw):
    w, h = raw["crack"]["model"]["input_size"]
    raw["crack"]["train"]["crop_size"] = [w, h + 32]
    msg = str(pytest.raises(ParamsError, load_params, _write(tmp_path, raw)).value)
    assert f"crack: train.crop_size [{w}, {h + 32}] is larger than model.input_size [{w}, {h}] (height" in msg
    raw["crack"]["train"]["crop_size"] = [w, h]  # equal: whole frames, allowed
    assert load_params(_write(tmp_path, raw)).crack.train.crop_size == (w, h)
