"""CategoryEncoding: integer category ids as one-hot, multi-hot or count vectors."""

from __future__ import annotations

from lamina import ops
from lamina.layers.layer import Layer

OUTPUT_MODES = ("one_hot", "multi_hot", "count")


def check_output_mode(layer_name: str, output_mode, allowed) -> str:
    """`output_mode` if it is one of `allowed`, else a ValueError naming the layer."""
    if output_mode not in allowed:
        raise ValueError(f'Layer "{layer_name}": output_mode must be one of {list(allowed)}, got {output_mode!r}.')
    return output_mode


def encode_categories(indices, output_mode: str, depth: int, dtype: str, count_weights=None):
    """Integer ids `indices` encoded as Keras encodes them.

    "int" casts; "one_hot" adds an axis of size `depth` (replacing a last axis of size 1);
    "multi_hot" and "count" reduce axis 1 (axis 0 for a vector), as Keras 3 does for every rank: a
    `(batch, steps, features)` input gives `(batch, features, depth)`. Ids outside `[0, depth)` give no hot entry.

    Example:
        >>> encode_categories(np.array([[1, 1, 3]]), "count", 4, "float32")  # [[0, 2, 0, 1]]
    """
    if output_mode == "int":
        return ops.cast(indices, dtype)
    if len(indices.shape) == 0:
        indices = ops.expand_dims(indices, -1)
    if output_mode == "one_hot" and len(indices.shape) > 1 and indices.shape[-1] == 1:
        indices = ops.squeeze(indices, -1)
    classes = ops.arange(depth, dtype="int32")
    hot = ops.cast(ops.equal(ops.expand_dims(ops.cast(indices, "int32"), -1), classes), dtype)
    if output_mode == "one_hot":
        return hot
    axis = 1 if len(indices.shape) > 1 else 0
    if output_mode == "multi_hot":
        return ops.max(hot, axis=axis)
    if count_weights is not None:
        hot = hot * ops.expand_dims(ops.cast(count_weights, dtype), -1)
    return ops.sum(hot, axis=axis)


def encoded_shape(input_shape, output_mode: str, depth: int) -> tuple:
    """The shape `encode_categories` gives for inputs of `input_shape`.

    For "multi_hot"/"count" inputs of rank 3 or more this is the shape of the values (axis 1 reduced);
    Keras 3's own `compute_output_shape` says `(*input_shape[:-1], depth)` there, which its values do not have.
    """
    input_shape = tuple(input_shape)
    if output_mode == "int":
        return input_shape
    if not input_shape:
        return (depth,)
    if output_mode == "one_hot":
        if len(input_shape) > 1 and input_shape[-1] == 1:
            return (*input_shape[:-1], depth)
        return (*input_shape, depth)
    if len(input_shape) == 1:
        return (depth,)
    return (input_shape[0], *input_shape[2:], depth)


class CategoryEncoding(Layer):
    """Encodes integer ids in `[0, num_tokens)` as one-hot, multi-hot or count vectors.

    Args:
        num_tokens: the number of categories (the output's last size).
        output_mode: "multi_hot" (default, "binary" is an alias), "one_hot" or "count".
        sparse: must stay False (lamina has no sparse tensors).

    Call arguments:
        count_weights: with output_mode="count", a weight per input id, summed instead of 1s.

    Example:
        >>> CategoryEncoding(4, output_mode="multi_hot")(np.array([[0, 1], [3, 3]]))
        # [[1, 1, 0, 0], [0, 0, 0, 1]]
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        self.output_mode = check_output_mode(self.name, output_mode, OUTPUT_MODES)
        if not isinstance(num_tokens, int) or num_tokens < 1:
            raise ValueError(f'Layer "{self.name}": num_tokens must be an integer >= 1, got {num_tokens!r}.')
        if sparse:
            raise ValueError(f'Layer "{self.name}": sparse=True is not supported (lamina has no sparse tensors).')
        self.num_tokens = num_tokens
        self.sparse = False

    def call(self, inputs, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(
                f'Layer "{self.name}": count_weights is only used with output_mode="count", '
                f"got output_mode={self.output_mode!r}."
            )
        return encode_categories(inputs, self.output_mode, self.num_tokens, self.dtype, count_weights)

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self.num_tokens)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode, "sparse": False}
