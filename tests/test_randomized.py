"""Tests of bptt_core.randomized: the randomized-truncation estimator is unbiased,
its vectorised samples equal single bptt runs, and its Monte-Carlo statistics."""

from __future__ import annotations

import numpy as np
import pytest

from bptt_core import (ACTIVATIONS, Full, Randomized, bptt, init_rnn, randomized_expectation,
                       randomized_monte_carlo, randomized_xi, sampled_gradients, xi_patterns)


def problem(T, act="tanh", loss="mse", batch=None, rho=1.2, seed=0, d=3, h=4, q=3):
    rnn = init_rnn(d, h, q, activation=act, spectral_radius=rho, seed=seed)
    rng = np.random.default_rng(seed + 1)
    X = rng.standard_normal((T, d) if batch is None else (T, batch, d))
    if loss == "mse":
        Y = rng.standard_normal(X.shape[:-1] + (q,))
    else:
        Y = rng.integers(0, q, X.shape[:-1])
    return rnn, X, Y


def rel_err(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("loss", ["mse", "xent"])
@pytest.mark.parametrize("batch", [None, 3])
def test_expectation_equals_full_gradient(act, loss, batch):
    for T in [1, 2, 5, 8]:
        rnn, X, Y = problem(T, act, loss, batch, seed=10 + T)
        exact = bptt(rnn, X, Y, Full(), loss=loss).flat()
        assert np.linalg.norm(exact) > 0
        for pi in [0.1, 0.35, 0.5, 0.9, 1.0]:
            e = randomized_expectation(rnn, X, Y, pi, loss=loss)
            assert e.shape == exact.shape
            assert rel_err(e, exact) < 1e-12, (T, pi)


def test_expectation_with_h0():
    rnn, X, Y = problem(6, "sigmoid", "mse")
    h0 = np.random.default_rng(9).standard_normal(4)
    exact = bptt(rnn, X, Y, loss="mse", h0=h0).flat()
    assert rel_err(randomized_expectation(rnn, X, Y, 0.3, h0=h0), exact) < 1e-12
    assert rel_err(bptt(rnn, X, Y).flat(), exact) > 1e-6  # h0 matters


def test_a_single_draw_is_biased_but_the_mean_is_not():
    rnn, X, Y = problem(8, "tanh", "mse")
    exact = bptt(rnn, X, Y).flat()
    xi, prob = xi_patterns(8, 0.5)
    assert xi.shape == (256, 8) and prob.sum() == pytest.approx(1.0, abs=1e-15)
    G = sampled_gradients(rnn, X, Y, xi)
    assert np.max([rel_err(g, exact) for g in G]) > 0.1
    assert rel_err(prob @ G, exact) < 1e-12


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("loss", ["mse", "xent"])
@pytest.mark.parametrize("batch", [None, 2])
def test_sampled_rows_equal_single_bptt(act, loss, batch):
    T, pi = 10, 0.4
    rnn, X, Y = problem(T, act, loss, batch, seed=2)
    xi = randomized_xi(T, pi, seed=5, samples=12)
    xi[0] = 1.0  # include the full pattern and an all-cut one
    xi[1] = 0.0
    G = sampled_gradients(rnn, X, Y, xi, loss=loss)
    assert G.shape == (12, bptt(rnn, X, Y, loss=loss).flat().size)
    for i in range(12):
        single = bptt(rnn, X, Y, Randomized(pi, xi=xi[i]), loss=loss).flat()
        np.testing.assert_allclose(G[i], single, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(G[0], bptt(rnn, X, Y, Full(), loss=loss).flat(), rtol=1e-12, atol=1e-15)


def test_monte_carlo_mean_converges():
    rnn, X, Y = problem(12, "tanh", "mse", seed=3)
    mc = randomized_monte_carlo(rnn, X, Y, 0.5, samples=20_000, seed=0)
    assert mc.samples.shape[0] == 20_000 and mc.xi.shape == (20_000, 12)
    np.testing.assert_allclose(mc.exact, bptt(rnn, X, Y).flat(), rtol=1e-14)
    np.testing.assert_allclose(mc.mean, mc.samples.mean(axis=0))
    np.testing.assert_allclose(mc.variance, mc.samples.var(axis=0))
    assert mc.total_variance == pytest.approx(mc.variance.sum())
    running = mc.running_mean()
    np.testing.assert_allclose(running[-1], mc.mean, rtol=1e-10, atol=1e-14)
    errs = [rel_err(running[S - 1], mc.exact) for S in (20, 200, 2000, 20_000)]
    assert errs[-1] < errs[0] / 10
    assert errs[-1] < 0.05
    # Error ≈ sqrt(total variance / S) up to a modest factor.
    expected = np.sqrt(mc.total_variance / 20_000) / np.linalg.norm(mc.exact)
    assert errs[-1] < 5 * expected


def test_monte_carlo_error_shrinks_on_average_over_seeds():
    rnn, X, Y = problem(8, "identity", "mse", rho=0.9, seed=4)
    exact = bptt(rnn, X, Y).flat()
    small = np.mean([rel_err(randomized_monte_carlo(rnn, X, Y, 0.3, 50, seed=s).mean, exact)
                     for s in range(10)])
    large = np.mean([rel_err(randomized_monte_carlo(rnn, X, Y, 0.3, 5000, seed=s).mean, exact)
                     for s in range(10)])
    assert large < small / 4  # ~1/sqrt(100) = 1/10 in expectation


def test_monte_carlo_cosine_and_seeds():
    rnn, X, Y = problem(10, "tanh", "xent", seed=5)
    mc = randomized_monte_carlo(rnn, X, Y, 0.3, samples=500, seed=7, loss="xent")
    assert mc.cosine.shape == (500,)
    assert np.all(mc.cosine >= -1.0 - 1e-12) and np.all(mc.cosine <= 1.0 + 1e-12)
    want = mc.samples @ mc.exact / (np.linalg.norm(mc.samples, axis=1) * np.linalg.norm(mc.exact))
    np.testing.assert_allclose(mc.cosine, want, rtol=1e-12)
    same = randomized_monte_carlo(rnn, X, Y, 0.3, samples=500, seed=7, loss="xent")
    assert np.array_equal(mc.samples, same.samples) and np.array_equal(mc.xi, same.xi)
    other = randomized_monte_carlo(rnn, X, Y, 0.3, samples=500, seed=8, loss="xent")
    assert not np.array_equal(mc.xi, other.xi)
    assert not np.array_equal(mc.samples, other.samples)
    # Sample i is the single bptt run with draw i.
    np.testing.assert_allclose(mc.samples[3], bptt(rnn, X, Y, Randomized(0.3, xi=mc.xi[3]),
                                                   loss="xent").flat(), rtol=1e-12, atol=1e-15)


def test_pi_one_gives_zero_variance():
    rnn, X, Y = problem(10, "tanh", "mse", batch=2, seed=6)
    mc = randomized_monte_carlo(rnn, X, Y, 1.0, samples=64, seed=0)
    assert np.all(mc.xi == 1.0)
    assert np.all(mc.samples == mc.samples[0])
    np.testing.assert_allclose(mc.samples[0], mc.exact, rtol=1e-12, atol=1e-15)
    assert mc.total_variance <= 1e-28 * np.sum(mc.exact ** 2)
    np.testing.assert_allclose(mc.cosine, 1.0, atol=1e-12)


def test_variance_grows_as_pi_shrinks():
    rnn, X, Y = problem(10, "tanh", "mse", seed=7)
    tv = [randomized_monte_carlo(rnn, X, Y, pi, samples=4000, seed=1).total_variance
          for pi in (0.9, 0.5, 0.2)]
    assert tv[0] < tv[1] < tv[2]


@pytest.mark.parametrize("X", [None, "abc", [[1.0, 2.0], [3.0]]], ids=["None", "str", "ragged"])
def test_expectation_bad_x_names_x(X):
    rnn, _, Y = problem(3)
    with pytest.raises(ValueError, match=r"(?<![A-Za-z0-9_])X(?![A-Za-z0-9_])"):
        randomized_expectation(rnn, X, Y, 0.5)
