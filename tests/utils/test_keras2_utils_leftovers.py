"""Keras 2's last `keras.utils` names: conv_utils, count_params, ask_to_proceed_with_overwrite, func_dump/func_load,
H5Dict."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import lamina
from lamina.saving import safe_mode_scope
from lamina.utils import conv_utils, generic_utils, io_utils, layer_utils
from lamina.utils.h5_dict import H5Dict


def test_normalize_helpers_as_keras2():
    assert conv_utils.normalize_tuple(3, 2, "kernel_size") == (3, 3)
    assert conv_utils.normalize_tuple([2, 1], 2, "strides") == (2, 1)
    message = r"^The `strides` argument must be a tuple of 2 integers. Received: \(1, 2, 3\)$"
    with pytest.raises(ValueError, match=message):
        conv_utils.normalize_tuple((1, 2, 3), 2, "strides")
    with pytest.raises(ValueError, match="Received: 1.5$"):
        conv_utils.normalize_tuple(1.5, 2, "strides")
    with pytest.raises(ValueError, match=r"Received: \(1, 'a'\) including element a of type <class 'str'>$"):
        conv_utils.normalize_tuple((1, "a"), 2, "kernel_size")
    assert conv_utils.normalize_data_format("Channels_First") == "channels_first"
    assert conv_utils.normalize_data_format(None) == lamina.backend.image_data_format()
    with pytest.raises(ValueError, match='must be one of "channels_first", "channels_last". Received: NCHW$'):
        conv_utils.normalize_data_format("NCHW")
    assert conv_utils.normalize_padding("SAME") == "same"
    assert conv_utils.normalize_padding("causal") == "causal"
    with pytest.raises(ValueError, match=r'"valid", "same" \(or "causal" for Conv1D\). Received: full$'):
        conv_utils.normalize_padding("Full")


def test_conv_lengths_match_the_formulas_and_the_layers():
    # (input, kernel, padding, stride, dilation) -> output, worked by hand.
    cases = {
        (32, 3, "valid", 2, 1): 15,  # (32 - 3) // 2 + 1
        (32, 3, "same", 2, 1): 16,  # ceil(32 / 2)
        (10, 3, "full", 1, 2): 14,  # 10 + (2 * 2 + 1) - 1
        (10, 3, "causal", 3, 1): 4,  # ceil(10 / 3)
        (11, 3, "valid", 1, 3): 5,  # 11 - 7 + 1
    }
    for (length, kernel, padding, stride, dilation), expected in cases.items():
        assert conv_utils.conv_output_length(length, kernel, padding, stride, dilation) == expected
        if padding != "full":
            layer = lamina.layers.Conv1D(1, kernel, strides=stride, padding=padding, dilation_rate=dilation)
            assert layer.compute_output_shape((1, length, 1))[1] == expected
    assert conv_utils.conv_output_length(None, 3, "valid", 1) is None
    # conv_input_length inverts it: (out - 1) * stride - 2 * pad + kernel.
    assert conv_utils.conv_input_length(15, 3, "valid", 2) == 31
    assert conv_utils.conv_input_length(16, 3, "same", 2) == 31  # 15 * 2 - 2 + 3
    assert conv_utils.conv_input_length(14, 5, "full", 1) == 10  # 13 - 8 + 5
    assert conv_utils.conv_input_length(None, 3, "same", 1) is None
    with pytest.raises(ValueError, match="conv_output_length: `padding` must be one of"):
        conv_utils.conv_output_length(10, 3, "reflect", 1)


def test_deconv_length_matches_the_transposed_layers():
    cases = {
        (8, 2, 3, "same", None, 1): 16,  # 8 * 2
        (8, 2, 3, "valid", None, 1): 17,  # 8 * 2 + max(3 - 2, 0)
        (8, 2, 3, "full", None, 1): 13,  # 16 - (2 + 3 - 2)
        (8, 2, 3, "same", 1, 1): 16,  # 7 * 2 + 3 - 2 * 1 + 1
        (8, 3, 3, "valid", 2, 1): 26,  # 7 * 3 + 3 + 2
        (5, 1, 3, "valid", None, 2): 9,  # 5 + max(5 - 1, 0): kernel 3 dilated by 2 spans 5
    }
    for (size, stride, kernel, padding, output_padding, dilation), expected in cases.items():
        assert conv_utils.deconv_length(size, stride, kernel, padding, output_padding, dilation) == expected
        if padding != "full":
            layer = lamina.layers.Conv1DTranspose(
                1, kernel, strides=stride, padding=padding, output_padding=output_padding, dilation_rate=dilation
            )
            assert layer.compute_output_shape((1, size, 1))[1] == expected
    assert conv_utils.deconv_length(None, 2, 3, "same", None) is None


def test_count_params_counts_each_variable_once():
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3), lamina.layers.Dense(2)])
    weights = model.weights
    assert layer_utils.count_params(weights) == 4 * 3 + 3 + 3 * 2 + 2
    assert layer_utils.count_params(weights + weights[:1]) == 23  # a repeated variable counts once
    assert layer_utils.count_params([np.zeros((2, 5)), np.zeros(())]) == 11
    assert layer_utils.count_params([]) == 0


def test_ask_to_proceed_with_overwrite_loops_until_y_or_n(monkeypatch, capsys):
    prompts = []

    def answering(*answers):
        replies = iter(answers)

        def fake_input(prompt):
            prompts.append(prompt)
            return next(replies)

        monkeypatch.setattr("builtins.input", fake_input)

    answering("maybe", " Y ")
    assert io_utils.ask_to_proceed_with_overwrite("model.h5") is True
    assert prompts == ["[WARNING] model.h5 already exists - overwrite? [y/n]", 'Enter "y" (overwrite) or "n" (cancel).']
    assert "[TIP] Next time specify overwrite=True!" in capsys.readouterr().out
    answering("n")
    assert io_utils.ask_to_proceed_with_overwrite("model.h5") is False


def test_func_dump_and_func_load_round_trip_only_outside_safe_mode():
    offset = 10

    def shifted(x, scale=3):
        return x * scale + offset

    dumped = generic_utils.func_dump(shifted)
    code, defaults, closure = dumped
    assert isinstance(code, str) and defaults == (3,) and closure == (10,)
    with pytest.raises(ValueError, match=r"refused in safe mode.*safe_mode=False.*safe_mode_scope\(False\)"):
        generic_utils.func_load(dumped)
    with safe_mode_scope(False):
        loaded = generic_utils.func_load(dumped)
    assert loaded(2) == 16 and loaded(2, scale=1) == 12
    other = generic_utils.func_load(code, defaults=(5,), closure=[1], safe_mode=False)
    assert other(2) == 11
    named = generic_utils.func_load(*generic_utils.func_dump(lambda x: np.sqrt(x)), globs={"np": np}, safe_mode=False)
    assert named(9.0) == 3.0
    with pytest.raises(TypeError, match="func_dump: expected a Python function, received builtin_function_or_method"):
        generic_utils.func_dump(len)


def test_h5dict_stores_arrays_groups_and_attributes(tmp_path):
    path = tmp_path / "store.h5"
    kernel = np.arange(6, dtype="float32").reshape(2, 3)
    long_names = [f"layer_{i:05d}_" + "x" * 90 for i in range(1000)]  # ~100 kB: split over several attributes
    with H5Dict(path, mode="w") as store:
        store["model_config"] = '{"class_name": "Sequential"}'
        store["epochs"] = 3
        store["layers"]["dense"]["kernel"] = kernel
        store["layers"]["dense"]["bias"] = np.float32(0.5)
        store["weight_names"] = ["kernel:0", "bias:0"]
        store["layer_names"] = long_names
        with pytest.raises(KeyError, match='Group with name "layers" exists'):
            store["layers"] = "x"
    with h5py.File(path, "r") as raw:  # what h5py itself sees: datasets, groups and (chunked) attributes
        np.testing.assert_array_equal(raw["layers/dense/kernel"][()], kernel)
        assert raw.attrs["model_config"] == '{"class_name": "Sequential"}'
        assert "layer_names0" in raw.attrs and "layer_names1" in raw.attrs and "layer_names" not in raw.attrs
    reread = H5Dict(str(path), mode="r")
    assert reread["model_config"] == '{"class_name": "Sequential"}' and reread["epochs"] == 3
    np.testing.assert_array_equal(reread["layers"]["dense"]["kernel"], kernel)
    assert reread["layers"]["dense"]["bias"] == np.float32(0.5)
    assert reread["weight_names"] == [b"kernel:0", b"bias:0"]  # bytes, as Keras 2 read them
    assert reread["layer_names"] == long_names
    assert "layers" in reread and reread.get("missing") is None and sorted(reread) == ["layers"]
    with pytest.raises(ValueError, match="Cannot create group in read-only mode"):
        reread["missing"]
    with pytest.raises(ValueError, match="Cannot set item in read-only mode"):
        reread["x"] = 1
    reread.close()


def test_h5dict_over_a_dict_keeps_arrays_without_pickling():
    memory = {"stale": 1}
    store = H5Dict(memory, mode="w")
    store["kernel"] = np.ones((2, 2))
    store["group"]["name"] = "dense"
    assert "stale" not in memory and isinstance(memory["kernel"], np.ndarray)
    assert memory["group"] == {"_is_group": True, "name": "dense"}
    assert store["group"]["name"] == "dense" and store["kernel"].shape == (2, 2)
    with pytest.raises(TypeError, match="must be an h5py Group, a str or Path, or a dict. Received: <class 'int'>"):
        H5Dict(3)
