"""One figure from every chart builder in charts/, from small synthetic inputs: for tests that must
hold for all figures (projection styling, line styles that differ as well as colours)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from bptt_core import (History, Update, chunked_xi_sweep, full_boundaries, log10_dL_dh_sweep,
                       log10_power_norms_scaled, make_corpus, random_batches, randomized_boundaries,
                       regular_boundaries, sequential_batches, spectrum, toy_problem, unrolled_gradients, w_hh_schur)
from charts import animation, eigenvalues, gates, jacobians, randomized, scalar, training, truncation, unrolled

_T = 40
_t = np.arange(_T + 1, dtype=float)
_KEYS = ("full", "chunked", "sliding", "randomized")


def _strategy_rows() -> np.ndarray:
    return np.stack([-0.02 * k * _t[1:] for k in range(len(_KEYS))])


def _history(seed: int) -> History:
    rng = np.random.default_rng(seed)
    updates = [Update(index=i, epoch=1, loss=3.3 - i / 20, train_perplexity=float(np.exp(3.3 - i / 20)),
                      valid_perplexity=float(np.exp(3.4 - i / 20)) if i % 5 == 0 else None,
                      grad_norm=float(np.exp(rng.standard_normal())), clipped=False, seconds=0.01 * i)
               for i in range(1, 21)]
    return History.from_updates(updates, diverged=False, theta=1.0)


def _rho_animation():
    rhos = np.linspace(0.5, 1.5, 5)
    _, U = w_hh_schur(8, 0.9, "normal", 0.5, 0.0, seed=1)
    return animation.rho_animation(spectrum(8, 0.9, "normal", 0.5), 0.9, rhos,
                                   log10_power_norms_scaled(U, 30, rhos / 0.9))


def _tau_animation():
    rnn, X, Y = toy_problem(30, 6, "tanh", 0.9, seed=2)
    taus = np.arange(1, 6)
    xi = chunked_xi_sweep(30, taus)
    return animation.sweep_animation(log10_dL_dh_sweep(rnn, X, Y, np.ones((1, 30)))[0],
                                     log10_dL_dh_sweep(rnn, X, Y, xi), xi, taus, key="chunked", symbol="τ")


def _minibatches():
    corpus = make_corpus("the time machine by h g wells " * 40)
    return training.minibatch_figure(sequential_batches(corpus.train, 4, 10, rng=0).starts,
                                     random_batches(corpus.train, 4, 10, rng=0).starts,
                                     num_steps=10, n_tokens=corpus.train.size)


# 80 characters, the most the truncation view draws: three lines of the book's figure.
_LONG_TEXT = "the time machine by h g wells i the time traveller for so it will be convenient to s"[:80]

_RUNS = {key: _history(i) for i, key in enumerate(_KEYS)}

BUILDERS = {
    "eigen_plane": lambda: eigenvalues.eigen_plane(spectrum(16, 0.9, "normal", 0.5), rho=0.9,
                                             computed=spectrum(16, 0.9, "normal", 0.5)),
    "moduli_and_singular_values": lambda: eigenvalues.moduli_and_singular_values(spectrum(16, 0.9, "symmetric", 0.5),
                                                                           np.linspace(1.5, 0.1, 16)),
    "power_norms": lambda: eigenvalues.power_norms_figure(np.log10(0.9) * _t + np.where(_t < 5, _t / 5, 1),
                                                    rho=0.9, sigma_max=1.3),
    "alignment": lambda: eigenvalues.alignment_figure(1 - 0.5 ** _t),
    "lag_norms": lambda: jacobians.lag_norms_figure(
        {a: -g * _t for a, g in (("identity", 0.01), ("tanh", 0.02), ("sigmoid", 0.3))},
        bounds={a: -g * _t for a, g in (("identity", 0.01), ("tanh", 0.01), ("sigmoid", 0.6))},
        gammas={"identity": 1.0, "tanh": 1.0, "sigmoid": 0.25}, sigma_max=0.98),
    "jacobian_heatmap": lambda: jacobians.jacobian_heatmap(
        np.where(np.tril(np.ones((5, 5))) > 0, -np.subtract.outer(np.arange(5), np.arange(5)) * 0.3, np.nan),
        np.arange(1, 6), activation="tanh"),
    "dphi_histogram": lambda: jacobians.dphi_histogram(np.linspace(0, 1, 200).reshape(20, 10),
                                                       activation="tanh", gamma=1.0),
    "scalar_terms": lambda: scalar.scalar_term_bars(-0.05 * _t[1:], np.where(_t[1:] % 2, 1.0, -1.0), t=_T),
    "recursion_vs_terms": lambda: scalar.recursion_vs_terms(SimpleNamespace(
        log10_recursion=-0.01 * _t[1:], log10_sum=-0.01 * _t[1:], sign_recursion=np.ones(_T), sign_sum=np.ones(_T))),
    "butterfly": lambda: scalar.butterfly_figure(1e-8 * 1.1 ** _t, eps=1e-8, rho=1.1),
    "truncation_figure": lambda: truncation.truncation_figure(
        "the time machine by h g wells", {"randomized": [0, 3, 8, 10, 17, 19, 23, 27, 29],
                                          "chunked": [0, 4, 8, 12, 16, 20, 24, 28, 29], "full": [0, 29]}),
    "truncation_figure_wrapped": lambda: truncation.truncation_figure(
        _LONG_TEXT, {"randomized": randomized_boundaries(len(_LONG_TEXT), 0.3, 7),
                     "chunked": regular_boundaries(len(_LONG_TEXT), 5), "full": full_boundaries(len(_LONG_TEXT))},
        row_labels={"randomized": "Randomized (π = 0.3)", "chunked": "Regular (τ = 5)"}),
    "strategy_gradient_norms": lambda: truncation.gradient_norms_figure(_strategy_rows(), _KEYS),
    "agreement": lambda: truncation.agreement_figure(_KEYS, np.array([1.0, 0.9, 0.95, 0.8]),
                                                     np.array([0.0, 0.3, 0.2, 0.5])),
    "mc_error": lambda: randomized.mc_error_figure(_t[1:], 1 / np.sqrt(_t[1:]), 1.1 / np.sqrt(_t[1:]),
                                                   running_cosine=np.ones(_T), pi=0.5),
    "mc_coordinate": lambda: randomized.mc_coordinate_figure(_t[1:], 1 + 0.1 / _t[1:], 0.2 / np.sqrt(_t[1:]), pi=0.5),
    "mc_coordinate_exact": lambda: randomized.mc_coordinate_figure(
        _t[1:], 1 + 0.3 / _t[1:], 0.2 / np.sqrt(_t[1:]), exact_band=50 / np.sqrt(_t[1:]), pi=0.2),
    "mc_error_exact": lambda: randomized.mc_error_figure(_t[1:], 1 / np.sqrt(_t[1:]), 0.3 / np.sqrt(_t[1:]),
                                                         exact_expected_error=1e12 / np.sqrt(_t[1:]),
                                                         pi=0.2),
    "variance_exact": lambda: randomized.variance_figure(np.linspace(0.1, 1.0, 10), np.linspace(20, -1, 10),
                                                         current_pi=0.2, rho_eff=0.9,
                                                         sampled=np.linspace(2, -1.5, 10)),
    "variance": lambda: randomized.variance_figure(np.linspace(0.1, 1.0, 10), np.linspace(1, -1, 10),
                                                   current_pi=0.5, current_value=0.0, samples=100),
    "unrolled_graph": lambda: unrolled.unrolled_graph(unrolled_gradients(*toy_problem(3, 4, "tanh", 0.9, seed=0)),
                                                      activation="tanh"),
    "gradient_norms_over_time": lambda: unrolled.gradient_norms_over_time(-0.02 * _t[1:], rho=0.95),
    "recursion_vs_sum": lambda: unrolled.recursion_vs_sum(-0.02 * _t[1:], -0.02 * _t[1::5], _t[1::5]),
    "sum_terms": lambda: unrolled.sum_terms(-0.02 * _t[1:], 1),
    "w_hh_contributions": lambda: unrolled.w_hh_contribution_bars(-0.02 * _t[1:]),
    "perplexity": lambda: training.perplexity_figure(_RUNS, x="updates", vocab_size=27),
    "perplexity_seconds": lambda: training.perplexity_figure(_RUNS, x="seconds", vocab_size=27),
    "training_gradients": lambda: training.gradient_norm_figure(_RUNS, theta=1.0),
    "cells_lags": lambda: gates.cells_lag_figure({"RNN": -0.05 * _t, "GRU": -0.2 * _t, "LSTM": -0.01 * _t}),
    "cells_over_time": lambda: gates.cells_over_time_figure({"RNN": -0.02 * _t[1:], "GRU": -0.03 * _t[1:],
                                                             "LSTM": 0.001 * _t[1:]}),
    "gate_heatmap": lambda: gates.gate_heatmap(np.linspace(0, 1, 5 * _T).reshape(_T, 5), gate="Fₜ", cell="LSTM"),
    "minibatches": _minibatches,
    "rho_animation": _rho_animation,
    "tau_animation": _tau_animation,
}
