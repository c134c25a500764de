"""XLA:CPU's defaults that lamina changes, set in `XLA_FLAGS` before JAX starts its CPU client.

jaxlib 0.10 hands every convolution to YNNPACK (`individual_convolution` is in the default list of
`--xla_cpu_experimental_ynn_fusion_type`). On the 2-core AVX2 machine of benchmarks/README.md that is
4-5x slower than XLA's own (Eigen) convolutions: one 3x3, 32 -> 64 convolution over 128 x 26 x 26
inputs took 88-92 ms forward and 387-432 ms forward and backward through YNNPACK, 22 ms and 88 ms
without it (torch's oneDNN: 17 and 59), and bench.py's cnn trains 2.8x faster. So lamina removes that
one entry (`=-individual_convolution`) and keeps the rest of XLA's list. The flag is experimental, and
an XLA that does not know a flag or a value stops the process when it reads it, so it is set only for
the jaxlib releases it was measured on.

A user's own choice wins: nothing is added when `XLA_FLAGS` already names `ynn_fusion_type`, and
nothing changes once JAX has started its backends (XLA reads the variable once, then).
"""

from __future__ import annotations

import importlib.metadata
import os

YNN_FLAG = "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution"
# jaxlib releases whose XLA knows the flag and value and whose numbers were checked with it (the whole suite).
MEASURED_RELEASES = ((0, 10),)


def _release(version: str) -> tuple[int, int] | None:
    parts = version.split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return None


def flags_without_ynnpack_convolutions(flags: str | None, jaxlib_version: str) -> str | None:
    """`flags` with convolutions kept from YNNPACK, or None where they stay as they are.

    They stay where they already choose YNNPACK's fusions, or where the jaxlib is not one measured.

    Example:
        >>> flags_without_ynnpack_convolutions("--xla_force_host_platform_device_count=8", "0.10.2")
        '--xla_force_host_platform_device_count=8 --xla_cpu_experimental_ynn_fusion_type=-individual_convolution'
        >>> flags_without_ynnpack_convolutions(None, "0.4.30") is None
        True
    """
    if "ynn_fusion_type" in (flags or "") or _release(jaxlib_version) not in MEASURED_RELEASES:
        return None
    return f"{flags or ''} {YNN_FLAG}".strip()


def keep_convolutions_from_ynnpack() -> None:
    """Adds the flag to `XLA_FLAGS` where `flags_without_ynnpack_convolutions` says so."""
    try:
        version = importlib.metadata.version("jaxlib")
    except importlib.metadata.PackageNotFoundError:
        return
    flags = flags_without_ynnpack_convolutions(os.environ.get("XLA_FLAGS"), version)
    if flags is not None:
        os.environ["XLA_FLAGS"] = flags
