"""Tests of the scalar-model helpers appended to bptt_core.scalar: the seeded b_t, c_t draw, the
typical growth E log10|c_t|, and the recursion against the sum of its terms in log space."""

from __future__ import annotations

import numpy as np
import pytest

from bptt_core import (compare_recursion_and_terms, log10_growth, scalar_recursion, scalar_sequences,
                       scalar_terms)


def test_sequences_are_seeded_and_in_range():
    b, c = scalar_sequences(500, 0.7, 0.2, seed=3)
    assert b.shape == c.shape == (500,)
    b2, c2 = scalar_sequences(500, 0.7, 0.2, seed=3)
    assert np.array_equal(b, b2) and np.array_equal(c, c2)
    assert not np.array_equal(b, scalar_sequences(500, 0.7, 0.2, seed=4)[0])
    assert c.min() >= 0.5 and c.max() <= 0.9 and c.std() > 0.05
    assert abs(b.mean()) < 0.2 and 0.8 < b.std() < 1.2
    b0, c0 = scalar_sequences(10, -1.5, 0.0, seed=3)
    assert np.all(c0 == -1.5)
    # b does not depend on c or its noise (same seed, same b).
    assert np.array_equal(b0, scalar_sequences(10, 2.0, 0.5, seed=3)[0])


def test_sequences_validate():
    with pytest.raises(ValueError, match="T"):
        scalar_sequences(0, 0.5)
    with pytest.raises(ValueError, match="c_noise"):
        scalar_sequences(5, 0.5, -0.1)
    with pytest.raises(ValueError, match="c"):
        scalar_sequences(5, float("nan"))


@pytest.mark.parametrize("c, n", [(0.9, 0.3), (0.0, 0.5), (1.0, 1.0), (-2.0, 0.7), (0.2, 0.5), (3.0, 1.0)])
def test_growth_is_the_mean_log_of_c(c, n):
    # Midpoint rule on a fine grid (log|x| is integrable at 0).
    x = np.linspace(c - n, c + n, 2_000_001)
    mid = 0.5 * (x[1:] + x[:-1])
    want = np.mean(np.log10(np.abs(mid)))
    assert log10_growth(c, n) == pytest.approx(want, abs=1e-5)


def test_growth_constant_c():
    assert log10_growth(0.5) == pytest.approx(np.log10(0.5))
    assert log10_growth(-3.0) == pytest.approx(np.log10(3.0))
    assert log10_growth(1.0) == 0.0
    assert log10_growth(0.0) == -np.inf
    with pytest.raises(ValueError, match="c_noise"):
        log10_growth(1.0, -1.0)


@pytest.mark.parametrize("c, n", [(0.9, 0.0), (-0.8, 0.3), (1.0, 0.5), (1.3, 0.0), (-1.6, 0.2)])
def test_recursion_and_sum_agree_where_float64_suffices(c, n):
    b, cs = scalar_sequences(80, c, n, seed=1)
    check = compare_recursion_and_terms(b, cs)
    a = scalar_recursion(b, cs)
    assert np.all(np.isfinite(a))
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(check.log10_recursion, np.log10(np.abs(a)), atol=1e-10)
    np.testing.assert_array_equal(check.sign_recursion, np.sign(a))
    assert check.gap.max() < 1e-12
    # The sum is the sum of scalar_terms' values for each t.
    for t in (1, 40, 80):
        v = scalar_terms(b, cs, t).values()
        assert check.log10_total[t - 1] == pytest.approx(np.log10(np.abs(v).sum()), abs=1e-12)
        assert check.sign_sum[t - 1] * 10 ** check.log10_sum[t - 1] == pytest.approx(v.sum(), rel=1e-9)


def test_finite_where_the_recursion_overflows():
    b, c = scalar_sequences(1000, 3.0, 0.0, seed=0)
    assert not np.isfinite(scalar_recursion(b, c)[-1])
    check = compare_recursion_and_terms(b, c)
    for arr in (check.log10_recursion, check.log10_sum, check.log10_total, check.gap):
        assert np.isfinite(arr).all()
    assert check.log10_recursion[-1] > 400
    assert check.gap.max() < 1e-12
    np.testing.assert_allclose(check.log10_recursion, check.log10_sum, atol=1e-9)


def test_zero_c_and_zero_b():
    b = np.array([1.0, -2.0, 0.0, 4.0])
    c = np.array([0.5, 0.0, 2.0, 0.5])
    check = compare_recursion_and_terms(b, c)
    a = scalar_recursion(b, c)  # 1, −2, −4, 2
    np.testing.assert_allclose(a, [1.0, -2.0, -4.0, 2.0])
    np.testing.assert_allclose(check.sign_sum * 10 ** check.log10_sum, a, rtol=1e-14)
    np.testing.assert_allclose(check.sign_recursion * 10 ** check.log10_recursion, a, rtol=1e-14)
    assert np.all(check.gap == 0.0)
    all_zero = compare_recursion_and_terms(np.zeros(3), np.ones(3))
    assert np.all(all_zero.log10_sum == -np.inf) and np.all(all_zero.gap == 0.0)
    assert np.all(all_zero.sign_recursion == 0.0)


def test_butterfly_distance_finite_while_the_states_are():
    # Identity φ, W_hh = 3 I: h_t − h̃_t = 3^t ε u stays finite up to ~1e308, past where squaring would overflow.
    from bptt_core import RNN, butterfly
    h = 4
    rnn = RNN(np.ones((h, 1)), 3.0 * np.eye(h), np.ones((1, h)), activation="identity")
    X = np.zeros((700, 1))
    dist = butterfly(rnn, X, eps=1e-8)
    t = np.arange(701)
    finite = t * np.log10(3.0) - 8 < 300
    np.testing.assert_allclose(dist[finite], 1e-8 * 3.0 ** t[finite].astype(float), rtol=1e-12)
    assert finite.sum() > 330  # well past 1e154, where a plain norm would already be inf
