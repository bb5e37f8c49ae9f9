"""BPTT against central finite differences, the book's closed form, and the
relations between strategies (DESIGN.md, "Gradient strategies and ξ").

The finite-difference tests prove both the readable ``bptt_reference`` and the fast
``bptt``; tests/test_fast_paths.py checks every other fast path against the reference."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bptt_core import (RNN, ACTIVATIONS, Full, Randomized, Truncated, bptt, bptt_reference, forward, init_rnn,
                       randomized_xi)
from tests.reference import (finite_difference_dL_dh, finite_difference_gradients, surrogate_loss)

D, H, Q, T, B = 3, 4, 3, 7, 2
STRATEGIES = {
    "full": Full(),
    "chunked": Truncated(3, mode="chunked"),
    "sliding": Truncated(3, mode="sliding"),
    "randomized": Randomized(0.6, seed=4),
}
IMPLEMENTATIONS = {"reference": bptt_reference, "bptt": bptt}


def problem(activation, loss, batched, with_h0, seed=0):
    """A small RNN with data; inputs scaled so relu's kinks are far from every a_t."""
    rng = np.random.default_rng(seed)
    rnn = init_rnn(D, H, Q, activation=activation, spectral_radius=1.1, seed=seed)
    shape = (T, B) if batched else (T,)
    X = rng.standard_normal(shape + (D,))
    Y = rng.integers(0, Q, size=shape) if loss == "xent" else rng.standard_normal(shape + (Q,))
    h0 = rng.standard_normal((B, H) if batched else (H,)) * 0.5 if with_h0 else None
    return rnn, X, Y, h0


def relative_error(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


@pytest.mark.parametrize("with_h0", [False, True], ids=["h0=0", "h0"])
@pytest.mark.parametrize("batched", [False, True], ids=["single", "batch"])
@pytest.mark.parametrize("loss", ["mse", "xent"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("name", list(STRATEGIES))
@pytest.mark.parametrize("implementation", list(IMPLEMENTATIONS))
def test_gradients_match_central_differences(implementation, name, activation, loss, batched, with_h0):
    rnn, X, Y, h0 = problem(activation, loss, batched, with_h0)
    strategy = STRATEGIES[name]
    g = IMPLEMENTATIONS[implementation](rnn, X, Y, strategy=strategy, loss=loss, h0=h0)
    h0_arr = np.zeros((B, H) if batched else (H,)) if h0 is None else h0
    ref = list(rnn.params)
    if name == "sliding":
        def f(p):
            return surrogate_loss(rnn.activation, loss, p, ref, X, Y, h0_arr, tau=strategy.tau)
    else:
        def f(p):
            return surrogate_loss(rnn.activation, loss, p, ref, X, Y, h0_arr, xi=g.xi)
    assert f(ref) == pytest.approx(g.loss, rel=1e-13)
    for analytic, numeric in zip(g.params, finite_difference_gradients(f, ref)):
        assert relative_error(analytic, numeric) <= 1e-6


@pytest.mark.parametrize("batched", [False, True], ids=["single", "batch"])
@pytest.mark.parametrize("loss", ["mse", "xent"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("implementation", list(IMPLEMENTATIONS))
def test_dL_dh_is_the_total_derivative_wrt_each_state(implementation, activation, loss, batched):
    rnn, X, Y, h0 = problem(activation, loss, batched, with_h0=True)
    g = IMPLEMENTATIONS[implementation](rnn, X, Y, loss=loss, h0=h0)
    numeric = finite_difference_dL_dh(rnn.activation, loss, rnn.params, X, Y, h0)
    assert relative_error(g.dL_dh, numeric) <= 1e-6


@pytest.mark.parametrize("T_", [1, 5, 40])
def test_identity_recursion_equals_the_books_expanded_sum(T_):
    # ∂L/∂h_t = Σ_{i=t..T} (W_hhᵀ)^{T-i} W_qhᵀ ∂L/∂o_{T+t-i}
    rng = np.random.default_rng(1)
    rnn = init_rnn(3, 5, 2, activation="identity", spectral_radius=0.95, seed=3)
    X, Y = rng.standard_normal((T_, 3)), rng.standard_normal((T_, 2))
    g = bptt(rnn, X, Y)
    WT = rnn.W_hh.T
    powers = [np.eye(5)]
    for _ in range(T_):
        powers.append(WT @ powers[-1])
    for t in range(1, T_ + 1):
        expanded = sum(powers[T_ - i] @ rnn.W_qh.T @ g.dL_do[T_ + t - i - 1] for i in range(t, T_ + 1))
        np.testing.assert_allclose(g.dL_dh[t - 1], expanded, rtol=1e-12, atol=1e-12 * np.abs(expanded).max())


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("tau", [1, 3, 4, 20])
def test_chunked_equals_full_on_each_chunk_with_the_state_carried(activation, tau):
    rng = np.random.default_rng(2)
    rnn = init_rnn(3, 4, 2, activation=activation, seed=5)
    T_ = 13
    X, Y = rng.standard_normal((T_, 3)), rng.standard_normal((T_, 2))
    g = bptt(rnn, X, Y, strategy=Truncated(tau))
    states = forward(rnn, X).H
    total = [np.zeros_like(p) for p in rnn.params]
    for start in range(0, T_, tau):
        stop = min(start + tau, T_)
        part = bptt(rnn, X[start:stop], Y[start:stop], h0=states[start])
        # L averages over all T steps; a chunk's Full loss averages over its own length.
        for acc, p in zip(total, part.params):
            acc += p * (stop - start) / T_
        np.testing.assert_allclose(g.dL_dh[start:stop], part.dL_dh * (stop - start) / T_, rtol=1e-12, atol=1e-15)
    for a, b in zip(g.params, total):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_chunked_multipliers_cut_at_k_tau_plus_one():
    rnn, X, Y, _ = problem("tanh", "mse", False, False)
    xi = bptt(rnn, X, Y, strategy=Truncated(3)).xi
    np.testing.assert_array_equal(xi, [1, 1, 1, 0, 1, 1, 0])  # ξ_4 = ξ_7 = 0


@pytest.mark.parametrize("mode", ["chunked", "sliding"])
def test_truncation_longer_than_the_sequence_is_full(mode):
    rnn, X, Y, h0 = problem("tanh", "xent", True, True)
    full = bptt(rnn, X, Y, loss="xent", h0=h0)
    trunc = bptt(rnn, X, Y, strategy=Truncated(T, mode=mode), loss="xent", h0=h0)
    for a, b in zip(trunc.params, full.params):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-16)


def test_sliding_with_tau_one_keeps_only_direct_terms():
    rnn, X, Y, _ = problem("tanh", "mse", False, False)
    g = bptt(rnn, X, Y, strategy=Truncated(1, mode="sliding"))
    np.testing.assert_allclose(g.dL_dh, g.dL_do @ rnn.W_qh, rtol=1e-14)
    assert g.xi is None


@pytest.mark.parametrize("pi", [0.2, 0.7, 1.0])
def test_randomized_with_all_ones_equals_full(pi):
    rnn, X, Y, h0 = problem("sigmoid", "mse", True, True)
    full = bptt(rnn, X, Y, h0=h0)
    ones = bptt(rnn, X, Y, strategy=Randomized(pi, xi=np.ones(T)), h0=h0)
    for a, b in zip(ones.params, full.params):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ones.xi, np.ones(T))


@pytest.mark.parametrize("loss", ["mse", "xent"])
@pytest.mark.parametrize("pi", [0.25, 0.5, 0.9])
def test_exact_expectation_over_all_xi_patterns_equals_full(pi, loss):
    rnn, X, Y, h0 = problem("tanh", loss, False, True)
    X, Y = X[:6], Y[:6]
    full = bptt(rnn, X, Y, loss=loss, h0=h0)
    expected = [np.zeros_like(p) for p in rnn.params]
    for keep in itertools.product((0.0, 1.0), repeat=6):
        keep = np.array(keep)
        prob = np.prod(np.where(keep == 1.0, pi, 1.0 - pi))
        g = bptt(rnn, X, Y, strategy=Randomized(pi, xi=keep / pi), loss=loss, h0=h0)
        for acc, p in zip(expected, g.params):
            acc += prob * p
    for a, b in zip(expected, full.params):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.abs(b).max())


def test_randomized_draws_are_seeded():
    rnn, X, Y, _ = problem("tanh", "mse", False, False)
    T_ = 200
    X = np.random.default_rng(0).standard_normal((T_, D))
    Y = np.random.default_rng(1).standard_normal((T_, Q))
    a = bptt(rnn, X, Y, strategy=Randomized(0.5, seed=1))
    b = bptt(rnn, X, Y, strategy=Randomized(0.5, seed=1))
    c = bptt(rnn, X, Y, strategy=Randomized(0.5, seed=2))
    np.testing.assert_array_equal(a.xi, b.xi)
    np.testing.assert_array_equal(a.W_hh, b.W_hh)
    assert not np.array_equal(a.xi, c.xi)
    assert set(np.unique(a.xi)) == {0.0, 2.0}
    np.testing.assert_array_equal(a.xi, randomized_xi(T_, 0.5, 1))


def test_replayed_xi_reproduces_a_sample_exactly():
    rnn, X, Y, h0 = problem("relu", "xent", True, True)
    drawn = bptt(rnn, X, Y, strategy=Randomized(0.4, seed=9), loss="xent", h0=h0)
    replay = bptt(rnn, X, Y, strategy=Randomized(0.4, xi=drawn.xi), loss="xent", h0=h0)
    for a, b in zip(drawn.params, replay.params):
        np.testing.assert_array_equal(a, b)


def test_shapes_and_loss_value():
    rnn, X, Y, h0 = problem("tanh", "mse", True, True)
    g = bptt(rnn, X, Y, h0=h0)
    tr = forward(rnn, X, h0)
    assert g.W_hx.shape == (H, D) and g.W_hh.shape == (H, H) and g.W_qh.shape == (Q, H)
    assert g.dL_dh.shape == (T, B, H) and g.dL_do.shape == (T, B, Q)
    assert tr.H.shape == (T + 1, B, H) and tr.A.shape == (T, B, H) and tr.O.shape == (T, B, Q)
    np.testing.assert_array_equal(tr.H[0], h0)
    assert g.loss == pytest.approx(0.5 * np.sum((tr.O - Y) ** 2) / (T * B), rel=1e-14)
    assert g.finite


def test_the_books_identity_rnn_by_hand():
    # One hidden unit, T = 2, identity: every quantity can be written down.
    rnn = RNN([[2.0]], [[0.5]], [[3.0]], activation="identity")
    X, Y = np.array([[1.0], [1.0]]), np.array([[0.0], [0.0]])
    # h1 = 2, h2 = 0.5·2 + 2 = 3; o = 6, 9; L = (36 + 81)/4
    g = bptt(rnn, X, Y)
    assert g.loss == pytest.approx(117 / 4)
    # ∂L/∂o = o/2 = (3, 4.5); ∂L/∂h2 = 3·4.5 = 13.5; ∂L/∂h1 = 3·3 + 0.5·13.5 = 15.75
    np.testing.assert_allclose(g.dL_dh[:, 0], [15.75, 13.5])
    np.testing.assert_allclose(g.W_hh, [[13.5 * 2]])            # δ_2 h_1
    np.testing.assert_allclose(g.W_hx, [[15.75 + 13.5]])        # δ_1 x_1 + δ_2 x_2
    np.testing.assert_allclose(g.W_qh, [[3 * 2 + 4.5 * 3]])     # Σ ∂L/∂o_t h_t


def test_exploding_regime_is_reported_not_raised():
    rnn = init_rnn(4, 8, 2, activation="identity", spectral_radius=5.0, seed=0)
    X = np.random.default_rng(0).standard_normal((1000, 4))
    Y = np.zeros((1000, 2))
    tr = forward(rnn, X)
    g = bptt(rnn, X, Y)
    assert tr.overflow_step is not None and 300 < tr.overflow_step < 1000
    assert np.isfinite(tr.H[tr.overflow_step - 1]).all()
    assert not np.isfinite(tr.H[tr.overflow_step]).all()
    assert g.forward_overflow_step == tr.overflow_step
    assert g.backward_overflow_step is not None
    assert not g.finite


def test_backward_overflow_alone_is_located():
    # The input only drives a contracting direction, so h_t stays bounded; the
    # backward pass through W_hhᵀ doubles along the other one and leaves float64
    # once 2^(T-t) · |∂L/∂o| > 1.8e308, about 1030 steps before the end.
    rnn = RNN(W_hx=[[0.0], [1.0]], W_hh=[[2.0, 0.0], [0.0, 0.5]], W_qh=[[1.0, 1.0]], activation="identity")
    T_ = 1100
    X, Y = np.ones((T_, 1)), np.zeros((T_, 1))
    g = bptt(rnn, X, Y)
    assert g.forward_overflow_step is None
    assert T_ - 1040 < g.backward_overflow_step < T_ - 1024
    assert np.isfinite(g.dL_dh[g.backward_overflow_step:]).all()
    assert not np.isfinite(g.dL_dh[g.backward_overflow_step - 1]).all()
