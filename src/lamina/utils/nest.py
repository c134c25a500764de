"""Small helpers for nested lists, tuples and dicts of tensors (engine-neutral)."""

from __future__ import annotations


def flatten(structure) -> list:
    """The leaves of a nested list/tuple/dict, in order (dicts by sorted key).

    Example:
        >>> flatten([1, (2, {"b": 4, "a": 3})])
        [1, 2, 3, 4]
    """
    if isinstance(structure, (list, tuple)):
        out = []
        for item in structure:
            out.extend(flatten(item))
        return out
    if isinstance(structure, dict):
        out = []
        for key in sorted(structure):
            out.extend(flatten(structure[key]))
        return out
    return [structure]


def map_structure(fn, structure):
    """`structure` with `fn` applied to every leaf.

    Example:
        >>> map_structure(lambda v: v * 2, {"a": [1, 2]})
        {'a': [2, 4]}
    """
    if isinstance(structure, list):
        return [map_structure(fn, item) for item in structure]
    if isinstance(structure, tuple):
        return tuple(map_structure(fn, item) for item in structure)
    if isinstance(structure, dict):
        return {key: map_structure(fn, value) for key, value in structure.items()}
    return fn(structure)


def pack_like(structure, leaves: list):
    """Puts `leaves` (as `flatten` orders them) back into `structure`'s shape."""
    it = iter(leaves)

    def build(node):
        if isinstance(node, list):
            return [build(item) for item in node]
        if isinstance(node, tuple):
            return tuple(build(item) for item in node)
        if isinstance(node, dict):
            return {key: build(node[key]) for key in sorted(node)}
        return next(it)

    packed = build(structure)
    if isinstance(structure, dict):
        return {key: packed[key] for key in structure}
    return packed


def leading_dim(structure) -> int:
    """The size of the first axis of the first array in a structure (its batch size).

    Example:
        >>> leading_dim([np.zeros((4, 2)), np.zeros((4, 3))])
        4
    """
    return int(flatten(structure)[0].shape[0])
