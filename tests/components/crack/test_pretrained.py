"""crack.model.pretrained: encoder weights from a local file (no download), errors that name the file."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import tf_keras as keras

from components.crack.model import (
    build_unet,
    keras_imagenet_path,
    load_pretrained,
)

SIZE = (96, 64)
FILTERS = (16, 16, 16, 16)


def _encoder(alpha: float, seed: int):
    keras.utils.set_random_seed(seed)
    return keras.applications.MobileNetV2(input_shape=(None, None, 3), alpha=alpha, include_top=False, weights=None)


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    enc = _encoder(0.35, 1)
    for layer in enc.layers:  # BN statistics too, so every kind of weight is checked
        layer.set_weights(
            [np.random.default_rng(len(layer.name)).normal(size=w.shape).astype(w.dtype) for w in layer.get_weights()]
        )
    path = tmp_path_factory.mktemp("pretrained") / "mnv2_a035.h5"
    enc.save_weights(str(path))
    return path, {layer.name: layer.get_weights() for layer in enc.layers if layer.get_weights()}


def test_path_fills_encoder_and_leaves_decoder(weights_file):
    path, saved = weights_file
    keras.utils.set_random_seed(0)
    model = build_unet(SIZE, 0.35, FILTERS, 1, decoder_block="separable", flexible=True)
    before = {layer.name: layer.get_weights() for layer in model.layers}
    info = load_pretrained(model, str(path), 0.35, SIZE)
    assert info["pretrained_path"] == str(path)
    assert info["pretrained_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    names = {layer.name for layer in model.layers}
    loaded = [n for n in saved if n in names]
    assert info["pretrained_layers"] == len(loaded) > 50
    for name in loaded:
        for got, want in zip(model.get_layer(name).get_weights(), saved[name]):
            np.testing.assert_array_equal(got, want)
    decoder = [n for n in names if n.startswith(("dec", "logits"))]
    assert decoder and not any(n in saved for n in decoder)
    for name in decoder:
        for got, want in zip(model.get_layer(name).get_weights(), before[name]):
            np.testing.assert_array_equal(got, want)


def test_none_loads_nothing():
    model = build_unet(SIZE, 0.35, FILTERS, 1, decoder_block="separable")
    assert load_pretrained(model, "none", 0.35, SIZE) is None


def test_imagenet_missing_from_empty_cache_names_expected_path(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    expected = tmp_path / ".keras/models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
    assert keras_imagenet_path(0.35, SIZE) == expected  # non-square input: Keras picks rows 224
    assert keras_imagenet_path(0.5, (128, 128)).name.endswith("_0.5_128_no_top.h5")
    model = build_unet(SIZE, 0.35, FILTERS, 1, decoder_block="separable")
    with pytest.raises(FileNotFoundError, match="nothing is downloaded") as e:
        load_pretrained(model, "imagenet", 0.35, SIZE)
    assert str(expected) in str(e.value)


def test_missing_path_and_wrong_alpha_name_the_file(weights_file, tmp_path):
    path, _ = weights_file
    model = build_unet(SIZE, 0.5, FILTERS, 1, decoder_block="separable")
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "absent.h5")):
        load_pretrained(model, str(tmp_path / "absent.h5"), 0.5, SIZE)
    with pytest.raises(ValueError, match="alpha 0.5") as e:
        load_pretrained(model, str(path), 0.5, SIZE)
    assert str(path) in str(e.value)


@pytest.mark.slow
def test_fit_runs_init_on_a_fresh_start_only(tmp_path):
    from components.crack.train import fit, setup_tf
    from tests.components.crack.test_train import TINY, tiny_split

    setup_tf(0)
    calls = []

    def stop(m):
        raise RuntimeError("stop")  # the run dies at the end: the epoch-1 resume state stays

    kw = {
        "batch_size": 4,
        "lr": 1e-3,
        "state_dir": tmp_path,
        "fingerprint": "f",
        "log": lambda s: None,
        "init": calls.append,
    }
    model = build_unet(**TINY, flexible=True)
    with pytest.raises(RuntimeError, match="stop"):
        fit(model, tiny_split(4), tiny_split(4, 1), epochs=2, save=stop, **kw)
    assert calls == [model] and (tmp_path / "last.npz").exists()
    model2 = build_unet(**TINY, flexible=True)
    result = fit(model2, tiny_split(4), tiny_split(4, 1), epochs=2, save=lambda m: None, **kw)
    assert result.resumed_from == 1 and calls == [model]  # resumed: the state's weights, no init
