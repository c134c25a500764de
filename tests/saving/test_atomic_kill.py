"""DESIGN rule 10, "Nothing lost": a save killed midway leaves the previous file intact; failed saves say why.

The kill test runs a second Python process (on the engine under test) that saves a model of about 320 MB of
float32 weights onto a file that already holds a small model. The test waits until lamina's atomic writer has
put tens of megabytes into its temporary file (`.<name>.<random>.tmp` beside the target, see
`lamina.saving.hdf5.atomic_h5_file`), kills the process with SIGKILL (no clean-up code can run), and checks
that the old file is byte for byte what it was and still loads and predicts as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import h5py
import numpy as np
import pytest

import lamina
from lamina import layers

WIDTH, DEPTH = 4096, 5  # five 4096 x 4096 float32 kernels: 320 MiB of weights, about 1 s of writing
FULL_SIZE = DEPTH * (WIDTH * WIDTH + WIDTH) * 4
KILL_AT = 64 * 2**20  # kill once the temporary file holds at least one kernel: the writer is mid-way

BIG_SAVE = textwrap.dedent(
    f"""
    import sys

    import lamina
    from lamina import layers

    dense = [layers.Dense({WIDTH}, kernel_initializer="ones", bias_initializer="ones") for _ in range({DEPTH})]
    model = lamina.Sequential([lamina.Input(shape=({WIDTH},)), *dense])
    print("saving", flush=True)
    model.save(sys.argv[1])
    print("saved", flush=True)
    """
)


def _small_model():
    model = lamina.Sequential(
        [lamina.Input(shape=(6,)), layers.Dense(5, activation="tanh", name="hidden"), layers.Dense(2, name="out")],
        name="small",
    )
    rng = np.random.default_rng(3)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.weights])
    return model


def _digest(path) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _temporary_files(folder, name: str) -> list:
    """The atomic writer's temporary files for `name`: `.<name>.<random>.tmp` in the same folder."""
    return [entry for entry in os.listdir(folder) if entry.startswith(f".{name}.") and entry.endswith(".tmp")]


def _kill_when_writing(process, folder, name: str, deadline_s: float = 60.0) -> str:
    """Polls for the writer's temporary file, SIGKILLs `process` once it holds KILL_AT bytes; returns its name."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read()
            pytest.fail(f"the saving process ended (code {process.returncode}) before it could be killed: {output}")
        for entry in _temporary_files(folder, name):
            with contextlib.suppress(FileNotFoundError):
                if os.path.getsize(os.path.join(folder, entry)) >= KILL_AT:
                    process.send_signal(signal.SIGKILL)
                    process.wait(timeout=30)
                    return entry
        time.sleep(0.002)
    process.kill()
    process.wait(timeout=30)
    pytest.fail(f"no temporary file of {KILL_AT} bytes appeared in {deadline_s} s: {process.stdout.read()}")


def test_save_killed_midway_leaves_the_previous_file_intact(tmp_path):
    path = tmp_path / "m.h5"
    model = _small_model()
    x = np.random.default_rng(0).normal(size=(4, 6)).astype("float32")
    reference = model.predict(x, verbose=0)
    model.save(path)
    before = _digest(path)

    process = subprocess.Popen(
        [sys.executable, "-c", BIG_SAVE, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "LAMINA_BACKEND": lamina.backend.backend()},
    )
    try:
        temporary = _kill_when_writing(process, tmp_path, "m.h5")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        process.stdout.close()

    assert process.returncode == -signal.SIGKILL
    # The kill came mid-write: the temporary file is still there (nothing renamed it) and is not complete.
    partial = tmp_path / temporary
    assert partial.exists()
    assert KILL_AT <= partial.stat().st_size < FULL_SIZE
    # The target was never replaced by the half-written file: same bytes, same model, same predictions.
    assert _digest(path) == before
    assert path.stat().st_size < KILL_AT
    loaded = lamina.models.load_model(path)
    assert loaded.name == "small"
    assert [w.path for w in loaded.weights] == [w.path for w in model.weights]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), reference, rtol=1e-6, atol=0)

    # A later save still works and replaces the file whole, leaving the dead process's debris alone.
    _small_model().save(path)
    assert sorted(os.listdir(tmp_path)) == sorted(["m.h5", temporary])
    partial.unlink()  # pytest keeps recent tmp_paths: do not leave tens of megabytes there


# ------------------------------------------------------------------ clear errors
@pytest.fixture(params=["save", "save_weights"])
def save(request):
    """`model.save` or `model.save_weights`, called on a small model."""
    model = _small_model()
    return getattr(model, request.param)


def test_saving_into_a_missing_folder_names_the_folder(tmp_path, save):
    folder = tmp_path / "no" / "such" / "folder"
    with pytest.raises(FileNotFoundError, match=r"Cannot save to .*m\.h5.*folder .*no/such/folder.* does not exist"):
        save(folder / "m.h5")
    assert not (tmp_path / "no").exists()  # nothing was created on the way


def test_saving_under_a_regular_file_names_the_path(tmp_path, save):
    # A path whose "folder" is a regular file cannot be written by anyone, root included.
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file")
    with pytest.raises(NotADirectoryError, match=re.escape(str(blocker)) + ".* is a file, not a folder"):
        save(blocker / "m.h5")
    assert blocker.read_text() == "a file"
    assert os.listdir(tmp_path) == ["not_a_folder"]


@contextlib.contextmanager
def _without_root_privileges():
    """Runs the block as user `nobody` when the tests run as root (who may write anywhere), else as is.

    Only the effective user id changes, so root's privileges come back when the block ends.
    """
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)


def test_saving_without_write_permission_is_a_permission_error_and_keeps_the_old_file(save):
    # tmp_path's parents are private to root (0o700), so `nobody` could not even reach it: use a folder that
    # everyone may enter and read but only its owner may write.
    folder = tempfile.mkdtemp(prefix="lamina-readonly-")
    path = os.path.join(folder, "m.h5")
    try:
        _small_model().save(path)
        before = _digest(path)
        os.chmod(folder, 0o555)
        with _without_root_privileges(), pytest.raises(PermissionError, match=r"Cannot save to .*m\.h5.*no permission"):
            save(path)
        os.chmod(folder, 0o755)
        assert _digest(path) == before
        assert os.listdir(folder) == ["m.h5"]
    finally:
        os.chmod(folder, 0o755)
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
        os.rmdir(folder)


# ------------------------------------------------------------------ files open in this process
def _three_to_two():
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    model.compile("sgd", "mse")
    return model


@pytest.mark.parametrize("mode", ["r", "a"])
def test_saving_over_a_file_open_in_this_process_is_a_clear_error(tmp_path, mode):
    path = str(tmp_path / "model.h5")
    model = _three_to_two()
    model.save(path)
    before = open(path, "rb").read()
    with h5py.File(path, mode):
        with pytest.raises(OSError, match=r"model[.]h5.*open for (reading|writing) in this process.*Close it"):
            model.save(path)
        with pytest.raises(OSError, match="open"):
            model.save_weights(path)
    assert open(path, "rb").read() == before
    model.save(path)  # once closed, saving over it works


def test_an_open_h5py_file_can_be_saved_into_and_loaded_from(tmp_path):
    model = _three_to_two()
    x = np.arange(6, dtype="float32").reshape(2, 3)
    with h5py.File(tmp_path / "model.h5", "w") as f:
        model.save(f)
    with h5py.File(tmp_path / "model.h5", "r") as f:
        loaded = lamina.models.load_model(f)
        assert f.id.valid  # the caller's file stays open
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    other = _three_to_two()
    with h5py.File(tmp_path / "weights.h5", "w") as f:
        model.save_weights(f)
    with h5py.File(tmp_path / "weights.h5", "r") as f:
        other.load_weights(f)
    np.testing.assert_allclose(other.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
