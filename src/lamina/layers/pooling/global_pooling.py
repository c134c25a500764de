"""Global pooling: GlobalMaxPooling1D/2D/3D and GlobalAveragePooling1D/2D/3D."""

from __future__ import annotations

from lamina import config, ops
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer


class BaseGlobalPooling(Layer):
    """The maximum or mean over all `rank` spatial axes: `(batch, channels)`, or with `keepdims=True`
    the input's rank with each spatial axis of length 1.

    Example:
        >>> GlobalAveragePooling2D()(np.ones((2, 4, 4, 3))).shape
        (2, 3)
    """

    rank = 2
    mode = "max"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = config.standardize_data_format(data_format)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self.built = True

    def _spatial_axes(self) -> tuple:
        first = 1 if self.data_format == "channels_last" else 2
        return tuple(range(first, first + self.rank))

    def call(self, inputs):
        reduce = ops.max if self.mode == "max" else ops.mean
        return reduce(inputs, axis=self._spatial_axes(), keepdims=self.keepdims)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalMaxPooling1D(BaseGlobalPooling):
    """The maximum over the steps of each channel.

    Example:
        >>> GlobalMaxPooling1D()(np.ones((2, 5, 3))).shape
        (2, 3)
    """

    rank = 1
    mode = "max"


class GlobalMaxPooling2D(BaseGlobalPooling):
    """The maximum over the rows and columns of each channel.

    Example:
        >>> GlobalMaxPooling2D(keepdims=True)(np.ones((2, 4, 4, 3))).shape
        (2, 1, 1, 3)
    """

    rank = 2
    mode = "max"


class GlobalMaxPooling3D(BaseGlobalPooling):
    """The maximum over the three spatial axes of each channel.

    Example:
        >>> GlobalMaxPooling3D()(np.ones((2, 3, 3, 3, 4))).shape
        (2, 4)
    """

    rank = 3
    mode = "max"


class GlobalAveragePooling1D(BaseGlobalPooling):
    """The mean over the steps of each channel; with a mask `(batch, steps)`, over the unmasked steps only.

    Example:
        >>> GlobalAveragePooling1D()(np.ones((2, 5, 3)), mask=np.array([[1, 1, 0, 0, 0]] * 2, bool)).shape
        (2, 3)
    """

    rank = 1
    mode = "average"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format=data_format, keepdims=keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        steps_axis = self._spatial_axes()[0]
        # The mask has no channel axis: give it one where the channels are, so it broadcasts over them.
        mask = ops.cast(ops.convert_to_tensor(mask), inputs.dtype)
        weights = ops.expand_dims(mask, 2 if steps_axis == 1 else 1)
        total = ops.sum(inputs * weights, axis=steps_axis, keepdims=self.keepdims)
        return total / ops.sum(weights, axis=steps_axis, keepdims=self.keepdims)

    def compute_mask(self, inputs, mask=None):
        return None


class GlobalAveragePooling2D(BaseGlobalPooling):
    """The mean over the rows and columns of each channel.

    Example:
        >>> GlobalAveragePooling2D()(np.ones((2, 4, 4, 3))).shape
        (2, 3)
    """

    rank = 2
    mode = "average"


class GlobalAveragePooling3D(BaseGlobalPooling):
    """The mean over the three spatial axes of each channel.

    Example:
        >>> GlobalAveragePooling3D()(np.ones((2, 3, 3, 3, 4))).shape
        (2, 4)
    """

    rank = 3
    mode = "average"
