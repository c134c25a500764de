"""SpectralNormalization: divides a wrapped layer's kernel by its largest singular value (power iteration)."""

from __future__ import annotations

from lamina import initializers, ops
from lamina.backend.common import StatelessScope
from lamina.layers.core.wrapper import Wrapper
from lamina.layers.input_spec import InputSpec


def _l2_normalize(x):
    """`x / ||x||` over all its entries, as Keras's `normalize(x, axis=None)` (the norm floored at epsilon)."""
    from lamina import config

    return x * ops.minimum(ops.rsqrt(ops.sum(ops.square(x))), 1.0 / config.epsilon())


class SpectralNormalization(Wrapper):
    """Keeps the spectral norm of the wrapped layer's `kernel` (or `embeddings`) near 1.

    In training mode each call runs `power_iterations` steps of power iteration from the stored
    estimate `vector_u` (a non-trainable weight of shape `(1, kernel.shape[-1])`), stores the new
    estimate, and calls the layer with `kernel / sigma` in place of its kernel. As in Keras 3's
    training step (`fit`, `train_on_batch`, `stateless_call`), the gradient flows through that
    division to the kernel, the optimizer updates the kernel as stored, and the normalized kernel
    is never written back: inference uses the stored kernel. Both engines behave so.

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
        if not training:
            return self.layer(inputs)
        new_u, new_kernel = self.normalized_weights()
        all_zero = ops.all(ops.equal(self.kernel.value, 0))  # a zero kernel has no direction: leave it
        self.vector_u.assign(ops.where(all_zero, self.vector_u.value, new_u))
        return self._call_with_kernel(inputs, ops.where(all_zero, self.kernel.value, new_kernel))

    def _call_with_kernel(self, inputs, kernel):
        """Calls the wrapped layer reading `kernel` as its kernel, without assigning the variable.

        A stateless scope over the wrapped layer's variables substitutes the value (reads of the
        others go through the scope that may be open around this call); state the wrapped layer
        updates is passed on to that scope, or to the variables.
        """
        own = [v for v in self.layer.weights + self.layer.non_trainable_variables if v is not self.kernel]
        with StatelessScope([(self.kernel, kernel)] + [(v, v.value) for v in own]) as scope:
            before = {id(v): scope.get_current_value(v) for v in own}
            outputs = self.layer(inputs)
        for variable in self.layer.non_trainable_variables:
            value = scope.get_current_value(variable)
            if id(variable) in before and value is not before[id(variable)]:
                variable.assign(value)
        return outputs

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "power_iterations": self.power_iterations}
