"""The Keras configuration file and the process-wide settings it holds.

The FAQ's `$HOME/.keras/keras.json` has four fields: `image_data_format`,
`epsilon`, `floatx` and `backend`. It is created with lamina's defaults the
first time lamina is imported; `/tmp/.keras` is used when the home folder is
not writable, and `KERAS_HOME` moves it anywhere. `LAMINA_BACKEND` overrides
the file's engine for one process.

Example:
    >>> from lamina import config
    >>> config.floatx()
    'float32'
"""

from __future__ import annotations

import json
import math
import numbers
import os
import tempfile
import warnings

ENGINES = ("jax", "torch")
_DATA_FORMATS = ("channels_last", "channels_first")
_FLOATX = ("float16", "bfloat16", "float32", "float64")

_DEFAULTS = {
    "image_data_format": "channels_last",
    "epsilon": 1e-07,
    "floatx": "float32",
    "backend": "jax",
}

_settings: dict = {}


def keras_home() -> str:
    """The folder that holds keras.json and cached downloads.

    `KERAS_HOME` if set; else `~/.keras` when it can be created and written;
    else `/tmp/.keras` as the FAQ says.
    """
    if os.environ.get("KERAS_HOME"):
        return os.path.expanduser(os.environ["KERAS_HOME"])
    home = os.path.join(os.path.expanduser("~"), ".keras")
    try:
        os.makedirs(home, exist_ok=True)
    except OSError:
        return os.path.join(tempfile.gettempdir(), ".keras")
    if not os.access(home, os.W_OK):
        return os.path.join(tempfile.gettempdir(), ".keras")
    return home


def _write_atomically(path: str, text: str) -> None:
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".keras.json.", dir=folder)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _read_file(path: str) -> dict:
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (OSError, ValueError) as err:
        warnings.warn(f"Could not read the Keras config file {path}: {err}. Using defaults.", stacklevel=3)
        return {}
    if not isinstance(data, dict):
        warnings.warn(f"The Keras config file {path} does not hold a JSON object. Using defaults.", stacklevel=3)
        return {}
    return data


def _load() -> None:
    home = keras_home()
    path = os.path.join(home, "keras.json")
    data: dict = {}
    if os.path.exists(path):
        data = _read_file(path)
    else:
        try:
            os.makedirs(home, exist_ok=True)
            _write_atomically(path, json.dumps(_DEFAULTS, indent=4) + "\n")
        except OSError:
            pass  # A read-only home and /tmp: run on the defaults without a file.
    settings = dict(_DEFAULTS)
    for key in _DEFAULTS:
        if key in data:
            settings[key] = data[key]
    if os.environ.get("LAMINA_BACKEND"):
        settings["backend"] = os.environ["LAMINA_BACKEND"]
    settings["backend"] = _checked_engine(settings["backend"])
    if settings["floatx"] not in _FLOATX:
        warnings.warn(
            f"keras.json floatx {settings['floatx']!r} is not one of {_FLOATX}; using 'float32'.", stacklevel=3
        )
        settings["floatx"] = "float32"
    if settings["image_data_format"] not in _DATA_FORMATS:
        warnings.warn(
            f"keras.json image_data_format {settings['image_data_format']!r} is not one of {_DATA_FORMATS}; "
            "using 'channels_last'.",
            stacklevel=3,
        )
        settings["image_data_format"] = "channels_last"
    settings["epsilon"] = _checked_epsilon(settings["epsilon"])
    _settings.clear()
    _settings.update(settings)


def _checked_epsilon(value) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= value < math.inf:
        return float(value)
    warnings.warn(f"keras.json epsilon {value!r} is not a finite number >= 0; using 1e-07.", stacklevel=4)
    return 1e-07


def _checked_engine(name) -> str:
    if isinstance(name, str) and name.lower() in ENGINES:
        return name.lower()
    warnings.warn(
        f"Backend {name!r} (from LAMINA_BACKEND or keras.json) is not an engine lamina has; "
        f"lamina runs on one of {ENGINES}. Falling back to 'jax'.",
        stacklevel=4,
    )
    return "jax"


def backend() -> str:
    """The name of the engine in use: 'jax' or 'torch'."""
    return _settings["backend"]


def floatx() -> str:
    """The default float type as a string, e.g. 'float32'."""
    return _settings["floatx"]


def set_floatx(value: str) -> None:
    """Sets the default float type.

    Example:
        >>> set_floatx("float64")
    """
    if value not in _FLOATX:
        raise ValueError(f"set_floatx expects one of {_FLOATX}, got {value!r}.")
    _settings["floatx"] = str(value)


def epsilon() -> float:
    """The fuzz factor used to avoid division by zero (default 1e-7)."""
    return _settings["epsilon"]


def set_epsilon(value: float) -> None:
    """Sets the fuzz factor used in numeric expressions.

    Example:
        >>> set_epsilon(1e-5)
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"set_epsilon expects a number, got {type(value).__name__}: {value!r}.")
    if not value >= 0.0 or math.isinf(value):
        raise ValueError(f"set_epsilon expects a finite number >= 0, got {value!r}.")
    _settings["epsilon"] = float(value)


def image_data_format() -> str:
    """'channels_last' or 'channels_first'."""
    return _settings["image_data_format"]


def set_image_data_format(value: str) -> None:
    """Sets the default image data format.

    Example:
        >>> set_image_data_format("channels_first")
    """
    value = str(value).lower()
    if value not in _DATA_FORMATS:
        raise ValueError(f"set_image_data_format expects one of {_DATA_FORMATS}, got {value!r}.")
    _settings["image_data_format"] = value


def standardize_data_format(data_format) -> str:
    """`data_format` or the configured default, checked."""
    if data_format is None:
        return image_data_format()
    value = str(data_format).lower()
    if value not in _DATA_FORMATS:
        raise ValueError(f"data_format must be one of {_DATA_FORMATS}, got {data_format!r}.")
    return value


_load()
