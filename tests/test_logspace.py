"""Log-space BPTT norms agree with plain BPTT where float64 suffices and stay finite where it does not."""

import numpy as np
import pytest

from bptt_core import (ACTIVATIONS, Full, Randomized, Truncated, bptt, forward, log10_gradient_norms,
                       toy_problem)


def log10_rows(V):
    with np.errstate(divide="ignore"):
        return np.log10(np.linalg.norm(V.reshape(V.shape[0], -1), axis=1))


@pytest.mark.parametrize("loss", ["mse", "xent"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("strategy", [Full(), Truncated(5), Randomized(0.5, seed=3)], ids=["full", "chunked", "randomized"])
def test_matches_plain_bptt_where_float64_suffices(activation, loss, strategy):
    rnn, X, Y = toy_problem(40, 8, activation=activation, rho=1.1, seed=2)
    if loss == "xent":
        Y = (np.abs(Y[:, 0]) > 0.5).astype(int)
    g = bptt(rnn, X, Y, strategy=strategy, loss=loss)
    tr = forward(rnn, X)
    ln = log10_gradient_norms(rnn, X, Y, strategy=strategy, loss=loss)
    np.testing.assert_allclose(ln.log10_h[1:], log10_rows(tr.H[1:]), atol=1e-11)
    np.testing.assert_allclose(ln.log10_dL_dh, log10_rows(g.dL_dh), atol=1e-11)
    grads = np.log10([np.linalg.norm(p) for p in g.params])
    np.testing.assert_allclose(ln.log10_grads, grads, atol=1e-10)
    assert ln.log10_loss == pytest.approx(np.log10(g.loss), abs=1e-12)
    assert not ln.exceeds_float64


def test_each_steps_contribution_to_W_hh():
    rnn, X, Y = toy_problem(30, 6, activation="tanh", rho=0.9, seed=1)
    g = bptt(rnn, X, Y)
    tr = forward(rnn, X)
    from bptt_core.activations import phi_prime
    delta = phi_prime("tanh", tr.A, tr.H[1:]) * g.dL_dh
    norms = np.linalg.norm(delta, axis=1) * np.linalg.norm(tr.H[:-1], axis=1)
    expected = np.log10(norms, where=norms > 0, out=np.full(30, -np.inf))
    ln = log10_gradient_norms(rnn, X, Y)
    np.testing.assert_allclose(ln.log10_W_hh_terms, expected, atol=1e-11)
    assert ln.log10_W_hh_terms[0] == -np.inf  # h_0 = 0 contributes nothing


@pytest.mark.parametrize("activation", ["identity", "relu", "tanh"])
def test_finite_where_float64_overflows(activation):
    rnn, X, Y = toy_problem(1000, 16, activation=activation, rho=3.0, seed=0)
    g = bptt(rnn, X, Y)
    ln = log10_gradient_norms(rnn, X, Y)
    for arr in (ln.log10_h[1:], ln.log10_dL_dh, ln.log10_grads):
        assert np.isfinite(arr).all()
    if activation != "tanh":
        assert not g.finite and ln.exceeds_float64
    if activation == "identity":
        # Identity: ‖h_t‖ grows like ρ^t, so log10‖h_T‖ ≈ T log10 ρ up to a modest offset.
        assert ln.log10_h[-1] == pytest.approx(1000 * np.log10(3.0), abs=20)
    # The gradient at the first step is the largest: it went through the most Jacobians.
    assert ln.log10_dL_dh[0] > ln.log10_dL_dh[-1]


def test_sliding_and_batches_are_refused_with_value_error():
    rnn, X, Y = toy_problem(10, 4)
    with pytest.raises(ValueError, match="strategy"):
        log10_gradient_norms(rnn, X, Y, strategy=Truncated(3, mode="sliding"))
    with pytest.raises(ValueError, match="X"):
        log10_gradient_norms(rnn, np.stack([X, X], 1), np.stack([Y, Y], 1))
