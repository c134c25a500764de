"""InputLayer and `Input()`: where a functional model's symbolic tensors start."""

from __future__ import annotations

from lamina import config
from lamina.backend import KerasTensor
from lamina.layers.layer import Layer
from lamina.layers.node import Node


class InputLayer(Layer):
    """The layer behind `Input()`: it holds the input's shape and dtype and computes nothing.

    Args:
        shape: the shape of one sample, e.g. `(784,)`.
        batch_size: a fixed batch size (needed by stateful RNNs).
        batch_shape: the whole shape including the batch (alternative to shape/batch_size).
        dtype: the input's dtype (floatx by default).
        name: the input's name; functional models match dict inputs by it.

    Example:
        >>> layer = InputLayer(shape=(784,))
        >>> layer.output.shape
        (None, 784)
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None, name=None, **kwargs):
        if "input_shape" in kwargs and shape is None:
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs and batch_shape is None:
            batch_shape = kwargs.pop("batch_input_shape")
        kwargs.pop("sparse", None)
        kwargs.pop("ragged", None)
        kwargs.pop("optional", None)  # tf-keras 2.15+ and Keras 3 write it; like sparse, no effect here
        if batch_shape is None:
            if shape is None:
                raise ValueError("Input() needs a `shape` (the shape of one sample) or a `batch_shape`.")
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            batch_shape = (batch_size, *shape)
        super().__init__(name=name, dtype=None, **kwargs)
        self.dtype = dtype and KerasTensor((), dtype).dtype or config.floatx()
        self.batch_shape = tuple(batch_shape)
        self.built = True
        tensor = KerasTensor(self.batch_shape, dtype=self.dtype, name=self.name)
        Node(self, (), {}, tensor)

    def get_config(self) -> dict:
        return {"batch_input_shape": list(self.batch_shape), "dtype": self.dtype, "name": self.name}


def Input(shape=None, batch_size=None, name=None, dtype=None, batch_shape=None, **kwargs):  # noqa: N802
    """A symbolic input tensor for a functional model.

    Example:
        >>> x = Input(shape=(32,))
        >>> y = Dense(4)(x)
        >>> model = Model(x, y)
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, name=name, dtype=dtype, batch_shape=batch_shape, **kwargs)
    return layer.output
