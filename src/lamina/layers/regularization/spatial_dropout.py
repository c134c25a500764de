"""SpatialDropout1D/2D/3D: Dropout that drops whole feature maps (channels) at once."""

from __future__ import annotations

from lamina import config
from lamina.layers.input_spec import InputSpec
from lamina.layers.regularization.dropout import Dropout


class _SpatialDropout(Dropout):
    """Dropout whose mask has one entry per (sample, channel), shared by every position of that channel.

    Neighbouring positions of a feature map are strongly correlated, so dropping single
    entries regularizes them little; dropping whole channels does (Tompson et al., 2015).
    """

    rank = None  # the number of spatial axes

    def __init__(self, rate, seed=None, data_format=None, **kwargs):
        kwargs.pop("noise_shape", None)  # set by the data format
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = config.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _noise_shape(self, inputs):
        shape = tuple(inputs.shape)
        ones = (1,) * self.rank
        if self.data_format == "channels_first":
            return (shape[0], shape[1], *ones)
        return (shape[0], *ones, shape[-1])

    def get_config(self) -> dict:
        config_dict = {**super().get_config(), "data_format": self.data_format}
        config_dict.pop("noise_shape", None)
        # Keras 3's spatial dropout layers take no `trainable` argument (and have no weights to train).
        config_dict.pop("trainable", None)
        return config_dict


class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of `(batch, steps, channels)` inputs in training.

    Example:
        >>> SpatialDropout1D(0.5)(np.ones((2, 10, 8)), training=True)  # each (sample, channel) all 0 or all 2
    """

    rank = 1

    def __init__(self, rate, seed=None, **kwargs):
        # Keras 2's SpatialDropout1D has no data_format: channels are always last.
        kwargs.pop("data_format", None)
        super().__init__(rate, seed=seed, data_format="channels_last", **kwargs)

    def get_config(self) -> dict:
        config_dict = super().get_config()
        config_dict.pop("data_format", None)
        return config_dict


class SpatialDropout2D(_SpatialDropout):
    """Drops whole feature maps of `(batch, height, width, channels)` inputs (channels first with
    `data_format="channels_first"`) in training.

    Example:
        >>> SpatialDropout2D(0.3, data_format="channels_first")(np.ones((2, 3, 8, 8)), training=True)
    """

    rank = 2


class SpatialDropout3D(_SpatialDropout):
    """Drops whole feature volumes of `(batch, d1, d2, d3, channels)` inputs in training.

    Example:
        >>> SpatialDropout3D(0.3)(np.ones((2, 4, 4, 4, 3)), training=True)
    """

    rank = 3
