"""Embedding: looks up a learned vector for each integer index."""

from __future__ import annotations

from lamina import initializers, ops, regularizers
from lamina.layers.layer import Layer
from lamina.saving.serialization import serialize_object


class Embedding(Layer):
    """Turns indices in [0, input_dim) into dense vectors of size `output_dim`.

    Args:
        input_dim: vocabulary size. output_dim: vector size.
        embeddings_initializer: default 'uniform' (RandomUniform(-0.05, 0.05)).
        mask_zero: whether index 0 is padding: the output then carries a mask (False
            where the index is 0) that models pass on to later layers, such as LSTM.
        input_length: Keras 2's fixed sequence length (sets the input shape).

    Example:
        >>> Embedding(100, 8)(np.array([[1, 2, 3]])).shape
        (1, 3, 8)
        >>> Embedding(100, 8, mask_zero=True).compute_mask(np.array([[5, 0]]))  # [[True, False]]
    """

    def __init__(
        self,
        input_dim,
        output_dim,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        embeddings_constraint=None,
        mask_zero=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(input_dim) <= 0 or int(output_dim) <= 0:
            raise ValueError(
                f'Layer "{self.name}": input_dim and output_dim must be positive, got {input_dim}, {output_dim}.'
            )
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = embeddings_constraint
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.input_dim, self.output_dim),
            initializer=self.embeddings_initializer,
            regularizer=self.embeddings_regularizer,
            constraint=self.embeddings_constraint,
        )
        self.built = True

    def call(self, inputs):
        if ops.dtype_of(inputs) not in ("int32", "int64"):
            inputs = ops.cast(inputs, "int32")
        try:
            return ops.take(self.embeddings, inputs, axis=0)
        except IndexError as error:  # torch checks the indices (JAX's take fills out-of-range rows with NaN)
            raise ValueError(
                f'Layer "{self.name}": every input must be an index in [0, input_dim={self.input_dim}); '
                f"some input is not ({error})."
            ) from error

    def compute_mask(self, inputs, mask=None):
        """With `mask_zero=True`, True where the index is not 0; else None."""
        if not self.mask_zero:
            return None
        return ops.not_equal(ops.convert_to_tensor(inputs), 0)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": serialize_object(self.embeddings_initializer),
            "embeddings_regularizer": serialize_object(self.embeddings_regularizer),
            "activity_regularizer": serialize_object(self.activity_regularizer),
            "embeddings_constraint": serialize_object(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
        }
