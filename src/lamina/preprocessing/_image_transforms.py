"""Keras 2's image transforms on one 3D array: affine warps (SciPy), flips, channel and brightness shifts.

The affine warp resamples each channel with `scipy.ndimage.affine_transform`, as Keras 2 did, so
`fill_mode` ("constant", "nearest", "reflect", "wrap") and `order` mean what SciPy says.
"""

from __future__ import annotations

import numpy as np

from lamina.preprocessing._image_files import _pil, array_to_img, img_to_array

__all__ = [
    "apply_affine_transform",
    "apply_brightness_shift",
    "apply_channel_shift",
    "flip_axis",
    "random_brightness",
    "random_channel_shift",
    "random_rotation",
    "random_shear",
    "random_shift",
    "random_zoom",
    "transform_matrix_offset_center",
]


def _ndimage():
    try:
        from scipy import ndimage
    except ImportError as error:
        raise ImportError(
            "Image transformations (rotation, shift, shear, zoom) need SciPy: `pip install scipy` "
            "(or `pip install lamina[image]`)."
        ) from error
    return ndimage


def flip_axis(x: np.ndarray, axis: int) -> np.ndarray:
    """`x` reversed along `axis`.

    Example:
        >>> flip_axis(np.arange(3), 0)
        array([2, 1, 0])
    """
    return np.flip(np.asarray(x), axis)


def transform_matrix_offset_center(matrix: np.ndarray, x: float, y: float) -> np.ndarray:
    """`matrix` moved so that it turns about the centre of an `x` by `y` image instead of its corner.

    Example:
        >>> transform_matrix_offset_center(np.eye(3), 4, 4)[:2, 2]
        array([0., 0.])
    """
    o_x, o_y = float(x) / 2 - 0.5, float(y) / 2 - 0.5
    to_center = np.array([[1, 0, o_x], [0, 1, o_y], [0, 0, 1]])
    from_center = np.array([[1, 0, -o_x], [0, 1, -o_y], [0, 0, 1]])
    return to_center @ matrix @ from_center


def _affine_matrix(theta: float, tx: float, ty: float, shear: float, zx: float, zy: float):
    """The product rotation @ shift @ shear @ zoom over the parts that do something (None: identity)."""
    parts = []
    if theta != 0:
        angle = np.deg2rad(theta)
        parts.append(np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]]))
    if tx != 0 or ty != 0:
        parts.append(np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]]))
    if shear != 0:
        angle = np.deg2rad(shear)
        parts.append(np.array([[1, -np.sin(angle), 0], [0, np.cos(angle), 0], [0, 0, 1]]))
    if zx != 1 or zy != 1:
        parts.append(np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]]))
    if not parts:
        return None
    matrix = parts[0]
    for part in parts[1:]:
        matrix = matrix @ part
    return matrix


def apply_affine_transform(
    x,
    theta: float = 0,
    tx: float = 0,
    ty: float = 0,
    shear: float = 0,
    zx: float = 1,
    zy: float = 1,
    row_axis: int = 1,
    col_axis: int = 2,
    channel_axis: int = 0,
    fill_mode: str = "nearest",
    cval: float = 0.0,
    order: int = 1,
) -> np.ndarray:
    """Rotates (degrees), shifts (pixels: `tx` along rows, `ty` along columns), shears (degrees) and zooms one image.

    The output pixel at `p` takes the input at `M @ p` (M built about the image centre), so a
    positive `tx` moves the content up and a zoom above 1 shrinks it, as in Keras 2.

    Example:
        >>> x = np.random.rand(1, 8, 8)  # channels first
        >>> apply_affine_transform(x, theta=90).shape
        (1, 8, 8)
    """
    if len({row_axis, col_axis, channel_axis}) != 3 or {row_axis, col_axis, channel_axis} != {0, 1, 2}:
        raise ValueError(
            f"apply_affine_transform: row_axis, col_axis and channel_axis must be 0, 1 and 2 in some order, "
            f"got {row_axis}, {col_axis}, {channel_axis}."
        )
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"apply_affine_transform: expected one image of rank 3, got shape {x.shape}.")
    if channel_axis not in (0, 2):
        raise ValueError(f"apply_affine_transform: channel_axis must be 0 or 2, got {channel_axis}.")
    matrix = _affine_matrix(theta, tx, ty, shear, zx, zy)
    if matrix is None:
        return x
    ndimage = _ndimage()
    matrix = transform_matrix_offset_center(matrix, x.shape[row_axis], x.shape[col_axis])
    channels = np.moveaxis(x, channel_axis, 0)
    if col_axis > row_axis:
        # The matrix speaks (row, col) of the un-moved image; swap its axes when the channel move swapped them.
        matrix[:, [0, 1]] = matrix[:, [1, 0]]
        matrix[[0, 1]] = matrix[[1, 0]]
    warped = [
        ndimage.affine_transform(channel, matrix[:2, :2], matrix[:2, 2], order=order, mode=fill_mode, cval=cval)
        for channel in channels
    ]
    return np.moveaxis(np.stack(warped, axis=0), 0, channel_axis)


def apply_channel_shift(x, intensity: float, channel_axis: int = 0) -> np.ndarray:
    """Adds `intensity` to every channel, clipped to the image's own min and max.

    Example:
        >>> apply_channel_shift(np.array([[[0.0, 1.0]]]), 0.5, channel_axis=2)
        array([[[0.5, 1. ]]])
    """
    x = np.asarray(x)
    return np.clip(x + intensity, np.min(x), np.max(x))


def apply_brightness_shift(x, brightness: float, scale: bool = True) -> np.ndarray:
    """Scales the brightness by `brightness` (PIL's `ImageEnhance.Brightness`); 1 keeps the image.

    The image goes through an 8-bit PIL image, as in Keras 2. With `scale=False` and values
    outside 0..255 the result is mapped back to the input's range.

    Example:
        >>> apply_brightness_shift(np.full((2, 2, 3), 100.0), 0.5)[0, 0]
        array([50., 50., 50.], dtype=float32)
    """
    from PIL import ImageEnhance  # after _pil() in array_to_img has said how to install Pillow

    x = np.asarray(x)
    x_min, x_max = np.min(x), np.max(x)
    outside = bool((x_min < 0) or (x_max > 255))
    img = array_to_img(x, scale=outside or scale)
    result = img_to_array(ImageEnhance.Brightness(img).enhance(brightness))
    if not scale and outside:
        result = result / 255 * (x_max - x_min) + x_min
    return result


def random_brightness(x, brightness_range, scale: bool = True) -> np.ndarray:
    """`apply_brightness_shift` with a factor drawn uniformly from `brightness_range` (NumPy's global RNG)."""
    if len(brightness_range) != 2:
        raise ValueError(f"brightness_range should be a tuple or list of two floats, got {brightness_range!r}.")
    _pil()
    return apply_brightness_shift(x, np.random.uniform(brightness_range[0], brightness_range[1]), scale)


def random_channel_shift(x, intensity_range: float, channel_axis: int = 0) -> np.ndarray:
    """`apply_channel_shift` with an intensity drawn uniformly from `[-intensity_range, intensity_range]`."""
    return apply_channel_shift(x, np.random.uniform(-intensity_range, intensity_range), channel_axis)


def random_rotation(
    x, rg, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0, interpolation_order=1
):
    """Rotates by an angle drawn uniformly from `[-rg, rg]` degrees.

    Example:
        >>> random_rotation(np.random.rand(1, 8, 8), 30).shape
        (1, 8, 8)
    """
    theta = np.random.uniform(-rg, rg)
    axes = {"row_axis": row_axis, "col_axis": col_axis, "channel_axis": channel_axis}
    return apply_affine_transform(x, theta=theta, **axes, fill_mode=fill_mode, cval=cval, order=interpolation_order)


def random_shift(
    x, wrg, hrg, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0, interpolation_order=1
):
    """Shifts by fractions drawn uniformly from `[-hrg, hrg]` of the height and `[-wrg, wrg]` of the width."""
    x = np.asarray(x)
    tx = np.random.uniform(-hrg, hrg) * x.shape[row_axis]
    ty = np.random.uniform(-wrg, wrg) * x.shape[col_axis]
    axes = {"row_axis": row_axis, "col_axis": col_axis, "channel_axis": channel_axis}
    return apply_affine_transform(x, tx=tx, ty=ty, **axes, fill_mode=fill_mode, cval=cval, order=interpolation_order)


def random_shear(
    x, intensity, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0, interpolation_order=1
):
    """Shears by an angle drawn uniformly from `[-intensity, intensity]` degrees."""
    shear = np.random.uniform(-intensity, intensity)
    axes = {"row_axis": row_axis, "col_axis": col_axis, "channel_axis": channel_axis}
    return apply_affine_transform(x, shear=shear, **axes, fill_mode=fill_mode, cval=cval, order=interpolation_order)


def random_zoom(
    x, zoom_range, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0, interpolation_order=1
):
    """Zooms by factors `zx`, `zy` drawn uniformly from `zoom_range` (a pair of floats)."""
    if len(zoom_range) != 2:
        raise ValueError(f"zoom_range should be a tuple or list of two floats, got {zoom_range!r}.")
    zx, zy = (1, 1) if zoom_range[0] == 1 and zoom_range[1] == 1 else np.random.uniform(*zoom_range, 2)
    axes = {"row_axis": row_axis, "col_axis": col_axis, "channel_axis": channel_axis}
    return apply_affine_transform(x, zx=zx, zy=zy, **axes, fill_mode=fill_mode, cval=cval, order=interpolation_order)
