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

# What Keras 2 and Keras 3 write into a new keras.json; lamina writes the same bytes.
KERAS_WRITES = {"floatx": "float32", "epsilon": 1e-07, "backend": "tensorflow", "image_data_format": "channels_last"}


def run_python(code: str, tmp_path, home=None, **env_vars):
    """Runs `code` in a fresh interpreter with HOME (default tmp_path/home) and the given variables."""
    env = {
        key: value for key, value in os.environ.items() if key not in ("KERAS_HOME", "LAMINA_BACKEND", "KERAS_BACKEND")
    }
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
@pytest.mark.engine_neutral
def test_first_import_creates_keras_json_with_the_four_fields(tmp_path):
    (tmp_path / "home").mkdir()
    info = report(tmp_path)
    path = tmp_path / "home" / ".keras" / "keras.json"
    assert info["home"] == str(tmp_path / "home" / ".keras")
    assert path.read_text() == json.dumps(KERAS_WRITES, indent=4)  # byte for byte what Keras writes
    umask = int(run_python("import os; print(os.umask(0))", tmp_path).stdout)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # 0644 under the usual umask, as Keras's open()
    assert info["backend"] == "jax" and info["engine"] == "lamina.backend.jax"
    assert info["floatx"] == "float32" and info["epsilon"] == 1e-07
    assert info["image_data_format"] == "channels_last"
    assert info["warnings"] == []
    assert not [name for name in os.listdir(path.parent) if name != "keras.json"]  # no temporary file left


@pytest.mark.engine_neutral
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


@pytest.mark.engine_neutral
def test_keras_home_moves_the_file(tmp_path):
    (tmp_path / "home").mkdir()
    elsewhere = tmp_path / "elsewhere"
    info = report(tmp_path, KERAS_HOME=elsewhere)
    assert info["home"] == str(elsewhere)
    assert json.loads((elsewhere / "keras.json").read_text()) == KERAS_WRITES
    assert not (tmp_path / "home" / ".keras").exists()


@pytest.mark.engine_neutral
def test_an_unusable_home_falls_back_to_the_temporary_folder(tmp_path):
    # Tests may run as root, where chmod does not stop writes: a HOME that is a plain file
    # means $HOME/.keras can never be created.
    home_file = tmp_path / "not_a_folder"
    home_file.write_text("")
    info = report(tmp_path, home=home_file)
    fallback = tmp_path / "tmp" / ".keras"  # tempfile.gettempdir()/.keras, i.e. /tmp/.keras by default
    assert info["home"] == str(fallback)
    assert json.loads((fallback / "keras.json").read_text()) == KERAS_WRITES
    assert info["backend"] == "jax" and info["warnings"] == []


@pytest.mark.engine_neutral
def test_the_fallback_is_slash_tmp_by_default(tmp_path):
    home_file = tmp_path / "not_a_folder"
    home_file.write_text("")
    # Import with KERAS_HOME (so nothing is written to /tmp), then ask where the file would go without it.
    code = "import os, lamina; del os.environ['KERAS_HOME']; os.environ.pop('TMPDIR'); "
    code += "import tempfile; tempfile.tempdir = None; print(lamina.config.keras_home())"
    out = run_python(code, tmp_path, home=home_file, KERAS_HOME=tmp_path / "kh").stdout.strip()
    assert out == "/tmp/.keras"


@pytest.mark.engine_neutral
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
@pytest.mark.engine_neutral
def test_lamina_backend_overrides_keras_json(tmp_path):
    write_config(tmp_path / "home" / ".keras", backend="torch", floatx="float32")
    info = report(tmp_path, LAMINA_BACKEND="jax")
    assert info["backend"] == "jax" and info["engine"] == "lamina.backend.jax"
    assert info["warnings"] == []


@pytest.mark.engine_neutral
def test_lamina_backend_is_case_insensitive(tmp_path):
    (tmp_path / "home").mkdir()
    assert report(tmp_path, LAMINA_BACKEND="JAX")["backend"] == "jax"


@pytest.mark.engine_neutral
def test_keras_json_backend_tensorflow_quietly_means_jax(tmp_path):
    path = write_config(tmp_path / "home" / ".keras", **{**KERAS_WRITES, "backend": "tensorflow"})
    before = open(path, "rb").read()
    info = report(tmp_path)
    assert info["backend"] == "jax" and info["engine"] == "lamina.backend.jax"
    assert info["warnings"] == []
    assert open(path, "rb").read() == before  # the user's file is not rewritten
    stderr = run_python("import lamina; print(lamina.backend.backend())", tmp_path).stderr
    assert stderr == ""


@pytest.mark.engine_neutral
def test_an_unknown_lamina_backend_warns_and_runs_on_jax(tmp_path):
    (tmp_path / "home").mkdir()
    info = report(tmp_path, LAMINA_BACKEND="theano")
    assert info["backend"] == "jax"
    assert len(info["warnings"]) == 1 and "'theano'" in info["warnings"][0]


@pytest.mark.engine_neutral
def test_bad_values_in_keras_json_warn_and_use_defaults(tmp_path):
    write_config(tmp_path / "home" / ".keras", floatx="float8", image_data_format="channels_middle", backend="jax")
    info = report(tmp_path)
    assert info["floatx"] == "float32" and info["image_data_format"] == "channels_last"
    assert len(info["warnings"]) == 2
    path = str(tmp_path / "home" / ".keras" / "keras.json")
    assert any(f"\"floatx\" field of {path} is 'float8'" in w for w in info["warnings"])
    assert any(f"\"image_data_format\" field of {path} is 'channels_middle'" in w for w in info["warnings"])


@pytest.mark.engine_neutral
def test_a_bad_epsilon_in_keras_json_warns_and_uses_the_default(tmp_path):
    write_config(tmp_path / "home" / ".keras", epsilon="tiny", backend="jax")
    info = report(tmp_path)
    assert info["epsilon"] == 1e-07
    assert len(info["warnings"]) == 1 and '"epsilon" field of' in info["warnings"][0]
    assert "'tiny'" in info["warnings"][0] and "keras.json" in info["warnings"][0]


@pytest.mark.engine_neutral
def test_a_corrupt_keras_json_warns_and_uses_defaults(tmp_path):
    folder = tmp_path / "home" / ".keras"
    folder.mkdir(parents=True)
    (folder / "keras.json").write_text("{not json")
    info = report(tmp_path)
    assert info["backend"] == "jax" and info["floatx"] == "float32"
    assert len(info["warnings"]) == 1 and "keras.json" in info["warnings"][0]
    assert (folder / "keras.json").read_text() == "{not json"


# ------------------------------------------- sharing keras.json with other Keras
@pytest.mark.engine_neutral
@pytest.mark.parametrize("other", ["tensorflow", "theano", "cntk", "numpy", "openvino", "TensorFlow"])
def test_backends_of_other_keras_quietly_mean_the_default_engine(tmp_path, other):
    write_config(tmp_path / "home" / ".keras", **{**KERAS_WRITES, "backend": other})
    info = report(tmp_path)
    assert info["backend"] == "jax" and info["warnings"] == []


@pytest.mark.engine_neutral
@pytest.mark.parametrize("engine", ["jax", "torch"])
def test_keras_json_backend_jax_or_torch_is_honoured(tmp_path, engine):
    write_config(tmp_path / "home" / ".keras", **{**KERAS_WRITES, "backend": engine})
    info = report(tmp_path)
    assert info["backend"] == engine and info["engine"] == f"lamina.backend.{engine}"
    assert info["warnings"] == []


# (LAMINA_BACKEND, lamina_backend field, KERAS_BACKEND, backend field) -> the engine lamina runs on.
PRECEDENCE = [
    ((None, None, None, "tensorflow"), "jax"),
    ((None, None, None, "torch"), "torch"),
    ((None, None, "torch", "jax"), "torch"),  # Keras's variable beats Keras's file, as in Keras 3
    ((None, None, "tensorflow", "torch"), "torch"),  # a variable naming another Keras's backend is skipped
    ((None, "torch", "jax", "jax"), "torch"),  # lamina's own field beats what every Keras shares
    ((None, "torch", None, "tensorflow"), "torch"),
    (("jax", "torch", "torch", "torch"), "jax"),  # LAMINA_BACKEND beats everything
    (("torch", None, None, "tensorflow"), "torch"),
]


@pytest.mark.engine_neutral
@pytest.mark.parametrize("sources, expected", PRECEDENCE)
def test_where_the_engine_comes_from(tmp_path, sources, expected):
    lamina_variable, lamina_field, keras_variable, keras_field = sources
    fields = {**KERAS_WRITES, "backend": keras_field}
    if lamina_field is not None:
        fields["lamina_backend"] = lamina_field
    path = write_config(tmp_path / "home" / ".keras", **fields)
    before = open(path, "rb").read()
    variables = {"LAMINA_BACKEND": lamina_variable, "KERAS_BACKEND": keras_variable}
    info = report(tmp_path, **{key: value for key, value in variables.items() if value is not None})
    assert info["backend"] == expected and info["warnings"] == []
    assert open(path, "rb").read() == before


@pytest.mark.engine_neutral
def test_a_bad_lamina_backend_field_warns_naming_the_file_and_field(tmp_path):
    path = write_config(tmp_path / "home" / ".keras", **{**KERAS_WRITES, "lamina_backend": "tensorflow"})
    info = report(tmp_path)
    assert info["backend"] == "jax"
    assert len(info["warnings"]) == 1
    assert f'"lamina_backend" field of {path}' in info["warnings"][0] and "'tensorflow'" in info["warnings"][0]


@pytest.mark.engine_neutral
@pytest.mark.parametrize("value", [3, ["jax"], "banana"])
def test_a_malformed_backend_field_warns_naming_the_file_and_field(tmp_path, value):
    path = write_config(tmp_path / "home" / ".keras", **{**KERAS_WRITES, "backend": value})
    info = report(tmp_path)
    assert info["backend"] == "jax"
    assert len(info["warnings"]) == 1 and f'"backend" field of {path}' in info["warnings"][0]


@pytest.mark.engine_neutral
def test_an_unreadable_keras_json_warns_once_naming_the_file(tmp_path):
    folder = tmp_path / "home" / ".keras"
    folder.mkdir(parents=True)
    (folder / "keras.json").mkdir()  # a folder where the file should be: unreadable even for root
    info = report(tmp_path)
    assert info["backend"] == "jax" and info["floatx"] == "float32"
    assert len(info["warnings"]) == 1 and str(folder / "keras.json") in info["warnings"][0]
    stderr = run_python("import lamina", tmp_path).stderr
    assert stderr.count("UserWarning") == 1


KERAS3_WRITES_ITS_FILE = """
import os, sys
try:
    import keras  # writes keras.json first, then imports its backend (TensorFlow, absent here)
except ImportError:
    pass
"""


@pytest.mark.engine_neutral
def test_lamina_writes_the_same_keras_json_as_keras3(tmp_path):
    keras3_home, lamina_home = tmp_path / "k3", tmp_path / "lamina"
    run_python(KERAS3_WRITES_ITS_FILE, tmp_path, KERAS_HOME=keras3_home)
    run_python("import lamina", tmp_path, KERAS_HOME=lamina_home)
    written_by_keras3 = (keras3_home / "keras.json").read_bytes()
    assert (lamina_home / "keras.json").read_bytes() == written_by_keras3
    assert (lamina_home / "keras.json").stat().st_mode == (keras3_home / "keras.json").stat().st_mode


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
