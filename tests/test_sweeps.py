"""The animation sweeps against the direct computations they replace: powers of each scaled
matrix, and bptt / log-space norms of each strategy one at a time."""

from __future__ import annotations

import numpy as np
import pytest

from bptt_core import (Randomized, Truncated, bptt, log10_gradient_norms, log10_power_norms, log10_row_norms,
                       randomized_xi, toy_problem, w_hh)
from bptt_core.sweeps import (chunked_xi_sweep, log10_dL_dh_sweep, log10_power_norms_scaled, rescaled_power_norms,
                              randomized_xi_sweep, scaled_backward_norms)


@pytest.mark.parametrize("kind, s", [("symmetric", 0.0), ("nonnormal", 3.0)])
def test_scaled_power_norms_match_direct_powers(kind, s):
    W = w_hh(6, 0.9, kind, 0.5, s, seed=2)
    rhos = np.linspace(0.5, 1.5, 5)
    out = log10_power_norms_scaled(W, 30, rhos / 0.9)
    assert out.shape == (5, 31)
    for f, rho in enumerate(rhos):
        M = W * (rho / 0.9)
        direct = [np.log10(np.linalg.norm(np.linalg.matrix_power(M, k), 2)) for k in range(31)]
        np.testing.assert_allclose(out[f], direct, atol=1e-9)
        np.testing.assert_allclose(out[f], log10_power_norms(M, 30), atol=1e-9)


def test_scaled_power_norms_keep_exact_zeros_and_refuse_bad_scales():
    N = np.array([[0.0, 1.0], [0.0, 0.0]])  # nilpotent: N² = 0
    out = log10_power_norms_scaled(N, 3, [0.5, 2.0])
    assert np.isneginf(out[:, 2:]).all() and np.isfinite(out[:, :2]).all()
    for bad in ([0.0], [-1.0], []):
        with pytest.raises(ValueError, match="scales"):
            log10_power_norms_scaled(N, 3, bad)
    with pytest.raises(ValueError, match="log10_norms"):
        rescaled_power_norms([0.0, np.nan], [1.0])


def test_xi_sweeps_reproduce_the_single_strategies():
    T = 23
    np.testing.assert_array_equal(chunked_xi_sweep(T, [1, 4, 30])[1], bptt_xi(Truncated(4), T))
    pis = [0.1, 0.45, 1.0]
    X = randomized_xi_sweep(T, pis, seed=7)
    for f, pi in enumerate(pis):
        np.testing.assert_array_equal(X[f], randomized_xi(T, pi, 7))
    # Cuts are nested: a cut at a larger π is a cut at every smaller π.
    cuts = X == 0
    assert (cuts[1] <= cuts[0]).all() and not cuts[2].any()
    with pytest.raises(ValueError, match="pis"):
        randomized_xi_sweep(T, [0.0], 0)
    with pytest.raises(ValueError, match="tau"):
        chunked_xi_sweep(T, [0])


def bptt_xi(strategy, T):
    rnn, X, Y = toy_problem(T, 3, seed=0)
    return bptt(rnn, X, Y, strategy).xi


@pytest.mark.parametrize("activation", ["identity", "tanh", "relu"])
def test_dL_dh_sweep_matches_bptt_per_strategy(activation):
    T = 40
    rnn, X, Y = toy_problem(T, 5, activation, 1.1, seed=3)
    xi = np.vstack([chunked_xi_sweep(T, [1, 3, 7]), randomized_xi_sweep(T, [0.2, 0.6, 1.0], seed=4)])
    out = log10_dL_dh_sweep(rnn, X, Y, xi)
    assert out.shape == (6, T)
    for f in range(6):
        direct = log10_row_norms(bptt(rnn, X, Y, Randomized(1.0, xi=xi[f])).dL_dh)
        np.testing.assert_allclose(out[f], direct, rtol=0, atol=1e-9)


def test_scaled_backward_norms_stay_finite_past_float64():
    # W_hh = 3 I, φ' = 1, W_qhᵀ ∂L/∂o_t = e₁: ∂L/∂h_t = Σ_{i<n} 3^i e₁ = (3^n − 1)/2 e₁ with n = T − t + 1,
    # past 1e308 from n = 647 on. Cutting every step (ξ = 0) leaves ‖∂L/∂h_t‖ = 1.
    T, h = 800, 2
    dq = np.zeros((T, h))
    dq[:, 0] = 1.0
    xi = np.vstack([np.ones(T), np.zeros(T)])
    out = scaled_backward_norms(3.0 * np.eye(h), dq, np.ones((T, h)), xi)
    n = T - np.arange(1, T + 1) + 1
    exact = n * np.log10(3.0) - np.log10(2.0) + np.log10(1.0 - 3.0 ** -n.astype(float))
    assert np.isfinite(out).all() and out[0, 0] > 380
    np.testing.assert_allclose(out[0], exact, atol=1e-9)
    np.testing.assert_array_equal(out[1], 0.0)


def test_scaled_backward_norms_exact_zeros():
    T, h = 5, 3
    out = scaled_backward_norms(np.eye(h), np.zeros((T, h)), np.ones((T, h)), np.ones((1, T)))
    assert np.isneginf(out).all()


def test_dL_dh_sweep_runs_forward_in_log_space_when_it_overflows():
    T = 700
    rnn, X, Y = toy_problem(T, 3, "identity", 3.0, seed=1)
    xi = chunked_xi_sweep(T, [5, 1000])
    out = log10_dL_dh_sweep(rnn, X, Y, xi)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[0], log10_gradient_norms(rnn, X, Y, Truncated(5)).log10_dL_dh, atol=1e-9)


def test_dL_dh_sweep_rejects_mismatched_xi():
    rnn, X, Y = toy_problem(10, 3)
    with pytest.raises(ValueError, match="xi"):
        log10_dL_dh_sweep(rnn, X, Y, np.ones((2, 9)))
