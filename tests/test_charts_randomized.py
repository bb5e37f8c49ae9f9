"""Chart builders of randomized truncation (charts/randomized.py): the Monte-Carlo figures drawn from
the exact σ and the exact total variance beside the draws' own estimates, the exact variance against
π with the blow-up marked, no inf/NaN in any trace, and the sentences that say what the charts show,
checked against the data at the lab's scenario (T = 50 and 100, h = 16, identity φ, ρ = 0.9)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from bptt_core import toy_problem
from bptt_core.randomized import randomized_statistics, randomized_variance_sweep, sampled_variance_sweep
from charts.randomized import (blow_up_pi, mc_coordinate_figure, mc_error_figure, monte_carlo_findings,
                               power_of_ten, variance_figure, variance_findings)
from charts.style import STRATEGIES
from tests.page_charts import nonfinite_values

PIS = tuple(round(0.05 * k, 2) for k in range(1, 21))


nonfinite = nonfinite_values


@pytest.fixture(scope="module", params=[(50, 0.2), (50, 0.8), (100, 0.2), (100, 0.8)],
                ids=lambda p: f"T{p[0]}-pi{p[1]}")
def scenario(request):
    """The truncation view's Monte-Carlo scenario: toy_problem(T, 16, identity, ρ = 0.9, seed 0), 1000 draws."""
    T, pi = request.param
    rnn, X, Y = toy_problem(T, 16, "identity", 0.9, 0)
    return T, pi, randomized_statistics(rnn, X, Y, pi, samples=1000, seed=0)


def test_monte_carlo_figures_draw_the_exact_quantities(scenario):
    T, pi, st = scenario
    assert st.exact_available and st.exact_total_available
    err = mc_error_figure(st.n, st.relative_error, st.expected_error, running_cosine=st.running_cosine, pi=pi,
                          exact_expected_error=st.exact_expected_error)
    assert err.layout.xaxis.type == "log" and err.layout.yaxis.type == "log"
    names = [t.name for t in err.data]
    assert names[0].startswith("Exact RMS error") and "draws" in names[1]
    exact_line = np.asarray(err.data[0].y, dtype=float)
    np.testing.assert_allclose(exact_line, st.exact_expected_error, rtol=1e-12)
    assert err.data[-1].name.startswith(STRATEGIES["randomized"]["name"].replace("π", f"π = {pi:g}"))
    coord = mc_coordinate_figure(st.n, st.coordinate_ratio, st.coordinate_band, exact_band=st.exact_coordinate_band,
                                 pi=pi)
    band = coord.data[0]
    assert "σ exact" in band.name and band.fill == "toself"
    assert any("estimated from the draws" in t.name for t in coord.data)
    lo, hi = coord.layout.yaxis.range
    upper = np.asarray(band.y, dtype=float)[:st.samples]
    want = 1 + np.minimum(st.exact_coordinate_band, hi - 1 + (hi - 1))
    np.testing.assert_allclose(upper, want, rtol=1e-12)      # the exact band, cut at twice the view
    for fig in (err, coord):
        assert nonfinite(fig) == 0
        assert fig.layout.title.text and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
        # A title names what is drawn, it claims nothing the data might contradict.
        assert not re.search(r"approach|stays|inside|converge", fig.layout.title.text)


def test_findings_match_the_data(scenario):
    T, pi, st = scenario
    text = " ".join(monte_carlo_findings(st))
    rel, ratio = st.log10_exact_relative_sigma, st.log10_sigma_ratio
    if pi == 0.2:
        # The issue's numbers: σ of one draw 10¹² |g_j| (T = 50), 10²⁷ (T = 100); the draws' σ misses by as much.
        assert rel > 10 and ratio > 10
        assert f"is {power_of_ten(rel)} times the gradient coordinate" in text
        assert "1000 draws cannot show the mean" in text
        assert f"{power_of_ten(ratio)} times too small" in text
        assert f"for {100 * st.inside_sample_band:.0f} % of n" in text
        assert st.inside_sample_band < 0.1 and st.inside_exact_band == 1.0
        assert st.coordinate_ratio[-1] < 0.7   # the running mean is far from g_j at n = 1000
    else:
        assert f"inside the exact ±2σ/√n band for {100 * st.inside_exact_band:.0f} % of n" in text
        assert st.inside_exact_band >= 0.9
        assert f"{power_of_ten(rel)} × |gⱼ|" in text
        assert "cannot show" not in text


def test_power_of_ten_text():
    assert power_of_ten(12.1) == "10¹²" and power_of_ten(-5.4) == "10⁻⁵" and power_of_ten(0.3) == "2"
    assert power_of_ten(float("inf")) == "∞" and power_of_ten(float("-inf")) == "0"


def test_findings_without_the_exact_sigma_say_so():
    rnn, X, Y = toy_problem(30, 8, "identity", 0.9, 0)
    st = randomized_statistics(rnn, X, Y, 0.3, samples=100, seed=0, exact=False)
    text = " ".join(monte_carlo_findings(st))
    assert "not computed" in text and "draws estimate" in text


@pytest.mark.parametrize("T", [50, 100])
def test_variance_figure_from_the_exact_sweep(T):
    rnn, X, Y = toy_problem(T, 16, "identity", 0.9, 0)
    sweep = randomized_variance_sweep(rnn, X, Y, PIS)
    sampled = sampled_variance_sweep(rnn, X, Y, PIS, samples=100, seed=0)
    fig = variance_figure(sweep.pi, sweep.log10_relative_variance, current_pi=0.2, rho_eff=sweep.rho_eff,
                          sampled=sampled.log10_relative_variance)
    exact = next(t for t in fig.data if t.name.endswith(": exact"))
    assert len(exact.x) == len(PIS) - 1                          # π = 1: variance 0, no logarithm
    assert np.all(np.diff(np.asarray(exact.y, dtype=float)) < 0)  # monotone: smaller π, more variance
    star = next(t for t in fig.data if "slider" in t.name)
    assert star.y[0] == pytest.approx(sweep.log10_relative_variance[PIS.index(0.2)])
    cross = blow_up_pi(sweep.pi, sweep.log10_relative_variance)
    diamond = next(t for t in fig.data if t.name.startswith("passes ‖g‖²"))
    assert diamond.x[0] == pytest.approx(cross) and 0.75 < cross < 0.9
    assert any(a.text.startswith("π = ρ̄²") for a in fig.layout.annotations)
    assert any("Estimated from draws" in t.name for t in fig.data)
    assert nonfinite(fig) == 0
    text = " ".join(variance_findings(sweep, 0.2))
    at = sweep.log10_relative_variance[PIS.index(0.2)]
    assert f"At π = 0.2 the variance of one draw is {power_of_ten(at)} × ‖g‖²" in text
    assert f"below π ≈ {cross:.2f}" in text and f"ρ̄² = {sweep.rho_eff ** 2:.2f}" in text


def test_blow_up_pi():
    assert blow_up_pi([0.2, 0.4, 0.6], [2.0, 1.0, -1.0]) == pytest.approx(0.5)
    assert math.isnan(blow_up_pi([0.2, 0.4], [-1.0, -2.0])) and math.isnan(blow_up_pi([0.2, 0.4], [2.0, 1.0]))
    assert blow_up_pi([0.5, 1.0], [1.0, -np.inf]) == 1.0


def test_figures_without_the_exact_arguments_keep_the_old_calls():
    rnn, X, Y = toy_problem(20, 6, "tanh", 1.0, 2)
    st = randomized_statistics(rnn, X, Y, 0.5, samples=200, seed=3)
    err = mc_error_figure(st.n, st.relative_error, st.expected_error, running_cosine=st.running_cosine, pi=0.5)
    assert err.data[-1].line.color == STRATEGIES["randomized"]["color"]
    coord = mc_coordinate_figure(st.n, st.coordinate_ratio, st.coordinate_band, pi=0.5)
    names = [t.name for t in coord.data]
    assert any("±" in n for n in names) and any(STRATEGIES["full"]["name"] in n for n in names)
    sweep = sampled_variance_sweep(rnn, X, Y, np.linspace(0.1, 1.0, 10), samples=50, seed=3)
    var = variance_figure(sweep.pi, sweep.log10_relative_variance, current_pi=0.5,
                          current_value=st.log10_relative_variance, samples=50)
    assert len(var.data[0].x) == 9 and "50 draws per π" in var.data[0].name
    assert any("π = 1" in a.text for a in var.layout.annotations)
    for fig in (err, coord, var):
        assert nonfinite(fig) == 0


def test_monte_carlo_figures_survive_nan_inputs():
    n = np.arange(1, 11)
    nan = np.full(10, np.nan)
    for fig in (mc_error_figure(n, nan, nan, exact_expected_error=nan), mc_coordinate_figure(n, nan, nan),
                mc_coordinate_figure(n, nan, nan, exact_band=np.full(10, np.inf)),
                variance_figure(np.linspace(0.1, 1, 10), np.full(10, -np.inf), rho_eff=float("nan")),
                variance_figure(np.linspace(0.1, 1, 10), np.full(10, np.nan), current_pi=0.5)):
        assert nonfinite(fig) == 0
