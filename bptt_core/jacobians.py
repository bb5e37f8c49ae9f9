"""Analysis of Gradients in RNNs, for the vector RNN: products of the Jacobians ∂h_t/∂h_{t-1} = diag(φ'(a_t)) W_hh.

They are the vector form of the scalar analysis' Π_j ∂f/∂h_{j-1}, and the (W_hhᵀ)^k of
Backpropagation Through Time in Detail when φ is the identity.

∂h_t/∂h_s = J_t J_{t-1} ⋯ J_{s+1} is the factor that makes gradients vanish
or explode. Its norm leaves float64's range quickly, so every product here is
renormalised as it grows and its logarithm accumulated.
"""

from __future__ import annotations

import numpy as np

from .activations import phi_prime
from .checks import as_int, describe
from .model import RNN, Trace
from .spectral import TRACK_MIN_H, NormTracker, log10_two_norms, max_abs_scaled


def step_jacobians(rnn: RNN, trace: Trace) -> np.ndarray:
    """J (T, h, h) with J[t-1] = ∂h_t/∂h_{t-1} = diag(φ'(a_t)) W_hh.

    ``trace`` must be unbatched (X (T, d)).
    """
    if not isinstance(trace, Trace) or trace.batched:
        raise ValueError(f"trace: expected an unbatched Trace from forward(rnn, X (T, d)), got {describe(trace)}")
    with np.errstate(over="ignore", invalid="ignore"):
        dphi = phi_prime(rnn.activation, trace.A, trace.H[1:])  # (T, h)
        return dphi[:, :, None] * rnn.W_hh[None, :, :]


class JacobianStack:
    """A stack J (T, n, n) of step Jacobians that makes each J[i] when asked instead of holding T·n²
    numbers; accepted wherever the array is (``log10_lag_norms``, ``log10_jacobian_norms_on_grid``).
    Subclasses set ``shape`` and define ``__getitem__`` for an integer (and, if they can, a slice)."""

    ndim = 3
    shape: tuple[int, int, int]

    def __len__(self) -> int:
        return self.shape[0]

    def dense(self) -> np.ndarray:
        """The (T, n, n) array."""
        return np.stack([self[i] for i in range(len(self))])


class FactoredJacobians(JacobianStack):
    """The stack J (T, h, h), J[t-1] = diag(φ'(a_t)) W_hh, kept as its factors φ' (T, h) and W_hh (h, h).

    Indexes like the array ``step_jacobians`` returns (``J[i]`` is one (h, h)
    Jacobian, ``J.shape`` is (T, h, h)) and is accepted wherever such a stack
    is, but holds T·h + h² numbers instead of T·h²: 524 MB fewer at T = 1000,
    h = 256, and no time spent writing them.
    """

    def __init__(self, dphi, W_hh):
        dphi = np.asarray(dphi, dtype=np.float64)
        W_hh = np.asarray(W_hh, dtype=np.float64)
        if dphi.ndim != 2 or dphi.shape[0] == 0 or W_hh.shape != (dphi.shape[1], dphi.shape[1]):
            raise ValueError(f"J: expected factors φ' (T, h) with T >= 1 and W_hh (h, h), got shapes "
                             f"{dphi.shape} and {W_hh.shape}")
        if not (np.isfinite(dphi).all() and np.isfinite(W_hh).all()):
            raise ValueError("J: expected finite Jacobians, got inf or NaN (the forward pass overflowed)")
        self.dphi, self.W_hh = dphi, W_hh
        self.shape = (dphi.shape[0], dphi.shape[1], dphi.shape[1])

    def __getitem__(self, i):
        """J[i] (h, h) for an integer i; a slice of steps stays factored."""
        if isinstance(i, slice):
            return FactoredJacobians(self.dphi[i], self.W_hh)
        return self.dphi[i][:, None] * self.W_hh

    def dense(self) -> np.ndarray:
        """The (T, h, h) array."""
        return self.dphi[:, :, None] * self.W_hh[None, :, :]


def factored_step_jacobians(rnn: RNN, trace: Trace) -> FactoredJacobians:
    """``step_jacobians`` without forming the (T, h, h) array: the same J, as its two factors."""
    if not isinstance(trace, Trace) or trace.batched:
        raise ValueError(f"trace: expected an unbatched Trace from forward(rnn, X (T, d)), got {describe(trace)}")
    with np.errstate(over="ignore", invalid="ignore"):
        return FactoredJacobians(phi_prime(rnn.activation, trace.A, trace.H[1:]), rnn.W_hh)


def _check_jacobians(J) -> np.ndarray:
    if isinstance(J, JacobianStack):  # validated when built; J[i] gives each (h, h) Jacobian
        return J
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


def log10_lag_norms(J, K: int | None = None) -> np.ndarray:
    """log10 ‖∂h_T/∂h_{T-k}‖₂ for lags k = 0..K (K = T by default, K ≤ T), shape (K+1,).

    The last row of ``log10_jacobian_norms`` in O(T h³): the product grows on
    its right, Q_k = Q_{k-1} J_{T-k+1}, renormalised by its largest entry at every step.
    ‖Q_k‖₂ comes from a tracked top singular subspace with a certified two-sided
    bound (``spectral.NormTracker``, to ~1e-11 in log10) where that bound is
    tight, and from an eigvalsh of Q_kᵀQ_k otherwise.
    """
    J = _check_jacobians(J)
    T, h = J.shape[0], J.shape[1]
    K = T if K is None else as_int("K", K, minimum=0, maximum=T)
    out = np.empty(K + 1)
    out[0] = 0.0
    Q = np.eye(h)
    scale = 0.0
    tracker = NormTracker(h) if h >= TRACK_MIN_H else None
    for k in range(1, K + 1):
        Jk, j = max_abs_scaled(J[T - k])
        Q, c = max_abs_scaled(Q @ Jk)
        if not Q.any():
            out[k:] = -np.inf
            break
        scale += c + j
        value = None if tracker is None else tracker.log10_norm(Q)
        out[k] = scale + (log10_two_norms(Q[None])[0] if value is None else value)
    return out


def log10_norm_bound(sigma_max: float, gamma: float, lags) -> np.ndarray:
    """log10 of Pascanu, Mikolov & Bengio's bound (λ₁ γ)^k on ‖Π_k ∂h/∂h‖ for each lag k.

    ‖diag φ'‖ ≤ γ and ‖W_hh‖₂ = λ₁ give ‖∂h_t/∂h_{t-k}‖₂ ≤ (λ₁ γ)^k.
    """
    lags = np.asarray(lags, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        # (λ₁γ)^0 = 1 even for λ₁γ = 0, where lags·log10(0) would give 0·(−inf) = NaN.
        return np.where(lags == 0, 0.0, lags * np.log10(float(sigma_max) * float(gamma)))


def log10_jacobian_norms_on_grid(J, stride: int = 1) -> np.ndarray:
    """G (n, n): G[j, i] = log10 ‖∂h_{t_j}/∂h_{t_i}‖₂ on the grid t_i = i·stride ≤ T; NaN above the diagonal.

    J (T, h, h) from ``step_jacobians``, or ``factored_step_jacobians`` (no
    T·h² array). The grid entries of ``log10_jacobian_norms(J, stride)``, i.e. its
    ``[::stride, ::stride]``, with n = ⌊T/stride⌋ + 1, for far less work: the
    Jacobians between two grid points are first multiplied into one segment
    product B_j = J_{t_j} ⋯ J_{t_{j-1}+1} (T products in all), then every started
    source advances by B_j, P_i ← B_j P_i (n²/2 products), instead of every
    source advancing at every step (T·n/2 products). Products are renormalised
    by their largest entry as in ``log10_jacobian_norms``; −inf only where a
    product is exactly zero.
    """
    J = _check_jacobians(J)
    stride = as_int("stride", stride, minimum=1)
    T, h = J.shape[0], J.shape[1]
    grid = np.arange(0, T + 1, stride)
    n = grid.size
    M = np.full((n, n), np.nan)
    M[0, 0] = 0.0
    P = np.zeros((n, h, h))  # P[i] ∝ ∂h_{t_j}/∂h_{t_i} for the sources started so far
    logscale = np.zeros(n)
    zero = np.zeros(n, dtype=bool)
    eye = np.eye(h)
    P[0] = eye
    for j in range(1, n):
        B, b = eye, 0.0  # B ∝ J_{t_j} ⋯ J_{t_{j-1}+1}
        for t in range(grid[j - 1] + 1, grid[j] + 1):
            Jt, jt = max_abs_scaled(J[t - 1])
            B, c = max_abs_scaled(Jt @ B)
            b += c + jt
            if not B.any():
                break
        if not B.any():  # a zero segment: every product through it is exactly zero
            zero[:j] = True
            P[:j] = 0.0
        else:
            P[:j] = B @ P[:j]
            norms = np.abs(P[:j]).max(axis=(1, 2))
            zero[:j] |= norms == 0.0
            norms[norms == 0.0] = 1.0
            P[:j] /= norms[:, None, None]
            logscale[:j] += np.log10(norms) + b
        P[j] = eye
        vals = np.empty(j + 1)
        vals[j] = 0.0
        vals[:j] = logscale[:j] + log10_two_norms(P[:j])
        vals[:j][zero[:j]] = -np.inf
        M[j, :j + 1] = vals
    return M


def grid_stride(T: int, h: int, max_cells: int = 120, max_work: float = 5e9) -> int:
    """The smallest stride for ``log10_jacobian_norms_on_grid`` on T steps of size h within budget.

    The grid has n = ⌊T/stride⌋ + 1 ≤ ``max_cells`` points per side, and its
    n²/2 products and norms of h×h matrices cost about n²h³/2 ≤ ``max_work``
    (5e9: about a second; h = 256 allows n = 24, h ≤ 64 the full 120).
    """
    T = as_int("T", T, minimum=1)
    h = as_int("h", h, minimum=1)
    max_cells = as_int("max_cells", max_cells, minimum=2)
    cells = int(min(max_cells, max(2, np.floor(np.sqrt(2.0 * float(max_work) / float(h) ** 3)))))
    stride = max(1, -(-(T + 1) // cells))  # ⌈(T+1)/cells⌉
    while T // stride + 1 > cells:
        stride += 1
    return stride
