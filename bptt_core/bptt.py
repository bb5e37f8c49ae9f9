"""Backpropagation Through Time in Detail, with the strategies of Full Computation,
Truncating Time Steps and Randomized Truncation (the book's section).

Read ``bptt_reference`` first: the backward pass as a plain loop over t = T … 1,
one of the book's equations per line. ``bptt`` computes the same ``Gradients``
faster (one BLAS call per step, no branches in the loop) and is what the lab
runs; every fast path in the core names the reference it equals and the test
that checks it.

Every strategy is a choice of multipliers ξ_t on the flow of gradient from h_t
back to h_{t-1} (the book's z_t = ∂f/∂w + ξ_t ∂f/∂h_{t-1} z_{t-1}; in reverse
mode the same ξ_t scales ∂h_t/∂h_{t-1}):

    ∂L/∂h_T = W_qhᵀ ∂L/∂o_T
    ∂L/∂h_t = W_qhᵀ ∂L/∂o_t + ξ_{t+1} W_hhᵀ (φ'(a_{t+1}) ⊙ ∂L/∂h_{t+1})
    ∂L/∂W_hx = Σ_t δ_t x_tᵀ,   ∂L/∂W_hh = Σ_t δ_t h_{t-1}ᵀ,   δ_t = φ'(a_t) ⊙ ∂L/∂h_t
    ∂L/∂W_qh = Σ_t ∂L/∂o_t h_tᵀ

``Full`` has every ξ_t = 1; ``Truncated(tau, "chunked")`` has ξ_t = 0 at each
cut t = kτ + 1; ``Randomized(pi)`` draws ξ_t ∈ {0, 1/π} with E[ξ_t] = 1
(Tallec & Ollivier 2017). ``Truncated(tau, "sliding")`` is not a ξ pattern:
each loss term l_t backpropagates through h_t … h_{t-τ+1} only.
``STRATEGY_KEYS`` names the four: "full", "chunked", "sliding", "randomized".

Vectors are columns, as in the section; arrays store them as rows with time on
axis 0 (see ``bptt_core.model``), so W_hhᵀ v is ``v @ W_hh`` in the fast paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .activations import phi_prime
from .checks import as_choice, as_float, as_float_array, as_int, describe
from .losses import check_targets, loss_and_grad
from .model import RNN, Trace, first_nonfinite_step, forward


# The one list of the strategies' keys: Full(), Truncated(τ, "chunked"), Truncated(τ, "sliding"), Randomized(π).
STRATEGY_KEYS = ("full", "chunked", "sliding", "randomized")


@dataclass(frozen=True)
class Full:
    """Exact gradient: ξ_t = 1 for all t (the book's third row)."""


@dataclass(frozen=True)
class Truncated:
    """Regular truncation after ``tau`` steps.

    mode="chunked": the sequence is cut into pieces of length τ, the state is
    carried forward, the gradient is detached at every cut (ξ_t = 0 at
    t = kτ + 1, k ≥ 1; the book's second row).
    mode="sliding": every loss term l_t backpropagates through τ states,
    h_t … h_{t-τ+1} (the sum of the section terminated after τ terms).
    """

    tau: int
    mode: str = "chunked"

    def __post_init__(self):
        object.__setattr__(self, "tau", as_int("tau", self.tau, minimum=1))
        as_choice("mode", self.mode, ("chunked", "sliding"))


@dataclass(frozen=True, eq=False)
class Randomized:
    """Randomized truncation: ξ_t = 1/π with probability π, else 0.

    E[ξ_t] = 1, so the expected gradient is the exact one. ``seed`` makes the
    draw reproducible; ``xi`` (T,) replays given multipliers exactly (any
    finite values, so ``xi = ones`` reproduces ``Full``).
    """

    pi: float
    seed: int = 0
    xi: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "pi", as_float("pi", self.pi, low=0.0, high=1.0, low_open=True))
        object.__setattr__(self, "seed", as_int("seed", self.seed, minimum=0))
        if self.xi is not None:
            xi = as_float_array("xi", self.xi, (1,)).copy()
            xi.setflags(write=False)
            object.__setattr__(self, "xi", xi)


Strategy = Full | Truncated | Randomized


@dataclass(frozen=True, eq=False)
class Gradients:
    """The result of ``bptt``.

    W_hx (h, d), W_hh (h, h), W_qh (q, h): ∂L/∂W under the strategy.
    dL_dh (T, [B,] h): ∂L/∂h_t under the strategy (row t-1 is step t).
    dL_do (T, [B,] q): ∂L/∂o_t. loss: L. xi (T,): the multipliers used,
    xi[t-1] = ξ_t (None for sliding truncation).
    forward_overflow_step: first t with non-finite h_t, else None.
    backward_overflow_step: first t reached going backward (the largest) with
    non-finite ∂L/∂h_t, else None.
    """

    W_hx: np.ndarray
    W_hh: np.ndarray
    W_qh: np.ndarray
    dL_dh: np.ndarray
    dL_do: np.ndarray
    loss: float
    xi: np.ndarray | None
    forward_overflow_step: int | None = None
    backward_overflow_step: int | None = None

    @property
    def params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(∂L/∂W_hx, ∂L/∂W_hh, ∂L/∂W_qh)."""
        return self.W_hx, self.W_hh, self.W_qh

    @property
    def finite(self) -> bool:
        """True when neither pass left float64's range."""
        return self.forward_overflow_step is None and self.backward_overflow_step is None

    def flat(self) -> np.ndarray:
        """All parameter gradients as one vector (W_hx, W_hh, W_qh, row-major)."""
        return np.concatenate([g.ravel() for g in self.params])


def chunked_xi(T: int, tau: int) -> np.ndarray:
    """ξ (T,) of regular truncation: 0 at t = kτ + 1 (k ≥ 1), else 1."""
    xi = np.ones(T)
    xi[tau::tau] = 0.0  # index kτ is step t = kτ + 1
    return xi


def randomized_xi(T: int, pi: float, seed: int, samples: int | None = None) -> np.ndarray:
    """ξ (T,) — or (samples, T) — with P(ξ_t = 1/π) = π and P(ξ_t = 0) = 1 − π."""
    rng = np.random.default_rng(seed)
    shape = (T,) if samples is None else (samples, T)
    return np.where(rng.random(shape) < pi, 1.0 / pi, 0.0)


def check_strategy(strategy) -> Strategy:
    if not isinstance(strategy, (Full, Truncated, Randomized)):
        raise ValueError(f"strategy: expected Full(), Truncated(tau, mode) or Randomized(pi), "
                         f"got {describe(strategy)}")
    return strategy


def multipliers(strategy: Strategy, T: int) -> np.ndarray | None:
    """The ξ (T,) a strategy uses over T steps; None for sliding truncation."""
    check_strategy(strategy)
    if isinstance(strategy, Full):
        return np.ones(T)
    if isinstance(strategy, Truncated):
        return None if strategy.mode == "sliding" else chunked_xi(T, strategy.tau)
    if strategy.xi is not None:
        if strategy.xi.shape != (T,):
            raise ValueError(f"xi: expected shape ({T},) for T = {T} steps, got {strategy.xi.shape}")
        return strategy.xi.copy()
    return randomized_xi(T, strategy.pi, strategy.seed)


def _by_step(M: np.ndarray, first: int) -> np.ndarray:
    """Rows M (n, [B,] k) as column blocks (first + n, k, B): out[first + i] = M[i]ᵀ, one column a sequence.

    Indexed by the step t as in the book; entries below ``first`` are NaN (there is no x_0, a_0, o_0).
    """
    cols = np.swapaxes(M.reshape(M.shape[0], -1, M.shape[-1]), 1, 2)
    return np.concatenate([np.full((first,) + cols.shape[1:], np.nan), cols])


def _gradients(tr: Trace, params, dL_dh: np.ndarray, dL_do: np.ndarray, L: float, xi) -> Gradients:
    """The ``Gradients`` of a backward pass, with where (if anywhere) each pass left float64."""
    bad = first_nonfinite_step(dL_dh[::-1])
    dW_hx, dW_hh, dW_qh = params
    return Gradients(W_hx=dW_hx, W_hh=dW_hh, W_qh=dW_qh, dL_dh=dL_dh, dL_do=dL_do, loss=L, xi=xi,
                     forward_overflow_step=tr.overflow_step,
                     backward_overflow_step=None if bad is None else tr.T - bad)


@np.errstate(over="ignore", invalid="ignore")  # overflow is reported in the result, not warned about
def bptt_reference(rnn: RNN, X, Y, strategy: Strategy = Full(), loss: str = "mse", h0=None) -> Gradients:
    """``bptt``'s result by the book's equations, one per line: the implementation to read.

    Arguments and result as ``bptt``: X (T, d) or (T, B, d); Y (T, [B,] q) for ``mse``,
    integer labels (T, [B]) for ``xent``; h0 (h,) or (B, h), zeros by default. Inside, step
    t's vectors are columns at index t, t = 1..T, one column per sequence of the batch:
    x[t] (d, B), h[t] (h, B) with h[0] = h_0, dL_do[t] = ∂L/∂o_t (q, B). A Python loop over
    time with small products: slow, and the standard every fast path is tested against
    (tests/test_fast_paths.py); it is itself checked against central differences of the
    strategies' surrogate losses (tests/test_bptt.py).
    """
    check_strategy(strategy)
    as_choice("loss", loss, ("mse", "xent"))
    tr = forward(rnn, X, h0)                          # a_t = W_hx x_t + W_hh h_{t-1}, h_t = φ(a_t), o_t = W_qh h_t
    Y = check_targets(loss, Y, tr.O.shape)
    L, dL_do_rows = loss_and_grad(loss, tr.O, Y)      # L = (1/T) Σ_t l(o_t, y_t), and ∂L/∂o_t
    W_hx, W_hh, W_qh = rnn.params
    T = tr.T
    x = _by_step(tr.X, 1)                             # x[t] = x_t
    h = _by_step(tr.H, 0)                             # h[t] = h_t, h[0] = h_0
    dphi = _by_step(phi_prime(rnn.activation, tr.A, tr.H[1:]), 1)  # dphi[t] = φ'(a_t)
    dL_do = _by_step(dL_do_rows, 1)                   # dL_do[t] = ∂L/∂o_t
    dL_dh = np.zeros_like(h)                          # dL_dh[t] = ∂L/∂h_t, filled for t = T … 1
    xi = multipliers(strategy, T)                     # xi[t-1] = ξ_t; None for sliding truncation

    if xi is not None:  # full, chunked, randomized
        for t in range(T, 0, -1):
            dL_dh[t] = W_qh.T @ dL_do[t]                              # ∂L/∂h_t = W_qhᵀ ∂L/∂o_t
            if t < T and xi[t] != 0.0:                                #   (xi[t] is ξ_{t+1}; ξ = 0 is a cut)
                dL_dh[t] += xi[t] * W_hh.T @ (dphi[t + 1] * dL_dh[t + 1])  # + ξ_{t+1} W_hhᵀ (φ'(a_{t+1}) ⊙ ∂L/∂h_{t+1})
    else:  # sliding: ∂L/∂h_t = Σ_{i=t}^{t+τ-1} (∂h_i/∂h_t)ᵀ W_qhᵀ ∂L/∂o_i, each l_i reaching h_i … h_{i-τ+1}
        for i in range(T, 0, -1):
            g = W_qh.T @ dL_do[i]                                     # what l_i sends into h_i: W_qhᵀ ∂L/∂o_i
            for t in range(i, max(i - strategy.tau, 0), -1):
                dL_dh[t] += g                                         # ∂L/∂h_t += (∂h_i/∂h_t)ᵀ W_qhᵀ ∂L/∂o_i
                g = W_hh.T @ (dphi[t] * g)                            # one step back: W_hhᵀ (φ'(a_t) ⊙ g)

    # The weights are shared by all steps, so their gradients are sums over t.
    dW_hx, dW_hh, dW_qh = np.zeros_like(W_hx), np.zeros_like(W_hh), np.zeros_like(W_qh)
    for t in range(T, 0, -1):
        delta = dphi[t] * dL_dh[t]                                    # δ_t = φ'(a_t) ⊙ ∂L/∂h_t
        dW_hx += delta @ x[t].T                                       # ∂L/∂W_hx = Σ_t δ_t x_tᵀ
        dW_hh += delta @ h[t - 1].T                                   # ∂L/∂W_hh = Σ_t δ_t h_{t-1}ᵀ
        dW_qh += dL_do[t] @ h[t].T                                    # ∂L/∂W_qh = Σ_t ∂L/∂o_t h_tᵀ
    dL_dh_rows = np.swapaxes(dL_dh[1:], 1, 2).reshape(tr.A.shape)
    return _gradients(tr, (dW_hx, dW_hh, dW_qh), dL_dh_rows, dL_do_rows, L, xi)


# Below this hidden size one product with [W_hh; I] (adding ∂L/∂o_t inside BLAS)
# beats a product and a separate addition; above it the extra h² work costs more.
AUGMENTED_MAX_H = 32


def reverse_sweep(W_hh: np.ndarray, dq: np.ndarray, dphi: np.ndarray, xi: np.ndarray | None,
                  back_matrix: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(dL_dh, delta), both (T, *rest, h): the backward recursion with multipliers ξ (T,).

    dq (T, *rest, h): rows W_qhᵀ ∂L/∂o_t;  dphi (T, *rest, h): φ'(a_t).
    xi None means every ξ_t = 1 (full BPTT). back_matrix: ``RNN.back_matrix``, if at hand.

        ∂L/∂h_t = W_qhᵀ ∂L/∂o_t + ξ_{t+1} W_hhᵀ δ_{t+1},   δ_t = φ'(a_t) ⊙ ∂L/∂h_t

    Fast path of the ξ loop of ``bptt_reference``, equal to its ∂L/∂h_t and δ_t to
    rounding (tests/test_fast_paths.py::test_bptt_equals_the_reference).
    Overflow gives inf/NaN; the caller decides about floating-point warnings (``bptt``
    silences them once for the whole backward pass).
    """
    G = _sweep_one(W_hh, dq, dphi, xi, back_matrix)
    return G, G * dphi


def sample_deltas(W_hh: np.ndarray, dq: np.ndarray, dphi: np.ndarray, xi: np.ndarray) -> np.ndarray:
    """δ (T, S, *rest, h) for S multiplier patterns xi (S, T), the patterns on axis 1.

    The recursion of ``reverse_sweep`` for all patterns at once; only δ is kept
    (∂L/∂h_t lives in one (S, *rest, h) buffer), since δ is all the parameter
    gradients need. delta[:, s] equals φ'(a_t) ⊙ ∂L/∂h_t of ``bptt_reference`` with
    ``Randomized(1, xi=xi[s])`` (tests/test_fast_paths.py::
    test_sample_deltas_and_flat_gradients_equal_the_reference, and
    ::test_sample_deltas_equal_the_reference_where_a_cut_meets_an_overflow).
    """
    T, S = dq.shape[0], xi.shape[0]
    xis = xi.T.reshape((T, S) + (1,) * (dq.ndim - 1))
    delta = np.empty((T, S) + dq.shape[1:])
    g = np.empty(delta.shape[1:])
    v = np.empty(delta.shape[1:])
    mul, add, matmul = np.multiply, np.add, np.matmul
    with np.errstate(over="ignore", invalid="ignore"):
        for guarded in (False, True):
            g[...] = dq[T - 1]
            for t in range(T - 1, 0, -1):
                mul(g, dphi[t], delta[t])
                mul(delta[t], xis[t], v)
                if guarded:  # a cut (ξ = 0) stops an overflowed δ instead of making inf·0 = NaN
                    np.copyto(v, 0.0, where=xis[t] == 0.0)
                add(matmul(v, W_hh, g), dq[t - 1], g)
            mul(g, dphi[0], delta[0])
            if guarded or np.isfinite(delta).all():
                break
    return delta


def _sweep_one(W_hh, dq, dphi, xi, back_matrix):
    """∂L/∂h_t (T, *rest, h) for one ξ (T,); rows are h-vectors, so v @ W_hh = W_hhᵀ v.

    flow = ξ_{t+2} φ'(a_{t+2}) ⊙ ∂L/∂h_{t+2} is what step t+2 sends back into row t.
    The fast loop has no branch: a cut is a zero row of ξφ'. Only if that meets an
    overflowed gradient (inf·0 = NaN) is the sweep redone with cuts as explicit resets,
    as ``bptt_reference`` makes them (tests/test_fast_paths.py::
    test_bptt_equals_the_reference, ::test_bptt_equals_the_reference_where_a_cut_meets_an_overflow).
    """
    T, h = dq.shape[0], dq.shape[-1]
    G = np.empty_like(dq)
    G[T - 1] = dq[T - 1]
    P = dphi if xi is None else dphi * xi.reshape((T,) + (1,) * (dq.ndim - 1))
    mul, add = np.multiply, np.add
    backward = slice(-2, None, -1)  # rows T-2 … 0
    if h <= AUGMENTED_MAX_H:
        # [flow | dq_t] @ [W_hh; I] = W_hhᵀ flow + dq_t in a single BLAS call.
        Z = np.empty(dq.shape[:-1] + (2 * h,))
        Z[..., h:] = dq
        flows = Z[..., :h]
        if dq.ndim == 2:  # one sequence: column form [W_hhᵀ | I] [flow; dq], a bound method
            dot = (np.hstack([W_hh.T, np.eye(h)]) if back_matrix is None else back_matrix).dot
        else:
            N = np.vstack([W_hh, np.eye(h)])
            dot = lambda row, out: np.dot(row, N, out)  # noqa: E731
        for g_next, p, flow, row, g in zip(G[:0:-1], P[:0:-1], flows[backward], Z[backward], G[backward]):
            mul(g_next, p, flow)
            dot(row, g)
    else:
        v = np.empty(dq.shape[1:])
        if dq.ndim == 2:
            dot = np.ascontiguousarray(W_hh.T).dot
        else:
            dot = lambda row, out: np.dot(row, W_hh, out)  # noqa: E731
        for g_next, p, q, g in zip(G[:0:-1], P[:0:-1], dq[backward], G[backward]):
            mul(g_next, p, v)
            add(dot(v, g), q, g)
    if xi is not None and not np.isfinite(G).all() and (xi == 0.0).any():
        for t in range(T - 2, -1, -1):
            G[t] = dq[t] if xi[t + 1] == 0.0 else (G[t + 1] * P[t + 1]) @ W_hh + dq[t]
    return G


def sliding_sweep(W_hh: np.ndarray, dq: np.ndarray, dphi: np.ndarray,
                  tau: int) -> tuple[np.ndarray, np.ndarray]:
    """(dL_dh, delta) of sliding truncation: each l_t reaches h_t … h_{t-τ+1}.

    dq, dphi (T, *rest, h). A window of τ partial sums travels backward: entry
    k holds the part of ∂L/∂h_t that left a loss term k steps later, and the
    oldest (k = τ − 1) is dropped before it would pass a τ-th Jacobian.
        ∂L/∂h_t = Σ_{k=0..τ-1} (∂h_{t+k}/∂h_t)ᵀ W_qhᵀ ∂L/∂o_{t+k}
    Fast path of the sliding loop of ``bptt_reference``: one pass over time instead of
    one per loss term (tests/test_fast_paths.py::test_bptt_equals_the_reference and
    ::test_window_gradients_equal_the_reference, the sliding cases).
    """
    T = dq.shape[0]
    k = min(tau, T)
    dL_dh = np.empty_like(dq)
    delta = np.empty_like(dq)
    window = np.zeros((k,) + dq.shape[1:])
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(T - 1, -1, -1):
            if k > 1 and t < T - 1:
                window[1:] = (window[:-1] * dphi[t + 1]) @ W_hh
            window[0] = dq[t]
            window.sum(axis=0, out=dL_dh[t])
            np.multiply(dL_dh[t], dphi[t], out=delta[t])
    return dL_dh, delta


def parameter_gradients(delta: np.ndarray, trace: Trace, dL_do: np.ndarray):
    """(∂L/∂W_hx, ∂L/∂W_hh, ∂L/∂W_qh) summed over time (and batch), for delta (T, *rest, h).

        ∂L/∂W_hx = Σ_t δ_t x_tᵀ,  ∂L/∂W_hh = Σ_t δ_t h_{t-1}ᵀ,  ∂L/∂W_qh = Σ_t ∂L/∂o_t h_tᵀ

    The last loop of ``bptt_reference`` as three products over all steps at once
    (tests/test_fast_paths.py::test_bptt_equals_the_reference).
    """
    X, Hp, Hn = trace.X, trace.H[:-1], trace.H[1:]
    d, h, q = X.shape[-1], Hp.shape[-1], dL_do.shape[-1]
    D = delta.reshape(-1, h)
    return D.T @ X.reshape(-1, d), D.T @ Hp.reshape(-1, h), dL_do.reshape(-1, q).T @ Hn.reshape(-1, h)


def flat_sample_gradients(delta: np.ndarray, trace: Trace, dL_do: np.ndarray) -> np.ndarray:
    """(S, P) gradients, flattened as ``Gradients.flat()``, for S samples delta (T, S, *rest, h).

    [∂L/∂W_hx | ∂L/∂W_hh] of sample s is Σ_t δ_{t,s} [x_t; h_{t-1}]ᵀ: without a batch
    axis, all samples are one matrix product (S·h, T) @ (T, d + h). ∂L/∂W_qh does not
    depend on ξ and is the same in every row. With delta from ``sample_deltas``, row s
    equals ``bptt_reference(..., Randomized(1, xi=xi[s])).flat()``
    (tests/test_fast_paths.py::test_sample_deltas_and_flat_gradients_equal_the_reference).
    """
    X, Hp, Hn = trace.X, trace.H[:-1], trace.H[1:]
    T, S, h = delta.shape[0], delta.shape[1], delta.shape[-1]
    d, q = X.shape[-1], dL_do.shape[-1]
    Z = np.concatenate([X, Hp], axis=-1)  # (T, *rest, d + h)
    with np.errstate(over="ignore", invalid="ignore"):
        if delta.ndim == 3:
            R = (delta.reshape(T, S * h).T @ Z).reshape(S, h, d + h)
        else:  # a batch axis: contract time and batch together, one product per sample (in C)
            D = np.moveaxis(delta, 1, 0).reshape(S, -1, h)
            R = np.swapaxes(D, 1, 2) @ Z.reshape(-1, d + h)
        out = np.empty((S, h * d + h * h + q * h))
        out[:, :h * d] = R[:, :, :d].reshape(S, h * d)
        out[:, h * d:h * (d + h)] = R[:, :, d:].reshape(S, h * h)
        out[:, h * (d + h):] = (dL_do.reshape(-1, q).T @ Hn.reshape(-1, h)).ravel()
    return out


def bptt(rnn: RNN, X, Y, strategy: Strategy = Full(), loss: str = "mse", h0=None) -> Gradients:
    """Gradients of L = (1/T) Σ_t l(o_t, y_t) by backpropagation through time.

    X (T, d) or (T, B, d); Y (T, [B,] q) for ``mse``, integer labels (T, [B])
    for ``xent``; h0 (h,) or (B, h), zeros by default. The strategy chooses
    the multipliers ξ (see the module docstring). Invalid arguments raise
    ``ValueError``; overflow is reported in the result, never raised.

    The fast path of ``bptt_reference``, equal to it to rounding
    (tests/test_fast_paths.py::test_bptt_equals_the_reference); both are checked
    against central differences in tests/test_bptt.py.
    """
    check_strategy(strategy)
    as_choice("loss", loss, ("mse", "xent"))
    tr = forward(rnn, X, h0)
    Y = check_targets(loss, Y, tr.O.shape)
    xi = multipliers(strategy, tr.T)
    L, dL_do = loss_and_grad(loss, tr.O, Y)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below, not warned about
        dq = dL_do @ rnn.W_qh  # rows of W_qhᵀ ∂L/∂o_t, all steps at once
        dphi = phi_prime(rnn.activation, tr.A, tr.H[1:])
        if xi is None:
            dL_dh, delta = sliding_sweep(rnn.W_hh, dq, dphi, strategy.tau)
        else:
            full = isinstance(strategy, Full)
            back = rnn.back_matrix if rnn.h <= AUGMENTED_MAX_H else None
            dL_dh, delta = reverse_sweep(rnn.W_hh, dq, dphi, None if full else xi, back)
        params = parameter_gradients(delta, tr, dL_do)
    return _gradients(tr, params, dL_dh, dL_do, L, xi)
