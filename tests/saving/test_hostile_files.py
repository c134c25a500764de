"""Hostile and damaged files, full disks and leftovers (issue 16): refused before they cost memory, in words.

Every file here is tiny; what is big is only what it declares (a zip directory's sizes, an HDF5 dataset's shape
with no data written, a config's units). Nothing large is allocated, read or written.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import struct
import time
import tracemalloc
import zipfile

import h5py
import numpy as np
import pytest

import lamina
from lamina import initializers, layers
from lamina.saving import atomic_files, file_limits, hdf5, keras_zip, training_config

HUGE = 100_000  # a declared 1e5 x 1e5 float32 weight: 37.3 GiB if it were read


def _model(width: int = 3):
    model = lamina.Sequential([layers.Input((4,)), layers.Dense(width, name="hidden"), layers.Dense(2, name="out")])
    model.compile("adam", "mse")
    return model


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


# ------------------------------------------------------------------ config nesting
def test_json_depth_counts_brackets_outside_strings():
    text = json.dumps({"a": [1, [2, {"b": "[[[{{{"}]], "c": '\\"[', "d": []})
    expected = 4  # {  [  [  {  (the brackets inside strings do not count)
    assert file_limits.json_depth(text) == expected
    assert file_limits.json_depth(_deep(1000)) == 1000


def test_keras_zip_with_a_deeply_nested_config_is_refused(tmp_path):
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", "{}")
        archive.writestr("config.json", '{"class_name": "Sequential", "config": ' + _deep(50_000) + "}")
    with pytest.raises(ValueError, match=r"m\.keras' member 'config\.json' nests .* at least \d+ levels.* 128 levels"):
        lamina.models.load_model(path)


def test_h5_with_a_deeply_nested_model_config_is_refused(tmp_path):
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = '{"class_name": "Sequential", "config": {"layers": ' + _deep(50_000) + "}}"
    with pytest.raises(ValueError, match=r"m\.h5' attribute 'model_config' nests .* at least \d+ levels"):
        lamina.models.load_model(path)


def test_model_from_json_and_yaml_refuse_deep_nesting():
    with pytest.raises(ValueError, match=r"model_from_json: the text nests .* at least 50000 levels.*128"):
        lamina.models.model_from_json(_deep(50_000))
    with pytest.raises(ValueError, match=r"model_from_yaml: the text nests .* at least 3000 levels"):
        lamina.models.model_from_yaml("a: " + _deep(3_000))
    block = "".join(" " * level + "- \n" for level in range(0, 2 * 200, 2))  # 200 levels of block lists, no brackets
    with pytest.raises(ValueError, match=r"model_from_yaml: the text nests .* more than 128 levels"):
        lamina.models.model_from_yaml(block)


# --------------------------------------------------------------------- zip members
def _declare_size(path, member: str, size: int) -> None:
    """Rewrites the uncompressed size the zip's local header and directory declare for `member` (data unchanged)."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    data = bytearray(path.read_bytes())
    local = info.header_offset
    assert data[local : local + 4] == b"PK\x03\x04"
    struct.pack_into("<I", data, local + 22, size)
    central = data.find(b"PK\x01\x02")  # the directory entries: find this member's
    while data[central + 46 : central + 46 + len(member)] != member.encode():
        central = data.find(b"PK\x01\x02", central + 1)
    struct.pack_into("<I", data, central + 24, size)
    path.write_bytes(bytes(data))


DECLARED = 0xF000_0000  # 3.75 GiB: what a zip bomb's member would inflate to


@pytest.mark.parametrize("member", ["model.weights.h5", "config.json"])
def test_keras_zip_member_declaring_gigabytes_is_refused_before_inflating(tmp_path, member):
    path = tmp_path / "m.keras"
    _model().save(path)
    _declare_size(path, member, DECLARED)
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo(member).file_size == DECLARED
    with pytest.raises(ValueError, match=rf"m\.keras'.*{member.replace('.', '[.]')}.*{DECLARED}"):
        lamina.models.load_model(path)
    if member == "model.weights.h5":
        with pytest.raises(ValueError, match=rf"member 'model\.weights\.h5' declares 3\.8 GiB \({DECLARED} bytes\)"):
            _model().load_weights(path)


def test_keras_zip_weights_member_within_the_bound_loads(tmp_path):
    path = tmp_path / "m.keras"
    model = _model()
    model.save(path)
    model_bytes = sum(int(np.prod(w.shape)) * 4 for w in model.weights)
    _declare_size(path, "model.weights.h5", 2 * 2**20)  # bigger than it is, within what such a model can need
    loaded = lamina.models.load_model(path)
    assert model_bytes < 2 * 2**20
    for ours, theirs in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(ours, theirs)


# ------------------------------------------------------------------ declared weights
def _huge_config() -> str:
    config = json.loads(lamina.Sequential([layers.Input((7,)), layers.Dense(5, name="huge")], name="s").to_json())
    for layer in config["config"]["layers"]:
        for key in ("batch_input_shape", "batch_shape"):
            if key in layer["config"]:
                layer["config"][key] = [None, 10**6]
    config["config"]["layers"][-1]["config"]["units"] = 10**6
    return json.dumps(config)


def test_layer_declaring_terabytes_of_weights_is_refused_before_allocating(tmp_path):
    expected = r"'huge' weight 'kernel' of shape \(1000000, 1000000\) float32 needs 3\.6 TiB"
    with pytest.raises(ValueError, match=expected):
        lamina.models.model_from_json(_huge_config())
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = _huge_config()
    with pytest.raises(ValueError, match=r"m\.h5.*[Ll]ayer 'huge' weight 'kernel' .* needs 3\.6 TiB"):
        lamina.models.load_model(path)


@pytest.mark.parametrize("name", ["glorot_uniform", "he_normal"])
def test_initial_weights_are_not_drawn_whole_in_float64(name):
    shape = (2048, 2048)  # 16 MiB in float32; drawn whole in float64 first it took 32 MiB more (and 64 truncated)
    initializer = initializers.get({"class_name": name, "config": {"seed": 3}})
    tracemalloc.start()
    try:
        values = initializer(shape, "float32")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert values.dtype == np.float32 and values.shape == shape
    assert peak < 2 * values.nbytes
    rng = np.random.default_rng(3)
    if name == "glorot_uniform":  # the same numbers as NumPy's one float64 draw, cast
        limit = np.sqrt(6.0 / (2048 + 2048))
        np.testing.assert_array_equal(values, rng.uniform(-limit, limit, shape).astype(np.float32))
    else:
        stddev = np.sqrt(2.0 / 2048) / 0.87962566103423978  # he_normal: truncated normal, scaled by fan_in
        draws = rng.standard_normal(shape)
        while (np.abs(draws) > 2).any():
            draws[np.abs(draws) > 2] = rng.standard_normal(int((np.abs(draws) > 2).sum()))
        np.testing.assert_array_equal(values, (stddev * draws).astype(np.float32))


# ------------------------------------------------------------------ weight datasets
def _swap_for_huge(group, name: str) -> None:
    """Replaces dataset `name` by one declaring HUGE x HUGE float32 values, none written (the file stays small)."""
    del group[name]
    group.create_dataset(name, shape=(HUGE, HUGE), dtype="float32")


HUGE_MESSAGE = r"{file}.*layer 'hidden'.*has shape \(100000, 100000\) \(37\.3 GiB if read\).*\(4, 3\)"


def test_h5_weights_declaring_a_huge_dataset_are_refused_unread(tmp_path):
    path = tmp_path / "w.h5"
    _model().save_weights(path)
    with h5py.File(path, "a") as f:
        _swap_for_huge(f["hidden"], "hidden/kernel:0")
    assert path.stat().st_size < 64 * 2**10
    with pytest.raises(ValueError, match=HUGE_MESSAGE.format(file=r"w\.h5")):
        _model().load_weights(path)
    with pytest.raises(ValueError, match=HUGE_MESSAGE.format(file=r"w\.h5")):
        _model().load_weights(path, by_name=True)
    model = _model()
    with pytest.warns(UserWarning, match=r"skipping layer 'hidden'.*\(100000, 100000\)"):
        model.load_weights(path, by_name=True, skip_mismatch=True)


def test_h5_model_declaring_huge_weights_or_optimizer_arrays_is_refused_unread(tmp_path):
    model = _model()
    training_config.build_optimizer(model)  # Adam's slots, as after a first fit
    path = tmp_path / "m.h5"
    model.save(path)
    with h5py.File(path, "a") as f:
        _swap_for_huge(f["model_weights/hidden"], "hidden/kernel:0")
    with pytest.raises(ValueError, match=HUGE_MESSAGE.format(file=r"m\.h5")):
        lamina.models.load_model(path)
    model.save(path)
    with h5py.File(path, "a") as f:
        group = f["optimizer_weights"]
        _swap_for_huge(group, hdf5.load_attributes(group, "weight_names")[-1])
    with pytest.raises(ValueError, match=r"m\.h5.*optimizer_weights.*\(100000, 100000\)"):
        lamina.models.load_model(path)


def test_keras3_layouts_declaring_a_huge_dataset_are_refused_unread(tmp_path):
    path = tmp_path / "w.weights.h5"
    _model().save_weights(path)
    with h5py.File(path, "a") as f:
        _swap_for_huge(f["layers/dense/vars"], "0")
    with pytest.raises(ValueError, match=HUGE_MESSAGE.format(file=r"w\.weights\.h5")):
        _model().load_weights(path)
    # The same weights inside a .keras archive.
    archive_path = tmp_path / "m.keras"
    _model().save(archive_path)
    with zipfile.ZipFile(archive_path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["model.weights.h5"] = path.read_bytes()
    with zipfile.ZipFile(archive_path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ValueError, match=HUGE_MESSAGE.format(file=r"m\.keras")):
        lamina.models.load_model(archive_path)


# ------------------------------------------------------------------------ disk full
@pytest.mark.parametrize("suffix", ["h5", "keras"])
def test_file_size_limit_mid_save_says_so_and_keeps_the_old_file(tmp_path, suffix):
    path = tmp_path / f"m.{suffix}"
    _model().save(path)
    before = path.read_bytes()
    big = _model(width=4000)  # about 100 KB of weights: past the limit below
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 2**10, hard))  # Python ignores SIGXFSZ: writes get EFBIG
    try:
        with pytest.raises(
            OSError,
            match=rf"cannot save to '.*m\.{suffix}': the file is larger than .*; "
            rf"the previous m\.{suffix} is unchanged",
        ) as caught:
            big.save(path)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert caught.value.errno == errno.EFBIG
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [path.name]  # the temporary file is gone


@pytest.mark.parametrize("h5py_style", [False, True], ids=["errno", "h5py_text"])
def test_no_space_left_mid_save_says_so(tmp_path, monkeypatch, h5py_style):
    def full(*args, **kwargs):
        if h5py_style:  # h5py puts the errno in its text only
            raise OSError("Can't decrement id ref count (file write failed: errno = 28, error message = 'No space')")
        raise OSError(errno.ENOSPC, "No space left on device")

    path = tmp_path / "m.h5"
    _model().save(path)
    before = path.read_bytes()
    monkeypatch.setattr(hdf5, "save_weights_to_group", full)
    with pytest.raises(
        OSError,
        match=r"cannot save to '.*m\.h5': no space left on the device; the previous m\.h5 "
        "is unchanged",
    ):
        _model().save(path)
    assert path.read_bytes() == before
    monkeypatch.setattr(keras_zip, "_asset_files", full)
    with pytest.raises(OSError, match=r"cannot save to '.*new\.keras': no space left .*; no file was written"):
        _model().save(tmp_path / "new.keras")
    assert sorted(os.listdir(tmp_path)) == ["m.h5"]


# ------------------------------------------------------------------------ leftovers
def test_next_save_removes_stale_temporaries_of_its_target_only(tmp_path):
    dead = 2**31 - 7  # above any pid_max: no such process
    old = time.time() - atomic_files.STALE_AFTER_S - 60
    entries = {
        f".m.h5.{dead}-5t0cuc16.tmp": (old, False),  # killed writer, long ago: removed
        ".m.h5.5t0cuc16.tmp": (old, False),  # a name without a pid, long ago: removed
        f".m.h5.{dead}-abcdefgh.tmp": (time.time(), True),  # recent: its writer may be on another machine
        f".m.h5.{os.getpid()}-abcdefgh.tmp": (old, True),  # its writer runs
        f".n.h5.{dead}-5t0cuc16.tmp": (old, True),  # another target's
        ".m.h5.notes.tmp": (old, True),  # not the writer's pattern
    }
    for name, (mtime, _) in entries.items():
        (tmp_path / name).write_bytes(b"partial")
        os.utime(tmp_path / name, (mtime, mtime))
    _model().save(tmp_path / "m.h5")
    kept = sorted(name for name, (_, stays) in entries.items() if stays)
    assert sorted(os.listdir(tmp_path)) == sorted(["m.h5", *kept])
    assert lamina.models.load_model(tmp_path / "m.h5").get_layer("hidden").kernel.shape == (4, 3)
