"""The fast float16 conversion of the written radiance and depth is numpy's, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.sim.half import to_float16


def _same_bits(a: np.ndarray) -> None:
    with np.errstate(all="ignore"):
        expected = a.astype(np.float16)
    got = to_float16(a)
    assert got.dtype == np.float16 and got.shape == a.shape
    np.testing.assert_array_equal(got.view(np.uint16), expected.view(np.uint16))


def test_every_exponent_and_rounding_case():
    """Each float32 exponent (normal, float16-subnormal, overflow, inf/NaN) with significands
    at and around every rounding tie, both signs."""
    exponents = np.arange(256, dtype=np.uint32) << np.uint32(23)
    low = np.arange(0, 1 << 15, dtype=np.uint32)  # ties sit at bit 12 (normal) and above
    sig = np.concatenate([low, (1 << 23) - 1 - low, low << np.uint32(8)]) & np.uint32(0x7FFFFF)
    bits = (exponents[:, None] | sig[None, :]).ravel()
    bits = np.concatenate([bits, bits | np.uint32(0x80000000)])
    _same_bits(bits.view(np.float32))


def test_random_bit_patterns_and_images(rng):
    _same_bits(
        rng.integers(0, 1 << 32, 2_000_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    )
    radiance = (rng.random((3, 40, 50)) ** 6 * 3e4).astype(np.float32)  # 1e-30 .. 3e4 (> max)
    radiance[0, 0, :5] = [np.inf, -np.inf, np.nan, 0.0, -0.0]
    _same_bits(radiance)
    _same_bits(radiance[:, ::2, 1:])  # a non-contiguous view


def test_rejects_other_dtypes():
    with pytest.raises(TypeError, match="float32"):
        to_float16(np.zeros(3))
