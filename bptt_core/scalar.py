"""Analysis of Gradients in RNNs: the section's scalar model a_t = b_t + c_t a_{t-1}, a_0 = 0.

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
    return _terms(b[:t], c[:t])


def _terms(b: np.ndarray, c: np.ndarray) -> ScalarTerms:
    """``scalar_terms`` of b (t,) for c (t,) or for every row of c (F, t), along the last axis."""
    absc = np.abs(c)
    zero_c = absc == 0.0
    logc = np.log10(np.where(zero_c, 1.0, absc))

    def after(x):  # suffix sums over j = i+1..t: S[i-1] = Σ_{j>i} x_j
        return np.concatenate([np.flip(np.cumsum(np.flip(x, -1), -1), -1)[..., 1:],
                               np.zeros(x.shape[:-1] + (1,), dtype=x.dtype)], axis=-1)

    logprod, zeros, negs = after(logc), after(zero_c.astype(int)), after((c < 0).astype(int))
    with np.errstate(divide="ignore"):
        log_abs = np.log10(np.abs(b)) + logprod
    log_abs[zeros > 0] = -np.inf
    sign = np.sign(b) * np.where(negs % 2 == 1, -1.0, 1.0)
    sign[zeros > 0] = 0.0
    return ScalarTerms(log10_abs=log_abs, sign=sign)


def scalar_terms_over_c(T: int, cs, c_noise: float = 0.0, seed: int = 0) -> ScalarTerms:
    """The terms of a_T (``scalar_terms`` of ``scalar_sequences(T, c, c_noise, seed)``) for every mean c of
    ``cs`` (F,): arrays (F, T), one suffix sum with c on an array axis. Every c draws the same b and the
    same uniforms, c_t = c + c_noise·u_t, so row f equals the single run at cs[f]
    (tests/test_scrub_grids.py::test_scalar_terms_over_c_are_the_single_runs)."""
    c = as_float_array("cs", cs, (1,))
    b, _ = scalar_sequences(T, 0.0, c_noise, seed)
    _, u = scalar_sequences(T, 0.0, 1.0, seed) if c_noise > 0 else (None, np.zeros(T))
    return _terms(b, c[:, None] + c_noise * u[None, :])


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
        D = a - b
        m = np.max(np.abs(D), axis=1)  # scale first: squaring entries past 1e154 would overflow the norm
        scale = np.where((m > 0) & np.isfinite(m), m, 1.0)
        return scale * np.linalg.norm(D / scale[:, None], axis=1)


def scalar_sequences(T: int, c: float, c_noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(b, c), each (T,), for the scalar model: b_t ~ N(0, 1) and c_t ~ U(c − c_noise, c + c_noise).

    c_noise = 0 gives the constant c_t = c. Seeded: the same arguments give the same draw.
    """
    T = as_int("T", T, minimum=1)
    c = float(as_float_array("c", [c], (1,))[0])
    c_noise = float(as_float_array("c_noise", [c_noise], (1,))[0])
    if c_noise < 0:
        raise ValueError(f"c_noise: expected a number >= 0, got {c_noise:g}")
    rng = np.random.default_rng(as_int("seed", seed, minimum=0))
    b = rng.standard_normal(T)
    cs = c + c_noise * rng.uniform(-1.0, 1.0, T) if c_noise > 0 else np.full(T, c)
    return b, cs


def log10_growth(c: float, c_noise: float = 0.0) -> float:
    """E[log10 |c_t|] for c_t ~ U(c − n, c + n), n = c_noise: the typical factor per step, in log10.

    Each step back multiplies a term by |c_t|, so the terms shrink (< 0) or grow (> 0) by
    about this many orders of magnitude per step. With F(x) = x ln|x| − x (F(0) = 0),
    E[ln |c_t|] = (F(c + n) − F(c − n)) / (2n); n = 0 gives log10 |c| (−inf for c = 0).
    """
    c = float(as_float_array("c", [c], (1,))[0])
    n = float(as_float_array("c_noise", [c_noise], (1,))[0])
    if n < 0:
        raise ValueError(f"c_noise: expected a number >= 0, got {n:g}")
    if n == 0.0:
        return float(np.log10(abs(c))) if c != 0.0 else -np.inf

    def F(x: float) -> float:
        return x * np.log(abs(x)) - x if x != 0.0 else 0.0

    return float((F(c + n) - F(c - n)) / (2.0 * n) / np.log(10.0))


@dataclass(frozen=True)
class ScalarCheck:
    """a_t for t = 1..T by the recursion and by the sum of its terms, in log space.

    log10_recursion, sign_recursion (T,): a_t = b_t + c_t a_{t-1}, carried as sign·10^e.
    log10_sum, sign_sum (T,): Σ_i (Π_{j=i+1..t} c_j) b_i from ``scalar_terms``.
    log10_total (T,): log10 Σ_i |term_i|, the scale of the sum.
    gap (T,): |recursion − sum| / Σ_i |term_i| (0 when every term is zero).
    """

    log10_recursion: np.ndarray
    sign_recursion: np.ndarray
    log10_sum: np.ndarray
    sign_sum: np.ndarray
    log10_total: np.ndarray
    gap: np.ndarray


def _log_add(s1: float, l1: float, s2: float, l2: float) -> tuple[float, float]:
    """(sign, log10|x|) of s1·10^l1 + s2·10^l2; zeros are (0, −inf)."""
    m = max(l1, l2)
    if m == -np.inf:
        return 0.0, -np.inf
    v = s1 * 10.0 ** (l1 - m) + s2 * 10.0 ** (l2 - m)
    return (float(np.sign(v)), m + float(np.log10(abs(v)))) if v != 0.0 else (0.0, -np.inf)


def compare_recursion_and_terms(b, c) -> ScalarCheck:
    """``ScalarCheck`` for every t: the recursion and the unrolled sum, never overflowing.

    b, c (T,). The recursion is a_t = b_t + c_t a_{t-1} on (sign, log10|·|) pairs; the sum
    adds the t terms of ``scalar_terms(b, c, t)`` after factoring out the largest.
    """
    b, c = _check_bc(b, c)
    return _checks(b, c[None, :])[0]


def scalar_checks_over_c(T: int, cs, c_noise: float = 0.0, seed: int = 0) -> tuple[ScalarCheck, ...]:
    """``compare_recursion_and_terms(*scalar_sequences(T, c, c_noise, seed))`` for every mean c of ``cs`` (F,),
    with c on an array axis: every c draws the same b and the same uniforms (``scalar_terms_over_c``), and
    row f is computed exactly as the single check at cs[f] (one row of the same arithmetic)."""
    c = as_float_array("cs", cs, (1,))
    b, _ = scalar_sequences(T, 0.0, c_noise, seed)
    _, u = scalar_sequences(T, 0.0, 1.0, seed) if c_noise > 0 else (None, np.zeros(T))
    return _checks(b, c[:, None] + c_noise * u[None, :])


def _checks(b: np.ndarray, C: np.ndarray) -> tuple[ScalarCheck, ...]:
    """``compare_recursion_and_terms`` of b (T,) for every row of C (F, T): the time steps in order, the
    rows on an array axis (the recursion is (sign, log10) pairs; the sum at t takes ``_terms`` of the
    first t steps of every row at once, O(F·T²) in all)."""
    F, T = C.shape
    out = {k: np.empty((F, T)) for k in ("lr", "sr", "ls", "ss", "lt", "gap")}
    with np.errstate(divide="ignore"):
        logb, logc = np.log10(np.abs(b)), np.log10(np.abs(C))
    sb, sc = np.sign(b), np.sign(C)
    s_a, l_a = np.zeros(F), np.full(F, -np.inf)
    with np.errstate(under="ignore", invalid="ignore", divide="ignore"):
        for t in range(T):
            # (s_a, l_a) ← c_t·a_{t-1} + b_t, each as sign·10^log: the larger factored out.
            l1, s1 = l_a + logc[:, t], sc[:, t] * s_a
            m = np.maximum(l1, logb[t])
            v = s1 * 10.0 ** (l1 - m) + sb[t] * 10.0 ** (logb[t] - m)
            v[m == -np.inf] = 0.0
            s_a = np.sign(v)
            l_a = np.where(v != 0.0, m + np.log10(np.abs(v)), -np.inf)
            out["sr"][:, t], out["lr"][:, t] = s_a, l_a
            terms = _terms(b[:t + 1], C[:, :t + 1])
            live = terms.log10_abs > -np.inf
            m = np.where(live, terms.log10_abs, -np.inf).max(axis=1)
            any_live = live.any(axis=1)
            m_safe = np.where(any_live, m, 0.0)
            scaled = np.where(live, terms.sign * 10.0 ** (terms.log10_abs - m_safe[:, None]), 0.0)
            total = np.abs(scaled).sum(axis=1)
            ssum = scaled.sum(axis=1)
            out["ss"][:, t] = np.where(any_live, np.sign(ssum), 0.0)
            out["ls"][:, t] = np.where(any_live & (ssum != 0.0), m_safe + np.log10(np.abs(ssum)), -np.inf)
            lt = np.where(any_live, m_safe + np.log10(total), -np.inf)
            out["lt"][:, t] = lt
            rec = np.where(s_a != 0.0, s_a * 10.0 ** (l_a - lt), 0.0)
            out["gap"][:, t] = np.where(any_live, np.abs(rec - ssum / np.where(any_live, total, 1.0)), 0.0)
    return tuple(ScalarCheck(log10_recursion=out["lr"][f], sign_recursion=out["sr"][f], log10_sum=out["ls"][f],
                             sign_sum=out["ss"][f], log10_total=out["lt"][f], gap=out["gap"][f]) for f in range(F))