"""IndexLookup: the shared base of `StringLookup` and `IntegerLookup` (values to vocabulary indices and back).

The vocabulary lives on the host. Strings are looked up there (lamina's tensors hold numbers only): an eager
call takes a NumPy array or nested list of `str`/`bytes` and returns a lamina tensor, and models hand string
inputs to `call_on_host` (NumPy in, NumPy numbers out). Integer inputs of `IntegerLookup` are also looked up
on the device (a sorted vocabulary and a binary search written with `lamina.ops`), so they work inside `jit`.

Index layout (as Keras): `[mask] [OOV x num_oov_indices] [tokens...]`; the mask slot exists only with a
`mask_token` and `output_mode="int"`. Out-of-vocabulary values go to the single OOV index, or with
`num_oov_indices > 1` to `hash(value) % num_oov_indices` (FarmHash fingerprint, or SipHash keyed by `salt`;
integers use `value % num_oov_indices` unless `oov_method="farmhash"`).

Saving: a vocabulary given to the constructor is in `get_config()`. An adapted vocabulary is not: Keras 3's
`.keras` zip stores it as the asset `vocabulary.txt` (`save_assets` / `load_assets`), and `idf_weights` of
`tf_idf` layers as the variable `idf_weights`; lamina reads and writes the same layout. `.h5` and JSON files
keep only the config, so an adapted vocabulary is lost there, as in Keras 3 and tf-keras. The tf_idf weights
are a non-trainable weight of the layer, as in tf-keras, whose `.h5` files hold them (Keras 3's `.h5` files
do not, so lamina cannot load a tf_idf lookup from those).
"""

from __future__ import annotations

import collections
import os

import numpy as np

from lamina import ops
from lamina.layers.layer import Layer
from lamina.layers.preprocessing import string_hashing
from lamina.layers.preprocessing.category_encoding import check_output_mode, encoded_shape

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def as_list(value):
    """A vocabulary or weights given as a NumPy array, tensor or tuple, as a plain list (None stays None)."""
    if value is None or isinstance(value, str):
        return value
    if ops.is_tensor(value):
        value = ops.convert_to_numpy(value)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    return list(value)


def read_vocabulary_file(path: str) -> list:
    """The lines of a vocabulary text file (one token a line), without trailing empty lines.

    Lines end at "\n" only (a "\r" before it is dropped): a term may hold other Unicode line breaks.
    """
    with open(path, encoding="utf-8", newline="") as f:
        lines = [line[:-1] if line.endswith("\r") else line for line in f.read().split("\n")]
    while lines and lines[-1] == "":
        lines.pop()
    return lines


class IndexLookup(Layer):
    """Maps values to indices of a vocabulary (or indices back to values with `invert=True`).

    Not used directly: `StringLookup` and `IntegerLookup` document the arguments.
    """

    accepts_strings = True
    _string_tokens = True

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices=1,
        mask_token=None,
        oov_token=None,
        vocabulary=None,
        idf_weights=None,
        invert=False,
        output_mode="int",
        sparse=False,
        pad_to_max_tokens=False,
        oov_method="floormod",
        salt=None,
        vocabulary_size=None,
        has_input_vocabulary=None,
        **kwargs,
    ):
        dtype = kwargs.pop("dtype", None)
        if not (isinstance(dtype, str) and dtype.startswith(("float", "bfloat"))):
            dtype = None  # tf-keras writes "string" or "int64" here: the float outputs use floatx
        super().__init__(dtype=dtype, **kwargs)
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        self.output_mode = check_output_mode(self.name, output_mode, OUTPUT_MODES)
        self._check_arguments(max_tokens, num_oov_indices, pad_to_max_tokens, oov_method, invert, sparse, idf_weights)
        self.max_tokens = max_tokens
        self.num_oov_indices = num_oov_indices
        self.mask_token = self._token(mask_token) if mask_token is not None else None
        self.oov_token = self._token(oov_token) if oov_token is not None else None
        self.invert = invert
        self.sparse = False
        self.pad_to_max_tokens = pad_to_max_tokens
        self.oov_method = oov_method
        self.salt = self._check_salt(salt)
        self.input_vocabulary = None if isinstance(vocabulary, (str, os.PathLike)) else as_list(vocabulary)
        self.input_idf_weights = as_list(idf_weights)
        self._has_input_vocabulary = vocabulary is not None if has_input_vocabulary is None else has_input_vocabulary
        self._frozen_vocab_size = vocabulary_size
        self._tokens = None
        self._index: dict = {}
        self._idf_variable = None
        self._device_tables: dict = {}
        self.reset_state()
        if self.output_mode == "tf_idf" and self._has_input_vocabulary and idf_weights is None:
            raise ValueError(
                f'Layer "{self.name}": with a `vocabulary` and output_mode="tf_idf", give `idf_weights` too.'
            )
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # ------------------------------------------------------------ arguments
    def _check_arguments(self, max_tokens, num_oov_indices, pad_to_max_tokens, oov_method, invert, sparse, idf):
        where = f'Layer "{self.name}"'
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens <= 1):
            raise ValueError(f"{where}: max_tokens must be None or an integer > 1, got {max_tokens!r}.")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{where}: pad_to_max_tokens=True needs max_tokens, got max_tokens=None.")
        if not isinstance(num_oov_indices, int) or num_oov_indices < 0:
            raise ValueError(f"{where}: num_oov_indices must be an integer >= 0, got {num_oov_indices!r}.")
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(f"{where}: oov_method must be 'floormod' or 'farmhash', got {oov_method!r}.")
        if invert and self.output_mode != "int":
            raise ValueError(f'{where}: invert=True needs output_mode="int", got output_mode={self.output_mode!r}.')
        if sparse:
            raise ValueError(f"{where}: sparse=True is not supported (lamina has no sparse tensors).")
        if idf is not None and self.output_mode != "tf_idf":
            raise ValueError(
                f'{where}: idf_weights is only used with output_mode="tf_idf", got output_mode={self.output_mode!r}.'
            )

    def _check_salt(self, salt):
        if salt is None:
            return None
        if not self._string_tokens and self.oov_method != "farmhash":
            raise ValueError(f"Layer \"{self.name}\": salt needs oov_method='farmhash', got {self.oov_method!r}.")
        if isinstance(salt, int):
            return [salt, salt]
        if isinstance(salt, (list, tuple)) and len(salt) == 2 and all(isinstance(s, int) for s in salt):
            return list(salt)
        raise ValueError(f'Layer "{self.name}": salt must be an int or a pair of ints, got {salt!r}.')

    def _token(self, value):
        """A value as the vocabulary holds it: `str` for StringLookup, `int` for IntegerLookup."""
        raise NotImplementedError

    def _sort_key(self, token):
        return token

    # ----------------------------------------------------------- vocabulary
    def _oov_start_index(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self) -> int:
        return self._oov_start_index() + self.num_oov_indices

    def _special_tokens(self) -> list:
        return [self.mask_token] * self._oov_start_index() + [self.oov_token] * self.num_oov_indices

    def vocabulary_size(self) -> int:
        """The number of indices the layer uses: mask and OOV indices included.

        Example:
            >>> StringLookup(vocabulary=["a", "b"]).vocabulary_size()
            3
        """
        return self._token_start_index() + (len(self._tokens) if self._tokens is not None else 0)

    def get_vocabulary(self, include_special_tokens=True) -> list:
        """The vocabulary, index by index (with the mask and OOV tokens unless `include_special_tokens=False`).

        Example:
            >>> StringLookup(vocabulary=["a", "b"]).get_vocabulary()
            ['[UNK]', 'a', 'b']
        """
        tokens = list(self._tokens or [])
        return self._special_tokens() + tokens if include_special_tokens else tokens

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Sets the vocabulary (a list, array, or text file path) and, for tf_idf, the IDF weights.

        Example:
            >>> layer = StringLookup()
            >>> layer.set_vocabulary(["a", "b"])
        """
        where = f'Layer "{self.name}"'
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError(f'{where}: idf_weights must be set with output_mode="tf_idf".')
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError(f'{where}: idf_weights is only used with output_mode="tf_idf".')
        if isinstance(vocabulary, (str, os.PathLike)):
            if not os.path.exists(vocabulary):
                raise ValueError(f"{where}: vocabulary file {os.fspath(vocabulary)!r} does not exist.")
            if self.output_mode == "tf_idf":
                raise ValueError(f'{where}: output_mode="tf_idf" cannot load its vocabulary from a file.')
            vocabulary = read_vocabulary_file(vocabulary)
        values = [self._token(v) for v in as_list(vocabulary)]
        if not values:
            raise ValueError(f"{where}: cannot set an empty vocabulary.")
        specials = self._special_tokens()
        has_specials = values[: len(specials)] == specials
        tokens = values[len(specials) :] if has_specials else values
        self._check_tokens(tokens, specials)
        self._set_tokens(tokens)
        if idf_weights is not None:
            self._set_idf(as_list(idf_weights), len(values), has_specials)

    def _check_tokens(self, tokens: list, specials: list) -> None:
        where = f'Layer "{self.name}"'
        repeated = [t for t, n in collections.Counter(tokens).items() if n > 1]
        if repeated:
            raise ValueError(f"{where}: the vocabulary repeats {repeated}; each term must appear once.")
        for name, token in (("mask_token", self.mask_token), ("oov_token", self.oov_token)):
            # The OOV token may be a term unless the layer inverts (then it is what unknown indices give).
            if token is not None and token in tokens and (name == "mask_token" or self.invert):
                raise ValueError(
                    f"{where}: the vocabulary holds the {name} {token!r} at a later position; leave the special "
                    f"tokens out of it, or put them first in exactly this order: {specials}."
                )
        size = self._token_start_index() + len(tokens)
        if self.max_tokens is not None and size > self.max_tokens:
            raise ValueError(
                f"{where}: the vocabulary has {size} entries (special ones included), more than "
                f"max_tokens={self.max_tokens}."
            )

    def _set_tokens(self, tokens: list) -> None:
        self._tokens = list(tokens)
        start = self._token_start_index()
        self._index = {token: start + i for i, token in enumerate(self._tokens)}
        self._frozen_vocab_size = self.vocabulary_size()
        self._device_tables = {}

    def _set_idf(self, weights: list, vocabulary_length: int, has_specials: bool) -> None:
        weights = np.asarray(weights, "float64")
        if weights.ndim != 1 or len(weights) != vocabulary_length:
            raise ValueError(
                f'Layer "{self.name}": idf_weights must be a 1-D list as long as the vocabulary '
                f"({vocabulary_length}), got shape {weights.shape}."
            )
        # The special tokens have no document frequency of their own: they get the average weight, as in Keras.
        front = 0 if has_specials else self._token_start_index()
        weights = np.concatenate([np.full(front, weights.mean()), weights])
        if self.pad_to_max_tokens:
            weights = np.concatenate([weights, np.zeros(max(self.max_tokens - len(weights), 0))])
        self._store_idf(weights)

    @property
    def _idf(self):
        return None if self._idf_variable is None else np.asarray(self._idf_variable.numpy())

    def _store_idf(self, weights) -> None:
        """Keeps the tf_idf weights in a non-trainable weight, as tf-keras does (its `.h5` files hold them)."""
        weights = np.asarray(weights).astype(self.dtype)
        variable = self._idf_variable
        if variable is None or tuple(variable.shape) != weights.shape:
            if variable is not None:  # a new vocabulary size: a new weight replaces the old one
                self._non_trainable_variables[:] = [v for v in self._non_trainable_variables if v is not variable]
            variable = self.add_weight(name="idf_weights", shape=weights.shape, initializer="zeros", trainable=False)
            self._idf_variable = variable
        variable.assign(weights)

    @property
    def idf_weights(self):
        """The tf_idf weights, index by index (None in the other output modes)."""
        return None if self._idf_variable is None else ops.convert_to_tensor(self._idf_variable.numpy())

    # ---------------------------------------------------------------- adapt
    def reset_state(self) -> None:
        """Forgets what `update_state` counted (not the vocabulary)."""
        self._counts: collections.Counter = collections.Counter()
        self._document_counts: collections.Counter = collections.Counter()
        self._num_documents = 0

    def _documents(self, data) -> list:
        """Each document of a batch as a list of tokens (a 0-D or 1-D batch is one document)."""
        array = np.asarray(ops.convert_to_numpy(data) if ops.is_tensor(data) else data, dtype=object)
        if array.ndim <= 1:
            array = array.reshape(1, -1)
        return [[self._token(v) for v in row.reshape(-1)] for row in array]

    def adapt(self, data, steps=None) -> None:
        """Builds the vocabulary from `data`: an array or list (each element a document), or an iterable of batches.

        Terms are ordered by count, most frequent first, ties by the term itself (highest first), and cut to
        `max_tokens`; with output_mode="tf_idf" the IDF weights `log(1 + documents / (1 + documents with term))`
        are found too.

        Example:
            >>> layer = StringLookup()
            >>> layer.adapt(np.array([["a", "b"], ["b", "c"]]))
            >>> layer.get_vocabulary()
            ['[UNK]', 'b', 'c', 'a']
        """
        self.reset_state()
        if isinstance(data, (list, tuple, np.ndarray)) or ops.is_tensor(data) or not hasattr(data, "__iter__"):
            array = np.asarray(ops.convert_to_numpy(data) if ops.is_tensor(data) else data, dtype=object)
            self.update_state(array[:, None] if array.ndim == 1 else array)
        else:
            for index, batch in enumerate(data):
                if steps is not None and index >= steps:
                    break
                self.update_state(batch)
        self.finalize_state()

    def update_state(self, data) -> None:
        """Counts the terms of one batch (use `adapt`, which calls this and `finalize_state`)."""
        self.update_documents(self._documents(data))

    def update_documents(self, documents: list) -> None:
        """Counts the terms of `documents`, each a list of tokens."""
        if self._has_input_vocabulary:
            raise ValueError(
                f'Layer "{self.name}" was given its vocabulary (the `vocabulary` argument), so it cannot be adapted.'
            )
        for document in documents:
            self._counts.update(document)
            if self.output_mode == "tf_idf":
                self._document_counts.update(set(document))
        self._num_documents += len(documents)

    def finalize_state(self) -> None:
        """Turns the counts into the vocabulary (and IDF weights)."""
        if self._has_input_vocabulary or not self._counts:
            return
        for special in (self.mask_token, self.oov_token):
            self._counts.pop(special, None)
        ranked = sorted(self._counts.items(), key=lambda item: (item[1], self._sort_key(item[0])), reverse=True)
        if self.max_tokens:
            ranked = ranked[: max(self.max_tokens - self._token_start_index(), 0)]
        self._set_tokens([token for token, _ in ranked])
        if self.output_mode == "tf_idf":
            documents = np.array([self._document_counts[token] for token in self._tokens], "float64")
            idf = np.log(1.0 + self._num_documents / (1.0 + documents)).astype("float32")
            mean = idf.mean(dtype="float32") if idf.size else np.float32(0.0)
            weights = np.concatenate([np.full(self._token_start_index(), mean, "float32"), idf])
            if self.pad_to_max_tokens:
                weights = np.concatenate([weights, np.zeros(max(self.max_tokens - len(weights), 0), "float32")])
            self._store_idf(weights)
        self.reset_state()

    # --------------------------------------------------------------- lookup
    def _depth(self):
        return self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size

    def _oov_bucket(self, token) -> int:
        if not self._string_tokens and self.oov_method == "floormod":
            return token % self.num_oov_indices
        data = string_hashing.value_bytes(token)
        if self.salt is not None:
            return string_hashing.siphash24(data, tuple(self.salt)) % self.num_oov_indices
        return string_hashing.fingerprint64(data) % self.num_oov_indices

    def _index_of(self, token) -> int:
        if self.mask_token is not None and token == self.mask_token:
            return 0 if self.output_mode == "int" else -1  # -1: dropped by the encodings
        index = self._index.get(token)
        if index is not None:
            return index
        if self.num_oov_indices == 0:
            raise ValueError(
                f'Layer "{self.name}" has num_oov_indices=0, so every input must be in its vocabulary; '
                f"got the unknown value {token!r}. Consider num_oov_indices=1."
            )
        if self.num_oov_indices == 1:
            return self._oov_start_index()
        return self._oov_start_index() + self._oov_bucket(token)

    def lookup_on_host(self, values: np.ndarray) -> np.ndarray:
        """Each value's index (int64, same shape), computed with NumPy."""
        values = np.asarray(values)
        if values.size == 0:
            return np.zeros(values.shape, "int64")
        try:
            unique, inverse = np.unique(values.reshape(-1), return_inverse=True)
        except TypeError:  # a mix of str and bytes cannot be sorted: look each one up
            unique, inverse = values.reshape(-1), np.arange(values.size)
        indices = np.array([self._index_of(self._token(v)) for v in unique.tolist()], "int64")
        return indices[inverse.reshape(-1)].reshape(values.shape)

    def invert_on_host(self, indices: np.ndarray) -> np.ndarray:
        """Each index's vocabulary entry (the OOV token for unknown indices)."""
        indices = np.asarray(indices).astype("int64")
        table = self.get_vocabulary()
        out = [table[i] if 0 <= i < len(table) else self.oov_token for i in indices.reshape(-1).tolist()]
        dtype = object if self._string_tokens else "int64"
        return np.array(out, dtype=dtype).reshape(indices.shape)

    def encode_on_host(self, indices: np.ndarray) -> np.ndarray:
        """Indices encoded as `output_mode` says, with NumPy (as `encode_categories` does on the device)."""
        if self.output_mode == "int":
            return indices.astype("int32")
        depth = self._checked_depth()
        if indices.ndim == 0:
            indices = indices[None]
        if self.output_mode == "one_hot":
            if indices.ndim > 1 and indices.shape[-1] == 1:
                indices = indices[..., 0]
            return (indices[..., None] == np.arange(depth)).astype(self.dtype)
        # Axis 1 is reduced (axis 0 of a vector), as Keras 3 does for every rank: (batch, a, b) -> (batch, b, depth).
        kept = np.moveaxis(indices, 1, -1) if indices.ndim > 2 else indices
        rows = kept.reshape(int(np.prod(kept.shape[:-1])), kept.shape[-1])
        counts = np.zeros((rows.shape[0], depth), "float64")
        for row, ids in enumerate(rows):
            ids = ids[(ids >= 0) & (ids < depth)]
            np.add.at(counts[row], ids, 1.0)
        if self.output_mode == "multi_hot":
            counts = np.minimum(counts, 1.0)
        elif self.output_mode == "tf_idf":
            counts = counts * self._checked_idf()[:depth]
        return counts.reshape(*kept.shape[:-1], depth).astype(self.dtype)

    def _checked_depth(self) -> int:
        depth = self._depth()
        if depth is None:
            raise ValueError(
                f'Layer "{self.name}": with output_mode={self.output_mode!r} and pad_to_max_tokens=False, set the '
                "vocabulary (the `vocabulary` argument or adapt()) before calling the layer."
            )
        return depth

    def _checked_idf(self) -> np.ndarray:
        if self._idf is None:
            raise ValueError(f'Layer "{self.name}": output_mode="tf_idf" needs idf_weights: adapt() or give them.')
        return self._idf

    def call_on_host(self, inputs: np.ndarray) -> np.ndarray:
        """The layer's output for NumPy `inputs`, computed on the host with NumPy (strings allowed).

        Example:
            >>> StringLookup(vocabulary=["a", "b"]).call_on_host(np.array([["a", "z"]]))
            array([[1, 0]], dtype=int32)
        """
        self._check_vocabulary()
        if self.invert:
            return self.invert_on_host(inputs)
        return self.encode_on_host(self.lookup_on_host(inputs))

    def _check_vocabulary(self) -> None:
        if self._tokens is None and self.output_mode != "int":
            self._checked_depth()

    def __call__(self, *args, **kwargs):
        if args and not kwargs and len(args) == 1 and self._on_host(args[0]):
            value = args[0]
            array = ops.convert_to_numpy(value) if ops.is_tensor(value) else np.asarray(value)
            out = self.call_on_host(array)
            # Inverted lookups give vocabulary values: strings, or int64 beyond what JAX's tensors hold.
            return out if self.invert else ops.convert_to_tensor(out)
        return super().__call__(*args, **kwargs)

    def _on_host(self, value) -> bool:
        """Whether an eager call runs on the host: NumPy arrays, lists and scalars (not tensors)."""
        return isinstance(value, (np.ndarray, list, tuple, str, bytes, int, np.generic))

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        return encoded_shape(input_shape, self.output_mode, self._depth())

    def compute_output_dtype(self, input_dtype=None) -> str:
        """The dtype of the layer's output: "int32" indices, or floatx for the encodings."""
        return "int32" if self.output_mode == "int" else self.dtype

    # --------------------------------------------------------------- saving
    def save_own_variables(self, store) -> None:
        """Writes `idf_weights` (tf_idf only) into a Keras 3 weights group, as Keras 3 does."""
        if self.output_mode == "tf_idf" and self._idf is not None:
            store["idf_weights"] = np.asarray(self._idf)

    def load_own_variables(self, store) -> None:
        """Reads `idf_weights` (tf_idf only) from a Keras 3 weights group."""
        if self.output_mode == "tf_idf" and "idf_weights" in store:
            self._store_idf(np.asarray(store["idf_weights"][()]))

    def save_assets(self, dir_path: str) -> None:
        """Writes an adapted vocabulary to `dir_path/vocabulary.txt` (a given one is in the config)."""
        if self.input_vocabulary is not None:
            return
        with open(os.path.join(dir_path, "vocabulary.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(str(token) for token in self.get_vocabulary()))

    def load_assets(self, dir_path: str) -> None:
        """Reads the vocabulary `save_assets` wrote (special tokens first, one a line)."""
        if self.input_vocabulary is not None:
            return
        path = os.path.join(dir_path, "vocabulary.txt")
        if not os.path.exists(path):
            raise ValueError(f'Layer "{self.name}": the saved model has no vocabulary asset ({path!r} is missing).')
        values = [self._token(v) if self._string_tokens else int(v) for v in read_vocabulary_file(path)]
        specials = self._special_tokens()
        tokens = values[len(specials) :] if values[: len(specials)] == specials else values
        self._check_tokens(tokens, specials)
        self._set_tokens(tokens)

    def _config_dtype(self) -> str:
        """The `dtype` tf-keras requires in the config: an integer one for indices (Keras 3 ignores it)."""
        return "int64" if self.output_mode == "int" else self.dtype

    def get_config(self) -> dict:
        # oov_method and salt are Keras 3 arguments: left out at their defaults so that tf-keras reads the file.
        extra = {"oov_method": self.oov_method, "salt": self.salt} if self.oov_method != "floormod" or self.salt else {}
        return {
            **super().get_config(),
            "dtype": self._config_dtype(),
            "invert": self.invert,
            "max_tokens": self.max_tokens,
            "num_oov_indices": self.num_oov_indices,
            "oov_token": self.oov_token,
            "mask_token": self.mask_token,
            "output_mode": self.output_mode,
            "sparse": False,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "idf_weights": self.input_idf_weights,
            "vocabulary": self.input_vocabulary,
            "vocabulary_size": self._frozen_vocab_size,
            **extra,
        }
