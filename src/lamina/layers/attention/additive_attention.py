"""AdditiveAttention: Bahdanau-style attention over `[query, value(, key)]`."""

from __future__ import annotations

from lamina import ops
from lamina.layers.attention.attention import Attention


class AdditiveAttention(Attention):
    """Additive attention: scores are `sum(scale * tanh(query + key))` over the feature axis.

    Called like `Attention`: on `[query, value]` or `[query, value, key]`, with the same call
    arguments (`mask=[query_mask, value_mask]`, `training`, `return_attention_scores`,
    `use_causal_mask`).

    Args:
        use_scale: learn a `scale` vector of size `dim` (glorot-uniform initialized) that
            weighs each feature of `tanh(query + key)`; without it every feature counts once.
        dropout: the fraction of attention weights dropped in training.
        seed: the dropout's random seed.

    Example:
        >>> query, value = np.random.rand(2, 4, 8), np.random.rand(2, 6, 8)
        >>> AdditiveAttention()([query, value]).shape
        (2, 4, 8)
    """

    def __init__(self, use_scale=True, dropout=0.0, seed=None, **kwargs):
        kwargs.pop("score_mode", None)  # not an option here; tolerated in configs
        super().__init__(use_scale=use_scale, dropout=dropout, seed=seed, **kwargs)

    def build(self, input_shape):
        self._check_list(input_shape)
        self._check_shapes(input_shape)
        dim = input_shape[0][-1]
        if dim is None:
            raise ValueError(f'Layer "{self.name}" needs a known last query dimension, got {tuple(input_shape[0])}.')
        self.scale = self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(dim,), initializer="glorot_uniform")
        self.built = True

    def _scores(self, query, key):
        pairs = ops.tanh(ops.expand_dims(query, -2) + ops.expand_dims(key, -3))  # (batch, Tq, Tv, dim)
        if self.scale is not None:
            pairs = pairs * self.scale
        return ops.sum(pairs, axis=-1)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["score_mode"]
        return config
