"""Every fast backward pass in the core against ``bptt_reference``, the plain loop of bptt_core.bptt.

The reference is proved by central differences (tests/test_bptt.py); here each faster
implementation of the same recursion is checked against it, over the strategies, the four
activations, both losses, with and without a batch axis (where the fast path takes them),
on small seeded problems, to about 1e-12 relative:

- ``bptt`` (``reverse_sweep`` / ``_sweep_one``, both its hidden-size branches, and ``sliding_sweep``);
- ``sample_deltas`` + ``flat_sample_gradients`` (many ξ patterns at once);
- ``train.window_gradients`` (the character RNN's window, biases as an input that is always 1);
- ``sweeps.log10_dL_dh_sweep`` and ``scaled_backward_norms`` (log-space norms, strategies on an axis);
- ``logspace.log10_gradient_norms``;
- ``expanded_sum``: ``recursion_dL_dh``, ``product_form_dL_dh``, ``expanded_dL_dh``,
  ``w_hh_contributions``, ``unrolled_gradients``.

Log-space results are compared with the reference's log10 norms where the reference is finite.
"""

from __future__ import annotations

import numpy as np
import pytest

from bptt_core import (ACTIVATIONS, RNN, Full, Randomized, Truncated, bptt, bptt_reference, expanded_dL_dh, forward,
                       init_char_rnn, init_rnn, log10_dL_dh_sweep, log10_gradient_norms, multipliers,
                       product_form_dL_dh, randomized_xi, recursion_dL_dh, scaled_backward_norms, unrolled_gradients,
                       w_hh_contributions, window_gradients)
from bptt_core.activations import phi_prime
from bptt_core.bptt import flat_sample_gradients, sample_deltas
from bptt_core.losses import check_targets, loss_and_grad

D, Q, T, B = 3, 3, 9, 2
TAU, PI = 3, 0.5
RTOL = 1e-12
STRATEGIES = {
    "full": Full(),
    "chunked": Truncated(TAU),
    "sliding": Truncated(TAU, "sliding"),
    "randomized": Randomized(PI, seed=4),
}
XI_STRATEGIES = [k for k in STRATEGIES if k != "sliding"]  # the strategies that are ξ patterns
LOSSES = ("mse", "xent")
LN10 = np.log(10.0)


def problem(activation, loss, batched, h=4, seed=0):
    """A small RNN (ρ = 1.1), data and a non-zero h0; inputs scaled so relu's kinks are far from every a_t."""
    rng = np.random.default_rng(seed)
    rnn = init_rnn(D, h, Q, activation=activation, spectral_radius=1.1, seed=seed)
    shape = (T, B) if batched else (T,)
    X = rng.standard_normal(shape + (D,))
    Y = rng.integers(0, Q, size=shape) if loss == "xent" else rng.standard_normal(shape + (Q,))
    h0 = 0.5 * rng.standard_normal((B, h) if batched else (h,))
    return rnn, X, Y, h0


def assert_close(actual, reference, rtol=RTOL):
    """max |actual − reference| ≤ rtol · max |reference| (the error on the array's own scale)."""
    actual, reference = np.asarray(actual, float), np.asarray(reference, float)
    assert actual.shape == reference.shape
    scale = np.max(np.abs(reference))
    assert np.max(np.abs(actual - reference)) <= rtol * scale, np.max(np.abs(actual - reference)) / scale


def log10_norms(V):
    """log10 ‖V[t]‖ per row of V (n, ...), finite V: −inf for an exact zero; rows near 1e308 are
    divided by their largest entry before squaring."""
    rows = np.asarray(V, float).reshape(len(V), -1)
    m = np.max(np.abs(rows), axis=1)
    safe = np.where(m > 0, m, 1.0)
    with np.errstate(divide="ignore"):
        return np.log10(m) + np.log10(np.linalg.norm(rows / safe[:, None], axis=1) + (m == 0))


def assert_log10_close(actual, reference, rtol=RTOL):
    """log10 norms that agree to ``rtol`` relative in the norms themselves (−inf only with −inf)."""
    actual, reference = np.asarray(actual, float), np.asarray(reference, float)
    assert actual.shape == reference.shape
    np.testing.assert_array_equal(actual == -np.inf, reference == -np.inf)
    live = reference > -np.inf
    assert np.all(np.abs(actual[live] - reference[live]) * LN10 <= rtol)


def reference_delta(rnn, X, g, h0):
    """δ_t = φ'(a_t) ⊙ ∂L/∂h_t (T, [B,] h) of a reference result g."""
    tr = forward(rnn, X, h0)
    return phi_prime(rnn.activation, tr.A, tr.H[1:]) * g.dL_dh


# --- bptt ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("h", [4, 40], ids=["h=4 augmented", "h=40 plain"])  # both branches of _sweep_one
@pytest.mark.parametrize("batched", [False, True], ids=["single", "batch"])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("name", list(STRATEGIES))
def test_bptt_equals_the_reference(name, activation, loss, batched, h):
    rnn, X, Y, h0 = problem(activation, loss, batched, h)
    fast = bptt(rnn, X, Y, STRATEGIES[name], loss, h0)
    ref = bptt_reference(rnn, X, Y, STRATEGIES[name], loss, h0)
    for a, b in zip(fast.params + (fast.dL_dh, fast.dL_do), ref.params + (ref.dL_dh, ref.dL_do)):
        assert_close(a, b)
    assert fast.loss == ref.loss
    if ref.xi is None:
        assert fast.xi is None
    else:
        np.testing.assert_array_equal(fast.xi, ref.xi)
    assert fast.finite and ref.finite


def overflowing_problem(batched):
    """h_t stays bounded while ∂L/∂h_t doubles per step back (diag(2, ½)): it leaves float64 about
    1030 steps before the end. ξ has one cut at t = 10, where the overflowed gradient must stop."""
    rnn = RNN(W_hx=[[0.0], [1.0]], W_hh=[[2.0, 0.0], [0.0, 0.5]], W_qh=[[1.0, 1.0]], activation="identity")
    T_ = 1100
    shape = (T_, B) if batched else (T_,)
    xi = np.ones(T_)
    xi[9] = 0.0  # ξ_10
    return rnn, np.ones(shape + (1,)), np.zeros(shape + (1,)), xi


@pytest.mark.parametrize("batched", [False, True], ids=["single", "batch"])
def test_bptt_equals_the_reference_where_a_cut_meets_an_overflow(batched):
    rnn, X, Y, xi = overflowing_problem(batched)
    strategy = Randomized(1.0, xi=xi)
    fast, ref = bptt(rnn, X, Y, strategy), bptt_reference(rnn, X, Y, strategy)
    assert ref.backward_overflow_step is not None and ref.backward_overflow_step > 10
    assert fast.backward_overflow_step == ref.backward_overflow_step
    assert fast.forward_overflow_step is None and ref.forward_overflow_step is None
    finite = np.isfinite(ref.dL_dh)
    np.testing.assert_array_equal(np.isfinite(fast.dL_dh), finite)
    assert finite[:9].all()  # the cut at ξ_10 stopped the overflow: steps 1..9 are finite again
    assert_close(fast.dL_dh[finite], ref.dL_dh[finite])


# --- many ξ patterns at once -------------------------------------------------------------------------

def xi_rows():
    """(S, T): every ξ strategy's multipliers, two randomized draws and arbitrary finite values."""
    rows = [multipliers(STRATEGIES[k], T) for k in XI_STRATEGIES]
    rows += list(randomized_xi(T, 0.3, seed=1, samples=2))
    rows.append(np.random.default_rng(2).uniform(-1.5, 1.5, T))
    return np.array(rows)


@pytest.mark.parametrize("batched", [False, True], ids=["single", "batch"])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_sample_deltas_and_flat_gradients_equal_the_reference(activation, loss, batched):
    rnn, X, Y, h0 = problem(activation, loss, batched)
    tr = forward(rnn, X, h0)
    _, dL_do = loss_and_grad(loss, tr.O, check_targets(loss, Y, tr.O.shape))
    dq, dphi = dL_do @ rnn.W_qh, phi_prime(activation, tr.A, tr.H[1:])
    xi = xi_rows()
    delta = sample_deltas(rnn.W_hh, dq, dphi, xi)
    G = flat_sample_gradients(delta, tr, dL_do)
    assert delta.shape == (T, xi.shape[0]) + dq.shape[1:] and G.shape[0] == xi.shape[0]
    for s, row in enumerate(xi):
        ref = bptt_reference(rnn, X, Y, Randomized(1.0, xi=row), loss, h0)
        assert_close(delta[:, s], reference_delta(rnn, X, ref, h0))
        assert_close(G[s], ref.flat())


@pytest.mark.parametrize("batched", [False, True], ids=["single", "batch"])
def test_sample_deltas_equal_the_reference_where_a_cut_meets_an_overflow(batched):
    rnn, X, Y, xi = overflowing_problem(batched)
    tr = forward(rnn, X)
    _, dL_do = loss_and_grad("mse", tr.O, Y)
    dphi = phi_prime("identity", tr.A, tr.H[1:])
    delta = sample_deltas(rnn.W_hh, dL_do @ rnn.W_qh, dphi, xi[None])[:, 0]
    want = reference_delta(rnn, X, bptt_reference(rnn, X, Y, Randomized(1.0, xi=xi)), None)
    finite = np.isfinite(want)
    np.testing.assert_array_equal(np.isfinite(delta), finite)
    assert finite[:9].all()
    assert_close(delta[finite], want[finite])


# --- the character RNN's training window -------------------------------------------------------------

V = 5  # vocabulary


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("name", list(STRATEGIES))
def test_window_gradients_equal_the_reference(name, activation, batch):
    # The trainer's model has biases and one-hot inputs; the reference's has neither. With inputs
    # [e_{x_t}; 1], W_hx' = [W_hx | b_h] is the same network, and b_q = 0 leaves o_t unchanged.
    rng = np.random.default_rng(5)
    h = 4
    char = init_char_rnn(V, h, seed=1, scale=0.6, activation=activation)
    char.b_h[...] = 0.3 * rng.standard_normal(h)
    X = rng.integers(0, V, (T, batch))
    Y = rng.integers(0, V, (T, batch))
    h0 = 0.5 * rng.standard_normal((batch, h))
    strategy = STRATEGIES[name]
    xi = multipliers(strategy, T)
    sliding = strategy.tau if xi is None else None
    loss, g, _ = window_gradients(char, X, Y, h0, xi, sliding_tau=sliding)
    rnn = RNN(np.hstack([char.W_hx, char.b_h[:, None]]), char.W_hh, char.W_qh, activation=activation)
    inputs = np.concatenate([np.eye(V)[X], np.ones((T, batch, 1))], axis=2)
    ref = bptt_reference(rnn, inputs, Y, Randomized(1.0, xi=xi) if xi is not None else strategy, "xent", h0)
    assert loss == pytest.approx(ref.loss, rel=1e-14)
    assert_close(np.hstack([g.W_hx, g.b_h[:, None]]), ref.W_hx)
    assert_close(g.W_hh, ref.W_hh)
    assert_close(g.W_qh, ref.W_qh)
    assert_close(g.b_q, ref.dL_do.sum(axis=(0, 1)))


# --- log-space norms ----------------------------------------------------------------------------------

@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dL_dh_sweep_equals_the_reference(activation, loss):
    rnn, X, Y, h0 = problem(activation, loss, batched=False)
    xi = xi_rows()
    out = log10_dL_dh_sweep(rnn, X, Y, xi, loss, h0)
    tr = forward(rnn, X, h0)
    _, dL_do = loss_and_grad(loss, tr.O, check_targets(loss, Y, tr.O.shape))
    direct = scaled_backward_norms(rnn.W_hh, dL_do @ rnn.W_qh, phi_prime(activation, tr.A, tr.H[1:]), xi)
    for f, row in enumerate(xi):
        want = log10_norms(bptt_reference(rnn, X, Y, Randomized(1.0, xi=row), loss, h0).dL_dh)
        assert_log10_close(out[f], want)
        assert_log10_close(direct[f], want)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("name", XI_STRATEGIES)
def test_log10_gradient_norms_equal_the_reference(name, activation, loss):
    rnn, X, Y, h0 = problem(activation, loss, batched=False)
    ln = log10_gradient_norms(rnn, X, Y, STRATEGIES[name], loss, h0)
    ref = bptt_reference(rnn, X, Y, STRATEGIES[name], loss, h0)
    tr = forward(rnn, X, h0)
    delta = reference_delta(rnn, X, ref, h0)
    assert_log10_close(ln.log10_h, log10_norms(tr.H))
    assert_log10_close(ln.log10_dL_dh, log10_norms(ref.dL_dh))
    assert_log10_close(ln.log10_delta, log10_norms(delta))
    assert_log10_close(ln.log10_W_hh_terms, log10_norms(delta[:, :, None] * tr.H[:-1, None, :]))
    assert_log10_close(ln.log10_grads, np.log10([np.linalg.norm(p) for p in ref.params]))
    assert_log10_close([ln.log10_loss], [np.log10(ref.loss)])


def test_log_space_norms_equal_the_reference_where_it_is_finite():
    # Past float64 the reference is inf; on the steps where it is finite, the log-space passes agree.
    rnn, X, Y, xi = overflowing_problem(batched=False)
    ref = bptt_reference(rnn, X, Y)
    finite = np.isfinite(ref.dL_dh).all(axis=1)
    assert 0 < finite.sum() < finite.size
    want = log10_norms(ref.dL_dh[finite])
    rtol = 1e-10  # a thousand steps of rounding, in the reference and in the log-space pass alike
    assert_log10_close(log10_gradient_norms(rnn, X, Y).log10_dL_dh[finite], want, rtol)
    assert_log10_close(log10_dL_dh_sweep(rnn, X, Y, np.ones((1, X.shape[0])))[0, finite], want, rtol)
    assert_log10_close(recursion_dL_dh(rnn, X, Y).log10_norms()[finite], want, rtol)
    assert_log10_close(product_form_dL_dh(rnn, X, Y, last=200).dL_dh.log10_norms(), want[-200:], rtol)
    assert_log10_close(expanded_dL_dh(rnn, X, Y).dL_dh.log10_norms()[finite], want, rtol)


# --- the expanded sum, term by term (full BPTT, mse, one sequence) -------------------------------------

@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_expanded_sum_forms_equal_the_reference(activation):
    rnn, X, _, h0 = problem(activation, "mse", batched=False)
    Y = np.random.default_rng(3).standard_normal((T, Q))
    ref = bptt_reference(rnn, X, Y, h0=h0)
    assert_close(recursion_dL_dh(rnn, X, Y, h0=h0).values(), ref.dL_dh)
    assert_close(product_form_dL_dh(rnn, X, Y, h0=h0).dL_dh.values(), ref.dL_dh)
    assert_close(product_form_dL_dh(rnn, X, Y, h0=h0, last=4).dL_dh.values(), ref.dL_dh[-4:])
    if activation == "identity":
        assert_close(expanded_dL_dh(rnn, X, Y, h0=h0).dL_dh.values(), ref.dL_dh)
    C = w_hh_contributions(rnn, X, Y, h0=h0)
    tr = forward(rnn, X, h0)
    delta = reference_delta(rnn, X, ref, h0)
    assert_close(C, delta[:, :, None] * tr.H[:-1, None, :])
    assert_close(C.sum(axis=0), ref.W_hh)
    ug = unrolled_gradients(rnn, X, Y, h0=h0)
    assert_close([ug.grad_norms[f"h_{t}"] for t in range(1, T + 1)], np.linalg.norm(ref.dL_dh, axis=1))
    assert_close([ug.grad_norms[f"a_{t}"] for t in range(1, T + 1)], np.linalg.norm(delta, axis=1))
    assert_close([ug.grad_norms[k] for k in ("W_hx", "W_hh", "W_qh")], [np.linalg.norm(p) for p in ref.params])
