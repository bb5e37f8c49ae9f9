"""Comparing Strategies and Backpropagation Through Time in Detail, animated: one parameter swept
(ρ, τ or π), every frame from one computation.

Powers of a scaled matrix need no new products: (cW)^k = c^k W^k, so

    log10‖(cW)^k‖₂ = k·log10 c + log10‖W^k‖₂

and a sweep over the spectral radius is one ``log10_power_norms`` call plus an
outer sum. Truncation strategies differ only in their multipliers ξ (chunked τ:
0 every τ steps; randomized π: 0 or 1/π), so the per-step gradient norms of F
strategies are one backward recursion with the strategies on an array axis,

    ∂L/∂h_t = W_qhᵀ ∂L/∂o_t + ξ_{t+1} W_hhᵀ (φ'(a_{t+1}) ⊙ ∂L/∂h_{t+1}),

carried as 10^s · v (max|v| = 1) so that it stays finite where float64 would overflow.
"""

from __future__ import annotations

import numpy as np

from .bptt import chunked_xi
from .checks import as_float_array, as_int, describe
from .activations import phi, phi_prime
from .comparison import log10_row_norms
from .logspace import log_forward, one_sequence
from .losses import loss_and_grad
from .model import RNN, forward
from .spectral import log10_power_norms, log10_two_norms


def log10_power_norms_scaled(W, K: int, scales) -> np.ndarray:
    """log10 ‖(c_f W)^k‖₂ for every scale c_f (F,) > 0 and k = 0..K: shape (F, K+1).

    One ``log10_power_norms(W, K)`` for all scales (see ``rescaled_power_norms``). Scaling W by
    c scales its spectral radius by c, so c_f = ρ_f / ρ(W) sweeps ρ with the shape of W (its
    eigenvector geometry, its non-normality relative to ρ) fixed.
    """
    return rescaled_power_norms(log10_power_norms(W, K), scales)


def rescaled_power_norms(log10_norms, scales) -> np.ndarray:
    """(F, K+1): row f is k·log10 c_f + log10_norms[k], i.e. log10‖(c_f W)^k‖₂ from log10‖W^k‖₂ (K+1,).

    −inf (W^k exactly zero) stays −inf. scales (F,) must be positive.
    """
    base = np.asarray(log10_norms, dtype=float).ravel()
    if base.size == 0 or np.isnan(base).any() or (base == np.inf).any():
        raise ValueError(f"log10_norms: expected finite values or -inf (an exact zero), got {describe(log10_norms)}")
    c = as_float_array("scales", scales, (1,))
    if (c <= 0).any():
        raise ValueError(f"scales: expected positive numbers, got {c.tolist()}")
    return np.log10(c)[:, None] * np.arange(base.size) + base


def chunked_xi_sweep(T: int, taus) -> np.ndarray:
    """ξ (F, T) of regular truncation for each τ in ``taus`` (F,): row f is ``chunked_xi(T, τ_f)``."""
    T = as_int("T", T, minimum=1)
    taus = [as_int("tau", t, minimum=1) for t in np.asarray(taus).ravel()]
    if not taus:
        raise ValueError("taus: expected at least one τ, got none")
    return np.stack([chunked_xi(T, tau) for tau in taus])


def randomized_xi_sweep(T: int, pis, seed: int) -> np.ndarray:
    """ξ (F, T) of randomized truncation for each π in ``pis`` (F,), all from the same uniforms.

    ξ_{f,t} = 1/π_f if u_t < π_f else 0, u = default_rng(seed).random(T): row f equals
    ``randomized_xi(T, π_f, seed)``, and a cut at π is also a cut at every smaller π, so an
    animation over π shows segments merging rather than a new draw in every frame.
    """
    T = as_int("T", T, minimum=1)
    p = as_float_array("pis", pis, (1,))
    if p.size == 0 or (p <= 0).any() or (p > 1).any():
        raise ValueError(f"pis: expected keep probabilities in (0, 1], got {p.tolist()}")
    u = np.random.default_rng(as_int("seed", seed, minimum=0)).random(T)
    return np.where(u[None, :] < p[:, None], 1.0 / p[:, None], 0.0)


def _scaled_rows(V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log10 m, V / m) with m = max|V[i]| per row; (−inf, 0) for a zero row."""
    m = np.max(np.abs(V), axis=-1)
    safe = np.where(m > 0, m, 1.0)
    with np.errstate(divide="ignore"):
        return np.where(m > 0, np.log10(safe), -np.inf), V / safe[..., None]


def _log10_norms(s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """log10 ‖10^s_i v_i‖ for rows v (F, h) with max|v_i| ≤ 2 (−inf where s = −inf)."""
    n = np.linalg.norm(v, axis=1)
    with np.errstate(divide="ignore"):
        return np.where(np.isfinite(s) & (n > 0), s + np.log10(np.where(n > 0, n, 1.0)), -np.inf)


def scaled_backward_norms(W_hh: np.ndarray, dq: np.ndarray, dphi: np.ndarray, xi: np.ndarray) -> np.ndarray:
    """log10 ‖∂L/∂h_t‖ (F, T) of the backward recursion for F multiplier rows xi (F, T).

    dq (T, h): rows W_qhᵀ ∂L/∂o_t;  dphi (T, h): φ'(a_t); both finite. Each row of ∂L/∂h_t is
    kept as 10^s v with max|v| = 1 and the two terms of the recursion are added after factoring
    out the larger scale, so no value grows past the size of one step's product: finite (or
    −inf for an exact zero) for every finite input. One loop over time, strategies on axis 0.
    Row f equals the log10 row norms of ∂L/∂h_t from ``bptt_reference`` with
    ``Randomized(1, xi=xi[f])`` where those are finite
    (tests/test_fast_paths.py::test_dL_dh_sweep_equals_the_reference).
    """
    return _backward(W_hh, *_scaled_rows(dq), dphi, xi)


def _backward(W_hh: np.ndarray, q_s: np.ndarray, q_v: np.ndarray, dphi: np.ndarray, xi: np.ndarray) -> np.ndarray:
    """``scaled_backward_norms`` with W_qhᵀ ∂L/∂o_t given as 10^q_s[t] · q_v[t], max|q_v[t]| = 1.

    The ξ loop of ``bptt_reference`` in log space, for F patterns at once.
    One W_hh (h, h) for every row, or one per row (F, h, h); then q_s (T, F), q_v and dphi (T, F, h).
    """
    T = q_v.shape[0]
    F = xi.shape[0]
    out = np.empty((F, T))
    s = np.broadcast_to(q_s[T - 1], (F,)).copy()
    g = np.broadcast_to(q_v[T - 1], (F, q_v.shape[-1])).copy()
    out[:, T - 1] = _log10_norms(s, g)
    times_W = (lambda u: u @ W_hh) if W_hh.ndim == 2 else (lambda u: (u[:, None, :] @ W_hh)[:, 0, :])
    for t in range(T - 2, -1, -1):  # row t is step t+1; xi[:, t+1] is ξ_{t+2}
        u_s, u = _scaled_rows(times_W(g * dphi[t + 1] * xi[:, t + 1, None]))
        s, g = _scaled_pair_sum(s + u_s, u, np.broadcast_to(q_s[t], (F,)), q_v[t])  # the two terms of ∂L/∂h_t
        out[:, t] = _log10_norms(s, g)
    return out


def log10_dL_dh_sweep(rnn: RNN, X, Y, xi, loss: str = "mse", h0=None) -> np.ndarray:
    """log10 ‖∂L/∂h_t‖ (F, T) for F strategies given by their multipliers xi (F, T).

    X (T, d), Y as in ``bptt``. Row f equals ``log10_row_norms(bptt_reference(rnn, X, Y,
    Randomized(1, xi=xi[f])).dL_dh)`` where float64 holds it (tests/test_fast_paths.py::
    test_dL_dh_sweep_equals_the_reference, ::test_log_space_norms_equal_the_reference_where_it_is_finite),
    and the log-space ``log10_gradient_norms(...).log10_dL_dh`` where it overflows: finite
    or −inf, never NaN.
    The forward pass runs once; where it overflows float64 itself (identity or ReLU with
    ρ > 1 over many steps) it runs in log space (``log_forward``).
    """
    X, Y, h0 = one_sequence(rnn, X, Y, loss, h0)
    T = X.shape[0]
    xi = as_float_array("xi", xi, (2,))
    if xi.shape[1] != T or xi.shape[0] == 0:
        raise ValueError(f"xi: expected shape (F, {T}) with F ≥ 1 for T = {T} steps, got {xi.shape}")
    lf = log_forward(rnn, X, h0, Y, loss)
    # W_qhᵀ ∂L/∂o_t = 10^do_s W_qhᵀ do_v, rescaled to max 1.
    m_s, q_v = _scaled_rows(lf.do_v @ rnn.W_qh)
    return _backward(rnn.W_hh, lf.do_s + m_s, q_v, lf.dphi, xi)


def log10_dL_dh_over_rho(rnn: RNN, W_hh_stack, X, Y, h0=None) -> tuple[np.ndarray, np.ndarray]:
    """(log10 ‖∂L/∂h_t‖ (F, T) of full BPTT with the mse loss, the largest log10 ‖h_t‖ or ‖∂L/∂h_t‖
    of each frame (F,)) for the network ``rnn`` with its W_hh replaced by each of W_hh_stack (F, h, h).

    One forward and one backward pass with the matrices on an array axis, carried in log space
    (h_t = 10^s v, max|v| = 1), so a frame past float64 stays finite. X (T, d), Y (T, q), h0 (h,).
    Frame f equals ``log10_gradient_norms(RNN(W_hx, W_hh_stack[f], W_qh), X, Y).log10_dL_dh``
    to rounding (tests/test_scrub_grids.py::test_gradient_over_rho_is_the_single_run).
    """
    X, Y, h0 = one_sequence(rnn, X, Y, "mse", h0)
    W = as_float_array("W_hh_stack", W_hh_stack, (3,))
    if W.shape[1:] != (rnn.h, rnn.h) or W.shape[0] == 0:
        raise ValueError(f"W_hh_stack: expected shape (F, {rnn.h}, {rnn.h}), got {W.shape}")
    hs, hv, dphi = _log_forward_stack(rnn.activation, rnn.W_hx, W, X, h0)
    T = X.shape[0]
    # ∂L/∂o_t = (W_qh h_t − y_t) / T, as scaled pairs: 10^hs W_qh hv − y_t.
    o_s, o_v = _scaled_rows(hv[1:] @ rnn.W_qh.T)
    y_s, y_v = _scaled_rows(-np.broadcast_to(Y[:, None, :], o_v.shape))
    r_s, r_v = _scaled_pair_sum(hs[1:] + o_s, o_v, y_s, y_v)
    m_s, q_v = _scaled_rows(r_v @ rnn.W_qh)
    out = _backward(W, r_s - np.log10(T) + m_s, q_v, dphi, np.ones((W.shape[0], T)))
    with np.errstate(invalid="ignore"):
        h_peak = np.max(hs + np.log10(np.maximum(np.linalg.norm(hv, axis=-1), 1e-300)), axis=0)
    return out, np.maximum(h_peak, out.max(axis=1))


def _scaled_pair_sum(s1: np.ndarray, v1: np.ndarray, s2: np.ndarray, v2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """10^s1 v1 + 10^s2 v2 for rows (…, n) with max|v| = 1, as (log10 m, rows / m): the smaller
    scale underflows harmlessly, two zero rows stay (−inf, 0)."""
    with np.errstate(invalid="ignore", over="ignore"):
        top = np.maximum(s1, s2)
        w1 = np.where(np.isfinite(s1), 10.0 ** (s1 - top), 0.0)
        w2 = np.where(np.isfinite(s2), 10.0 ** (s2 - top), 0.0)
    m_s, v = _scaled_rows(w1[..., None] * v1 + w2[..., None] * v2)
    return np.where(np.isfinite(top), top + m_s, -np.inf), v


def _log_forward_stack(act: str, W_hx: np.ndarray, W: np.ndarray, X: np.ndarray, h0: np.ndarray):
    """(hs (T+1, F), hv (T+1, F, h), φ'(a_t) (T, F, h)) of a_t = W_hx x_t + W_f h_{t−1}, h_t = φ(a_t)
    for every W_f of W (F, h, h), with h_t = 10^hs hv, max|hv| = 1: the forward pass of
    ``logspace.log_forward`` with the matrices on an array axis."""
    F, h = W.shape[0], W.shape[1]
    T = X.shape[0]
    hs = np.empty((T + 1, F))
    hv = np.empty((T + 1, F, h))
    dphi = np.empty((T, F, h))
    hs[0], hv[0] = _scaled_rows(np.broadcast_to(h0, (F, h)))
    x_s, x_v = _scaled_rows(X @ W_hx.T)  # (T,), (T, h)
    homogeneous = act in ("identity", "relu")  # φ(10^s â) = 10^s φ(â)
    for t in range(T):
        w_s, w_v = _scaled_rows((W @ hv[t][:, :, None])[:, :, 0])  # batched BLAS, one product per frame
        s_a, a_hat = _scaled_pair_sum(hs[t] + w_s, w_v, np.full(F, x_s[t]), np.broadcast_to(x_v[t], (F, h)))
        if homogeneous:
            h_hat = phi(act, a_hat)
            n_s, hv[t + 1] = _scaled_rows(h_hat)
            hs[t + 1] = s_a + n_s
            dphi[t] = phi_prime(act, a_hat, h_hat)
        else:  # bounded φ: plain numbers (an a_t past 10^300 saturates φ all the same)
            with np.errstate(over="ignore"):
                a = a_hat * 10.0 ** np.minimum(s_a, 300.0)[:, None]
            a = np.where(np.isfinite(s_a)[:, None], a, 0.0)
            h_t = phi(act, a)
            hs[t + 1], hv[t + 1] = _scaled_rows(h_t)
            dphi[t] = phi_prime(act, a, h_t)
    return hs, hv, dphi


def log10_sliding_dL_dh_sweep(rnn: RNN, X, Y, taus) -> np.ndarray:
    """log10 ‖∂L/∂h_t‖ (F, T) of sliding truncation (mse) for every τ of ``taus`` (F,), NaN where float64
    overflowed (sliding truncation has no log-space version), from one forward pass and one backward pass
    over the lag (``_sliding_norms``): every τ for the cost of the largest. Row f equals ``bptt(rnn, X, Y,
    Truncated(τ_f, "sliding"))``'s (tests/test_scrub_grids.py::test_truncation_sweeps_are_the_single_runs)."""
    X, Y, h0 = one_sequence(rnn, X, Y, "mse", None)
    taus = [as_int("tau", t, minimum=1) for t in np.asarray(taus).ravel()]
    with np.errstate(over="ignore", invalid="ignore"):
        trace = forward(rnn, X, h0)
        dq = loss_and_grad("mse", trace.O, Y)[1] @ rnn.W_qh  # rows W_qhᵀ ∂L/∂o_t
        dphi = phi_prime(rnn.activation, trace.A, trace.H[1:])
        return _sliding_norms(rnn.W_hh, dq, dphi, taus)


def _sliding_norms(W_hh: np.ndarray, dq: np.ndarray, dphi: np.ndarray, taus) -> np.ndarray:
    """log10 ‖∂L/∂h_t‖ (F, T) of sliding truncation at every τ of ``taus``; dq, dphi (T, h).

    The part of ∂L/∂h_t that left the loss term l_{t+k}, k steps later, is
        V_0 = dq,   V_k[t] = (V_{k−1}[t+1] ⊙ φ'(a_{t+1})) W_hh    (rows: W_hhᵀ applied to columns),
    and sliding truncation at τ keeps k < τ: ∂L/∂h_t = Σ_{k<τ} V_k[t] (``sliding_sweep``'s window, summed).
    The lags are the sequential axis here and the steps t the array axis: one (T − k, h) × (h, h) product
    per lag up to the largest τ, the running sum read off at every τ, where one sweep per τ costs Σ τ.
    """
    T = dq.shape[0]
    reach = [min(t, T) for t in taus]   # τ ≥ T keeps every term: full BPTT
    out = np.empty((len(reach), T))
    at = {}
    for f, k in enumerate(reach):
        at.setdefault(k - 1, []).append(f)
    total, V = dq.copy(), dq
    for k in range(max(reach)):
        if k:
            V = (V[1:] * dphi[1:T - k + 1]) @ W_hh   # V_k[t] for t = 0 … T − 1 − k
            total[:T - k] += V
        for f in at.get(k, ()):
            out[f] = log10_row_norms(total)
    return out


def log10_lag_norms_over_rho(rnn: RNN, W_hh_stack, X, h0=None) -> np.ndarray:
    """log10 ‖∂h_T/∂h_{T−k}‖₂ (F, T+1) for lags k = 0 … T, the network ``rnn`` with its W_hh replaced by
    each of W_hh_stack (F, h, h): ``log10_lag_norms`` with the matrices on an array axis.

    One forward pass for all frames (in log space, so φ'(a_t) is right past float64), then the product
    Q_k = Q_{k−1} J_{T−k+1}, J_t = diag φ'(a_t) W_f, grown for every frame at once and renormalised by each
    one's largest entry. Row f equals ``log10_lag_norms(factored_step_jacobians(…))`` at W_hh_stack[f]
    (tests/test_scrub_grids.py::test_lag_norms_over_rho_are_the_single_runs). O(F·T·h³).
    """
    X, _, h0 = one_sequence(rnn, X, np.zeros((np.shape(X)[0], rnn.q)), "mse", h0)
    W = as_float_array("W_hh_stack", W_hh_stack, (3,))
    if W.shape[1:] != (rnn.h, rnn.h) or W.shape[0] == 0:
        raise ValueError(f"W_hh_stack: expected shape (F, {rnn.h}, {rnn.h}), got {W.shape}")
    F, T = W.shape[0], X.shape[0]
    dphi = _log_forward_stack(rnn.activation, rnn.W_hx, W, X, h0)[2]  # (T, F, h)
    return _log10_product_norms(lambda k: dphi[T - k][:, :, None] * W, F, rnn.h, T)


def log10_power_norms_stack(W_stack, K: int) -> np.ndarray:
    """log10 ‖W_f^k‖₂ (F, K+1) for k = 0 … K and every matrix of W_stack (F, h, h): ``log10_power_norms`` with
    the matrices on an array axis, P_k = P_{k−1} W_f renormalised by each one's largest entry.
    Row f equals ``log10_power_norms(W_stack[f], K)`` to ~1e-11 in log10 (its tracked norms)
    (tests/test_scrub_grids.py::test_power_norms_stack_are_the_single_curves). O(F·K·h³): for a
    non-normal W pass Schur factors, as to ``log10_power_norms``."""
    W = as_float_array("W_stack", W_stack, (3,))
    if W.shape[1] != W.shape[2] or W.shape[0] == 0:
        raise ValueError(f"W_stack: expected a stack of square matrices (F, h, h), got shape {W.shape}")
    return _log10_product_norms(lambda k: W, W.shape[0], W.shape[1], as_int("K", K, minimum=0))


def _log10_product_norms(factor, F: int, h: int, n: int) -> np.ndarray:
    """log10 ‖Q_k‖₂ (F, n+1) of the products Q_k = Q_{k−1} · factor(k) (F, h, h), Q_0 = I, for k = 0 … n:
    each product divided by its largest entry as it grows, the factors' log10 added up apart, so nothing
    overflows; −inf from the first product that is exactly zero."""
    out = np.empty((F, n + 1))
    out[:, 0] = 0.0
    Q = np.broadcast_to(np.eye(h), (F, h, h)).copy()
    scale = np.zeros(F)
    for k in range(1, n + 1):
        Q = Q @ factor(k)
        m = np.abs(Q).max(axis=(1, 2))
        zero = m == 0.0
        Q /= np.where(zero, 1.0, m)[:, None, None]
        with np.errstate(divide="ignore"):
            scale = np.where(zero, -np.inf, scale + np.log10(np.where(zero, 1.0, m)))
        out[:, k] = scale + log10_two_norms(Q)
    return out
