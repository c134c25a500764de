"""The torch engine keeps memory freed between steps (glibc's mmap and trim thresholds), unless the user chose.

Each case runs in a fresh interpreter: glibc's settings are per process.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import lamina
from lamina.backend.torch import _allocator

pytestmark = pytest.mark.skipif(lamina.backend.backend() != "torch", reason="the torch engine's memory settings")

# Four 20 MB blocks made and freed five times, as a train step's activations are: the count of page faults
# (each a fresh page the kernel zero-fills) after one warm-up round.
COUNT_FAULTS = """
import resource, lamina, torch

def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

def step():
    blocks = [torch.empty(5_000_000).fill_(1.0) for _ in range(4)]
    del blocks

step()
start = faults()
for _ in range(5):
    step()
print(faults() - start)
"""


def faults(**env) -> int:
    clean = {
        key: value for key, value in os.environ.items() if key not in (*_allocator.USER_SETTINGS, "GLIBC_TUNABLES")
    }
    clean.update(LAMINA_BACKEND="torch", **env)
    out = subprocess.run([sys.executable, "-c", COUNT_FAULTS], env=clean, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(not _allocator._libc().startswith("glibc"), reason="glibc's malloc")
def test_freed_blocks_are_reused_instead_of_faulted_in_again():
    kept = faults()
    # A glibc.malloc tunable at glibc's own default changes nothing but counts as the user's choice: glibc as it
    # comes. (Not MALLOC_MMAP_MAX_: setting it, even to its default, also stops glibc raising its mmap threshold.)
    as_glibc_comes = faults(GLIBC_TUNABLES="glibc.malloc.tcache_count=7")
    # Measured: 24,335-97,448 faults as glibc comes (of 97,656 pages in the 400 MB), 0-4,883 kept.
    assert as_glibc_comes > 20_000
    assert kept < as_glibc_comes / 4


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
    assert _allocator.should_keep_freed_memory(environ, libc) is expected
