"""IntegerLookup: integers to vocabulary indices (or indices back to integers), on the host or the device."""

from __future__ import annotations

import numpy as np

from lamina import ops
from lamina.layers.preprocessing.category_encoding import encode_categories
from lamina.layers.preprocessing.index_lookup import IndexLookup

_INT32 = np.iinfo("int32")


def search_sorted(keys, values):
    """For each of `values`, the first position `i` with `keys[i] >= value` (`keys` a sorted 1-D tensor).

    A binary search written with `lamina.ops`, so that it runs on the device and inside `jit`.

    Example:
        >>> search_sorted(ops.convert_to_tensor(np.array([1, 5, 9])), ops.convert_to_tensor(np.array([5, 6])))
        # [1, 2]
    """
    size = int(keys.shape[0])
    low = ops.zeros_like(values, dtype="int32")
    high = ops.full_like(values, size, dtype="int32")
    for _ in range(max(size, 1).bit_length()):
        middle = (low + high) // 2
        goes_right = ops.less(ops.take(keys, ops.minimum(middle, size - 1)), values)
        active = ops.less(low, high)
        low = ops.where(ops.logical_and(active, goes_right), middle + 1, low)
        high = ops.where(ops.logical_and(active, ops.logical_not(goes_right)), middle, high)
    return low


class IntegerLookup(IndexLookup):
    """Maps integers to integer indices of a vocabulary (given, read from a file, or learned by `adapt`).

    NumPy inputs are looked up on the host, where int64 values beyond the int32 range work; tensors are
    looked up on the device (a sorted vocabulary and a binary search), also inside `jit` and models.
    With `invert=True`, NumPy inputs give a NumPy int64 array (JAX's tensors hold int32 only).

    Args:
        max_tokens: the largest vocabulary size, mask and OOV indices included (None: no limit).
        num_oov_indices: how many indices unknown values share: `value % num_oov_indices` picks one
            (FarmHash of the value's digits with oov_method="farmhash"); 0 makes unknown values an error:
            a ValueError eagerly, a runtime error with the same message when a jitted step runs.
        mask_token: a value that maps to index 0 with output_mode="int" (dropped by the encodings).
            `mask_value` is the old (tf-keras 2.4) name.
        oov_token: the value `invert=True` gives for unknown indices (default -1); old name `oov_value`.
        vocabulary: a list or array of integers, or the path of a text file with one integer a line.
        vocabulary_dtype: must be "int64".
        idf_weights: with output_mode="tf_idf", one weight per vocabulary entry.
        invert: map indices to values instead.
        output_mode: "int", "one_hot", "multi_hot", "count" or "tf_idf".
        pad_to_max_tokens: make the encodings `max_tokens` wide whatever the vocabulary's size.
        sparse: must stay False.
        oov_method: "floormod" (Keras's default) or "farmhash" for `num_oov_indices > 1`.
        salt: with oov_method="farmhash", one int or two: SipHash keyed by it instead of FarmHash.

    An adapted vocabulary is saved in `.keras` files (Keras 3's `vocabulary.txt` asset) but not in `.h5` or
    JSON, which keep only the config (a vocabulary given to the constructor): Keras does the same.

    Example:
        >>> layer = IntegerLookup(vocabulary=[12, 36, 1138, 42])
        >>> layer(np.array([[12, 1138, 42], [42, 1000, 36]]))  # [[1, 3, 4], [4, 0, 2]]
    """

    _string_tokens = False

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices=1,
        mask_token=None,
        oov_token=-1,
        vocabulary=None,
        vocabulary_dtype="int64",
        idf_weights=None,
        invert=False,
        output_mode="int",
        sparse=False,
        pad_to_max_tokens=False,
        oov_method="floormod",
        salt=None,
        **kwargs,
    ):
        mask_token = kwargs.pop("mask_value", mask_token)
        oov_token = kwargs.pop("oov_value", oov_token)
        if vocabulary_dtype != "int64":
            raise ValueError(f'IntegerLookup: vocabulary_dtype must be "int64", got {vocabulary_dtype!r}.')
        self.vocabulary_dtype = "int64"
        super().__init__(
            max_tokens=max_tokens,
            num_oov_indices=num_oov_indices,
            mask_token=mask_token,
            oov_token=oov_token,
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            invert=invert,
            output_mode=output_mode,
            sparse=sparse,
            pad_to_max_tokens=pad_to_max_tokens,
            oov_method=oov_method,
            salt=salt,
            **kwargs,
        )

    def _token(self, value):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, float, np.floating)):
            raise TypeError(f'Layer "{self.name}" expects integers, got {value!r} ({type(value).__name__}).')
        if int(value) != value:
            raise TypeError(f'Layer "{self.name}" expects integers, got the non-integer {value!r}.')
        return int(value)

    def call_on_host(self, inputs: np.ndarray) -> np.ndarray:
        inputs = np.asarray(inputs)
        if inputs.dtype.kind not in "iuf" and inputs.size:
            raise TypeError(f'Layer "{self.name}" expects integer inputs, got an array of dtype {inputs.dtype}.')
        return super().call_on_host(inputs.astype("int64"))

    def compute_output_dtype(self, input_dtype=None) -> str:
        return "int64" if self.invert else super().compute_output_dtype(input_dtype)

    # -------------------------------------------------------- on the device
    def _table(self, dtype: str):
        """(sorted keys, their indices) as tensors of `dtype` (sorted once per vocabulary)."""
        if dtype not in self._device_tables:
            tokens = np.asarray(self._tokens or [], "int64")
            indices = np.arange(len(tokens), dtype="int64") + self._token_start_index()
            if dtype != "int64":  # values an int32 input cannot hold can never match it
                keep = (tokens >= _INT32.min) & (tokens <= _INT32.max)
                tokens, indices = tokens[keep], indices[keep]
            order = np.argsort(tokens, kind="stable")
            self._device_tables[dtype] = (tokens[order].astype(dtype), indices[order].astype("int32"))
        keys, indices = self._device_tables[dtype]  # NumPy: tensors made inside a trace must not be kept
        return ops.convert_to_tensor(keys), ops.convert_to_tensor(indices)

    def _lookup_strict(self, inputs):
        """num_oov_indices=0: an unknown value is an error (as in Keras), so the values go through the host.

        Eagerly this raises the ValueError of `lookup_on_host`. Inside `jit` (JAX) the check runs as a host
        callback when the step executes, and the error reaches the caller as JAX's runtime error carrying the
        same message (TensorFlow's Keras likewise fails only when the graph runs).
        """
        try:
            values = ops.convert_to_numpy(inputs)
        except Exception:  # noqa: BLE001 - a traced or meta tensor has no values yet: check when it runs
            return ops.host_map(self.lookup_on_host, inputs, "int32")
        self.lookup_on_host(values)  # raises on an unknown value
        return None

    def _lookup_device(self, inputs):
        if self.num_oov_indices == 0:
            checked = self._lookup_strict(inputs)
            if checked is not None:
                return checked
        dtype = "int64" if ops.dtype_of(inputs) == "int64" else "int32"
        inputs = ops.cast(inputs, dtype)
        keys, indices = self._table(dtype)
        if int(keys.shape[0]):
            position = ops.minimum(search_sorted(keys, inputs), int(keys.shape[0]) - 1)
            found = ops.equal(ops.take(keys, position), inputs)
            looked_up = ops.where(found, ops.take(indices, position), -1)
        else:
            found = ops.zeros_like(inputs, dtype="bool")
            looked_up = ops.full_like(inputs, -1, dtype="int32")
        if self.num_oov_indices == 1:
            looked_up = ops.where(found, looked_up, self._oov_start_index())
        elif self.num_oov_indices > 1:
            if self.oov_method == "floormod":
                buckets = ops.cast(inputs % self.num_oov_indices, "int32")
            else:
                buckets = ops.host_map(lambda a: np.vectorize(self._oov_bucket, otypes=["int64"])(a), inputs, "int32")
            looked_up = ops.where(found, looked_up, buckets + self._oov_start_index())
        if self.mask_token is not None:
            mask_index = 0 if self.output_mode == "int" else -1
            looked_up = ops.where(ops.equal(inputs, self.mask_token), mask_index, looked_up)
        return looked_up

    def _invert_device(self, inputs):
        table = np.asarray(self.get_vocabulary(), "int64")
        values = ops.convert_to_tensor(table)
        inputs = ops.cast(inputs, "int32")
        inside = ops.logical_and(ops.greater_equal(inputs, 0), ops.less(inputs, len(table)))
        picked = ops.take(values, ops.clip(inputs, 0, len(table) - 1))
        return ops.where(inside, picked, ops.cast(ops.full_like(inputs, self.oov_token), ops.dtype_of(values)))

    def call(self, inputs):
        self._check_vocabulary()
        if self.invert:
            return self._invert_device(inputs)
        indices = self._lookup_device(inputs)
        if self.output_mode == "int":
            return indices
        depth = self._checked_depth()
        if self.output_mode != "tf_idf":
            return encode_categories(indices, self.output_mode, depth, self.dtype)
        if self._idf_variable is None:
            self._checked_idf()  # raises: no weights yet
        counts = encode_categories(indices, "count", depth, self.dtype)
        return counts * self._idf_variable[:depth]

    def get_config(self) -> dict:
        return {**super().get_config(), "vocabulary_dtype": "int64"}
