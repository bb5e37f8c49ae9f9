"""Statistics of the randomized-truncation estimator (Tallec & Ollivier 2017).

The forward pass does not depend on ξ, so it runs once; the backward pass runs
for all S draws of ξ together, the draws on an array axis.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .activations import phi_prime
from .bptt import bptt, flat_sample_gradients, randomized_xi, sample_deltas
from .checks import as_choice, as_float, as_float_array, as_int
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

    Row i equals ``bptt(rnn, X, Y, Randomized(pi, xi=xi[i]), loss, h0).flat()``.
    """
    prep = _Prepared(rnn, X, Y, loss, h0)
    xi = as_float_array("xi", xi, (2,))
    if xi.shape[1] != prep.T:
        raise ValueError(f"xi: expected shape (S, {prep.T}) for T = {prep.T} steps, got {xi.shape}")
    out = np.empty((xi.shape[0], prep.P))
    # Chunks of draws whose δ fits in cache: measured 26 ms instead of 31 ms for
    # S = 1000, T = 100, h = 32, because the working arrays are not re-faulted in.
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
# the per-draw ∂L/∂W_hh product, about 50·h² for the running statistics. 8·10⁹ is
# roughly 1.5 s on one core.
WORK_BUDGET = 8e9


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

    @property
    def n(self) -> np.ndarray:
        """(S,): 1, 2, …, S."""
        return np.arange(1, self.samples + 1)

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
                           finite_samples=finite)


def randomized_statistics(rnn: RNN, X, Y, pi: float, samples: int = 1000, seed: int = 0,
                          loss: str = "mse", h0=None, max_floats: int = MAX_CHUNK_FLOATS) -> MonteCarloStats:
    """Running statistics of S = ``samples`` randomized-truncation gradients.

    The draws are those of ``randomized_monte_carlo`` (same π, S, seed), fed
    through the batched backward pass ``chunk_size(...)`` at a time, so memory
    is bounded by ``max_floats`` per working array instead of S × P.
    """
    pi = as_float("pi", pi, low=0.0, high=1.0, low_open=True)
    S = as_int("samples", samples, minimum=1)
    seed = as_int("seed", seed, minimum=0)
    max_floats = as_int("max_floats", max_floats, minimum=1)
    prep = _Prepared(rnn, X, Y, loss, h0)
    xi = randomized_xi(prep.T, pi, seed, samples=S)
    return _stats_from(prep, xi, pi, seed, max_floats)


@dataclass(frozen=True, eq=False)
class VarianceSweep:
    """Total variance of the randomized estimator against the keep probability π.

    pi (K,); log10_total_variance (K,): log10 tr Σ(π) (−inf at π = 1, where every
    draw is the exact gradient; NaN after overflow); relative_variance (K,):
    tr Σ(π) / ‖g‖²; samples: draws per π. Common random numbers: every π
    thresholds the same uniforms, ξ_t = 1/π where U_t < π.
    """

    pi: np.ndarray
    log10_total_variance: np.ndarray
    relative_variance: np.ndarray
    samples: int

    @property
    def log10_relative_variance(self) -> np.ndarray:
        """log10 (tr Σ(π) / ‖g‖²): −inf where the variance is 0, NaN where undefined."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log10(self.relative_variance)


def randomized_variance_sweep(rnn: RNN, X, Y, pis, samples: int = 200, seed: int = 0,
                              loss: str = "mse", h0=None,
                              max_floats: int = MAX_CHUNK_FLOATS) -> VarianceSweep:
    """tr Σ(π) for each π in ``pis``: one forward pass, then one batched (chunked)
    backward pass of ``samples`` draws per π."""
    pis = as_float_array("pis", pis, (1,))
    if (pis <= 0).any() or (pis > 1).any():
        raise ValueError(f"pis: expected values in (0, 1], got {pis.tolist()}")
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
