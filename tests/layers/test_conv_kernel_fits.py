"""An input smaller than a convolution's kernel (padding "valid") is refused, naming the layer, the sizes and the
kernel: JAX returned an empty output and failed later ("cannot reshape array of size 0 into shape (0,0,2)")."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import layers


def test_a_model_whose_conv_kernel_exceeds_its_input_is_refused_when_built():
    with pytest.raises(ValueError, match=r'Layer "small_image" \(Conv2D\).*spatial size \(3, 3\).*kernel \(5, 5\)'):
        lamina.Sequential([layers.Input((3, 3, 1)), layers.Conv2D(2, 5, name="small_image"), layers.Flatten()])
    with pytest.raises(ValueError, match=r"spatial size \(3, 3\).*padding=\"valid\""):  # eager data of that size
        layers.Conv2D(2, 5)(np.ones((1, 3, 3, 1), "float32"))
    for layer in (layers.SeparableConv2D(2, 4), layers.DepthwiseConv2D(4)):
        with pytest.raises(ValueError, match=type(layer).__name__):
            layer(np.ones((1, 3, 3, 1), "float32"))
    with pytest.raises(ValueError, match=r"\(4,\).*kernel \(3,\) \(dilated to \(5,\)\)"):
        layers.Conv1D(1, 3, dilation_rate=2)(np.ones((1, 4, 1), "float32"))


def test_kernels_that_just_fit_and_other_paddings_still_work():
    x = np.arange(5, dtype="float32").reshape(1, 5, 1)
    layer = layers.Conv1D(1, 3, dilation_rate=2, bias_initializer="ones")
    kernel = layer(x) is not None and layer.get_weights()[0][:, 0, 0]
    expected = x[0, 0, 0] * kernel[0] + x[0, 2, 0] * kernel[1] + x[0, 4, 0] * kernel[2] + 1.0
    np.testing.assert_allclose(lamina.ops.convert_to_numpy(layer(x)), [[[expected]]], rtol=1e-6)
    same = layers.Conv2D(2, 5, padding="same")(np.ones((1, 3, 3, 1), "float32"))
    assert tuple(same.shape) == (1, 3, 3, 2)
    first = layers.Conv2D(2, 2, data_format="channels_first")(np.ones((1, 1, 2, 2), "float32"))
    assert tuple(first.shape) == (1, 2, 1, 1)
