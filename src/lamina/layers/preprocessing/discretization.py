"""Discretization: numbers into bins, from given boundaries or from quantiles found by `adapt`."""

from __future__ import annotations

import numpy as np

from lamina import ops
from lamina.layers.layer import Layer, _call_context
from lamina.layers.preprocessing.category_encoding import check_output_mode, encode_categories, encoded_shape


def _summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    """Every `step`-th sorted value with weight `step`: a `(2, n)` summary of a batch."""
    values = np.sort(np.reshape(values, -1))
    step = max(values.size * epsilon, 1)
    kept = values[int(step - 1) :: int(step)]
    return np.stack([kept, np.full_like(kept, step)])


def _compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    """The summary resampled at cumulative-weight quantiles `epsilon, 2 * epsilon, ...`."""
    if summary.shape[1] * epsilon < 1:
        return summary
    targets = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    fractions = cumulative / cumulative[-1]
    values = np.interp(targets, fractions, summary[0])
    weights = np.interp(targets, fractions, cumulative)
    weights = weights - np.concatenate(([0.0], weights[:-1]))
    return np.stack((values, weights)).astype("float32")


class Discretization(Layer):
    """Maps each number to the index of its bin: bin `i` holds `boundaries[i-1] <= x < boundaries[i]`.

    Args:
        bin_boundaries: the sorted boundaries (n boundaries give n + 1 bins), or None to `adapt`.
        num_bins: the number of bins `adapt` finds from the data's quantiles.
        epsilon: the quantile error `adapt` allows (it keeps about 1 / epsilon values).
        output_mode: "int" (bin indices), "one_hot", "multi_hot" or "count".
        sparse: must stay False.

    Example:
        >>> Discretization(bin_boundaries=[0.0, 1.0])(np.array([[-1.0, 0.5, 2.0]]))  # [[0, 1, 2]]
    """

    def __init__(
        self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int", sparse=False, dtype=None, **kwargs
    ):
        super().__init__(dtype=dtype, **kwargs)
        self.output_mode = check_output_mode(self.name, output_mode, ("int", "one_hot", "multi_hot", "count"))
        if sparse:
            raise ValueError(f'Layer "{self.name}": sparse=True is not supported (lamina has no sparse tensors).')
        if num_bins is not None and (not isinstance(num_bins, int) or num_bins < 0):
            raise ValueError(f'Layer "{self.name}": num_bins must be an integer >= 0, got {num_bins!r}.')
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError(
                f'Layer "{self.name}": give bin_boundaries or num_bins, not both '
                f"(got bin_boundaries={bin_boundaries!r} and num_bins={num_bins})."
            )
        if num_bins is None and bin_boundaries is None:
            raise ValueError(f'Layer "{self.name}": give bin_boundaries, or num_bins and then call adapt().')
        self.bin_boundaries = None if bin_boundaries is None else [float(b) for b in bin_boundaries]
        self.num_bins = num_bins
        self.epsilon = epsilon
        self.sparse = False
        self._summary = np.zeros((2, 0), "float32")

    @classmethod
    def from_config(cls, config_dict: dict):
        """The layer from its config; an adapted layer's config has both boundaries and num_bins.

        Example:
            >>> Discretization.from_config({"bin_boundaries": [0.0], "num_bins": 2}).bin_boundaries
            [0.0]
        """
        config_dict = dict(config_dict)
        boundaries = config_dict.get("bin_boundaries")
        if boundaries is not None and config_dict.get("num_bins") is not None:
            config_dict.pop("bin_boundaries")
            layer = super().from_config(config_dict)
            layer.bin_boundaries = [float(b) for b in boundaries]
            return layer
        return super().from_config(config_dict)

    def adapt(self, data, steps=None) -> None:
        """Finds `num_bins - 1` boundaries at the quantiles of `data` (an array or an iterable of batches).

        Example:
            >>> layer = Discretization(num_bins=4)
            >>> layer.adapt(np.arange(100.0))
        """
        if self.num_bins is None:
            raise ValueError(f'Layer "{self.name}" was given bin_boundaries; give num_bins instead to adapt() it.')
        batches = [data] if isinstance(data, np.ndarray) or ops.is_tensor(data) else data
        summary = np.zeros((2, 0), "float32")
        for index, batch in enumerate(batches):
            if steps is not None and index >= steps:
                break
            batch = np.asarray(ops.convert_to_numpy(batch), "float32")
            merged = np.concatenate((summary, _summarize(batch, self.epsilon)), axis=1)
            summary = _compress(merged[:, np.argsort(merged[0], kind="stable")], self.epsilon)
        self._summary = summary
        self.bin_boundaries = _compress(summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def _depth(self) -> int:
        return len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else self.num_bins

    def call(self, inputs):
        boundaries = self.bin_boundaries
        if boundaries is None:
            # A model may be built before adapt() (as in tf-keras, whose configs of such models hold
            # bin_boundaries None): only the output's shape is needed then, and num_bins sets it.
            if not _call_context().symbolic:
                raise ValueError(f'Layer "{self.name}" has no bin_boundaries: pass them, or call adapt() first.')
            boundaries = []
        boundaries = ops.convert_to_tensor(np.asarray(boundaries, "float32"))
        inputs = ops.cast(inputs, "float32")
        indices = ops.sum(ops.cast(ops.expand_dims(inputs, -1) >= boundaries, "int32"), axis=-1)
        dtype = "int32" if self.output_mode == "int" else self.dtype
        return encode_categories(indices, self.output_mode, self._depth(), dtype)

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self._depth())

    def get_config(self) -> dict:
        base = super().get_config()
        base.pop("trainable", None)  # Keras's Discretization takes no `trainable`: its files must not hold one
        return {
            **base,
            "bin_boundaries": self.bin_boundaries,
            "num_bins": self.num_bins,
            "epsilon": self.epsilon,
            "output_mode": self.output_mode,
            "sparse": False,
        }
