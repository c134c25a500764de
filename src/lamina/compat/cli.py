"""The `lamina` command: `lamina run script.py [args]` runs a Keras 2 script unchanged on lamina.

The script runs as `python script.py [args]` would run it (as `__main__`, with its own `sys.argv` and its folder
first on `sys.path`), except that `keras` and `tensorflow.keras` resolve to lamina (`lamina.compat.install`).
Its exit status is the command's.

Example:
    $ lamina run mnist_mlp.py --epochs 2
    $ python -m lamina run mnist_mlp.py --epochs 2
"""

from __future__ import annotations

import os
import runpy
import sys

USAGE = """usage: lamina run SCRIPT [ARGS ...]

Runs a Keras 2 (or tf.keras 2.x) script unchanged, with `import keras`, `from keras.x import y`,
`from tensorflow import keras` and `tensorflow.keras.*` resolving to lamina. The engine is LAMINA_BACKEND
(or keras.json): jax (the default) or torch. `tensorflow` itself provides only `keras` in such a run.
"""


def run_script(script: str, args: list[str]) -> None:
    """Runs `script` as `__main__` with `sys.argv = [script, *args]` and keras aliased to lamina.

    Args:
        script: the path of a Python file.
        args: the script's own arguments.

    Raises:
        FileNotFoundError: if `script` is not a file.
    """
    if not os.path.isfile(script):
        raise FileNotFoundError(f"lamina run: no such script: {script!r}")
    from lamina.compat.alias import install

    install()
    # `python script.py` puts the script's folder first on sys.path, where this command put its own entry
    # (the working folder for `python -m lamina`, the command's folder for `lamina`).
    own_entries = ("", os.getcwd(), os.path.dirname(os.path.realpath(sys.argv[0])))
    folder = os.path.dirname(os.path.realpath(script))
    if sys.path and sys.path[0] in own_entries:
        sys.path[0] = folder
    else:
        sys.path.insert(0, folder)
    sys.argv = [script, *args]
    runpy.run_path(script, run_name="__main__")


def main(argv: list[str] | None = None) -> int:
    """The `lamina` console command and `python -m lamina`.

    Args:
        argv: the arguments after the command name (default `sys.argv[1:]`).

    Returns:
        The exit status: 0, or 2 for a usage error. A script's own `sys.exit(code)` passes through.

    Example:
        >>> main(["run", "train.py", "--epochs", "3"])  # doctest: +SKIP
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE, file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    if argv[0] != "run" or len(argv) < 2:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        run_script(argv[1], argv[2:])
    except FileNotFoundError as error:
        if error.filename is None and str(error).startswith("lamina run:"):
            print(error, file=sys.stderr)
            return 2
        raise
    return 0
