"""GroupQueryAttention: attention where groups of query heads share one key/value head (Keras 3)."""

from __future__ import annotations

from lamina import ops
from lamina.layers.attention.multi_head_attention import MultiHeadAttention, _positive_int
from lamina.saving.serialization import serialize_object


class GroupedQueryAttention(MultiHeadAttention):
    """Grouped-query attention: `num_query_heads` query heads over `num_key_value_heads` key/value heads.

    Each key/value head serves `num_query_heads // num_key_value_heads` consecutive query heads.
    The weights are Keras's: `query`, `key`, (`gate`), `value` and `attention_output` projections,
    each a kernel and (with `use_bias`) a bias.

    Args:
        head_dim: the size of each head.
        num_query_heads: the number of query heads.
        num_key_value_heads: the number of key and value heads (divides num_query_heads).
        dropout: dropout rate on the attention weights, in training.
        use_bias: whether the projections have biases.
        sliding_window: if set, each query attends only to keys fewer than this many steps away.
        use_gate: multiply the heads by a sigmoid gate projected from the query.
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        activity_regularizer, kernel_constraint, bias_constraint, seed: as in MultiHeadAttention.

    Example:
        >>> layer = GroupedQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2)
        >>> layer(np.ones((2, 5, 8)), np.ones((2, 3, 8))).shape
        (2, 5, 8)
    """

    # Keras's HDF5 files name the class; its `.keras` files name the export, `keras.layers.GroupQueryAttention`.
    keras3_export_name = "GroupQueryAttention"

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0, use_bias=True,
                 sliding_window=None, flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, use_gate=False,
                 seed=None, **kwargs):  # fmt: skip
        super().__init__(
            num_heads=num_query_heads, key_dim=head_dim, dropout=dropout, use_bias=use_bias,
            sliding_window=sliding_window, flash_attention=flash_attention, kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, use_gate=use_gate, seed=seed,
            **kwargs,
        )  # fmt: skip
        self.head_dim = self.key_dim
        self.num_query_heads = self.num_heads
        self.num_key_value_heads = _positive_int(self.name, "num_key_value_heads", num_key_value_heads)
        if self.num_query_heads % self.num_key_value_heads:
            raise ValueError(
                f'Layer "{self.name}": num_query_heads ({self.num_query_heads}) must be a multiple of '
                f"num_key_value_heads ({self.num_key_value_heads})."
            )
        self.num_repeats = self.num_query_heads // self.num_key_value_heads

    def build(self, query_shape, value_shape=None, key_shape=None):
        if value_shape is None:
            raise ValueError(
                f'Layer "{self.name}" is built from the query and value shapes: call it as layer(query, value).'
            )
        key_shape = value_shape if key_shape is None else key_shape
        query_shape, value_shape, key_shape = tuple(query_shape), tuple(value_shape), tuple(key_shape)
        self._check_shapes(query_shape, value_shape, key_shape)
        if len(query_shape) != 3:
            raise ValueError(
                f'Layer "{self.name}" expects (batch, steps, features) inputs, got query shape {query_shape}.'
            )
        heads, kv_heads, size = self.num_query_heads, self.num_key_value_heads, self.head_dim
        self.query_dense = self._projection("query", (query_shape[-1], heads, size), (heads, size))
        self.key_dense = self._projection("key", (key_shape[-1], kv_heads, size), (kv_heads, size))
        self.gate_dense = None
        if self.use_gate:
            self.gate_dense = self._projection("gate", (query_shape[-1], heads, size), (heads, size), ops.sigmoid)
        self.value_dense = self._projection("value", (value_shape[-1], kv_heads, size), (kv_heads, size))
        self.output_dense = self._projection("attention_output", (heads, size, query_shape[-1]), (query_shape[-1],))
        self.attention_axes = (1,)
        self._score_equation, self._combine_equation = "bquh,bkuh->buqk", "buqk,bkuh->bquh"
        self.built = True

    def _project(self, inputs, projection, axes=1):
        outputs = super()._project(inputs, projection, axes)
        if projection is self.key_dense or projection is self.value_dense:
            outputs = ops.repeat(outputs, self.num_repeats, axis=2)  # one copy per query head of the group
        return outputs

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=None, use_causal_mask=False):  # fmt: skip
        # Keras computes plain dot-product attention unless it must return the scores or apply dropout: a query
        # whose keys are all masked then averages the values evenly rather than getting zeros.
        self._zero_masked_rows = bool(return_attention_scores or self.dropout > 0.0)
        return super().call(
            query, value, key=key, query_mask=query_mask, value_mask=value_mask, key_mask=key_mask,
            attention_mask=attention_mask, return_attention_scores=return_attention_scores, training=training,
            use_causal_mask=use_causal_mask,
        )  # fmt: skip

    def _masked_softmax(self, scores, mask):
        if mask is None or getattr(self, "_zero_masked_rows", True):
            return super()._masked_softmax(scores, mask)
        while len(mask.shape) < len(scores.shape):
            mask = ops.expand_dims(mask, -3)
        return ops.softmax(ops.where(mask, scores, -1e9), axis=-1)

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        if value_shape is not None and tuple(query_shape)[-1] != tuple(value_shape)[-1]:
            raise ValueError(
                f'Layer "{self.name}": query and value must have the same last dimension, got {tuple(query_shape)} '
                f"and {tuple(value_shape)}."
            )
        return super().compute_output_shape(query_shape, value_shape, key_shape)

    def get_config(self) -> dict:
        base = super().get_config()
        for key in ("num_heads", "key_dim", "value_dim", "output_shape", "attention_axes", "use_gate",
                    "sliding_window", "seed"):  # fmt: skip
            base.pop(key, None)
        return {
            **base,
            "head_dim": self.head_dim,
            "num_query_heads": self.num_query_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "sliding_window": self.sliding_window,
            "dropout": self.dropout,
            "kernel_initializer": serialize_object(self.kernel_initializer),
            "seed": self.seed,
        }


GroupQueryAttention = GroupedQueryAttention  # the name keras.layers exports it under
