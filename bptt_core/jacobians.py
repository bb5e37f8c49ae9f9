"""Products of per-step Jacobians ∂h_t/∂h_{t-1} = diag(φ'(a_t)) W_hh.

∂h_t/∂h_s = J_t J_{t-1} ⋯ J_{s+1} is the factor that makes gradients vanish
or explode. Its norm leaves float64's range quickly, so every product here is
renormalised as it grows and its logarithm accumulated.
"""

from __future__ import annotations

import numpy as np

from .activations import phi_prime
from .checks import as_int, describe
from .model import RNN, Trace
from .spectral import log10_two_norms, max_abs_scaled


def step_jacobians(rnn: RNN, trace: Trace) -> np.ndarray:
    """J (T, h, h) with J[t-1] = ∂h_t/∂h_{t-1} = diag(φ'(a_t)) W_hh.

    ``trace`` must be unbatched (X (T, d)).
    """
    if not isinstance(trace, Trace) or trace.batched:
        raise ValueError(f"trace: expected an unbatched Trace from forward(rnn, X (T, d)), got {describe(trace)}")
    with np.errstate(over="ignore", invalid="ignore"):
        dphi = phi_prime(rnn.activation, trace.A, trace.H[1:])  # (T, h)
        return dphi[:, :, None] * rnn.W_hh[None, :, :]


def _check_jacobians(J) -> np.ndarray:
    J = np.asarray(J, dtype=np.float64)
    if J.ndim != 3 or J.shape[1] != J.shape[2] or J.shape[0] == 0:
        raise ValueError(f"J: expected a stack (T, h, h) of square Jacobians with T >= 1, got shape {J.shape}")
    if not np.isfinite(J).all():
        raise ValueError("J: expected finite Jacobians, got inf or NaN (the forward pass overflowed)")
    return J


def log10_jacobian_norms(J, stride: int = 1) -> np.ndarray:
    """M (T+1, T+1): M[t, s] = log10 ‖∂h_t/∂h_s‖₂ for 0 ≤ s ≤ t ≤ T; NaN above the diagonal.

    J (T, h, h) from ``step_jacobians``. All sources s are advanced together
    on one array axis, P_s ← J_t P_s, each product renormalised by its
    Frobenius norm with log10 of the factor accumulated, so M is finite for
    every finite input and −inf only where a product is exactly zero.
    (Each J_t is first divided by its largest entry, and products by theirs.)
    stride > 1 keeps sources and targets on multiples of ``stride`` only (the
    other entries stay NaN), for long sequences.
    """
    J = _check_jacobians(J)
    stride = as_int("stride", stride, minimum=1)
    T, h = J.shape[0], J.shape[1]
    M = np.full((T + 1, T + 1), np.nan)
    sources = np.arange(0, T + 1, stride)
    P = np.zeros((sources.size, h, h))  # P[i] ∝ ∂h_t/∂h_{s_i} for the sources already started
    logscale = np.zeros(sources.size)
    zero = np.zeros(sources.size, dtype=bool)
    eye = np.eye(h)
    started = 0
    for t in range(T + 1):
        if t > 0 and started:
            Jt, j = max_abs_scaled(J[t - 1])
            P[:started] = Jt @ P[:started]
            # Renormalise by each product's largest entry: nothing is squared, so no
            # product of finite Jacobians can overflow or underflow to a false zero.
            norms = np.abs(P[:started]).max(axis=(1, 2))
            newly_zero = norms == 0.0
            zero[:started] |= newly_zero
            norms[newly_zero] = 1.0
            P[:started] /= norms[:, None, None]
            logscale[:started] += np.log10(norms) + j
        if started < sources.size and sources[started] == t:
            P[started] = eye
            started += 1
        if t % stride == 0:
            vals = logscale[:started] + log10_two_norms(P[:started])
            vals[zero[:started]] = -np.inf
            M[t, sources[:started]] = vals
    return M


def log10_lag_norms(J) -> np.ndarray:
    """log10 ‖∂h_T/∂h_{T-k}‖₂ for lags k = 0..T, shape (T+1,).

    The last row of ``log10_jacobian_norms`` in O(T h³): the product grows on
    its right, Q_k = Q_{k-1} J_{T-k+1}, renormalised by its largest entry at every step.
    """
    J = _check_jacobians(J)
    T, h = J.shape[0], J.shape[1]
    out = np.empty(T + 1)
    out[0] = 0.0
    Q = np.eye(h)
    scale = 0.0
    for k in range(1, T + 1):
        Jk, j = max_abs_scaled(J[T - k])
        Q, c = max_abs_scaled(Q @ Jk)
        if not Q.any():
            out[k:] = -np.inf
            break
        scale += c + j
        out[k] = scale + log10_two_norms(Q[None])[0]
    return out


def log10_norm_bound(sigma_max: float, gamma: float, lags) -> np.ndarray:
    """log10 of Pascanu, Mikolov & Bengio's bound (λ₁ γ)^k on ‖Π_k ∂h/∂h‖ for each lag k.

    ‖diag φ'‖ ≤ γ and ‖W_hh‖₂ = λ₁ give ‖∂h_t/∂h_{t-k}‖₂ ≤ (λ₁ γ)^k.
    """
    lags = np.asarray(lags, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        # (λ₁γ)^0 = 1 even for λ₁γ = 0, where lags·log10(0) would give 0·(−inf) = NaN.
        return np.where(lags == 0, 0.0, lags * np.log10(float(sigma_max) * float(gamma)))
