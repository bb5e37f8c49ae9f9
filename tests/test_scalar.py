"""Tests of bptt_core.scalar: the section's scalar recursion a_t = b_t + c_t a_{t-1},
its unrolled terms in log space, and the butterfly effect."""

from __future__ import annotations

import numpy as np
import pytest

from bptt_core import RNN, butterfly, init_rnn, scalar_recursion, scalar_terms


def check_terms_sum_to_recursion(b, c):
    a = scalar_recursion(b, c)
    assert a.shape == b.shape
    for t in range(1, b.size + 1):
        terms = scalar_terms(b, c, t)
        v = terms.values()
        assert v.shape == (t,)
        # rtol 1e-10, with an absolute floor for cancellation among mixed-sign terms.
        scale = np.abs(v).sum()
        assert abs(v.sum() - a[t - 1]) <= 1e-10 * abs(a[t - 1]) + 1e-13 * scale, t


def brute_terms(b, c, t):
    """(Π_{j=i+1..t} c_j) b_i for i = 1..t, by plain products."""
    return np.array([np.prod(c[i:t]) * b[i - 1] for i in range(1, t + 1)])


@pytest.mark.parametrize("cval", [0.5, 0.9, -0.7, 1.0, 1.3, -1.6])
def test_terms_sum_to_recursion_constant_c(cval):
    rng = np.random.default_rng(0)
    T = 60
    b = rng.standard_normal(T)
    c = np.full(T, cval)
    check_terms_sum_to_recursion(b, c)


@pytest.mark.parametrize("scale", [0.5, 1.0, 1.8])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_terms_sum_to_recursion_random_c(scale, seed):
    rng = np.random.default_rng(seed)
    T = 50
    b = rng.standard_normal(T)
    c = scale * rng.uniform(-1.0, 1.0, T) * 1.5  # moduli on both sides of 1 for scale ≥ 1
    check_terms_sum_to_recursion(b, c)


def test_terms_are_the_products():
    rng = np.random.default_rng(3)
    b, c = rng.standard_normal(12), rng.uniform(-2, 2, 12)
    for t in [1, 5, 12]:
        np.testing.assert_allclose(scalar_terms(b, c, t).values(), brute_terms(b, c, t), rtol=1e-12)
    # t defaults to T.
    np.testing.assert_array_equal(scalar_terms(b, c).log10_abs, scalar_terms(b, c, 12).log10_abs)


def test_first_term_and_last_term():
    b = np.array([2.0, -3.0, 5.0, 7.0])
    c = np.array([10.0, 0.5, -4.0, 2.0])
    v = scalar_terms(b, c).values()
    # i = t: empty product, the term is b_t itself; i = 1: c_2 c_3 c_4 b_1 (c_1 never used).
    assert v[-1] == pytest.approx(7.0, rel=1e-14)
    assert v[0] == pytest.approx(0.5 * -4.0 * 2.0 * 2.0, rel=1e-14)


def test_zeros_in_c_give_exact_zero_terms():
    rng = np.random.default_rng(4)
    b = rng.standard_normal(10)
    c = rng.uniform(0.5, 2.0, 10)
    c[6] = 0.0  # c_7 = 0: terms i = 1..6 of every a_t with t ≥ 7 vanish
    terms = scalar_terms(b, c, 10)
    assert np.all(terms.values()[:6] == 0.0)
    assert np.all(terms.sign[:6] == 0.0)
    assert np.all(terms.log10_abs[:6] == -np.inf)
    assert np.all(terms.values()[6:] != 0.0)
    check_terms_sum_to_recursion(b, c)
    # Zeros in b: exact zero terms too.
    b[2] = 0.0
    t3 = scalar_terms(b, np.ones(10), 10)
    assert t3.values()[2] == 0.0 and t3.log10_abs[2] == -np.inf


def test_log_space_finite_where_recursion_overflows():
    T = 1000
    b = np.ones(T)
    c = np.full(T, 3.0)
    a = scalar_recursion(b, c)
    assert not np.isfinite(a[-1])  # 3^999 overflows float64
    terms = scalar_terms(b, c)
    assert np.isfinite(terms.log10_abs).all()
    np.testing.assert_allclose(terms.log10_abs, np.arange(T - 1, -1, -1) * np.log10(3.0), rtol=1e-12)
    assert np.all(terms.sign == 1.0)
    assert terms.log10_abs.max() > 470


def test_vanishing_terms_for_small_c():
    T = 200
    terms = scalar_terms(np.ones(T), np.full(T, 0.5))
    np.testing.assert_allclose(terms.log10_abs, np.arange(T - 1, -1, -1) * np.log10(0.5), atol=1e-12)
    assert terms.values()[0] < 1e-59


def test_signs_for_negative_c():
    T = 7
    b = np.array([1.0, -1.0, 1.0, 1.0, -2.0, 1.0, 3.0])
    c = np.full(T, -2.0)
    terms = scalar_terms(b, c)
    want = brute_terms(b, c, T)
    np.testing.assert_array_equal(terms.sign, np.sign(want))
    np.testing.assert_allclose(terms.values(), want, rtol=1e-13)
    # Alternating signs for constant b: (−2)^{t−i}.
    s = scalar_terms(np.ones(T), c).sign
    np.testing.assert_array_equal(s, [1, -1, 1, -1, 1, -1, 1])


def test_scalar_recursion_values():
    b = np.array([1.0, 2.0, 3.0])
    c = np.array([9.0, 0.5, -1.0])
    # a_1 = 1, a_2 = 2 + 0.5·1 = 2.5, a_3 = 3 − 2.5 = 0.5
    np.testing.assert_array_equal(scalar_recursion(b, c), [1.0, 2.5, 0.5])


# --- butterfly --------------------------------------------------------------------------------

def identity_rnn(scale, h=4):
    return RNN(np.ones((h, 1)), scale * np.eye(h), np.ones((1, h)), activation="identity")


def test_butterfly_shape_and_start():
    rnn = init_rnn(2, 5, 1, activation="tanh", spectral_radius=0.9, seed=0)
    X = np.random.default_rng(0).standard_normal((30, 2))
    dist = butterfly(rnn, X, eps=1e-6, seed=1)
    assert dist.shape == (31,)
    assert dist[0] == pytest.approx(1e-6, rel=1e-9)
    assert np.all(dist >= 0)


def test_butterfly_grows_when_exploding_and_shrinks_when_contracting():
    T = 40
    X0 = np.zeros((T, 1))  # base trajectory h_t = 0: the distance carries no cancellation
    grow = butterfly(identity_rnn(1.5), X0, eps=1e-8)
    shrink = butterfly(identity_rnn(0.5), X0, eps=1e-8)
    # Identity activation, W_hh = s I: the difference is s^t ε u exactly.
    np.testing.assert_allclose(grow, 1e-8 * 1.5 ** np.arange(T + 1), rtol=1e-12)
    np.testing.assert_allclose(shrink, 1e-8 * 0.5 ** np.arange(T + 1), rtol=1e-12)
    # With real inputs the same holds up to the rounding of the two trajectories.
    X = np.random.default_rng(1).standard_normal((20, 1))
    grow = butterfly(identity_rnn(1.5), X, eps=1e-3)
    shrink = butterfly(identity_rnn(0.5), X, eps=1e-3)
    np.testing.assert_allclose(grow, 1e-3 * 1.5 ** np.arange(21), rtol=1e-6)
    np.testing.assert_allclose(shrink, 1e-3 * 0.5 ** np.arange(21), rtol=1e-6)
    assert np.all(np.diff(grow) > 0) and np.all(np.diff(shrink) < 0)


def test_butterfly_seeded():
    rnn = init_rnn(2, 5, 1, activation="tanh", spectral_radius=1.5, seed=0)
    X = np.random.default_rng(0).standard_normal((20, 2))
    assert np.array_equal(butterfly(rnn, X, seed=3), butterfly(rnn, X, seed=3))
    assert not np.array_equal(butterfly(rnn, X, seed=3), butterfly(rnn, X, seed=4))
