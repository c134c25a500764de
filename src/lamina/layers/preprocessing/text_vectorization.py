"""TextVectorization: text to token indices or to multi-hot / count / tf-idf vectors, as Keras computes them.

The text work happens on the host with plain Python (as `StringLookup`'s does): eager calls take a NumPy
array or list of `str`/`bytes` and return a lamina tensor; models with `lamina.Input(..., dtype="string")`
call `call_on_host`. Standardization and splitting follow TensorFlow's ops that Keras uses:
"lower" lowercases ASCII letters only (`tf.strings.lower`), "strip_punctuation" removes exactly the 32
ASCII punctuation characters of Keras's regex, "whitespace" splits on runs of ASCII whitespace
(`tf.strings.split`), "character" on Unicode code points, and n-grams join tokens with one space.
"""

from __future__ import annotations

import re
import string

import numpy as np

from lamina import ops
from lamina.layers.layer import Layer
from lamina.layers.preprocessing.category_encoding import check_output_mode
from lamina.layers.preprocessing.index_lookup import as_list
from lamina.layers.preprocessing.string_lookup import StringLookup
from lamina.saving import lambda_code, object_registration

_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_NO_PUNCTUATION = str.maketrans("", "", string.punctuation)  # Keras's regex class: the 32 ASCII marks
_WHITESPACE = re.compile(r"[ \t\n\v\f\r]+")
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")


def callable_to_config(value, layer_name: str, argument: str):
    """A callable `standardize`/`split` as Keras 3 writes it; a name (or None) stays as it is.

    A function is stored by its registered name (`register_keras_serializable`) or its `__name__`, in Keras
    3's `{"class_name": "function", ...}` form; a `lambda` as bytecode (`"__lambda__"`), which only loads
    with `safe_mode=False`, as in Keras.

    Example:
        >>> callable_to_config(my_split, "vec", "split")["config"]
        'my_package>my_split'
    """
    if not callable(value):
        return value
    try:
        stored = lambda_code.function_to_config(value)
    except ValueError:
        raise ValueError(
            f'Layer "{layer_name}": cannot save the {argument} callable {value!r}: use a function (def), '
            "registered with lamina.saving.register_keras_serializable() to load it back by name."
        ) from None
    if stored["function_type"] == "lambda":
        return {"class_name": "__lambda__", "config": {"value": stored["function"]}}
    return {"module": "builtins", "class_name": "function", "config": stored["function"], "registered_name": "function"}


def callable_from_config(value, argument: str):
    """The `standardize`/`split` that `callable_to_config` (or Keras 3, or tf-keras by name) stored."""
    if isinstance(value, dict) and value.get("class_name") == "__lambda__":
        code = value.get("config", {}).get("value")
        return lambda_code.config_to_function(code, "lambda", None, layer_name=f"TextVectorization {argument}")
    if isinstance(value, dict):
        return lambda_code.config_to_function(value, "function", None, layer_name=f"TextVectorization {argument}")
    known = _STANDARDIZE if argument == "standardize" else ("whitespace", "character")
    if isinstance(value, str) and value not in known:  # tf-keras writes a registered function by its name
        return object_registration.get_registered_object(value) or value
    return value


class TextVectorization(Layer):
    """Turns strings into sequences of token indices, or into one vector per string.

    Args:
        max_tokens: the largest vocabulary size, the padding token "" and the OOV token "[UNK]" included.
        standardize: None, "lower_and_strip_punctuation" (default), "lower", "strip_punctuation", or a
            callable taking a NumPy array of `str` and returning one of the same shape.
        split: None (each string is a token), "whitespace" (default), "character", or a callable taking a
            1-D NumPy array of `str` and returning a list of token lists.
        ngrams: None, an int n (all n-grams up to n), or a tuple of n-gram sizes.
        output_mode: "int" (default), "multi_hot", "count", "tf_idf" or "one_hot": a one-hot vector per token,
            `(batch, tokens, depth)`, where Keras gives a ragged tensor lamina pads shorter rows with all-zero
            vectors (as Keras's `to_tensor()` would); with `split=None`, `(batch, depth)`.
        output_sequence_length: with "int", pad or cut every sequence to this length (None: the longest).
        pad_to_max_tokens: make the vector modes `max_tokens` wide whatever the vocabulary's size.
        vocabulary: a list of terms or the path of a text file; else call `adapt`.
        idf_weights: with "tf_idf" and a vocabulary, one weight per term.
        sparse, ragged: must stay False.
        encoding: the text encoding of `bytes` inputs (default "utf-8").

    An adapted vocabulary is saved in `.keras` files (Keras 3's `vocabulary.txt` asset) but not in `.h5` or
    JSON, which keep only the config (a vocabulary given to the constructor): Keras does the same.

    Example:
        >>> layer = TextVectorization(output_sequence_length=4)
        >>> layer.adapt(["The cat sat.", "The dog!"])
        >>> layer.get_vocabulary()
        ['', '[UNK]', 'the', 'sat', 'dog', 'cat']
        >>> layer(np.array(["the DOG sat"]))  # [[2, 4, 3, 0]]
    """

    accepts_strings = True
    _keras3_private_children = ("_lookup_layer",)  # Keras 3 saves the inner StringLookup's state there too

    def __init__(
        self,
        max_tokens=None,
        standardize="lower_and_strip_punctuation",
        split="whitespace",
        ngrams=None,
        output_mode="int",
        output_sequence_length=None,
        pad_to_max_tokens=False,
        vocabulary=None,
        idf_weights=None,
        sparse=False,
        ragged=False,
        encoding="utf-8",
        vocabulary_size=None,
        has_input_vocabulary=None,
        **kwargs,
    ):
        kwargs.pop("dtype", None)  # tf-keras writes "string": the float outputs use floatx
        super().__init__(**kwargs)
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        check_output_mode(self.name, output_mode, ("int", "one_hot", "multi_hot", "count", "tf_idf"))
        self._check_arguments(standardize, split, ngrams, output_mode, output_sequence_length, sparse, ragged)
        self._standardize = standardize
        self._split = split
        self._ngrams_arg = tuple(ngrams) if isinstance(ngrams, list) else ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else self._ngrams_arg
        self._output_mode = output_mode
        self._output_sequence_length = output_sequence_length
        self._encoding = encoding or "utf-8"
        has_input_vocabulary = vocabulary is not None if has_input_vocabulary is None else has_input_vocabulary
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens,
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens,
            mask_token="",
            output_mode=output_mode,
            encoding=encoding,
            vocabulary_size=vocabulary_size,
            has_input_vocabulary=has_input_vocabulary,
        )

    def _check_arguments(self, standardize, split, ngrams, output_mode, sequence_length, sparse, ragged):
        where = f'Layer "{self.name}"'
        if not (standardize is None or callable(standardize) or standardize in _STANDARDIZE):
            raise ValueError(
                f"{where}: standardize must be None, a callable or one of {list(_STANDARDIZE)}, got {standardize!r}."
            )
        if not (split is None or callable(split) or split in ("whitespace", "character")):
            raise ValueError(f"{where}: split must be None, a callable, 'whitespace' or 'character', got {split!r}.")
        sizes_ok = isinstance(ngrams, (tuple, list)) and all(isinstance(n, int) and n > 0 for n in ngrams)
        if not (ngrams is None or (isinstance(ngrams, int) and ngrams > 0) or sizes_ok):
            raise ValueError(f"{where}: ngrams must be None, an integer or a tuple of integers, got {ngrams!r}.")
        if output_mode == "int" and not (sequence_length is None or isinstance(sequence_length, int)):
            raise ValueError(f"{where}: output_sequence_length must be None or an integer, got {sequence_length!r}.")
        if output_mode != "int" and sequence_length is not None:
            raise ValueError(
                f'{where}: output_sequence_length is only used with output_mode="int", got output_mode={output_mode!r}.'
            )
        if sparse or ragged:
            raise ValueError(f"{where}: sparse=True and ragged=True are not supported (lamina's tensors are dense).")

    # ------------------------------------------------------------ the text
    def _texts(self, inputs) -> np.ndarray:
        """The inputs as a NumPy object array of `str`."""
        array = np.asarray(ops.convert_to_numpy(inputs) if ops.is_tensor(inputs) else inputs, dtype=object)
        if array.size and not all(isinstance(v, (str, bytes)) for v in array.reshape(-1)):
            raise TypeError(f'Layer "{self.name}" expects strings (str or bytes), got {array.reshape(-1)[0]!r}.')
        decode = np.vectorize(lambda v: v.decode(self._encoding) if isinstance(v, bytes) else str(v), otypes=[object])
        return decode(array) if array.size else array

    def _standardized(self, texts: np.ndarray) -> np.ndarray:
        if self._standardize in ("lower", "lower_and_strip_punctuation"):
            texts = np.vectorize(lambda s: s.translate(_LOWER), otypes=[object])(texts) if texts.size else texts
        if self._standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            texts = (
                np.vectorize(lambda s: s.translate(_NO_PUNCTUATION), otypes=[object])(texts) if texts.size else texts
            )
        if callable(self._standardize):
            result = np.asarray(self._standardize(texts.astype(str)))
            texts = self._texts(result)
        return texts

    def _tokenize(self, texts: np.ndarray) -> list:
        """Each string's list of tokens (n-grams included): one list per sample."""
        if self._split is None:
            rows = [
                list(row) for row in (texts.reshape(-1, 1) if texts.ndim <= 1 else texts.reshape(-1, texts.shape[-1]))
            ]
        else:
            if texts.ndim > 1:
                if texts.shape[-1] != 1:
                    raise ValueError(
                        f'Layer "{self.name}": to split strings, the input must have rank 1 or a last axis of size 1; '
                        f"got shape {texts.shape}."
                    )
                texts = texts[..., 0]
            texts = texts.reshape(-1)
            if self._split == "whitespace":
                rows = [[t for t in _WHITESPACE.split(s) if t] for s in texts]
            elif self._split == "character":
                rows = [list(s) for s in texts]
            else:
                rows = [[self._lookup_layer._token(t) for t in row] for row in self._split(texts.astype(str))]
        if self._ngrams:
            rows = [[" ".join(row[i : i + n]) for n in self._ngrams for i in range(len(row) - n + 1)] for row in rows]
        return rows

    def _preprocess(self, inputs) -> list:
        return self._tokenize(self._standardized(self._texts(inputs)))

    # ---------------------------------------------------------------- adapt
    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Builds the vocabulary from `data`: an array or list of strings, or an iterable of batches of them.

        Example:
            >>> layer = TextVectorization()
            >>> layer.adapt(["a b b", "c"])
            >>> layer.get_vocabulary()
            ['', '[UNK]', 'b', 'c', 'a']
        """
        self.reset_state()
        if isinstance(data, (list, tuple, np.ndarray)) or ops.is_tensor(data) or not hasattr(data, "__iter__"):
            self.update_state(data)
        else:
            for index, batch in enumerate(data):
                if steps is not None and index >= steps:
                    break
                self.update_state(batch)
        self.finalize_state()

    def update_state(self, data) -> None:
        """Counts the terms of one batch of strings."""
        self._lookup_layer.update_documents(self._preprocess(data))

    def finalize_state(self) -> None:
        self._lookup_layer.finalize_state()

    def reset_state(self) -> None:
        self._lookup_layer.reset_state()

    def get_vocabulary(self, include_special_tokens=True) -> list:
        """The vocabulary, index by index ("" and "[UNK]" first unless `include_special_tokens=False`)."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        """The vocabulary's size, the padding and OOV tokens included."""
        return self._lookup_layer.vocabulary_size()

    @property
    def idf_weights(self):
        """The tf_idf weights, index by index (None in the other output modes)."""
        return self._lookup_layer.idf_weights

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Sets the vocabulary (and, with tf_idf, the IDF weights) instead of adapting.

        Example:
            >>> TextVectorization().set_vocabulary(["the", "cat"])
        """
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    # -------------------------------------------------------------- calling
    def call_on_host(self, inputs: np.ndarray) -> np.ndarray:
        """The layer's output for NumPy `inputs` (strings), computed on the host.

        Example:
            >>> TextVectorization(vocabulary=["a", "b"]).call_on_host(np.array([["b a c"]]))
            array([[3, 2, 1]], dtype=int32)
        """
        lookup = self._lookup_layer
        lookup._check_vocabulary()
        rows = self._preprocess(inputs)
        flat = np.array([token for row in rows for token in row], dtype=object)
        flat_indices = lookup.lookup_on_host(flat)
        split_at = np.cumsum([len(row) for row in rows])[:-1]
        sequences = np.split(flat_indices, split_at) if rows else []
        if self._output_mode in ("int", "one_hot"):
            length = self._output_sequence_length
            if length is None:
                length = max((len(s) for s in sequences), default=0)
            # One-hot rows of split text are ragged in Keras: shorter rows end in all-zero vectors here (index -1).
            padding = -1 if self._output_mode == "one_hot" and self._split is not None else 0
            out = np.full((len(sequences), length), padding, "int64")
            for row, sequence in enumerate(sequences):
                out[row, : min(len(sequence), length)] = sequence[:length]
            if padding:  # (batch, tokens, depth), a single token per row included, as Keras's ragged output
                return (out[..., None] == np.arange(lookup._checked_depth())).astype(self.dtype)
            return lookup.encode_on_host(out)
        depth = lookup._checked_depth()
        out = np.stack([lookup.encode_on_host(s) for s in sequences]) if sequences else np.zeros((0, depth))
        return out.astype(self.dtype)

    def __call__(self, *args, **kwargs):
        if args and len(args) == 1 and not kwargs:
            value = args[0]
            if isinstance(value, (np.ndarray, list, tuple, str, bytes)) or ops.is_tensor(value):
                return ops.convert_to_tensor(self.call_on_host(value))
        return super().__call__(*args, **kwargs)

    def call(self, inputs):
        raise TypeError(
            f'Layer "{self.name}" (TextVectorization) works on the host: call it eagerly on strings, or use it '
            'behind lamina.Input(..., dtype="string"); it cannot run inside a traced function.'
        )

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self._output_mode == "int":
            return (input_shape[0] if input_shape else None, self._output_sequence_length)
        depth = self._lookup_layer._depth()
        if self._output_mode == "one_hot":
            if self._split is None:
                return (input_shape[0] if input_shape else None, depth)
            return (input_shape[0] if input_shape else None, self._output_sequence_length, depth)
        return (input_shape[0] if input_shape else None, depth)

    def compute_output_dtype(self, input_dtype=None) -> str:
        """The dtype of the layer's output: "int32" indices, or floatx for the vector modes."""
        return "int32" if self._output_mode == "int" else self.dtype

    # --------------------------------------------------------------- saving
    def save_own_variables(self, store) -> None:
        self._lookup_layer.save_own_variables(store)

    def load_own_variables(self, store) -> None:
        self._lookup_layer.load_own_variables(store)

    def save_assets(self, dir_path: str) -> None:
        self._lookup_layer.save_assets(dir_path)

    def load_assets(self, dir_path: str) -> None:
        self._lookup_layer.load_assets(dir_path)

    def get_config(self) -> dict:
        lookup = self._lookup_layer
        return {
            **super().get_config(),
            "dtype": "string",  # what tf-keras requires (and Keras 3 accepts)
            "max_tokens": lookup.max_tokens,
            "standardize": callable_to_config(self._standardize, self.name, "standardize"),
            "split": callable_to_config(self._split, self.name, "split"),
            "ngrams": self._ngrams_arg,
            "output_mode": self._output_mode,
            "output_sequence_length": self._output_sequence_length,
            "pad_to_max_tokens": lookup.pad_to_max_tokens,
            "sparse": False,
            "ragged": False,
            "vocabulary": as_list(lookup.input_vocabulary),
            "idf_weights": as_list(lookup.input_idf_weights),
            "encoding": self._encoding,
            "vocabulary_size": self.vocabulary_size(),
        }

    @classmethod
    def from_config(cls, config_dict: dict):
        """The layer from its config; a callable `standardize`/`split` is found again by name (or bytecode)."""
        config = dict(config_dict)
        for argument in ("standardize", "split"):
            if argument in config:
                config[argument] = callable_from_config(config[argument], argument)
        return super().from_config(config)
