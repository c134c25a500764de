"""SpectralNormalization: divides a wrapped layer's kernel by its largest singular value (power iteration)."""

from __future__ import annotations

from lamina import initializers, ops
from lamina.layers.core.wrapper import Wrapper
from lamina.layers.input_spec import InputSpec


def _l2_normalize(x):
    """`x / ||x||` over all its entries, as Keras's `normalize(x, axis=None)` (the norm floored at epsilon)."""
    from lamina import config

    return x * ops.minimum(ops.rsqrt(ops.sum(ops.square(x))), 1.0 / config.epsilon())


class SpectralNormalization(Wrapper):
    """Keeps the spectral norm of the wrapped layer's `kernel` (or `embeddings`) near 1.

    In training mode each call runs `power_iterations` steps of power iteration from the stored
    estimate `vector_u` (a non-trainable weight of shape `(1, kernel.shape[-1])`), then sets
    the kernel to `kernel / sigma` and `vector_u` to the new estimate before calling the layer.

    Args:
        layer: a layer with a `kernel` or `embeddings` weight (Dense, Conv2D, Embedding, ...).
        power_iterations: power-iteration steps per training call.

    Example:
        >>> layer = SpectralNormalization(Dense(4))
        >>> layer(np.ones((2, 3)), training=True).shape
        (2, 4)
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(layer, **kwargs)
        if not isinstance(power_iterations, int) or power_iterations <= 0:
            raise ValueError(
                f'Layer "{self.name}": power_iterations must be a positive integer, got {power_iterations!r}.'
            )
        self.power_iterations = power_iterations

    def build(self, input_shape):
        super().build(input_shape)
        self.input_spec = InputSpec(min_ndim=1, axes={-1: input_shape[-1]})
        kernel = getattr(self.layer, "kernel", None)
        if kernel is None:
            kernel = getattr(self.layer, "embeddings", None)
        if kernel is None:
            raise ValueError(
                f'Layer "{self.name}": {type(self.layer).__name__} has neither a "kernel" nor an "embeddings" weight.'
            )
        self.kernel = kernel
        # Keras tracks the wrapped kernel as the wrapper's own variable too: Keras 3 files store it under both.
        self._trainable_variables.append(kernel)
        self.vector_u = self.add_weight(
            name="vector_u", shape=(1, kernel.shape[-1]), initializer=initializers.TruncatedNormal(stddev=0.02),
            trainable=False,
        )  # fmt: skip
        self.built = True

    @property
    def weights(self) -> list:
        """Trainable, then non-trainable weights (`kernel, bias, vector_u`): the order of Keras's HDF5 files."""
        return self.trainable_weights + self.non_trainable_weights if self.trainable else self.non_trainable_weights

    def normalized_weights(self):
        """`(new vector_u, kernel / sigma)` after `power_iterations` steps of power iteration."""
        shape = tuple(self.kernel.shape)
        weights = ops.reshape(self.kernel.value, (-1, shape[-1]))
        vector_u = self.vector_u.value
        for _ in range(self.power_iterations):
            vector_v = _l2_normalize(ops.matmul(vector_u, ops.transpose(weights)))
            vector_u = _l2_normalize(ops.matmul(vector_v, weights))
        vector_u, vector_v = ops.stop_gradient(vector_u), ops.stop_gradient(vector_v)
        sigma = ops.matmul(ops.matmul(vector_v, weights), ops.transpose(vector_u))
        return vector_u, ops.reshape(self.kernel.value / sigma, shape)

    def call(self, inputs, training=False):
        if training:
            new_u, new_kernel = self.normalized_weights()
            all_zero = ops.all(ops.equal(self.kernel.value, 0))  # a zero kernel has no direction: leave it
            self.vector_u.assign(ops.where(all_zero, self.vector_u.value, new_u))
            self.kernel.assign(ops.where(all_zero, self.kernel.value, new_kernel))
        return self.layer(inputs)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "power_iterations": self.power_iterations}
