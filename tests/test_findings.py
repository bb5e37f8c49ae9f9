"""charts/findings.py: every sentence a view writes under a chart says what the chart's own data say.

Each function gets data whose answer is known (a straight line, a normal matrix, a bound that holds),
and, for the views' defaults, the data the view draws; the numbers in the sentence are read back and
compared with the data.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from bptt_core import (GAMMA, Full, Randomized, Truncated, butterfly, compare_strategies, factored_step_jacobians,
                       forward, lab_problem, log10_gradient_norms, log10_lag_norms, log10_norm_bound,
                       singular_values, spectrum, w_hh)
from charts.findings import (agreement_sentence, butterfly_sentence, gradient_over_time_sentence, lag_sentence,
                             per_step_sentence, power_of_ten, regime_sentence, saturation_sentence,
                             singular_values_sentence, sum_terms_sentence, training_sentence,
                             w_hh_sources_sentence)

DEFAULT = dict(T=50, h=16, activation="identity", rho=0.9, kind="symmetric", spread=0.5, nonnormality=2.0, seed=0)


def problem(**kw):
    m = {**DEFAULT, **kw}
    return lab_problem(m["T"], m["h"], m["activation"], m["rho"], m["kind"], m["spread"], m["nonnormality"],
                       m["seed"])


def numbers(sentence: str) -> list[float]:
    """The plain decimal numbers in a sentence, in order (powers like 10¹² are left out)."""
    return [float(x) for x in re.findall(r"(?<![\w⁰¹²³⁴⁵⁶⁷⁸⁹])[-+]?\d+(?:\.\d+)?(?![⁰¹²³⁴⁵⁶⁷⁸⁹])", sentence)]


def test_power_of_ten():
    assert power_of_ten(math.log10(250)) == "250" and power_of_ten(math.log10(0.0034)) == "0.0034"
    assert power_of_ten(12.2) == "10¹²" and power_of_ten(-7.6) == "10⁻⁸"
    assert power_of_ten(-math.inf) == "0" and power_of_ten(math.inf) == "∞"


def test_gradient_over_time_reads_the_change_and_the_rate():
    T = 40
    V = np.linspace(3.0, -1.0, T)  # t = 1 … T: four orders of magnitude larger at the first step
    sentence = gradient_over_time_sentence(V, rho=10 ** (4 / (T - 1)))
    assert "4.0 orders of magnitude larger than at t = T" in sentence
    assert "largest at t = 1" in sentence
    slope, log_rho = numbers(sentence.split("On average")[1])[:2]
    assert slope == pytest.approx(4 / (T - 1), abs=1e-3) and log_rho == pytest.approx(slope, abs=1e-3)
    flat = gradient_over_time_sentence(np.full(T, -2.0) + 0.1 * np.sin(np.arange(T)))
    assert "within a factor of 10" in flat and "On average" not in flat


def test_gradient_over_time_at_the_views_default():
    rnn, X, Y = problem()
    V = log10_gradient_norms(rnn, X, Y).log10_dL_dh
    sentence = gradient_over_time_sentence(V, rho=0.9)
    assert f"largest at t = {int(np.argmax(V)) + 1}" in sentence
    assert ("within a factor of 10" in sentence) == (abs(V[0] - V[-1]) < 1)


def test_sum_terms_names_the_largest_and_the_farthest():
    terms = np.array([0.0, 0.5, -1.0, -3.0])
    sentence = sum_terms_sentence(terms, first=1)
    assert "loss at i = 2, 1 step ahead" in sentence and "3.0 orders of magnitude below the nearest" in sentence


def test_w_hh_sources_shares_add_up():
    V = np.log10(np.array([1.0, 1.0, 2.0, 4.0]))  # shares 1, 1 | 2, 4: the first half carries 2/8
    sentence = w_hh_sources_sentence(V)
    assert "step t = 4" in sentence and "carry 25%" in sentence and "75%" in sentence


def test_singular_values_normal_and_not():
    assert "is normal" in singular_values_sentence(np.abs(spectrum(16, 0.9, "normal", 0.5)),
                                                   singular_values(w_hh(16, 0.9, "normal", 0.5, 0.0, 0)))
    W = w_hh(16, 0.9, "nonnormal", 0.5, 5.0, 0)
    sv = singular_values(W)
    sentence = singular_values_sentence(np.abs(spectrum(16, 0.9, "nonnormal", 0.5)), sv)
    assert "not normal" in sentence and f"{sv[0]:.3g}" in sentence and f"{sv[0] / 0.9:.3g} times" in sentence


def test_lag_sentence_at_the_views_default():
    lags, bounds = {}, {}
    for act in ("identity", "tanh", "sigmoid"):
        rnn, X, _ = problem(activation=act)
        lags[act] = log10_lag_norms(factored_step_jacobians(rnn, forward(rnn, X)))
        bounds[act] = log10_norm_bound(0.9, GAMMA[act], np.arange(51))
    sentence = lag_sentence(lags, bounds, sigma1=0.9, gammas=GAMMA)
    assert "every curve stays at or below its bound" in sentence
    assert "identity shrinks to" in sentence and "k = T = 50" in sentence
    lags["tanh"] = bounds["tanh"] + 1.0  # a curve above its bound is said to be
    assert "above its bound: tanh" in lag_sentence(lags, bounds, sigma1=0.9, gammas=GAMMA)


def test_saturation_shares():
    d = np.array([0.0, 0.1, 0.2, 0.9])
    sentence = saturation_sentence(d, gamma=1.0, activation="tanh")
    assert "75% of the 4 values are below γ/2" in sentence and "25% exactly 0" in sentence
    assert "never saturates" in saturation_sentence(np.ones(5), gamma=1.0, activation="identity")


def test_per_step_and_agreement_at_the_views_default():
    rnn, X, Y = problem()
    cmp = compare_strategies(rnn, X, Y, {"full": Full(), "chunked": Truncated(4), "sliding": Truncated(4, "sliding"),
                                         "randomized": Randomized(0.5, 0)})
    sentence = per_step_sentence(cmp.log10_dL_dh, cmp.keys, tau=4)
    full = cmp.log10_dL_dh[0]
    for key, count in zip(("regular", "sliding", "randomized"), numbers(sentence.split(":")[1])):
        row = cmp.log10_dL_dh[["full", "chunked", "sliding", "randomized"].index(
            {"regular": "chunked"}.get(key, key))]
        assert count == np.sum(np.abs(row - full) <= math.log10(1.02))
    agree = agreement_sentence(cmp.keys, cmp.cosine, cmp.relative_error)
    best = max((c, k) for k, c in zip(cmp.keys, cmp.cosine) if k != "full")
    assert f"cos {best[0]:.4f}" in agree.split(";")[0]


def test_regime_from_the_drawn_factors():
    assert regime_sentence(math.log10(0.9), 50).startswith("**Vanishing**")
    assert "2.2 orders of magnitude fewer" in regime_sentence(math.log10(0.9), 50)
    assert regime_sentence(math.log10(1.2), 50).startswith("**Exploding**")
    assert regime_sentence(0.0, 50).startswith("**On the edge**")
    drawn = regime_sentence(0.006, 50, expected=math.log10(0.956))
    assert drawn.startswith("**Exploding**") and "(of their distribution: 0.956)" in drawn


def test_butterfly_at_an_exploding_setting():
    rnn, X, _ = problem(rho=1.2)
    d = butterfly(rnn, X, eps=1e-8, seed=0)
    sentence = butterfly_sentence(d, log_eps=-8)
    change = math.log10(d[-1]) + 8
    assert f"{abs(change):.1f}" in sentence and "more than the ε" in sentence


def test_training_sentence_orders_and_flags_divergence():
    class H:
        def __init__(self, p, diverged=False):
            self.final_valid_perplexity, self.diverged = p, diverged

    sentence = training_sentence({"full": H(6.0), "chunked": H(5.5), "randomized": H(float("nan"), True)},
                                 {"full": "Full", "chunked": "Regular", "randomized": "Randomized"})
    assert sentence.startswith("Final validation perplexity: Regular: 5.50, Full: 6.00")
    assert "0.50 apart" in sentence and "diverged (loss or gradient overflowed): Randomized" in sentence
