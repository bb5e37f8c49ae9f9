"""Every scenario and every tour step says something about a chart: each claim is checked here against
the data the chart draws, at the scenario's setting (its values, the defaults for the rest of its view:
``ui.lecture.setting``, which is what a click applies and what ``holds`` compares with).

A scenario or tour step without a check here fails ``test_every_claim_has_a_check``: a new sentence
cannot reach the screen unchecked. The data come from the core exactly as the views compute them
(``bptt_core.lab_problem`` for the sidebar's model).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bptt_core import (BOOK_FIGURE_SEGMENTS, BOOK_FIGURE_TEXT, Full, Randomized, TrainConfig, Truncated,
                       alignment_with_top_eigenvector, boundaries_from_xi, bptt, butterfly, compare_strategies, eigenvalues,
                       expanded_dL_dh, factored_step_jacobians, forward, lab_problem, log10_gradient_norms,
                       log10_jacobian_norms, log10_lag_norms, log10_power_norms, make_corpus, product_form_dL_dh,
                       regular_boundaries, scalar_sequences, scalar_terms, singular_values, spectrum, step_jacobians,
                       w_hh, xi_from_segments)
from bptt_core.activations import phi_prime
from ui.controls import SHARED
from ui.lecture import setting
from ui.registry import SCENARIOS, TOUR

ALL = [s for scenarios in SCENARIOS.values() for s in scenarios]


def model(values: dict):
    return lab_problem(*(values[k] for k in SHARED))


def log10_terms(values: dict) -> np.ndarray:
    """log10‖term i‖ of the sum for ∂L/∂h₁, i = 1 … T (the chart of 'Recursion = sum')."""
    rnn, X, Y = model(values)
    form = expanded_dL_dh if rnn.activation == "identity" else product_form_dL_dh
    return form(rnn, X, Y).first_terms_log10


def log10_dL_dh(values: dict) -> np.ndarray:
    rnn, X, Y = model(values)
    return log10_gradient_norms(rnn, X, Y).log10_dL_dh


def slope(y: np.ndarray, start: int = 0) -> float:
    """Least-squares slope of y against its index, from ``start`` on."""
    k = np.arange(y.size)[start:]
    return float(np.polyfit(k, y[start:], 1)[0])


def lags(values: dict, activation: str) -> np.ndarray:
    rnn, X, _ = model({**values, "activation": activation})
    return log10_lag_norms(factored_step_jacobians(rnn, forward(rnn, X)))


def power_norms(values: dict) -> tuple[np.ndarray, float]:
    W = w_hh(values["h"], values["rho"], values["kind"], values["spread"], values["nonnormality"], values["seed"])
    return log10_power_norms(W, values["K"]), float(abs(eigenvalues(W)[0]))


# --- the checks, one per scenario (view, label) -------------------------------------------------

def unrolled_vanishing(v):
    # "the term a loss adds to ∂L/∂h₁ shrinks by a factor ρ for every step it travels back"
    terms = log10_terms(v)
    assert slope(terms, start=10) == pytest.approx(math.log10(v["rho"]), rel=0.05)


def unrolled_edge(v):
    # "the farthest loss adds about as much to ∂L/∂h₁ as the nearest one"
    terms = log10_terms(v)
    assert abs(terms[-1] - terms[0]) < 1.0


def unrolled_exploding(v):
    # "‖∂L/∂h_t‖ grows by about a factor ρ per step back, all the way to the first step"
    V = log10_dL_dh(v)
    assert (V[0] - V[-1]) / (V.size - 1) == pytest.approx(math.log10(v["rho"]), rel=0.1)
    assert np.argmax(V) == 0
    assert slope(V[::-1][V.size // 2:]) == pytest.approx(math.log10(v["rho"]), rel=0.1)  # the whole way


def unrolled_tanh(v):
    # "saturated units keep ‖∂L/∂h_t‖ within two orders of magnitude of its size at T, where the identity
    # would grow it like ρ^(T−t)"
    V = log10_dL_dh(v)
    assert np.all(np.abs(V - V[-1]) < 2.0)
    identity = log10_dL_dh({**v, "activation": "identity"})
    assert (identity[0] - identity[-1]) / (identity.size - 1) == pytest.approx(math.log10(v["rho"]), rel=0.05)


def unrolled_sources(v):
    # "every step's share is within an order of magnitude of the others, since δ_t grows going back as
    # fast as the states h_(t−1) shrink"
    rnn, X, Y = model(v)
    norms = log10_gradient_norms(rnn, X, Y)
    shares = norms.log10_W_hh_terms[1:]  # h_0 = 0: the first step's share is exactly zero
    assert shares.max() - shares.min() < 1.0
    half = norms.log10_delta.size // 2
    delta_rate = slope(norms.log10_delta[:half])     # per step forward: δ_t shrinks going forward…
    state_rate = slope(norms.log10_h[1:half + 1])    # …as fast as h_(t−1) grows
    assert delta_rate == pytest.approx(-state_rate, rel=0.2)


def eigen_normal(v):
    # "‖W_hh^k‖ is exactly ρ^k"
    lv, rho = power_norms(v)
    assert np.max(np.abs(lv - np.arange(lv.size) * math.log10(rho))) < 1e-9


def eigen_transient(v):
    # "the powers grow for a while although every eigenvalue is inside the unit circle"
    lv, rho = power_norms(v)
    assert rho < 1 and lv[1:].max() > 0


def eigen_sigma(v):
    # "the normal W_hh's eigenvalues, and a top singular value σ₁ several times ρ"
    normal = spectrum(v["h"], v["rho"], "normal", v["spread"])
    W = w_hh(v["h"], v["rho"], v["kind"], v["spread"], v["nonnormality"], v["seed"])
    assert np.allclose(np.sort_complex(spectrum(v["h"], v["rho"], v["kind"], v["spread"])), np.sort_complex(normal))
    assert singular_values(W)[0] > 3 * v["rho"]


def eigen_exploding(v):
    # "the largest eigenvalues lie outside the unit circle"
    moduli = np.abs(spectrum(v["h"], v["rho"], v["kind"], v["spread"]))
    assert np.sum(moduli > 1) >= 2 and moduli.max() > 1 and np.sum(moduli < 1) > 0


def eigen_power_iteration(v):
    # "M^k x turns towards the top eigenvector"
    W = w_hh(v["h"], v["rho"], v["kind"], v["spread"], v["nonnormality"], v["seed"])
    cos = alignment_with_top_eigenvector(W, v["K"], seed=v["seed"])
    assert cos[0] < 0.5 and cos[-1] > 0.99


def jacobians_vanishing(v):
    # "every activation's product shrinks with every step of lag"
    for act in ("identity", "tanh", "sigmoid"):
        assert np.all(np.diff(lags(v, act)) < 0), act


def jacobians_sigmoid(v):
    # "identity explodes, sigmoid (γ = ¼) still vanishes"
    assert lags(v, "identity")[-1] > 10 and lags(v, "sigmoid")[-1] < -10


def jacobians_saturation(v):
    # "most φ'(a_t) sit below half their largest value γ"
    rnn, X, _ = model(v)
    tr = forward(rnn, X)
    dphi = phi_prime(v["activation"], tr.A, tr.H[1:])
    assert np.mean(dphi < 0.5) > 0.5


def jacobians_every_pair(v):
    # "‖∂h_t/∂h_s‖ grows with the distance t − s"
    rnn, X, _ = model(v)
    M = log10_jacobian_norms(step_jacobians(rnn, forward(rnn, X)))
    for lag in (1, 10, 50):
        assert np.all(np.diagonal(M, -lag) > np.diagonal(M, -lag + 1)[:-1] if lag > 1 else np.diagonal(M, -1) > 0)


def truncation_book(v):
    # "regular cuts every τ characters, randomized ones where a draw stops the flow"
    n = len(BOOK_FIGURE_TEXT)
    lengths = np.diff(regular_boundaries(n, v["tau"]))
    assert np.all(lengths[:-1] == v["tau"]) and 0 < lengths[-1] <= v["tau"]
    xi = xi_from_segments(BOOK_FIGURE_SEGMENTS)  # the book's draw: a cut exactly where ξ_t = 0
    assert list(boundaries_from_xi(xi)) == [0, *(np.flatnonzero(xi[1:] == 0) + 1), n]


def truncation_short(v):
    # "sliding truncation's ∂L/∂h_t only hears the losses of the next τ steps, so it falls short of full BPTT's"
    rnn, X, Y = model(v)
    full = np.log10(np.linalg.norm(bptt(rnn, X, Y).dL_dh, axis=1))
    sliding = np.log10(np.linalg.norm(bptt(rnn, X, Y, Truncated(v["tau"], "sliding")).dL_dh, axis=1))
    early = slice(0, v["T"] - 2 * v["tau"])  # far from the end, where full BPTT hears many more losses
    assert np.all(sliding[early] < full[early])


def truncation_exploding(v):
    # "regular and sliding truncation point roughly the right way but miss most of the gradient's size"
    rnn, X, Y = model(v)
    cmp = compare_strategies(rnn, X, Y, {"full": Full(), "chunked": Truncated(v["tau"]),
                                         "sliding": Truncated(v["tau"], "sliding")})
    for key in ("chunked", "sliding"):
        i = cmp.keys.index(key)
        assert cmp.cosine[i] > 0.9, key
        assert cmp.log10_norm[i] - cmp.log10_norm[0] < math.log10(0.5), key


def truncation_monte_carlo(v):
    # "right on average, yet one draw's exact standard deviation dwarfs the gradient itself"
    from bptt_core.randomized import exact_moments
    rnn, X, Y = model(v)
    m = exact_moments(rnn, X, Y, v["pi"])
    assert m.log10_relative_sigma[0] > 3  # σ of one draw's largest ∂L/∂W_hh entry: over 1000 × the entry itself
    assert 0.5 * m.log10_relative_variance[0] > 3  # and of the whole gradient: over 1000 × ‖g‖


def truncation_price(v):
    # "the smaller π, the larger the exact variance of one draw"
    from bptt_core.randomized import randomized_variance_sweep
    rnn, X, Y = model(v)
    sweep = randomized_variance_sweep(rnn, X, Y, np.linspace(0.1, 1.0, 10))
    assert sweep.total_computed and sweep.computed.all()
    assert np.all(np.diff(sweep.log10_total_variance[:-1]) < 0) and sweep.log10_total_variance[-1] == -np.inf


def scalar_terms_of(v) -> np.ndarray:
    b, c = scalar_sequences(v["T"], v["c"], v["c_noise"], v["seed"])
    return scalar_terms(b, c).log10_abs, c


def scalar_vanishing(v):
    # "old terms shrink geometrically": each step older multiplies a term by c
    L, c = scalar_terms_of(v)
    b = scalar_sequences(v["T"], v["c"], v["c_noise"], v["seed"])[0]
    factor = L - np.log10(np.abs(b))
    assert np.allclose(np.diff(factor), -math.log10(v["c"]))


def scalar_edge(v):
    # "every term keeps the size of its b_i, however old"
    L, _ = scalar_terms_of(v)
    b = scalar_sequences(v["T"], v["c"], v["c_noise"], v["seed"])[0]
    assert np.allclose(L, np.log10(np.abs(b)))


def scalar_exploding(v):
    # "the oldest inputs dominate": the oldest tenth of the terms carry most of their total size
    L, _ = scalar_terms_of(v)
    sizes = 10.0 ** L
    assert sizes[: v["T"] // 5].sum() > 0.5 * sizes.sum()


def scalar_random(v):
    # "the geometric mean of the drawn |c_t| sets the trend, not c"
    L, c = scalar_terms_of(v)
    b = scalar_sequences(v["T"], v["c"], v["c_noise"], v["seed"])[0]
    factor = L - np.log10(np.abs(b))  # log10 Π|c_j| over the steps after i: the oldest term's is the largest sum
    drawn = float(np.mean(np.log10(np.abs(c[1:]))))
    assert (factor[0] - factor[-1]) / (v["T"] - 1) == pytest.approx(drawn, abs=1e-12)
    assert abs(drawn) > 1e-3  # the drawn trend is not log10 c = 0


def scalar_butterfly(v):
    # "the two runs part like ρ^t"
    rnn, X, _ = model(v)
    d = np.log10(butterfly(rnn, X, eps=10.0 ** v["log_eps"], seed=v["seed"]))
    assert slope(d, start=10) == pytest.approx(math.log10(v["rho"]), rel=0.05)


def training_comparison(v):
    # "the two truncations side by side, full BPTT for reference": what the run trains
    assert v["train_full"] and v["train_chunked"] and v["train_randomized"] and v["match_pi"]


def _gradient_norms(v, updates: int = 60) -> np.ndarray:
    from bptt_core import Trainer
    from bptt_core.text import FALLBACK_TEXT, preprocess
    corpus = make_corpus(preprocess(FALLBACK_TEXT * 20))
    config = TrainConfig(hidden=v["train_h"], num_steps=v["train_T"], batch_size=8, theta=None, epochs=50,
                         init_rho=v["init_rho"] if v["init_at_rho"] else None, activation=v["train_activation"],
                         seed=v["seed"], valid_every=10_000, prefix="the")
    norms = []
    for update in Trainer(corpus, config).updates():
        norms.append(update.grad_norm)
        if len(norms) == updates:
            break
    return np.array(norms)


def training_exploding(v):
    # "Exploding, ρ₀ … watch ‖g‖" (and the tour: "watch ‖g‖ spike far above θ")
    g = _gradient_norms(v)
    assert g.max() > 10 * 1.0


def training_book_run(v):
    # "the book's d2l-1.0 pipeline and setting: … full BPTT": every setting that shapes the run is the book's
    from bptt_core import D2L_1_0
    assert v["pipeline"] == D2L_1_0["pipeline"] and v["train_h"] == D2L_1_0["hidden"]
    assert v["train_T"] == D2L_1_0["num_steps"] and v["epochs"] == D2L_1_0["epochs"]
    assert v["lr"] == D2L_1_0["lr"] and v["theta"] == D2L_1_0["theta"] and v["clip"]
    assert v["optimizer"] == D2L_1_0["optimizer"] and v["train_activation"] == D2L_1_0["activation"]
    assert not v["init_at_rho"] and v["train_full"] and not (v["train_chunked"] or v["train_sliding"]
                                                               or v["train_randomized"])


def training_book_cells(v):
    # "the book's d2l-1.0 pipeline with its GRU and LSTM sections' setting: … full BPTT, the two cells …"
    from bptt_core import D2L_1_0
    from bptt_core.gated_train import BOOK_CELL_SETTINGS
    assert v["train_gru"] and v["train_lstm"] and not v["train_rnn"]
    for cell in ("gru", "lstm"):
        assert v["lr"] == BOOK_CELL_SETTINGS[cell]["lr"] and v["epochs"] == BOOK_CELL_SETTINGS[cell]["epochs"]
    assert v["pipeline"] == D2L_1_0["pipeline"] and v["train_h"] == D2L_1_0["hidden"]
    assert v["train_T"] == D2L_1_0["num_steps"] and v["theta"] == D2L_1_0["theta"] and v["clip"]
    assert v["optimizer"] == D2L_1_0["optimizer"] and not v["init_at_rho"]
    assert v["train_full"] and not (v["train_chunked"] or v["train_sliding"] or v["train_randomized"])


# --- gates against vanishing: the lag curves as views/gates.py computes them ------------------------

def gate_lags(v) -> dict:
    from bptt_core import GatedJacobians, gated_forward, gated_like_rnn
    rnn, X, _ = model(v)
    out = {"RNN": log10_lag_norms(factored_step_jacobians(rnn, forward(rnn, X)))}
    for cell, name, bias in (("gru", "GRU", "b_z"), ("lstm", "LSTM", "b_f")):
        net = gated_like_rnn(cell, rnn, {bias: v[bias]}, seed=v["seed"])
        out[name] = log10_lag_norms(GatedJacobians(net, gated_forward(net, X)))
    return out


def gate_values(v, cell: str, gate: str) -> np.ndarray:
    from bptt_core import gated_forward, gated_like_rnn
    rnn, X, _ = model(v)
    bias = {"b_f": v["b_f"]} if cell == "lstm" else {"b_z": v["b_z"]}
    return gated_forward(gated_like_rnn(cell, rnn, bias, seed=v["seed"]), X).gates[gate]


def gates_half_shut(v):
    # "the LSTM's forget gates sit near ½, and a change of its state fades over the T steps faster than the RNN's"
    assert abs(gate_values(v, "lstm", "f").mean() - 0.5) < 0.1
    lags_ = gate_lags(v)
    assert lags_["LSTM"][-1] < lags_["RNN"][-1]


def gates_open(v):
    # "the LSTM keeps more of a change of its state across all T steps than the RNN"
    lags_ = gate_lags(v)
    assert lags_["LSTM"][-1] > lags_["RNN"][-1]


def gates_carousel(v):
    # "the RNN loses a change of its state by tens of orders of magnitude over T steps; … the LSTM keeps all of it"
    lags_ = gate_lags(v)
    assert lags_["RNN"][-1] < -20 and lags_["LSTM"].min() >= -1e-9


def gates_gru_copies(v):
    # "the GRU's update gates are nearly one, H_t ≈ H_{t−1}, and its lag curve stays within an order of magnitude of one"
    assert gate_values(v, "gru", "z").mean() > 0.99
    assert np.abs(gate_lags(v)["GRU"]).max() < 1


def gates_forget_near_one(v):
    # "nearly every F_t is above nine tenths"
    assert np.mean(gate_values(v, "lstm", "f") > 0.9) > 0.95


def tour_gates_carousel(v):
    # "The RNN's curve falls by tens of orders of magnitude; the LSTM's stays level … drag b_f down to zero: it falls too"
    gates_carousel(v)
    lags_ = gate_lags(v)
    assert np.ptp(lags_["LSTM"]) < 2
    assert gate_lags(dict(v, b_f=0.0))["LSTM"][-1] < -10


CHECKS = {
    ("unrolled", "Vanishing, ρ = {rho:g}"): unrolled_vanishing,
    ("unrolled", "Edge, ρ = {rho:g}"): unrolled_edge,
    ("unrolled", "Exploding, ρ = {rho:g}"): unrolled_exploding,
    ("unrolled", "tanh saturation, ρ = {rho:g}"): unrolled_tanh,
    ("unrolled", "Where ∂L/∂Wₕₕ comes from, ρ = {rho:g}"): unrolled_sources,
    ("eigenvalues", "Normal, ρ = {rho:g}"): eigen_normal,
    ("eigenvalues", "Non-normal transient growth"): eigen_transient,
    ("eigenvalues", "σ₁ above ρ"): eigen_sigma,
    ("eigenvalues", "Exploding, ρ = {rho:g}"): eigen_exploding,
    ("eigenvalues", "Power iteration"): eigen_power_iteration,
    ("jacobians", "Vanishing, ρ = {rho:g}"): jacobians_vanishing,
    ("jacobians", "Sigmoid's ¼, ρ = {rho:g}"): jacobians_sigmoid,
    ("jacobians", "tanh saturation, ρ = {rho:g}"): jacobians_saturation,
    ("jacobians", "Exploding, every pair"): jacobians_every_pair,
    ("truncation", "The book's figure"): truncation_book,
    ("truncation", "Short truncation, τ = {tau}"): truncation_short,
    ("truncation", "Exploding, ρ = {rho:g}"): truncation_exploding,
    ("truncation", "Unbiased but noisy, π = {pi:g}"): truncation_monte_carlo,
    ("truncation", "The price of π"): truncation_price,
    ("scalar", "Vanishing, c = {c:g}"): scalar_vanishing,
    ("scalar", "Edge, c = {c:g}"): scalar_edge,
    ("scalar", "Exploding, c = {c:g}"): scalar_exploding,
    ("scalar", "Random cₜ, c = {c:g} ± {c_noise:g}"): scalar_random,
    ("scalar", "Butterfly, ρ = {rho:g}"): scalar_butterfly,
    ("gates", "Half shut, b_f = {b_f:g}"): gates_half_shut,
    ("gates", "Open, b_f = {b_f:g}"): gates_open,
    ("gates", "Carousel, b_f = {b_f:g}"): gates_carousel,
    ("gates", "GRU copies, b_z = {b_z:g}"): gates_gru_copies,
    ("gates", "Gate heatmap, b_f = {b_f:g}"): gates_forget_near_one,
    ("training", "Regular vs random, τ = {tau}"): training_comparison,
    ("training", "ρ₀ = {init_rho:g}, no clipping"): training_exploding,
    ("training", "ρ₀ = {init_rho:g}, clipped at θ = {theta:g}"): training_exploding,
    ("training", "Book: {pipeline}"): training_book_run,
    ("training", "Book: GRU, LSTM"): training_book_cells,
}


# --- the tour: what each step adds to its scenario's caption ------------------------------------

def tour_unrolled_vanishing(v):
    unrolled_vanishing(v)  # "the term a loss adds shrinks by a factor ρ per step"


def tour_unrolled_exploding(v):
    unrolled_exploding(v)  # "climbs as steeply as the dashed ρ^(T−t) line, all the way to the first step"


def tour_transient(v):
    # "yet ‖W_hh^k‖ first climbs far above one: … rise, then fall parallel to the dashed ρ^k line, far above it"
    lv, rho = power_norms(v)
    gap = lv - np.arange(lv.size) * math.log10(rho)
    assert lv.max() > 1 and rho < 1
    assert slope(lv, start=lv.size * 3 // 4) == pytest.approx(math.log10(rho), rel=0.01)
    assert gap[1:].min() > 0.5


def tour_power_iteration(v):
    eigen_power_iteration(v)  # "the cosine climbs to one"


def tour_sigmoid(v):
    # "… its dashed bound, with σ₁γ below one, falls too"
    jacobians_sigmoid(v)
    W = w_hh(v["h"], v["rho"], v["kind"], v["spread"], v["nonnormality"], v["seed"])
    assert singular_values(W)[0] * 0.25 < 1


def tour_saturation(v):
    # "most φ'(a_t) sit far below γ = 1 … this is why tanh's product grows so much less than the identity's"
    jacobians_saturation(v)
    assert lags(v, "identity")[-1] - lags(v, "tanh")[-1] > 10


def tour_monte_carlo(v):
    # "one draw's variance is enormous … the σ the draws estimate … is orders of magnitude too small"
    truncation_monte_carlo(v)
    from bptt_core.randomized import randomized_statistics
    rnn, X, Y = model(v)
    stats = randomized_statistics(rnn, X, Y, v["pi"], samples=v["samples"], seed=v["seed"])
    assert stats.log10_sigma_ratio > 3 and stats.inside_sample_band < 0.5  # "its band misses … for most n"


def tour_scalar_exploding(v):
    # "every step back multiplies a term by c, so the oldest terms are the tallest bars"
    L, _ = scalar_terms_of(v)
    assert np.argmax(L) < v["T"] // 10


TOUR_CHECKS = [tour_unrolled_vanishing, tour_unrolled_exploding, tour_transient, tour_power_iteration,
               tour_sigmoid, tour_saturation, truncation_book, tour_monte_carlo, tour_scalar_exploding,
               scalar_butterfly, tour_gates_carousel, training_comparison, training_exploding]


def test_every_claim_has_a_check():
    assert set(CHECKS) == {(s.view, s.label) for s in ALL}
    assert len(TOUR_CHECKS) == len(TOUR)


@pytest.mark.parametrize("scenario", ALL, ids=[f"{s.view}-{s.title}" for s in ALL])
def test_scenario_says_what_its_data_show(scenario):
    CHECKS[(scenario.view, scenario.label)](setting(scenario))


@pytest.mark.parametrize("index", range(len(TOUR)), ids=[f"{i + 1}-{t.scenario.title}" for i, t in enumerate(TOUR)])
def test_tour_step_says_what_its_data_show(index):
    TOUR_CHECKS[index](setting(TOUR[index].scenario))
