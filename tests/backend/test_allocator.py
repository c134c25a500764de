"""Both engines keep memory freed between steps (glibc's mmap and trim thresholds), unless the user chose.

Each case runs in a fresh interpreter: glibc's settings are per process.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import lamina
from lamina.backend.common import allocator

glibc_only = pytest.mark.skipif(not allocator.libc_version().startswith("glibc"), reason="glibc's malloc")

# Blocks malloc'ed, filled and freed five times, as a step's activations are: the count of page faults
# (each a fresh page the kernel zero-fills) after one warm-up round. Importing lamina picks the engine. (Plain
# malloc, as the engines' CPU buffers: NumPy asks for huge pages, which fault 512 pages at a time.)
COUNT_FAULTS = """
import ctypes, resource, sys, lamina
from lamina.backend.common import allocator

libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, (ctypes.c_size_t,)
libc.free.argtypes = (ctypes.c_void_p,)

def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

def step(size, count):
    blocks = [libc.malloc(4 * size) for _ in range(count)]
    for block in blocks:
        ctypes.memset(block, 1, 4 * size)
    for block in blocks:
        libc.free(block)

size, count = int(sys.argv[1]), int(sys.argv[2])
step(size, count)
start = faults()
for _ in range(5):
    step(size, count)
print(allocator.mmap_threshold, faults() - start)
"""


def faults(size: int, count: int, **env) -> tuple:
    """(the mmap threshold lamina set, page faults) of `count` blocks of `size` floats, in a fresh interpreter."""
    clean = {key: value for key, value in os.environ.items() if key not in (*allocator.USER_SETTINGS, "GLIBC_TUNABLES")}
    clean.update(LAMINA_BACKEND=lamina.backend.backend(), **env)
    command = [sys.executable, "-c", COUNT_FAULTS, str(size), str(count)]
    out = subprocess.run(command, env=clean, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    threshold, count = out.stdout.split()[-2:]
    return None if threshold == "None" else int(threshold), int(count)


@glibc_only
def test_freed_blocks_are_reused_instead_of_faulted_in_again():
    threshold, kept = faults(5_000_000, 4)  # four 20 MB blocks
    # A glibc.malloc tunable at glibc's own default changes nothing but counts as the user's choice: glibc as it
    # comes. (Not MALLOC_MMAP_MAX_: setting it, even to its default, also stops glibc raising its mmap threshold.)
    unset, as_glibc_comes = faults(5_000_000, 4, GLIBC_TUNABLES="glibc.malloc.tcache_count=7")
    assert threshold in allocator.MMAP_THRESHOLDS and unset is None
    # Measured: 24,335-97,448 faults as glibc comes (of 97,656 pages in the 400 MB), 0-4,883 kept.
    assert as_glibc_comes > 20_000
    assert kept < as_glibc_comes / 4


@glibc_only
def test_blocks_above_32_mib_are_reused_where_glibc_takes_the_higher_threshold():
    # Two 100 MB blocks (ResNet50's first activations at batch 32 are 103 MB): 200 MB, within the trim threshold.
    threshold, kept = faults(25_000_000, 2)
    if threshold != allocator.MMAP_THRESHOLDS[0]:
        pytest.skip(f"this glibc caps the mmap threshold at {threshold} bytes")
    _, as_glibc_comes = faults(25_000_000, 2, MALLOC_TOP_PAD_="131072")  # glibc's default, set by the user
    # Each round is 48,828 fresh pages as glibc comes (the blocks are always above its 32 MiB threshold).
    assert as_glibc_comes > 5 * 45_000
    assert kept < as_glibc_comes / 10


@pytest.mark.parametrize(
    "environ, libc, expected",
    [
        ({}, "glibc 2.36", True),
        ({"MALLOC_TRIM_THRESHOLD_": "131072"}, "glibc 2.36", False),
        ({"MALLOC_MMAP_THRESHOLD_": "0"}, "glibc 2.36", False),
        ({"MALLOC_TOP_PAD_": "0"}, "glibc 2.36", False),
        ({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"}, "glibc 2.36", False),
        ({"GLIBC_TUNABLES": "glibc.pthread.rseq=0"}, "glibc 2.36", True),
        ({}, "", False),  # musl, macOS: their own allocators
    ],
)
def test_only_glibc_and_only_when_the_user_set_nothing(environ, libc, expected):
    assert allocator.should_keep_freed_memory(environ, libc) is expected
