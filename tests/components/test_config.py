from pathlib import Path

import pytest
import yaml

from components.config import ParamsError, apply_profile, load_params

REPO = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, raw: dict) -> Path:
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump(raw))
    return p


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


def test_repo_params_load_with_demo_defaults():
    params = load_params(REPO / "params.yaml")
    assert params.data.ocr.num_frames == 2000 and params.data.crack.num_frames == 600
    assert params.data.ocr.source == "synthetic"
    assert params.mlflow.tracking_uri == "sqlite:///mlruns/mlflow.db"


def test_wrong_type_names_key_and_file(tmp_path, raw):
    raw["data"]["ocr"]["num_frames"] = "many"
    path = _write(tmp_path, raw)
    with pytest.raises(ParamsError) as exc:
        load_params(path)
    assert str(path) in str(exc.value) and "data.ocr.num_frames" in str(exc.value)


def test_missing_key_names_key(tmp_path, raw):
    del raw["data"]["crack"]["line_thickness"]
    with pytest.raises(ParamsError, match=r"data\.crack\.line_thickness: missing key"):
        load_params(_write(tmp_path, raw))


def test_unknown_key_names_key(tmp_path, raw):
    raw["validation"]["on_eror"] = "fail"
    with pytest.raises(ParamsError, match=r"validation\.on_eror: unknown key"):
        load_params(_write(tmp_path, raw))


def test_bad_choice_and_split_sum(tmp_path, raw):
    raw["validation"]["on_error"] = "ignore"
    raw["data"]["splits"]["train"] = 0.95
    msg = str(pytest.raises(ParamsError, load_params, _write(tmp_path, raw)).value)
    assert "validation.on_error" in msg and "data.splits" in msg


def test_not_yaml(tmp_path):
    p = tmp_path / "params.yaml"
    p.write_text("data: [unclosed")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(p)


def test_full_profile_applies_and_rejects_unknown_keys(tmp_path, raw):
    params_path = _write(tmp_path, raw)
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "full.yaml").write_text((REPO / "profiles" / "full.yaml").read_text())
    params = apply_profile("full", params_path, profiles)
    assert params.data.ocr.num_frames > 600
    assert load_params(params_path) == params
    (profiles / "typo.yaml").write_text("data:\n  ocr:\n    num_frame: 3\n")
    with pytest.raises(ParamsError, match="data.ocr.num_frame"):
        apply_profile("typo", params_path, profiles)
    with pytest.raises(ParamsError, match="no such profile"):
        apply_profile("nope", params_path, profiles)


def test_an_ood_family_that_is_also_trained_on_is_refused(tmp_path, raw):
    raw["eval_data"]["crack"]["ood_families"] = [raw["data"]["crack"]["families"][0], "concrete"]
    msg = str(pytest.raises(ParamsError, load_params, _write(tmp_path, raw)).value)
    assert "ood_families" in msg and raw["data"]["crack"]["families"][0] in msg and "never trained on" in msg


def _comments(text: str) -> list[str]:
    """Every comment of a YAML file, in order (the part from `` #`` or a leading ``#``)."""
    out = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            out.append(line.strip())
        elif " #" in line:
            out.append(line[line.index(" #") :].strip())
    return out


def test_applying_a_profile_keeps_every_comment_and_changes_only_its_values(tmp_path):
    """params.yaml is edited as a round-trip document: its comments, key order and the untouched lines
    stay; the values are those of the merged, checked parameters; applying twice leaves one header."""
    original = (REPO / "params.yaml").read_text()
    params_path = tmp_path / "params.yaml"
    params_path.write_text(original)
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    profile_text = (REPO / "profiles" / "full.yaml").read_text()
    (profiles / "full.yaml").write_text(profile_text)
    apply_profile("full", params_path, profiles)
    result = params_path.read_text()
    assert _comments(original) and _comments(result)[1:] == _comments(original)
    assert result.startswith("# profile 'full' applied")
    merged, leaves = yaml.safe_load(original), 0  # the expected values, merged by hand
    stack = [(merged, yaml.safe_load(profile_text))]
    while stack:
        base, over = stack.pop()
        for k, v in over.items():
            if isinstance(v, dict):
                stack.append((base[k], v))
            else:
                base[k], leaves = v, leaves + 1
    assert yaml.safe_load(result) == merged
    changed = [line for line in result.splitlines()[1:] if line not in original.splitlines()]
    assert 0 < len(changed) <= leaves  # one line per value set, every other line as it was
    apply_profile("full", params_path, profiles)  # again: same file, one header
    assert params_path.read_text() == result
