"""MobileNetV2-UNet: shapes, skip strides, parameter counts (build only, no training)."""

from __future__ import annotations

import numpy as np
import pytest

from components.config import load_params
from components.crack.model import SKIP_LAYERS, build_unet, count_params, from_params
from tests.helpers import REPO


@pytest.fixture(scope="module")
def tiny():
    return build_unet(
        (96, 64), alpha=0.35, decoder_filters=(16, 16, 16, 16), decoder_convs=1, decoder_block="separable"
    )


def test_logits_have_input_size_and_two_classes(tiny):
    out = tiny(np.zeros((2, 64, 96, 3), np.float32))
    assert out.shape == (2, 64, 96, 2)
    assert tiny.input_shape == (None, 64, 96, 3)


def test_skips_are_at_strides_2_4_8_16_and_bilinear(tiny):
    for stride, name in SKIP_LAYERS.items():
        assert tiny.get_layer(name).output_shape[1:3] == (64 // stride, 96 // stride), name
        concat = tiny.get_layer(f"skip{stride}")
        assert any(t is tiny.get_layer(name).output for t in concat.input), (
            f"{name} is not concatenated at stride {stride}"
        )
    ups = [layer for layer in tiny.layers if layer.__class__.__name__ == "UpSampling2D"]
    assert len(ups) == 5 and all(u.interpolation == "bilinear" for u in ups)


def test_seed_configuration_has_about_12_4_million_parameters():
    seed = build_unet((384, 288), alpha=1.0, decoder_filters=(544, 272, 136, 68), decoder_convs=2, decoder_block="conv")
    assert 12.0e6 < count_params(seed) < 12.8e6


def test_demo_default_is_at_most_a_sixth_of_the_seed():
    """The demo model must stay small enough to train on 2 cores and ship to a camera (seed: 12.4 M).
    The full-width encoder with the light decoder (alpha 1.0, 1.95 M since 2026-12-07) trained as fast
    as alpha 0.75 on the 2-core Intel VM; the seed's plain decoder would not."""
    demo = from_params(load_params(REPO / "params.yaml").crack.model)
    assert count_params(demo) < 2.07e6


def test_input_size_must_be_multiple_of_32():
    with pytest.raises(ValueError, match="multiple of 32"):
        build_unet((100, 64))
