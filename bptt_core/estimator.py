"""Statistics of the randomized-truncation estimator (Tallec & Ollivier 2017).

The forward pass does not depend on ξ, so it runs once; the backward pass runs
for all S draws of ξ together, the draws on an array axis.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .activations import phi_prime
from .bptt import bptt, parameter_gradients, randomized_xi, reverse_sweep
from .checks import as_choice, as_float, as_float_array, as_int
from .losses import check_targets, loss_and_grad
from .model import RNN, forward


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
    as_choice("loss", loss, ("mse", "xent"))
    tr = forward(rnn, X, h0)
    Y = check_targets(loss, Y, tr.O.shape)
    xi = as_float_array("xi", xi, (2,))
    if xi.shape[1] != tr.T:
        raise ValueError(f"xi: expected shape (S, {tr.T}) for T = {tr.T} steps, got {xi.shape}")
    _, dL_do = loss_and_grad(loss, tr.O, Y)
    with np.errstate(over="ignore", invalid="ignore"):
        dq = dL_do @ rnn.W_qh
        dphi = phi_prime(rnn.activation, tr.A, tr.H[1:])
    _, delta = reverse_sweep(rnn.W_hh, dq, dphi, xi)
    gx, gh, gq = parameter_gradients(delta, tr, dL_do)
    S = xi.shape[0]
    return np.concatenate([gx.reshape(S, -1), gh.reshape(S, -1), gq.reshape(S, -1)], axis=1)


def randomized_monte_carlo(rnn: RNN, X, Y, pi: float, samples: int = 1000, seed: int = 0,
                           loss: str = "mse", h0=None) -> MonteCarlo:
    """S = ``samples`` draws of the randomized estimator, all in one batched pass.

    Draw i uses ξ_i = randomized_xi(T, π, seed, S)[i]; E[ξ_t] = 1 makes the
    sample mean converge to the exact gradient as S grows.
    """
    pi = as_float("pi", pi, low=0.0, high=1.0, low_open=True)
    S = as_int("samples", samples, minimum=1)
    exact = bptt(rnn, X, Y, loss=loss, h0=h0).flat()
    T = np.shape(X)[0]
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
    T = np.shape(X)[0] if np.ndim(X) >= 1 else 0
    xi, prob = xi_patterns(T, pi)
    G = sampled_gradients(rnn, X, Y, xi, loss=loss, h0=h0)
    return prob @ G
