"""Tests of bptt_core.jacobians: per-step Jacobians ∂h_t/∂h_{t-1} and the
log10‖∂h_t/∂h_s‖ matrix, computed without overflow."""

from __future__ import annotations


import numpy as np
import pytest

from bptt_core import (ACTIVATIONS, GAMMA, RNN, forward, init_rnn, log10_jacobian_norms,
                       log10_lag_norms, log10_norm_bound, matrix_from_eigenvalues,
                       singular_values, step_jacobians)


def phi_ref(name, a):
    return {"identity": lambda: a, "tanh": lambda: np.tanh(a),
            "sigmoid": lambda: 1.0 / (1.0 + np.exp(-a)), "relu": lambda: np.maximum(a, 0.0)}[name]()


def phi_prime_ref(name, a):
    if name == "identity":
        return np.ones_like(a)
    if name == "tanh":
        return 1.0 / np.cosh(a) ** 2
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-a))
        return s * (1.0 - s)
    return (a > 0).astype(float)


def make(act, T=12, d=3, h=4, q=2, rho=1.1, seed=0):
    rnn = init_rnn(d, h, q, activation=act, spectral_radius=rho, seed=seed)
    X = np.random.default_rng(seed + 100).standard_normal((T, d))
    return rnn, X


def explicit_matrix(J: np.ndarray) -> np.ndarray:
    """M[t, s] = log10 ‖J_t ⋯ J_{s+1}‖₂ by explicit products (NaN above the diagonal)."""
    T, h = J.shape[0], J.shape[1]
    M = np.full((T + 1, T + 1), np.nan)
    for s in range(T + 1):
        P = np.eye(h)
        M[s, s] = 0.0
        for t in range(s + 1, T + 1):
            P = J[t - 1] @ P
            with np.errstate(divide="ignore"):  # an exactly zero product: -inf
                M[t, s] = np.log10(np.linalg.norm(P, 2))
    return M


# --- step_jacobians ---------------------------------------------------------------------------

@pytest.mark.parametrize("act", ACTIVATIONS)
def test_step_jacobians_are_diag_phi_prime_times_w_hh(act):
    rnn, X = make(act)
    tr = forward(rnn, X)
    J = step_jacobians(rnn, tr)
    assert J.shape == (12, 4, 4)
    for t in range(1, 13):
        want = np.diag(phi_prime_ref(act, tr.A[t - 1])) @ rnn.W_hh
        np.testing.assert_allclose(J[t - 1], want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_step_jacobians_match_finite_differences(act):
    rnn, X = make(act, T=6)
    tr = forward(rnn, X)
    J = step_jacobians(rnn, tr)
    eps = 1e-6
    for t in range(1, 7):
        h_prev = tr.H[t - 1]
        step = lambda hp: phi_ref(act, rnn.W_hx @ X[t - 1] + rnn.W_hh @ hp)  # noqa: E731
        np.testing.assert_allclose(step(h_prev), tr.H[t], rtol=1e-12, atol=1e-14)
        fd = np.empty((4, 4))
        for j in range(4):
            e = np.zeros(4)
            e[j] = eps
            fd[:, j] = (step(h_prev + e) - step(h_prev - e)) / (2 * eps)
        np.testing.assert_allclose(J[t - 1], fd, rtol=0, atol=1e-7)


def test_step_jacobians_reject_batched_trace():
    rnn, _ = make("tanh")
    tr = forward(rnn, np.zeros((5, 2, 3)))
    with pytest.raises(ValueError, match="trace"):
        step_jacobians(rnn, tr)


# --- log10_jacobian_norms ---------------------------------------------------------------------

@pytest.mark.parametrize("act", ACTIVATIONS)
def test_jacobian_norm_matrix_matches_explicit_products(act):
    rnn, X = make(act, T=25, rho=1.2)
    J = step_jacobians(rnn, forward(rnn, X))
    M = log10_jacobian_norms(J)
    want = explicit_matrix(J)
    assert M.shape == (26, 26)
    lower = np.tril(np.ones((26, 26), dtype=bool))
    assert np.isfinite(want[lower]).all()
    np.testing.assert_allclose(M[lower], want[lower], rtol=0, atol=1e-10)
    assert np.all(np.diag(M) == 0.0)
    assert np.isnan(M[~lower]).all()  # s > t: no Jacobian
    assert np.isfinite(M[lower]).all()


def test_jacobian_norm_matrix_exploding_identity_rnn():
    T, h, rho = 300, 3, 5.0
    W = matrix_from_eigenvalues([rho, -2.0, 0.5], seed=0)
    rnn = RNN(np.ones((h, 1)), W, np.ones((1, h)), activation="identity")
    J = step_jacobians(rnn, forward(rnn, np.zeros((T, 1))))
    M = log10_jacobian_norms(J)
    lower = np.tril(np.ones((T + 1, T + 1), dtype=bool))
    assert np.isfinite(M[lower]).all()
    assert np.isnan(M[~lower]).all()
    # Symmetric W with top eigenvalue 5: ‖W^k‖₂ = 5^k exactly.
    t, s = np.nonzero(lower)
    np.testing.assert_allclose(M[t, s], (t - s) * np.log10(rho), rtol=0, atol=1e-9)


def test_jacobian_norms_finite_where_explicit_products_overflow():
    T, h = 460, 2
    W = 5.0 * np.eye(h)
    rnn = RNN(np.ones((h, 1)), W, np.ones((1, h)), activation="identity")
    J = step_jacobians(rnn, forward(rnn, np.zeros((T, 1))))
    with np.errstate(over="ignore", invalid="ignore"):
        P = np.eye(h)
        for Jt in J:
            P = Jt @ P
        assert not np.isfinite(P).all()  # 5^460 > 1.8e308
    M = log10_jacobian_norms(J, stride=20)
    assert M[T, 0] == pytest.approx(T * np.log10(5.0), abs=1e-9)
    lags = log10_lag_norms(J)
    assert np.isfinite(lags).all()
    np.testing.assert_allclose(lags, np.arange(T + 1) * np.log10(5.0), atol=1e-9)


def test_jacobian_norms_minus_inf_only_for_zero_products():
    # relu with W_hx < 0 and positive inputs: every pre-activation is negative, J_t = 0.
    h, T = 3, 6
    W_hh = np.random.default_rng(0).standard_normal((h, h))
    rnn = RNN(-np.ones((h, 2)), W_hh, np.ones((1, h)), activation="relu")
    tr = forward(rnn, np.ones((T, 2)))
    assert (tr.A < 0).all()
    M = log10_jacobian_norms(step_jacobians(rnn, tr))
    assert np.all(np.diag(M) == 0.0)
    strictly_lower = np.tril(np.ones((T + 1, T + 1), dtype=bool), -1)
    assert np.all(M[strictly_lower] == -np.inf)
    # A zero W_hh: the same.
    rnn0 = RNN(np.ones((h, 2)), np.zeros((h, h)), np.ones((1, h)), activation="tanh")
    M0 = log10_jacobian_norms(step_jacobians(rnn0, forward(rnn0, np.ones((T, 2)))))
    assert np.all(M0[strictly_lower] == -np.inf) and np.all(np.diag(M0) == 0.0)


def test_jacobian_norms_one_dead_step_zeroes_only_products_through_it():
    # relu, W_hh = 0.9 I, inputs positive except at step 4 where they are very negative.
    h, T = 3, 8
    rnn = RNN(np.ones((h, 1)), 0.9 * np.eye(h), np.ones((1, h)), activation="relu")
    X = np.ones((T, 1))
    X[3] = -100.0
    tr = forward(rnn, X)
    assert (tr.A[3] < 0).all() and (np.delete(tr.A, 3, axis=0) > 0).all()
    M = log10_jacobian_norms(step_jacobians(rnn, tr))
    want = explicit_matrix(step_jacobians(rnn, tr))
    for t in range(T + 1):
        for s in range(t + 1):
            if s < 4 <= t:  # the product includes J_4 = 0
                assert M[t, s] == -np.inf
            else:
                assert np.isfinite(M[t, s])
                assert M[t, s] == pytest.approx(want[t, s], abs=1e-12)


@pytest.mark.parametrize("stride", [2, 3, 5])
def test_jacobian_norms_stride(stride):
    rnn, X = make("tanh", T=17, rho=1.5)
    J = step_jacobians(rnn, forward(rnn, X))
    full = log10_jacobian_norms(J)
    M = log10_jacobian_norms(J, stride=stride)
    keep = np.arange(0, 18, stride)
    on_grid = np.zeros((18, 18), dtype=bool)
    on_grid[np.ix_(keep, keep)] = True
    lower = np.tril(np.ones((18, 18), dtype=bool))
    np.testing.assert_allclose(M[on_grid & lower], full[on_grid & lower], rtol=0, atol=1e-12)
    assert np.isnan(M[~(on_grid & lower)]).all()


def test_jacobian_norms_reject_bad_input():
    with pytest.raises(ValueError, match="stride"):
        log10_jacobian_norms(np.zeros((3, 2, 2)), stride=0)
    with pytest.raises(ValueError, match="J"):
        log10_jacobian_norms(np.zeros((3, 2, 3)))
    with pytest.raises(ValueError, match="J"):
        log10_jacobian_norms(np.full((3, 2, 2), np.inf))


def test_jacobian_norms_tiny_jacobians_are_not_zero():
    J = np.stack([1e-170 * np.eye(2)] * 3)
    np.testing.assert_allclose(log10_lag_norms(J), [0.0, -170.0, -340.0, -510.0], atol=1e-9)
    assert np.isfinite(log10_jacobian_norms(J)[np.tril_indices(4)]).all()


# --- log10_lag_norms and the bound ------------------------------------------------------------

@pytest.mark.parametrize("act", ACTIVATIONS)
def test_lag_norms_equal_last_row_reversed(act):
    rnn, X = make(act, T=30, rho=1.3, seed=2)
    J = step_jacobians(rnn, forward(rnn, X))
    lags = log10_lag_norms(J)
    M = log10_jacobian_norms(J)
    assert lags.shape == (31,)
    np.testing.assert_allclose(lags, M[30, ::-1], rtol=0, atol=1e-10)
    assert lags[0] == 0.0


def test_lag_norms_zero_product():
    J = np.stack([np.eye(2), np.zeros((2, 2)), 2 * np.eye(2)])
    lags = log10_lag_norms(J)
    assert lags[0] == 0.0 and lags[1] == pytest.approx(np.log10(2.0))
    assert np.all(lags[2:] == -np.inf)


@pytest.mark.parametrize("act", ["tanh", "sigmoid"])
@pytest.mark.parametrize("rho", [0.5, 1.5, 4.0])
def test_norm_bound_upper_bounds_lag_norms(act, rho):
    rnn, X = make(act, T=60, h=5, rho=rho, seed=3)
    X = 2.0 * X
    J = step_jacobians(rnn, forward(rnn, X))
    lags = log10_lag_norms(J)
    k = np.arange(61)
    lam1 = singular_values(rnn.W_hh)[0]
    bound = log10_norm_bound(lam1, GAMMA[act], k)
    assert bound.shape == (61,)
    np.testing.assert_allclose(bound, k * np.log10(lam1 * GAMMA[act]), rtol=1e-14)
    assert np.all(lags <= bound + 1e-9)
    # And every entry of the full matrix obeys the bound at its lag.
    M = log10_jacobian_norms(J)
    t, s = np.tril_indices(61)
    assert np.all(M[t, s] <= (t - s) * np.log10(lam1 * GAMMA[act]) + 1e-9)


def test_sigmoid_vanishes_below_one_over_gamma():
    # λ₁ < 1/γ = 4 for sigmoid is sufficient for vanishing (Pascanu et al.).
    rnn, X = make("sigmoid", T=80, h=5, seed=4)
    W = matrix_from_eigenvalues([3.5, -3.0, 1.0, 0.5, 0.2], seed=4)  # λ₁ = 3.5 < 4
    rnn = RNN(rnn.W_hx, W, rnn.W_qh, activation="sigmoid")
    lam1 = singular_values(rnn.W_hh)[0]
    assert lam1 == pytest.approx(3.5) and lam1 * GAMMA["sigmoid"] < 1
    lags = log10_lag_norms(step_jacobians(rnn, forward(rnn, X)))
    assert lags[-1] < 80 * np.log10(lam1 * 0.25) + 1e-9 < 0


def test_norm_bound_zero_matrix_lag_zero():
    got = log10_norm_bound(0.0, GAMMA["tanh"], np.arange(3))
    assert got[0] == 0.0 and np.all(got[1:] == -np.inf)
