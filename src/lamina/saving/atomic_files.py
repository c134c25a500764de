"""The atomic writer's temporary files and what a failed write says (DESIGN rule 10, "Nothing lost").

Every save writes to a hidden temporary file beside its target, `.<name>.<pid>-<random>.tmp`, and moves it onto
the target with `os.replace` once it is whole (`lamina.saving.hdf5.atomic_path`). Two things follow:

- **Disk full.** When the disk fills (`ENOSPC`) or the file outgrows what the system allows (`EFBIG`, a
  `ulimit -f`), the temporary file is removed and the error says so in words: "cannot save to 'm.h5': no space
  left on the device; the previous m.h5 is unchanged". h5py reports these as text ("... errno = 28 ..."), which
  is read too. HDF5 itself writes through `GuardedFile`, which keeps a failed write from reaching the library
  (HDF5 2.0 can crash the process closing a file after one).
- **Leftovers.** A save killed midway (SIGKILL, power loss) cannot remove its temporary file. The next save to
  the same target removes the ones it can tell are stale: files of exactly its own naming pattern for that
  target, not modified for `STALE_AFTER_S` seconds, whose writer (the pid in the name) is no longer running on
  this machine; names without a pid (`.<name>.<random>.tmp`, written before names carried one) go on age alone.
  A save still running, here or on another machine sharing the folder, keeps its file.

Example:
    >>> remove_stale_temporaries("m.h5")  # what every save to m.h5 does first
    []
"""

from __future__ import annotations

import errno
import os
import re
import time

STALE_AFTER_S = 600  # a temporary file untouched this long, whose writer is gone, is a leftover
_DISK_FULL = {
    errno.ENOSPC: "no space left on the device",
    errno.EFBIG: "the file is larger than the system allows (file size limit, ulimit -f, or the file system's)",
}
_H5PY_ERRNO = re.compile(r"errno = (\d+)")


def temporary_prefix(path: str) -> str:
    """The start of this process's temporary file names for target `path`: `.<name>.<pid>-`."""
    return f".{os.path.basename(path)}.{os.getpid()}-"


def _leftover_pid(entry: str, name: str):
    """(True, pid or None) when `entry` is one of the atomic writer's temporary names for target `name`."""
    prefix = f".{name}."
    if not (entry.startswith(prefix) and entry.endswith(".tmp")):
        return False, None
    middle = entry[len(prefix) : -len(".tmp")]
    with_pid = re.fullmatch(r"(\d+)-[a-z0-9_]{8}", middle)  # mkstemp adds 8 characters of [a-z0-9_]
    if with_pid:
        return True, int(with_pid.group(1))
    return bool(re.fullmatch(r"[a-z0-9_]{8}", middle)), None


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process (EPERM): alive
        return True
    return True


def remove_stale_temporaries(path, now: float | None = None) -> list:
    """Removes the stale temporary files an earlier, killed save to `path` left beside it; returns their names.

    Example:
        >>> remove_stale_temporaries("checkpoints/m.h5")
        ['.m.h5.4242-5t0cuc16.tmp']
    """
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    now = time.time() if now is None else now
    removed = []
    try:
        entries = os.listdir(folder)
    except OSError:
        return removed
    for entry in entries:
        ours, pid = _leftover_pid(entry, name)
        if not ours or (pid is not None and _running(pid)):
            continue
        full = os.path.join(folder, entry)
        try:
            if now - os.lstat(full).st_mtime < STALE_AFTER_S or not os.path.isfile(full):
                continue
            os.remove(full)
            removed.append(entry)
        except OSError:  # gone already, or not ours to remove: leave it
            continue
    return removed


def _errno_of(error: BaseException):
    """The errno of `error` or of the errors it came from; h5py's text ("errno = 28") counts."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        number = getattr(error, "errno", None)
        if number in _DISK_FULL:
            return number
        found = _H5PY_ERRNO.search(str(error))
        if found and int(found.group(1)) in _DISK_FULL:
            return int(found.group(1))
        error = error.__cause__ or error.__context__
    return None


class GuardedFile:
    """A binary file for h5py to write through that never lets a failed write reach HDF5.

    HDF5 2.0 can crash the process (a segmentation fault when the file is closed) after a write fails midway,
    as on a full disk. Through this object a failed write is recorded and reported to HDF5 as done, later writes
    are dropped, and `raise_failure()` raises the recorded OSError once h5py has closed the file normally.

    Example:
        >>> with open(temporary, "r+b", buffering=0) as raw:
        ...     sink = GuardedFile(raw)
        ...     with h5py.File(sink, "w") as f:
        ...         f["x"] = values
        ...     sink.raise_failure()
    """

    def __init__(self, raw):
        self._raw = raw
        self.failure = None

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        size = len(view)
        if self.failure is None:
            try:
                while len(view):  # an unbuffered write may write part, then fail on the rest
                    written = self._raw.write(view)
                    view = view[written or 0 :]
            except OSError as error:
                self.failure = error
        return size

    def truncate(self, size=None):
        try:
            return self._raw.truncate(size)
        except OSError as error:
            self.failure = self.failure or error
            return size

    def flush(self) -> None:
        try:
            self._raw.flush()
        except OSError as error:
            self.failure = self.failure or error

    def seek(self, offset, whence=0):
        return self._raw.seek(offset, whence)

    def tell(self):
        return self._raw.tell()

    def readinto(self, buffer):
        return self._raw.readinto(buffer)

    def read(self, size=-1):
        return self._raw.read(size)

    def raise_failure(self) -> None:
        """Raises the first write error, if any (call after h5py closed the file)."""
        if self.failure is not None:
            raise self.failure


def disk_full_error(error: BaseException, path: str, existed: bool):
    """An OSError saying in words that saving to `path` ran out of space (or size), or None for other errors.

    Example:
        >>> disk_full_error(OSError(28, "No space left on device"), "m.h5", existed=True)
        OSError(28, "cannot save to 'm.h5': no space left on the device; the previous m.h5 is unchanged")
    """
    number = _errno_of(error)
    if number is None:
        return None
    before = f"the previous {os.path.basename(path)} is unchanged" if existed else "no file was written"
    return OSError(number, f"cannot save to {path!r}: {_DISK_FULL[number]}; {before}")
