"""The Keras configuration file and the process-wide settings it holds.

The FAQ's `$HOME/.keras/keras.json` has four fields: `image_data_format`,
`epsilon`, `floatx` and `backend`. The file is shared with every other Keras on
the machine (tf-keras, Keras 3), so lamina reads it without disturbing them:

- When the file is missing, lamina creates it with exactly what Keras itself
  writes (`"backend": "tensorflow"`, mode 0644), so a Keras installed later
  sees its own defaults.
- `/tmp/.keras` is used when the home folder is not writable, and `KERAS_HOME`
  moves the folder anywhere, as in Keras.
- lamina's engine comes from the first of these that names one lamina has
  (`jax` or `torch`): the `LAMINA_BACKEND` variable, a `"lamina_backend"` key in
  keras.json, the `KERAS_BACKEND` variable, the file's `"backend"` field. A
  `backend` lamina cannot run (`tensorflow`, `theano`, `cntk`, ...) is left to the
  Keras that wrote it and quietly means lamina's default, JAX.

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
DEFAULT_ENGINE = "jax"
# Backends other Keras versions run; in keras.json they belong to that Keras and mean nothing to lamina.
_OTHER_KERAS_BACKENDS = ("tensorflow", "theano", "cntk", "numpy", "openvino", "mlx")
_DATA_FORMATS = ("channels_last", "channels_first")
_FLOATX = ("float16", "bfloat16", "float32", "float64")

# What Keras 2 and Keras 3 write into a new keras.json, in their key order.
_KERAS_FILE_DEFAULTS = {
    "floatx": "float32",
    "epsilon": 1e-07,
    "backend": "tensorflow",
    "image_data_format": "channels_last",
}

_settings: dict = {}


def keras_home() -> str:
    """The folder that holds keras.json and cached downloads.

    `KERAS_HOME` if set; else `~/.keras` when it can be created and written;
    else `/tmp/.keras` as the FAQ says.

    Example:
        >>> keras_home()  # doctest: +SKIP
        '/home/me/.keras'
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


def _create_file(path: str, text: str) -> None:
    """Writes `text` to a new file at `path`, whole or not at all, never over an existing file.

    The temporary file is opened with mode 0666 so the umask gives the usual 0644, as Keras's
    plain `open(path, "w")` does; it is then hard-linked into place, which fails rather than
    replacing a keras.json another process (Keras itself, a second lamina) wrote meanwhile.
    """
    folder = os.path.dirname(path)
    tmp = os.path.join(folder, f".keras.json.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links
            if not os.path.exists(path):
                os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _read_file(path: str) -> dict:
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (OSError, ValueError) as err:
        warnings.warn(f"Could not read the Keras config file {path}: {err}. Using defaults.", stacklevel=4)
        return {}
    if not isinstance(data, dict):
        warnings.warn(f"The Keras config file {path} does not hold a JSON object. Using defaults.", stacklevel=4)
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
            _create_file(path, json.dumps(_KERAS_FILE_DEFAULTS, indent=4))
        except OSError:
            pass  # A read-only home and /tmp: run on the defaults without a file.
    engine, source = _choose_engine(data, path)
    settings = {"backend": engine, "backend_source": source}
    settings["floatx"] = _checked_field(data, path, "floatx", _FLOATX, "float32")
    settings["image_data_format"] = _checked_field(data, path, "image_data_format", _DATA_FORMATS, "channels_last")
    settings["epsilon"] = _checked_epsilon(data.get("epsilon", 1e-07), path)
    _settings.clear()
    _settings.update(settings)


def _choose_engine(data: dict, path: str) -> tuple[str, str]:
    """The engine and what chose it.

    lamina's own settings come first (variable, then file), then the ones every Keras shares (variable, then file).
    """
    lamina_sources = (
        (os.environ.get("LAMINA_BACKEND"), "LAMINA_BACKEND"),
        (data.get("lamina_backend"), f'the "lamina_backend" field of {path}'),
    )
    for value, source in lamina_sources:
        if value is None or value == "":
            continue
        if isinstance(value, str) and value.lower() in ENGINES:
            return value.lower(), f"{source}={value}" if source.isupper() else source
        warnings.warn(
            f"{source} is {value!r}, not an engine lamina has; lamina runs on one of {ENGINES}. "
            f"Falling back to {DEFAULT_ENGINE!r}.",
            stacklevel=4,
        )
        return DEFAULT_ENGINE, "lamina's default"
    shared_sources = (
        (os.environ.get("KERAS_BACKEND"), "KERAS_BACKEND"),
        (data.get("backend"), f'the "backend" field of {path}'),
    )
    for value, source in shared_sources:
        if isinstance(value, str) and value.lower() in ENGINES:
            return value.lower(), f"{source}={value}" if source.isupper() else source
        if value is not None and not (isinstance(value, str) and value.lower() in _OTHER_KERAS_BACKENDS + ("",)):
            warnings.warn(
                f"{source} is {value!r}, which no Keras runs; lamina runs on {DEFAULT_ENGINE!r} "
                f'(choose with LAMINA_BACKEND or a "lamina_backend" field in keras.json).',
                stacklevel=4,
            )
    return DEFAULT_ENGINE, "lamina's default"


def _checked_field(data: dict, path: str, field: str, allowed: tuple, default: str) -> str:
    value = data.get(field, default)
    if value in allowed:
        return value
    warnings.warn(f'The "{field}" field of {path} is {value!r}, not one of {allowed}; using {default!r}.', stacklevel=4)
    return default


def _checked_epsilon(value, path: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= value < math.inf:
        return float(value)
    warnings.warn(f'The "epsilon" field of {path} is {value!r}, not a finite number >= 0; using 1e-07.', stacklevel=4)
    return 1e-07


def backend() -> str:
    """The name of the engine in use: 'jax' or 'torch'."""
    return _settings["backend"]


def backend_source() -> str:
    """What chose the engine: `LAMINA_BACKEND=torch`, a keras.json field, or "lamina's default".

    Example:
        >>> backend_source()  # doctest: +SKIP
        "lamina's default"
    """
    return _settings["backend_source"]


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
