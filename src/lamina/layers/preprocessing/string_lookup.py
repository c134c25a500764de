"""StringLookup: strings to vocabulary indices (or, with `invert=True`, indices back to strings), as Keras maps them."""

from __future__ import annotations

import numpy as np

from lamina import ops
from lamina.layers.preprocessing.index_lookup import IndexLookup


class StringLookup(IndexLookup):
    """Maps strings to integer indices of a vocabulary (given, read from a file, or learned by `adapt`).

    Strings stay on the host: call the layer eagerly on a NumPy array or nested list of `str`/`bytes`
    (a lamina tensor comes back), or put it behind `lamina.Input(shape, dtype="string")` in a model, which
    calls `call_on_host`. With `invert=True` it maps indices (a tensor or array) to a NumPy array of `str`.

    Args:
        max_tokens: the largest vocabulary size, mask and OOV indices included (None: no limit).
        num_oov_indices: how many indices unknown strings share (hashed with FarmHash when more than one;
            0: unknown strings are an error).
        mask_token: a string that maps to index 0 with output_mode="int" (and is dropped by the encodings).
        oov_token: the string `invert=True` gives for unknown indices (default "[UNK]").
        vocabulary: a list or array of strings, or the path of a text file with one string a line.
        idf_weights: with output_mode="tf_idf", one weight per vocabulary entry.
        invert: map indices to strings instead.
        output_mode: "int", "one_hot", "multi_hot", "count" or "tf_idf".
        pad_to_max_tokens: make the encodings `max_tokens` wide whatever the vocabulary's size.
        sparse: must stay False.
        encoding: the text encoding of `bytes` inputs and of inverted outputs (default "utf-8").
        salt: one int or two: hash unknown strings with SipHash keyed by it instead of FarmHash.

    An adapted vocabulary is saved in `.keras` files (as Keras 3's `vocabulary.txt` asset) but not in `.h5`
    or JSON, which keep only the config (a vocabulary given to the constructor): Keras does the same.

    Example:
        >>> layer = StringLookup(vocabulary=["a", "b", "c"])
        >>> layer(np.array([["a", "c", "z"]]))  # [[1, 3, 0]]: "z" is out of vocabulary
    """

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices=1,
        mask_token=None,
        oov_token="[UNK]",
        vocabulary=None,
        idf_weights=None,
        invert=False,
        output_mode="int",
        pad_to_max_tokens=False,
        sparse=False,
        encoding="utf-8",
        salt=None,
        **kwargs,
    ):
        self.encoding = encoding or "utf-8"
        kwargs.pop("vocabulary_dtype", None)
        super().__init__(
            max_tokens=max_tokens,
            num_oov_indices=num_oov_indices,
            mask_token=mask_token,
            oov_token=oov_token,
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            invert=invert,
            output_mode=output_mode,
            pad_to_max_tokens=pad_to_max_tokens,
            sparse=sparse,
            salt=salt,
            **kwargs,
        )

    def _token(self, value):
        if isinstance(value, bytes):
            return value.decode(self.encoding)
        if isinstance(value, (str, np.str_)):
            return str(value)
        raise TypeError(f'Layer "{self.name}" expects strings (str or bytes), got {value!r} ({type(value).__name__}).')

    def _sort_key(self, token):
        return token.encode("utf-8")  # Keras breaks count ties by the terms' bytes

    def _on_host(self, value) -> bool:
        return super()._on_host(value) or ops.is_tensor(value)

    def invert_on_host(self, indices: np.ndarray) -> np.ndarray:
        indices = np.asarray(indices)
        if indices.dtype.kind not in "iu":
            raise TypeError(f'Layer "{self.name}" has invert=True: it expects integer indices, got {indices.dtype}.')
        return super().invert_on_host(indices)

    def call(self, inputs):
        raise TypeError(
            f'Layer "{self.name}" (StringLookup) works on the host: call it eagerly on a NumPy array or list of '
            'strings, or use it behind lamina.Input(..., dtype="string"); it cannot run inside a traced function.'
        )

    def compute_output_dtype(self, input_dtype=None) -> str:
        return "string" if self.invert else super().compute_output_dtype(input_dtype)

    def _config_dtype(self) -> str:
        return "string" if self.invert else super()._config_dtype()

    def get_config(self) -> dict:
        return {**super().get_config(), "encoding": self.encoding}
