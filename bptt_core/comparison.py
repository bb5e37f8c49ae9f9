"""Comparing Strategies: full, truncated and randomized gradients side by side, against the exact one.

Summaries only (no T×h arrays), in forms that survive float64 overflow:
log10 norms are computed from rows scaled by their largest entry, cosines and
relative errors from vectors scaled the same way, so values near 1e300 still
give finite answers; values float64 could not hold come back as NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bptt import Full, Gradients, Truncated, bptt, check_strategy
from .checks import as_choice
from .logspace import log10_gradient_norms


def log10_row_norms(V: np.ndarray) -> np.ndarray:
    """log10 ‖V[i]‖₂ for each row of V (n, …), without overflow or underflow.

    ‖v‖ = m ‖v/m‖ with m = max|v_j|. Rows holding inf or NaN give NaN; a row
    of zeros gives −inf.
    """
    V = np.asarray(V, dtype=float).reshape(np.shape(V)[0], -1)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        m = np.max(np.abs(V), axis=1)
        ok = np.isfinite(V).all(axis=1)
        safe = np.where(ok & (m > 0), m, 1.0)
        s = np.sum((V / safe[:, None]) ** 2, axis=1)
        out = np.log10(safe) + 0.5 * np.log10(np.where(m > 0, s, 1.0))
    out = np.where(m > 0, out, -np.inf)
    return np.where(ok, out, np.nan)


def _scaled(v: np.ndarray) -> tuple[np.ndarray | None, float, float]:
    """(v/m/n, m, n) with m = max|v_j| and n = ‖v/m‖, so ‖v‖ = m·n without overflow;
    (None, nan, nan) when v is not finite, (None, 0, 0) when it is zero."""
    v = np.asarray(v, dtype=float).ravel()
    if not np.isfinite(v).all():
        return None, float("nan"), float("nan")
    m = float(np.max(np.abs(v))) if v.size else 0.0
    if m == 0.0:
        return None, 0.0, 0.0
    w = v / m
    n = float(np.linalg.norm(w))
    return w / n, m, n


def log10_norm(v) -> float:
    """log10 ‖v‖₂ of a vector without overflow (NaN if not finite, −inf if zero)."""
    _, m, n = _scaled(v)
    if not np.isfinite(m):
        return float("nan")
    return float(np.log10(m) + np.log10(n)) if m > 0 else float("-inf")


def cosine_and_relative_error(g, exact) -> tuple[float, float]:
    """(cos∠(g, exact), ‖g − exact‖ / ‖exact‖), NaN when either is not finite or exact is 0.

    Both come from vectors scaled down first, so values near float64's limit do not overflow.
    """
    u, m, n = _scaled(exact)
    ug, _, _ = _scaled(g)
    g = np.asarray(g, dtype=float).ravel()
    if u is None or not np.isfinite(g).all():
        return float("nan"), float("nan")
    cos = float(np.clip(ug @ u, -1.0, 1.0)) if ug is not None else float("nan")
    with np.errstate(over="ignore", invalid="ignore"):
        rel = float(np.linalg.norm(g / m / n - u))
    return cos, (rel if np.isfinite(rel) else float("nan"))


@dataclass(frozen=True, eq=False)
class StrategyComparison:
    """Gradients of several strategies on one problem, against the exact (Full) one.

    keys (k,): the names given.  log10_dL_dh (k, T): log10 ‖∂L/∂h_t‖ (row t−1 is
    step t; NaN where float64 overflowed, −inf where exactly 0).
    log10_norm (k,): log10 ‖∇_θ L‖ of the parameter gradient (``Gradients.flat()``).
    cosine (k,): cos∠(∇_θ L, exact);  relative_error (k,): ‖∇_θ L − exact‖/‖exact‖
    (both NaN when undefined).  forward_overflow_step, backward_overflow_step (k,):
    the steps of ``Gradients`` (−1 for none).  log_space (k,): True where float64
    overflowed and the norms were recomputed in log space (``log10_gradient_norms``:
    every step finite); sliding truncation has no log-space version, so its
    overflowed steps stay NaN.  loss: L (may be inf).
    """

    keys: tuple[str, ...]
    log10_dL_dh: np.ndarray
    log10_norm: np.ndarray
    cosine: np.ndarray
    relative_error: np.ndarray
    forward_overflow_step: np.ndarray
    backward_overflow_step: np.ndarray
    log_space: np.ndarray
    loss: float

    @property
    def finite(self) -> np.ndarray:
        """(k,) bool: the strategy's gradient stayed inside float64's range."""
        return (self.forward_overflow_step < 0) & (self.backward_overflow_step < 0)

    def overflow_steps(self, key: str) -> tuple[int | None, int | None]:
        """(forward, backward) overflow steps of one strategy, None where there was none."""
        i = self.keys.index(key)
        f, b = int(self.forward_overflow_step[i]), int(self.backward_overflow_step[i])
        return (f if f >= 0 else None), (b if b >= 0 else None)


def compare_strategies(rnn, X, Y, strategies, loss: str = "mse", h0=None) -> StrategyComparison:
    """Run ``bptt`` for each (key, strategy) in ``strategies`` (a dict or pairs) and for Full().

        cosᵢ = ⟨gᵢ, g⟩ / (‖gᵢ‖ ‖g‖),   errᵢ = ‖gᵢ − g‖ / ‖g‖,   g = exact gradient (Full)
    """
    as_choice("loss", loss, ("mse", "xent"))
    pairs = list(strategies.items()) if isinstance(strategies, dict) else list(strategies)
    if not pairs:
        raise ValueError("strategies: expected at least one (name, strategy) pair, got none")
    for _, s in pairs:
        check_strategy(s)
    exact: Gradients | None = None
    results = []
    for key, s in pairs:
        g = bptt(rnn, X, Y, s, loss=loss, h0=h0)
        if isinstance(s, Full) and exact is None:
            exact = g
        results.append(g)
    if exact is None:
        exact = bptt(rnn, X, Y, Full(), loss=loss, h0=h0)
    ex = exact.flat()
    T = exact.dL_dh.shape[0]
    log_dh = np.empty((len(pairs), T))
    log_norm, cos, rel, fwd, bwd = (np.empty(len(pairs)) for _ in range(5))
    log_space = np.zeros(len(pairs), dtype=bool)
    for i, ((_, s), g) in enumerate(zip(pairs, results)):
        log_dh[i] = log10_row_norms(g.dL_dh)
        flat = g.flat()
        log_norm[i] = log10_norm(flat)
        cos[i], rel[i] = cosine_and_relative_error(flat, ex)
        fwd[i] = -1 if g.forward_overflow_step is None else g.forward_overflow_step
        bwd[i] = -1 if g.backward_overflow_step is None else g.backward_overflow_step
        sliding = isinstance(s, Truncated) and s.mode == "sliding"
        if not g.finite and not sliding and np.ndim(X) == 2:
            ln = log10_gradient_norms(rnn, X, Y, s, loss=loss, h0=h0)
            log_dh[i] = ln.log10_dL_dh
            top = float(np.max(ln.log10_grads))
            log_norm[i] = top + 0.5 * float(np.log10(np.sum(10.0 ** (2 * (ln.log10_grads - top)))))
            log_space[i] = True
    return StrategyComparison(keys=tuple(str(k) for k, _ in pairs), log10_dL_dh=log_dh,
                              log10_norm=log_norm, cosine=cos, relative_error=rel,
                              forward_overflow_step=fwd.astype(int), backward_overflow_step=bwd.astype(int),
                              log_space=log_space, loss=float(exact.loss))
