"""InputSpec: what a layer accepts, checked on every call with an error that says what came."""

from __future__ import annotations


class InputSpec:
    """Constraints on one input of a layer.

    Args:
        ndim: exact rank. min_ndim / max_ndim: bounds on the rank.
        axes: `{axis: size}` that must match, e.g. `{-1: 784}`.
        shape: a full shape with None for any size.

    Example:
        >>> InputSpec(min_ndim=2, axes={-1: 784})
    """

    def __init__(self, ndim=None, min_ndim=None, max_ndim=None, axes=None, shape=None, allow_last_axis_squeeze=False):
        self.ndim = len(shape) if shape is not None else ndim
        self.min_ndim = min_ndim
        self.max_ndim = max_ndim
        self.axes = dict(axes or {})
        self.shape = None if shape is None else tuple(shape)


def _expected_shape(spec: InputSpec, rank: int) -> str:
    if spec.shape is not None:
        return str(spec.shape)
    dims = [None] * rank
    for axis, size in spec.axes.items():
        if -rank <= axis < rank:
            dims[axis] = size
    return str(tuple(dims))


def check_input(layer_name: str, index: int, spec: InputSpec | None, shape: tuple) -> None:
    """Raises ValueError naming the layer when `shape` breaks `spec`."""
    if spec is None:
        return
    rank = len(shape)
    head = f'Input {index} of layer "{layer_name}"'
    if spec.ndim is not None and rank != spec.ndim:
        raise ValueError(f"{head} expects {spec.ndim} dimensions, got shape {tuple(shape)} ({rank} dimensions).")
    if spec.min_ndim is not None and rank < spec.min_ndim:
        raise ValueError(
            f"{head} expects at least {spec.min_ndim} dimensions, got shape {tuple(shape)} ({rank} dimensions)."
        )
    if spec.max_ndim is not None and rank > spec.max_ndim:
        raise ValueError(
            f"{head} expects at most {spec.max_ndim} dimensions, got shape {tuple(shape)} ({rank} dimensions)."
        )
    for axis, size in spec.axes.items():
        if size is None:
            continue
        if not -rank <= axis < rank or shape[axis] not in (None, size):
            raise ValueError(f"{head} expects shape {_expected_shape(spec, rank)}, got {tuple(shape)}.")
    if spec.shape is not None:
        for want, got in zip(spec.shape, shape):
            if want is not None and got is not None and want != got:
                raise ValueError(f"{head} expects shape {spec.shape}, got {tuple(shape)}.")
