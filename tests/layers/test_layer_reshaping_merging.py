"""Reshaping (Flatten, Reshape, Permute, RepeatVector) and merging (Add, Subtract, Multiply, Average,
Maximum, Minimum, Concatenate, Dot) layers."""

from __future__ import annotations

import numpy as np
import pytest
from layer_harness import as_numpy, check_layer

import lamina
from lamina import layers


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


# ------------------------------------------------------------------- Flatten
def test_flatten_matches_keras(keras3):
    check_layer(
        layers.Flatten,
        _x(2, 3, 4, 5),
        make_keras=keras3.layers.Flatten,
        reference=lambda x, w, training: x.reshape(2, 60),
        keras_config_keys=("data_format",),
    )


def test_flatten_channels_first_flattens_in_channels_last_order(keras3):
    check_layer(
        lambda: layers.Flatten(data_format="channels_first"),
        _x(2, 3, 4, 5),
        make_keras=lambda: keras3.layers.Flatten(data_format="channels_first"),
        reference=lambda x, w, training: np.transpose(x, (0, 2, 3, 1)).reshape(2, 60),
        keras_config_keys=("data_format",),
    )


def test_flatten_channels_first_on_2d_input_is_identity():
    x = _x(3, 4)
    np.testing.assert_array_equal(as_numpy(layers.Flatten(data_format="channels_first")(x)), x)


def test_flatten_default_data_format_comes_from_config():
    assert layers.Flatten().get_config()["data_format"] == lamina.backend.image_data_format() == "channels_last"


# ------------------------------------------------------------------- Reshape
@pytest.mark.parametrize("target", [(4, 6), (-1, 3), (2, -1, 2), (24,)])
def test_reshape_matches_keras(keras3, target):
    check_layer(
        lambda: layers.Reshape(target),
        _x(2, 3, 8),
        make_keras=lambda: keras3.layers.Reshape(target),
        reference=lambda x, w, training: x.reshape((2, *target)),
        keras_config_keys=("target_shape",),
    )


def test_reshape_wrong_size_names_the_layer():
    layer = layers.Reshape((5, 5))
    with pytest.raises(ValueError, match=r'"reshape".*\(3, 4\).*12 values.*\(5, 5\).*25 values'):
        layer(np.zeros((2, 3, 4), "float32"))


def test_reshape_minus_one_that_does_not_divide_raises():
    layer = layers.Reshape((-1, 5))
    with pytest.raises(ValueError, match=r'"reshape".*\(3, 4\)'):
        layer(np.zeros((2, 3, 4), "float32"))


def test_reshape_wrong_size_symbolic_raises():
    with pytest.raises(ValueError, match='"reshape"'):
        layers.Reshape((7,))(lamina.Input(shape=(2, 3)))


def test_reshape_two_minus_ones_raise_at_construction():
    with pytest.raises(ValueError, match='"reshape".*at most one -1'):
        layers.Reshape((-1, -1))


# ----------------------------------------------------------------------- Add
def test_add_matches_keras(keras3):
    inputs = [_x(2, 3, seed=1), _x(2, 3, seed=2), _x(2, 3, seed=3)]
    check_layer(
        layers.Add,
        inputs,
        make_keras=keras3.layers.Add,
        reference=lambda xs, w, training: xs[0] + xs[1] + xs[2],
    )


def test_add_function_form():
    a, b = _x(2, 2, seed=1), _x(2, 2, seed=2)
    np.testing.assert_allclose(as_numpy(layers.add([a, b])), a + b, rtol=1e-6)
    symbolic = layers.add([lamina.Input(shape=(4,)), lamina.Input(shape=(4,))])
    assert symbolic.shape == (None, 4)


def test_add_shape_mismatch_names_layer_and_shapes():
    with pytest.raises(ValueError, match=r'"add".*broadcastable.*\(2, 3\) and \(2, 4\)'):
        layers.Add()([np.zeros((2, 3), "float32"), np.zeros((2, 4), "float32")])


@pytest.mark.parametrize("inputs", [[np.zeros((2, 3), "float32")], np.zeros((2, 3), "float32")])
def test_add_needs_at_least_two_inputs(inputs):
    with pytest.raises(ValueError, match='"add".*at least 2 inputs'):
        layers.Add()(inputs)


# --------------------------------------------------------------- Concatenate
@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_concatenate_matches_keras(keras3, axis):
    shapes = {-1: [(2, 3, 4), (2, 3, 2)], 1: [(2, 3, 4), (2, 1, 4)], 2: [(2, 3, 4), (2, 3, 1)]}[axis]
    inputs = [_x(*shapes[0], seed=1), _x(*shapes[1], seed=2)]
    check_layer(
        lambda: layers.Concatenate(axis=axis),
        inputs,
        make_keras=lambda: keras3.layers.Concatenate(axis=axis),
        reference=lambda xs, w, training: np.concatenate(xs, axis=axis),
        keras_config_keys=("axis",),
    )


def test_concatenate_function_form_and_symbolic_shape():
    a, b = lamina.Input(shape=(3, 4)), lamina.Input(shape=(5, 4))
    assert layers.concatenate([a, b], axis=1).shape == (None, 8, 4)
    np.testing.assert_array_equal(
        as_numpy(layers.concatenate([np.ones((1, 2), "float32"), np.zeros((1, 1), "float32")])), [[1.0, 1.0, 0.0]]
    )


def test_concatenate_mismatch_off_axis_names_layer():
    with pytest.raises(ValueError, match=r'"concatenate".*axis 1.*\(2, 3, 4\) and \(2, 1, 5\)'):
        layers.Concatenate(axis=1)([np.zeros((2, 3, 4), "float32"), np.zeros((2, 1, 5), "float32")])


# ------------------------------------------------- Reshape / Flatten, more cases
def test_reshape_minus_one_with_unknown_batch_and_in_a_model(keras3):
    model = lamina.Sequential([lamina.Input((3, 8)), layers.Reshape((-1, 4))])
    assert model.output_shape == (None, 6, 4)
    x = _x(5, 3, 8)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x.reshape(5, 6, 4))
    theirs = keras3.Sequential([keras3.Input((3, 8)), keras3.layers.Reshape((-1, 4))])
    assert theirs.output_shape == model.output_shape


def test_flatten_of_a_5d_input_channels_first(keras3):
    check_layer(
        lambda: layers.Flatten(data_format="channels_first"),
        _x(2, 3, 2, 2, 2),
        make_keras=lambda: keras3.layers.Flatten(data_format="channels_first"),
        reference=lambda x, w, training: np.moveaxis(x, 1, -1).reshape(2, -1),
    )


# ------------------------------------------------------------------- Permute
@pytest.mark.parametrize("dims", [(2, 1), (1, 2), (3, 1, 2), (2, 3, 1)])
def test_permute_matches_keras_and_numpy(keras3, dims):
    x = _x(2, 3, 4) if len(dims) == 2 else _x(2, 3, 4, 5)
    check_layer(
        lambda: layers.Permute(dims),
        x,
        make_keras=lambda: keras3.layers.Permute(dims),
        reference=lambda x, w, training: np.transpose(x, (0, *dims)),
        keras_config_keys=("dims",),
    )


@pytest.mark.parametrize("dims", [(0, 1), (1, 1), (1, 3), (2,)])
def test_permute_rejects_a_non_permutation(dims):
    with pytest.raises(ValueError, match=r'"permute".*permutation of 1\.\.'):
        layers.Permute(dims)


def test_permute_wrong_rank_names_the_layer():
    with pytest.raises(ValueError, match=r'"permute".*3 dimensions.*\(2, 3, 4, 5\)'):
        layers.Permute((2, 1))(np.zeros((2, 3, 4, 5), "float32"))


# -------------------------------------------------------------- RepeatVector
def test_repeat_vector_matches_keras_and_numpy(keras3):
    check_layer(
        lambda: layers.RepeatVector(3),
        _x(4, 5),
        make_keras=lambda: keras3.layers.RepeatVector(3),
        reference=lambda x, w, training: np.repeat(x[:, None, :], 3, axis=1),
        keras_config_keys=("n",),
    )


def test_repeat_vector_errors():
    with pytest.raises(ValueError, match='"repeat_vector".*n must be a positive integer'):
        layers.RepeatVector(0)
    with pytest.raises(ValueError, match=r'"repeat_vector_1".*2 dimensions.*\(2, 3, 4\)'):
        layers.RepeatVector(2)(np.zeros((2, 3, 4), "float32"))


# --------------------------------------------- element-wise merges, 3 inputs
ELEMENTWISE = {
    "Add": lambda xs: xs[0] + xs[1] + xs[2],
    "Multiply": lambda xs: xs[0] * xs[1] * xs[2],
    "Average": lambda xs: (xs[0] + xs[1] + xs[2]) / 3.0,
    "Maximum": lambda xs: np.maximum(np.maximum(xs[0], xs[1]), xs[2]),
    "Minimum": lambda xs: np.minimum(np.minimum(xs[0], xs[1]), xs[2]),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_merge_of_three_inputs_matches_keras(keras3, name):
    inputs = [_x(2, 3, 4, seed=1), _x(2, 3, 4, seed=2), _x(2, 3, 4, seed=3)]
    check_layer(
        getattr(layers, name),
        inputs,
        make_keras=getattr(keras3.layers, name),
        reference=lambda xs, w, training: ELEMENTWISE[name](xs),
    )


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_merge_broadcasts_as_keras(keras3, name):
    """Keras's rule: a lower-rank input gets size-1 axes after the batch axis; size-1 axes broadcast."""
    inputs = [_x(2, 3, 4, seed=1), _x(2, 4, seed=2), _x(2, 3, 1, seed=3)]
    aligned = [inputs[0], inputs[1][:, None, :], inputs[2]]
    check_layer(
        getattr(layers, name),
        inputs,
        make_keras=getattr(keras3.layers, name),
        reference=lambda xs, w, training: ELEMENTWISE[name](aligned),
    )


def test_subtract_matches_keras_and_takes_exactly_two_inputs(keras3):
    inputs = [_x(3, 4, seed=1), _x(3, 4, seed=2)]
    check_layer(
        layers.Subtract,
        inputs,
        make_keras=keras3.layers.Subtract,
        reference=lambda xs, w, training: xs[0] - xs[1],
    )
    with pytest.raises(ValueError, match='"subtract_1" expects exactly 2 inputs, got 3'):
        layers.Subtract()([_x(3, 4), _x(3, 4), _x(3, 4)])
    with pytest.raises(ValueError, match='"subtract_2" expects exactly 2 inputs, got 3'):
        layers.Subtract()([lamina.Input((4,)) for _ in range(3)])


FUNCTIONAL_FORMS = {
    "add": lambda a, b: a + b,
    "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "average": lambda a, b: (a + b) / 2,
    "maximum": np.maximum,
    "minimum": np.minimum,
}


@pytest.mark.parametrize("name", sorted(FUNCTIONAL_FORMS))
def test_functional_forms_eager_and_symbolic(name):
    a, b = _x(2, 3, seed=1), _x(2, 3, seed=2)
    function = getattr(layers, name)
    np.testing.assert_allclose(as_numpy(function([a, b])), FUNCTIONAL_FORMS[name](a, b), rtol=1e-6)
    inputs = [lamina.Input((3,)), lamina.Input((3,))]
    out = function(inputs, name=f"my_{name}")
    assert out.shape == (None, 3)
    model = lamina.Model(inputs, out)
    assert model.layers[-1].name == f"my_{name}"
    np.testing.assert_allclose(model.predict([a, b], verbose=0), FUNCTIONAL_FORMS[name](a, b), rtol=1e-6)


@pytest.mark.parametrize("name", ["Add", "Multiply", "Average", "Maximum", "Minimum", "Subtract"])
def test_elementwise_mismatch_raises_naming_the_layer(name):
    layer = getattr(layers, name)()
    with pytest.raises(ValueError, match=rf'"{layer.name}".*broadcastable.*\(2, 3\) and \(2, 4\)'):
        layer([np.zeros((2, 3), "float32"), np.zeros((2, 4), "float32")])
    with pytest.raises(ValueError, match=rf'"{layer.name}".*\(None, 3, 4\) and \(None, 3\)'):
        layer([lamina.Input((3, 4)), lamina.Input((3,))])


def test_merge_rejects_different_batch_sizes():
    with pytest.raises(ValueError, match=r'"multiply".*same batch size.*\(2, 3\) and \(4, 3\)'):
        layers.Multiply()([np.zeros((2, 3), "float32"), np.zeros((4, 3), "float32")])


def test_merge_needs_a_list_even_for_an_engine_tensor():
    tensor = lamina.ops.ones((2, 3))
    with pytest.raises(ValueError, match='"maximum".*at least 2 inputs.*single tensor'):
        layers.Maximum()(tensor)


def test_merge_in_a_functional_model_saves_and_loads(keras3):
    a, b, c = lamina.Input((4,)), lamina.Input((4,)), lamina.Input((1,))
    out = layers.Average()([layers.Dense(4)(a), layers.Multiply()([b, c]), layers.Subtract()([a, b])])
    model = lamina.Model([a, b, c], out)
    data = [_x(5, 4, seed=1), _x(5, 4, seed=2), _x(5, 1, seed=3)]
    config = model.get_config()
    clone = lamina.Model.from_config(config)
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(data, verbose=0), model.predict(data, verbose=0), rtol=1e-6)


# ----------------------------------------------------------------------- Dot
def _np_batch_dot(x, y, axes):
    out = np.stack([np.tensordot(x[i], y[i], axes=(axes[0] - 1, axes[1] - 1)) for i in range(len(x))])
    return out.reshape(len(x), 1) if out.ndim == 1 else out


DOT_CASES = [
    ((4, 5), (4, 5), 1, True),
    ((4, 5), (4, 5), -1, False),
    ((2, 3, 4), (2, 4, 3), [1, 2], False),
    ((2, 3, 4), (2, 4, 3), [1, 2], True),
    ((2, 3, 4), (2, 5, 4), -1, False),
    ((2, 3, 4), (2, 3, 5), 1, False),
    ((2, 3, 5), (2, 3, 6, 7), 1, True),
    ((2, 5), (2, 5, 3), [1, 1], False),
]


@pytest.mark.parametrize("shape_x, shape_y, axes, normalize", DOT_CASES)
def test_dot_matches_keras_and_numpy(keras3, shape_x, shape_y, axes, normalize):
    inputs = [_x(*shape_x, seed=1), _x(*shape_y, seed=2)]
    pair = [axes, axes] if isinstance(axes, int) else axes
    pair = [a % len(s) for a, s in zip(pair, (shape_x, shape_y))]

    def reference(xs, w, training):
        x, y = (v.astype("float64") for v in xs)
        if normalize:
            x = x / np.sqrt((x**2).sum(axis=pair[0], keepdims=True))
            y = y / np.sqrt((y**2).sum(axis=pair[1], keepdims=True))
        return _np_batch_dot(x, y, pair)

    check_layer(
        lambda: layers.Dot(axes=axes, normalize=normalize),
        inputs,
        make_keras=lambda: keras3.layers.Dot(axes=axes, normalize=normalize),
        reference=reference,
        keras_config_keys=("axes", "normalize"),
        rtol=1e-5,
        atol=1e-5,
    )


def test_dot_normalize_gives_cosine_similarity():
    a = np.array([[3.0, 4.0], [1.0, 0.0]], "float32")
    b = np.array([[4.0, 3.0], [0.0, 2.0]], "float32")
    np.testing.assert_allclose(as_numpy(layers.dot([a, b], axes=1, normalize=True)), [[24 / 25], [0.0]], atol=1e-6)


def test_dot_functional_form_symbolic():
    out = layers.dot([lamina.Input((3, 4)), lamina.Input((5, 4))], axes=-1)
    assert out.shape == (None, 3, 5)


@pytest.mark.parametrize(
    "shapes, axes, match",
    [
        ([(2, 3), (2, 4)], 1, r"contracts axis 1 of \(2, 3\) \(3 values\) with axis 1 of \(2, 4\)"),
        ([(2, 3), (2, 3)], 0, "non-batch axis"),
        ([(2, 3), (2, 3)], 2, "non-batch axis"),
    ],
)
def test_dot_errors_name_the_layer(shapes, axes, match):
    with pytest.raises(ValueError, match=f'"dot".*{match}'):
        layers.Dot(axes=axes)([np.zeros(s, "float32") for s in shapes])


def test_dot_bad_arguments():
    with pytest.raises(ValueError, match='"dot".*axes'):
        layers.Dot(axes=[1, 2, 3])
    with pytest.raises(TypeError, match='"dot_1".*axes'):
        layers.Dot(axes="last")
    with pytest.raises(ValueError, match='"dot_2" expects exactly 2 inputs, got 3'):
        layers.Dot(axes=1)([np.zeros((2, 3), "float32")] * 3)


# --------------------------------------------------------------------- masks
def _masked_steps_model(mod, merge_name):
    """Two masked embeddings merged, then a layer that zeroes the steps the merged mask drops."""
    L = mod.layers

    class ZeroMasked(L.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs, mask=None):
            if mask is None:
                return inputs
            return inputs * mod.ops.cast(mod.ops.expand_dims(mask, -1), inputs.dtype)

    i, j = mod.Input((4,), dtype="int32"), mod.Input((4,), dtype="int32")
    a = L.Embedding(10, 3, mask_zero=True)(i)
    b = L.Embedding(10, 3, mask_zero=True)(j)
    return mod.Model([i, j], ZeroMasked()(getattr(L, merge_name)()([a, b])))


@pytest.mark.parametrize("merge_name", ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"])
def test_merged_masks_match_keras(keras3, merge_name):
    """Keras 3 keeps the steps any input keeps (Keras 2 kept those all inputs keep)."""
    ours, theirs = _masked_steps_model(lamina, merge_name), _masked_steps_model(keras3, merge_name)
    theirs.set_weights([np.ones((10, 3), "float32"), np.ones((10, 3), "float32") * 2])
    ours.set_weights(theirs.get_weights())
    x = [np.array([[1, 2, 0, 0], [0, 3, 3, 1]]), np.array([[1, 0, 3, 0], [2, 0, 1, 1]])]
    got = ours.predict(x, verbose=0)
    np.testing.assert_allclose(got, np.asarray(theirs.predict(x, verbose=0)), rtol=1e-6)
    kept = np.abs(got).sum(-1) > 0
    np.testing.assert_array_equal(kept, (x[0] != 0) | (x[1] != 0))


def test_merge_compute_mask_directly():
    a, b = np.ones((2, 3, 4), "float32"), np.ones((2, 3, 4), "float32")
    m1, m2 = np.array([[1, 1, 0], [1, 0, 0]], bool), np.array([[1, 0, 1], [1, 1, 0]], bool)
    layer = layers.Add()
    assert layer.compute_mask([a, b], None) is None
    assert layer.compute_mask([a, b], [None, None]) is None
    assert layer.compute_mask([a, b], [m1, None]) is None  # Keras 3: a mask only when every input has one
    np.testing.assert_array_equal(as_numpy(layer.compute_mask([a, b], [m1, m2])), m1 | m2)
    concatenated = layers.Concatenate().compute_mask([a, b], [m1, None])
    np.testing.assert_array_equal(as_numpy(concatenated), np.ones((2, 3), bool))
    assert layers.Dot(axes=2).compute_mask([a, b], [m1, m2]) is None
    with pytest.raises(ValueError, match='"add".*one mask'):
        layer.compute_mask([a, b], [m1])
