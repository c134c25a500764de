"""Cropping: Cropping1D, Cropping2D, Cropping3D (and the (before, after) argument helper padding shares)."""

from __future__ import annotations

from lamina import config
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer


def normalize_pairs(value, rank: int, name: str, layer_name: str) -> tuple:
    """`((before, after),) * rank` from an int (all sides), `rank` ints (symmetric per axis) or `rank` pairs.

    Example:
        >>> normalize_pairs((1, (2, 3)), 2, "cropping", "cropping2d")
        ((1, 1), (2, 3))
    """
    if rank == 1:
        expected = "an int or a (before, after) pair of ints, all >= 0"
    else:
        expected = f"an int, {rank} ints or {rank} pairs of ints, all >= 0"
    try:
        if isinstance(value, int):
            pairs = ((value, value),) * rank
        else:
            items = list(value)
            if rank == 1 and len(items) == 2 and all(isinstance(v, int) for v in items):
                items = [tuple(items)]  # a 1-D (before, after) pair
            pairs = tuple((int(v), int(v)) if isinstance(v, int) else tuple(int(s) for s in v) for v in items)
    except (TypeError, ValueError):
        raise ValueError(f'Layer "{layer_name}": {name} must be {expected}, got {value!r}.') from None
    if len(pairs) != rank or any(len(p) != 2 or min(p) < 0 for p in pairs):
        raise ValueError(f'Layer "{layer_name}": {name} must be {expected}, got {value!r}.')
    return pairs


def spatial_start(data_format: str) -> int:
    """The index of the first spatial axis."""
    return 1 if data_format == "channels_last" else 2


class BaseCropping(Layer):
    """Removes `cropping[i] = (before, after)` entries from each end of spatial axis `i`.

    Example:
        >>> Cropping2D(((1, 0), (2, 1)))(np.ones((2, 5, 6, 3))).shape
        (2, 4, 3, 3)
    """

    rank = 2

    def __init__(self, cropping=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = normalize_pairs(cropping, self.rank, "cropping", self.name)
        self.data_format = config.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self.built = True

    def call(self, inputs):
        start = spatial_start(self.data_format)
        index = [slice(None)] * inputs.ndim
        for i, (before, after) in enumerate(self.cropping):
            size = inputs.shape[start + i]
            if size is not None and before + after >= size:
                raise ValueError(
                    f'Layer "{self.name}": cropping {self.cropping} leaves nothing of input shape '
                    f"{tuple(inputs.shape)} (axis {start + i} has {size} entries)."
                )
            index[start + i] = slice(before, size - after)
        return inputs[tuple(index)]

    def get_config(self) -> dict:
        return {**super().get_config(), "cropping": [list(p) for p in self.cropping], "data_format": self.data_format}


class Cropping1D(BaseCropping):
    """Removes `cropping = (before, after)` steps from the two ends of a sequence `(batch, steps, features)`.

    Example:
        >>> Cropping1D((1, 2))(np.ones((2, 6, 3))).shape
        (2, 3, 3)
    """

    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping=cropping, data_format="channels_last", **kwargs)

    def get_config(self) -> dict:
        config_dict = super().get_config()
        config_dict.pop("data_format")
        config_dict["cropping"] = list(self.cropping[0])
        return config_dict


class Cropping2D(BaseCropping):
    """Removes rows and columns from the edges of images.

    Example:
        >>> Cropping2D(1)(np.ones((2, 5, 5, 3))).shape
        (2, 3, 3, 3)
    """

    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping=cropping, data_format=data_format, **kwargs)


class Cropping3D(BaseCropping):
    """Removes entries from the edges of the three spatial axes of volumes.

    Example:
        >>> Cropping3D(1)(np.ones((2, 4, 4, 4, 3))).shape
        (2, 2, 2, 2, 3)
    """

    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping=cropping, data_format=data_format, **kwargs)
