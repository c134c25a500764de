"""RandomFourierFeatures (tf-keras 2's `layers.experimental`): `cos(x @ W / scale + b)` with W, b drawn once.

The random features approximate a shift-invariant kernel (Rahimi and Recht, 2007): W is drawn from a
standard normal (`"gaussian"`, the Gaussian kernel) or a standard Cauchy distribution (`"laplacian"`), b
uniformly from [0, 2 pi); neither is trained. Only the kernel scale is a trainable weight (when the layer
is trainable, which tf-keras's is not by default).
"""

from __future__ import annotations

import math

from lamina import constraints, initializers, ops
from lamina.layers.layer import Layer
from lamina.saving.serialization import serialize_object

_KERNELS = ("gaussian", "laplacian")


def _standard_cauchy(shape, dtype=None):
    # The inverse CDF of a standard Cauchy distribution on uniform draws.
    uniform = initializers.RandomUniform(-0.499, 0.499)(shape, dtype=dtype)
    return ops.sin(math.pi * uniform) / ops.cos(math.pi * uniform)


class RandomFourierFeatures(Layer):
    """Maps inputs to `output_dim` random Fourier features, `cos(inputs @ unscaled_kernel / kernel_scale + bias)`.

    Args:
        output_dim: the number of features.
        kernel_initializer: `"gaussian"`, `"laplacian"` or an initializer for the (untrained) kernel.
        scale: the kernel scale's start value; None: `sqrt(input_dim / 2)` for `"gaussian"`, else 1.
        trainable: whether the kernel scale trains (tf-keras's default: no).

    Example:
        >>> layer = RandomFourierFeatures(output_dim=16, kernel_initializer="gaussian", scale=2.0)
        >>> layer(np.ones((2, 3), "float32")).shape
        (2, 16)
    """

    _config_choices = {"kernel_initializer": _KERNELS}  # names a saved config keeps as they are

    def __init__(self, output_dim, kernel_initializer="gaussian", scale=None, trainable=False, name=None, **kwargs):
        super().__init__(trainable=trainable, name=name, **kwargs)
        if not isinstance(output_dim, int) or output_dim <= 0:
            raise ValueError(f'Layer "{self.name}": output_dim must be a positive integer, got {output_dim!r}.')
        if isinstance(kernel_initializer, str) and kernel_initializer not in _KERNELS:
            raise ValueError(
                f'Layer "{self.name}": kernel_initializer must be one of {_KERNELS} or an initializer, '
                f"got {kernel_initializer!r}."
            )
        if scale is not None and scale <= 0.0:
            raise ValueError(f'Layer "{self.name}": scale must be positive, got {scale!r}.')
        self.output_dim, self.kernel_initializer, self.scale = output_dim, kernel_initializer, scale

    def _kernel_initializer(self):
        if self.kernel_initializer == "gaussian":
            return initializers.RandomNormal(stddev=1.0)
        if self.kernel_initializer == "laplacian":
            return _standard_cauchy
        return initializers.get(self.kernel_initializer)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f'Layer "{self.name}": the last axis of the input must be known, got {input_shape}.')
        self.unscaled_kernel = self.add_weight(
            "unscaled_kernel", (input_dim, self.output_dim), initializer=self._kernel_initializer(), trainable=False
        )
        self.bias = self.add_weight(
            "bias", (self.output_dim,), initializer=initializers.RandomUniform(0.0, 2 * math.pi), trainable=False
        )
        scale = self.scale
        if scale is None:
            scale = math.sqrt(input_dim / 2.0) if self.kernel_initializer == "gaussian" else 1.0
        self.kernel_scale = self.add_weight(
            "kernel_scale", (1,), initializer=initializers.Constant(scale), constraint=constraints.NonNeg()
        )
        self.built = True

    def call(self, inputs):
        kernel = ops.divide(self.unscaled_kernel, self.kernel_scale)
        return ops.cos(ops.add(ops.matmul(ops.cast(inputs, self.compute_dtype), kernel), self.bias))

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape)[:-1], self.output_dim)

    def get_config(self) -> dict:
        initializer = self.kernel_initializer
        if not isinstance(initializer, str):
            initializer = serialize_object(initializers.get(initializer))
        return {**super().get_config(), "output_dim": self.output_dim, "kernel_initializer": initializer,
                "scale": self.scale}  # fmt: skip
