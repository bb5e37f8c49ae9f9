"""Drag and see, the core: every frame of a grid equals the single computation at its parameter.

The grids put the dragged parameter on an array axis (a stack of W_hh over ρ, patterns ξ over τ and π,
c over the scalar model); each row must be what the view computes for that one value. Where a
network is chaotic (tanh or sigmoid with a large ρ over many steps) two float64 computations of the
same trajectory part through rounding alone (the butterfly tab shows it), so the runs compared here
are ones whose trajectories do not diverge.
"""

from __future__ import annotations

import numpy as np
import pytest

from bptt_core import (Randomized, Truncated, bptt, chunked_xi_sweep, eigenvalues, forward, lab_problem,
                       lab_w_hh_over_rho, log10_dL_dh_over_rho, log10_dL_dh_sweep, log10_gradient_norms,
                       log10_lag_norms_over_rho, log10_power_norms, log10_power_norms_stack, log10_sliding_dL_dh_sweep,
                       randomized_xi_sweep, scalar_sequences, scalar_terms, scalar_terms_over_c, schur_affine,
                       singular_values, singular_values_stack, spectrum, spectrum_over_rho, w_hh_schur)
from bptt_core.comparison import log10_row_norms
from bptt_core.jacobians import factored_step_jacobians, log10_lag_norms

RHOS = np.round(np.arange(0.1, 3.0001, 0.05), 2)
KINDS = ("symmetric", "normal", "nonnormal", "gaussian")


@pytest.mark.parametrize("kind", KINDS)
def test_w_hh_over_rho_is_the_single_matrix(kind):
    stack = lab_w_hh_over_rho(12, RHOS, kind, 0.4, 3.0, 5)
    for f, rho in enumerate(RHOS):
        single = lab_problem(3, 12, "identity", rho, kind, 0.4, 3.0, 5)[0].W_hh
        assert np.allclose(stack[f], single, rtol=0, atol=1e-14 * np.abs(single).max())


@pytest.mark.parametrize("activation, T", [("identity", 50), ("identity", 400), ("relu", 200), ("sigmoid", 300),
                                           ("tanh", 50)])
@pytest.mark.parametrize("kind", KINDS)
def test_gradient_over_rho_is_the_single_run(kind, activation, T):
    """Frame f equals log10_gradient_norms at ρ_f, also past float64 (identity at ρ = 3 over 400 steps)."""
    rnn, X, Y = lab_problem(T, 10, activation, 0.9, kind, 0.5, 1.0, 2)
    stack = lab_w_hh_over_rho(10, RHOS, kind, 0.5, 1.0, 2)
    V, peak = log10_dL_dh_over_rho(rnn, stack, X, Y)
    assert np.isfinite(V).all()
    for f, rho in enumerate(RHOS):
        if activation == "tanh" and rho > 1.5:
            continue  # chaotic: see the module's docstring
        single = log10_gradient_norms(*lab_problem(T, 10, activation, rho, kind, 0.5, 1.0, 2))
        assert np.allclose(V[f], single.log10_dL_dh, rtol=1e-12, atol=1e-11), f"ρ = {rho}"
        assert peak[f] == pytest.approx(max(single.log10_h.max(), single.log10_dL_dh.max()), rel=1e-12, abs=1e-11)


def test_gradient_over_rho_rejects_a_wrong_stack():
    rnn, X, Y = lab_problem(5, 4, "tanh", 0.9, "symmetric", 0.5, 1.0, 0)
    with pytest.raises(ValueError, match="W_hh_stack"):
        log10_dL_dh_over_rho(rnn, np.zeros((2, 3, 3)), X, Y)
    with pytest.raises(ValueError, match="rhos"):
        lab_w_hh_over_rho(4, [-1.0], "symmetric", 0.5, 1.0, 0)


@pytest.mark.parametrize("kind", KINDS)
def test_spectrum_and_singular_values_over_rho(kind):
    stack = lab_w_hh_over_rho(9, RHOS, kind, 0.5, 2.0, 1)
    sv = singular_values_stack(stack)
    for f, rho in enumerate(RHOS):
        W = lab_problem(2, 9, "identity", rho, kind, 0.5, 2.0, 1)[0].W_hh
        assert np.allclose(sv[f], singular_values(W), rtol=1e-12, atol=1e-14)
    if kind != "gaussian":
        designed = spectrum_over_rho(9, RHOS, kind, 0.5)
        for f, rho in enumerate(RHOS):
            assert np.allclose(designed[f], spectrum(9, rho, kind, 0.5), rtol=1e-15, atol=0)
    else:
        assert np.allclose(eigenvalues(stack[-1]), RHOS[-1] * eigenvalues(stack[0] / RHOS[0]), rtol=1e-10)


@pytest.mark.parametrize("activation", ["identity", "tanh"])
def test_truncation_sweeps_are_the_single_runs(activation):
    """Regular and randomized truncation as patterns ξ on an array axis, sliding truncation per τ: every
    row is ``bptt`` with that strategy (the draw of Randomized(π, seed) for π)."""
    rnn, X, Y = lab_problem(40, 8, activation, 1.1, "symmetric", 0.5, 1.0, 3)
    taus = list(range(1, 45))
    chunked = log10_dL_dh_sweep(rnn, X, Y, chunked_xi_sweep(40, taus))
    sliding = log10_sliding_dL_dh_sweep(rnn, X, Y, taus)
    for f, tau in enumerate(taus):
        assert np.allclose(chunked[f], log10_row_norms(bptt(rnn, X, Y, Truncated(tau)).dL_dh), rtol=1e-12)
        assert np.allclose(sliding[f], log10_row_norms(bptt(rnn, X, Y, Truncated(tau, "sliding")).dL_dh), rtol=1e-12, atol=0)
    pis = np.round(np.arange(0.05, 1.0001, 0.05), 2)
    randomized = log10_dL_dh_sweep(rnn, X, Y, randomized_xi_sweep(40, pis, 3))
    for f, pi in enumerate(pis):
        single = log10_row_norms(bptt(rnn, X, Y, Randomized(pi, 3)).dL_dh)
        assert np.allclose(randomized[f], single, rtol=1e-12, atol=0), f"π = {pi}"


@pytest.mark.parametrize("activation", ["identity", "tanh", "sigmoid"])
@pytest.mark.parametrize("kind", KINDS)
def test_lag_norms_over_rho_are_the_single_runs(kind, activation):
    """The lag curves of the Jacobians view at every ρ (a moderately non-normal W: a very non-normal one's
    products are ill-conditioned in float64, so two orders of multiplication part beyond rounding)."""
    rnn, X, _ = lab_problem(40, 12, activation, 0.9, kind, 0.5, 1.0, 4)
    V = log10_lag_norms_over_rho(rnn, lab_w_hh_over_rho(12, RHOS, kind, 0.5, 1.0, 4), X)
    for f, rho in enumerate(RHOS):
        if activation != "identity" and rho > 1.5:
            continue  # chaotic: see the module's docstring
        r1, X1, _ = lab_problem(40, 12, activation, rho, kind, 0.5, 1.0, 4)
        single = log10_lag_norms(factored_step_jacobians(r1, forward(r1, X1)))
        assert np.allclose(V[f], single, rtol=0, atol=1e-12 * max(1.0, np.abs(single).max())), f"ρ = {rho}"


@pytest.mark.parametrize("kind, s", [("nonnormal", 2.0), ("nonnormal", 10.0), ("normal", 0.0)])
def test_power_norms_stack_are_the_single_curves(kind, s):
    """Powers of the Schur factors ρ·D + s·N, all ρ at once, against ``log10_power_norms`` of each one, the
    curve the Eigenvalues view draws (``w_hh_schur``'s factor at that ρ)."""
    _, D, S = schur_affine(16, kind, 0.5, s, 1)
    V = log10_power_norms_stack(RHOS[:, None, None] * D + S, 150)
    for f, rho in enumerate(RHOS):
        single = log10_power_norms(w_hh_schur(16, rho, kind, 0.5, s, 1)[1], 150)
        assert np.allclose(V[f], single, rtol=0, atol=1e-11 * max(1.0, np.abs(single).max())), f"ρ = {rho}"


@pytest.mark.parametrize("c_noise", [0.0, 0.4])
def test_scalar_terms_over_c_are_the_single_runs(c_noise):
    cs = np.round(np.arange(-3.0, 3.0001, 0.05), 2)
    grid = scalar_terms_over_c(80, cs, c_noise, 7)
    for f, c in enumerate(cs):
        single = scalar_terms(*scalar_sequences(80, c, c_noise, 7))
        assert np.array_equal(grid.log10_abs[f], single.log10_abs) and np.array_equal(grid.sign[f], single.sign)


@pytest.mark.parametrize("loss", ["mse", "xent"])
@pytest.mark.parametrize("activation", ["identity", "tanh", "sigmoid", "relu"])
def test_the_graphs_messages_over_rho_are_the_single_runs(activation, loss):
    """The T = 3 graph's frames: every ρ's messages from one stacked pass equal the run with that W_hh alone,
    and its ‖∂L/∂h_t‖, ‖∂L/∂W‖ and L equal ``bptt``'s (the readable BPTT), past float64 too (ρ = 3 with
    identity stays finite here; the largest ρ of the grid is checked either way)."""
    from bptt_core import RNN, UnrolledGradients, unrolled_gradients, unrolled_gradients_over_w_hh

    rnn, X, Y = lab_problem(3, 6, activation, 0.9, "nonnormal", 0.5, 2.0, 4)
    if loss == "xent":
        Y = np.array([0, 1, 1])
    stack = lab_w_hh_over_rho(6, RHOS, "nonnormal", 0.5, 2.0, 4)
    frames = unrolled_gradients_over_w_hh(rnn, stack, X, Y, loss=loss)
    assert len(frames) == len(RHOS) and all(isinstance(f, UnrolledGradients) for f in frames)
    for f, W in enumerate(stack):
        one = RNN(rnn.W_hx, W, rnn.W_qh, activation=rnn.activation)
        single, g = unrolled_gradients(one, X, Y, loss=loss), bptt(one, X, Y, loss=loss)
        assert frames[f].finite == single.finite == g.finite
        for mine, theirs in ((frames[f].value_norms, single.value_norms), (frames[f].grad_norms, single.grad_norms)):
            assert mine.keys() == theirs.keys()
            assert np.allclose([mine[k] for k in mine], [theirs[k] for k in mine], rtol=1e-12, atol=0)
        assert [(e.source, e.target, e.message) for e in frames[f].edges] == \
               [(e.source, e.target, e.message) for e in single.edges]
        assert frames[f].value_norms["L"] == pytest.approx(g.loss, rel=1e-12)
        for t in range(1, 4):
            assert frames[f].grad_norms[f"h_{t}"] == pytest.approx(np.linalg.norm(g.dL_dh[t - 1]), rel=1e-12)
        for name, G in zip(("W_hx", "W_hh", "W_qh"), g.params):
            assert frames[f].grad_norms[name] == pytest.approx(np.linalg.norm(G), rel=1e-12)


def test_the_graphs_messages_reject_a_wrong_stack():
    from bptt_core import unrolled_gradients_over_w_hh

    rnn, X, Y = lab_problem(3, 4, "tanh", 0.9, "symmetric", 0.5, 1.0, 0)
    with pytest.raises(ValueError, match="W_hh"):
        unrolled_gradients_over_w_hh(rnn, np.zeros((2, 3, 3)), X, Y)


@pytest.mark.parametrize("T, c_noise", [(50, 0.0), (80, 0.3), (400, 0.0)])
def test_scalar_checks_over_c_are_the_single_checks(T, c_noise):
    """The recursion tab's frames over c: every row equals ``compare_recursion_and_terms`` of that c's own
    draw, past float64 too (|c| up to 3 over 400 steps), zeros of c included (c = 0 in the grid)."""
    from bptt_core import compare_recursion_and_terms, scalar_checks_over_c

    cs = np.round(np.arange(-3.0, 3.0001, 0.25), 2)
    frames = scalar_checks_over_c(T, cs, c_noise, 3)
    assert len(frames) == cs.size
    for f, c in enumerate(cs):
        single = compare_recursion_and_terms(*scalar_sequences(T, c, c_noise, 3))
        for name in ("log10_recursion", "sign_recursion", "log10_sum", "sign_sum", "log10_total", "gap"):
            np.testing.assert_array_equal(getattr(frames[f], name), getattr(single, name), err_msg=f"{name}, c = {c}")
        assert np.isfinite(single.log10_recursion[single.sign_recursion != 0]).all()
        assert single.gap.max() < 1e-12
