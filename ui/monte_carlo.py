"""The truncation view's Monte-Carlo sections: randomized gradients drawn, against their exact statistics.

The one place where what the draws show and what is true part ways: E[ξ²] = 1/π makes the variance
of one draw grow along every unbroken run, and where ρ²/π > 1 the σ the draws estimate themselves
falls short of the truth by orders of magnitude. The band and the variance curve are drawn from the
core's exact moments (``bptt_core.randomized``); the sentences under the charts say, from the
same numbers, what the draws can and cannot show.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from bptt_core.randomized import affordable_samples, randomized_statistics, randomized_variance_sweep
from charts.randomized import (mc_coordinate_figure, mc_error_figure, monte_carlo_findings, variance_figure,
                               variance_findings)
from ui.compute import problem
from ui.controls import MIN_PI, Model
from ui.figures import show_chart

SWEEP_PIS = tuple(round(MIN_PI * k, 2) for k in range(1, 21))  # π's floor … 1: where the variance blows up shows


@st.cache_data(max_entries=32, show_spinner="Drawing randomized gradients…")
def monte_carlo_stats(model: Model, pi: float, samples: int):
    """S randomized gradients' running statistics, with the exact σ beside the draws' own (when affordable)."""
    rnn, X, Y = problem(model)
    return randomized_statistics(rnn, X, Y, pi, samples=samples, seed=model.seed)


@st.cache_data(max_entries=32, show_spinner="Computing the exact variance for every π…")
def variance_sweep(model: Model):
    """The exact variance of one randomized gradient for every π of SWEEP_PIS (as many as the budget allows)."""
    rnn, X, Y = problem(model)
    return randomized_variance_sweep(rnn, X, Y, SWEEP_PIS)


def monte_carlo_section(model: Model, pi: float, samples: int) -> None:
    """The running mean of S draws against the exact gradient, and the band from the exact σ."""
    S = affordable_samples(model.T, model.h, samples)
    stats = monte_carlo_stats(model.canonical(), pi, S)
    if not stats.exact_finite:
        st.warning("The exact gradient overflowed float64 (or is exactly zero) at these settings, so there is "
                   "nothing finite to compare the randomized draws with. Lower ρ or T"
                   + (", or choose a saturating φ." if model.activation in ("identity", "relu") else "."))
        return
    if S < samples:
        st.info(f"{samples} draws at T = {model.T}, h = {model.h} would take too long here (each is a full backward "
                f"pass); using {S} draws, the most that fit the page's time budget.")
    if stats.finite_samples < S:
        st.warning(f"{S - stats.finite_samples} of {S} draws overflowed float64 (a long unbroken run scaled by "
                   f"1/π = {1 / pi:.3g} at every step grows fast); running averages stop where the first did.")
    exact_band = stats.exact_coordinate_band if stats.exact_available else None
    show_chart(mc_coordinate_figure(stats.n, stats.coordinate_ratio, stats.coordinate_band, pi=pi,
                                    exact_band=exact_band),
               key="truncation_mc_coordinate",
               caption=f"One coordinate, the largest entry of ∂L/∂Wₕₕ: the running mean of the first n of {S} "
                       f"randomized gradients (π = {pi:g}) divided by its exact value, with the band 1 ± 2σ/√n "
                       + ("from the exact σ of one draw (shaded) and from the σ the draws estimate (dotted)."
                          if exact_band is not None else "from the σ the draws estimate (the exact σ would take "
                                                         "too long at this size)."))
    for sentence in monte_carlo_findings(stats):
        st.markdown(sentence)
    exact_error = stats.exact_expected_error if stats.exact_total_available else None
    show_chart(mc_error_figure(stats.n, stats.relative_error, stats.expected_error,
                               running_cosine=stats.running_cosine, pi=pi, exact_expected_error=exact_error),
               key="truncation_mc_error",
               caption="The whole gradient: relative error ‖ḡₙ − g‖/‖g‖ of the mean of the first n draws, with the "
                       "root-mean-square error the exact variance predicts"
                       + (" and the one the draws' own variance predicts." if exact_error is not None else
                          " (the draws' own estimate: the exact total variance would take too long here).")
                       + " Hover for the cosine between the running mean and the exact gradient.")


def variance_section(model: Model, pi: float) -> None:
    """The exact variance of one draw against π, with the current π marked."""
    sweep = variance_sweep(model.canonical())
    if not np.isfinite(sweep.log10_relative_variance).any() and not np.isfinite(
            sweep.log10_coordinate_relative_variance).any():
        st.info(f"The exact variance would take too long at T = {model.T}, h = {model.h} (its cost grows as T·h³): "
                "lower T or h to see it.", icon=":material/hourglass_disabled:")
        return
    total = bool(sweep.total_computed)
    values = sweep.log10_relative_variance if total else sweep.log10_coordinate_relative_variance
    show_chart(variance_figure(sweep.pi, values, current_pi=pi, rho_eff=sweep.rho_eff,
                               what="tr Cov(g) / ‖g‖²" if total else "Var(gⱼ) / gⱼ²"),
               key="truncation_mc_variance",
               caption=f"The exact variance of one randomized gradient, relative to the squared exact gradient, for π "
                       f"from {SWEEP_PIS[0]} to {SWEEP_PIS[-1]} (π = 1 is full BPTT: no variance); the star is the "
                       f"page's π = {pi:g}. Computed from the moments of ξ (E[ξ] = 1, E[ξ²] = 1/π), not from draws.")
    for sentence in variance_findings(sweep, pi):
        st.markdown(sentence)
