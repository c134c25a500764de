"""LocallyConnected1D and LocallyConnected2D (tf-keras 2): convolutions whose weights differ at each position.

The three `implementation`s of tf-keras store the kernel in three layouts, and lamina reads each:

1. `(output positions, window size * input channels, filters)`: one small kernel per output position;
2. a dense kernel over (input position, channel) x (output position, filter), masked to the windows:
   `(*input_spatial, channels, *output_spatial, filters)` (channels last) or
   `(channels, *input_spatial, filters, *output_spatial)` (channels first);
3. a vector of the connected entries only, in the sorted order of their (output index, input index) pairs.

Whatever the layout, the layer gathers its kernel into implementation 1's form (zeros where a "same" window
leaves the input), gathers each output position's window of the input, and contracts the two: memory and
work grow with the kernel, as in tf-keras's implementation 1, not with (input size x output size).
"""

from __future__ import annotations

import numpy as np

from lamina import activations, config, constraints, initializers, ops, regularizers
from lamina.layers.layer import Layer
from lamina.saving.serialization import serialize_object


def _output_length(length: int, kernel: int, stride: int, padding: str) -> int:
    if padding == "valid":
        return (length - kernel) // stride + 1
    return (length + stride - 1) // stride


class _LocallyConnected(Layer):
    rank = 0

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 implementation=1, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        if not isinstance(filters, int) or filters <= 0:
            raise ValueError(f'Layer "{self.name}": filters must be a positive integer, got {filters!r}.')
        self.filters = filters
        self.kernel_size = self._tuple("kernel_size", kernel_size)
        self.strides = self._tuple("strides", strides)
        self.padding = str(padding).lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(f'Layer "{self.name}": padding must be "valid" or "same", got {padding!r}.')
        if implementation not in (1, 2, 3):
            raise ValueError(f'Layer "{self.name}": implementation must be 1, 2 or 3, got {implementation!r}.')
        if implementation == 1 and self.padding == "same":
            raise ValueError(f'Layer "{self.name}": padding="same" needs implementation 2 or 3 (as in tf-keras).')
        self.implementation = implementation
        self.data_format = data_format or config.image_data_format()
        if self.data_format not in ("channels_last", "channels_first"):
            raise ValueError(
                f'Layer "{self.name}": data_format must be "channels_last" or "channels_first", got {data_format!r}.'
            )
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _tuple(self, name, value) -> tuple:
        values = (value,) * self.rank if isinstance(value, int) else tuple(value)
        if len(values) != self.rank or not all(isinstance(v, int) and v > 0 for v in values):
            raise ValueError(
                f'Layer "{self.name}": {name} must be a positive int or {self.rank} of them, got {value!r}.'
            )
        return values

    # ------------------------------------------------------------ geometry
    def _split_shape(self, input_shape):
        """(spatial shape, channels) of one input sample."""
        if self.data_format == "channels_last":
            return tuple(input_shape[1:-1]), input_shape[-1]
        return tuple(input_shape[2:]), input_shape[1]

    def _gather_maps(self, spatial, channels, out_spatial):
        """`(patch_index (P, R), kernel_index (P, R, F), kernel entries)` for P output positions and R = window * C.

        `patch_index` picks each output position's window from the flattened input (`in_size`, the zero appended
        to it, where a "same" window leaves the input); `kernel_index` picks, for each (position, window row,
        filter), its entry in the flattened stored kernel (`entries`, a zero appended, where none).
        """
        rank = len(spatial)
        positions, in_positions = int(np.prod(out_spatial)), int(np.prod(spatial))
        in_size, out_size = in_positions * channels, positions * self.filters
        outputs = np.indices(out_spatial).reshape(rank, -1).T  # (P, rank)
        offsets = np.indices(self.kernel_size).reshape(rank, -1).T  # (W, rank)
        shift = np.array([k // 2 for k in self.kernel_size]) if self.padding == "same" else 0
        at = outputs[:, None, :] * np.array(self.strides) + offsets[None, :, :] - shift  # (P, W, rank)
        inside = np.all((at >= 0) & (at < np.array(spatial)), axis=-1)  # (P, W)
        flat = np.ravel_multi_index(tuple(np.clip(at, 0, np.array(spatial) - 1).transpose(2, 0, 1)), spatial)
        c = np.arange(channels)
        if self.data_format == "channels_last":  # rows: window position, then channel (tf-keras's patch order)
            in_index = (flat[:, :, None] * channels + c).reshape(positions, -1)
            inside = np.repeat(inside, channels, axis=1)
        else:  # rows: channel, then window position
            in_index = (c[None, :, None] * in_positions + flat[:, None, :]).reshape(positions, -1)
            inside = np.tile(inside, (1, channels))
        f = np.arange(self.filters)
        if self.data_format == "channels_last":
            out_index = np.arange(positions)[:, None] * self.filters + f
        else:
            out_index = f[None, :] * positions + np.arange(positions)[:, None]
        rows = in_index.shape[1]
        if self.implementation == 1:
            kernel_index, entries = np.arange(positions * rows * self.filters).reshape(positions, rows, -1), None
        elif self.implementation == 2:
            kernel_index = in_index[:, :, None] * out_size + out_index[:, None, :]
            entries = in_size * out_size
        else:  # the stored entries follow the sorted (output index, input index) pairs tf-keras connects
            keys = out_index[:, None, :] * in_size + in_index[:, :, None]
            connected = np.broadcast_to(inside[:, :, None], keys.shape)
            ordered = np.sort(keys[connected])
            kernel_index, entries = np.searchsorted(ordered, keys), ordered.size
        if entries is None:
            entries = kernel_index.size
        kernel_index = np.where(inside[:, :, None], kernel_index, entries)
        return np.where(inside, in_index, in_size), kernel_index, entries

    # ------------------------------------------------------------ weights
    def build(self, input_shape):
        spatial, channels = self._split_shape(input_shape)
        if channels is None or any(d is None for d in spatial):
            raise ValueError(
                f'Layer "{self.name}" needs known spatial and channel sizes, got input shape {input_shape}.'
            )
        out_spatial = tuple(_output_length(d, k, s, self.padding) for d, k, s in
                            zip(spatial, self.kernel_size, self.strides))  # fmt: skip
        if min(out_spatial) <= 0:
            raise ValueError(
                f'Layer "{self.name}": input shape {input_shape} is too small for kernel {self.kernel_size}.'
            )
        self._out_spatial = out_spatial
        self._patch_index, self._kernel_index, entries = self._gather_maps(spatial, channels, out_spatial)
        positions, rows = self._patch_index.shape
        if self.implementation == 1:
            kernel_shape = (positions, rows, self.filters)
        elif self.implementation == 2:
            kernel_shape = (
                (*spatial, channels, *out_spatial, self.filters)
                if self.data_format == "channels_last"
                else (channels, *spatial, self.filters, *out_spatial)
            )
        else:
            kernel_shape = (entries,)
        self.kernel = self.add_weight(
            name="kernel", shape=kernel_shape, initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
        )  # fmt: skip
        self.bias = None
        if self.use_bias:
            bias_shape = (*out_spatial, self.filters)  # tf-keras's shape whatever the data format
            self.bias = self.add_weight(
                name="bias", shape=bias_shape, initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint,
            )  # fmt: skip
        self.built = True

    def _local_kernel(self):
        """The stored kernel as `(positions, window * channels, filters)`, zeros where a window leaves the input."""
        flat = ops.reshape(self.kernel, (-1,))
        padded = ops.concatenate([flat, ops.zeros((1,), dtype=flat.dtype)], axis=0)
        return ops.take(padded, ops.convert_to_tensor(self._kernel_index.astype("int32")), axis=0)

    def call(self, inputs):
        batch = inputs.shape[0]
        flat = ops.reshape(inputs, (batch, -1))
        padded = ops.concatenate([flat, ops.zeros((batch, 1), dtype=flat.dtype)], axis=1)
        patches = ops.take(padded, ops.convert_to_tensor(self._patch_index.astype("int32")), axis=1)
        outputs = ops.einsum("bpk,pkf->bpf", patches, self._local_kernel())
        outputs = ops.reshape(outputs, (batch, *self._out_spatial, self.filters))
        if self.data_format == "channels_first":
            outputs = ops.moveaxis(outputs, -1, 1)
        if self.bias is not None:
            bias = self.bias
            if self.data_format == "channels_first":
                # tf-keras's `bias_add` reshapes (not transposes) the bias to the channels-first layout.
                bias = ops.reshape(bias, (self.filters, *self._out_spatial))
            outputs = outputs + bias
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        spatial, _ = self._split_shape(input_shape)
        out = tuple(None if d is None else _output_length(d, k, s, self.padding)
                    for d, k, s in zip(spatial, self.kernel_size, self.strides))  # fmt: skip
        if self.data_format == "channels_last":
            return (input_shape[0], *out, self.filters)
        return (input_shape[0], self.filters, *out)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": self.data_format,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": serialize_object(self.kernel_initializer),
            "bias_initializer": serialize_object(self.bias_initializer),
            "kernel_regularizer": serialize_object(self.kernel_regularizer),
            "bias_regularizer": serialize_object(self.bias_regularizer),
            "activity_regularizer": serialize_object(self.activity_regularizer),
            "kernel_constraint": serialize_object(self.kernel_constraint),
            "bias_constraint": serialize_object(self.bias_constraint),
            "implementation": self.implementation,
        }


class LocallyConnected1D(_LocallyConnected):
    """A 1D convolution without weight sharing: each output step has its own kernel (tf-keras 2).

    Args:
        filters: the number of output channels.
        kernel_size, strides: the window length and step (ints or 1-tuples).
        padding: "valid", or "same" (implementations 2 and 3).
        data_format: "channels_last" (default) or "channels_first".
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        kernel_constraint, bias_constraint: as in Conv1D.
        implementation: 1, 2 or 3: how the kernel is stored (tf-keras's layouts; the results agree).

    Example:
        >>> LocallyConnected1D(4, 3)(np.ones((2, 10, 5))).shape
        (2, 8, 4)
    """

    rank = 1


class LocallyConnected2D(_LocallyConnected):
    """A 2D convolution without weight sharing: each output pixel has its own kernel (tf-keras 2).

    Args:
        filters: the number of output channels.
        kernel_size, strides: ints or pairs.
        padding: "valid", or "same" (implementations 2 and 3).
        data_format: "channels_last" (default) or "channels_first".
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        kernel_constraint, bias_constraint: as in Conv2D.
        implementation: 1, 2 or 3: how the kernel is stored (tf-keras's layouts; the results agree).

    Example:
        >>> LocallyConnected2D(4, (3, 3))(np.ones((2, 8, 8, 3))).shape
        (2, 6, 6, 4)
    """

    rank = 2
