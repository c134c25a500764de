"""Image operations the augmentation layers share, written once over `lamina.ops`.

Sampling follows the convention of Keras's `affine_transform` (and SciPy's
`map_coordinates`): pixel centers sit at integer coordinates, and a transform
`[a0, a1, a2, a3, a4, a5, a6, a7]` maps an output pixel `(x, y)` to the input point
`((a0 x + a1 y + a2) / k, (a3 x + a4 y + a5) / k)` with `k = a6 x + a7 y + 1`.
"""

from __future__ import annotations

from lamina import ops

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")
GRAY_WEIGHTS = (0.2989, 0.5870, 0.1140)


def _round_half_away(x):
    return ops.sign(x) * ops.floor(ops.abs(x) + 0.5)


def _mirror(index, size):
    period = size - 1
    return ops.abs((index + period) % (2 * period) - period)


def _fixed_index(index, size: int, fill_mode: str):
    """An integer index outside [0, size) moved inside as `fill_mode` says (constant: unchanged)."""
    if fill_mode == "nearest":
        return ops.clip(index, 0, size - 1)
    if fill_mode == "wrap":
        return index % size
    if fill_mode == "reflect":  # d c b a | a b c d | d c b a
        return (_mirror(2 * index + 1, 2 * size + 1) - 1) // 2
    return index


def _nodes(coordinate, interpolation: str):
    """The integer sample positions along one axis and their weights."""
    if interpolation == "nearest":
        return [(ops.cast(_round_half_away(coordinate), "int32"), 1.0)]
    lower = ops.floor(coordinate)
    upper_weight = coordinate - lower
    lower = ops.cast(lower, "int32")
    return [(lower, 1.0 - upper_weight), (lower + 1, upper_weight)]


def sample(images, rows, cols, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
    """`images` (N, H, W, C) read at float positions `rows`, `cols` (N, H', W') -> (N, H', W', C).

    Example:
        >>> sample(images, rows, cols, "nearest", "reflect")
    """
    batch, height, width, channels = images.shape
    out_shape = tuple(rows.shape)
    flat = ops.reshape(images, (batch, height * width, channels))
    total = None
    for row, row_weight in _nodes(rows, interpolation):
        for col, col_weight in _nodes(cols, interpolation):
            fixed_row = _fixed_index(row, height, fill_mode)
            fixed_col = _fixed_index(col, width, fill_mode)
            if fill_mode == "constant":
                fixed_row = ops.clip(fixed_row, 0, height - 1)
                fixed_col = ops.clip(fixed_col, 0, width - 1)
            index = ops.reshape(fixed_row * width + fixed_col, (batch, -1, 1))
            index = ops.broadcast_to(index, (batch, index.shape[1], channels))
            values = ops.reshape(ops.take_along_axis(flat, index, axis=1), (*out_shape, channels))
            if fill_mode == "constant":
                inside = ops.logical_and(
                    ops.logical_and(ops.greater_equal(row, 0), ops.less(row, height)),
                    ops.logical_and(ops.greater_equal(col, 0), ops.less(col, width)),
                )
                values = ops.where(ops.expand_dims(inside, -1), values, ops.cast(fill_value, values.dtype))
            weight = row_weight * col_weight
            term = values * ops.expand_dims(weight, -1) if not isinstance(weight, float) else values
            total = term if total is None else total + term
    return total


def transform(images, matrices, interpolation="bilinear", fill_mode="reflect", fill_value=0.0):
    """`images` (N, H, W, C) under projective transforms `matrices` (N, 8), output pixel -> input point.

    Example:
        >>> transform(images, ops.convert_to_tensor([[1, 0, -2, 0, 1, 0, 0, 0]]))  # shifted right by 2
    """
    batch, height, width, _ = images.shape
    xs = ops.reshape(ops.arange(width, dtype="float32"), (1, 1, width))
    ys = ops.reshape(ops.arange(height, dtype="float32"), (1, height, 1))
    a = [ops.reshape(ops.cast(matrices[:, i], "float32"), (batch, 1, 1)) for i in range(8)]
    scale = a[6] * xs + a[7] * ys + 1.0
    cols = (a[0] * xs + a[1] * ys + a[2]) / scale
    rows = (a[3] * xs + a[4] * ys + a[5]) / scale
    return sample(images, rows, cols, interpolation, fill_mode, fill_value)


def resize(images, height: int, width: int, interpolation="bilinear"):
    """`images` (N, H, W, C) resized to (height, width) with half-pixel centers and no antialiasing.

    Example:
        >>> resize(ops.ones((1, 4, 4, 3)), 2, 8).shape
        (1, 2, 8, 3)
    """
    batch, in_height, in_width, _ = images.shape
    rows = (ops.arange(height, dtype="float32") + 0.5) * (in_height / height) - 0.5
    cols = (ops.arange(width, dtype="float32") + 0.5) * (in_width / width) - 0.5
    if interpolation == "nearest":  # TF's half-pixel nearest: floor of the scaled center
        rows = ops.floor((ops.arange(height, dtype="float32") + 0.5) * (in_height / height))
        cols = ops.floor((ops.arange(width, dtype="float32") + 0.5) * (in_width / width))
    rows = ops.broadcast_to(ops.reshape(rows, (1, height, 1)), (batch, height, width))
    cols = ops.broadcast_to(ops.reshape(cols, (1, 1, width)), (batch, height, width))
    return sample(images, rows, cols, interpolation, "nearest")


def _check_rgb(images, what: str) -> None:
    if images.shape[-1] != 3:
        raise ValueError(f"{what} needs RGB images (3 channels), got images of shape {tuple(images.shape)}.")


def grayscale(images):
    """The luma of RGB images (N, H, W, 3), kept as one channel (N, H, W, 1)."""
    _check_rgb(images, "Grayscale conversion")
    weights = ops.convert_to_tensor(GRAY_WEIGHTS, dtype=images.dtype)
    return ops.sum(images * weights, axis=-1, keepdims=True)


def rgb_to_hsv(images):
    """RGB in [0, 1] to HSV, each channel in [0, 1] (hue as a fraction of a turn)."""
    _check_rgb(images, "The HSV conversion")
    red, green, blue = images[..., 0], images[..., 1], images[..., 2]
    value = ops.max(images, axis=-1)
    spread = value - ops.min(images, axis=-1)
    safe_spread = ops.where(ops.greater(spread, 0), spread, ops.ones_like(spread))
    saturation = ops.where(ops.greater(value, 0), spread / ops.where(ops.greater(value, 0), value, 1.0), 0.0)
    hue = ops.where(
        ops.equal(value, red),
        (green - blue) / safe_spread,
        ops.where(ops.equal(value, green), 2.0 + (blue - red) / safe_spread, 4.0 + (red - green) / safe_spread),
    )
    hue = ops.where(ops.greater(spread, 0), hue / 6.0, ops.zeros_like(hue))
    hue = hue - ops.floor(hue)
    return ops.stack([hue, saturation, value], axis=-1)


def hsv_to_rgb(images):
    """HSV (each channel in [0, 1]) to RGB in [0, 1]."""
    hue, saturation, value = images[..., 0], images[..., 1], images[..., 2]
    channels = []
    for offset in (5.0, 3.0, 1.0):  # red, green, blue
        k = (offset + hue * 6.0) % 6.0
        ramp = ops.clip(ops.minimum(k, 4.0 - k), 0.0, 1.0)
        channels.append(value - value * saturation * ramp)
    return ops.stack(channels, axis=-1)


def blend(images, other, factor):
    """`other + factor * (images - other)`, the PIL ImageEnhance blend."""
    return other + factor * (images - other)


def depthwise_filter(images, kernel_2d):
    """Each channel of `images` (N, H, W, C) convolved ('same', zero padded) with `kernel_2d` (kh, kw)."""
    channels = images.shape[-1]
    kernel = ops.reshape(ops.cast(ops.convert_to_tensor(kernel_2d), images.dtype), (*kernel_2d.shape, 1, 1))
    kernel = ops.tile(kernel, (1, 1, channels, 1))
    return ops.depthwise_conv(images, kernel, strides=1, padding="same")
