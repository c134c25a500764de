"""Adaptive average and max pooling (1D, 2D, 3D): pool to a fixed output size, whatever the input size.

Output position `i` of an axis of length `L` pooled to `n` covers the inputs
`floor(i * L / n) <= j < ceil((i + 1) * L / n)`, as in Keras 3 and PyTorch. Each spatial
axis is pooled on its own (averages and maxima of a box are those of its rows' results).
"""

from __future__ import annotations

import numpy as np

from lamina import config, ops
from lamina.layers.layer import Layer


def adaptive_windows(length: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The (start, end) of each of `size` windows over `length` positions.

    Example:
        >>> adaptive_windows(5, 3)
        (array([0, 1, 3]), array([2, 4, 5]))
    """
    starts = (np.arange(size) * length) // size
    ends = -((-np.arange(1, size + 1) * length) // size)  # ceil division
    return starts, ends


def _pool_axis(inputs, axis: int, size: int, kind: str):
    length = inputs.shape[axis]
    starts, ends = adaptive_windows(length, size)
    if kind == "average":
        weights = np.zeros((length, size), "float32")
        for i, (start, end) in enumerate(zip(starts, ends)):
            weights[start:end, i] = 1.0 / (end - start)
        pooled = ops.tensordot(inputs, ops.convert_to_tensor(weights), axes=[[axis], [0]])
        return ops.moveaxis(pooled, -1, axis)
    widest = int((ends - starts).max())
    # Each window's positions, short windows padded with their own first position (a repeat leaves the max as is).
    index = np.array([[s + min(k, e - s - 1) for k in range(widest)] for s, e in zip(starts, ends)], "int32")
    gathered = ops.take(inputs, ops.convert_to_tensor(index.reshape(-1)), axis=axis)
    shape = list(inputs.shape)
    shape[axis : axis + 1] = [size, widest]
    return ops.max(ops.reshape(gathered, tuple(shape)), axis=axis + 1)


class _AdaptivePooling(Layer):
    rank = 0
    kind = ""

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        sizes = (output_size,) * self.rank if isinstance(output_size, int) else tuple(output_size)
        if len(sizes) != self.rank or not all(isinstance(s, int) and s > 0 for s in sizes):
            raise ValueError(
                f'Layer "{self.name}": output_size must be a positive int or {self.rank} positive ints, '
                f"got {output_size!r}."
            )
        self.output_size = sizes
        self.data_format = data_format or config.image_data_format()
        if self.data_format not in ("channels_last", "channels_first"):
            raise ValueError(
                f'Layer "{self.name}": data_format must be "channels_last" or "channels_first", got {data_format!r}.'
            )

    def _first_spatial(self) -> int:
        return 1 if self.data_format == "channels_last" else 2

    def call(self, inputs):
        if len(inputs.shape) != self.rank + 2:
            raise ValueError(
                f'Layer "{self.name}" expects inputs of rank {self.rank + 2}, got shape {tuple(inputs.shape)}.'
            )
        first = self._first_spatial()
        for offset, size in enumerate(self.output_size):
            inputs = _pool_axis(inputs, first + offset, size, self.kind)
        return inputs

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        first = self._first_spatial()
        shape[first : first + self.rank] = self.output_size
        return tuple(shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "output_size": list(self.output_size), "data_format": self.data_format}


def _make(name: str, rank: int, kind: str):
    title = "average" if kind == "average" else "maximum"
    doc = f"""Adaptive {title} pooling over {rank} spatial axes, to `output_size` whatever the input's size.

    Args:
        output_size: an int, or {rank} ints: the pooled spatial shape.
        data_format: "channels_last" or "channels_first" (default: the image data format).

    Example:
        >>> {name}({2 if rank == 1 else (2,) * rank})(np.ones((1, {", ".join(["5"] * rank)}, 3))).shape
    """
    return type(name, (_AdaptivePooling,), {"rank": rank, "kind": kind, "__doc__": doc, "__module__": __name__})


AdaptiveAveragePooling1D = _make("AdaptiveAveragePooling1D", 1, "average")
AdaptiveAveragePooling2D = _make("AdaptiveAveragePooling2D", 2, "average")
AdaptiveAveragePooling3D = _make("AdaptiveAveragePooling3D", 3, "average")
AdaptiveMaxPooling1D = _make("AdaptiveMaxPooling1D", 1, "max")
AdaptiveMaxPooling2D = _make("AdaptiveMaxPooling2D", 2, "max")
AdaptiveMaxPooling3D = _make("AdaptiveMaxPooling3D", 3, "max")
