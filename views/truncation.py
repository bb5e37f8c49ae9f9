# Truncation strategies: the book's figure over The Time Machine, the gradients of
# full, chunked, sliding and randomized BPTT on the lab's problem, and the Monte-Carlo
# behaviour of randomized truncation (unbiased, but with a variance that grows as π falls).

import os
from typing import NamedTuple

import numpy as np
import pandas as pd
import streamlit as st

from bptt_core import (BOOK_FIGURE_SEGMENTS, BOOK_FIGURE_TEXT, Full, Randomized, Truncated,
                       boundaries_from_xi, chunked_xi_sweep, compare_strategies, full_boundaries,
                       log10_dL_dh_sweep, randomized_boundaries, randomized_xi_sweep, regular_boundaries,
                       toy_problem, xi_from_segments)
from bptt_core.randomized import (WORK_BUDGET, affordable_samples, randomized_statistics,
                                 randomized_variance_sweep)
from bptt_core.text import ENV_VAR, FALLBACK_TEXT, load_time_machine, preprocess
from charts.animation import sweep_animation
from charts.style import STRATEGIES
from charts.randomized import mc_coordinate_figure, mc_error_figure, variance_figure
from charts.truncation import agreement_figure, gradient_norms_figure, truncation_figure
from ui.controls import Model, shared_controls, value, widget
from ui.figures import show_chart
from ui.messages import overflow_message
from ui.own_data import OWN_TEXT, own_input, own_text_panel
from ui.lecture import scenario_buttons
from ui.sections import open_tab_only
from ui.text import explain

MAX_FIGURE_CHARS = 80         # more characters than this no longer fit a readable row
OPENING_CHARS = 200           # how much of the preprocessed text the figure can draw from
SWEEP_PIS = tuple(round(0.1 * k, 1) for k in range(1, 11))
SWEEP_MIN_SAMPLES = 200       # draws per π in the sweep, when affordable
KEYS = ("full", "chunked", "sliding", "randomized")
DRAW_KEY = "truncation_draw"  # session counter bumped by "Resample"
ANIMATION_TAUS = tuple(range(1, 21))                          # the frames of "Animate τ and π"
ANIMATION_PIS = tuple(round(0.05 * k, 2) for k in range(1, 21))


# --- cached adapters: plain parameters in, plain values or core dataclasses out ---------------

@st.cache_data(max_entries=4, show_spinner=False)
def book_opening(env_value: str) -> tuple[str, str, str, str]:
    # (preprocessed opening, source, detail, problem); env_value is the cache key only.
    try:
        loaded = load_time_machine()
    except (OSError, ValueError) as exc:
        return preprocess(FALLBACK_TEXT)[:OPENING_CHARS], "fallback", "", str(exc)
    return preprocess(loaded.text)[:OPENING_CHARS], loaded.source, loaded.detail, ""


@st.cache_data(max_entries=32, show_spinner=False)
def figure_rows(n: int, tau: int, pi: float, seed: int, book: bool) -> dict:
    randomized = (boundaries_from_xi(xi_from_segments(BOOK_FIGURE_SEGMENTS)) if book
                  else randomized_boundaries(n, pi, seed))
    return {"randomized": randomized, "chunked": regular_boundaries(n, tau), "full": full_boundaries(n)}


@st.cache_data(max_entries=32, show_spinner="Computing the four gradients…")
def comparison(T: int, h: int, activation: str, rho: float, seed: int, tau: int, pi: float):
    rnn, X, Y = toy_problem(T, h, activation, rho, seed)
    strategies = {"full": Full(), "chunked": Truncated(tau), "sliding": Truncated(tau, "sliding"),
                  "randomized": Randomized(pi, seed)}
    return compare_strategies(rnn, X, Y, strategies)


@st.cache_data(max_entries=32, show_spinner="Drawing randomized gradients…")
def monte_carlo_stats(T: int, h: int, activation: str, rho: float, seed: int, pi: float, samples: int):
    rnn, X, Y = toy_problem(T, h, activation, rho, seed)
    return randomized_statistics(rnn, X, Y, pi, samples=samples, seed=seed)


@st.cache_data(max_entries=32, show_spinner="Sweeping π…")
def variance_sweep(T: int, h: int, activation: str, rho: float, seed: int, samples: int):
    rnn, X, Y = toy_problem(T, h, activation, rho, seed)
    return randomized_variance_sweep(rnn, X, Y, SWEEP_PIS, samples=samples, seed=seed)


@st.cache_data(max_entries=16, show_spinner="Computing every frame…")
def strategy_sweeps(T: int, h: int, activation: str, rho: float, seed: int) -> dict:
    # Full, then one row per τ, then one per π (the same draws as Randomized(π, seed)): one backward pass.
    rnn, X, Y = toy_problem(T, h, activation, rho, seed)
    taus, pis = chunked_xi_sweep(T, ANIMATION_TAUS), randomized_xi_sweep(T, ANIMATION_PIS, seed)
    V = log10_dL_dh_sweep(rnn, X, Y, np.vstack([np.ones((1, T)), taus, pis]))
    n = len(ANIMATION_TAUS)
    return {"full": V[0], "tau": (taus, V[1:1 + n]), "pi": (pis, V[1 + n:])}


def resample():
    st.session_state[DRAW_KEY] = st.session_state.get(DRAW_KEY, 0) + 1
    st.session_state["book_draw"] = False  # a fresh draw replaces the book's


# --- the page ----------------------------------------------------------------------------------

st.title("Truncation strategies")
scenario_buttons("truncation")
explain(
    "Full BPTT lets the gradient flow back through every step; **regular truncation** cuts it every τ "
    "steps; **randomized truncation** (Tallec & Ollivier) cuts it at random, with probability 1 − π at each "
    "step, and scales what survives by 1/π so that the estimate is right *on average*. Below: where each "
    "strategy cuts a text, how far its gradient is from the exact one on the lab's network, and what the "
    "randomized estimate costs in variance.",
    r"z_t = \frac{\partial f(x_t, h_{t-1}, w_h)}{\partial w_h} + \xi_t\,"
    r"\frac{\partial f(x_t, h_{t-1}, w_h)}{\partial h_{t-1}}\, z_{t-1}",
    r"P(\xi_t = 0) = 1 - \pi,\qquad P\!\left(\xi_t = \tfrac{1}{\pi}\right) = \pi,\qquad "
    r"E[\xi_t] = (1-\pi)\cdot 0 + \pi \cdot \tfrac{1}{\pi} = 1",
)

row = st.columns(2)


class Settings(NamedTuple):
    model: Model
    tau: int
    pi: float


def settings() -> Settings:
    """The sidebar's model and the row's τ and π (drawn by the open tab's fragment)."""
    return Settings(shared_controls(), widget("tau", row[0]), widget("pi", row[1]))


def book_figure_inputs():
    """What the book's figure takes from the user rather than from the sliders, drawn above its
    fragment (changing one reruns the page; a slider move leaves them be): your own text, where the
    text comes from, the book's draw and Resample."""
    own_text_panel()
    own, _ = own_input(OWN_TEXT)
    if own is None:
        _, source, detail, problem = book_opening(os.environ.get(ENV_VAR, ""))
        if problem:
            st.warning(f"The copy of The Time Machine named by {ENV_VAR} could not be used: {problem} "
                       "The figure shows the project's own short text instead.")
        elif source == "fallback":
            st.info(detail + " Set " + ENV_VAR + " to a local copy of the book's timemachine.txt to see the "
                    "book's text; the book's draw below still shows the 29 characters of its figure.")
    controls_left, controls_right = st.columns([3, 1])
    with controls_left:
        widget("book_draw")
    with controls_right:
        st.button("Resample", key="truncation_resample", on_click=resample, icon=":material/casino:",
                  help="A new randomized draw (the seed from the sidebar, combined with a draw counter).")


def book_figure_tab(s: Settings):
    T, seed, tau, pi = s.model.T, s.model.seed, s.tau, s.pi
    own, _ = own_input(OWN_TEXT)
    opening = own.processed[:OPENING_CHARS] if own is not None else book_opening(os.environ.get(ENV_VAR, ""))[0]
    book = value("book_draw")  # its toggle is drawn above the fragment (book_figure_inputs)
    draw = st.session_state.get(DRAW_KEY, 0)
    if book and own is not None and len(opening) < len(BOOK_FIGURE_TEXT):
        st.caption(f"Your text has {len(opening)} letters and spaces, fewer than the {len(BOOK_FIGURE_TEXT)} of the "
                   "book's draw: a fresh random draw is shown instead.")
        book = False
    if book:
        n = len(BOOK_FIGURE_TEXT)
        text = opening[:n] if opening.startswith(BOOK_FIGURE_TEXT) or own is not None else BOOK_FIGURE_TEXT
        random_label = "Randomized (the book's draw)"
        caption = (f"The book's figure over {'your text' if own is not None else 'The Time Machine'}: its three "
                   "rows over the first 29 characters. The "
                   "randomized row is the book's own draw (the|␣time|␣m|achine␣|by|␣h␣g|␣wel|ls), the regular row "
                   f"cuts every τ = {tau} characters, and full BPTT is one segment. Gradient flows inside a box, "
                   "never into the box before it. Turn off the book's draw (or press Resample) for a fresh "
                   "random draw.")
    else:
        n = min(T, MAX_FIGURE_CHARS, len(opening))
        text = opening[:n]
        random_label = f"Randomized (π = {pi:g})"
        caption = (f"The first {n} characters of the preprocessed text (T = {T}, at most {MAX_FIGURE_CHARS} so a "
                   "row stays readable), with ␣ for a space; each box is a segment through which the gradient "
                   f"flows. Randomized: π = {pi:g}, draw {draw} of seed {seed}.")
    rows = figure_rows(n, tau, pi, seed + 10_000 * draw, book)
    fig = truncation_figure(text, rows, row_labels={"randomized": random_label, "chunked": f"Regular (τ = {tau})",
                                                    "full": "Full"})
    show_chart(fig, key="truncation_figure", caption=caption)


def overflow_notes(cmp, T: int) -> None:
    """Full BPTT's overflow if it had one, else the first strategy's that did (1/π scaling can overflow alone)."""
    for key in sorted(cmp.keys, key=lambda k: k != "full"):
        message = overflow_message(*cmp.overflow_steps(key), T)
        if message:
            st.warning(message if key == "full" else f"{STRATEGIES[key]['name']}: {message}")
            break


def per_step_tab(s: Settings):
    (T, h, activation, rho, seed), tau, pi = s
    cmp = comparison(T, h, activation, rho, seed, tau, pi)
    overflow_notes(cmp, T)
    if not cmp.finite.all() and cmp.log_space.any():
        st.caption("Where float64 overflowed, the per-step norms of full, regular and randomized truncation are "
                   "recomputed in log space; sliding truncation has no log-space version, so its overflowed "
                   "steps are left out.")
    show_chart(gradient_norms_figure(cmp.log10_dL_dh, cmp.keys, log_space=cmp.log_space), key="truncation_norms",
               caption=f"Four gradients of the same loss: log₁₀ ‖∂L/∂h_t‖ at each step for T = {T}, h = {h}, "
                       f"φ = {activation}, ρ = {rho:g}; truncation (τ = {tau}) drops the gradient that would arrive "
                       f"from later steps, randomized truncation (π = {pi:g}, one draw) drops it at random and "
                       "scales the rest by 1/π.")


def agreement_tab(s: Settings):
    (T, h, activation, rho, seed), tau, pi = s
    cmp = comparison(T, h, activation, rho, seed, tau, pi)
    overflow_notes(cmp, T)
    show_chart(agreement_figure(cmp.keys, cmp.cosine, cmp.relative_error), key="truncation_agreement",
               caption="Cosine between each strategy's gradient of (W_hx, W_hh, W_qh) and the exact one (1 = same "
                       "direction), with the relative error ‖∇L − ∇L_exact‖ / ‖∇L_exact‖ on each bar.")
    st.dataframe(pd.DataFrame({
        "Strategy": [STRATEGIES[k]["name"] for k in cmp.keys],
        "cos∠(∇L, exact)": [f"{c:.4f}" if c == c else "undefined (overflow)" for c in cmp.cosine],
        "relative error": [f"{e:.3g}" if e == e else "undefined (overflow)" for e in cmp.relative_error],
        "log₁₀ ‖∇L‖": [f"{v:.3f}" if v == v else "overflow" for v in cmp.log10_norm],
    }), hide_index=True, width="stretch")


def randomized_draws(s: Settings):
    """The Monte-Carlo statistics at the page's settings, or None (with a message) when there is nothing to compare."""
    (T, h, activation, rho, seed), pi = s.model, s.pi
    samples = widget("samples")
    S = affordable_samples(T, h, samples)
    stats = monte_carlo_stats(T, h, activation, rho, seed, pi, S)
    if not stats.exact_finite:
        st.warning("The exact gradient overflowed float64 (or is exactly zero) at these settings, so there is "
                   "nothing finite to compare the randomized draws with. Lower ρ or T, or choose a saturating φ.")
        return None
    if S < samples:
        st.info(f"{samples} draws at T = {T}, h = {h} would take too long here (each is a full backward pass); "
                f"using {S} draws, the most that fit the page's time budget.")
    return stats


def monte_carlo_tab(s: Settings):
    pi = s.pi
    st.markdown("Each draw of ξ gives a different gradient g_i; their average converges to the exact gradient g, "
                "because E[ξ_t] = 1. How fast depends on the variance, which grows as π falls.")
    stats = randomized_draws(s)
    if stats is None:
        return
    S = stats.samples
    if stats.finite_samples < S:
        st.warning(f"{S - stats.finite_samples} of {S} draws overflowed float64 (a long unbroken run scaled by "
                   f"1/π = {1 / pi:.3g} at every step grows fast); running averages stop where the first did.")
    show_chart(mc_error_figure(stats.n, stats.relative_error, stats.expected_error,
                               running_cosine=stats.running_cosine, pi=pi), key="truncation_mc_error",
               caption=f"Relative error of the mean of the first n of {S} randomized gradients (π = {pi:g}); the "
                       "dashed line is the root-mean-square error the sample variance predicts, falling like 1/√n. "
                       "A jump is a rare draw with a long unbroken run, weighted by (1/π)ᵏ. Hover for the cosine "
                       "between the running mean and the exact gradient.")
    show_chart(mc_coordinate_figure(stats.n, stats.coordinate_ratio, stats.coordinate_band, pi=pi),
               key="truncation_mc_coordinate",
               caption="One coordinate, the largest entry of ∂L/∂W_hh: its running mean divided by the exact value, "
                       "inside the band 1 ± 2σ/√n (σ estimated from the draws) where it should stay about 95 % of "
                       "the time.")


def variance_tab(s: Settings):
    (T, h, activation, rho, seed), pi = s.model, s.pi
    stats = randomized_draws(s)
    if stats is None:
        return
    S = stats.samples
    sweep_samples = affordable_samples(T, h, max(S, SWEEP_MIN_SAMPLES), budget=WORK_BUDGET / len(SWEEP_PIS))
    sweep = variance_sweep(T, h, activation, rho, seed, sweep_samples)
    show_chart(variance_figure(sweep.pi, sweep.log10_relative_variance, current_pi=pi,
                               current_value=stats.log10_relative_variance, samples=sweep.samples),
               key="truncation_mc_variance",
               caption=f"Total variance tr Σ of one randomized gradient, relative to ‖g‖², for π from 0.1 to 1 "
                       f"({sweep.samples} draws per π, the same uniforms for every π); the star is the {S} draws at "
                       f"π = {pi:g}. Smaller π cuts more often and pays for it in variance. At small π much of the "
                       "variance sits in very rare long runs that a finite sample seldom contains, so there the "
                       "estimate is too low and noisy.")


def animation_tab(s: Settings):
    T, h, activation, rho, seed = s.model
    sweeps = strategy_sweeps(T, h, activation, rho, seed)
    xi, V = sweeps["tau"]
    show_chart(sweep_animation(sweeps["full"], V, xi, ANIMATION_TAUS, key="chunked", symbol="τ"),
               key="truncation_animation_tau",
               caption=f"Regular truncation for τ = {ANIMATION_TAUS[0]} … {ANIMATION_TAUS[-1]} against full BPTT: "
                       f"log₁₀ ‖∂L/∂h_t‖ at each step (T = {T}, h = {h}, φ = {activation}, ρ = {rho:g}); the ticks "
                       "at the bottom are the cuts. Press ▶ Play: the frames play in the browser, without a round "
                       "trip to the server.")
    xi, V = sweeps["pi"]
    show_chart(sweep_animation(sweeps["full"], V, xi, ANIMATION_PIS, key="randomized", symbol="π"),
               key="truncation_animation_pi",
               caption=f"Randomized truncation for π = {ANIMATION_PIS[0]} … {ANIMATION_PIS[-1]}, one draw of seed "
                       f"{seed} with the same uniforms for every π: as π grows, cuts disappear and the 1/π scaling "
                       "shrinks, until π = 1 is full BPTT.")


open_tab_only("truncation", {
    "The book's figure": book_figure_tab,
    "Per-step gradients": per_step_tab,
    "Agreement": agreement_tab,
    "Monte-Carlo": monte_carlo_tab,
    "Variance against π": variance_tab,
    "Animate τ and π": animation_tab,
}, settings, inputs={"The book's figure": book_figure_inputs})
