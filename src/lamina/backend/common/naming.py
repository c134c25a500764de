"""Automatic unique names: `dense`, `dense_1`, `dense_2`, ... as Keras gives them."""

from __future__ import annotations

import re
from collections import defaultdict

_counters: defaultdict = defaultdict(int)


def to_snake_case(name: str) -> str:
    """`BatchNormalization` -> `batch_normalization`, `Conv2D` -> `conv2d`.

    Example:
        >>> to_snake_case("MaxPooling2D")
        'max_pooling2d'
    """
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


def unique_name(base: str) -> str:
    """The next free name for `base` in this session: `base`, then `base_1`, ...

    Example:
        >>> unique_name("dense"), unique_name("dense")
        ('dense', 'dense_1')
    """
    count = _counters[base]
    _counters[base] += 1
    return base if count == 0 else f"{base}_{count}"


def reset_names() -> None:
    """Starts every name counter again (`clear_session`)."""
    _counters.clear()
