"""The string hashes behind Keras's `Hashing` and `HashedCrossing`, in plain Python.

Keras hashes each value's text (integers as their decimal digits) with TensorFlow's
`Fingerprint64` (FarmHash's 64-bit hash, `to_hash_bucket_fast`), or with SipHash-2-4
keyed by the salt (`to_hash_bucket_strong`); `HashedCrossing` chains the features'
fingerprints with `FingerprintCat64`. These are written out here from the published
algorithms so that lamina puts every value in the bin Keras puts it in.

Example:
    >>> fingerprint64(b"hello") % 10
"""

from __future__ import annotations

import numpy as np

_MASK = (1 << 64) - 1
_K0 = 0xC3A5C85C97CB3127
_K1 = 0xB492B66FBE98F273
_K2 = 0x9AE16A3B2F90404F
_KMUL = 0x9DDFEA08EB382D69
_CAT_MUL = 0xC6A4A7935BD1E995
DEFAULT_CROSS_KEY = 0xDECAFCAFFE  # TensorFlow's `sparse.cross_hashed` key when none is given


def _fetch64(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 8], "little")


def _fetch32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 4], "little")


def _rotate(value: int, shift: int) -> int:
    return value if shift == 0 else ((value >> shift) | (value << (64 - shift))) & _MASK


def _shift_mix(value: int) -> int:
    return value ^ (value >> 47)


def _hash_16(u: int, v: int, mul: int = _KMUL) -> int:
    a = ((u ^ v) * mul) & _MASK
    a ^= a >> 47
    b = ((v ^ a) * mul) & _MASK
    b ^= b >> 47
    return (b * mul) & _MASK


def _hash_0_to_16(data: bytes) -> int:
    size = len(data)
    if size >= 8:
        mul = _K2 + size * 2
        a = (_fetch64(data, 0) + _K2) & _MASK
        b = _fetch64(data, size - 8)
        c = (_rotate(b, 37) * mul + a) & _MASK
        d = ((_rotate(a, 25) + b) * mul) & _MASK
        return _hash_16(c, d, mul)
    if size >= 4:
        mul = _K2 + size * 2
        return _hash_16(size + (_fetch32(data, 0) << 3), _fetch32(data, size - 4), mul)
    if size > 0:
        y = data[0] + (data[size >> 1] << 8)
        z = size + (data[size - 1] << 2)
        return (_shift_mix(((y * _K2) ^ (z * _K0)) & _MASK) * _K2) & _MASK
    return _K2


def _hash_17_to_32(data: bytes) -> int:
    size = len(data)
    mul = _K2 + size * 2
    a = (_fetch64(data, 0) * _K1) & _MASK
    b = _fetch64(data, 8)
    c = (_fetch64(data, size - 8) * mul) & _MASK
    d = (_fetch64(data, size - 16) * _K2) & _MASK
    u = (_rotate((a + b) & _MASK, 43) + _rotate(c, 30) + d) & _MASK
    v = (a + _rotate((b + _K2) & _MASK, 18) + c) & _MASK
    return _hash_16(u, v, mul)


def _hash_33_to_64(data: bytes) -> int:
    size = len(data)
    mul = _K2 + size * 2
    a = (_fetch64(data, 0) * _K2) & _MASK
    b = _fetch64(data, 8)
    c = (_fetch64(data, size - 8) * mul) & _MASK
    d = (_fetch64(data, size - 16) * _K2) & _MASK
    y = (_rotate((a + b) & _MASK, 43) + _rotate(c, 30) + d) & _MASK
    z = _hash_16(y, (a + _rotate((b + _K2) & _MASK, 18) + c) & _MASK, mul)
    e = (_fetch64(data, 16) * mul) & _MASK
    f = _fetch64(data, 24)
    g = ((y + _fetch64(data, size - 32)) * mul) & _MASK
    h = ((z + _fetch64(data, size - 24)) * mul) & _MASK
    u = (_rotate((e + f) & _MASK, 43) + _rotate(g, 30) + h) & _MASK
    v = (e + _rotate((f + a) & _MASK, 18) + g) & _MASK
    return _hash_16(u, v, mul)


def _weak_32(data: bytes, at: int, a: int, b: int) -> tuple[int, int]:
    w, x, y, z = (_fetch64(data, at + 8 * i) for i in range(4))
    a = (a + w) & _MASK
    b = _rotate((b + a + z) & _MASK, 21)
    c = a
    a = (a + x + y) & _MASK
    b = (b + _rotate(a, 44)) & _MASK
    return (a + z) & _MASK, (b + c) & _MASK


def _long_round(data, at, state, mul, extra_mix):
    x, y, z, v, w = state
    x = (_rotate((x + y + v[0] + _fetch64(data, at + 8)) & _MASK, 37) * mul) & _MASK
    y = (_rotate((y + v[1] + _fetch64(data, at + 48)) & _MASK, 42) * mul) & _MASK
    x ^= (w[1] * extra_mix) & _MASK
    y = (y + v[0] * extra_mix + _fetch64(data, at + 40)) & _MASK
    z = (_rotate((z + w[0]) & _MASK, 33) * mul) & _MASK
    v = _weak_32(data, at, (v[1] * mul) & _MASK, (x + w[0]) & _MASK)
    w = _weak_32(data, at + 32, (z + w[1]) & _MASK, (y + _fetch64(data, at + 16)) & _MASK)
    return z, y, x, v, w  # x and z trade places after each round


def _hash_long(data: bytes) -> int:
    size = len(data)
    seed = 81
    y = (seed * _K1 + 113) & _MASK
    z = (_shift_mix((y * _K2 + 113) & _MASK) * _K2) & _MASK
    x = (seed * _K2 + _fetch64(data, 0)) & _MASK
    state = (x, y, z, (0, 0), (0, 0))
    end = ((size - 1) // 64) * 64
    for at in range(0, end, 64):
        state = _long_round(data, at, state, _K1, 1)
    x, y, z, v, w = state
    mul = _K1 + ((z & 0xFF) << 1)
    last = end + ((size - 1) & 63) - 63
    w0 = (w[0] + ((size - 1) & 63)) & _MASK
    v0 = (v[0] + w0) & _MASK
    w0 = (w0 + v0) & _MASK
    x, y, z, v, w = _long_round(data, last, (x, y, z, (v0, v[1]), (w0, w[1])), mul, 9)
    first = (_hash_16(v[0], w[0], mul) + _shift_mix(y) * _K0 + z) & _MASK
    return _hash_16(first, (_hash_16(v[1], w[1], mul) + x) & _MASK, mul)


def fingerprint64(data: bytes) -> int:
    """TensorFlow's `Fingerprint64` (FarmHash `Hash64`) of `data`, as an unsigned 64-bit int.

    Example:
        >>> fingerprint64(b"")
        11160318154034397263
    """
    size = len(data)
    if size <= 16:
        return _hash_0_to_16(data)
    if size <= 32:
        return _hash_17_to_32(data)
    if size <= 64:
        return _hash_33_to_64(data)
    return _hash_long(data)


def _rotl(value: int, shift: int) -> int:
    return ((value << shift) | (value >> (64 - shift))) & _MASK


def _sip_rounds(v: list, count: int) -> None:
    for _ in range(count):
        v[0] = (v[0] + v[1]) & _MASK
        v[1] = _rotl(v[1], 13) ^ v[0]
        v[0] = _rotl(v[0], 32)
        v[2] = (v[2] + v[3]) & _MASK
        v[3] = _rotl(v[3], 16) ^ v[2]
        v[0] = (v[0] + v[3]) & _MASK
        v[3] = _rotl(v[3], 21) ^ v[0]
        v[2] = (v[2] + v[1]) & _MASK
        v[1] = _rotl(v[1], 17) ^ v[2]
        v[2] = _rotl(v[2], 32)


def siphash24(data: bytes, key: tuple[int, int]) -> int:
    """SipHash-2-4 of `data` under the 128-bit key `(k0, k1)` (TensorFlow's strong string hash).

    Example:
        >>> siphash24(b"a", (1, 2)) < 2**64
        True
    """
    k0, k1 = (int(k) & _MASK for k in key)
    v = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D, k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573]
    size = len(data)
    tail = size - size % 8
    blocks = [_fetch64(data, at) for at in range(0, tail, 8)]
    blocks.append(int.from_bytes(data[tail:], "little") | ((size & 0xFF) << 56))
    for block in blocks:
        v[3] ^= block
        _sip_rounds(v, 2)
        v[0] ^= block
    v[2] ^= 0xFF
    _sip_rounds(v, 4)
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def fingerprint_cat64(first: int, second: int) -> int:
    """TensorFlow's `FingerprintCat64`: two fingerprints combined, order-dependent.

    Example:
        >>> fingerprint_cat64(1, 2) != fingerprint_cat64(2, 1)
        True
    """
    result = first ^ _CAT_MUL
    result ^= (_shift_mix((second * _CAT_MUL) & _MASK) * _CAT_MUL) & _MASK
    result = (result * _CAT_MUL) & _MASK
    result = (_shift_mix(result) * _CAT_MUL) & _MASK
    return _shift_mix(result)


def value_bytes(value) -> bytes:
    """A value's text as Keras hashes it: str and bytes as they are, numbers as integer digits."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (float, np.floating)):
        value = int(value)  # Keras casts float inputs to int64 before hashing them
    return str(int(value)).encode("ascii")


def hash_array(values: np.ndarray, num_bins: int, salt=None) -> np.ndarray:
    """Each element's bin in `[0, num_bins)`: FarmHash, or SipHash keyed by `salt` (two ints).

    Example:
        >>> hash_array(np.array([1, 2, 3]), 4).shape
        (3,)
    """
    flat = np.asarray(values, dtype=object).reshape(-1)
    if salt is None:
        bins = [fingerprint64(value_bytes(v)) % num_bins for v in flat]
    else:
        bins = [siphash24(value_bytes(v), salt) % num_bins for v in flat]
    return np.asarray(bins, dtype="int64").reshape(np.shape(values))
