"""The explicit-SIMD dot products and axpys against numpy, at every length of partial vector."""

import numpy as np
import pytest
from numba import njit
from numba.core.errors import TypingError

from sgdlogit import _simd

# up to three whole vectors of float32 (six of float64) and every partial vector after them
LENGTHS = range(0, 3 * 16 + 2)


@njit
def _pair_dots(w, x, x2, n):
    return _simd.pair_dots(w, x, x2, n)


@njit
def _quad_axpy(g, d, X, n):
    _simd.quad_axpy(g, d[0], X[0], d[1], X[1], d[2], X[2], d[3], X[3], n)


def _rows(n, dtype, n_rows, seed):
    """``n_rows`` rows of ``n`` random values followed by NaNs, which must never be read."""
    rows = np.full((n_rows, n + 17), np.nan, dtype=dtype)
    rows[:, :n] = np.random.default_rng(seed).standard_normal((n_rows, n))
    return rows


def _tolerance(dtype, magnitude):
    return 8 * np.finfo(dtype).eps * magnitude


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pair_dots_match_numpy_and_read_no_element_past_n(dtype):
    for n in LENGTHS:
        w, x, x2 = _rows(n, dtype, 3, seed=n)
        got = _pair_dots(w, x, x2, n)
        for row, product in zip((x, x2), got, strict=True):
            terms = w[:n].astype(np.float64) * row[:n]
            assert abs(product - terms.sum()) <= _tolerance(dtype, np.abs(terms).sum()), n
        assert all(isinstance(p, (float, dtype)) for p in got)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("room", [0, 17], ids=["g of n elements", "g with room"])
def test_quad_axpy_matches_numpy_and_writes_no_element_past_n(dtype, room):
    # a g of n elements takes the partial vector in a masked store, one with room for a
    # whole vector past n reads and writes it whole: either way nothing past n changes
    factors = np.array([0.5, -2.0, 3.0, 1.25], dtype=dtype)
    for n in LENGTHS:
        X = _rows(n, dtype, 4, seed=n)
        buffer = np.random.default_rng(n + 100).standard_normal(n + 17).astype(dtype)
        expected = buffer.astype(np.float64)
        expected[:n] += factors.astype(np.float64) @ X[:, :n]
        _quad_axpy(buffer[: n + room], factors, X, n)
        magnitude = np.abs(expected[:n]).max(initial=0) + np.abs(factors) @ np.abs(X[:, :n])
        error = np.abs(buffer[:n] - expected[:n])
        np.testing.assert_array_less(error, _tolerance(dtype, magnitude) + 1e-30)
        np.testing.assert_array_equal(buffer[n:], expected[n:].astype(dtype))


def test_rows_of_other_layouts_or_dtypes_are_refused():
    w = np.ones(8)
    with pytest.raises(TypingError):
        _pair_dots(w, np.ones((8, 2))[:, 0], w, 8)  # a strided column
    with pytest.raises(TypingError):
        _pair_dots(w, w.astype(np.float32), w, 8)  # mixed dtypes
    with pytest.raises(TypingError):
        _pair_dots(w.astype(np.int64), w.astype(np.int64), w.astype(np.int64), 8)
