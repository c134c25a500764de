"""Hashing and HashedCrossing: values (or crosses of values) into a fixed number of bins, as Keras bins them.

The hashes are TensorFlow's, computed on the host in `string_hashing` (inside `jit` too, through
`ops.host_map`): integers are hashed as their decimal digits, floats are first cast to integers.
Both layers take strings (`accepts_strings`, see `lamina.layers.string_tensors`): NumPy arrays of `str`,
`bytes` or object dtype eagerly, and string inputs (`Input(..., dtype="string")`) of models, which hash them
on the host before the numeric rest of the model runs.
"""

from __future__ import annotations

import numpy as np

from lamina import ops
from lamina.layers.layer import Layer
from lamina.layers.preprocessing import string_hashing
from lamina.layers.preprocessing.category_encoding import check_output_mode, encode_categories, encoded_shape
from lamina.layers.string_tensors import is_text


def on_host(value) -> bool:
    """Whether `value` is hashed eagerly on the host: strings, or NumPy integers (which may not fit int32)."""
    return is_text(value) or (isinstance(value, np.ndarray) and value.dtype.kind in "iu")


class Hashing(Layer):
    """Hashes each value into one of `num_bins` bins (FarmHash, or SipHash keyed by `salt`).

    Args:
        num_bins: the number of bins, mask bin included.
        mask_value: a value that goes to bin 0 (the others then go to bins 1 .. num_bins - 1).
        salt: one int or two: use the keyed (strong) SipHash instead of FarmHash.
        output_mode: "int" (bin indices), "one_hot", "multi_hot" or "count".
        sparse: must stay False.

    Example:
        >>> Hashing(num_bins=3)(np.array([["A"], ["B"], ["C"]]))  # strings, eager
        >>> Hashing(num_bins=3)(np.array([[11], [22], [33]]))
        >>> text = Input(shape=(1,), dtype="string")
        >>> model = Model(text, Dense(1)(Hashing(num_bins=8, output_mode="one_hot")(text)))
    """

    accepts_strings = True

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False, **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else None
        super().__init__(**kwargs)
        if not isinstance(num_bins, int) or num_bins <= 0:
            raise ValueError(f'Layer "{self.name}": num_bins must be a positive integer, got {num_bins!r}.')
        self.output_mode = check_output_mode(self.name, output_mode, ("int", "one_hot", "multi_hot", "count"))
        if sparse:
            raise ValueError(f'Layer "{self.name}": sparse=True is not supported (lamina has no sparse tensors).')
        if salt is not None:
            if isinstance(salt, int):
                salt = [salt, salt]
            elif not (isinstance(salt, (list, tuple)) and len(salt) == 2 and all(isinstance(s, int) for s in salt)):
                raise ValueError(f'Layer "{self.name}": salt must be an int or a pair of ints, got {salt!r}.')
            salt = list(salt)
        self.num_bins = num_bins
        self.mask_value = mask_value
        self.salt = salt
        self.sparse = False

    def _bins(self, values: np.ndarray) -> np.ndarray:
        """Each value's bin, on the host."""
        values = np.asarray(values)
        if self.mask_value is None or self.num_bins <= 1:
            return string_hashing.hash_array(values, self.num_bins, self.salt)
        mask_value = self.mask_value
        if values.dtype.kind in "iuf":
            masked = values == mask_value
        else:
            masked = np.vectorize(lambda v: v == mask_value or v == str(mask_value).encode(), otypes=[bool])(values)
        bins = string_hashing.hash_array(values, self.num_bins - 1, self.salt) + 1
        return np.where(masked, 0, bins)

    def __call__(self, *args, **kwargs):
        if args and on_host(args[0]):
            return ops.convert_to_tensor(self.call_on_host(args[0]), dtype=self.compute_output_dtype(None))
        return super().__call__(*args, **kwargs)

    def call_on_host(self, inputs) -> np.ndarray:
        """The bins (or their encoding) of a NumPy array of strings or integers, as NumPy numbers."""
        values = np.asarray(inputs)
        if self.output_mode == "one_hot" and values.ndim > 0 and values.shape[-1] == 1:
            values = values[..., 0]
        bins = ops.convert_to_tensor(self._bins(values).astype("int32"))
        return ops.convert_to_numpy(self._encode(bins))

    def compute_output_dtype(self, input_dtype=None):
        return "int32" if self.output_mode == "int" else self.dtype

    def _encode(self, bins):
        return encode_categories(bins, self.output_mode, self.num_bins, self.compute_output_dtype(None))

    def call(self, inputs):
        if self.output_mode == "one_hot" and len(inputs.shape) > 0 and inputs.shape[-1] == 1:
            inputs = ops.squeeze(inputs, -1)
        return self._encode(ops.host_map(self._bins, inputs, "int32"))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return input_shape
        return (*input_shape[:-1], self.num_bins) if input_shape else (self.num_bins,)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_bins": self.num_bins,
            "salt": self.salt,
            "mask_value": self.mask_value,
            "output_mode": self.output_mode,
            "sparse": False,
        }


class HashedCrossing(Layer):
    """Crosses two or more categorical features by hashing each combination into `num_bins` bins.

    The inputs are a list of equal-shaped integer (or, eagerly, string) arrays of shape `()`,
    `(batch,)` or `(batch, 1)`.

    Args:
        num_bins: the number of bins.
        output_mode: "int" (bin indices) or "one_hot".
        sparse: must stay False.

    Example:
        >>> HashedCrossing(num_bins=5)([np.array([1, 2]), np.array([3, 4])])
        >>> HashedCrossing(num_bins=5)([np.array([["a"], ["b"]]), np.array([["x"], ["x"]])])
    """

    accepts_strings = True

    def __init__(self, num_bins, output_mode="int", sparse=False, **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else None
        super().__init__(**kwargs)
        if not isinstance(num_bins, int) or num_bins <= 0:
            raise ValueError(f'Layer "{self.name}": num_bins must be a positive integer, got {num_bins!r}.')
        self.output_mode = check_output_mode(self.name, output_mode, ("int", "one_hot"))
        if sparse:
            raise ValueError(f'Layer "{self.name}": sparse=True is not supported (lamina has no sparse tensors).')
        self.num_bins = num_bins
        self.sparse = False

    def _check(self, shapes) -> None:
        if not isinstance(shapes, (list, tuple)) or len(shapes) < 2:
            raise ValueError(f'Layer "{self.name}" expects a list of at least two inputs, got {shapes!r:.100}.')
        first = tuple(shapes[0])
        if len(first) > 2 or (len(first) == 2 and first[-1] != 1) or any(tuple(s) != first for s in shapes[1:]):
            raise ValueError(
                f'Layer "{self.name}": every input must have the same shape, (), (batch,) or (batch, 1); '
                f"got {[tuple(s) for s in shapes]}."
            )

    def _cross(self, *columns) -> np.ndarray:
        """Each row's crossed bin, on the host (TensorFlow's `sparse.cross_hashed`)."""
        columns = [np.asarray(c).reshape(-1) for c in columns]
        out = np.zeros(columns[0].shape, "int64")
        for row in range(out.size):
            hashed = string_hashing.DEFAULT_CROSS_KEY
            for column in columns:
                value = column[row]
                if isinstance(value, (str, bytes)):
                    feature = string_hashing.fingerprint64(string_hashing.value_bytes(value))
                else:
                    feature = int(value) & ((1 << 64) - 1)  # an int64 feature is used as its own fingerprint
                hashed = string_hashing.fingerprint_cat64(hashed, feature)
            out[row] = hashed % self.num_bins
        return out

    def __call__(self, *args, **kwargs):
        if args and isinstance(args[0], (list, tuple)) and any(on_host(v) for v in args[0]):
            return ops.convert_to_tensor(self.call_on_host(args[0]), dtype=self.compute_output_dtype(None))
        return super().__call__(*args, **kwargs)

    def call_on_host(self, inputs) -> np.ndarray:
        """The crossed bins (or their one-hot encoding) of a list of NumPy arrays (strings or integers)."""
        arrays = [np.asarray(v) for v in inputs]
        self._check([a.shape for a in arrays])
        bins = self._cross(*arrays).reshape(arrays[0].shape).astype("int32")
        return ops.convert_to_numpy(self._encode(ops.convert_to_tensor(bins)))

    def compute_output_dtype(self, input_dtype=None):
        return "int32" if self.output_mode == "int" else self.dtype

    def _encode(self, bins):
        return encode_categories(bins, self.output_mode, self.num_bins, self.compute_output_dtype(None))

    def call(self, inputs):
        self._check([tuple(x.shape) for x in inputs])
        stacked = ops.stack([ops.cast(ops.reshape(x, (-1,)), "int32") for x in inputs], axis=-1)

        def on_host(rows):  # host_map keeps the input's shape: the bin is repeated along the features axis
            return np.repeat(self._cross(*rows.T)[:, None], rows.shape[1], axis=1)

        bins = ops.host_map(on_host, stacked, "int32")
        return self._encode(ops.reshape(bins[..., 0], tuple(inputs[0].shape)))

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        return encoded_shape(input_shape[0], self.output_mode, self.num_bins)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_bins": self.num_bins, "output_mode": self.output_mode, "sparse": False}
