"""ContrastLimitedAdaptiveHistogramEqualization (CLAHE): local histogram equalization per tile.

Each image channel is cut into a grid of tiles; each tile's 256-bin histogram is clipped at
`clip_limit` times the mean bin count (the excess is spread over all bins) and turned into
an equalizing map (its normalized CDF). A pixel's output blends the maps of the four tiles
whose centers surround it, bilinearly, so tile borders do not show. It is deterministic and
applies in training and at inference alike, as in Keras 3.
"""

from __future__ import annotations

from lamina import ops
from lamina.layers.preprocessing.image_augmentation._base import (
    BaseImageAugmentationLayer,
    checked_value_range,
    from_unit_range,
    to_unit_range,
)

_LEVELS = 256


def _tile_maps(tiles, clip_limit: float):
    """(..., P) pixel levels of each tile -> (..., 256) equalizing maps on the 0-255 scale."""
    pixels = tiles.shape[-1]
    levels = ops.reshape(ops.arange(_LEVELS, dtype="int32"), (1,) * len(tiles.shape) + (_LEVELS,))
    counts = ops.sum(ops.cast(ops.equal(ops.expand_dims(tiles, -1), levels), "float32"), axis=-2)
    if clip_limit > 0:
        ceiling = clip_limit * pixels / _LEVELS
        kept = ops.minimum(counts, ceiling)
        counts = kept + ops.sum(counts - kept, axis=-1, keepdims=True) / _LEVELS
    cdf = ops.cumsum(counts, axis=-1)
    lowest = ops.min(cdf, axis=-1, keepdims=True)
    spread = pixels - lowest
    spread = ops.where(ops.equal(spread, 0), ops.ones_like(spread), spread)
    return ops.clip((cdf - lowest) * 255.0 / spread, 0.0, 255.0)


def _with_edge_tiles(maps):
    """(N, gh, gw, C, L) -> (N, gh + 2, gw + 2, C, L): the outer tiles repeated once more on every side."""
    maps = ops.concatenate([maps[:, :1], maps, maps[:, -1:]], axis=1)
    return ops.concatenate([maps[:, :, :1], maps, maps[:, :, -1:]], axis=2)


def _neighbours(length: int, tile: int, grid: int):
    """For each pixel along one axis: the lower and upper tile (in the edge-padded grid) and the upper weight."""
    position = (ops.arange(length, dtype="float32") - tile / 2.0) / tile + 1.0
    lower = ops.floor(position)
    weight = position - lower
    lower_index = ops.cast(ops.clip(lower, 0, grid + 1), "int32")
    upper_index = ops.cast(ops.clip(lower + 1.0, 0, grid + 1), "int32")
    return lower_index, upper_index, weight


class ContrastLimitedAdaptiveHistogramEqualization(BaseImageAugmentationLayer):
    """Contrast-limited adaptive histogram equalization of each image channel.

    Args:
        value_range: the images' range.
        clip_limit: the histogram ceiling as a multiple of the mean bin count (0: no limit).
        tile_grid_size: the number of tiles (rows, columns).

    Example:
        >>> ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2))(images).shape == images.shape
        True
    """

    def __init__(self, value_range=(0, 255), clip_limit=4.0, tile_grid_size=(8, 8), data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = checked_value_range(self.name, value_range)
        if isinstance(clip_limit, bool) or not isinstance(clip_limit, (int, float)) or clip_limit < 0:
            raise ValueError(f'Layer "{self.name}": clip_limit must be a number >= 0, got {clip_limit!r}.')
        grid = tuple(tile_grid_size) if isinstance(tile_grid_size, (list, tuple)) else None
        if grid is None or len(grid) != 2 or not all(isinstance(g, int) and g > 0 for g in grid):
            raise ValueError(f'Layer "{self.name}": tile_grid_size must be two positive ints, got {tile_grid_size!r}.')
        self.clip_limit, self.tile_grid_size = float(clip_limit), grid

    def augment(self, images):
        batch, height, width, channels = images.shape
        grid_h, grid_w = self.tile_grid_size
        tile_h, tile_w = -(-height // grid_h), -(-width // grid_w)
        scaled = to_unit_range(images, self.value_range) * 255.0
        padded = ops.pad(
            scaled, ((0, 0), (0, tile_h * grid_h - height), (0, tile_w * grid_w - width), (0, 0)), mode="symmetric"
        )
        levels = ops.cast(ops.clip(padded, 0.0, 255.0), "int32")  # truncated, as Keras does
        tiles = ops.reshape(levels, (batch, grid_h, tile_h, grid_w, tile_w, channels))
        tiles = ops.reshape(ops.transpose(tiles, (0, 1, 3, 5, 2, 4)), (batch, grid_h, grid_w, channels, -1))
        maps = _with_edge_tiles(_tile_maps(tiles, self.clip_limit))
        flat_maps = ops.reshape(maps, (batch, -1))
        out = self._blend(flat_maps, levels, (grid_h, grid_w), (tile_h, tile_w))
        return from_unit_range(out[:, :height, :width, :] / 255.0, self.value_range)

    inference = augment

    def _blend(self, flat_maps, levels, grid, tile):
        """Each pixel's level looked up in its four surrounding tiles' maps, blended bilinearly."""
        batch, rows, cols, channels = levels.shape
        row0, row1, row_weight = _neighbours(rows, tile[0], grid[0])
        col0, col1, col_weight = _neighbours(cols, tile[1], grid[1])
        channel = ops.reshape(ops.arange(channels, dtype="int32"), (1, 1, channels))
        stride_col = channels * _LEVELS
        stride_row = stride_col * (grid[1] + 2)

        def lookup(row, col):
            index = (
                ops.reshape(row, (rows, 1, 1)) * stride_row
                + ops.reshape(col, (1, cols, 1)) * stride_col
                + channel * _LEVELS
                + levels
            )
            return ops.reshape(ops.take_along_axis(flat_maps, ops.reshape(index, (batch, -1)), axis=1), levels.shape)

        wx = ops.reshape(col_weight, (1, 1, cols, 1))
        wy = ops.reshape(row_weight, (1, rows, 1, 1))
        top = lookup(row0, col0) * (1.0 - wx) + lookup(row0, col1) * wx
        bottom = lookup(row1, col0) * (1.0 - wx) + lookup(row1, col1) * wx
        return top * (1.0 - wy) + bottom * wy

    def get_config(self) -> dict:
        config = {
            **super().get_config(),
            "value_range": self.value_range,
            "clip_limit": self.clip_limit,
            "tile_grid_size": self.tile_grid_size,
        }
        config.pop("seed")
        return config
