"""Keras 2 compatibility: Keras 2.3.1 and tf.keras 2.x module paths, and the `keras` alias.

`install()` makes `import keras`, `from keras.layers.core import Dense`, `from tensorflow import keras` and
`tensorflow.keras.*` give lamina's objects in this interpreter; `lamina run script.py` does it for a whole
script. The Keras 2 paths and their names are one table, `KERAS2_MODULES`.

Example:
    >>> import lamina.compat
    >>> lamina.compat.install()
    >>> from keras.optimizers import SGD
    >>> optimizer = SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True)
"""

from lamina.compat.alias import install as install
from lamina.compat.alias import is_installed as is_installed
from lamina.compat.alias import resolved_names as resolved_names
from lamina.compat.alias import uninstall as uninstall
from lamina.compat.keras2_paths import KERAS2_MODULES as KERAS2_MODULES


def missing_names() -> dict[str, list[str]]:
    """The Keras 2 names, per module path, that lamina does not have yet.

    Example:
        >>> missing_names().get("layers.cudnn_recurrent", [])  # CuDNNLSTM/CuDNNGRU exist now
        []
    """
    missing = {path: resolved_names(path)[1] for path in KERAS2_MODULES}
    return {path: names for path, names in missing.items() if names}
