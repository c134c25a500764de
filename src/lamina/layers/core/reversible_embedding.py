"""ReversibleEmbedding: an Embedding that also maps vectors back to logits over the vocabulary."""

from __future__ import annotations

from lamina import ops
from lamina.layers.core.embedding import Embedding


class ReversibleEmbedding(Embedding):
    """An embedding that, called with `reverse=True`, projects `(..., output_dim)` vectors to vocabulary logits.

    The reverse projection uses the transposed embeddings (`tie_weights=True`) or a weight of its own,
    `reverse_embeddings` of shape `(output_dim, input_dim)`.

    Args:
        input_dim, output_dim, embeddings_initializer, embeddings_regularizer, embeddings_constraint,
        mask_zero: as in Embedding.
        tie_weights: share the embeddings with the reverse projection.
        reverse_dtype: the dtype the reverse projection computes in (None: the layer's).
        logit_soft_cap: if set, logits become `tanh(logits / cap) * cap`.

    Example:
        >>> layer = ReversibleEmbedding(10, 4)
        >>> layer(layer(np.array([[1, 2]])), reverse=True).shape
        (1, 2, 10)
    """

    def __init__(self, input_dim, output_dim, tie_weights=True, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False, reverse_dtype=None,
                 logit_soft_cap=None, **kwargs):  # fmt: skip
        super().__init__(
            input_dim, output_dim, embeddings_initializer=embeddings_initializer,
            embeddings_regularizer=embeddings_regularizer, embeddings_constraint=embeddings_constraint,
            mask_zero=mask_zero, **kwargs,
        )  # fmt: skip
        self.tie_weights = bool(tie_weights)
        self.reverse_dtype = reverse_dtype
        self.logit_soft_cap = logit_soft_cap

    def build(self, input_shape=None):
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(
                name="reverse_embeddings", shape=(self.output_dim, self.input_dim),
                initializer=self.embeddings_initializer,
            )  # fmt: skip
        self.built = True

    def call(self, inputs, reverse=False):
        if not reverse:
            return super().call(inputs)
        kernel = ops.transpose(self.embeddings) if self.tie_weights else self.reverse_embeddings
        if self.reverse_dtype is not None:
            inputs, kernel = ops.cast(inputs, self.reverse_dtype), ops.cast(kernel, self.reverse_dtype)
        logits = ops.matmul(inputs, kernel)
        if self.logit_soft_cap is not None:
            logits = ops.tanh(logits / self.logit_soft_cap) * self.logit_soft_cap
        return logits

    def compute_output_shape(self, input_shape, reverse=False):
        if reverse:
            return (*tuple(input_shape)[:-1], self.input_dim)
        return (*tuple(input_shape), self.output_dim)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "tie_weights": self.tie_weights,
            "reverse_dtype": self.reverse_dtype,
            "logit_soft_cap": self.logit_soft_cap,
        }
