"""Attention: dot-product (Luong-style) attention over `[query, value(, key)]`."""

from __future__ import annotations

from lamina import ops
from lamina.backend.common import SeedGenerator
from lamina.layers.layer import Layer

_SCORE_MODES = ("dot", "concat")


def _masked_out_penalty(dtype) -> float:
    """What is subtracted from the score of a masked position: large, but finite in the dtype."""
    return 65504.0 if str(dtype).endswith("float16") else 1.0e9


def causal_mask(query_length: int, key_length: int):
    """A boolean `(1, Tq, Tv)` mask: query step i sees key steps 0..i.

    Example:
        >>> causal_mask(3, 3)  # [[[True, False, False], [True, True, False], [True, True, True]]]
    """
    rows = ops.reshape(ops.arange(query_length), (1, query_length, 1))
    columns = ops.reshape(ops.arange(key_length), (1, 1, key_length))
    return ops.greater_equal(rows, columns)


def as_bool(mask):
    """A mask (bool, 0/1 numbers, a NumPy array or a tensor) as a boolean tensor; None stays None.

    Example:
        >>> as_bool(np.array([[1, 0]]))  # [[True, False]]
    """
    if mask is None:
        return None
    mask = ops.convert_to_tensor(mask)
    return mask if str(mask.dtype).endswith("bool") else ops.not_equal(mask, 0)


class Attention(Layer):
    """Dot-product attention: `softmax(query @ key^T) @ value`, per batch element.

    Called on a list `[query, value]` or `[query, value, key]` (key defaults to value), of
    shapes `(batch, Tq, dim)`, `(batch, Tv, dim_v)` and `(batch, Tv, dim)`.

    Args:
        use_scale: learn a scalar `scale` that multiplies the scores (with `score_mode="concat"`
            it scales `query + key` inside the tanh).
        score_mode: "dot" (`query @ key^T`) or "concat"
            (`concat_score_weight * sum(tanh(query + key))`, with a learned scalar weight).
        dropout: the fraction of attention weights dropped in training.
        seed: the dropout's random seed.

    Call arguments:
        inputs: the list `[query, value]` or `[query, value, key]`.
        mask: optional list `[query_mask, value_mask]` of boolean `(batch, Tq)` and
            `(batch, Tv)` masks. Masked value steps get no attention; masked query steps
            give zero outputs.
        training: whether to apply dropout.
        return_attention_scores: also return the attention weights `(batch, Tq, Tv)`
            (after masking, softmax and dropout).
        use_causal_mask: query step i attends only to value steps 0..i (decoders).

    Example:
        >>> query, value = np.random.rand(2, 4, 8), np.random.rand(2, 6, 8)
        >>> Attention()([query, value]).shape
        (2, 4, 8)
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        causal = kwargs.pop("causal", False)  # Keras 2's constructor flag: the default for `use_causal_mask`
        super().__init__(**kwargs)
        if score_mode not in _SCORE_MODES:
            raise ValueError(f'Layer "{self.name}": score_mode must be one of {_SCORE_MODES}, got {score_mode!r}.')
        if not 0.0 <= float(dropout) <= 1.0:
            raise ValueError(f'Layer "{self.name}": dropout must be in [0, 1], got {dropout!r}.')
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.dropout = float(dropout)
        self.seed = seed
        self.causal = bool(causal)
        if self.dropout > 0.0:
            self.seed_generator = SeedGenerator(seed)
        self.supports_masking = True

    # ------------------------------------------------------------------ inputs
    def _check_list(self, inputs, mask=None) -> None:
        is_one_shape = isinstance(inputs, tuple) and all(d is None or isinstance(d, int) for d in inputs)
        if not isinstance(inputs, (list, tuple)) or is_one_shape:
            raise ValueError(
                f'Layer "{self.name}" must be called on a list [query, value] or [query, value, key], '
                f"got {'one shape ' + str(inputs) if is_one_shape else type(inputs).__name__}."
            )
        if not 2 <= len(inputs) <= 3:
            raise ValueError(
                f'Layer "{self.name}" expects a list of 2 or 3 inputs [query, value(, key)], got {len(inputs)}.'
            )
        if mask is not None and (not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3):
            raise ValueError(f'Layer "{self.name}": mask must be a list [query_mask, value_mask], got {mask!r:.200}.')

    def _check_shapes(self, shapes) -> None:
        query, value = shapes[0], shapes[1]
        key = shapes[2] if len(shapes) > 2 else value
        for what, shape in (("query", query), ("value", value), ("key", key)):
            if len(shape) < 3:
                raise ValueError(
                    f'Layer "{self.name}": {what} must have shape (batch, steps, dim), got {tuple(shape)}.'
                )
        if key[-2] is not None and value[-2] is not None and key[-2] != value[-2]:
            raise ValueError(
                f'Layer "{self.name}": key and value must have the same number of steps, got key shape '
                f"{tuple(key)} and value shape {tuple(value)}."
            )
        if query[-1] is not None and key[-1] is not None and query[-1] != key[-1]:
            raise ValueError(
                f'Layer "{self.name}": query and key must have the same last dimension, got query shape '
                f"{tuple(query)} and key shape {tuple(key)}."
            )

    def build(self, input_shape):
        self._check_list(input_shape)
        self._check_shapes(input_shape)
        self.scale = self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(), initializer="ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(name="concat_score_weight", shape=(), initializer="ones")
        self.built = True

    # ------------------------------------------------------------------ scores
    def _scores(self, query, key):
        """`(batch, Tq, Tv)` scores of each query step against each key step."""
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.moveaxis(key, -1, -2))
            return scores * self.scale if self.scale is not None else scores
        pairs = ops.expand_dims(query, -2) + ops.expand_dims(key, -3)  # (batch, Tq, Tv, dim)
        if self.scale is not None:
            pairs = self.scale * pairs
        return self.concat_score_weight * ops.sum(ops.tanh(pairs), axis=-1)

    def _score_mask(self, scores, value_mask, use_causal_mask):
        """The boolean mask of the positions a query step may attend to, or None."""
        mask = None if value_mask is None else ops.expand_dims(value_mask, -2)  # (batch, 1, Tv)
        if use_causal_mask:
            causal = causal_mask(scores.shape[-2], scores.shape[-1])
            mask = causal if mask is None else ops.logical_and(mask, causal)
        return mask

    def call(self, inputs, mask=None, training=None, return_attention_scores=False, use_causal_mask=None):
        self._check_list(inputs, mask)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask = as_bool(mask[0]) if mask else None
        value_mask = as_bool(mask[1]) if mask else None
        if use_causal_mask is None:
            use_causal_mask = self.causal
        scores = self._scores(query, key)
        allowed = self._score_mask(scores, value_mask, use_causal_mask)
        if allowed is not None:
            scores = ops.where(allowed, scores, scores - _masked_out_penalty(scores.dtype))
        weights = ops.softmax(scores, axis=-1)
        if training and self.dropout > 0.0:
            weights = ops.random.dropout(weights, self.dropout, seed=self.seed_generator)
        outputs = ops.matmul(weights, value)
        if query_mask is not None:
            outputs = ops.where(ops.expand_dims(query_mask, -1), outputs, ops.zeros_like(outputs))
        return (outputs, weights) if return_attention_scores else outputs

    # ------------------------------------------------------------------ shapes
    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        return (*tuple(input_shape[0])[:-1], tuple(input_shape[1])[-1])

    def compute_mask(self, inputs, mask=None):
        """The query's mask: masked query steps stay masked in the output."""
        self._check_list(inputs, mask)
        return None if not mask or mask[0] is None else as_bool(mask[0])

    def get_config(self) -> dict:
        config = {
            **super().get_config(),
            "use_scale": self.use_scale,
            "score_mode": self.score_mode,
            "dropout": self.dropout,
            "seed": self.seed,
        }
        if self.causal:
            config["causal"] = True  # Keras 2's flag, kept so the layer reloads with the same behaviour
        return config
