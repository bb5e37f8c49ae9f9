"""Backpropagation Through Time in Detail: the section's recurrent network and its forward pass.

Convention: vectors are **columns**, exactly as in the section,

    a_t = W_hx x_t + W_hh h_{t-1}        h_t = φ(a_t)        o_t = W_qh h_t

with ``W_hx ∈ R^{h×d}``, ``W_hh ∈ R^{h×h}``, ``W_qh ∈ R^{q×h}`` and no biases.
Arrays carry time on axis 0 and store each time step's vector as a row, so
``A[t-1] = X[t-1] @ W_hx.T + H[t-1] @ W_hh.T`` is the same equation. An
optional batch axis sits between time and features: ``X (T, B, d)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .activations import ACTIVATIONS, phi
from .checks import as_choice, as_float_array, as_int, describe


@dataclass(frozen=True, eq=False)
class RNN:
    """Parameters of the section's RNN (no biases).

    W_hx (h, d), W_hh (h, h), W_qh (q, h): float64, finite.
    activation: one of ``identity`` (the book's), ``tanh``, ``sigmoid``, ``relu``.
    Construction validates shapes and values and raises ``ValueError``.
    """

    W_hx: np.ndarray
    W_hh: np.ndarray
    W_qh: np.ndarray
    activation: str = "identity"

    def __post_init__(self):
        W_hx = as_float_array("W_hx", self.W_hx, (2,))
        W_hh = as_float_array("W_hh", self.W_hh, (2,))
        W_qh = as_float_array("W_qh", self.W_qh, (2,))
        h = W_hh.shape[0]
        if W_hh.shape != (h, h):
            raise ValueError(f"W_hh: expected a square (h, h) matrix, got shape {W_hh.shape}")
        if W_hx.shape[0] != h:
            raise ValueError(f"W_hx: expected shape ({h}, d) to match W_hh's h = {h}, got {W_hx.shape}")
        if W_qh.shape[1] != h:
            raise ValueError(f"W_qh: expected shape (q, {h}) to match W_hh's h = {h}, got {W_qh.shape}")
        as_choice("activation", self.activation, ACTIVATIONS)
        for name, arr in (("W_hx", W_hx), ("W_hh", W_hh), ("W_qh", W_qh)):
            arr = arr.copy()  # own the memory: a caller's later edits cannot change the model
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def d(self) -> int:
        return self.W_hx.shape[1]

    @property
    def h(self) -> int:
        return self.W_hh.shape[0]

    @property
    def q(self) -> int:
        return self.W_qh.shape[0]

    @property
    def params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(W_hx, W_hh, W_qh)."""
        return self.W_hx, self.W_hh, self.W_qh

    # Derived matrices for the loops over time, built once per model (the weights are read-only).
    @cached_property
    def step_matrix(self) -> np.ndarray:
        """[W_hh | W_hx] (h, h + d): a_t = [W_hh | W_hx] [h_{t-1}; x_t] in one product."""
        return np.concatenate([self.W_hh, self.W_hx], axis=1)

    @cached_property
    def back_matrix(self) -> np.ndarray:
        """[W_hhᵀ | I] (h, 2h): W_hhᵀ v + u = [W_hhᵀ | I] [v; u] in one product."""
        return np.hstack([self.W_hh.T, np.eye(self.h)])


@dataclass(frozen=True, eq=False)
class Trace:
    """The unrolled forward pass.

    X (T, [B,] d) inputs; H (T+1, [B,] h) with H[0] = h_0 and H[t] = h_t;
    A (T, [B,] h) with A[t-1] = a_t; O (T, [B,] q) with O[t-1] = o_t.
    overflow_step: the first t (1-based) at which h_t is not finite, else None
    (the exploding regime: float64 ran out of range).
    """

    X: np.ndarray
    H: np.ndarray
    A: np.ndarray
    O: np.ndarray
    overflow_step: int | None = None

    @property
    def T(self) -> int:
        return self.X.shape[0]

    @property
    def batched(self) -> bool:
        return self.X.ndim == 3


def check_inputs(rnn: RNN, X, h0=None) -> tuple[np.ndarray, np.ndarray]:
    """Validated (X, h0) as float64, with h0 broadcast to X's batch shape.

    X (T, d) or (T, B, d); h0 None (zeros), (h,) or, with a batch, (B, h).
    """
    if not isinstance(rnn, RNN):
        raise ValueError(f"rnn: expected an RNN, got {describe(rnn)}")
    X = as_float_array("X", X, (2, 3))
    if X.shape[-1] != rnn.d:
        raise ValueError(f"X: expected last axis d = {rnn.d} (W_hx is {rnn.W_hx.shape}), got shape {X.shape}")
    state_shape = X.shape[1:-1] + (rnn.h,)
    if h0 is None:
        return X, np.zeros(state_shape)
    h0 = as_float_array("h0", h0, (1, 2))
    if h0.shape == (rnn.h,):
        return X, np.broadcast_to(h0, state_shape).copy()
    if h0.shape != state_shape:
        raise ValueError(f"h0: expected shape {(rnn.h,)} or {state_shape}, got {h0.shape}")
    return X, h0.copy()


def first_nonfinite_step(V: np.ndarray) -> int | None:
    """Index along axis 0 of the first slice of ``V`` holding inf or NaN, else None."""
    if np.isfinite(V).all():  # the common case, without a per-row reduction
        return None
    bad = ~np.isfinite(V.reshape(V.shape[0], -1)).all(axis=1)
    return int(np.argmax(bad)) if bad.any() else None


def forward(rnn: RNN, X, h0=None) -> Trace:
    """Unroll the RNN over X.

    a_t = W_hx x_t + W_hh h_{t-1},  h_t = φ(a_t),  o_t = W_qh h_t,  t = 1..T.
    X (T, d) or (T, B, d); h0 (h,) or (B, h), zeros by default.
    Returns a ``Trace``; values that overflow float64 are kept (inf/NaN) and
    ``Trace.overflow_step`` names the first step where that happened.
    """
    X, h0 = check_inputs(rnn, X, h0)
    T, h = X.shape[0], rnn.h
    # One matrix-vector product per step: a_t = [W_hh | W_hx] [h_{t-1}; x_t], with the
    # state written straight into the left half of the next row of Z = [h_t | x_{t+1}].
    Z = np.empty((T + 1,) + h0.shape[:-1] + (h + rnn.d,))
    Z[0, ..., :h] = h0
    Z[:T, ..., h:] = X
    Z[T, ..., h:] = 0.0
    M = rnn.step_matrix  # (h, h + d)
    Mt = M.T
    A = np.empty(X.shape[:-1] + (h,))
    act = rnn.activation
    with np.errstate(over="ignore", invalid="ignore"):
        if X.ndim == 2:
            # Iterating the arrays yields row views; ufuncs get positional outputs and the
            # product is a bound method: at small h the per-step Python overhead is the cost.
            dot, states = M.dot, Z[1:, :h]
            if act == "identity":
                for r, s in zip(Z, states):
                    dot(r, s)
                A[...] = states
            elif act == "tanh":
                tanh = np.tanh
                for r, a, s in zip(Z, A, states):
                    tanh(dot(r, a), s)
            else:
                for r, a, s in zip(Z, A, states):
                    phi(act, dot(r, a), out=s)
        else:
            for t in range(T):
                phi(act, np.dot(Z[t], Mt, out=A[t]), out=Z[t + 1, ..., :h])
        H = np.ascontiguousarray(Z[..., :h])
        O = H[1:] @ rnn.W_qh.T
    bad = first_nonfinite_step(H[1:])
    return Trace(X=X, H=H, A=A, O=O, overflow_step=None if bad is None else bad + 1)


def init_rnn(d: int, h: int, q: int, activation: str = "tanh", spectral_radius: float = 0.9,
             seed: int = 0) -> RNN:
    """A random RNN with ρ(W_hh) = spectral_radius.

    W_hx ~ N(0, 1/d), W_qh ~ N(0, 1/h) entry-wise; W_hh ~ N(0, 1/h) rescaled so
    that its largest |eigenvalue| equals ``spectral_radius``.
    """
    from .spectral import scale_to_spectral_radius

    W_hx, W_hh, W_qh = gaussian_weights(d, h, q, seed)
    return RNN(W_hx, scale_to_spectral_radius(W_hh, spectral_radius), W_qh, activation=activation)


def gaussian_weights(d: int, h: int, q: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``init_rnn``'s draws before W_hh is rescaled: W_hx ~ N(0, 1/d) (h, d), W_hh ~ N(0, 1/h) (h, h),
    W_qh ~ N(0, 1/h) (q, h), in that order from ``seed``."""
    d = as_int("d", d, minimum=1)
    h = as_int("h", h, minimum=1)
    q = as_int("q", q, minimum=1)
    rng = np.random.default_rng(as_int("seed", seed, minimum=0))
    W_hx = rng.standard_normal((h, d)) / np.sqrt(d)
    W_hh = rng.standard_normal((h, h)) / np.sqrt(h)
    W_qh = rng.standard_normal((q, h)) / np.sqrt(h)
    return W_hx, W_hh, W_qh
