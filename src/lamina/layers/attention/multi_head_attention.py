"""MultiHeadAttention: scaled dot-product attention with learned per-head projections (Transformers)."""

from __future__ import annotations

import math
import string
import types

import numpy as np

from lamina import constraints, initializers, ops, regularizers
from lamina.backend.common import SeedGenerator
from lamina.layers.attention.attention import as_bool, causal_mask
from lamina.layers.layer import Layer
from lamina.saving.serialization import serialize_object

_MASKED_SCORE = -1e9  # the score of a masked position before the softmax (its weight is then set to 0)


def _positive_int(layer_name: str, argument: str, value, allow_none=False):
    if value is None and allow_none:
        return None
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        wanted = "a positive integer or None" if allow_none else "a positive integer"
        raise ValueError(f'Layer "{layer_name}": {argument} must be {wanted}, got {value!r}.')
    return int(value)


def _shape_of(value) -> tuple:
    return tuple(value.shape) if hasattr(value, "shape") else tuple(np.shape(value))


def attention_equations(rank: int, attention_axes: tuple) -> tuple[str, str]:
    """Einsum equations for projected tensors `(batch, ..., heads, channels)` of `rank` dimensions.

    Returns `(scores, combine)`: `scores` takes query and key to scores laid out as
    `(batch and other non-attention axes, heads, query attention axes, key attention axes)`;
    `combine` takes those scores and the value back to the query's layout.

    Example:
        >>> attention_equations(4, (1,))
        ('abcd,aecd->acbe', 'acbe,aecd->abcd')
    """
    query = string.ascii_lowercase[:rank]
    key = list(query)
    for offset, axis in enumerate(attention_axes):
        key[axis] = string.ascii_lowercase[rank + offset]  # key steps get letters of their own
    key = "".join(key)
    batch = [i for i in range(rank - 1) if i not in attention_axes]  # heads included: they pair up one to one
    scores = "".join(query[i] for i in batch) + "".join(query[i] for i in attention_axes)
    scores += "".join(key[i] for i in attention_axes)
    return f"{query},{key}->{scores}", f"{scores},{key}->{query}"


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al., 2017), as in Keras.

    The query, key and value are projected to `num_heads` heads (kernels of shape
    `(dim, num_heads, key_dim)`, biases `(num_heads, key_dim)`); each head computes
    `softmax(q k^T / sqrt(key_dim)) v` over the attention axes; the heads are projected
    back by `attention_output` (kernel `(num_heads, value_dim, *output_shape)`).
    The weights are, in order, `query/kernel`, `query/bias`, `key/...`, `value/...`,
    `attention_output/...` under the layer's name, as Keras names them.

    Args:
        num_heads: the number of attention heads.
        key_dim: the size of each head for query and key.
        value_dim: the size of each head for value (default `key_dim`).
        dropout: the fraction of attention weights dropped in training.
        use_bias: whether the projections have biases.
        output_shape: the output's last dimension(s) (an int or a tuple); default the query's.
        attention_axes: the axes attention runs over (default all but batch and features).
        sliding_window: Keras 3's local attention: a query step only sees key steps fewer than
            this many positions away.
        flash_attention: Keras 3's kernel choice; accepted, with no effect on the numbers.
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        kernel_constraint, bias_constraint: for the projections.
        activity_regularizer: applied, as in Keras, to each projection's output.
        use_gate: Keras 3's gated attention: the heads' output is multiplied by
            `sigmoid(query @ gate/kernel + gate/bias)` before the output projection.
        seed: the dropout's random seed.

    Call arguments:
        query: `(batch, Tq, dim)` (or more axes).  value: `(batch, Tv, dim_v)`.
        key: `(batch, Tv, dim_k)`; default `value`.
        query_mask, value_mask, key_mask: boolean `(batch, Tq)` / `(batch, Tv)` masks of the
            steps that count (for padded sequences).
        attention_mask: a boolean `(batch, Tq, Tv)` mask of which query step may attend to
            which key step; combined with the masks above by logical and.
        return_attention_scores: also return the attention weights `(batch, heads, Tq, Tv)`
            (before dropout). A query step that may attend to nothing gets all-zero weights.
        training: whether to apply dropout.
        use_causal_mask: query step i attends only to key steps 0..i (decoders).

    Example:
        >>> mha = MultiHeadAttention(num_heads=2, key_dim=4)
        >>> query, value = np.random.rand(3, 5, 8), np.random.rand(3, 7, 6)
        >>> output, scores = mha(query, value, return_attention_scores=True)
        >>> output.shape, scores.shape
        ((3, 5, 8), (3, 2, 5, 7))
    """

    def __init__(
        self,
        num_heads,
        key_dim,
        value_dim=None,
        dropout=0.0,
        use_bias=True,
        output_shape=None,
        attention_axes=None,
        sliding_window=None,
        flash_attention=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        use_gate=False,
        seed=None,
        **kwargs,
    ):
        for key in ("query_shape", "key_shape", "value_shape"):
            kwargs.pop(key, None)  # tf.keras 2 configs: the shapes it was built on (lamina builds on first call)
        super().__init__(**kwargs)
        self.num_heads = _positive_int(self.name, "num_heads", num_heads)
        self.key_dim = _positive_int(self.name, "key_dim", key_dim)
        self.value_dim = _positive_int(self.name, "value_dim", value_dim, allow_none=True) or self.key_dim
        if not 0.0 <= float(dropout) <= 1.0:
            raise ValueError(f'Layer "{self.name}": dropout must be in [0, 1], got {dropout!r}.')
        self.dropout = float(dropout)
        self.use_bias, self.use_gate = bool(use_bias), bool(use_gate)
        self._output_shape = self._check_output_shape(output_shape)
        self.attention_axes = self._check_attention_axes(attention_axes)
        self.sliding_window = _positive_int(self.name, "sliding_window", sliding_window, allow_none=True)
        self.flash_attention = flash_attention
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        # Keras regularizes each projection's output, not the layer's: the base layer must not apply it again.
        self.projection_activity_regularizer = regularizers.get(activity_regularizer)
        self.seed = seed
        if self.dropout > 0.0:
            self.seed_generator = SeedGenerator(seed)
        self.supports_masking = True

    def _check_output_shape(self, output_shape):
        if output_shape is None or output_shape == () or output_shape == []:
            return None
        dims = (output_shape,) if isinstance(output_shape, (int, np.integer)) else output_shape
        if not isinstance(dims, (list, tuple)):
            raise ValueError(f'Layer "{self.name}": output_shape must be an int or a tuple, got {output_shape!r}.')
        return tuple(_positive_int(self.name, "output_shape", d) for d in dims)

    def _check_attention_axes(self, axes):
        if axes is None:
            return None
        axes = (axes,) if isinstance(axes, (int, np.integer)) else axes
        if not isinstance(axes, (list, tuple)) or not all(isinstance(a, (int, np.integer)) for a in axes):
            raise ValueError(f'Layer "{self.name}": attention_axes must be an int or a tuple of ints, got {axes!r}.')
        return tuple(int(a) for a in axes)

    # -------------------------------------------------------------- building
    def _projection(self, name: str, kernel_shape: tuple, bias_shape: tuple, activation=None):
        kernel = self.add_weight(
            name="kernel", shape=kernel_shape, initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
        )  # fmt: skip
        kernel.path = f"{self.name}/{name}/kernel"  # Keras's sub-layer paths, which files store
        bias = None
        if self.use_bias:
            bias = self.add_weight(
                name="bias", shape=bias_shape, initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint,
            )  # fmt: skip
            bias.path = f"{self.name}/{name}/bias"
        weights = [kernel] if bias is None else [kernel, bias]
        return types.SimpleNamespace(name=name, kernel=kernel, bias=bias, weights=weights, activation=activation)

    def build(self, query_shape, value_shape=None, key_shape=None):
        if value_shape is None:
            raise ValueError(
                f'Layer "{self.name}" is built from the query and value shapes: call it as layer(query, value).'
            )
        key_shape = value_shape if key_shape is None else key_shape
        query_shape, value_shape, key_shape = tuple(query_shape), tuple(value_shape), tuple(key_shape)
        self._check_shapes(query_shape, value_shape, key_shape)
        heads = self.num_heads
        self.query_dense = self._projection("query", (query_shape[-1], heads, self.key_dim), (heads, self.key_dim))
        self.key_dense = self._projection("key", (key_shape[-1], heads, self.key_dim), (heads, self.key_dim))
        self.gate_dense = None
        if self.use_gate:
            gate_shape = (query_shape[-1], heads, self.value_dim)
            self.gate_dense = self._projection("gate", gate_shape, (heads, self.value_dim), activation=ops.sigmoid)
        self.value_dense = self._projection("value", (value_shape[-1], heads, self.value_dim), (heads, self.value_dim))
        out = self._output_shape or (query_shape[-1],)
        self.output_dense = self._projection("attention_output", (heads, self.value_dim, *out), out)
        rank = len(query_shape)
        if self.attention_axes is None:
            self.attention_axes = tuple(range(1, rank - 1))
        else:
            self.attention_axes = tuple(a % rank for a in self.attention_axes)
        if any(not 1 <= a <= rank - 2 for a in self.attention_axes):
            raise ValueError(
                f'Layer "{self.name}": attention_axes must name axes between the batch and the feature axis of '
                f"inputs of shape {query_shape}."
            )
        # Projected tensors have one axis more (heads); attention axes keep their positions.
        self._score_equation, self._combine_equation = attention_equations(rank + 1, self.attention_axes)
        self.built = True

    def _check_shapes(self, query_shape, value_shape, key_shape) -> None:
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(
                f'Layer "{self.name}": value and key must agree on every axis but the last, got value shape '
                f"{value_shape} and key shape {key_shape}."
            )
        if not len(query_shape) == len(value_shape) >= 3:
            raise ValueError(
                f'Layer "{self.name}": query and value must have the same rank (at least 3: batch, steps, '
                f"features), got query shape {query_shape} and value shape {value_shape}."
            )
        for what, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if shape[-1] is None:
                raise ValueError(f'Layer "{self.name}" needs a known last dimension of {what}, got shape {shape}.')

    # --------------------------------------------------------------- calling
    def __call__(self, query=None, value=None, key=None, **kwargs):
        if isinstance(query, (list, tuple)) or query is None or value is None:
            raise ValueError(
                f'Layer "{self.name}" takes query and value as separate arguments, layer(query, value) or '
                f"layer(query, value, key), got query={type(query).__name__}, value={type(value).__name__}."
            )
        if not self.built:
            key_shape = None if key is None else _shape_of(key)
            self.build(_shape_of(query), _shape_of(value), key_shape)
        if key is not None:
            kwargs["key"] = key
        return super().__call__(query, value, **kwargs)

    def _project(self, inputs, projection, axes=1):
        outputs = ops.tensordot(inputs, projection.kernel, axes=axes)
        if projection.bias is not None:
            outputs = outputs + projection.bias
        if projection.activation is not None:
            outputs = projection.activation(outputs)
        regularizer = self.projection_activity_regularizer
        if regularizer is not None:
            self.add_loss(regularizer(outputs) / outputs.shape[0])
        return outputs

    def call(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
        use_causal_mask=False,
    ):
        # Only the query went through Layer.__call__'s conversion; value and key get the same here.
        query, value = self._convert_input(query), self._convert_input(value)
        key = value if key is None else self._convert_input(key)
        mask = self._attention_mask(query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask)
        projected_query = self._project(query, self.query_dense) * (1.0 / math.sqrt(self.key_dim))
        projected_key = self._project(key, self.key_dense)
        projected_value = self._project(value, self.value_dense)
        scores = self._masked_softmax(ops.einsum(self._score_equation, projected_query, projected_key), mask)
        weights = scores
        if training and self.dropout > 0.0:
            weights = ops.random.dropout(scores, self.dropout, seed=self.seed_generator)
        heads = ops.einsum(self._combine_equation, weights, projected_value)
        if self.gate_dense is not None:
            heads = heads * self._project(query, self.gate_dense)
        outputs = self._project(heads, self.output_dense, axes=2)
        return (outputs, scores) if return_attention_scores else outputs

    def _attention_mask(self, query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask):
        """Every mask that applies, combined into one boolean mask (or None): Keras's rules."""
        masks = []
        if query_mask is not None:
            masks.append(ops.expand_dims(as_bool(query_mask), -1))  # (batch, Tq, 1)
        for step_mask in (value_mask, key_mask):
            if step_mask is not None:
                masks.append(ops.expand_dims(as_bool(step_mask), -2))  # (batch, 1, Tv)
        query_steps, key_steps = query.shape[1], value.shape[1]
        if use_causal_mask:
            masks.append(causal_mask(query_steps, key_steps))
        if self.sliding_window is not None:
            rows = ops.reshape(ops.arange(query_steps), (1, query_steps, 1))
            columns = ops.reshape(ops.arange(key_steps), (1, 1, key_steps))
            masks.append(ops.less(ops.abs(rows - columns), self.sliding_window))
        if attention_mask is not None:
            masks.insert(0, as_bool(attention_mask))
        if not masks:
            return None
        combined = masks[0]
        for mask in masks[1:]:
            combined = ops.logical_and(combined, mask)
        return combined

    def _masked_softmax(self, scores, mask):
        """Softmax over the key attention axes; masked positions get weight 0 (a fully masked row is all 0)."""
        count = len(self.attention_axes)
        rank = len(scores.shape)
        axes = tuple(range(rank - count, rank))
        if mask is None:
            return ops.softmax(scores, axis=axes[0] if count == 1 else axes)
        while len(mask.shape) < rank:  # (batch, Tq, Tv) -> (batch, 1, Tq, Tv): one mask for every head
            mask = ops.expand_dims(mask, -2 * count - 1)
        probabilities = ops.softmax(ops.where(mask, scores, _MASKED_SCORE), axis=axes[0] if count == 1 else axes)
        return ops.where(mask, probabilities, ops.zeros_like(probabilities))

    # ---------------------------------------------------------------- shapes
    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        query_shape = tuple(query_shape)
        if value_shape is not None:
            value_shape = tuple(value_shape)
            key_shape = value_shape if key_shape is None else tuple(key_shape)
            if value_shape[1:-1] != key_shape[1:-1]:
                raise ValueError(
                    f'Layer "{self.name}": value and key must agree on every axis but the last, got value shape '
                    f"{value_shape} and key shape {key_shape}."
                )
        if self._output_shape:
            return query_shape[:-1] + self._output_shape
        return query_shape

    # ---------------------------------------------------------------- config
    def get_config(self) -> dict:
        config = {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "output_shape": self._output_shape,
            "attention_axes": self.attention_axes,
            "kernel_initializer": serialize_object(self.kernel_initializer),
            "bias_initializer": serialize_object(self.bias_initializer),
            "kernel_regularizer": serialize_object(self.kernel_regularizer),
            "bias_regularizer": serialize_object(self.bias_regularizer),
            "activity_regularizer": serialize_object(self.projection_activity_regularizer),
            "kernel_constraint": serialize_object(self.kernel_constraint),
            "bias_constraint": serialize_object(self.bias_constraint),
        }
        # Keras 3's options, written only when on: tf.keras 2 configs do not know these keys.
        for key, value, off in (("use_gate", self.use_gate, False), ("sliding_window", self.sliding_window, None)):
            if value != off:
                config[key] = value
        if self.seed is not None:
            config["seed"] = self.seed
        return config
