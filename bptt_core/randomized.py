"""The section's "Randomized Truncation": the estimator of Tallec & Ollivier (2017), drawn and exact.

The book replaces ∂h_t/∂w_h by z_t = ∂f/∂w_h + ξ_t ∂f/∂h_{t-1} z_{t-1} with P(ξ_t = 0) = 1 − π and
P(ξ_t = 1/π) = π, so E[ξ_t] = 1 and E[z_t] = ∂h_t/∂w_h: "long sequences are rare but appropriately
overweighted". In reverse mode the same ξ_t scales ∂h_t/∂h_{t-1}. This module

- draws the estimator: the forward pass does not depend on ξ, so it runs once; the backward pass
  runs for all S draws of ξ together, the draws on an array axis (``randomized_monte_carlo``,
  ``randomized_statistics``, ``sampled_variance_sweep``); and
- computes its exact moments (``exact_moments``, ``randomized_variance_sweep``): with E[ξ²] = 1/π the
  second moment grows along an unbroken run by ‖J‖²/π per step (ρ²/π for the identity φ), so where
  that exceeds 1 the variance explodes with T and a sample of draws cannot show it: its mean is
  ruled by rare long runs, and the σ estimated from the draws falls far below the true one.

Column vectors as in the section (a_t = W_hx x_t + W_hh h_{t-1}); the code keeps ∂L/∂h_t as rows,
so v @ W_hh is W_hhᵀ v.
"""

from __future__ import annotations

import itertools
import math
import numbers
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from .activations import phi_prime
from .bptt import bptt, flat_sample_gradients, randomized_xi, sample_deltas
from .checks import as_choice, as_float, as_float_array, as_int, describe
from .losses import check_targets, loss_and_grad
from .model import RNN, check_inputs, forward


@dataclass(frozen=True, eq=False)
class MonteCarlo:
    """S randomized-truncation gradients and their statistics.

    samples (S, P): each draw's gradient, flattened as ``Gradients.flat()``.
    xi (S, T): the draws.  exact (P,): the full-BPTT gradient.
    mean (P,), variance (P,): per-coordinate sample mean and (population) variance.
    cosine (S,): cos∠(sample, exact).
    total_variance: E‖g − E g‖² summed over coordinates.
    """

    samples: np.ndarray
    xi: np.ndarray
    exact: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    cosine: np.ndarray
    total_variance: float

    def running_mean(self) -> np.ndarray:
        """(S, P): the mean of the first n samples, n = 1..S."""
        return np.cumsum(self.samples, axis=0) / np.arange(1, self.samples.shape[0] + 1)[:, None]


def _cosines(G: np.ndarray, g: np.ndarray) -> np.ndarray:
    """cos∠(G[i], g) for the rows of G (0 where a row or g is exactly zero)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        den = np.linalg.norm(G, axis=1) * np.linalg.norm(g)
        cos = (G @ g) / den
    return np.where(den > 0, cos, 0.0)


def sampled_gradients(rnn: RNN, X, Y, xi, loss: str = "mse", h0=None) -> np.ndarray:
    """Flattened gradients (S, P) for S multiplier patterns xi (S, T), in one batched backward pass.

    Row i equals ``bptt_reference(rnn, X, Y, Randomized(pi, xi=xi[i]), loss, h0).flat()``: the reference's
    backward loop for every pattern at once (``bptt.sample_deltas``, checked against it in
    tests/test_fast_paths.py; the rows against ``bptt`` in tests/test_randomized.py).
    """
    prep = _Prepared(rnn, X, Y, loss, h0)
    xi = as_float_array("xi", xi, (2,))
    if xi.shape[1] != prep.T:
        raise ValueError(f"xi: expected shape (S, {prep.T}) for T = {prep.T} steps, got {xi.shape}")
    out = np.empty((xi.shape[0], prep.P))
    # Chunks of draws whose δ fits in the last-level cache: the working arrays are not faulted in again.
    for start, G in prep.chunks(xi, CACHE_CHUNK_FLOATS):
        out[start:start + G.shape[0]] = G
    return out


def randomized_monte_carlo(rnn: RNN, X, Y, pi: float, samples: int = 1000, seed: int = 0,
                           loss: str = "mse", h0=None) -> MonteCarlo:
    """S = ``samples`` draws of the randomized estimator, all in one batched pass.

    Draw i uses ξ_i = randomized_xi(T, π, seed, S)[i]; E[ξ_t] = 1 makes the
    sample mean converge to the exact gradient as S grows.
    """
    pi = as_float("pi", pi, low=0.0, high=1.0, low_open=True)
    S = as_int("samples", samples, minimum=1)
    exact = bptt(rnn, X, Y, loss=loss, h0=h0).flat()
    T = np.shape(X)[0]  # X was validated by bptt
    xi = randomized_xi(T, pi, as_int("seed", seed, minimum=0), samples=S)
    G = sampled_gradients(rnn, X, Y, xi, loss=loss, h0=h0)
    mean = G.mean(axis=0)
    var = G.var(axis=0)
    return MonteCarlo(samples=G, xi=xi, exact=exact, mean=mean, variance=var,
                      cosine=_cosines(G, exact), total_variance=float(var.sum()))


MAX_ENUMERATION_T = 16


def xi_patterns(T: int, pi: float) -> tuple[np.ndarray, np.ndarray]:
    """All 2^T patterns ξ ∈ {0, 1/π}^T (2^T, T) and their probabilities π^k (1−π)^{T−k}."""
    T = as_int("T", T, minimum=1, maximum=MAX_ENUMERATION_T)
    pi = as_float("pi", pi, low=0.0, high=1.0, low_open=True)
    keep = np.array(list(itertools.product((0.0, 1.0), repeat=T)))
    k = keep.sum(axis=1)
    return keep / pi, pi ** k * (1.0 - pi) ** (T - k)


def randomized_expectation(rnn: RNN, X, Y, pi: float, loss: str = "mse", h0=None) -> np.ndarray:
    """E[g] (P,) of the randomized estimator, exactly: the probability-weighted
    sum over all 2^T patterns of ξ (T ≤ 16). Equals the full gradient."""
    X, _ = check_inputs(rnn, X, h0)
    xi, prob = xi_patterns(X.shape[0], pi)
    G = sampled_gradients(rnn, X, Y, xi, loss=loss, h0=h0)
    return prob @ G


# --- Statistics in bounded memory --------------------------------------------
#
# ``randomized_monte_carlo`` keeps every sample (S × P floats: 1 GB for S = 2000
# draws of a 256-unit network). The functions below stream the draws through
# the batched backward pass in chunks and keep only running statistics, so
# memory stays at about ``max_floats`` floats per working array whatever S is.

MAX_CHUNK_FLOATS = 8 * 2**20  # floats per working array (64 MB)
CACHE_CHUNK_FLOATS = 2**19     # 4 MB: a chunk's δ and gradients stay in the last-level cache
# Work of S draws ≈ S·h²·(T + 50) multiply-adds: T·h² for the backward sweep and
# the per-draw ∂L/∂W_hh product, about 50·h² for the running statistics. 3.5·10⁹ is
# about half a second on one core (T = 1000, h = 256: 50 draws; 116 draws took 1.4 s),
# so the Monte-Carlo tab's first render, the page's own work included, stays within a
# second (bench/first_render.py).
WORK_BUDGET = 3.5e9


def work(T: int, h: int, samples: int) -> float:
    """The cost model above: samples·h²·(T + 50)."""
    return float(samples) * h * h * (T + 50)


def affordable_samples(T: int, h: int, requested: int, budget: float = WORK_BUDGET,
                       minimum: int = 10) -> int:
    """The largest S ≤ ``requested`` with ``work(T, h, S) ≤ budget``, but at least
    ``minimum`` (or ``requested`` if smaller)."""
    T = as_int("T", T, minimum=1)
    h = as_int("h", h, minimum=1)
    requested = as_int("requested", requested, minimum=1)
    fit = int(budget // work(T, h, 1))
    return max(min(requested, minimum), min(requested, fit))


def chunk_size(T: int, h: int, P: int, samples: int, rest: int = 1,
               max_floats: int = MAX_CHUNK_FLOATS) -> int:
    """Draws per chunk so that the (T, c, rest, h) backward arrays and the (c, P)
    gradients each hold at most ``max_floats`` floats (at least one draw)."""
    per_draw = max(T * rest * h, P)
    return int(max(1, min(samples, max_floats // per_draw)))


class _Prepared:
    """The forward pass and the ξ-independent factors of the backward pass."""

    def __init__(self, rnn: RNN, X, Y, loss: str, h0):
        as_choice("loss", loss, ("mse", "xent"))
        self.rnn = rnn
        self.trace = tr = forward(rnn, X, h0)
        Y = check_targets(loss, Y, tr.O.shape)
        _, self.dL_do = loss_and_grad(loss, tr.O, Y)
        with np.errstate(over="ignore", invalid="ignore"):
            self.dq = self.dL_do @ rnn.W_qh
            self.dphi = phi_prime(rnn.activation, tr.A, tr.H[1:])
        self.T = tr.T
        self.exact = self.gradients(np.ones((1, tr.T)))[0]  # ξ ≡ 1: full BPTT
        self.rest = int(np.prod(tr.X.shape[1:-1], dtype=int))
        self.P = self.exact.size

    def gradients(self, xi: np.ndarray) -> np.ndarray:
        """(c, P) flattened gradients for multipliers xi (c, T): one batched backward pass."""
        delta = sample_deltas(self.rnn.W_hh, self.dq, self.dphi, xi)
        return flat_sample_gradients(delta, self.trace, self.dL_do)

    def chunks(self, xi: np.ndarray, max_floats: int):
        """(start, G) for consecutive chunks of the rows of xi (S, T)."""
        S = xi.shape[0]
        c = chunk_size(self.T, self.rnn.h, self.P, S, self.rest, max_floats)
        for start in range(0, S, c):
            yield start, self.gradients(xi[start:start + c])


def _exact_scale(exact: np.ndarray) -> float | None:
    """max |exact_j| when the exact gradient is finite and non-zero, else None."""
    if not np.isfinite(exact).all():
        return None
    m = float(np.max(np.abs(exact)))
    return m if m > 0 else None


class _Moments:
    """Running count, mean and Σ‖g − mean‖² over chunks (Chan et al.'s pairwise update).

    Each chunk is centred on its own first row before averaging, so identical
    samples (π = 1) give a variance of exactly 0.
    """

    def __init__(self, P: int):
        self.n = 0
        self.mean = np.zeros(P)
        self.m2 = 0.0

    def add(self, G: np.ndarray) -> None:
        c = G.shape[0]
        D = G - G[0]
        dmean = D.mean(axis=0)
        D -= dmean
        m2 = float(np.einsum("ij,ij->", D, D))
        cmean = G[0] + dmean
        if self.n == 0:
            self.n, self.mean, self.m2 = c, cmean, m2
            return
        delta = cmean - self.mean
        n = self.n + c
        self.m2 += m2 + float(delta @ delta) * self.n * c / n
        self.mean = self.mean + delta * (c / n)
        self.n = n

    @property
    def total_variance(self) -> float:
        """Σ_j Var(g_j), the population variance (divides by S, as ``np.var``)."""
        return self.m2 / self.n if self.n else float("nan")


@dataclass(frozen=True, eq=False)
class MonteCarloStats:
    """Running statistics of S randomized-truncation gradients g_1 … g_S.

    Same draws as ``randomized_monte_carlo`` with the same (π, samples, seed):
    ξ = randomized_xi(T, π, seed, S). With ḡ_n = (1/n) Σ_{i≤n} g_i and g the
    exact gradient (all arrays (S,), entry n−1 is n samples):

    relative_error: ‖ḡ_n − g‖ / ‖g‖;   running_cosine: cos∠(ḡ_n, g);
    sample_cosine: cos∠(g_n, g) of the n-th draw alone;
    expected_error: √(tr Σ / n) / ‖g‖, the root-mean-square of relative_error
        predicted from the sample covariance Σ (tr Σ = total_variance);
    coordinate: index j of the largest |g_j| (in ``Gradients.flat()`` order);
    coordinate_ratio: ḡ_n[j] / g_j, which tends to 1;
    coordinate_band: 2 σ_j / (√n |g_j|), σ_j the sample standard deviation of
        g_i[j]: the ratio stays within 1 ± band about 95 % of the time;
    log10_total_variance: log10 tr Σ (−inf when 0);  relative_variance: tr Σ / ‖g‖².
    All NaN (and ``exact_finite`` False) when the exact gradient overflowed or is 0;
    ``finite_samples`` counts draws whose gradient stayed finite (a non-finite draw
    makes every later running value NaN).

    The fields above are what the draws show (their σ and tr Σ are sample estimates). Beside
    them, the truth from ``exact_moments`` (NaN, and ``exact_available`` False, where it was not
    computed; log10 fields finite however far past float64):
    sample_sigma: σ_j estimated from the draws;  exact_sigma: the exact σ_j of one draw
        (float64, +inf past 10^308);  log10_exact_sigma: its log10.
    log10_exact_relative_sigma: log10 (σ_j / |g_j|), one draw's noise against the signal.
    log10_sigma_ratio: log10 (exact σ_j / sample σ_j) (+inf when the draws show no spread at all).
    log10_exact_total_variance, log10_exact_relative_variance: log10 tr Cov(g), log10 (tr Cov(g)/‖g‖²)
        (NaN unless ``exact_total_available``).
    inside_exact_band / inside_sample_band: the fraction of n = 1..S with |ḡ_n[j]/g_j − 1| within
        2σ_j/(√n |g_j|) for the exact / the sample σ_j (about 0.95 when the sample mean behaves).
    rho_eff: the Jacobians' mean gain per step (``ExactMoments.rho_eff``); π < rho_eff² is where
        the second moment grows along an unbroken run.
    """

    pi: float
    samples: int
    seed: int
    relative_error: np.ndarray
    running_cosine: np.ndarray
    sample_cosine: np.ndarray
    expected_error: np.ndarray
    coordinate: int
    coordinate_ratio: np.ndarray
    coordinate_band: np.ndarray
    log10_total_variance: float
    relative_variance: float
    exact_finite: bool
    finite_samples: int
    sample_sigma: float = float("nan")
    exact_available: bool = False
    exact_total_available: bool = False
    log10_exact_sigma: float = float("nan")
    log10_exact_relative_sigma: float = float("nan")
    log10_sigma_ratio: float = float("nan")
    log10_exact_total_variance: float = float("nan")
    log10_exact_relative_variance: float = float("nan")
    inside_exact_band: float = float("nan")
    inside_sample_band: float = float("nan")
    rho_eff: float = float("nan")

    @property
    def n(self) -> np.ndarray:
        """(S,): 1, 2, …, S."""
        return np.arange(1, self.samples + 1)

    @property
    def exact_sigma(self) -> float:
        """The exact σ_j of one draw (float64: +inf past 10^308, NaN if not computed)."""
        with np.errstate(over="ignore"):
            return float(10.0 ** self.log10_exact_sigma)

    @property
    def exact_coordinate_band(self) -> np.ndarray:
        """(S,) 2 σ_j / (√n |g_j|) from the exact σ_j (float64: +inf past 10^308; NaN if not computed)."""
        with np.errstate(over="ignore"):
            return 2.0 * 10.0 ** (self.log10_exact_relative_sigma - 0.5 * np.log10(self.n))

    @property
    def exact_expected_error(self) -> np.ndarray:
        """(S,) √(tr Cov(g) / n) / ‖g‖ from the exact total variance (the RMS of relative_error)."""
        with np.errstate(over="ignore"):
            return 10.0 ** (0.5 * (self.log10_exact_relative_variance - np.log10(self.n)))

    @property
    def log10_relative_variance(self) -> float:
        """log10 (tr Σ / ‖g‖²): −inf when the variance is 0, NaN when undefined."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.log10(self.relative_variance))


def _coordinate(rnn: RNN, g: np.ndarray) -> int:
    """Index (in ``Gradients.flat()`` order) of the largest |∂L/∂W_hh| entry: the
    recurrent weight is where ξ acts (∂L/∂W_qh does not depend on ξ at all)."""
    start = rnn.h * rnn.d
    return start + int(np.argmax(np.abs(g[start:start + rnn.h * rnn.h])))


def _stats_from(prep: _Prepared, xi: np.ndarray, pi: float, seed: int,
                max_floats: int, running: bool = True) -> MonteCarloStats:
    """Statistics of the gradients for the draws xi (S, T), one chunk at a time.

    Every gradient is divided by s = max|g_j| first (no overflow in squares) and
    taken relative to the exact g, E_i = g_i − g. Since E[g_i] = g, that shift
    is the true mean, so tr Σ = mean‖E_i‖² − ‖mean E_i‖² loses no precision;
    ḡ_n − g = (1/n) Σ_{i≤n} E_i is a running sum of the E_i.
    """
    S = xi.shape[0]
    nan = np.full(S, np.nan)
    scale = _exact_scale(prep.exact)
    if scale is None:
        return MonteCarloStats(pi, S, seed, nan, nan.copy(), nan.copy(), nan.copy(), 0, nan.copy(),
                               nan.copy(), float("nan"), float("nan"), False, 0)
    g = prep.exact / scale
    g_norm = float(np.linalg.norm(g))
    u = g / g_norm
    j = _coordinate(prep.rnn, g)
    rel, run_cos, cos, coord = (np.full(S, np.nan) for _ in range(4))
    carry = np.zeros(prep.P)   # Σ_{i<start} E_i
    sum_sq = 0.0               # Σ_{i<start} ‖E_i‖²
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for start, G in prep.chunks(xi, max_floats):
            G /= scale
            stop = start + G.shape[0]
            n = np.arange(start + 1, stop + 1)
            sq = np.einsum("ij,ij->i", G, G)
            cos[start:stop] = np.where(sq > 0, (G @ u) / np.sqrt(sq), 0.0)
            coord[start:stop] = G[:, j]
            G -= g                                            # E_i
            sum_sq += float(np.sum(np.einsum("ij,ij->i", G, G)))
            if running:
                G[0] += carry
                np.cumsum(G, axis=0, out=G)                   # Σ_{i≤n} E_i = n (ḡ_n − g), in place
                carry = G[-1].copy()
                b = np.einsum("ij,ij->i", G, G)               # ‖n (ḡ_n − g)‖²
                a = G @ u                                     # n (ḡ_n − g)·u
                rel[start:stop] = np.sqrt(b) / n / g_norm
                along = g_norm + a / n                        # ḡ_n·u
                across = np.sqrt(np.maximum(b - a * a, 0.0)) / n
                run_cos[start:stop] = along / np.hypot(along, across)
            else:
                carry += G.sum(axis=0)
        ok = np.isfinite(cos)
        finite = int(ok.sum())
        cos = np.where(ok, np.clip(cos, -1.0, 1.0), np.nan)
        n = np.arange(1, S + 1)
        if finite < S:
            tv = float("nan")
        elif (xi == xi[0]).all():
            tv = 0.0  # identical ξ (π = 1): identical gradients, no variance at all
        else:
            mean_e = carry / S
            tv = max(sum_sq / S - float(mean_e @ mean_e), 0.0)
        sigma_j = float(np.std(coord)) if finite == S and tv > 0 else (0.0 if tv == 0 else float("nan"))
        ratio = np.cumsum(coord) / n / g[j]
        band = 2.0 * sigma_j / np.sqrt(n) / abs(g[j])
        expected = np.sqrt(tv / n) / g_norm
        if tv > 0:
            log_tv = float(2 * np.log10(scale) + np.log10(tv))
        else:
            log_tv = float("-inf") if tv == 0 else float("nan")
    clean = lambda v: np.where(np.isfinite(v), v, np.nan)  # noqa: E731
    return MonteCarloStats(pi=pi, samples=S, seed=seed, relative_error=clean(rel),
                           running_cosine=clean(np.clip(run_cos, -1.0, 1.0)), sample_cosine=cos,
                           expected_error=clean(expected), coordinate=j, coordinate_ratio=clean(ratio),
                           coordinate_band=clean(band), log10_total_variance=log_tv,
                           relative_variance=float(tv / g_norm**2), exact_finite=True,
                           finite_samples=finite, sample_sigma=sigma_j * scale)


def randomized_statistics(rnn: RNN, X, Y, pi: float, samples: int = 1000, seed: int = 0,
                          loss: str = "mse", h0=None, max_floats: int = MAX_CHUNK_FLOATS,
                          exact: bool | None = None) -> MonteCarloStats:
    """Running statistics of S = ``samples`` randomized-truncation gradients, beside the exact truth.

    The draws are those of ``randomized_monte_carlo`` (same π, S, seed), fed
    through the batched backward pass ``chunk_size(...)`` at a time, so memory
    is bounded by ``max_floats`` per working array instead of S × P.

    ``exact``: also compute the exact σ of the followed coordinate (and, when affordable, the
    exact total variance) by ``exact_moments``; None (the default) does so when
    ``affordable_exact`` says it fits ``EXACT_WORK_BUDGET``, True always, False never.
    """
    pi = as_float("pi", pi, low=0.0, high=1.0, low_open=True)
    S = as_int("samples", samples, minimum=1)
    seed = as_int("seed", seed, minimum=0)
    max_floats = as_int("max_floats", max_floats, minimum=1)
    if exact is not None and not isinstance(exact, bool):
        raise ValueError(f"exact: expected None, True or False, got {describe(exact)}")
    prep = _Prepared(rnn, X, Y, loss, h0)
    xi = randomized_xi(prep.T, pi, seed, samples=S)
    stats = _stats_from(prep, xi, pi, seed, max_floats)
    rest = prep.rest
    plan = affordable_exact(prep.T, rnn.h, 1, rnn.d, rest)
    if exact is False or (exact is None and not plan.coordinate):
        return stats
    em = exact_moments(rnn, X, Y, pi, loss=loss, h0=h0, coordinate=stats.coordinate,
                       total=bool(exact) or plan.total)
    return with_exact(stats, em)


def with_exact(stats: MonteCarloStats, em: ExactMoments) -> MonteCarloStats:
    """``stats`` with the exact fields filled from ``em`` (one π, the same coordinate)."""
    if em.pi.size != 1 or em.coordinate != stats.coordinate:
        raise ValueError(f"em: expected exact moments at one π for coordinate {stats.coordinate}, got "
                         f"{em.pi.size} π values for coordinate {em.coordinate}")
    log_sigma = float(em.log10_sigma[0])
    log_rel = float(em.log10_relative_sigma[0])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = log_sigma - float(np.log10(stats.sample_sigma))
        n = stats.n
        dev = np.log10(np.abs(stats.coordinate_ratio - 1.0))          # log10 |ḡ_n[j]/g_j − 1|
        edge = np.log10(2.0) + log_rel - 0.5 * np.log10(n)            # log10 of the exact band
        ok = np.isfinite(stats.coordinate_ratio)
        inside = float(np.mean((dev <= edge)[ok])) if ok.any() and np.isfinite(log_rel) else float("nan")
        band = stats.coordinate_band
        ok_s = ok & np.isfinite(band)
        within = np.abs(stats.coordinate_ratio - 1.0) <= band
        inside_s = float(np.mean(within[ok_s])) if ok_s.any() else float("nan")
    total = em.total_computed
    return replace(stats, exact_available=True, exact_total_available=total,
                   log10_exact_sigma=log_sigma, log10_exact_relative_sigma=log_rel,
                   log10_sigma_ratio=float(ratio) if not np.isnan(ratio) else float("nan"),
                   log10_exact_total_variance=float(em.log10_total_variance[0]) if total else float("nan"),
                   log10_exact_relative_variance=float(em.log10_relative_variance[0]) if total else float("nan"),
                   inside_exact_band=inside, inside_sample_band=inside_s, rho_eff=em.rho_eff)


@dataclass(frozen=True, eq=False)
class VarianceSweep:
    """Variance of the randomized estimator against the keep probability π.

    pi (K,); log10_total_variance (K,): log10 tr Cov(g)(π) (−inf at π = 1, where every draw is the
    exact gradient; NaN where not computed); relative_variance (K,): tr Cov(g)(π) / ‖g‖² in float64
    (+inf past 10^308); samples: 0 for the exact sweep (``randomized_variance_sweep``), else the
    draws per π of ``sampled_variance_sweep`` (whose estimates are noisy and too low at small π).
    Exact sweeps also carry: log10_coordinate_relative_variance (K,): log10 (Var(g_j)/g_j²) of the
    followed coordinate (the largest |∂L/∂W_hh| entry), computed whatever the cost of the total;
    total_computed; rho_eff (see ``ExactMoments``); coordinate; computed (K,): which π fitted the
    budget (the others are NaN).
    """

    pi: np.ndarray
    log10_total_variance: np.ndarray
    relative_variance: np.ndarray
    samples: int
    log10_coordinate_relative_variance: np.ndarray | None = None
    total_computed: bool = True
    rho_eff: float = float("nan")
    coordinate: int | None = None
    computed: np.ndarray | None = None

    @property
    def exact(self) -> bool:
        """Whether the sweep is exact (computed, not sampled)."""
        return self.samples == 0

    @property
    def log10_relative_variance(self) -> np.ndarray:
        """log10 (tr Σ(π) / ‖g‖²): −inf where the variance is 0, NaN where undefined."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log10(self.relative_variance)


def randomized_variance_sweep(rnn: RNN, X, Y, pis, samples: int | None = None, seed: int | None = None,
                              loss: str = "mse", h0=None, max_floats: int | None = None,
                              total: bool | None = None, budget: float | None = None) -> VarianceSweep:
    """The exact variance of the randomized estimator for every π in ``pis`` (K,), in one call.

    ``exact_moments`` with the π values on an array axis: tr Cov(g)(π) / ‖g‖² and, for the
    followed coordinate, Var(g_j)(π) / g_j². Nothing is drawn, so the curve is exact and falls
    monotonically as π grows (every term of the variance is (1/π − 1) or (1/π)^k times a π-free
    non-negative number). ``total``: None computes tr Cov(g) when ``affordable_exact`` says it
    fits ``budget`` (default ``EXACT_WORK_BUDGET``; else only the coordinate's variance, ``total_computed`` False). When not even
    the coordinate fits for every π, only as many π as fit are computed, spread over the grid, and
    the others are NaN (``computed`` says which; none at T = 1000, h = 256).
    ``samples``, ``seed`` and ``max_floats`` are accepted from older callers and not used:
    ``sampled_variance_sweep`` is the Monte-Carlo estimate.
    """
    pis = _check_pis(pis)
    if total is not None and not isinstance(total, bool):
        raise ValueError(f"total: expected None, True or False, got {describe(total)}")
    budget = EXACT_WORK_BUDGET if budget is None else as_float("budget", budget, low=0.0)
    X_arr = as_float_array("X", X, (2, 3))
    batch = X_arr.shape[1] if X_arr.ndim == 3 else 1
    K = pis.size
    plan = affordable_exact(X_arr.shape[0], rnn.h, K, rnn.d, batch, budget)
    if total is None:
        total = plan.total
    if plan.coordinate or total:
        chosen = np.arange(K)
    else:  # as many π as fit, spread over the grid
        chosen = np.unique(np.linspace(0, K - 1, plan.pis).round().astype(int))
    computed = np.zeros(K, dtype=bool)
    computed[chosen] = True
    log_tv, coord, rel = (np.full(K, np.nan) for _ in range(3))
    rho_eff, j = float("nan"), None
    if chosen.size:
        em = exact_moments(rnn, X, Y, pis[chosen], loss=loss, h0=h0, total=total)
        with np.errstate(invalid="ignore", over="ignore"):
            coord[chosen] = 2.0 * em.log10_sigma - 2.0 * em.log10_abs_coordinate
            rel[chosen] = 10.0 ** em.log10_relative_variance
        log_tv[chosen] = em.log10_total_variance
        rho_eff, j = em.rho_eff, em.coordinate
    return VarianceSweep(pi=pis.copy(), log10_total_variance=log_tv, relative_variance=rel, samples=0,
                         log10_coordinate_relative_variance=coord, total_computed=bool(total and chosen.size),
                         rho_eff=rho_eff, coordinate=j, computed=computed)


def sampled_variance_sweep(rnn: RNN, X, Y, pis, samples: int = 200, seed: int = 0,
                           loss: str = "mse", h0=None,
                           max_floats: int = MAX_CHUNK_FLOATS) -> VarianceSweep:
    """The sample estimate of tr Σ(π) for each π in ``pis``: one forward pass, then one batched
    (chunked) backward pass of ``samples`` draws per π. Common random numbers: every π thresholds
    the same uniforms, ξ_t = 1/π where U_t < π. Where ρ²/π > 1 the estimate is ruled by rare
    draws and falls far below the exact variance (``randomized_variance_sweep``)."""
    pis = _check_pis(pis)
    S = as_int("samples", samples, minimum=2)
    seed = as_int("seed", seed, minimum=0)
    max_floats = as_int("max_floats", max_floats, minimum=1)
    prep = _Prepared(rnn, X, Y, loss, h0)
    logs, rels = np.empty(pis.size), np.empty(pis.size)
    for k, p in enumerate(pis):
        st = _stats_from(prep, randomized_xi(prep.T, float(p), seed, samples=S), float(p), seed,
                         max_floats, running=False)
        logs[k], rels[k] = st.log10_total_variance, st.relative_variance
    return VarianceSweep(pi=pis.copy(), log10_total_variance=logs, relative_variance=rels, samples=S)

# --- Exact moments ------------------------------------------------------------------------------
#
# Column vectors, as in the section: u_t = ∂L/∂h_t under ξ (the n = B·h entries of every
# sequence of a batch stacked; one ξ_t is shared by the batch), c_t = W_qhᵀ ∂L/∂o_t the local
# term, J_t = ∂h_t/∂h_{t-1} = diag φ'(a_t) W_hh (block-diagonal over a batch), and
#
#     u_T = c_T,    u_{t-1} = c_{t-1} + ξ_t J_tᵀ u_t    (t = T … 2; ξ_1 never acts).
#
# ξ_t is independent of u_t, …, u_T, so with E[ξ] = 1, E[ξ²] = 1/π, exactly:
#
#     μ_{t-1} = c_{t-1} + J_tᵀ μ_t                                       (μ = full BPTT)
#     C_{t-1} = (1/π) J_tᵀ (C_t + (1 − π) μ_t μ_tᵀ) J_t,   C_T = 0       (C_t = Cov(u_t); PSD terms only)
#     Cov(u_s, u_{t-1}) = Cov(u_s, u_t) J_t                    (s ≥ t)
#
# The parameter gradient is linear in the u's: g = Σ_t G_t u_t with G_t u = (φ'(a_t) ⊙ u) z_tᵀ,
# z_t = [x_t; h_{t-1}] (∂L/∂W_qh does not depend on ξ). Revealing ξ_T, ξ_{T-1}, … one at a time
# (Doob's martingale E[g | ξ_k, …, ξ_T]), each reveal adds (ξ_k − 1) L_{k-1}(J_kᵀ u_k), where
# L_k(v) = G_k v + L_{k-1}(J_kᵀ v), L_0 = 0, is the full-BPTT gradient of an injection v at ∂L/∂h_k.
# The increments are orthogonal and E[(ξ_k − 1)²] = 1/π − 1, so
#
#     Cov(g) = (1/π − 1) Σ_{k=2..T} E[L_{k-1} J_kᵀ u_k u_kᵀ J_k L_{k-1}ᵀ],
#     E[u_k u_kᵀ] = C_k + μ_k μ_kᵀ.
#
# One coordinate g_j = Σ_t w_tᵀ u_t: L_k's row is ℓ_k = w_k + J_k ℓ_{k-1}, and with r_k = J_k ℓ_{k-1},
#     Var(g_j)  = (1/π − 1) Σ_k r_kᵀ (C_k + μ_k μ_kᵀ) r_k;
# the whole gradient, with Y_k = L_{k-1} J_kᵀ (a P_ξ × n matrix) and K_k = Y_kᵀ Y_k,
#     tr Cov(g) = (1/π − 1) Σ_k tr(K_k (C_k + μ_k μ_kᵀ)).
# Every term is ≥ 0: nothing cancels. ℓ, L and K do not depend on π; only C does, so the π values
# ride on an array axis. Every vector and matrix is carried as 10^s · M with max|M| = 1 (renormalised
# at every step), so the log10 results stay finite where float64 would overflow: the second moment
# grows along an unbroken run like (‖J‖²/π) per step, ρ²/π for the identity φ.

LOG10_FLOAT64_MAX = float(np.log10(np.finfo(np.float64).max))  # ≈ 308.25
# The cost model of ``exact_moments`` in multiply-adds (``exact_work``). Measured on this machine with one
# BLAS thread (as the app runs): 256 × 256 products at 2.5·10¹⁰ multiply-adds/s when the two cores are
# free (4–6·10⁹ when other processes share them), and about 100 µs of Python per time step whatever n,
# counted here as EXACT_STEP_OVERHEAD. EXACT_WORK_BUDGET is about 0.6 s on a free core, 1 s with some load.
EXACT_WORK_BUDGET = 1.5e10
EXACT_STEP_OVERHEAD = 3e6     # multiply-add equivalents of the fixed per-step cost
EXACT_PI_OVERHEAD = 5e4       # and of each π's per-step bookkeeping


def _log10(x):
    """log10 of non-negative values, −inf for 0 (callers silence the divide warning: see ``_quiet``)."""
    return np.log10(np.maximum(x, 0.0))


def _log10_add(a, b):
    """log10(10^a + 10^b), elementwise, −inf + −inf = −inf."""
    m = np.maximum(a, b)
    safe = np.where(m == -np.inf, 0.0, m)
    return np.where(m == -np.inf, -np.inf, safe + np.log10(10.0 ** (a - safe) + 10.0 ** (b - safe)))


def _quiet():
    """The floating-point context of the exact recursions: 10^(−inf) = 0 and log10 0 = −inf are meant."""
    return np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore")


def _pair(M: np.ndarray, s: float = 0.0) -> tuple[float, np.ndarray]:
    """(s', M') with 10^s' M' = 10^s M and max|M'| = 1, or (−inf, 0) for a zero array."""
    m = float(np.max(np.abs(M))) if M.size else 0.0
    if m == 0.0 or s == -np.inf:
        return -np.inf, np.zeros_like(M)
    return s + float(np.log10(m)), M / m


def _pair_sum(a: tuple[float, np.ndarray], b: tuple[float, np.ndarray]) -> tuple[float, np.ndarray]:
    """10^s₁ M₁ + 10^s₂ M₂ as a pair; the smaller scale underflows harmlessly."""
    (s1, M1), (s2, M2) = a, b
    m = max(s1, s2)
    if m == -np.inf:
        return -np.inf, np.zeros_like(M1)
    return _pair(M1 * 10.0 ** (s1 - m) + M2 * 10.0 ** (s2 - m), m)


def _stack_pairs(S: np.ndarray, M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Renormalise a stack M (K, …) with scales S (K,): each slice to max|M_k| = 1 (−inf, 0 if zero)."""
    m = np.max(np.abs(M.reshape(M.shape[0], -1)), axis=1)
    zero = (m == 0.0) | np.isneginf(S)
    M = M / np.where(zero, 1.0, m).reshape((-1,) + (1,) * (M.ndim - 1))
    M[zero] = 0.0
    return np.where(zero, -np.inf, S + _log10(np.where(zero, 1.0, m))), M


class _ExactInputs:
    """The forward pass as scaled pairs, per step t = 1..T (index t − 1), batch axis B (1 without one).

    dphi (T, B, h): φ'(a_t);  c = (c_s (T,), c_v (T, B, h)): c_t = W_qhᵀ ∂L/∂o_t = 10^c_s c_v;
    x (T, B, d): x_t;  hp = (hp_s (T,), hp_v (T, B, h)): h_{t-1};  dW_qh = (s, (q, h)): ∂L/∂W_qh.
    Where float64 holds the forward pass it is used as it is; otherwise each sequence goes
    through ``logspace.log_forward``.
    """

    def __init__(self, rnn: RNN, X, Y, loss: str, h0):
        as_choice("loss", loss, ("mse", "xent"))
        self.rnn = rnn
        self.WT = np.ascontiguousarray(rnn.W_hh.T)
        self.identity = rnn.activation == "identity"
        with _quiet():
            self._prepare(rnn, X, Y, loss, h0)

    def _prepare(self, rnn, X, Y, loss, h0):
        tr = forward(rnn, X, h0)
        Y = check_targets(loss, Y, tr.O.shape)
        batched = tr.X.ndim == 3
        X3 = tr.X if batched else tr.X[:, None]
        self.T, self.B, self.d, self.h = X3.shape[0], X3.shape[1], rnn.d, rnn.h
        self.n = self.B * self.h
        self.x = X3
        plain = tr.overflow_step is None
        if plain:
            _, dL_do = loss_and_grad(loss, tr.O, Y)
            with np.errstate(over="ignore", invalid="ignore"):
                c = dL_do @ rnn.W_qh
                dW_qh = dL_do.reshape(-1, rnn.q).T @ tr.H[1:].reshape(-1, rnn.h)
            plain = bool(np.isfinite(c).all() and np.isfinite(dW_qh).all())
        if plain:
            H3 = tr.H if batched else tr.H[:, None]
            c3 = c if batched else c[:, None]
            self.dphi = phi_prime(rnn.activation, tr.A, tr.H[1:]).reshape(self.T, self.B, self.h)
            self.c_s, self.c_v = _stack_pairs(np.zeros(self.T), c3.copy())
            self.hp_s, self.hp_v = _stack_pairs(np.zeros(self.T), H3[:-1].copy())
            self.dW_qh = _pair(dW_qh)
        else:
            self._log_inputs(rnn, X3, Y if batched else Y[:, None], tr, loss, h0)

    def _log_inputs(self, rnn, X3, Y3, tr, loss, h0):
        from .logspace import log_forward  # logspace imports bptt; imported here to keep the layering light

        T, B, h = self.T, self.B, self.h
        H0 = tr.H[0] if tr.H.ndim == 3 else tr.H[0][None]
        runs = [log_forward(rnn, X3[:, b], H0[b], Y3[:, b], loss) for b in range(B)]
        self.dphi = np.stack([r.dphi for r in runs], axis=1)
        shift = np.log10(B)  # the batch average: ∂L/∂o_t carries 1/(T·B)
        do_s = np.stack([r.do_s for r in runs], axis=1) - shift            # (T, B)
        c_v = np.einsum("tbq,qh->tbh", np.stack([r.do_v for r in runs], axis=1), rnn.W_qh)
        self.c_s, self.c_v = _merge_batch(do_s, c_v)
        hs = np.stack([r.hs for r in runs], axis=1)                          # (T+1, B)
        hv = np.stack([r.hv for r in runs], axis=1)                          # (T+1, B, h)
        self.hp_s, self.hp_v = _merge_batch(hs[:-1], hv[:-1])
        # ∂L/∂W_qh = Σ_t Σ_b ∂L/∂o_t^b h_t^bᵀ, every term at its own scale.
        s = do_s + hs[1:]
        top = float(np.max(s)) if np.isfinite(s).any() else -np.inf
        if top == -np.inf:
            self.dW_qh = (-np.inf, np.zeros((rnn.q, h)))
        else:
            w = np.where(np.isneginf(s), 0.0, 10.0 ** (s - top))
            do_v = np.stack([r.do_v for r in runs], axis=1)
            self.dW_qh = _pair(np.einsum("tb,tbq,tbh->qh", w, do_v, hv[1:]), top)

    def jt(self, t: int) -> np.ndarray:
        """J_tᵀ (n, n) for t = 1..T: block b is W_hhᵀ diag φ'(a_t^b)."""
        if self.B == 1:  # identity φ: φ' = 1, J_tᵀ = W_hhᵀ at every step (read only)
            return self.WT if self.identity else self.WT * self.dphi[t - 1, 0]
        out = np.zeros((self.n, self.n))
        for b in range(self.B):
            out[b * self.h:(b + 1) * self.h, b * self.h:(b + 1) * self.h] = self.WT * self.dphi[t - 1, b]
        return out

    def c(self, t: int) -> tuple[float, np.ndarray]:
        """c_t (n,) as a pair."""
        return float(self.c_s[t - 1]), self.c_v[t - 1].ravel()

    def z(self, t: int) -> tuple[float, np.ndarray]:
        """z_t = [x_t; h_{t-1}] (B, d + h) as a pair (one scale for the step)."""
        xs, xv = _pair(self.x[t - 1])
        hs, hv = self.hp_s[t - 1], self.hp_v[t - 1]
        m = max(xs, hs)
        if m == -np.inf:
            return -np.inf, np.zeros((self.B, self.d + self.h))
        return _pair(np.concatenate([xv * 10.0 ** (xs - m), hv * 10.0 ** (hs - m)], axis=1), m)

    def w(self, t: int, j: int) -> tuple[float, np.ndarray]:
        """w_t (n,) with g_j = Σ_t w_tᵀ u_t, for a flat index j in the W_hx or W_hh block."""
        d, h = self.d, self.h
        if j < h * d:
            i, s, col = j // d, 0.0, self.x[t - 1, :, j % d]
        else:
            i, k = divmod(j - h * d, h)
            s, col = float(self.hp_s[t - 1]), self.hp_v[t - 1, :, k]
        out = np.zeros((self.B, h))
        out[:, i] = self.dphi[t - 1, :, i] * col
        return _pair(out.ravel(), s)


def _merge_batch(s: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-sequence pairs (T, B) scales, (T, B, k) unit vectors → one scale per step (T,), (T, B, k)."""
    top = np.max(s, axis=1)
    safe = np.where(np.isneginf(top), 0.0, top)
    w = np.where(np.isneginf(s), 0.0, 10.0 ** (s - safe[:, None]))
    return _stack_pairs(np.where(np.isneginf(top), -np.inf, safe), v * w[:, :, None])


@dataclass(frozen=True, eq=False)
class ExactMoments:
    """Exact mean and variance of the randomized-truncation gradient g(ξ), for K values of π.

    pi (K,): the keep probabilities.
    coordinate: flat index j (``Gradients.flat()`` order) of the coordinate followed;
        by default the largest |∂L/∂W_hh| entry, as the Monte-Carlo chart uses.
    log10_gradient_norm: log10 ‖g‖ of the exact (full-BPTT) gradient E[g] (finite past float64).
    log10_abs_coordinate, coordinate_sign: log10 |g_j| and sign(g_j) of its exact value.
    log10_coordinate_variance (K,): log10 Var(g_j(ξ)) (−inf where it is exactly 0: π = 1, or j in W_qh).
    log10_total_variance (K,): log10 tr Cov(g(ξ)), the summed variance of every coordinate
        (NaN only when ``total_computed`` is False: the caller asked not to compute it).
    log10_step_variance (K, T): log10 tr Cov(∂L/∂h_t), t = 1..T (−inf at t = T: u_T = c_T has no ξ).
    rho_eff: the backward Jacobians' mean gain per step, ‖J_2ᵀ ⋯ J_Tᵀ‖₂^{1/(T−1)} (ρ(W_hh) for the
        identity φ and long T): where π < rho_eff² the second moment grows along an unbroken
        run and the variance explodes with T. NaN for T = 1.
    work: the multiply-adds the call was estimated at (``exact_work``).

    Plain values (``coordinate_variance``, ``total_variance``, ``step_variance``, …) are the
    float64 powers of the log10 fields: they are +inf exactly where the value passes float64
    (10^308.25), which ``fits_float64`` reports; the log10 fields are finite wherever the
    variance is finite and non-zero.
    """

    pi: np.ndarray
    coordinate: int
    log10_gradient_norm: float
    log10_abs_coordinate: float
    coordinate_sign: float
    log10_coordinate_variance: np.ndarray
    log10_total_variance: np.ndarray
    log10_step_variance: np.ndarray
    rho_eff: float
    total_computed: bool
    work: float

    @staticmethod
    def _power(v):
        with np.errstate(over="ignore"):
            return 10.0 ** np.asarray(v, dtype=float)

    @property
    def coordinate_variance(self) -> np.ndarray:
        """(K,) Var(g_j) in float64 (+inf past float64)."""
        return self._power(self.log10_coordinate_variance)

    @property
    def total_variance(self) -> np.ndarray:
        """(K,) tr Cov(g) in float64 (+inf past float64)."""
        return self._power(self.log10_total_variance)

    @property
    def step_variance(self) -> np.ndarray:
        """(K, T) tr Cov(∂L/∂h_t) in float64 (+inf past float64)."""
        return self._power(self.log10_step_variance)

    @property
    def log10_sigma(self) -> np.ndarray:
        """(K,) log10 σ_j, σ_j = √Var(g_j): the standard deviation of one draw's coordinate."""
        return 0.5 * self.log10_coordinate_variance

    @property
    def log10_relative_sigma(self) -> np.ndarray:
        """(K,) log10 (σ_j / |g_j|): one draw's noise against the signal (+inf if g_j = 0 < σ_j)."""
        with np.errstate(invalid="ignore"):
            return self.log10_sigma - self.log10_abs_coordinate

    @property
    def log10_relative_variance(self) -> np.ndarray:
        """(K,) log10 (tr Cov(g) / ‖g‖²)."""
        with np.errstate(invalid="ignore"):
            return self.log10_total_variance - 2.0 * self.log10_gradient_norm

    @property
    def coordinate_value(self) -> float:
        """g_j in float64 (±inf past float64)."""
        with np.errstate(over="ignore"):
            return float(self.coordinate_sign * 10.0 ** self.log10_abs_coordinate)

    @property
    def fits_float64(self) -> dict:
        """Which plain values are finite: {"coordinate_variance": (K,), "total_variance": (K,),
        "step_variance": (K, T), "gradient": bool}."""
        ok = lambda v: np.asarray(v) < LOG10_FLOAT64_MAX  # noqa: E731 (NaN: not computed → False)
        return {"coordinate_variance": ok(self.log10_coordinate_variance),
                "total_variance": ok(self.log10_total_variance),
                "step_variance": ok(self.log10_step_variance),
                "gradient": bool(self.log10_gradient_norm < LOG10_FLOAT64_MAX)}


def exact_work(T: int, h: int, pis: int = 1, d: int = 4, batch: int = 1, total: bool = False) -> float:
    """Multiply-adds of ``exact_moments`` (its cost model; about 4·10⁻¹¹ s each on a free core).

    n = batch·h. Per step: the mean, the coordinate's ℓ and the gain directions ≈ (GAIN_DIRECTIONS + 3)·n²
    plus ``EXACT_STEP_OVERHEAD``; per π the covariance update J_tᵀ (…) J_t, 2n³, the quadratic forms, 2n²,
    and ``EXACT_PI_OVERHEAD``; the whole-gradient variance adds Y_k = L_{k−1} J_kᵀ and K_k = Y_kᵀ Y_k,
    2(d + h)·h·n² (π-independent), and n² per π.
    """
    n = float(batch * h)
    per_step = (min(n, GAIN_DIRECTIONS) + 3) * n * n + EXACT_STEP_OVERHEAD
    per_step += pis * (2 * n ** 3 + 2 * n * n + EXACT_PI_OVERHEAD)
    if total:
        per_step += 2.0 * (d + h) * h * n * n + pis * n * n
    return float(T) * per_step


class ExactAffordable(NamedTuple):
    """What the exact recursions can do within a budget (see ``affordable_exact``)."""

    coordinate: bool   # Var of the followed coordinate and per-step variances, for all the π asked
    total: bool        # also tr Cov(g) of the whole gradient
    pis: int           # how many π values fit with the coordinate alone (0 … asked)
    work_coordinate: float
    work_total: float


def affordable_exact(T: int, h: int, pis: int = 1, d: int = 4, batch: int = 1,
                     budget: float = EXACT_WORK_BUDGET) -> ExactAffordable:
    """Whether ``exact_moments`` for ``pis`` values of π fits the budget (≈ 1 s by default), with and
    without the whole-gradient total variance, and how many π values fit at most.

    At the lab's defaults (T = 50, h = 16) everything takes milliseconds; at T = 1000, h = 256 one π is
    already ≈ 3.8·10¹⁰ multiply-adds (1.5 s on a free core) and the total variance ≈ 4·10¹² (minutes):
    then ``coordinate`` and ``total`` are False and the page says so.
    """
    T = as_int("T", T, minimum=1)
    h = as_int("h", h, minimum=1)
    pis = as_int("pis", pis, minimum=1)
    d = as_int("d", d, minimum=1)
    batch = as_int("batch", batch, minimum=1)
    budget = as_float("budget", budget, low=0.0)
    wc = exact_work(T, h, pis, d, batch, total=False)
    wt = exact_work(T, h, pis, d, batch, total=True)
    one = exact_work(T, h, 1, d, batch) - exact_work(T, h, 0, d, batch)
    fit = int(max(0.0, budget - exact_work(T, h, 0, d, batch)) // one)
    return ExactAffordable(coordinate=wc <= budget, total=wt <= budget, pis=min(pis, fit),
                           work_coordinate=wc, work_total=wt)


def _check_pis(pis) -> np.ndarray:
    """pis as a (K,) float array of values in (0, 1]."""
    if isinstance(pis, numbers.Real) and not isinstance(pis, bool):
        pis = [pis]
    pis = as_float_array("pis", pis, (1,))
    if (pis <= 0).any() or (pis > 1).any():
        raise ValueError(f"pis: expected values in (0, 1], got {pis.tolist()}")
    return pis


GAIN_DIRECTIONS = 32   # ρ_eff from the product's action on this many directions (exact when n ≤ 32)


def _gain_directions(n: int) -> np.ndarray:
    """(n, k) orthonormal columns, k = min(n, GAIN_DIRECTIONS): the identity when k = n, else a fixed
    random subspace (seeded, so the result is reproducible)."""
    k = min(n, GAIN_DIRECTIONS)
    if k == n:
        return np.eye(n)
    return np.linalg.qr(np.random.default_rng(0).standard_normal((n, k)))[0]


def _mean_pass(inp: _ExactInputs):
    """μ_t = E[u_t] (full BPTT) as pairs, the exact gradient's W_hx and W_hh blocks as pairs, and
    log10 ‖J_2ᵀ ⋯ J_Tᵀ‖₂ (on ``GAIN_DIRECTIONS`` directions when n is larger: then a lower bound).

    Returns (mu_s (T,), mu_v (T, n), dW_hx pair, dW_hh pair, log10 gain).
    """
    T, n, h, B = inp.T, inp.n, inp.h, inp.B
    mu_s, mu_v = np.empty(T), np.empty((T, n))
    s, v = float(inp.c_s[T - 1]), inp.c_v[T - 1].ravel()
    V, gain = _gain_directions(n), 0.0
    for t in range(T, 0, -1):
        mu_s[t - 1], mu_v[t - 1] = s, v
        if t == 1:
            break
        Jt = inp.jt(t)
        y = Jt @ v                                               # J_tᵀ μ_t, at scale s
        cs, cv = float(inp.c_s[t - 2]), inp.c_v[t - 2].ravel()
        m = max(cs, s)
        if m == -np.inf:
            s, v = -np.inf, np.zeros(n)
        else:  # μ_{t-1} = c_{t-1} + J_tᵀ μ_t (a zero term has scale −inf and weight 0)
            s, v = _pair(cv * 10.0 ** (cs - m) + y * 10.0 ** (s - m), m)
        if gain > -np.inf:
            V = Jt @ V                                           # J_tᵀ ⋯ J_Tᵀ on the directions
            top = float(np.max(np.abs(V)))
            gain = gain + math.log10(top) if top > 0 else -np.inf
            V /= top if top > 0 else 1.0
    if T > 1 and gain > -np.inf:
        norm = float(np.linalg.norm(V, 2))
        gain = gain + math.log10(norm) if norm > 0 else -np.inf
    # ∂L/∂W_hx = Σ_t Σ_b δ_t x_tᵀ, ∂L/∂W_hh = Σ_t Σ_b δ_t h_{t-1}ᵀ with δ_t = φ'(a_t) ⊙ μ_t,
    # each term weighted by its scale relative to the largest.
    delta = inp.dphi * mu_v.reshape(T, B, h)
    blocks = []
    for scales, Z in ((mu_s, inp.x), (mu_s + inp.hp_s, inp.hp_v)):
        finite = np.isfinite(scales)
        if not finite.any():
            blocks.append((-np.inf, np.zeros((h, Z.shape[-1]))))
            continue
        top = float(np.max(scales[finite]))
        w = np.where(finite, 10.0 ** (np.where(finite, scales, top) - top), 0.0)
        blocks.append(_pair(np.einsum("t,tbi,tbj->ij", w, delta, Z), top))
    return mu_s, mu_v, blocks[0], blocks[1], gain


def _blocks_norm(*pairs) -> float:
    """log10 of the Frobenius norm of the concatenated scaled blocks."""
    out = -np.inf
    for s, M in pairs:
        out = float(_log10_add(out, 2 * s + _log10(np.sum(M * M))))
    return 0.5 * out


RESCALE = 1e100  # a carried matrix is renormalised when its size bound leaves [1/RESCALE, RESCALE]


def exact_moments(rnn: RNN, X, Y, pis, loss: str = "mse", h0=None, *, coordinate: int | None = None,
                  total: bool = True) -> ExactMoments:
    """Exact moments of the randomized-truncation gradient for every π in ``pis`` (scalar or (K,)).

    X (T, d) or (T, B, d), Y and h0 as in ``bptt``. The recursions (see the comment above):

        μ_{t-1} = c_{t-1} + J_tᵀ μ_t,      C_{t-1} = (1/π) J_tᵀ (C_t + (1 − π) μ_t μ_tᵀ) J_t,
        Var(g_j)  = (1/π − 1) Σ_{k=2..T} r_kᵀ (C_k + μ_k μ_kᵀ) r_k,        r_k = J_k ℓ_{k−1},
        tr Cov(g) = (1/π − 1) Σ_{k=2..T} tr(K_k (C_k + μ_k μ_kᵀ)),         K_k = Y_kᵀ Y_k,

    carried in log scale. ``coordinate``: a flat index into ``Gradients.flat()`` (default: the
    largest |∂L/∂W_hh| entry). ``total``: also the whole gradient's tr Cov(g), which costs
    2(d + h)·h·n² per step (``exact_work``, ``affordable_exact``). Exact, not sampled: checked
    against the probability-weighted enumeration of all 2^T patterns of ξ.
    """
    pis = _check_pis(pis)
    if not isinstance(total, bool):
        raise ValueError(f"total: expected True or False, got {describe(total)}")
    inp = _ExactInputs(rnn, X, Y, loss, h0)
    P = rnn.h * rnn.d + rnn.h * rnn.h + rnn.q * rnn.h
    if coordinate is not None:
        coordinate = as_int("coordinate", coordinate, minimum=0, maximum=P - 1)
    with _quiet():
        return _exact_moments(inp, pis, coordinate, total)


def _exact_moments(inp: _ExactInputs, pis: np.ndarray, j: int | None, total: bool) -> ExactMoments:
    T, n, h, d, B, K = inp.T, inp.n, inp.h, inp.d, inp.B, pis.size
    mu_s, mu_v, gx, gh, gain = _mean_pass(inp)
    if j is None:
        j = h * d + int(np.argmax(np.abs(gh[1])))
    flat = [gx, gh, inp.dW_qh]
    block, offset = (0, j) if j < h * d else (1, j - h * d) if j < h * (d + h) else (2, j - h * (d + h))
    s_blk, M_blk = flat[block]
    value = float(M_blk.ravel()[offset])
    log_abs = s_blk + math.log10(abs(value)) if value != 0.0 else -np.inf

    # Forward, π-free: r_k = J_k ℓ_{k−1} (the coordinate) and K_k = Y_kᵀ Y_k (the whole gradient).
    follow = j < h * (d + h)
    r_s, r_v = np.full(T, -np.inf), np.zeros((T, n))
    if follow:
        ell_s, ell_v = inp.w(1, j)
        for k in range(2, T + 1):
            r_s[k - 1], r_v[k - 1] = _pair(inp.jt(k).T @ ell_v, ell_s)        # r_k = J_k ℓ_{k−1}
            ell_s, ell_v = _pair_sum(inp.w(k, j), (r_s[k - 1], r_v[k - 1]))   # ℓ_k = w_k + r_k
    if total:
        K_s, K_v = _gram_pass(inp)

    # Backward, all π at once: C_t = 10^base C_raw, C_raw (K, n, n).
    base, C = np.full(K, -np.inf), np.zeros((K, n, n))
    keep = 1.0 - pis
    log_inv = np.log10(1.0 / pis)
    acc_c, acc_t = np.full(K, -np.inf), np.full(K, -np.inf)
    step = np.full((K, T), -np.inf)
    for k in range(T, 0, -1):
        m_s, m = mu_s[k - 1], mu_v[k - 1]
        diag = np.einsum("kii->ki", C)
        step[:, k - 1] = base + _log10(diag.sum(axis=1))                    # tr C_k
        if k == 1:
            break
        if follow and r_s[k - 1] > -np.inf:
            rv = r_v[k - 1]
            quad = (C.reshape(K * n, n) @ rv).reshape(K, n) @ rv            # r_kᵀ C_k r_k
            term = _log10_add(2 * r_s[k - 1] + base + _log10(quad),
                              2 * r_s[k - 1] + 2 * m_s + _log10(float(rv @ m) ** 2))
            acc_c = _log10_add(acc_c, term)
        if total and K_s[k - 1] > -np.inf:
            Kk = K_v[k - 1]
            trace = C.reshape(K, n * n) @ Kk.ravel()                          # tr(K_k C_k)
            term = _log10_add(K_s[k - 1] + base + _log10(trace),
                              K_s[k - 1] + 2 * m_s + _log10(float(m @ Kk @ m)))
            acc_t = _log10_add(acc_t, term)
        # C_{k−1} = (1/π) J_kᵀ (C_k + (1 − π) μ_k μ_kᵀ) J_k, the two terms at a common scale per π.
        kappa = base + _log10(diag.max(axis=1))                              # max|C_k| (C_k is PSD)
        top = np.maximum(kappa, 2 * m_s)
        if np.isneginf(top).all():
            continue
        safe = np.where(np.isneginf(top), 0.0, top)
        wC = np.where(np.isneginf(base), 0.0, 10.0 ** (base - safe))
        wm = np.where(np.isneginf(top), 0.0, keep * 10.0 ** (2 * m_s - safe))
        C *= wC[:, None, None]
        C += wm[:, None, None] * np.outer(m, m)
        Jt = inp.jt(k)
        C = (np.matmul(Jt, C).reshape(K * n, n) @ Jt.T).reshape(K, n, n)    # J_kᵀ (…) J_k
        base = np.where(np.isneginf(top), -np.inf, safe + log_inv)
    factor = _log10(1.0 / pis - 1.0)                                        # log10 (1/π − 1); −inf at π = 1
    var_c = np.where(np.isneginf(factor), -np.inf, factor + acc_c)
    var_t = np.where(np.isneginf(factor), -np.inf, factor + acc_t) if total else np.full(K, np.nan)
    rho_eff = 10.0 ** (gain / (T - 1)) if T > 1 else float("nan")
    return ExactMoments(pi=pis.copy(), coordinate=j, log10_gradient_norm=float(_blocks_norm(*flat)),
                        log10_abs_coordinate=float(log_abs), coordinate_sign=float(np.sign(value)),
                        log10_coordinate_variance=var_c, log10_total_variance=var_t,
                        log10_step_variance=step, rho_eff=float(rho_eff), total_computed=total,
                        work=exact_work(T, h, K, d, B, total))


def _gram_pass(inp: _ExactInputs) -> tuple[np.ndarray, np.ndarray]:
    """K_k = Y_kᵀ Y_k, Y_k = L_{k−1} J_kᵀ, for k = 2..T as pairs (T,), (T, n, n) (entry 0 unused).

    L_k (P_ξ × n, P_ξ = h(d + h)), the full-BPTT gradient of an injection at ∂L/∂h_k, by
    L_k = G_k + L_{k−1} J_kᵀ, L_1 = G_1, carried as 10^λ L̂: max|L̂| is bounded by the largest
    column norm, √max diag K̂, and L̂ is renormalised only when that bound leaves [1/RESCALE, RESCALE].
    """
    T, n, h, d, B = inp.T, inp.n, inp.h, inp.d, inp.B
    K_s, K_v = np.full(T, -np.inf), np.zeros((T, n, n))
    lam, L = 0.0, np.zeros((h * (d + h), n))
    lam = _add_G(L, lam, inp, 1)
    for k in range(2, T + 1):
        Y = L @ inp.jt(k)                                                    # Y_k = L_{k−1} J_kᵀ at scale λ
        Kr = Y.T @ Y
        top = float(np.max(np.diagonal(Kr)))                                 # max|K̂| (K̂ is PSD)
        if top > 0:
            K_s[k - 1], K_v[k - 1] = 2 * lam + math.log10(top), Kr / top
            bound = math.sqrt(top)                                           # ≥ max|Y|
            if not 1.0 / RESCALE <= bound <= RESCALE:
                Y /= bound
                lam += math.log10(bound)
        lam = _add_G(Y, lam, inp, k)
        L = Y
    return K_s, K_v


def _add_G(L: np.ndarray, lam: float, inp: _ExactInputs, t: int) -> float:
    """L̂ ← L̂ + 10^{−λ} G_t in place (rescaling L̂ first if G_t would dwarf it); returns the new λ.

    G_t v = Σ_b (φ'(a_t^b) ⊙ v^b) z_t^bᵀ, so G_t's only entries are G_t[(i, :), (b, i)] = φ'(a_t^b)_i z_t^b."""
    h, B = inp.h, inp.B
    zs, zv = inp.z(t)
    if zs == -np.inf:
        return lam
    if zs - lam > math.log10(RESCALE):
        L *= 10.0 ** (lam - zs)
        lam = zs
    L4 = L.reshape(h, inp.d + h, B, h)
    idx = np.arange(h)
    f = 10.0 ** (zs - lam)
    for b in range(B):
        L4[idx, :, b, idx] += (f * inp.dphi[t - 1, b])[:, None] * zv[b][None, :]
    return lam


def dL_dh_covariance(rnn: RNN, X, Y, pi: float, loss: str = "mse", h0=None) -> np.ndarray:
    """Cov(u_s, u_t) (T, n, T, n) of u_t = ∂L/∂h_t under randomized truncation, in plain float64.

    n = B·h (a batch's sequences stacked). The diagonal blocks by C_{t-1} = (1/π) J_tᵀ (C_t +
    (1 − π) μ_t μ_tᵀ) J_t, the others by Cov(u_s, u_{t-1}) = Cov(u_s, u_t) J_t for s ≥ t. For
    small T (T²n² floats): with G_t it gives Cov(g) = Σ_{s,t} G_s Cov(u_s, u_t) G_tᵀ, a check
    of ``exact_moments`` by another route.
    """
    pi = as_float("pi", pi, low=0.0, high=1.0, low_open=True)
    inp = _ExactInputs(rnn, X, Y, loss, h0)
    T, n = inp.T, inp.n
    with _quiet():
        mu_s, mu_v, *_ = _mean_pass(inp)
        mu = mu_v * 10.0 ** mu_s[:, None]
    out = np.zeros((T, n, T, n))
    for t in range(T, 1, -1):
        Jt = inp.jt(t)
        out[t - 2, :, t - 2, :] = Jt @ (out[t - 1, :, t - 1, :] + (1 - pi) * np.outer(mu[t - 1], mu[t - 1])) @ Jt.T / pi
        for s in range(t - 1, T):                       # Cov(u_s, u_{t-1}) = Cov(u_s, u_t) J_t, s ≥ t
            out[s, :, t - 2, :] = out[s, :, t - 1, :] @ Jt.T
            out[t - 2, :, s, :] = out[s, :, t - 2, :].T
    return out
