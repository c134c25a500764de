"""Data parallelism on torch: not built yet (issue 15 brings worker processes and torch.distributed).

`DataParallelPlacement` refuses with an error that says so and names the engine that has it, so a program asking
for several devices never trains silently on one.

Example:
    >>> DataParallelPlacement([torch.device("cpu")])
    NotImplementedError: Data parallelism (DataParallel, multi_gpu_model) runs on the JAX engine; ...
"""

from __future__ import annotations

__all__ = ["DataParallelPlacement", "single_device"]


class DataParallelPlacement:
    """Refuses: the torch engine has no data parallelism yet."""

    def __init__(self, devices):
        raise NotImplementedError(
            "Data parallelism (DataParallel, multi_gpu_model) runs on the JAX engine; the torch engine does not have "
            "it yet. Select JAX with LAMINA_BACKEND=jax or in ~/.keras/keras.json."
        )


def single_device(tree):
    """`tree` as it is: torch variables live on one device."""
    return tree
