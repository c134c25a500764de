"""Keras 2's `ConvLSTM2DCell` (no `rank` argument): one step equals Keras 3's ConvLSTM2D (the oracle, same
weights) run on a one-step sequence from zero states; its config round-trips without `rank`."""

from __future__ import annotations

import numpy as np
import pytest

import lamina


def test_one_step_of_the_cell_is_keras3s_conv_lstm2d_on_one_step(keras3, rng):
    x = rng.normal(size=(2, 6, 5, 3)).astype("float32")
    cell = lamina.layers.ConvLSTM2DCell(4, (3, 2), padding="same")
    zeros = np.zeros((2, 6, 5, 4), "float32")
    cell.build((2, 6, 5, 3))
    oracle = keras3.layers.ConvLSTM2D(4, (3, 2), padding="same", return_state=True)
    oracle.build((2, 1, 6, 5, 3))
    oracle.set_weights([rng.normal(size=w.shape).astype("float32") * 0.3 for w in oracle.get_weights()])
    cell.set_weights(oracle.get_weights())
    output, (h, c) = cell(x, [zeros, zeros])
    expected_output, expected_h, expected_c = oracle(x[:, None])
    for ours, theirs in ((output, expected_output), (h, expected_h), (c, expected_c)):
        np.testing.assert_allclose(lamina.ops.convert_to_numpy(ours), np.asarray(theirs), rtol=1e-4, atol=1e-5)


def test_the_cell_config_has_keras2s_arguments():
    cell = lamina.layers.ConvLSTM2DCell(4, 3, strides=2, data_format="channels_first")
    config = cell.get_config()
    assert "rank" not in config and config["kernel_size"] == [3, 3] and config["strides"] == [2, 2]
    clone = lamina.layers.ConvLSTM2DCell.from_config(config)
    assert clone.rank == 2 and clone.data_format == "channels_first" and clone.filters == 4
    with pytest.raises(ValueError, match="ConvLSTM2DCell: rank must be 2, got 3"):
        lamina.layers.ConvLSTM2DCell(4, 3, rank=3)
