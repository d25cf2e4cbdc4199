"""QAT model: builds from the float UNet, carries int8 fake-quant ops, saves and reloads."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from components.crack.model import build_unet
from components.crack.qat import fake_quant_layers, load_qat, quantize


@pytest.mark.slow
def test_quantized_unet_has_int8_fake_quant_and_round_trips(tmp_path):
    float_model = build_unet(
        (96, 64), alpha=0.35, decoder_filters=(16, 16, 16, 16), decoder_convs=1, decoder_block="separable"
    )
    qat = quantize(float_model)
    assert len(fake_quant_layers(qat)) >= len(float_model.layers) - 1  # every layer but the input is wrapped
    infer = tf.function(lambda x: qat(x, training=False))
    graph = infer.get_concrete_function(tf.TensorSpec([2, 64, 96, 3])).graph
    ops = {op.type for op in graph.get_operations()}
    # per-tensor int8 activations and per-channel int8 weights, as the integer TFLite model will run them
    assert {"FakeQuantWithMinMaxVars", "FakeQuantWithMinMaxVarsPerChannel"} <= ops
    assert all(op.get_attr("num_bits") == 8 for op in graph.get_operations() if op.type.startswith("FakeQuant"))
    x = np.random.default_rng(0).normal(size=(2, 64, 96, 3)).astype(np.float32)
    out = infer(x).numpy()
    assert out.shape == (2, 64, 96, 2)
    assert not np.allclose(out, float_model(x).numpy())  # the rounding is really simulated

    qat.save(tmp_path / "qat.h5")
    loaded = load_qat(tmp_path / "qat.h5")
    assert loaded.input_shape == (None, 64, 96, 3)
    np.testing.assert_allclose(loaded(x).numpy(), out, atol=1e-5)


@pytest.mark.slow
def test_calibrate_sets_ranges_from_batches_and_keeps_batch_norm_statistics():
    from tensorflow_model_optimization.python.core.quantization.keras import quantizers

    from components.crack.qat import calibrate

    float_model = build_unet(
        (96, 64), alpha=0.35, decoder_filters=(16, 16, 16, 16), decoder_convs=1, decoder_block="separable"
    )
    qat = quantize(float_model)
    rng = np.random.default_rng(1)
    batches = [rng.normal(size=(2, 64, 96, 3)).astype(np.float32) * s for s in (1.0, 2.0)]
    bn = {v.name: v.numpy() for v in qat.non_trainable_variables if "moving_" in v.name}
    original = quantizers.quant_ops.MovingAvgQuantize

    assert calibrate(qat, batches, decay=0.75) == 2

    assert quantizers.quant_ops.MovingAvgQuantize is original
    input_quantizer = next(layer for layer in qat.layers if type(layer).__name__ == "QuantizeLayer")
    ranges = {
        w.name.rsplit("_", 1)[-1]: float(w.numpy())
        for w in input_quantizer.weights
        if w.name.endswith(("_min:0", "_max:0"))
    }
    low, high = ranges["min:0"], ranges["max:0"]
    # the input quantizer keeps the range of everything it saw (tfmot's AllValuesQuantizer)
    assert low == pytest.approx(min(b.min() for b in batches), rel=1e-5)
    assert high == pytest.approx(max(b.max() for b in batches), rel=1e-5)
    kernel_max = next(v for v in qat.non_trainable_variables if v.name.endswith("quant_Conv1/kernel_max:0")).numpy()
    assert np.all(kernel_max < 3.0)  # the weights' own range, not the ±6 placeholder
    assert all(np.array_equal(v.numpy(), bn[v.name]) for v in qat.non_trainable_variables if v.name in bn)
