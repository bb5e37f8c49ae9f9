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
from .logspace import log_forward, one_sequence
from .model import RNN
from .spectral import log10_power_norms


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
    """
    T = q_v.shape[0]
    F = xi.shape[0]
    out = np.empty((F, T))
    s = np.full(F, q_s[T - 1])
    g = np.repeat(q_v[T - 1][None, :], F, axis=0)
    out[:, T - 1] = _log10_norms(s, g)
    for t in range(T - 2, -1, -1):  # row t is step t+1; xi[:, t+1] is ξ_{t+2}
        u_s, u = _scaled_rows((g * dphi[t + 1] * xi[:, t + 1, None]) @ W_hh)
        with np.errstate(invalid="ignore"):  # −inf + −inf stays −inf; −inf − (−inf) is masked below
            a = s + u_s
            top = np.maximum(a, q_s[t])
            wu = np.where(np.isfinite(a), 10.0 ** (a - top), 0.0)
            wq = np.where(np.isfinite(q_s[t]), 10.0 ** (q_s[t] - top), 0.0)
        g = wu[:, None] * u + wq[:, None] * q_v[t]
        m_s, g = _scaled_rows(g)
        s = np.where(np.isfinite(top), top + m_s, -np.inf)
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
