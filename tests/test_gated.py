"""The GRU and the LSTM (bptt_core/gated.py): exact BPTT under every strategy, against central
differences of each strategy's surrogate loss in float64, the randomized expectation over every ξ
against full BPTT, the LSTM's constant error carousel in closed form, and the step Jacobians."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bptt_core import Full, Randomized, Truncated
from bptt_core import log10_lag_norms
from bptt_core.gated import (CELLS, GATES, GatedJacobians, GatedRNN, _step_jacobian, gated_bptt, gated_forward,
                             gated_like_rnn, gated_log10_dL_dh, gated_step_jacobians, init_gated,
                             lstm_lag_norms_over_forget_bias, lstm_log10_dL_dh_over_forget_bias, parameter_names)


def sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def step(cell, p, x, H, C, dC=0.0):
    """One step of the book's equations, written out again (the reference the module is checked against);
    ``dC`` is added to C_t before H_t reads it (to take ∂L/∂C_t by differences)."""
    if cell == "gru":
        R = sig(x @ p["W_xr"] + H @ p["W_hr"] + p["b_r"])
        Z = sig(x @ p["W_xz"] + H @ p["W_hz"] + p["b_z"])
        N = np.tanh(x @ p["W_xh"] + (R * H) @ p["W_hh"] + p["b_h"])
        return Z * H + (1 - Z) * N, None
    I = sig(x @ p["W_xi"] + H @ p["W_hi"] + p["b_i"])
    F = sig(x @ p["W_xf"] + H @ p["W_hf"] + p["b_f"])
    O = sig(x @ p["W_xo"] + H @ p["W_ho"] + p["b_o"])
    G = np.tanh(x @ p["W_xc"] + H @ p["W_hc"] + p["b_c"])
    C = F * C + I * G + dC
    return O * np.tanh(C), C


def term(loss, p, H, y):
    o = H @ p["W_hq"] + p["b_q"]
    if loss == "mse":
        return 0.5 * np.sum((o - y) ** 2)
    z = o - o.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return -np.take_along_axis(logp, np.asarray(y, dtype=int)[..., None], axis=-1).sum()


def surrogate(cell, p, X, Y, loss, strategy, xi, p0):
    """The loss whose exact gradient the strategy computes: the state entering step t is
    S⁰_{t−1} + ξ_t (S_{t−1} − S⁰_{t−1}) (S⁰ the trajectory at the unperturbed p0), or for sliding
    truncation l_i is computed from the frozen S⁰_{i−τ} through steps i−τ+1 … i."""
    T = X.shape[0]
    zeros = np.zeros(X.shape[1:-1] + (p["W_hq"].shape[0],))
    S0 = [(zeros, zeros)]
    for t in range(T):
        S0.append(step(cell, p0, X[t], *S0[-1]))
    n = T * int(np.prod(X.shape[1:-1]))
    if isinstance(strategy, Truncated) and strategy.mode == "sliding":
        total = 0.0
        for i in range(1, T + 1):
            H, C = S0[max(i - strategy.tau, 0)]
            for t in range(max(i - strategy.tau, 0) + 1, i + 1):
                H, C = step(cell, p, X[t - 1], H, C)
            total += term(loss, p, H, Y[i - 1])
        return total / n
    H, C, total = zeros, zeros, 0.0
    for t in range(1, T + 1):
        H0, C0 = S0[t - 1]
        Hin = H0 + xi[t - 1] * (H - H0)
        Cin = None if C is None else C0 + xi[t - 1] * (C - C0)
        H, C = step(cell, p, X[t - 1], Hin, Cin if cell == "lstm" else zeros)
        total += term(loss, p, H, Y[t - 1])
    return total / n


def problem(cell, batch, loss, seed=0, T=6, d=3, h=4, q=3):
    rng = np.random.default_rng(seed)
    net = init_gated(cell, d, h, q, seed=seed, sigma=0.6)
    net = GatedRNN(cell, {k: v + 0.3 * rng.standard_normal(v.shape) if k.startswith("b_") else v
                          for k, v in net.params.items()})
    shape = (T, batch) if batch else (T,)
    X = rng.standard_normal(shape + (d,))
    Y = rng.standard_normal(shape + (q,)) if loss == "mse" else rng.integers(0, q, shape)
    return net, X, Y


STRATEGIES = [Full(), Truncated(2, "chunked"), Truncated(3, "sliding"), Randomized(0.5, seed=3)]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("strategy", STRATEGIES, ids=["full", "chunked", "sliding", "randomized"])
@pytest.mark.parametrize("loss", ["mse", "xent"])
@pytest.mark.parametrize("batch", [0, 2])
def test_gradients_equal_central_differences_of_the_surrogate(cell, strategy, loss, batch):
    net, X, Y = problem(cell, batch, loss)
    g = gated_bptt(net, X, Y, strategy, loss)
    xi = g.xi
    p0 = net.params
    assert g.loss == pytest.approx(surrogate(cell, p0, X, Y, loss, strategy, xi, p0), rel=1e-13)
    eps = 1e-6
    for name in parameter_names(cell):
        numeric = np.zeros(p0[name].shape)
        for idx in np.ndindex(p0[name].shape):
            plus, minus = dict(p0), dict(p0)
            for sign, params in ((1, plus), (-1, minus)):
                arr = p0[name].copy()
                arr[idx] += sign * eps
                params[name] = arr
            numeric[idx] = (surrogate(cell, plus, X, Y, loss, strategy, xi, p0)
                            - surrogate(cell, minus, X, Y, loss, strategy, xi, p0)) / (2 * eps)
        np.testing.assert_allclose(g.params[name], numeric, rtol=1e-6, atol=1e-9, err_msg=name)


@pytest.mark.parametrize("cell", CELLS)
def test_dL_dh_and_dL_dc_are_the_gradients_of_the_state(cell):
    # Full BPTT: ∂L/∂H_t (and ∂L/∂C_t) by central differences of a change added to the state at step t.
    net, X, Y = problem(cell, 0, "mse", T=5)
    g = gated_bptt(net, X, Y)
    p, T, h = net.params, X.shape[0], net.h

    def loss_with(t, which, delta):
        H = C = np.zeros(h)
        total = 0.0
        for s in range(1, T + 1):
            H, C = step(cell, p, X[s - 1], H, C if cell == "lstm" else np.zeros(h),
                        delta if (s == t and which == "c") else 0.0)
            if s == t and which == "h":
                H = H + delta
            total += term("mse", p, H, Y[s - 1])
        return total / T

    eps = 1e-6
    for which, got in (("h", g.dL_dh), ("c", g.dL_dc)):
        if got is None:
            assert cell == "gru" and which == "c"
            continue
        for t in range(1, T + 1):
            num = [(loss_with(t, which, eps * e) - loss_with(t, which, -eps * e)) / (2 * eps) for e in np.eye(h)]
            np.testing.assert_allclose(got[t - 1], num, rtol=1e-6, atol=1e-10, err_msg=f"{which} at t = {t}")


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("pi", [0.3, 0.75])
def test_randomized_expectation_over_every_pattern_is_full_bptt(cell, pi):
    net, X, Y = problem(cell, 0, "mse", T=5, seed=1)
    full = gated_bptt(net, X, Y).flat(cell)
    mean = np.zeros_like(full)
    for bits in itertools.product([0, 1], repeat=5):
        xi = np.array(bits) / pi
        prob = np.prod([pi if b else 1 - pi for b in bits])
        mean += prob * gated_bptt(net, X, Y, Randomized(pi, xi=xi)).flat(cell)
    np.testing.assert_allclose(mean, full, rtol=1e-12, atol=1e-15)


def test_full_is_randomized_with_every_xi_one_and_chunked_with_tau_T():
    for cell in CELLS:
        net, X, Y = problem(cell, 2, "xent", seed=2)
        full = gated_bptt(net, X, Y, loss="xent").flat(cell)
        for same in (Randomized(0.5, xi=np.ones(6)), Truncated(6, "chunked")):
            np.testing.assert_array_equal(gated_bptt(net, X, Y, same, loss="xent").flat(cell), full)
        np.testing.assert_allclose(gated_bptt(net, X, Y, Truncated(6, "sliding"), loss="xent").flat(cell), full,
                                   rtol=1e-12, atol=1e-16)


def test_lstm_constant_error_carousel():
    # Forget gate pinned open (σ(100) = 1 in float64) and input gate shut (σ(−800) = 0): C_t = C_{t−1}, and the
    # cell path hands ∂L/∂C on unchanged: ∂L/∂C_{t−1} = ∂L/∂C_t + ∂L/∂H_{t−1} ⊙ O_{t−1} ⊙ (1 − tanh² C_{t−1}).
    net = init_gated("lstm", 3, 5, 2, seed=4, sigma=0.5, biases={"b_f": 100.0, "b_i": -800.0})
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((30, 3)), rng.standard_normal((30, 2))
    C0 = rng.standard_normal(5)
    tr = gated_forward(net, X, C0=C0)
    assert (tr.gates["f"] == 1.0).all() and (tr.gates["i"] == 0.0).all()
    assert (tr.C == C0).all()
    g = gated_bptt(net, X, Y, C0=C0)
    through_h = g.dL_dh * tr.gates["o"] * (1.0 - np.tanh(tr.C[1:]) ** 2)
    np.testing.assert_allclose(g.dL_dc[:-1] - through_h[:-1], g.dL_dc[1:], rtol=0, atol=1e-15)
    J = gated_step_jacobians(net, tr)
    assert (J[:, 5:, 5:] == np.eye(5)).all()          # ∂C_t/∂C_{t−1} = diag(F_t) = I
    assert (J[:, 5:, :5] == 0.0).all()                 # nothing from H_{t−1} reaches C_t with I_t = 0


@pytest.mark.parametrize("cell", CELLS)
def test_step_jacobians_equal_central_differences(cell):
    net, X, _ = problem(cell, 0, "mse", T=4, seed=5)
    tr = gated_forward(net, X)
    J = gated_step_jacobians(net, tr)
    h, n = net.h, net.state_size
    assert J.shape == (4, n, n)
    eps = 1e-6
    for t in range(1, 5):
        S = np.concatenate([tr.H[t - 1]] + ([tr.C[t - 1]] if cell == "lstm" else []))

        def f(s):
            H, C = step(cell, net.params, X[t - 1], s[:h], s[h:] if cell == "lstm" else np.zeros(h))
            return np.concatenate([H] + ([C] if cell == "lstm" else []))

        num = np.stack([(f(S + eps * e) - f(S - eps * e)) / (2 * eps) for e in np.eye(n)], axis=1)
        np.testing.assert_allclose(J[t - 1], num, rtol=1e-6, atol=1e-10)


def test_bad_arguments_name_themselves():
    net = init_gated("gru", 3, 4, 2)
    with pytest.raises(ValueError, match="cell"):
        init_gated("rnn", 3, 4, 2)
    with pytest.raises(ValueError, match="params"):
        GatedRNN("lstm", net.params)
    bad = dict(net.params, W_hz=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="W_hz"):
        GatedRNN("gru", bad)
    with pytest.raises(ValueError, match="b_r"):
        GatedRNN("gru", dict(net.params, b_r=np.full(4, np.nan)))
    with pytest.raises(ValueError, match="X"):
        gated_forward(net, np.zeros((5, 2)))
    with pytest.raises(ValueError, match="H0"):
        gated_forward(net, np.zeros((5, 3)), H0=np.zeros(3))
    with pytest.raises(ValueError, match="C0"):
        gated_forward(net, np.zeros((5, 3)), C0=np.zeros(4))
    with pytest.raises(ValueError, match="biases"):
        init_gated("gru", 3, 4, 2, biases={"b_f": 1.0})
    with pytest.raises(ValueError, match="W_h"):
        init_gated("lstm", 3, 4, 2, W_h=np.eye(3))
    with pytest.raises(ValueError, match="strategy"):
        gated_bptt(net, np.zeros((5, 3)), np.zeros((5, 2)), strategy="full")
    with pytest.raises(ValueError, match="loss"):
        gated_bptt(net, np.zeros((5, 3)), np.zeros((5, 2)), loss="l1")
    with pytest.raises(ValueError, match="Y"):
        gated_bptt(net, np.zeros((5, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="tr"):
        gated_step_jacobians(net, gated_forward(net, np.zeros((5, 2, 3))))
    assert set(GATES) == set(CELLS)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("loss", ["mse", "xent"])
def test_log_space_norms_equal_the_gradients_norms(cell, loss):
    net, X, Y = problem(cell, 0, loss, T=12, seed=6)
    g = gated_bptt(net, X, Y, loss=loss)
    np.testing.assert_allclose(gated_log10_dL_dh(net, X, Y, loss), np.log10(np.linalg.norm(g.dL_dh, axis=-1)),
                               rtol=0, atol=1e-12)
    net, X, Y = problem(cell, 3, loss, T=12, seed=6)
    g = gated_bptt(net, X, Y, loss=loss)
    np.testing.assert_allclose(gated_log10_dL_dh(net, X, Y, loss),
                               np.log10(np.sqrt((g.dL_dh ** 2).sum(axis=(1, 2)))), rtol=0, atol=1e-12)


def test_log_space_norms_stay_finite_past_float64():
    # Recurrent weights 40·I: each step back multiplies the flow by more than 1; over 2500 steps ∂L/∂H_1
    # leaves float64 (10^308), the log-space norms do not.
    for cell in CELLS:
        net = init_gated(cell, 2, 3, 2, seed=0, sigma=0.1, W_h=40.0 * np.eye(3))
        rng = np.random.default_rng(0)
        X, Y = rng.standard_normal((2500, 2)) * 0.01, rng.standard_normal((2500, 2))
        got = gated_log10_dL_dh(net, X, Y)
        assert np.isfinite(got).all() and got.max() > 320
        short = gated_bptt(net, X[:40], Y[:40])  # where float64 still holds, the two agree
        np.testing.assert_allclose(gated_log10_dL_dh(net, X[:40], Y[:40]),
                                   np.log10(np.linalg.norm(short.dL_dh, axis=-1)), rtol=0, atol=1e-10)


def test_forget_bias_sweep_rows_are_the_single_networks():
    net, X, Y = problem("lstm", 0, "mse", T=15, seed=7)
    b_fs = np.array([-3.0, 0.0, 1.0, 4.0])
    grid = lstm_log10_dL_dh_over_forget_bias(net, X, Y, b_fs)
    assert grid.shape == (4, 15)
    for f, b in enumerate(b_fs):
        single = GatedRNN("lstm", dict(net.params, b_f=np.full(net.h, b)))
        np.testing.assert_allclose(grid[f], gated_log10_dL_dh(single, X, Y), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="net"):
        lstm_log10_dL_dh_over_forget_bias(init_gated("gru", 3, 4, 3), X, Y, b_fs)


def test_forget_bias_lag_sweep_rows_are_the_single_networks():
    net, X, _ = problem("lstm", 0, "mse", T=20, seed=8)
    b_fs = np.array([-2.0, 0.0, 3.0, 8.0])
    grid = lstm_lag_norms_over_forget_bias(net, X, b_fs, 20)
    assert grid.shape == (4, 21)
    for f, b in enumerate(b_fs):
        single = GatedRNN("lstm", dict(net.params, b_f=np.full(net.h, b)))
        want = log10_lag_norms(GatedJacobians(single, gated_forward(single, X)), 20)
        np.testing.assert_allclose(grid[f], want, rtol=0, atol=1e-10)
    assert (np.diff(grid[:, -1]) > 0).all()   # an open forget gate carries a change of the state farther back
    np.testing.assert_array_equal(lstm_lag_norms_over_forget_bias(net, X, b_fs, 5), grid[:, :6])


@pytest.mark.parametrize("cell", CELLS)
def test_batched_step_jacobians_are_each_sequences(cell):
    net, X, _ = problem(cell, 3, "mse", T=4, seed=9)
    tr = gated_forward(net, X)
    for i in range(4):
        batched = _step_jacobian(net, tr, i)
        for b in range(3):
            single = gated_forward(net, X[:, b])
            np.testing.assert_allclose(batched[b], GatedJacobians(net, single)[i], rtol=0, atol=1e-15)


def test_gated_like_rnn_shares_the_rnns_matrices_and_scale():
    from bptt_core import init_rnn, singular_values
    rnn = init_rnn(3, 5, 2, activation="tanh", spectral_radius=1.3, seed=0)
    sv = singular_values(rnn.W_hh)
    for cell, candidate in (("gru", "h"), ("lstm", "c")):
        net = gated_like_rnn(cell, rnn, {"b_f": 2.0} if cell == "lstm" else {"b_z": -1.0}, seed=3)
        np.testing.assert_array_equal(net.params[f"W_h{candidate}"], rnn.W_hh.T)   # the RNN's place
        np.testing.assert_array_equal(net.params[f"W_x{candidate}"], rnn.W_hx.T)
        gates = [g for g in GATES[cell] if g != candidate]
        for g in gates:   # a rotation of W_hh: the same singular values (and ρ), not the same matrix
            np.testing.assert_allclose(singular_values(net.params[f"W_h{g}"]), sv, rtol=1e-12)
            assert not np.allclose(net.params[f"W_h{g}"], rnn.W_hh.T)
        assert not np.allclose(net.params[f"W_h{gates[0]}"], net.params[f"W_h{gates[1]}"])
        np.testing.assert_array_equal(net.params["W_hq"], rnn.W_qh.T)
        bias = "b_f" if cell == "lstm" else "b_z"
        assert (net.params[bias] == (2.0 if cell == "lstm" else -1.0)).all()
        again = gated_like_rnn(cell, rnn, seed=3)
        np.testing.assert_array_equal(again.params[f"W_h{gates[0]}"], net.params[f"W_h{gates[0]}"])
    with pytest.raises(ValueError, match="biases"):
        gated_like_rnn("gru", rnn, {"b_f": 1.0})
