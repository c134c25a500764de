"""keras.json and the process-wide settings (the FAQ's "Where is the Keras configuration file stored?").

Import-time behaviour is checked in a fresh interpreter per case, with HOME, KERAS_HOME
and TMPDIR pointing into the test's own folder so nothing outside it is touched.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

import lamina
from lamina import config

DEFAULTS = {"image_data_format": "channels_last", "epsilon": 1e-07, "floatx": "float32", "backend": "jax"}


def run_python(code: str, tmp_path, home=None, **env_vars):
    """Runs `code` in a fresh interpreter with HOME (default tmp_path/home) and the given variables."""
    env = {key: value for key, value in os.environ.items() if key not in ("KERAS_HOME", "LAMINA_BACKEND")}
    env["HOME"] = str(home if home is not None else tmp_path / "home")
    env["TMPDIR"] = str(tmp_path / "tmp")
    env.update({key: str(value) for key, value in env_vars.items()})
    os.makedirs(env["TMPDIR"], exist_ok=True)
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


REPORT = """
import json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import lamina
print(json.dumps({
    "home": lamina.config.keras_home(),
    "backend": lamina.backend.backend(),
    "floatx": lamina.backend.floatx(),
    "epsilon": lamina.backend.epsilon(),
    "image_data_format": lamina.backend.image_data_format(),
    "engine": lamina.backend.engine.__name__,
    "warnings": [str(w.message) for w in caught],
}))
"""


def report(tmp_path, home=None, **env_vars) -> dict:
    return json.loads(run_python(REPORT, tmp_path, home=home, **env_vars).stdout.strip().splitlines()[-1])


def write_config(folder, **fields):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "keras.json")
    with open(path, "w") as handle:
        json.dump(fields, handle)
    return path


# ---------------------------------------------------------------- the file itself
def test_first_import_creates_keras_json_with_the_four_fields(tmp_path):
    (tmp_path / "home").mkdir()
    info = report(tmp_path)
    path = tmp_path / "home" / ".keras" / "keras.json"
    assert info["home"] == str(tmp_path / "home" / ".keras")
    assert json.loads(path.read_text()) == DEFAULTS
    assert info["backend"] == "jax" and info["engine"] == "lamina.backend.jax"
    assert info["floatx"] == "float32" and info["epsilon"] == 1e-07
    assert info["image_data_format"] == "channels_last"
    assert info["warnings"] == []
    assert not [name for name in os.listdir(path.parent) if name != "keras.json"]  # no temporary file left


def test_an_existing_keras_json_is_read_and_left_alone(tmp_path):
    path = write_config(
        tmp_path / "home" / ".keras",
        image_data_format="channels_first",
        epsilon=1e-05,
        floatx="float16",
        backend="jax",
    )
    before = open(path).read()
    info = report(tmp_path)
    assert info["image_data_format"] == "channels_first"
    assert info["epsilon"] == 1e-05
    assert info["floatx"] == "float16"
    assert open(path).read() == before


def test_keras_home_moves_the_file(tmp_path):
    (tmp_path / "home").mkdir()
    elsewhere = tmp_path / "elsewhere"
    info = report(tmp_path, KERAS_HOME=elsewhere)
    assert info["home"] == str(elsewhere)
    assert json.loads((elsewhere / "keras.json").read_text()) == DEFAULTS
    assert not (tmp_path / "home" / ".keras").exists()


def test_an_unusable_home_falls_back_to_the_temporary_folder(tmp_path):
    # Tests may run as root, where chmod does not stop writes: a HOME that is a plain file
    # means $HOME/.keras can never be created.
    home_file = tmp_path / "not_a_folder"
    home_file.write_text("")
    info = report(tmp_path, home=home_file)
    fallback = tmp_path / "tmp" / ".keras"  # tempfile.gettempdir()/.keras, i.e. /tmp/.keras by default
    assert info["home"] == str(fallback)
    assert json.loads((fallback / "keras.json").read_text()) == DEFAULTS
    assert info["backend"] == "jax" and info["warnings"] == []


def test_the_fallback_is_slash_tmp_by_default(tmp_path):
    home_file = tmp_path / "not_a_folder"
    home_file.write_text("")
    # Import with KERAS_HOME (so nothing is written to /tmp), then ask where the file would go without it.
    code = "import os, lamina; del os.environ['KERAS_HOME']; os.environ.pop('TMPDIR'); "
    code += "import tempfile; tempfile.tempdir = None; print(lamina.config.keras_home())"
    out = run_python(code, tmp_path, home=home_file, KERAS_HOME=tmp_path / "kh").stdout.strip()
    assert out == "/tmp/.keras"


def test_a_read_only_home_folder_falls_back(tmp_path):
    home = tmp_path / "home"
    (home / ".keras").mkdir(parents=True)
    os.chmod(home / ".keras", 0o500)
    try:
        if os.access(home / ".keras", os.W_OK):  # root ignores the mode; the file-HOME test covers root
            info = report(tmp_path)
            assert info["home"] == str(home / ".keras")
        else:
            info = report(tmp_path)
            assert info["home"] == str(tmp_path / "tmp" / ".keras")
    finally:
        os.chmod(home / ".keras", 0o700)
    assert info["backend"] == "jax"


# ------------------------------------------------------------------- the engine
def test_lamina_backend_overrides_keras_json(tmp_path):
    write_config(tmp_path / "home" / ".keras", backend="torch", floatx="float32")
    info = report(tmp_path, LAMINA_BACKEND="jax")
    assert info["backend"] == "jax" and info["engine"] == "lamina.backend.jax"
    assert info["warnings"] == []


def test_lamina_backend_is_case_insensitive(tmp_path):
    (tmp_path / "home").mkdir()
    assert report(tmp_path, LAMINA_BACKEND="JAX")["backend"] == "jax"


def test_keras_json_backend_tensorflow_warns_once_and_runs_on_jax(tmp_path):
    path = write_config(tmp_path / "home" / ".keras", **{**DEFAULTS, "backend": "tensorflow"})
    info = report(tmp_path)
    assert info["backend"] == "jax" and info["engine"] == "lamina.backend.jax"
    assert len(info["warnings"]) == 1
    assert "'tensorflow'" in info["warnings"][0] and "Falling back to 'jax'" in info["warnings"][0]
    assert json.loads(open(path).read())["backend"] == "tensorflow"  # the user's file is not rewritten
    # Printed with Python's default warning filters: exactly once on stderr.
    stderr = run_python("import lamina; import lamina.backend; print(lamina.backend.backend())", tmp_path).stderr
    assert stderr.count("Falling back to 'jax'") == 1


def test_an_unknown_lamina_backend_warns_and_runs_on_jax(tmp_path):
    (tmp_path / "home").mkdir()
    info = report(tmp_path, LAMINA_BACKEND="theano")
    assert info["backend"] == "jax"
    assert len(info["warnings"]) == 1 and "'theano'" in info["warnings"][0]


def test_bad_values_in_keras_json_warn_and_use_defaults(tmp_path):
    write_config(tmp_path / "home" / ".keras", floatx="float8", image_data_format="channels_middle", backend="jax")
    info = report(tmp_path)
    assert info["floatx"] == "float32" and info["image_data_format"] == "channels_last"
    assert len(info["warnings"]) == 2
    assert any("floatx 'float8'" in w for w in info["warnings"])
    assert any("image_data_format 'channels_middle'" in w for w in info["warnings"])


def test_a_bad_epsilon_in_keras_json_warns_and_uses_the_default(tmp_path):
    write_config(tmp_path / "home" / ".keras", epsilon="tiny", backend="jax")
    info = report(tmp_path)
    assert info["epsilon"] == 1e-07
    assert len(info["warnings"]) == 1 and "epsilon 'tiny'" in info["warnings"][0]


def test_a_corrupt_keras_json_warns_and_uses_defaults(tmp_path):
    folder = tmp_path / "home" / ".keras"
    folder.mkdir(parents=True)
    (folder / "keras.json").write_text("{not json")
    info = report(tmp_path)
    assert info["backend"] == "jax" and info["floatx"] == "float32"
    assert len(info["warnings"]) == 1 and "keras.json" in info["warnings"][0]
    assert (folder / "keras.json").read_text() == "{not json"


# -------------------------------------------------------- settings in the process
@pytest.fixture
def restore_settings():
    saved = (config.floatx(), config.epsilon(), config.image_data_format())
    yield
    config.set_floatx(saved[0])
    config.set_epsilon(saved[1])
    config.set_image_data_format(saved[2])


def test_floatx_get_and_set(restore_settings):
    K = lamina.backend
    assert K.floatx() == "float32"
    K.set_floatx("float16")
    assert K.floatx() == "float16" and config.floatx() == "float16"
    K.set_floatx("bfloat16")
    assert K.floatx() == "bfloat16"
    for bad in ("int32", "float128", "double", None):
        with pytest.raises(ValueError, match=rf"set_floatx expects one of .*, got {bad!r}"):
            K.set_floatx(bad)
    assert K.floatx() == "bfloat16"


def test_floatx_is_the_default_dtype_of_new_layers(restore_settings):
    lamina.backend.set_floatx("float16")
    layer = lamina.layers.Dense(2)
    layer.build((None, 3))
    assert layer.dtype == "float16" and layer.kernel.dtype == "float16"


def test_epsilon_get_and_set(restore_settings):
    K = lamina.backend
    assert K.epsilon() == 1e-07
    K.set_epsilon(1e-5)
    assert K.epsilon() == 1e-5 and isinstance(K.epsilon(), float)
    K.set_epsilon(1)
    assert K.epsilon() == 1.0 and isinstance(K.epsilon(), float)
    for bad in ("small", None, True, [1e-7]):
        with pytest.raises(TypeError, match=r"set_epsilon expects a number, got"):
            K.set_epsilon(bad)
    for bad in (-1e-7, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"set_epsilon expects a finite number >= 0, got"):
            K.set_epsilon(bad)
    assert K.epsilon() == 1.0


def test_epsilon_is_used_by_losses(restore_settings):
    y_true = [[1.0]]
    y_pred = [[0.0]]
    default = float(lamina.losses.binary_crossentropy(y_true, y_pred)[0])
    assert default == pytest.approx(-math.log(1e-7), rel=1e-3)
    lamina.backend.set_epsilon(1e-3)
    assert float(lamina.losses.binary_crossentropy(y_true, y_pred)[0]) == pytest.approx(-math.log(1e-3), rel=1e-3)


def test_image_data_format_get_and_set(restore_settings):
    K = lamina.backend
    assert K.image_data_format() == "channels_last"
    K.set_image_data_format("channels_first")
    assert K.image_data_format() == "channels_first"
    K.set_image_data_format("CHANNELS_LAST")
    assert K.image_data_format() == "channels_last"
    with pytest.raises(ValueError, match=r"set_image_data_format expects one of .*got 'channels_middle'"):
        K.set_image_data_format("channels_middle")
    assert K.image_data_format() == "channels_last"


def test_backend_names_the_engine():
    assert lamina.backend.backend() == config.backend() == os.environ.get("LAMINA_BACKEND", "jax")
