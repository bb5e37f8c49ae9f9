"""Backpropagation Through Time in Detail, in log space: a numerical helper for the exploding regime.

BPTT norms that stay finite for every finite input, however far past float64.

In the exploding regime h_t, o_t and ∂L/∂h_t outgrow float64 (1.8·10³⁰⁸). Here
every vector is carried as a pair (s, v) meaning 10^s · v with ‖v‖ = 1, and
sums of such pairs are taken after factoring out the larger scale, so the same
forward and backward recursions as ``forward`` and ``bptt``

    a_t = W_hx x_t + W_hh h_{t-1},  h_t = φ(a_t),  o_t = W_qh h_t
    ∂L/∂h_t = W_qhᵀ ∂L/∂o_t + ξ_{t+1} W_hhᵀ (φ'(a_{t+1}) ⊙ ∂L/∂h_{t+1})

give log10 norms that stay finite (−inf only for an exact zero). Where float64
does not overflow they agree with ``bptt_reference`` (and ``bptt``) to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .activations import phi, phi_prime
from .bptt import Full, check_strategy, multipliers
from .checks import as_choice, describe
from .losses import check_targets
from .model import RNN, check_inputs, forward

FLOAT64_LOG10_MAX = float(np.log10(np.finfo(np.float64).max))  # ≈ 308.25


def normalised(v: np.ndarray, s: float) -> tuple[float, np.ndarray]:
    """(s', v') with 10^s' v' = 10^s v and ‖v'‖ = 1 (or s' = −inf, v' = 0 for a zero vector).

    Divides by the largest entry first, so a finite v near float64's limits is never squared out of range.
    """
    m = float(np.max(np.abs(v))) if v.size else 0.0
    if m == 0.0 or s == -np.inf:
        return -np.inf, np.zeros_like(v)
    u = v / m
    n = np.linalg.norm(u)
    return s + float(np.log10(m)) + float(np.log10(n)), u / n


def scaled_sum(a: tuple[float, np.ndarray], b: tuple[float, np.ndarray]) -> tuple[float, np.ndarray]:
    """10^s₁ v₁ + 10^s₂ v₂ as a normalised pair; the smaller scale underflows harmlessly."""
    (s1, v1), (s2, v2) = a, b
    if s1 == -np.inf:
        return normalised(v2, s2)
    if s2 == -np.inf:
        return normalised(v1, s1)
    m = max(s1, s2)
    return normalised(v1 * 10.0 ** (s1 - m) + v2 * 10.0 ** (s2 - m), m)


def normalised_rows(V: np.ndarray, s) -> tuple[np.ndarray, np.ndarray]:
    """``normalised`` of every row of V (n, k), at scales s (n,) or one scale: (s' (n,), V' (n, k))."""
    m = np.abs(V).max(axis=1) if V.shape[1] else np.zeros(V.shape[0])
    s = np.broadcast_to(np.asarray(s, dtype=float), m.shape)
    live = (m > 0.0) & (s > -np.inf)
    U = V / np.where(live, m, 1.0)[:, None]
    n = np.sqrt(np.einsum("ij,ij->i", U, U))
    U /= np.where(live, n, 1.0)[:, None]
    U[~live] = 0.0
    with np.errstate(divide="ignore"):
        out = np.where(live, s + np.log10(np.where(live, m, 1.0)) + np.log10(np.where(live, n, 1.0)), -np.inf)
    return out, U


def scaled_sum_rows(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]):
    """``scaled_sum`` of every row: 10^s₁ V₁ + 10^s₂ V₂ for s (n,), V (n, k), as normalised rows."""
    (s1, V1), (s2, V2) = a, b
    m = np.maximum(s1, s2)
    dead = m == -np.inf
    top = np.where(dead, 0.0, m)
    w1 = np.where(s1 > -np.inf, 10.0 ** (np.where(s1 > -np.inf, s1, 0.0) - top), 0.0)
    w2 = np.where(s2 > -np.inf, 10.0 ** (np.where(s2 > -np.inf, s2, 0.0) - top), 0.0)
    return normalised_rows(V1 * w1[:, None] + V2 * w2[:, None], m)


def _values(s: float, v: np.ndarray) -> np.ndarray:
    """10^s v in float64, saturating at ±10^300 (enough for tanh, σ and softmax, which saturate long before)."""
    with np.errstate(divide="ignore"):
        exponent = np.minimum(s + np.log10(np.abs(v)), 300.0)
    return np.sign(v) * 10.0 ** exponent


def log10_sum_of_outer(s: np.ndarray, U: np.ndarray, V: np.ndarray) -> float:
    """log10 ‖Σ_t 10^s_t u_t v_tᵀ‖_F for s (T,), U (T, a), V (T, b): one product after factoring out the
    largest scale M, Σ_t 10^(s_t − M) u_t v_tᵀ, whose entries are at most T·max‖u‖‖v‖ (a term 10³⁰⁸ times
    smaller than the largest underflows harmlessly, as in ``scaled_sum``); −inf when every term is zero."""
    live = s > -np.inf
    if not live.any():
        return -np.inf
    M = float(s[live].max())
    w = np.where(live, 10.0 ** np.where(live, s - M, 0.0), 0.0)
    n = float(np.linalg.norm((U * w[:, None]).T @ V))
    return M + float(np.log10(n)) if n > 0.0 else -np.inf


@dataclass(frozen=True)
class LogNorms:
    """log10 norms of one BPTT run (unbatched), every entry finite or −inf (exact zero).

    log10_h (T+1,): log10‖h_t‖ for t = 0..T.
    log10_dL_dh (T,): log10‖∂L/∂h_t‖ under the strategy.
    log10_delta (T,): log10‖φ'(a_t) ⊙ ∂L/∂h_t‖.
    log10_W_hh_terms (T,): log10‖δ_t h_{t-1}ᵀ‖_F, each step's contribution to ∂L/∂W_hh.
    log10_grads (3,): log10 Frobenius norms of ∂L/∂W_hx, ∂L/∂W_hh, ∂L/∂W_qh.
    log10_loss: log10 L.
    """

    log10_h: np.ndarray
    log10_dL_dh: np.ndarray
    log10_delta: np.ndarray
    log10_W_hh_terms: np.ndarray
    log10_grads: np.ndarray
    log10_loss: float

    @property
    def exceeds_float64(self) -> bool:
        """Whether plain float64 BPTT would overflow somewhere in this run."""
        peak = max(np.max(self.log10_h), np.max(self.log10_dL_dh), np.max(self.log10_grads), self.log10_loss)
        return bool(peak > FLOAT64_LOG10_MAX - 1.0)


class LogForward(NamedTuple):
    """The forward pass of one sequence as log-space pairs (see ``log_forward``)."""

    hs: np.ndarray    # (T+1,) log10 scales of h_t
    hv: np.ndarray    # (T+1, h) unit directions of h_t
    dphi: np.ndarray  # (T, h) φ'(a_t), plain numbers (bounded for every φ here)
    do_s: np.ndarray  # (T,) log10 scales of ∂L/∂o_t
    do_v: np.ndarray  # (T, q) unit directions of ∂L/∂o_t
    log10_loss: float


def log_forward(rnn: RNN, X: np.ndarray, h0: np.ndarray, Y: np.ndarray, loss: str) -> LogForward:
    """h_t = 10^hs[t] hv[t], φ'(a_t) and ∂L/∂o_t = 10^do_s[t] do_v[t] for t = 1..T, and log10 L.

    X (T, d) and h0 (h,) checked by ``check_inputs``, Y by ``check_targets``. The
    recursions of ``forward`` and the loss, carried as scaled pairs: finite for every
    finite input. Where plain float64 does not overflow, forward's own states are used.
    """
    act = rnn.activation
    W_hx, W_hh, W_qh = rnn.params
    T = X.shape[0]

    # Forward: h_t as (s_t, v_t); φ'(a_t) as plain numbers (bounded for every φ here).
    hs = np.empty(T + 1)
    hv = np.empty((T + 1, rnn.h))
    dphi = np.empty((T, rnn.h))
    trace = forward(rnn, X, h0)
    if trace.overflow_step is None:
        # Use forward's own states: a chaotic network (tanh, large ρ) would otherwise
        # drift onto another trajectory through rounding alone.
        hs[:], hv[:] = normalised_rows(trace.H, 0.0)
        dphi[:] = phi_prime(act, trace.A, trace.H[1:])
    else:
        hs[0], hv[0] = normalised(h0, 0.0)
    for t in range(1, T + 1 if trace.overflow_step is not None else 1):
        s_a, a_hat = scaled_sum(normalised(W_hx @ X[t - 1], 0.0), (hs[t - 1], W_hh @ hv[t - 1]))
        if act in ("identity", "relu"):  # positively homogeneous: φ(10^s â) = 10^s φ(â)
            h_hat = phi(act, a_hat)
            hs[t], hv[t] = normalised(h_hat, s_a)
            dphi[t - 1] = phi_prime(act, a_hat, h_hat)
        else:
            a = _values(s_a, a_hat)
            h = phi(act, a)
            hs[t], hv[t] = normalised(h, 0.0)
            dphi[t - 1] = phi_prime(act, a, h)

    # ∂L/∂o_t = ∂l/∂o_t / T, as pairs; the loss as log10 of a sum of scaled terms (every step at once).
    s_o, o_hat = hs[1:], hv[1:] @ W_qh.T           # o_t = 10^s_o ô_t
    with np.errstate(divide="ignore"):
        if loss == "mse":
            s_r, do_v = scaled_sum_rows((s_o, o_hat), normalised_rows(-Y, 0.0))   # o_t − y_t
            do_s = s_r - np.log10(T)
            log_terms = np.where(s_r > -np.inf, 2 * s_r + np.log10(0.5), -np.inf)
        else:
            rows = np.arange(T)
            z = _values(s_o[:, None], o_hat)
            z -= z.max(axis=1, keepdims=True)
            E = np.exp(z)
            S = E.sum(axis=1)
            g = E / S[:, None]
            g[rows, Y] -= 1.0
            do_s, do_v = normalised_rows(g / T, 0.0)
            nll = np.log(S) - z[rows, Y]
            log_terms = np.where(nll > 0, np.log10(np.where(nll > 0, nll, 1.0)), -np.inf)
    finite_terms = log_terms[log_terms > -np.inf]
    if finite_terms.size:
        m = finite_terms.max()
        log10_loss = m + np.log10(np.sum(10.0 ** (finite_terms - m))) - np.log10(T)
    else:
        log10_loss = -np.inf

    return LogForward(hs, hv, dphi, do_s, do_v, float(log10_loss))


def one_sequence(rnn: RNN, X, Y, loss: str, h0):
    """(X (T, d), Y, h0) checked for a log-space pass, which takes one sequence: no batch axis."""
    as_choice("loss", loss, ("mse", "xent"))
    X, h0 = check_inputs(rnn, X, h0)
    if X.ndim != 2:
        raise ValueError(f"X: expected one sequence (T, d) for log-space norms, got shape {X.shape}")
    return X, check_targets(loss, Y, (X.shape[0], rnn.q)), h0


def log10_gradient_norms(rnn: RNN, X, Y, strategy=Full(), loss: str = "mse", h0=None) -> LogNorms:
    """``LogNorms`` of BPTT on one sequence X (T, d), targets Y as in ``bptt``.

    Strategies with multipliers ξ (Full, chunked truncation, randomized);
    sliding truncation is not a ξ pattern and is refused with ``ValueError``.
    The ξ loop of ``bptt_reference`` in log space: every field equals the log10 norm of
    the reference's quantity where that is finite (tests/test_fast_paths.py::
    test_log10_gradient_norms_equal_the_reference, ::test_log_space_norms_equal_the_reference_where_it_is_finite).
    """
    check_strategy(strategy)
    X, Y, h0 = one_sequence(rnn, X, Y, loss, h0)
    T = X.shape[0]
    xi = multipliers(strategy, T)
    if xi is None:
        raise ValueError(f"strategy: expected Full, chunked or randomized truncation, got {describe(strategy)}")
    _, W_hh, W_qh = rnn.params
    hs, hv, dphi, do_s, do_v, log10_loss = log_forward(rnn, X, h0, Y, loss)

    # Backward: ∂L/∂h_t and δ_t = φ'(a_t) ⊙ ∂L/∂h_t as scaled pairs, one step at a time.
    log_dh = np.empty(T)
    log_delta = np.empty(T)
    delta_v = np.empty((T, rnn.h))
    g = (-np.inf, np.zeros(rnn.h))
    for t in range(T, 0, -1):
        dq = normalised(W_qh.T @ do_v[t - 1], do_s[t - 1])
        if t < T and xi[t] != 0.0:  # xi[t] is ξ_{t+1}
            g = scaled_sum(dq, normalised(xi[t] * (W_hh.T @ delta_v[t]), log_delta[t]))
        else:
            g = dq
        log_dh[t - 1] = g[0]
        log_delta[t - 1], delta_v[t - 1] = normalised(dphi[t - 1] * g[1], g[0])
    log_terms_hh = log_delta + hs[:-1]
    # The parameter gradients, Σ_t δ_t h_{t−1}ᵀ and the like, each one product of the scaled pairs.
    log_grads = np.array([log10_sum_of_outer(log_delta, delta_v, X),
                          log10_sum_of_outer(log_terms_hh, delta_v, hv[:-1]),
                          log10_sum_of_outer(do_s + hs[1:], do_v, hv[1:])])
    return LogNorms(log10_h=hs, log10_dL_dh=log_dh, log10_delta=log_delta, log10_W_hh_terms=log_terms_hh,
                    log10_grads=log_grads, log10_loss=log10_loss)
