"""The section's scalar model: a_t = b_t + c_t a_{t-1}, a_0 = 0.

With a_t = ∂h_t/∂w_h, b_t = ∂f/∂w_h and c_t = ∂f/∂h_{t-1} this is the
recursion for the gradient; unrolled it is the sum

    a_t = b_t + Σ_{i=1}^{t-1} (Π_{j=i+1}^{t} c_j) b_i

whose terms vanish for |c| < 1 and explode for |c| > 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .checks import as_float_array, as_int
from .model import RNN, forward


def _check_bc(b, c) -> tuple[np.ndarray, np.ndarray]:
    b = as_float_array("b", b, (1,))
    c = as_float_array("c", c, (1,))
    if b.shape != c.shape:
        raise ValueError(f"c: expected the shape of b {b.shape}, got {c.shape}")
    return b, c


def scalar_recursion(b, c) -> np.ndarray:
    """a (T,) from a_t = b_t + c_t a_{t-1}, a_0 = 0 (may overflow to ±inf for |c| > 1)."""
    b, c = _check_bc(b, c)
    a = np.empty_like(b)
    prev = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(b.size):
            prev = b[t] + c[t] * prev
            a[t] = prev
    return a


@dataclass(frozen=True)
class ScalarTerms:
    """The terms (Π_{j=i+1..t} c_j) b_i, i = 1..t, of a_t in log space.

    log10_abs (t,): log10 of each term's magnitude (−inf for an exact zero).
    sign (t,): −1, 0 or +1. ``values()`` gives the terms themselves.
    """

    log10_abs: np.ndarray
    sign: np.ndarray

    def values(self) -> np.ndarray:
        with np.errstate(over="ignore"):
            return self.sign * 10.0 ** self.log10_abs


def scalar_terms(b, c, t: int | None = None) -> ScalarTerms:
    """The t terms of a_t = Σ_{i=1}^{t} (Π_{j=i+1}^{t} c_j) b_i (t = T by default).

    Computed as log10|b_i| + Σ_{j=i+1..t} log10|c_j| with a suffix sum, so no
    term overflows however large |c| or t are.
    """
    b, c = _check_bc(b, c)
    t = b.size if t is None else as_int("t", t, minimum=1, maximum=b.size)
    b, c = b[:t], c[:t]
    absc = np.abs(c)
    zero_c = absc == 0.0
    logc = np.log10(np.where(zero_c, 1.0, absc))
    # Suffix sums over j = i+1..t: S[i-1] = Σ_{j>i} log10|c_j|, and the same for zeros and signs.
    logprod = np.concatenate([np.cumsum(logc[::-1])[::-1][1:], [0.0]])
    zeros = np.concatenate([np.cumsum(zero_c[::-1])[::-1][1:], [0]])
    negs = np.concatenate([np.cumsum((c < 0)[::-1])[::-1][1:], [0]])
    with np.errstate(divide="ignore"):
        log_abs = np.log10(np.abs(b)) + logprod
    log_abs[zeros > 0] = -np.inf
    sign = np.sign(b) * np.where(negs % 2 == 1, -1.0, 1.0)
    sign[zeros > 0] = 0.0
    return ScalarTerms(log10_abs=log_abs, sign=sign)


def butterfly(rnn: RNN, X, eps: float = 1e-8, seed: int = 0, h0=None) -> np.ndarray:
    """‖h_t − h̃_t‖₂ for t = 0..T, shape (T+1,), where h̃ starts from h_0 + ε u.

    u is a random unit vector (seeded). The section's "butterfly effect": a
    tiny change of the initial condition, and how far the trajectories part.
    Non-finite entries mean the forward pass itself overflowed.
    """
    X = as_float_array("X", X, (2,))
    eps = float(as_float_array("eps", [eps], (1,))[0])
    u = np.random.default_rng(as_int("seed", seed, minimum=0)).standard_normal(rnn.h)
    u /= np.linalg.norm(u)
    base = np.zeros(rnn.h) if h0 is None else as_float_array("h0", h0, (1,))
    a = forward(rnn, X, base).H
    b = forward(rnn, X, base + eps * u).H
    with np.errstate(over="ignore", invalid="ignore"):
        return np.linalg.norm(a - b, axis=1)
