"""glibc's malloc, told to keep the memory that an engine's CPU buffers free for the next step to reuse.

A step on the CPU allocates and frees the same large blocks (activations, their gradients, XLA's scratch
buffer) every time. glibc serves a block above its mmap threshold (128 KiB, raised as large blocks are
freed, at most to 32 MiB) with a fresh `mmap`, and gives memory back to the system once more than the trim
threshold lies free at the top of its heap. Either way the next step's blocks are new pages, and the kernel
zero-fills each one on its first touch. With the mmap threshold at 512 MiB (blocks up to that size come from
the heap) and the trim threshold at 256 MiB (freed memory stays in the process up to that much), torch's
ResNet50 predict at batch 32 (its first activations are 103 MB) ran at 42 samples/s against 22.5, its training
at 13.0 against 10.7, the convlstm row at 52.8 against 36.3 (benchmarks/README.md, 2026-12-07, evening).
Peak memory: the mlp fit on torch 475 MB against 412 MB (its 188 MB training arrays now sit in the heap), the
cnn fit unchanged.

A glibc that caps the mmap threshold at half its largest heap (32 MiB) refuses 512 MiB; there the threshold
is 32 MiB, which still covers the small models' blocks (glibc 2.36 here takes 512 MiB).

Set only on glibc (other C libraries have their own policies) and only when the user has set none of
glibc's malloc variables (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`, `MALLOC_TOP_PAD_`,
`MALLOC_MMAP_MAX_`, or `glibc.malloc` tunables): setting any of them keeps glibc's behaviour as set.
"""

from __future__ import annotations

import ctypes
import os

M_TRIM_THRESHOLD = -1  # mallopt's parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLDS = (512 * 1024 * 1024, 32 * 1024 * 1024)  # the first glibc accepts: older releases cap it at 32 MiB
TRIM_THRESHOLD = 512 * 1024 * 1024
USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")

# The mmap threshold lamina set (bytes), or None when it left glibc as it was.
mmap_threshold = None


def libc_version() -> str:
    """'glibc 2.36' on a glibc system, '' elsewhere."""
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
    """Sets glibc's mmap and trim thresholds where `should_keep_freed_memory` says so; True when set.

    Example:
        >>> keep_freed_memory()  # on glibc, with no MALLOC_* variable set
        True
    """
    global mmap_threshold
    if not should_keep_freed_memory(os.environ, libc_version()):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    for threshold in MMAP_THRESHOLDS:
        if mallopt(M_MMAP_THRESHOLD, threshold):
            mmap_threshold = threshold
            return bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return False
