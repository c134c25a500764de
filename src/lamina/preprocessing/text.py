"""Keras 2's `keras.preprocessing.text`: word splitting, hashing and the `Tokenizer`, in plain Python and NumPy.

The `Tokenizer` numbers words by frequency (most frequent first, ties in order
of first appearance), turns texts into lists of those numbers or into
bag-of-words matrices, and saves itself as JSON (`to_json` /
`tokenizer_from_json`) in the layout Keras 2 wrote.
"""

from __future__ import annotations

import collections
import hashlib
import json
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["Tokenizer", "hashing_trick", "one_hot", "text_to_word_sequence", "tokenizer_from_json"]

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_MATRIX_MODES = ("binary", "count", "tfidf", "freq")


def text_to_word_sequence(
    input_text: str, filters: str = DEFAULT_FILTERS, lower: bool = True, split: str = " "
) -> list[str]:
    """Splits a text into words: lower-cased, every character of `filters` turned into `split`.

    Args:
        input_text: The text.
        filters: Characters to drop (each becomes a separator).
        lower: Whether to lower-case the text first.
        split: The word separator.

    Returns:
        The non-empty words, in order.

    Example:
        >>> text_to_word_sequence("Hello, World!  Bye.")
        ['hello', 'world', 'bye']
    """
    if lower:
        input_text = input_text.lower()
    input_text = input_text.translate(str.maketrans({character: split for character in filters}))
    return [word for word in input_text.split(split) if word]


def _md5_number(word: str) -> int:
    """The MD5 digest of `word` (UTF-8) as an integer: stable across runs, unlike `hash`."""
    return int(hashlib.md5(word.encode()).hexdigest(), 16)


def hashing_trick(
    text: str,
    n: int,
    hash_function: Callable[[str], int] | str | None = None,
    filters: str = DEFAULT_FILTERS,
    lower: bool = True,
    split: str = " ",
    analyzer: Callable[[str], list[str]] | None = None,
) -> list[int]:
    """Words of a text as indices in `[1, n - 1]` by hashing (0 is left for padding).

    Args:
        text: The text.
        n: The size of the hashing space.
        hash_function: `None` for Python's `hash` (which changes between runs
            unless `PYTHONHASHSEED` is set, as in Keras 2), `"md5"` for a stable
            hash, or any function from a string to an integer.
        filters: Characters to drop (see `text_to_word_sequence`).
        lower: Whether to lower-case the text.
        split: The word separator.
        analyzer: A function from the text to its words, used instead of splitting.

    Returns:
        One index per word.

    Example:
        >>> hashing_trick("the cat sat", 100, hash_function="md5")
        [51, 3, 10]
    """
    if hash_function is None:
        hash_function = hash
    elif hash_function == "md5":
        hash_function = _md5_number
    elif not callable(hash_function):
        raise ValueError(f'hashing_trick: `hash_function` must be None, "md5" or a callable, got {hash_function!r}.')
    if analyzer is None:
        words = text_to_word_sequence(text, filters=filters, lower=lower, split=split)
    else:
        words = analyzer(text)
    return [hash_function(word) % (n - 1) + 1 for word in words]


def one_hot(
    input_text: str,
    n: int,
    filters: str = DEFAULT_FILTERS,
    lower: bool = True,
    split: str = " ",
    analyzer: Callable[[str], list[str]] | None = None,
) -> list[int]:
    """Words of a text as indices in `[1, n - 1]`: `hashing_trick` with Python's `hash`.

    Despite its name it returns indices, not one-hot vectors, as in Keras 2.

    Example:
        >>> indices = one_hot("the cat sat on the mat", 50)  # the two "the" get the same index
    """
    return hashing_trick(
        input_text, n, hash_function=hash, filters=filters, lower=lower, split=split, analyzer=analyzer
    )


class Tokenizer:
    """Numbers the words of a corpus by frequency and turns texts into sequences or matrices.

    Index 0 is never given to a word (it is left for padding). With `oov_token`
    the token gets index 1 and stands in for unknown words (and for words cut
    off by `num_words`); without it such words are dropped.

    Args:
        num_words: Keep only words with an index below `num_words` when
            converting texts (the vocabulary itself keeps every word).
        filters: Characters removed from texts.
        lower: Whether to lower-case texts.
        split: The word separator.
        char_level: Every character is a token.
        oov_token: The token for out-of-vocabulary words.
        analyzer: A function from a text to its tokens, used instead of splitting.
        **kwargs: `document_count` (as `tokenizer_from_json` passes it) or Keras 1's `nb_words`.

    Example:
        >>> tokenizer = Tokenizer(num_words=100, oov_token="<unk>")
        >>> tokenizer.fit_on_texts(["The cat sat.", "The dog ran!"])
        >>> tokenizer.texts_to_sequences(["the bird sat"])
        [[2, 1, 4]]
        >>> tokenizer.texts_to_matrix(["the cat"], mode="count").shape
        (1, 100)
    """

    def __init__(
        self,
        num_words: int | None = None,
        filters: str = DEFAULT_FILTERS,
        lower: bool = True,
        split: str = " ",
        char_level: bool = False,
        oov_token: str | None = None,
        analyzer: Callable[[str], list[str]] | None = None,
        **kwargs: Any,
    ):
        if "nb_words" in kwargs:
            warnings.warn("The `nb_words` argument in `Tokenizer` has been renamed `num_words`.", stacklevel=2)
            num_words = kwargs.pop("nb_words")
        document_count = kwargs.pop("document_count", 0)
        if kwargs:
            raise TypeError(f"Tokenizer: unrecognized keyword arguments: {sorted(kwargs)}.")
        self.word_counts: dict = collections.OrderedDict()
        self.word_docs: dict = collections.defaultdict(int)
        self.filters = filters
        self.split = split
        self.lower = lower
        self.num_words = num_words
        self.document_count = document_count
        self.char_level = char_level
        self.oov_token = oov_token
        self.index_docs: dict = collections.defaultdict(int)
        self.word_index: dict = {}
        self.index_word: dict = {}
        self.analyzer = analyzer

    def _tokens(self, text) -> list:
        """A text's tokens: its characters (char_level), the list itself (a list of words), or its words."""
        if self.char_level or isinstance(text, list):
            if self.lower:
                text = [token.lower() for token in text] if isinstance(text, list) else text.lower()
            return list(text)
        if self.analyzer is not None:
            return self.analyzer(text)
        return text_to_word_sequence(text, filters=self.filters, lower=self.lower, split=self.split)

    def fit_on_texts(self, texts) -> None:
        """Counts the words of `texts` (strings, or lists of tokens) and renumbers the vocabulary.

        Words are numbered from 1 by count, most frequent first; ties keep the
        order in which the words were first seen.
        """
        for text in texts:
            self.document_count += 1
            tokens = self._tokens(text)
            for token in tokens:
                self.word_counts[token] = self.word_counts.get(token, 0) + 1
            # dict.fromkeys: each distinct token once, in first-seen order (Keras 2 used a set).
            for token in dict.fromkeys(tokens):
                self.word_docs[token] += 1
        by_count = sorted(self.word_counts.items(), key=lambda item: item[1], reverse=True)
        vocabulary = ([] if self.oov_token is None else [self.oov_token]) + [word for word, _ in by_count]
        # Built as Keras 2 built it: an oov_token that is also a word takes that word's later index.
        self.word_index = dict(zip(vocabulary, range(1, len(vocabulary) + 1)))
        self.index_word = {index: word for word, index in self.word_index.items()}
        for word, count in list(self.word_docs.items()):
            self.index_docs[self.word_index[word]] = count

    def fit_on_sequences(self, sequences) -> None:
        """Counts, per index, how many of `sequences` (lists of indices) hold it (needed for `tfidf`)."""
        self.document_count += len(sequences)
        for sequence in sequences:
            for index in dict.fromkeys(sequence):
                self.index_docs[index] += 1

    def texts_to_sequences(self, texts) -> list[list[int]]:
        """Each text as a list of word indices (see `texts_to_sequences_generator`)."""
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts):
        """Yields each text as a list of word indices.

        Unknown words, and words whose index is `num_words` or more, become the
        `oov_token`'s index, or are dropped when there is no `oov_token`.
        """
        oov_index = self.word_index.get(self.oov_token)
        for text in texts:
            indices = []
            for token in self._tokens(text):
                index = self.word_index.get(token)
                if index is not None and not (self.num_words and index >= self.num_words):
                    indices.append(index)
                elif self.oov_token is not None and (index is None or oov_index is not None):
                    indices.append(oov_index)
            yield indices

    def sequences_to_texts(self, sequences) -> list[str]:
        """Each list of indices as a text of words joined by spaces (see `sequences_to_texts_generator`)."""
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences):
        """Yields each list of indices as words joined by spaces; unknown or cut-off indices as `oov_token`."""
        oov_index = self.word_index.get(self.oov_token)
        for sequence in sequences:
            words = []
            for index in sequence:
                word = self.index_word.get(index)
                if word is not None and not (self.num_words and index >= self.num_words):
                    words.append(word)
                elif self.oov_token is not None and (word is None or oov_index is not None):
                    words.append(self.index_word[oov_index])
            yield " ".join(words)

    def texts_to_matrix(self, texts, mode: str = "binary") -> np.ndarray:
        """`sequences_to_matrix(texts_to_sequences(texts), mode)`."""
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def _matrix_width(self) -> int:
        if self.num_words:
            return self.num_words
        if self.word_index:
            return len(self.word_index) + 1
        raise ValueError("Tokenizer: specify a dimension (`num_words` argument), or fit on some text data first.")

    def _cell(self, mode: str, index: int, count: int, length: int) -> float:
        if mode == "count":
            return count
        if mode == "freq":
            return count / length
        if mode == "binary":
            return 1
        term_frequency = 1 + np.log(count)
        inverse_document_frequency = np.log(1 + self.document_count / (1 + self.index_docs.get(index, 0)))
        return term_frequency * inverse_document_frequency

    def sequences_to_matrix(self, sequences, mode: str = "binary") -> np.ndarray:
        """A `(len(sequences), width)` float matrix of the indices each sequence holds.

        `width` is `num_words`, or the vocabulary size + 1. Modes: `"binary"`
        (1 where present), `"count"`, `"freq"` (count / sequence length) and
        `"tfidf"` (`(1 + log(count)) * log(1 + documents / (1 + documents holding it))`).
        Indices at or past `width` are ignored.
        """
        width = self._matrix_width()
        if mode not in _MATRIX_MODES:
            raise ValueError(f"Tokenizer: unknown vectorization mode {mode!r}; expected one of {list(_MATRIX_MODES)}.")
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Tokenizer: fit the Tokenizer on some data before using tfidf mode.")
        matrix = np.zeros((len(sequences), width))
        for row, sequence in enumerate(sequences):
            counts = collections.Counter(index for index in sequence if index < width)
            for index, count in counts.items():
                matrix[row, index] = self._cell(mode, index, count, len(sequence))
        return matrix

    def get_config(self) -> dict[str, Any]:
        """The arguments and the fitted state (its dictionaries as JSON text), as Keras 2 wrote them."""
        return {
            "num_words": self.num_words,
            "filters": self.filters,
            "lower": self.lower,
            "split": self.split,
            "char_level": self.char_level,
            "oov_token": self.oov_token,
            "document_count": self.document_count,
            "word_counts": json.dumps(self.word_counts),
            "word_docs": json.dumps(self.word_docs),
            "index_docs": json.dumps(self.index_docs),
            "index_word": json.dumps(self.index_word),
            "word_index": json.dumps(self.word_index),
        }

    def to_json(self, **kwargs: Any) -> str:
        """`{"class_name": "Tokenizer", "config": get_config()}` as JSON; `kwargs` go to `json.dumps`.

        Example:
            >>> restored = tokenizer_from_json(tokenizer.to_json())
        """
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()}, **kwargs)


def tokenizer_from_json(json_string: str) -> Tokenizer:
    """A `Tokenizer` from `Tokenizer.to_json()`'s text (Keras 2's files load too).

    Example:
        >>> tokenizer = tokenizer_from_json(open("tokenizer.json").read())
    """
    try:
        config = dict(json.loads(json_string)["config"])
    except (TypeError, KeyError, ValueError) as error:
        raise ValueError(
            f"tokenizer_from_json: expected the JSON text of Tokenizer.to_json(), got {error!r}."
        ) from error
    word_counts = json.loads(config.pop("word_counts"))
    word_docs = json.loads(config.pop("word_docs"))
    index_docs = {int(index): count for index, count in json.loads(config.pop("index_docs")).items()}
    index_word = {int(index): word for index, word in json.loads(config.pop("index_word")).items()}
    word_index = json.loads(config.pop("word_index"))
    tokenizer = Tokenizer(**config)
    # Kept as the counting containers fit_on_texts uses, so a restored Tokenizer can go on fitting.
    tokenizer.word_counts = collections.OrderedDict(word_counts)
    tokenizer.word_docs = collections.defaultdict(int, word_docs)
    tokenizer.index_docs = collections.defaultdict(int, index_docs)
    tokenizer.word_index = word_index
    tokenizer.index_word = index_word
    return tokenizer
