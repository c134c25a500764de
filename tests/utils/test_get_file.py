"""lamina.utils.get_file against a local HTTP server: caching, hashes, extraction, atomic downloads."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import tarfile
import zipfile

import pytest
from local_http_server import LocalServer

from lamina.utils import get_file, hash_file, validate_file

DATA = bytes(range(256)) * 400  # 102,400 bytes: several chunks and progress-bar updates
SHA256 = hashlib.sha256(DATA).hexdigest()
MD5 = hashlib.md5(DATA).hexdigest()  # noqa: S324


def tar_bytes(members: dict, links=()) -> bytes:
    """A .tar.gz of `members` (name -> bytes) and `links` ((name, target, symbolic?) ...)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
        for name, target, symbolic in links:
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE if symbolic else tarfile.LNKTYPE
            info.linkname = target
            archive.addfile(info)
    return buffer.getvalue()


def zip_bytes(members: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return buffer.getvalue()


def test_download_is_cached_and_hash_checked(tmp_path, capsys):
    with LocalServer({"/files/data.bin": DATA}) as server:
        origin = server.url + "/files/data.bin"
        path = get_file(origin=origin, file_hash=SHA256, cache_dir=tmp_path)  # fname from the URL
        assert path == os.path.join(tmp_path, "datasets", "data.bin")
        assert open(path, "rb").read() == DATA
        out = capsys.readouterr().out
        assert f"Downloading data from {origin}" in out and "102400/102400 [====" in out
        # Cached: neither a sha256 nor an md5 check nor no check at all downloads again.
        assert get_file("data.bin", origin, file_hash=SHA256, cache_dir=tmp_path) == path
        assert get_file("data.bin", origin, md5_hash=MD5, cache_dir=tmp_path) == path
        assert get_file("data.bin", origin, cache_dir=tmp_path) == path
        assert server.hits == {"/files/data.bin": 1}
        get_file("data.bin", origin, cache_dir=tmp_path, force_download=True)
        assert server.hits == {"/files/data.bin": 2}
        other = get_file(
            "copy.bin", origin, cache_subdir="models", cache_dir=tmp_path, hash_algorithm="md5", file_hash=MD5
        )
        assert other == os.path.join(tmp_path, "models", "copy.bin")
    assert hash_file(path) == SHA256 and hash_file(path, "md5") == MD5
    assert validate_file(path, SHA256) and validate_file(path, MD5) and not validate_file(path, "0" * 64)


def test_default_cache_is_the_keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    with LocalServer({"/data.bin": DATA}) as server:
        path = get_file("data.bin", origin=server.url + "/data.bin")
    assert path == os.path.join(tmp_path, "home", "datasets", "data.bin")


def test_stale_cached_file_is_downloaded_again(tmp_path):
    stale = tmp_path / "datasets" / "data.bin"
    stale.parent.mkdir()
    stale.write_bytes(DATA[:100])
    with LocalServer({"/data.bin": DATA}) as server:
        path = get_file("data.bin", server.url + "/data.bin", file_hash=SHA256, cache_dir=tmp_path)
        assert server.hits == {"/data.bin": 1}
    assert open(path, "rb").read() == DATA


def test_download_with_the_wrong_hash_raises_and_keeps_nothing(tmp_path):
    wrong = "ab" * 32
    with LocalServer({"/data.bin": DATA}) as server:
        with pytest.raises(ValueError, match="data.bin") as info:
            get_file("data.bin", server.url + "/data.bin", file_hash=wrong, cache_dir=tmp_path)
    assert wrong in str(info.value) and SHA256 in str(info.value)
    assert os.listdir(tmp_path / "datasets") == []


def test_dropped_download_leaves_no_partial_file(tmp_path):
    old = tmp_path / "datasets" / "data.bin"
    old.parent.mkdir()
    old.write_bytes(b"previous version")
    with LocalServer({"/data.bin": DATA}, truncate={"/data.bin"}) as server:
        url = server.url + "/data.bin"
        with pytest.raises(OSError, match=f"URL fetch failure on {url}"):
            get_file("data.bin", url, cache_dir=tmp_path, force_download=True)
        with pytest.raises(OSError, match=f"URL fetch failure on {url}"):
            get_file("new.bin", url, cache_dir=tmp_path)
    assert sorted(os.listdir(tmp_path / "datasets")) == ["data.bin"]
    assert old.read_bytes() == b"previous version"


def test_network_errors_name_the_url(tmp_path):
    with LocalServer({}) as server:
        with pytest.raises(OSError, match=f"URL fetch failure on {server.url}/missing.bin: 404"):
            get_file("missing.bin", server.url + "/missing.bin", cache_dir=tmp_path)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/data.bin"
    with pytest.raises(OSError, match=f"URL fetch failure on {closed}"):
        get_file("data.bin", closed, cache_dir=tmp_path)
    assert os.listdir(tmp_path / "datasets") == []


def test_extract_tar_zip_and_untar(tmp_path):
    files = {
        "/pack.tar.gz": tar_bytes({"pack/a.txt": b"A", "pack/sub/b.txt": b"B"}),
        "/z.zip": zip_bytes({"z/c.txt": b"C"}),
    }
    with LocalServer(files) as server:
        path = get_file("pack.tar.gz", server.url + "/pack.tar.gz", extract=True, cache_dir=tmp_path)
        assert path == os.path.join(tmp_path, "datasets", "pack.tar.gz")
        assert (tmp_path / "datasets" / "pack" / "sub" / "b.txt").read_bytes() == b"B"
        get_file("z.zip", server.url + "/z.zip", extract=True, archive_format="zip", cache_dir=tmp_path)
        assert (tmp_path / "datasets" / "z" / "c.txt").read_bytes() == b"C"
        # Keras 2's untar: `<fname>.tar.gz` is kept and the unpacked folder's path returned.
        folder = get_file("pack", server.url + "/pack.tar.gz", untar=True, cache_dir=tmp_path / "u")
        assert folder == os.path.join(tmp_path, "u", "datasets", "pack")
        assert sorted(os.listdir(tmp_path / "u" / "datasets")) == ["pack", "pack.tar.gz"]
        assert open(os.path.join(folder, "a.txt"), "rb").read() == b"A"
        # archive_format=None, or a format that does not match, unpacks nothing.
        get_file("other.zip", server.url + "/z.zip", extract=True, archive_format="tar", cache_dir=tmp_path / "n")
        assert os.listdir(tmp_path / "n" / "datasets") == ["other.zip"]


@pytest.mark.parametrize(
    "archive, member",
    [
        (tar_bytes({"../escaped.txt": b"x"}), "../escaped.txt"),
        (tar_bytes({"/tmp/absolute.txt": b"x"}), "/tmp/absolute.txt"),
        (tar_bytes({"ok.txt": b"x"}, links=[("link", "/etc/passwd", True)]), "link"),
        (tar_bytes({"ok.txt": b"x"}, links=[("hard", "../../outside", False)]), "hard"),
        (zip_bytes({"ok.txt": b"x", "../../escaped.txt": b"x"}), "../../escaped.txt"),
    ],
)
def test_extraction_refuses_members_escaping_the_cache(tmp_path, archive, member):
    cache = tmp_path / "cache"
    with LocalServer({"/bad.bin": archive}) as server:
        with pytest.raises(ValueError, match="Refusing to extract") as info:
            get_file("bad.bin", server.url + "/bad.bin", extract=True, cache_dir=cache)
    assert repr(member) in str(info.value)
    assert sorted(os.listdir(cache / "datasets")) == ["bad.bin"]  # nothing unpacked, even the safe members
    assert sorted(os.listdir(tmp_path)) == ["cache"]


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="origin"):
        get_file("x.bin", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="hash_algorithm"):
        get_file("x.bin", "http://127.0.0.1:1/x.bin", file_hash=SHA256, hash_algorithm="sha1", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="fname"):
        get_file(origin="http://127.0.0.1:1/", cache_dir=tmp_path)


def test_unwritable_cache_dir_falls_back_to_tmp_keras(tmp_path, monkeypatch):
    import tempfile

    from lamina.utils import file_utils

    locked = str(tmp_path / "locked")
    real_access = os.access
    monkeypatch.setattr(file_utils.os, "access", lambda path, mode: path != locked and real_access(path, mode))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    with LocalServer({"/pack.tar.gz": tar_bytes({"pack/a.txt": b"A"})}) as server:
        folder = get_file("pack.tar.gz", server.url + "/pack.tar.gz", untar=True, cache_dir=locked)
    assert folder == os.path.join(tmp_path, "tmp", ".keras", "datasets", "pack")
    assert os.path.exists(folder + ".tar.gz") and os.path.exists(os.path.join(folder, "a.txt"))
