"""get_file: download a file once into the Keras cache, check its hash, and unpack it safely.

Files land in `<cache_dir>/<cache_subdir>/<fname>`, where `cache_dir` defaults to the Keras home
(`KERAS_HOME`, else `~/.keras`, else `/tmp/.keras` when the home is not writable). A download goes to
a temporary file in the same folder and is moved into place with `os.replace` only once it is whole
and its hash matches, so an interrupted download never leaves a partial file in the cache.
Archives are unpacked only when none of their members would land outside the cache folder.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from urllib.parse import urlsplit

from lamina import config
from lamina.utils.progbar import Progbar

_CHUNK_SIZE = 65535
_ARCHIVE_FORMATS = ("tar", "zip")


def _hasher(algorithm: str, file_hash: str | None = None):
    """The hashlib object for `algorithm`; "auto" means sha256 for a 64-digit hash, else md5."""
    if algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(f'get_file: `hash_algorithm` must be "auto", "sha256" or "md5", got {algorithm!r}.')
    if algorithm == "sha256" or (algorithm == "auto" and (file_hash is None or len(file_hash) == 64)):
        return hashlib.sha256()
    return hashlib.md5()  # noqa: S324 - md5 is what older Keras datasets publish; it checks integrity only


def hash_file(fpath, algorithm: str = "sha256", chunk_size: int = _CHUNK_SIZE) -> str:
    """The hex digest of a file, read in chunks.

    Args:
        fpath: the file.
        algorithm: "sha256", "md5", or "auto" (sha256).
        chunk_size: bytes read at a time.

    Example:
        >>> hash_file("empty.txt")  # doctest: +SKIP
        'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    """
    hasher = _hasher(algorithm) if isinstance(algorithm, str) else algorithm
    with open(os.fspath(fpath), "rb") as stream:
        for chunk in iter(lambda: stream.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath, file_hash: str, algorithm: str = "auto", chunk_size: int = _CHUNK_SIZE) -> bool:
    """Whether a file's sha256 or md5 digest equals `file_hash`.

    Args:
        fpath: the file.
        file_hash: the expected hex digest (64 digits: sha256; 32: md5).
        algorithm: "auto" (from the hash's length), "sha256" or "md5".
        chunk_size: bytes read at a time.

    Example:
        >>> validate_file("mnist.npz", "731c5ac6...")  # doctest: +SKIP
        False
    """
    actual = hash_file(fpath, _hasher(algorithm, file_hash), chunk_size)
    return actual == str(file_hash).lower()


def _cache_folder(cache_dir, cache_subdir: str) -> str:
    """`<cache_dir>/<cache_subdir>`, created; `/tmp/.keras` stands in for a cache_dir that is not writable."""
    base = config.keras_home() if cache_dir is None else os.path.expanduser(os.fspath(cache_dir))
    try:
        os.makedirs(base, exist_ok=True)
    except OSError:
        pass
    if not os.access(base, os.W_OK):
        base = os.path.join(tempfile.gettempdir(), ".keras")
    folder = os.path.join(base, cache_subdir)
    os.makedirs(folder, exist_ok=True)
    return folder


def _file_name(fname, origin: str) -> str:
    if fname:
        return os.fspath(fname)
    name = os.path.basename(urlsplit(origin).path)
    if not name:
        raise ValueError(f"get_file: cannot take a file name from origin {origin!r}; pass `fname`.")
    return name


def _download(origin: str, fpath: str, file_hash, hash_algorithm: str) -> None:
    """Fetches `origin` into a temporary file beside `fpath`, checks its hash, then moves it into place."""
    folder = os.path.dirname(fpath) or "."
    handle, tmp_path = tempfile.mkstemp(prefix="." + os.path.basename(fpath) + ".", suffix=".part", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            _copy_url(origin, out)
        if file_hash is not None:
            actual = hash_file(tmp_path, _hasher(hash_algorithm, file_hash))
            if actual != str(file_hash).lower():
                raise ValueError(
                    f"get_file: the file downloaded from {origin} for {fpath!r} is incomplete or corrupted: "
                    f"its {_hasher(hash_algorithm, file_hash).name} hash is {actual}, expected {file_hash}."
                )
        os.replace(tmp_path, fpath)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


def _copy_url(origin: str, out) -> None:
    """Streams `origin` into the open file `out`, with a progress bar when the size is known."""
    print(f"Downloading data from {origin}")
    try:
        with urllib.request.urlopen(origin) as response:  # noqa: S310 - the caller names the URL
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            bar = Progbar(total) if total else None
            done = 0
            while True:
                chunk = response.read(_CHUNK_SIZE * 8)
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                if bar is not None:
                    bar.update(min(done, total))
            if total is not None and done < total:
                raise OSError(f"URL fetch failure on {origin}: the connection closed after {done} of {total} bytes.")
    except urllib.error.HTTPError as error:
        raise OSError(f"URL fetch failure on {origin}: {error.code} -- {error.reason}") from error
    except urllib.error.URLError as error:
        raise OSError(f"URL fetch failure on {origin}: {error.reason}") from error
    except (ConnectionError, TimeoutError, http.client.HTTPException) as error:
        raise OSError(f"URL fetch failure on {origin}: {error}") from error


def _inside(root: str, target: str) -> bool:
    root = os.path.realpath(root)
    return os.path.commonpath([root, os.path.realpath(target)]) == root


def _check_tar_members(archive: tarfile.TarFile, path: str, file_path: str) -> None:
    for member in archive.getmembers():
        target = os.path.join(path, member.name)
        problem = None
        if os.path.isabs(member.name) or not _inside(path, target):
            problem = "its path leads outside the extraction folder"
        elif member.issym() and not _inside(path, os.path.join(os.path.dirname(target), member.linkname)):
            problem = f"it is a symbolic link to {member.linkname!r}, outside the extraction folder"
        elif member.islnk() and not _inside(path, os.path.join(path, member.linkname)):
            problem = f"it is a hard link to {member.linkname!r}, outside the extraction folder"
        elif member.isdev():
            problem = "it is a device file"
        if problem:
            raise ValueError(f"Refusing to extract {file_path!r}: member {member.name!r} is unsafe ({problem}).")


def _check_zip_members(archive: zipfile.ZipFile, path: str, file_path: str) -> None:
    for name in archive.namelist():
        if os.path.isabs(name) or name.startswith(("/", "\\")) or not _inside(path, os.path.join(path, name)):
            raise ValueError(
                f"Refusing to extract {file_path!r}: member {name!r} is unsafe "
                "(its path leads outside the extraction folder)."
            )


def extract_archive(file_path, path=".", archive_format="auto") -> bool:
    """Unpacks a tar (plain, gz, bz2, xz) or zip archive into `path`, refusing unsafe members.

    A member whose path is absolute or climbs out of `path`, a link pointing outside it, or a
    device file makes the whole archive refused with a ValueError naming the member; nothing is written.

    Args:
        file_path: the archive.
        path: the folder to unpack into.
        archive_format: "auto" (tar, then zip), "tar", "zip", a list of these, or None (nothing).

    Returns:
        True when the file was an archive of an accepted format and was unpacked.

    Example:
        >>> extract_archive("data.tar.gz", "/tmp/data")  # doctest: +SKIP
        True
    """
    if archive_format is None:
        return False
    formats = list(_ARCHIVE_FORMATS) if archive_format == "auto" else archive_format
    formats = [formats] if isinstance(formats, str) else list(formats)
    for kind in formats:
        if kind not in _ARCHIVE_FORMATS:
            raise ValueError(f'get_file: `archive_format` must be "auto", "tar", "zip" or None, got {kind!r}.')
    file_path, path = os.fspath(file_path), os.fspath(path)
    for kind in formats:
        if kind == "tar" and tarfile.is_tarfile(file_path):
            with tarfile.open(file_path) as archive:
                _check_tar_members(archive, path, file_path)
                _unpack(lambda: archive.extractall(path, filter="data"), path)
            return True
        if kind == "zip" and zipfile.is_zipfile(file_path):
            with zipfile.ZipFile(file_path) as archive:
                _check_zip_members(archive, path, file_path)
                _unpack(lambda: archive.extractall(path), path)
            return True
    return False


def _unpack(extract, path: str) -> None:
    existed = os.path.exists(path)
    try:
        extract()
    except (tarfile.TarError, zipfile.BadZipFile, RuntimeError, KeyboardInterrupt):
        if not existed and os.path.isdir(path):
            shutil.rmtree(path)  # nothing half-unpacked stays where a later call would trust it
        raise


def get_file(
    fname=None,
    origin=None,
    untar=False,
    md5_hash=None,
    file_hash=None,
    cache_subdir="datasets",
    hash_algorithm="auto",
    extract=False,
    archive_format="auto",
    cache_dir=None,
    force_download=False,
):
    """Downloads a file from a URL unless it is already in the cache, and returns its path.

    Args:
        fname: the file's name in the cache (default: the last part of the URL's path).
        origin: the URL.
        untar: Keras 2's older switch: the file is `<fname>.tar.gz`, unpacked into the cache
            folder, and the path returned is `<cache folder>/<fname>`.
        md5_hash: Keras 2's older argument: an md5 `file_hash`.
        file_hash: the expected sha256 (64 digits) or md5 (32) hex digest; a cached file that does
            not match is downloaded again, and a download that does not match raises ValueError.
        cache_subdir: the folder under `cache_dir` (an absolute path is used as is).
        hash_algorithm: "auto", "sha256" or "md5".
        extract: unpack the file (tar or zip) next to it after downloading.
        archive_format: "auto", "tar", "zip" or None, for `extract`.
        cache_dir: the cache's root (default: the Keras home, `~/.keras`).
        force_download: download even when the file is already cached.

    Returns:
        The path of the downloaded file (or of the unpacked folder with `untar`).

    Example:
        >>> path = lamina.utils.get_file(
        ...     origin="https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
        ... )  # doctest: +SKIP
    """
    if origin is None:
        raise ValueError('get_file: please give the "origin" argument (the URL of the file to download).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    _hasher(hash_algorithm, file_hash)  # checks the name before any download
    folder = _cache_folder(cache_dir, cache_subdir)
    fname = _file_name(fname, origin)
    if untar:
        if fname.endswith(".tar.gz"):
            fname = fname[: -len(".tar.gz")]
        untar_path = os.path.join(folder, fname)
        fpath = untar_path + ".tar.gz"
    else:
        fpath = os.path.join(folder, fname)

    download = force_download or not os.path.exists(fpath)
    if not download and file_hash is not None and not validate_file(fpath, file_hash, hash_algorithm):
        print(
            f"A local file was found at {fpath}, but its hash does not match the expected {file_hash}: "
            "it may be incomplete or outdated, so it will be downloaded again."
        )
        download = True
    if download:
        _download(origin, fpath, file_hash, hash_algorithm)

    if untar:
        if download or not os.path.exists(untar_path):
            extract_archive(fpath, folder, archive_format="tar")
        return untar_path
    if extract:
        extract_archive(fpath, folder, archive_format)
    return fpath
