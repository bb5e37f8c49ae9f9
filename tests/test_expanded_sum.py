"""Tests of bptt_core.expanded_sum: the section's expanded sum and the product form of ∂L/∂h_t
against the backward recursion of ``bptt``, in float64 and past it; each step's contribution to
∂L/∂W_hh; the backward messages of the unrolled graph."""

from __future__ import annotations

import numpy as np
import pytest

from bptt_core import (ACTIVATIONS, RNN, ScaledRows, bptt, expanded_dL_dh, forward, log10_gradient_norms,
                       product_form_dL_dh, product_form_steps, recursion_dL_dh, scaled_rows, toy_problem,
                       unrolled_gradients, w_hh_contributions)
from bptt_core.activations import phi_prime


def rel_rows(A, B):
    """max_t ‖A_t − B_t‖ / ‖B_t‖."""
    return float(np.max(np.linalg.norm(A - B, axis=1) / np.linalg.norm(B, axis=1)))


def brute_closed_form(rnn, dL_do):
    """∂L/∂h_t = Σ_{i=t}^{T} (W_hhᵀ)^{T−i} W_qhᵀ ∂L/∂o_{T+t−i}, literally, with matrix powers."""
    T = dL_do.shape[0]
    out = np.zeros((T, rnn.h))
    for t in range(1, T + 1):
        for i in range(t, T + 1):
            P = np.linalg.matrix_power(rnn.W_hh.T, T - i)
            out[t - 1] += P @ rnn.W_qh.T @ dL_do[T + t - i - 1]
    return out


# --- the closed form (identity φ) -------------------------------------------------------------

@pytest.mark.parametrize("rho", [0.3, 0.9, 1.0, 1.4])
@pytest.mark.parametrize("T", [1, 2, 7, 40])
def test_expanded_sum_equals_bptt_for_identity(T, rho):
    rnn, X, Y = toy_problem(T, 6, "identity", rho, seed=3)
    g = bptt(rnn, X, Y)
    ex = expanded_dL_dh(rnn, X, Y)
    assert ex.form == "closed" and ex.first == 1
    np.testing.assert_array_equal(ex.dL_dh.steps, np.arange(1, T + 1))
    assert rel_rows(ex.dL_dh.values(), g.dL_dh) < 1e-12
    assert ex.dL_dh.relative_difference(scaled_rows(g.dL_dh)).max() < 1e-12


def test_expanded_sum_is_the_books_formula_term_by_term():
    rnn, X, Y = toy_problem(9, 4, "identity", 1.2, seed=5)
    g = bptt(rnn, X, Y)
    want = brute_closed_form(rnn, g.dL_do)
    assert rel_rows(want, g.dL_dh) < 1e-12  # the formula itself
    assert rel_rows(expanded_dL_dh(rnn, X, Y).dL_dh.values(), want) < 1e-12
    # The terms of ∂L/∂h_1: (W_hhᵀ)^k W_qhᵀ ∂L/∂o_{1+k}, k = 0..T-1.
    terms = [np.linalg.norm(np.linalg.matrix_power(rnn.W_hh.T, k) @ rnn.W_qh.T @ g.dL_do[k]) for k in range(9)]
    np.testing.assert_allclose(expanded_dL_dh(rnn, X, Y).first_terms_log10, np.log10(terms), atol=1e-12)


@pytest.mark.parametrize("block", [1, 3, 256])
def test_expanded_sum_does_not_depend_on_the_block_size(block):
    rnn, X, Y = toy_problem(23, 5, "identity", 1.1, seed=1)
    g = bptt(rnn, X, Y)
    assert rel_rows(expanded_dL_dh(rnn, X, Y, block=block).dL_dh.values(), g.dL_dh) < 1e-12


def test_expanded_sum_past_float64_agrees_with_the_recursion_in_log_space():
    rnn, X, Y = toy_problem(1000, 16, "identity", 3.0, seed=0)
    assert not bptt(rnn, X, Y).finite
    ex = expanded_dL_dh(rnn, X, Y)
    rec = recursion_dL_dh(rnn, X, Y)
    assert np.isfinite(ex.dL_dh.log10_scale).all() and np.isfinite(ex.dL_dh.unit).all()
    assert np.isfinite(ex.first_terms_log10).all()
    assert ex.dL_dh.log10_scale.max() > 400  # far past 1.8e308
    assert ex.dL_dh.relative_difference(rec).max() < 1e-9
    ln = log10_gradient_norms(rnn, X, Y)
    np.testing.assert_allclose(ex.dL_dh.log10_norms(), ln.log10_dL_dh, atol=1e-9)
    # The term from the last loss went through 999 powers of W_hhᵀ (×3^999), and that loss's own
    # ∂L/∂o_T is about 3^999 times ∂L/∂o_1 (h_t grows like 3^t): about 2·999·log10 3 larger in all.
    assert ex.first_terms_log10[-1] - ex.first_terms_log10[0] == pytest.approx(2 * 999 * np.log10(3.0), abs=20)


def test_expanded_sum_refuses_other_activations_and_losses():
    rnn, X, Y = toy_problem(5, 3, "tanh")
    with pytest.raises(ValueError, match="rnn.*identity"):
        expanded_dL_dh(rnn, X, Y)
    rnn, X, Y = toy_problem(5, 3, "identity")
    with pytest.raises(ValueError, match="loss"):
        expanded_dL_dh(rnn, X, np.zeros(5, dtype=int), loss="xent")
    with pytest.raises(ValueError, match="X"):
        expanded_dL_dh(rnn, np.stack([X, X], 1), np.stack([Y, Y], 1))
    with pytest.raises(ValueError, match="rnn"):
        expanded_dL_dh("not an rnn", X, Y)
    with pytest.raises(ValueError, match="block"):
        expanded_dL_dh(rnn, X, Y, block=0)


# --- the product form (any φ) ----------------------------------------------------------------

@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("rho", [0.5, 1.5])
def test_product_form_equals_bptt(activation, rho):
    rnn, X, Y = toy_problem(30, 6, activation, rho, seed=2)
    g = bptt(rnn, X, Y)
    pf = product_form_dL_dh(rnn, X, Y)
    assert pf.form == "product" and pf.first == 1
    assert pf.dL_dh.relative_difference(scaled_rows(g.dL_dh)).max() < 1e-12
    # Only the last steps: the same rows, exactly the gradient there.
    part = product_form_dL_dh(rnn, X, Y, last=8)
    assert part.first == 23
    np.testing.assert_array_equal(part.dL_dh.steps, np.arange(23, 31))
    assert part.dL_dh.relative_difference(scaled_rows(g.dL_dh)).max() < 1e-12


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_product_form_terms_are_jacobian_products(activation):
    rnn, X, Y = toy_problem(8, 4, activation, 1.3, seed=4)
    tr = forward(rnn, X)
    g = bptt(rnn, X, Y)
    dphi = phi_prime(activation, tr.A, tr.H[1:])
    want = []
    P = np.eye(4)
    for i in range(1, 9):  # term i of ∂L/∂h_1: J_2ᵀ⋯J_iᵀ W_qhᵀ ∂L/∂o_i
        if i > 1:
            P = P @ (np.diag(dphi[i - 1]) @ rnn.W_hh).T
        want.append(np.linalg.norm(P @ rnn.W_qh.T @ g.dL_do[i - 1]))
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(product_form_dL_dh(rnn, X, Y).first_terms_log10, np.log10(want), atol=1e-12)


def test_product_form_equals_closed_form_for_identity():
    rnn, X, Y = toy_problem(200, 8, "identity", 2.5, seed=0)  # overflows float64 on the way
    pf, ex = product_form_dL_dh(rnn, X, Y), expanded_dL_dh(rnn, X, Y)
    assert pf.dL_dh.relative_difference(ex.dL_dh).max() < 1e-10
    np.testing.assert_allclose(pf.first_terms_log10, ex.first_terms_log10, atol=1e-10)


@pytest.mark.parametrize("activation", ["identity", "relu"])
def test_product_form_past_float64(activation):
    rnn, X, Y = toy_problem(1000, 16, activation, 3.0, seed=0)
    assert not bptt(rnn, X, Y).finite
    pf = product_form_dL_dh(rnn, X, Y, last=300)
    assert np.isfinite(pf.dL_dh.log10_scale).all()
    assert pf.dL_dh.relative_difference(recursion_dL_dh(rnn, X, Y)).max() < 1e-9


def test_product_form_steps_respects_the_budget():
    assert product_form_steps(1000, 16) == 1000
    n = product_form_steps(1000, 256, max_work=5e8)
    assert n < 1000 and n ** 2 * 256 ** 2 / 2 <= 5e8 < (n + 1) ** 2 * 256 ** 2 / 2
    assert product_form_steps(1, 256) == 1
    assert product_form_steps(50, 10 ** 6) == 1
    with pytest.raises(ValueError, match="max_work"):
        product_form_steps(10, 4, max_work=0)
    with pytest.raises(ValueError, match="last"):
        product_form_dL_dh(*toy_problem(5, 3), last=6)


# --- the recursion in scaled arithmetic --------------------------------------------------------

@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_recursion_equals_bptt_where_finite_even_when_chaotic(activation):
    # tanh with ρ = 3 is chaotic: any other rounding of the forward pass would drift away.
    rnn, X, Y = toy_problem(400, 8, activation, 3.0 if activation in ("tanh", "sigmoid") else 1.05, seed=0)
    g = bptt(rnn, X, Y)
    assert g.finite
    assert recursion_dL_dh(rnn, X, Y).relative_difference(scaled_rows(g.dL_dh)).max() < 1e-12


@pytest.mark.parametrize("activation", ["identity", "relu"])
def test_recursion_past_float64_matches_log_space_norms(activation):
    rnn, X, Y = toy_problem(1000, 16, activation, 3.0, seed=0)
    rec = recursion_dL_dh(rnn, X, Y)
    assert np.isfinite(rec.log10_scale).all()
    np.testing.assert_allclose(rec.log10_norms(), log10_gradient_norms(rnn, X, Y).log10_dL_dh, atol=1e-9)


def test_scaled_rows_values_and_differences():
    V = np.array([[3.0, 4.0], [0.0, 0.0], [1e-300, 0.0]])
    s = scaled_rows(V, first_step=5)
    np.testing.assert_array_equal(s.steps, [5, 6, 7])
    np.testing.assert_allclose(s.log10_norms(), [np.log10(5.0), -np.inf, -300.0])
    np.testing.assert_allclose(s.values(), V, rtol=1e-15)
    assert np.all(s.relative_difference(s) == 0.0)
    big = ScaledRows(unit=np.array([[1.0, 0.0]]), log10_scale=np.array([400.0]), steps=np.array([1]))
    assert np.isinf(big.values()[0, 0])
    other = ScaledRows(unit=np.array([[0.6, 0.8]]), log10_scale=np.array([400.0]), steps=np.array([1]))
    assert big.relative_difference(other)[0] == pytest.approx(np.hypot(0.4, 0.8))
    zero_ref = scaled_rows(np.zeros((1, 2)))
    assert big.relative_difference(zero_ref)[0] == np.inf
    with pytest.raises(ValueError, match="reference"):
        s.relative_difference(scaled_rows(V))  # steps 1..3 do not cover 5..7
    with pytest.raises(ValueError, match="V"):
        scaled_rows(np.array([[np.inf, 0.0]]))


# --- each step's share of ∂L/∂W_hh ------------------------------------------------------------

@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_contributions_sum_to_the_gradient(activation):
    rnn, X, Y = toy_problem(25, 5, activation, 1.2, seed=6)
    g = bptt(rnn, X, Y)
    C = w_hh_contributions(rnn, X, Y)
    assert C.shape == (25, 5, 5)
    np.testing.assert_allclose(C.sum(axis=0), g.W_hh, rtol=1e-12, atol=1e-15)
    tr = forward(rnn, X)
    delta = phi_prime(activation, tr.A, tr.H[1:]) * g.dL_dh
    norms = np.linalg.norm(C, axis=(1, 2))
    np.testing.assert_allclose(norms, np.linalg.norm(delta, axis=1) * np.linalg.norm(tr.H[:-1], axis=1),
                               rtol=1e-12, atol=1e-300)
    assert norms[0] == 0.0  # h_0 = 0
    assert np.linalg.norm(g.W_hh) <= norms.sum() * (1 + 1e-12)  # the triangle inequality
    ln = log10_gradient_norms(rnn, X, Y)
    np.testing.assert_allclose(ln.log10_W_hh_terms[1:], np.log10(norms[1:]), atol=1e-11)
    np.testing.assert_allclose(ln.log10_grads[1], np.log10(np.linalg.norm(C.sum(axis=0))), atol=1e-11)


def test_contributions_refuse_huge_problems():
    rnn, X, Y = toy_problem(100, 64)
    with pytest.raises(ValueError, match="max_entries"):
        w_hh_contributions(rnn, X, Y, max_entries=100 * 64 * 64 - 1)


# --- the unrolled graph ------------------------------------------------------------------------

@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_unrolled_graph_messages(activation):
    rnn, X, Y = toy_problem(3, 6, activation, 1.3, seed=7)
    ug = unrolled_gradients(rnn, X, Y)
    g, tr = bptt(rnn, X, Y), forward(rnn, X)
    delta = phi_prime(activation, tr.A, tr.H[1:]) * g.dL_dh
    assert ug.T == 3 and ug.finite
    assert len(ug.edges) == 30
    edges = {(e.source, e.target): e for e in ug.edges}
    for t in (1, 2, 3):
        assert edges[(f"y_{t}", f"l_{t}")].norm is None
        assert edges[(f"l_{t}", "L")].norm == pytest.approx(1 / 3)
        assert edges[(f"a_{t}", f"h_{t}")].norm == pytest.approx(np.linalg.norm(g.dL_dh[t - 1]), rel=1e-14)
        assert edges[(f"W_hh", f"a_{t}")].norm == pytest.approx(
            np.linalg.norm(np.outer(delta[t - 1], tr.H[t - 1])), rel=1e-12, abs=1e-300)
        assert edges[(f"h_{t}", f"o_{t}")].norm == pytest.approx(np.linalg.norm(rnn.W_qh.T @ g.dL_do[t - 1]))
        assert ug.grad_norms[f"a_{t}"] == pytest.approx(np.linalg.norm(delta[t - 1]))
        assert ug.value_norms[f"h_{t}"] == pytest.approx(np.linalg.norm(tr.H[t]))
    # The two messages into h_1 (from a_2 and from o_1) add up to ∂L/∂h_1 as vectors.
    into_h1 = rnn.W_hh.T @ delta[1] + rnn.W_qh.T @ g.dL_do[0]
    np.testing.assert_allclose(into_h1, g.dL_dh[0], rtol=1e-12)
    assert edges[("h_1", "a_2")].norm == pytest.approx(np.linalg.norm(rnn.W_hh.T @ delta[1]))
    # Parameter totals are the norms of the summed gradients.
    for name, G in zip(("W_hx", "W_hh", "W_qh"), g.params):
        assert ug.grad_norms[name] == pytest.approx(np.linalg.norm(G))
    assert ug.value_norms["L"] == pytest.approx(g.loss)
    assert sum(ug.value_norms[f"l_{t}"] for t in (1, 2, 3)) / 3 == pytest.approx(g.loss)


def test_unrolled_graph_identity_rnn_by_hand():
    # h = 1, d = q = 1: every message is a plain number.
    rnn = RNN(np.array([[1.0]]), np.array([[0.5]]), np.array([[2.0]]), activation="identity")
    X = np.array([[1.0], [0.0], [0.0]])
    Y = np.zeros((3, 1))
    ug = unrolled_gradients(rnn, X, Y)
    # h = 1, 0.5, 0.25; o = 2, 1, 0.5; ∂L/∂o = o/3; ∂L/∂h_3 = 2·0.5/3, ∂L/∂h_2 = 2/3 + 0.5·(1/3), …
    dh3 = 2 * 0.5 / 3
    dh2 = 2 * 1 / 3 + 0.5 * dh3
    dh1 = 2 * 2 / 3 + 0.5 * dh2
    assert ug.grad_norms["h_3"] == pytest.approx(dh3)
    assert ug.grad_norms["h_2"] == pytest.approx(dh2)
    assert ug.grad_norms["h_1"] == pytest.approx(dh1)
    assert ug.grad_norms["W_hh"] == pytest.approx(abs(dh2 * 1.0 + dh3 * 0.5))
