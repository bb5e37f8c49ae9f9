"""Backpropagation Through Time in Detail: the section's expanded sum for ∂L/∂h_t, term by term.

Where ∂L/∂h_t and ∂L/∂W_hh come from.

Unrolling the backward recursion (``bptt``)

    ∂L/∂h_t = W_qhᵀ ∂L/∂o_t + W_hhᵀ (φ'(a_{t+1}) ⊙ ∂L/∂h_{t+1})

gives one term per loss l_i, i = t..T, reaching h_t through i − t Jacobians
J_j = ∂h_j/∂h_{j-1} = diag(φ'(a_j)) W_hh:

    product form (any φ):    ∂L/∂h_t = Σ_{i=t}^{T} (J_{t+1}ᵀ ⋯ J_iᵀ) W_qhᵀ ∂L/∂o_i
    closed form (φ = id):    ∂L/∂h_t = Σ_{i=t}^{T} (W_hhᵀ)^{T−i} W_qhᵀ ∂L/∂o_{T+t−i}

(the second is the section's equation: with k = T − i, its term is
(W_hhᵀ)^k W_qhᵀ ∂L/∂o_{t+k}, the loss k steps after t brought back k steps). Each step also
contributes δ_t h_{t-1}ᵀ, δ_t = φ'(a_t) ⊙ ∂L/∂h_t, to ∂L/∂W_hh = Σ_t δ_t h_{t-1}ᵀ.

In the exploding regime these vectors leave float64's range, so they are
carried as ``ScaledRows``: v_t = 10^{s_t} u_t with ‖u_t‖ = 1, and sums are
taken after factoring out the largest scale. Everything here is finite for
every finite input. Losses: ``mse`` (l = ½‖o_t − y_t‖²), one sequence X (T, d).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import phi, phi_prime
from .bptt import bptt
from .checks import as_float, as_int, describe
from .logspace import normalised, scaled_sum
from .losses import check_targets, loss_and_grad
from .model import RNN, check_inputs, forward


@dataclass(frozen=True, eq=False)
class ScaledRows:
    """Vectors v_t = 10^{log10_scale[i]} · unit[i] for the steps t = steps[i].

    unit (n, h): rows of Euclidean norm 1, or 0 for an exact zero vector.
    log10_scale (n,): log10 ‖v_t‖ (−inf for an exact zero).
    steps (n,): the 1-based time step of each row (consecutive, increasing).
    """

    unit: np.ndarray
    log10_scale: np.ndarray
    steps: np.ndarray

    def log10_norms(self) -> np.ndarray:
        """log10 ‖v_t‖ (n,), finite or −inf."""
        return self.log10_scale.copy()

    def values(self) -> np.ndarray:
        """The vectors in float64 (n, h); ±inf where they overflow."""
        with np.errstate(over="ignore", invalid="ignore"):
            out = self.unit * 10.0 ** self.log10_scale[:, None]
        out[self.log10_scale == -np.inf] = 0.0
        return out

    def relative_difference(self, reference: "ScaledRows") -> np.ndarray:
        """‖v_t − r_t‖ / ‖r_t‖ (n,) against ``reference`` on this object's steps, in scaled arithmetic.

        ``reference`` must cover these steps. 0 where both are exactly zero,
        inf where only the reference is.
        """
        if not isinstance(reference, ScaledRows):
            raise ValueError(f"reference: expected ScaledRows, got {describe(reference)}")
        pos = np.searchsorted(reference.steps, self.steps)
        if (pos >= reference.steps.size).any() or not np.array_equal(reference.steps[np.minimum(
                pos, reference.steps.size - 1)], self.steps):
            raise ValueError(f"reference: expected rows for steps {self.steps[0]}..{self.steps[-1]}, "
                             f"got steps {reference.steps[0]}..{reference.steps[-1]}")
        r_unit, r_s = reference.unit[pos], reference.log10_scale[pos]
        out = np.empty(self.steps.size)
        zero_r, zero_v = r_s == -np.inf, self.log10_scale == -np.inf
        ok = ~zero_r
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            factor = np.where(zero_v[ok], 0.0, 10.0 ** (self.log10_scale[ok] - r_s[ok]))
            out[ok] = np.linalg.norm(self.unit[ok] * factor[:, None] - r_unit[ok], axis=1)
        out[zero_r] = np.where(zero_v[zero_r], 0.0, np.inf)
        return out


def scaled_rows(V, first_step: int = 1) -> ScaledRows:
    """``ScaledRows`` of a plain finite array V (n, h), rows for steps first_step, first_step+1, …."""
    V = np.asarray(V, dtype=np.float64)
    if V.ndim != 2 or not np.isfinite(V).all():
        raise ValueError(f"V: expected a finite (n, h) array, got {describe(V)}")
    s, u = _normalise_rows(V, np.zeros(V.shape[0]))
    return ScaledRows(unit=u, log10_scale=s, steps=np.arange(first_step, first_step + V.shape[0]))


def _normalise_rows(V: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(s', U) with 10^s'_i U_i = 10^s_i V_i and ‖U_i‖ = 1 (s' = −inf, U_i = 0 for zero rows).

    V must be finite; rows are divided by their largest |entry| first, so squaring cannot overflow.
    """
    m = np.max(np.abs(V), axis=-1)
    zero = (m == 0.0) | (s == -np.inf)
    m_safe = np.where(zero, 1.0, m)
    U = V / m_safe[..., None]
    n = np.linalg.norm(U, axis=-1)
    n_safe = np.where(zero, 1.0, n)
    U /= n_safe[..., None]
    U[zero] = 0.0
    with np.errstate(divide="ignore"):
        s_new = np.where(zero, -np.inf, s + np.log10(m_safe) + np.log10(n_safe))
    return s_new, U


def _add_rows(s1, U1, s2, U2) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise 10^s1 U1 + 10^s2 U2, normalised; the smaller scale underflows harmlessly."""
    m = np.maximum(s1, s2)
    live = m > -np.inf
    m_safe = np.where(live, m, 0.0)
    with np.errstate(under="ignore", invalid="ignore"):
        f1 = np.where(s1 == -np.inf, 0.0, 10.0 ** (np.where(live, s1, 0.0) - m_safe))
        f2 = np.where(s2 == -np.inf, 0.0, 10.0 ** (np.where(live, s2, 0.0) - m_safe))
    return _normalise_rows(U1 * f1[..., None] + U2 * f2[..., None], np.where(live, m_safe, -np.inf))


@dataclass(frozen=True, eq=False)
class _Scaled:
    """What the term-by-term sums need from the forward pass: φ'(a_t) and ∂L/∂o_t as scaled rows."""

    dphi: np.ndarray  # (T, h) φ'(a_t)
    do_s: np.ndarray  # (T,) log10 ‖∂L/∂o_t‖
    do_u: np.ndarray  # (T, q)
    dq_s: np.ndarray  # (T,) log10 ‖W_qhᵀ ∂L/∂o_t‖
    dq_u: np.ndarray  # (T, h)


def _scaled_forward(rnn: RNN, X: np.ndarray, h0: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(h_s (T+1,), h_u (T+1, h), φ'(a_t) (T, h)): the forward pass with h_t = 10^{h_s[t]} h_u[t]."""
    T = X.shape[0]
    act = rnn.activation
    u_s, u_u = _normalise_rows(X @ rnn.W_hx.T, np.zeros(T))  # W_hx x_t, finite
    h_s = np.empty(T + 1)
    h_u = np.empty((T + 1, rnn.h))
    dphi = np.empty((T, rnn.h))
    s0, u0 = _normalise_rows(h0[None], np.zeros(1))
    h_s[0], h_u[0] = s0[0], u0[0]
    homogeneous = act in ("identity", "relu")  # φ(10^s â) = 10^s φ(â)
    W_hh = rnn.W_hh
    with np.errstate(under="ignore"):
        for t in range(1, T + 1):
            s_a, a_hat = scaled_sum((u_s[t - 1], u_u[t - 1]), (h_s[t - 1], W_hh @ h_u[t - 1]))
            if homogeneous:
                hh = phi(act, a_hat)
                dphi[t - 1] = phi_prime(act, a_hat, hh)
                h_s[t], h_u[t] = normalised(hh, s_a)
            else:  # tanh, sigmoid: h_t is bounded, so a_t is a modest float64 number
                a = a_hat * (10.0 ** s_a if s_a > -np.inf else 0.0)
                hh = phi(act, a)
                dphi[t - 1] = phi_prime(act, a, hh)
                h_s[t], h_u[t] = normalised(hh, 0.0)
    return h_s, h_u, dphi


def _scaled_pass(rnn: RNN, X, Y, h0, loss: str) -> _Scaled:
    """Forward pass and ∂L/∂o_t = (o_t − y_t)/T in scaled arithmetic, for one sequence."""
    if loss != "mse":
        raise ValueError(f"loss: expected 'mse' for the term-by-term forms, got {describe(loss)}")
    X, h0 = check_inputs(rnn, X, h0)
    if X.ndim != 2:
        raise ValueError(f"X: expected one sequence (T, d), got shape {X.shape}")
    T = X.shape[0]
    Y = check_targets(loss, Y, (T, rnn.q))
    tr = forward(rnn, X, h0)
    with np.errstate(over="ignore", invalid="ignore"):
        do = loss_and_grad(loss, tr.O, Y)[1] if tr.overflow_step is None else None
        plain = do is not None and bool(np.isfinite(do).all() and np.isfinite(do @ rnn.W_qh).all())
    if plain:
        # Float64 suffices: the very numbers ``bptt`` uses (a chaotic forward pass, e.g. tanh with
        # large ρ, would drift apart from ``forward`` under any other rounding).
        dphi = phi_prime(rnn.activation, tr.A, tr.H[1:])
        do_s, do_u = _normalise_rows(do, np.zeros(T))
    else:
        h_s, h_u, dphi = _scaled_forward(rnn, X, h0)
        # o_t − y_t = 10^{s_t} W_qh u_t − y_t, all steps at once; ∂L/∂o_t = (o_t − y_t)/T.
        o_s, o_u = _normalise_rows(h_u[1:] @ rnn.W_qh.T, h_s[1:].copy())
        y_s, y_u = _normalise_rows(-Y, np.zeros(T))
        r_s, do_u = _add_rows(o_s, o_u, y_s, y_u)
        do_s = r_s - np.log10(T)
    dq_s, dq_u = _normalise_rows(do_u @ rnn.W_qh, do_s.copy())
    return _Scaled(dphi=dphi, do_s=do_s, do_u=do_u, dq_s=dq_s, dq_u=dq_u)


def recursion_dL_dh(rnn: RNN, X, Y, loss: str = "mse", h0=None) -> ScaledRows:
    """∂L/∂h_t (t = 1..T) by the backward recursion of ``bptt`` (full), as ``ScaledRows``.

        ∂L/∂h_T = W_qhᵀ ∂L/∂o_T,   ∂L/∂h_t = W_qhᵀ ∂L/∂o_t + W_hhᵀ (φ'(a_{t+1}) ⊙ ∂L/∂h_{t+1})

    X (T, d), Y (T, q). The ξ loop of ``bptt_reference`` (Full) in scaled arithmetic: equal to its
    ∂L/∂h_t where that is finite (tests/test_fast_paths.py::test_expanded_sum_forms_equal_the_reference,
    ::test_log_space_norms_equal_the_reference_where_it_is_finite).
    """
    sc = _scaled_pass(rnn, X, Y, h0, loss)
    T = sc.dq_s.size
    g_s = np.empty(T)
    g_u = np.empty_like(sc.dq_u)
    g_s[T - 1], g_u[T - 1] = sc.dq_s[T - 1], sc.dq_u[T - 1]
    W_hh = rnn.W_hh
    with np.errstate(under="ignore"):
        for t in range(T - 2, -1, -1):  # row t is step t+1
            g_s[t], g_u[t] = scaled_sum((sc.dq_s[t], sc.dq_u[t]), (g_s[t + 1], (g_u[t + 1] * sc.dphi[t + 1]) @ W_hh))
    return ScaledRows(unit=g_u, log10_scale=g_s, steps=np.arange(1, T + 1))


@dataclass(frozen=True, eq=False)
class Expansion:
    """∂L/∂h_t summed term by term, one term per loss l_i, i = t..T.

    dL_dh: ``ScaledRows`` for the steps covered (``first`` .. T).
    first: the earliest step covered (1 unless the product form was limited).
    first_terms_log10 (T − first + 1,): log10 ‖term i‖ of the sum for ∂L/∂h_first,
    i = first..T — how much the loss i steps later adds to the earliest gradient.
    form: "closed" (the section's (W_hhᵀ)^{T−i} sum, φ = identity) or
    "product" (Jacobian products, any φ).
    """

    dL_dh: ScaledRows
    first: int
    first_terms_log10: np.ndarray
    form: str


def expanded_dL_dh(rnn: RNN, X, Y, loss: str = "mse", h0=None, block: int = 256) -> Expansion:
    """The section's closed form for φ = identity, for every t = 1..T:

        ∂L/∂h_t = Σ_{i=t}^{T} (W_hhᵀ)^{T−i} W_qhᵀ ∂L/∂o_{T+t−i} = Σ_{k=0}^{T−t} M_k ∂L/∂o_{t+k},

    M_k = (W_hhᵀ)^k W_qhᵀ (h, q). The powers are built once, renormalised
    (M_k = 10^{m_k} M̂_k); then, for a block of steps t, the scale of every term
    c[t, k] = m_k + log10‖∂L/∂o_{t+k}‖ is known in advance, the largest is
    factored out per t, and the whole block is one matrix product over (k, q).
    O(T h² q) for the powers and O(T² q h) for the sums; memory O(block·T·q).
    Raises ``ValueError`` for other activations (use ``product_form_dL_dh``). Equal to
    ``bptt_reference``'s ∂L/∂h_t where that is finite (tests/test_fast_paths.py::
    test_expanded_sum_forms_equal_the_reference, ::test_log_space_norms_equal_the_reference_where_it_is_finite).
    """
    if not isinstance(rnn, RNN):
        raise ValueError(f"rnn: expected an RNN, got {describe(rnn)}")
    if rnn.activation != "identity":
        raise ValueError(f"rnn: the closed form needs activation 'identity', got {rnn.activation!r}; "
                         f"use product_form_dL_dh for other activations")
    block = as_int("block", block, minimum=1)
    sc = _scaled_pass(rnn, X, Y, h0, loss)
    T, h, q = sc.do_s.size, rnn.h, rnn.q
    # M_k, k = 0..T-1, as unit-norm (Frobenius) matrices and log10 scales.
    M_u = np.empty((T, h, q))
    M_s = np.empty(T)
    M, s = rnn.W_qh.T.copy(), 0.0
    for k in range(T):
        n = np.linalg.norm(M)
        if n == 0.0 or s == -np.inf:
            M_u[k:], M_s[k:] = 0.0, -np.inf
            break
        M /= n
        s += float(np.log10(n))
        M_u[k], M_s[k] = M, s
        M = rnn.W_hh.T @ M
    M_flat = M_u.transpose(0, 2, 1).reshape(T * q, h)  # row k·q + j is column j of M̂_k
    out_u = np.empty((T, h))
    out_s = np.empty(T)
    for t0 in range(0, T, block):
        rows = np.arange(t0, min(t0 + block, T))  # 0-based: row r is step r + 1
        K = T - t0                                 # lags k < T − t0 reach a loss for some row
        idx = rows[:, None] + np.arange(K)[None, :]  # the loss index t + k
        valid = idx < T
        idx_c = np.minimum(idx, T - 1)
        C = np.where(valid, M_s[None, :K] + sc.do_s[idx_c], -np.inf)
        top = C.max(axis=1)
        live = top > -np.inf
        top_safe = np.where(live, top, 0.0)
        with np.errstate(under="ignore", invalid="ignore"):
            coef = np.where(C > -np.inf, 10.0 ** (C - top_safe[:, None]), 0.0)
        Wt = coef[:, :, None] * sc.do_u[idx_c]  # (rows, K, q)
        acc = Wt.reshape(rows.size, K * q) @ M_flat[:K * q]
        s_rows, u_rows = _normalise_rows(acc, np.where(live, top_safe, -np.inf))
        out_s[rows], out_u[rows] = s_rows, u_rows
    # The terms of ∂L/∂h_1: M_k ∂L/∂o_{1+k}, k = 0..T-1.
    with np.errstate(divide="ignore"):
        first_terms = M_s + sc.do_s + np.log10(np.linalg.norm(np.einsum("khq,kq->kh", M_u, sc.do_u), axis=1))
    first_terms[~np.isfinite(first_terms)] = -np.inf
    return Expansion(dL_dh=ScaledRows(unit=out_u, log10_scale=out_s, steps=np.arange(1, T + 1)),
                     first=1, first_terms_log10=first_terms, form="closed")


def product_form_steps(T: int, h: int, max_work: float = 5e8) -> int:
    """How many final steps ``product_form_dL_dh`` can cover within ``max_work`` multiply-adds.

    Covering the last n steps costs about n² h² / 2; returns min(T, that n) (at least 1).
    """
    T = as_int("T", T, minimum=1)
    h = as_int("h", h, minimum=1)
    max_work = as_float("max_work", max_work, low=0.0, low_open=True)
    return int(min(T, max(1, np.floor(np.sqrt(2.0 * max_work) / h))))


def product_form_dL_dh(rnn: RNN, X, Y, loss: str = "mse", h0=None, last: int | None = None) -> Expansion:
    """∂L/∂h_t as the sum of its terms for any φ, for the last ``last`` steps (all by default):

        ∂L/∂h_t = Σ_{i=t}^{T} (J_{t+1}ᵀ ⋯ J_iᵀ) W_qhᵀ ∂L/∂o_i,   J_j = diag(φ'(a_j)) W_hh.

    The term of lag k for every t at once, v_k[t] = J_{t+1}ᵀ v_{k-1}[t+1],
    v_0[t] = W_qhᵀ ∂L/∂o_t, each row renormalised and added to its sum in
    scaled arithmetic. O(n² h²) for n = ``last`` steps (see ``product_form_steps``).
    For φ = identity it equals ``expanded_dL_dh``; for every φ, ``bptt_reference``'s ∂L/∂h_t
    where that is finite (tests/test_fast_paths.py::test_expanded_sum_forms_equal_the_reference,
    ::test_log_space_norms_equal_the_reference_where_it_is_finite).
    """
    sc = _scaled_pass(rnn, X, Y, h0, loss)
    T = sc.dq_s.size
    n = T if last is None else as_int("last", last, minimum=1, maximum=T)
    first = T - n + 1
    v_s, v_u = sc.dq_s[first - 1:].copy(), sc.dq_u[first - 1:].copy()  # rows: steps first..T
    acc_s, acc_u = v_s.copy(), v_u.copy()
    first_terms = np.empty(n)
    first_terms[0] = v_s[0]
    dphi = sc.dphi[first - 1:]  # row r: φ'(a) at step first + r
    for k in range(1, n):
        # v_k[t] = W_hhᵀ (φ'(a_{t+1}) ⊙ v_{k-1}[t+1]) for t = first .. T-k.
        v_s, v_u = _normalise_rows((v_u[1:] * dphi[1:n - k + 1]) @ rnn.W_hh, v_s[1:])
        first_terms[k] = v_s[0]
        acc_s[:n - k], acc_u[:n - k] = _add_rows(acc_s[:n - k], acc_u[:n - k], v_s, v_u)
    return Expansion(dL_dh=ScaledRows(unit=acc_u, log10_scale=acc_s, steps=np.arange(first, T + 1)),
                     first=first, first_terms_log10=first_terms, form="product")


def w_hh_contributions(rnn: RNN, X, Y, loss: str = "mse", h0=None, max_entries: int = 20_000_000) -> np.ndarray:
    """C (T, h, h): each step's contribution C[t-1] = δ_t h_{t-1}ᵀ to ∂L/∂W_hh = Σ_t C[t-1].

    δ_t = φ'(a_t) ⊙ ∂L/∂h_t (full BPTT, float64). ‖C[t-1]‖_F = ‖δ_t‖ ‖h_{t-1}‖.
    For small problems (T·h² ≤ ``max_entries``); for norms of long or
    overflowing runs use ``log10_gradient_norms(...).log10_W_hh_terms``.
    Checked against ``bptt_reference`` (tests/test_fast_paths.py::test_expanded_sum_forms_equal_the_reference).
    """
    X, _ = check_inputs(rnn, X, h0)
    if X.ndim != 2:
        raise ValueError(f"X: expected one sequence (T, d), got shape {X.shape}")
    if X.shape[0] * rnn.h * rnn.h > max_entries:
        raise ValueError(f"X: T·h² = {X.shape[0] * rnn.h ** 2} entries exceeds max_entries = {max_entries}")
    tr = forward(rnn, X, h0)
    g = bptt(rnn, X, Y, loss=loss, h0=h0)
    with np.errstate(over="ignore", invalid="ignore"):
        delta = phi_prime(rnn.activation, tr.A, tr.H[1:]) * g.dL_dh
        return delta[:, :, None] * tr.H[:-1][:, None, :]


@dataclass(frozen=True)
class Edge:
    """One arrow of the unrolled graph, forward direction source → target.

    norm: ‖message‖ (Frobenius for matrices), the gradient that flows back along
    the arrow from target to source; None for data that takes no gradient (y_t).
    message: the message in symbols, e.g. "W_hhᵀ δ_2".
    """

    source: str
    target: str
    norm: float | None
    message: str


@dataclass(frozen=True, eq=False)
class UnrolledGradients:
    """The unrolled graph of one short run with every gradient's size (full BPTT, float64).

    Nodes: x_t, y_t, a_t (the step's operator, φ(W_hx x_t + W_hh h_{t-1})), h_t
    (t = 0..T), o_t, l_t, L, and the parameters W_hx, W_hh, W_qh.
    value_norms: node → ‖value‖ (l_t, L: the loss values).
    grad_norms: node → ‖∂L/∂node‖ (a_t: ‖δ_t‖; parameters: the summed gradient).
    edges: every arrow with the size of its backward message.
    finite: False when float64 overflowed (then norms may be inf or NaN).
    """

    T: int
    value_norms: dict
    grad_norms: dict
    edges: tuple
    finite: bool


def unrolled_gradients(rnn: RNN, X, Y, loss: str = "mse", h0=None) -> UnrolledGradients:
    """Backward messages on the section's computational graph (its figure has T = 3).

        o_t → l_t: ∂L/∂o_t        h_t → o_t: W_qhᵀ ∂L/∂o_t      W_qh → o_t: ∂L/∂o_t h_tᵀ
        a_t → h_t: ∂L/∂h_t        h_{t-1} → a_t: W_hhᵀ δ_t       W_hh → a_t: δ_t h_{t-1}ᵀ
        x_t → a_t: W_hxᵀ δ_t      W_hx → a_t: δ_t x_tᵀ           l_t → L: ∂L/∂l_t = 1/T

    δ_t = φ'(a_t) ⊙ ∂L/∂h_t. The messages into h_t from a_{t+1} and o_t add up
    to ∂L/∂h_t. X (T, d), Y (T, q). The norms are those of ``bptt_reference``'s vectors
    (tests/test_fast_paths.py::test_expanded_sum_forms_equal_the_reference).
    """
    return unrolled_gradients_over_w_hh(rnn, rnn.W_hh[None], X, Y, loss=loss, h0=h0)[0]


def unrolled_gradients_over_w_hh(rnn: RNN, W_hh, X, Y, loss: str = "mse", h0=None) -> tuple[UnrolledGradients, ...]:
    """``unrolled_gradients`` of ``rnn`` with each matrix of the stack W_hh (F, h, h) as its W_hh (the drag's
    frames over ρ): one forward and one backward pass with the matrices on an array axis.

    Forward a_t = W_hx x_t + W_hh h_{t-1}, h_t = φ(a_t), o_t = W_qh h_t; backward (full BPTT)
    ∂L/∂h_t = W_qhᵀ ∂L/∂o_t + W_hhᵀ δ_{t+1}, δ_t = φ'(a_t) ⊙ ∂L/∂h_t, for every matrix at once.
    """
    X, h0 = check_inputs(rnn, X, h0)
    if X.ndim != 2:
        raise ValueError(f"X: expected one sequence (T, d), got shape {X.shape}")
    W = np.asarray(W_hh, dtype=float)
    if W.ndim != 3 or W.shape[1:] != (rnn.h, rnn.h):
        raise ValueError(f"W_hh: expected a stack of shape (F, {rnn.h}, {rnn.h}), got {describe(W_hh)}")
    F, T, act = W.shape[0], X.shape[0], rnn.activation
    Yc = check_targets(loss, Y, (T, rnn.q))
    with np.errstate(over="ignore", invalid="ignore"):
        H = np.empty((F, T + 1, rnn.h))
        H[:, 0] = h0
        A = np.empty((F, T, rnn.h))
        U = X @ rnn.W_hx.T                                # W_hx x_t, the same for every matrix
        for t in range(T):
            A[:, t] = U[t] + np.einsum("fij,fj->fi", W, H[:, t])
            H[:, t + 1] = phi(act, A[:, t])
        O = H[:, 1:] @ rnn.W_qh.T                         # (F, T, q)
        if loss == "mse":
            R = O - Yc
            per_step_loss = 0.5 * np.einsum("ftq,ftq->ft", R, R)
            dO = R / T
        else:
            Z = O - O.max(axis=-1, keepdims=True)
            E = np.exp(Z)
            S = E.sum(axis=-1, keepdims=True)
            labels = np.broadcast_to(Yc[None, :, None], (F, T, 1))
            per_step_loss = -(np.take_along_axis(Z, labels, axis=-1)[..., 0] - np.log(S[..., 0]))
            G = E / S
            np.put_along_axis(G, labels, np.take_along_axis(G, labels, axis=-1) - 1.0, axis=-1)
            dO = G / T
        dh = np.empty((F, T, rnn.h))
        delta = np.empty((F, T, rnn.h))
        carry = np.zeros((F, rnn.h))                       # W_hhᵀ δ_{t+1}
        for t in reversed(range(T)):
            dh[:, t] = dO[:, t] @ rnn.W_qh + carry
            delta[:, t] = phi_prime(act, A[:, t], H[:, t + 1]) * dh[:, t]
            carry = np.einsum("fji,fj->fi", W, delta[:, t])
        G_hx = np.einsum("fti,tj->fij", delta, X)
        G_hh = np.einsum("fti,ftj->fij", delta, H[:, :-1])
        G_qh = np.einsum("fti,ftj->fij", dO, H[:, 1:])
        norm = lambda v: np.sqrt(np.einsum("...i,...i->...", v, v))  # noqa: E731
        fro = lambda M: np.sqrt(np.einsum("...ij,...ij->...", M, M))  # noqa: E731
        n_x, n_y = norm(X), (norm(Yc) if loss == "mse" else Yc.astype(float))
        n_a, n_h, n_o = norm(A), norm(H), norm(O)
        n_delta, n_dh, n_do = norm(delta), norm(dh), norm(dO)
        n_wx_d = norm(delta @ rnn.W_hx)                   # ‖W_hxᵀ δ_t‖
        n_wh_d = norm(np.einsum("fji,ftj->fti", W, delta))  # ‖W_hhᵀ δ_t‖
        n_wq_do = norm(dO @ rnn.W_qh)                     # ‖W_qhᵀ ∂L/∂o_t‖
        loss_value = per_step_loss.mean(axis=1)
        param = {"W_hx": (float(fro(rnn.W_hx)), fro(G_hx)), "W_hh": (fro(W), fro(G_hh)),
                 "W_qh": (float(fro(rnn.W_qh)), fro(G_qh))}
        finite = np.isfinite(H[:, 1:]).all(axis=(1, 2)) & np.isfinite(dh).all(axis=(1, 2))
    out = []
    for f in range(F):
        values, grads = {"L": float(loss_value[f])}, {"L": 1.0}
        edges = []
        for name, (value, grad) in param.items():
            values[name] = float(np.broadcast_to(value, (F,))[f])
            grads[name] = float(grad[f])
        values["h_0"], grads["h_0"] = float(n_h[f, 0]), float(norm(carry[f]))
        for t in range(1, T + 1):
            i = t - 1
            values.update({f"x_{t}": float(n_x[i]), f"a_{t}": float(n_a[f, i]), f"h_{t}": float(n_h[f, t]),
                           f"o_{t}": float(n_o[f, i]), f"l_{t}": float(per_step_loss[f, i]), f"y_{t}": float(n_y[i])})
            grads.update({f"x_{t}": float(n_wx_d[f, i]), f"a_{t}": float(n_delta[f, i]), f"h_{t}": float(n_dh[f, i]),
                          f"o_{t}": float(n_do[f, i]), f"l_{t}": 1.0 / T})
            edges += [
                Edge(f"x_{t}", f"a_{t}", float(n_wx_d[f, i]), f"W_hxᵀ δ_{t}"),
                Edge("W_hx", f"a_{t}", float(n_delta[f, i] * n_x[i]), f"δ_{t} x_{t}ᵀ"),
                Edge(f"h_{t - 1}", f"a_{t}", float(n_wh_d[f, i]), f"W_hhᵀ δ_{t}"),
                Edge("W_hh", f"a_{t}", float(n_delta[f, i] * n_h[f, i]), f"δ_{t} h_{t - 1}ᵀ"),
                Edge(f"a_{t}", f"h_{t}", float(n_dh[f, i]), f"∂L/∂h_{t}"),
                Edge(f"h_{t}", f"o_{t}", float(n_wq_do[f, i]), f"W_qhᵀ ∂L/∂o_{t}"),
                Edge("W_qh", f"o_{t}", float(n_do[f, i] * n_h[f, t]), f"∂L/∂o_{t} h_{t}ᵀ"),
                Edge(f"o_{t}", f"l_{t}", float(n_do[f, i]), f"∂L/∂o_{t}"),
                Edge(f"y_{t}", f"l_{t}", None, "none (data)"),
                Edge(f"l_{t}", "L", 1.0 / T, f"∂L/∂l_{t} = 1/T"),
            ]
        out.append(UnrolledGradients(T=T, value_norms=values, grad_norms=grads, edges=tuple(edges),
                                     finite=bool(finite[f])))
    return tuple(out)
