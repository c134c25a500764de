"""glibc's malloc, told to keep the memory that torch's CPU tensors free for the next step to reuse.

A train step on the CPU allocates and frees the same large blocks (activations, their gradients) every
step. glibc serves a block above its mmap threshold (128 KiB, raised as large blocks are freed) with a
fresh `mmap`, and gives memory back to the system once more than the trim threshold lies free at the top
of its heap. Either way the next step's blocks are new pages, and the kernel zero-fills each one on its
first touch: for bench.py's cnn on torch (19 MB activations) that was about a sixth of the step. With the
mmap threshold at glibc's largest (32 MiB, so blocks up to that size come from the heap) and the trim
threshold at 256 MiB (freed memory stays in the process up to that much), the cnn trained at 1,450-1,517
samples/s against 1,182-1,277 (a plain torch loop, same minutes); the peak memory did not change (465-487
MB either way). Blocks above 32 MiB still come from `mmap` and go back when freed.

Set only on glibc (other C libraries have their own policies) and only when the user has set none of
glibc's malloc variables (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`, `MALLOC_TOP_PAD_`,
`MALLOC_MMAP_MAX_`, or `glibc.malloc` tunables): setting any of them keeps glibc's behaviour as set.
"""

from __future__ import annotations

import ctypes
import os

M_TRIM_THRESHOLD = -1  # mallopt's parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # the largest glibc accepts on 64-bit systems
TRIM_THRESHOLD = 256 * 1024 * 1024
USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")


def _libc() -> str:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (AttributeError, ValueError, OSError):
        return ""  # not a glibc system


def should_keep_freed_memory(environ, libc: str) -> bool:
    """Whether lamina sets the thresholds: glibc, and none of its malloc settings chosen by the user.

    Example:
        >>> should_keep_freed_memory({}, "glibc 2.36")
        True
        >>> should_keep_freed_memory({"MALLOC_TRIM_THRESHOLD_": "0"}, "glibc 2.36")
        False
    """
    if not libc.startswith("glibc"):
        return False
    if any(name in environ for name in USER_SETTINGS):
        return False
    return "glibc.malloc" not in environ.get("GLIBC_TUNABLES", "")


def keep_freed_memory() -> bool:
    """Sets glibc's mmap and trim thresholds where `should_keep_freed_memory` says so; True when set."""
    if not should_keep_freed_memory(os.environ, _libc()):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
