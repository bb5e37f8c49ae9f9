# Truncation strategies (the section's "Truncating Time Steps", "Randomized Truncation" and "Comparing
# Strategies"): the book's figure over The Time Machine, the gradients of full, chunked, sliding and
# randomized BPTT on the sidebar's network, and the Monte-Carlo behaviour of randomized truncation
# (unbiased, with a variance the core computes exactly).

import pandas as pd
import streamlit as st

from charts.animation import sweep_animation
from charts.findings import agreement_sentence, per_step_sentence
from charts.style import STRATEGIES
from charts.truncation import agreement_figure, gradient_norms_figure
from ui.book_figure import book_figure, book_figure_inputs
from ui.compute import strategy_comparison, strategy_sweeps
from ui.controls import MIN_PI
from ui.drags import per_step_drags
from ui.figures import show_chart
from ui.lecture import scenario_buttons
from ui.messages import overflow_message
from ui.model_panel import view_settings, view_widget
from ui.monte_carlo import monte_carlo_section, variance_section
from ui.sections import open_tab_only
from ui.text import explain

ANIMATION_TAUS = tuple(range(1, 21))                          # the frames of "Animate τ and π"
ANIMATION_PIS = tuple(round(MIN_PI * k, 2) for k in range(1, 21))  # π's floor … 1


# The sidebar's model and the view's τ and π (drawn by the open tab's fragment, into the row above it).
Settings, settings = view_settings("tau", "pi")


def book_figure_tab(s: Settings):
    book_figure(s.model.T, s.model.seed, s.tau, s.pi)


def overflow_notes(cmp, T: int) -> None:
    """Full BPTT's overflow if it had one, else the first strategy's that did (1/π scaling can overflow alone)."""
    for key in sorted(cmp.keys, key=lambda k: k != "full"):
        message = overflow_message(*cmp.overflow_steps(key), T)
        if message:
            st.warning(message if key == "full" else f"{STRATEGIES[key]['name']}: {message}")
            break


def per_step_tab(s: Settings):
    (T, h, activation, rho, *_), tau, pi = s
    cmp = strategy_comparison(s.model, tau, pi)
    overflow_notes(cmp, T)
    if not cmp.finite.all() and cmp.log_space.any():
        st.caption("Where float64 overflowed, the per-step norms of full, regular and randomized truncation are "
                   "recomputed in log space; sliding truncation has no log-space version, so its overflowed "
                   "steps are left out.")
    drags, about_drag = per_step_drags(s.model, tau, pi, cmp)
    show_chart(gradient_norms_figure(cmp.log10_dL_dh, cmp.keys, log_space=cmp.log_space), key="truncation_norms",
               drags=drags,
               caption=f"Four gradients of the same loss: log₁₀ ‖∂L/∂hₜ‖ at each step for T = {T}, h = {h}, "
                       f"φ = {activation}, ρ = {rho:g}; truncation (τ = {tau}) drops the gradient that would arrive "
                       f"from later steps, randomized truncation (π = {pi:g}, one draw) drops it at random and "
                       "scales the rest by 1/π." + about_drag)
    st.markdown(per_step_sentence(cmp.log10_dL_dh, cmp.keys, tau=tau))


def agreement_tab(s: Settings):
    cmp = strategy_comparison(s.model, s.tau, s.pi)
    overflow_notes(cmp, s.model.T)
    show_chart(agreement_figure(cmp.keys, cmp.cosine, cmp.relative_error), key="truncation_agreement",
               caption="Cosine between each strategy's gradient of the three weight matrices and the exact one (1 = same "
                       "direction), with the relative error ‖∇L − ∇L*‖ / ‖∇L*‖ on each bar (∇L*: the exact gradient).")
    st.markdown(agreement_sentence(cmp.keys, cmp.cosine, cmp.relative_error))
    st.dataframe(pd.DataFrame({
        "Strategy": [STRATEGIES[k]["name"] for k in cmp.keys],
        "cos∠(∇L, exact)": [f"{c:.4f}" if c == c else "undefined (overflow)" for c in cmp.cosine],
        "relative error": [f"{e:.3g}" if e == e else "undefined (overflow)" for e in cmp.relative_error],
        "log₁₀ ‖∇L‖": [f"{v:.3f}" if v == v else "overflow" for v in cmp.log10_norm],
    }), hide_index=True, width="stretch")


def monte_carlo_tab(s: Settings):
    monte_carlo_section(s.model, s.pi, view_widget("samples"))


def variance_tab(s: Settings):
    variance_section(s.model, s.pi)


def animation_tab(s: Settings):
    T, h, activation, rho, *_ = s.model
    sweeps = strategy_sweeps(s.model, ANIMATION_TAUS, ANIMATION_PIS)
    xi, V = sweeps["tau"]
    show_chart(sweep_animation(sweeps["full"], V, xi, ANIMATION_TAUS, key="chunked", symbol="τ"),
               key="truncation_animation_tau",
               caption=f"Regular truncation for τ = {ANIMATION_TAUS[0]} … {ANIMATION_TAUS[-1]} against full BPTT: "
                       f"log₁₀ ‖∂L/∂hₜ‖ at each step (T = {T}, h = {h}, φ = {activation}, ρ = {rho:g}); the ticks "
                       "at the bottom are the cuts. Press ▶ Play: the frames play in the browser, without a round "
                       "trip to the server.")
    xi, V = sweeps["pi"]
    show_chart(sweep_animation(sweeps["full"], V, xi, ANIMATION_PIS, key="randomized", symbol="π"),
               key="truncation_animation_pi",
               caption=f"Randomized truncation for π = {ANIMATION_PIS[0]} … {ANIMATION_PIS[-1]}, one draw of seed "
                       f"{s.model.seed} with the same uniforms for every π: as π grows, cuts disappear and the 1/π "
                       "scaling shrinks, until π = 1 is full BPTT.")


st.title("Truncation strategies")
scenario_buttons("truncation")
open_tab_only("truncation", {
    "The book's figure": book_figure_tab,
    "Per-step gradients": per_step_tab,
    "Agreement": agreement_tab,
    "Monte-Carlo": monte_carlo_tab,
    "Variance against π": variance_tab,
    "Animate τ and π": animation_tab,
}, settings, inputs={"The book's figure": book_figure_inputs})
explain(
    "Full BPTT lets the gradient flow back through every step; **regular truncation** cuts it every τ "
    "steps; **randomized truncation** (Tallec & Ollivier) cuts it at random, with probability 1 − π at each "
    "step, and scales what survives by 1/π so that the estimate is right *on average*. Above: where each "
    "strategy cuts a text, how far its gradient is from the exact one on the sidebar's network, and what the "
    "randomized estimate costs in variance: E[ξₜ²] = 1/π, so every unbroken step multiplies the second moment "
    "of the estimate by about ‖Jₜ‖²/π.",
    r"z_t = \frac{\partial f(x_t, h_{t-1}, w_h)}{\partial w_h} + \xi_t\,"
    r"\frac{\partial f(x_t, h_{t-1}, w_h)}{\partial h_{t-1}}\, z_{t-1}",
    r"P(\xi_t = 0) = 1 - \pi,\qquad P\!\left(\xi_t = \tfrac{1}{\pi}\right) = \pi,\qquad "
    r"E[\xi_t] = 1,\qquad E[\xi_t^2] = \tfrac{1}{\pi}",
)
