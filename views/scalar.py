# The scalar model (the section's "Analysis of Gradients in RNNs", its first half): a_t = b_t + c_t a_{t-1}
# and its unrolled terms (vanishing for |c| < 1, exploding for |c| > 1), the recursion against the sum
# of its terms, and the butterfly effect of a tiny change of h_0 in the sidebar's RNN.

import streamlit as st

from bptt_core import log10_growth
from charts.findings import butterfly_sentence, regime_sentence
from charts.scalar import butterfly_figure, recursion_vs_terms, scalar_term_bars
from charts.style import sub, sup
from ui.compute import butterfly_run, scalar_check, scalar_run
from ui.drag import DRAG_NOTE
from ui.drags import c_drag, recursion_drag
from ui.figures import show_chart
from ui.lecture import scenario_buttons
from ui.messages import FLOAT64_MAX
from ui.model_panel import view_settings, view_widget
from ui.sections import open_tab_only
from ui.text import explain


# The sidebar's model and the view's c and c_noise (drawn by the open tab's fragment, into the row above it).
Settings, settings = view_settings("c", "c_noise")


def terms_tab(s: Settings):
    T, seed, c, c_noise = s.model.T, s.model.seed, s.c, s.c_noise
    drawn = (f"cₜ is drawn uniformly from {c - c_noise:.2f} … {c + c_noise:.2f}" if c_noise > 0
             else f"cₜ = {c:.2f} at every step")
    terms, growth = scalar_run(T, c, c_noise, seed)
    show_chart(scalar_term_bars(terms.log10_abs, terms.sign, t=T), key="scalar_terms", drags=c_drag(T, c_noise, seed), caption=(
        f"log₁₀ of the size of each of the {T} terms of a{sub(T)} (solid blue: positive, hatched vermillion: "
        f"negative); the term from step i has been multiplied by the {T} − i factors cᵢ₊₁ … c{sub(T)}. Here {drawn} "
        f"and bₜ is drawn from a standard normal (seed {seed})." + DRAG_NOTE))
    st.markdown(regime_sentence(growth, T, expected=log10_growth(c, c_noise) if c_noise > 0 else None))


def recursion_tab(s: Settings):
    T = s.model.T
    check, max_gap = scalar_check(T, s.c, s.c_noise, s.model.seed)
    drags, about_drag = recursion_drag(T, s.c_noise, s.model.seed)
    show_chart(recursion_vs_terms(check), key="scalar_recursion_vs_terms", drags=drags, caption=(
        "log₁₀|aₜ| at every t from the recursion (line) and from adding up its terms (circles), both "
        "carried in log space so they stay finite where aₜ itself would overflow float64; their largest "
        f"difference relative to the terms' total size is {max_gap:.1e}." + about_drag))
    m1, m2, m3 = st.columns(3)
    m1.metric(f"log₁₀ |a{sub(T)}|, recursion", f"{check.log10_recursion[-1]:.6f}")
    m2.metric(f"log₁₀ |a{sub(T)}|, sum of terms", f"{check.log10_sum[-1]:.6f}")
    m3.metric("Largest gap / Σ|terms|", f"{max_gap:.1e}",
              help="The largest |recursion − sum| over every t = 1..T, relative to the total size of the terms, so "
                   "cancellation does not inflate it.")


def butterfly_tab(s: Settings):
    T, h, activation, rho, *_ = s.model
    log_eps = view_widget("log_eps")
    distance, overflow_step = butterfly_run(s.model, log_eps)
    if overflow_step is not None:
        st.warning(f"The forward pass overflowed float64: the hidden state hₜ grew past the largest double "
                   f"({FLOAT64_MAX}) at step t = {overflow_step} of {T}. From there on hₜ − h̃_t is not a number, "
                   f"so those steps are left out of the chart (a note under it says how many).",
                   icon=":material/warning:")
    identity = activation == "identity"
    show_chart(butterfly_figure(distance, eps=10.0 ** log_eps, rho=rho if identity else None),
               key="scalar_butterfly", caption=(
        f"The butterfly effect: log₁₀ of the distance between two runs of the sidebar's RNN (h = {h}, "
        f"φ = {activation}, ρ = {rho:g}) whose initial states differ by ε = 10{sup(log_eps)} in a random direction"
        + ("; the dashed line is ε ρᵗ, the growth of Wₕₕᵗ." if identity else
           f"; with φ = {activation} the rate also depends on φ′ along the way, so no single ρ line applies.")))
    st.markdown(butterfly_sentence(distance, log_eps=log_eps))


st.title("The scalar model")
scenario_buttons("scalar")
open_tab_only("scalar", {
    "Terms": terms_tab,
    "Recursion = sum": recursion_tab,
    "Butterfly effect": butterfly_tab,
}, settings)
explain(
    "The section strips the RNN down to numbers: $a_t = \\partial h_t/\\partial w_h$ obeys "
    "$a_t = b_t + c_t a_{t-1}$, and unrolling it writes $a_t$ as a sum of terms, each $b_i$ multiplied by the "
    "$c_j$ of every step between $i$ and $t$. Move $c$ and watch the bars. The butterfly plot shows the "
    "same in the forward pass of the sidebar's RNN: a change of $h_0$ by $\\varepsilon$ is multiplied by the "
    "Jacobians of every step.",
    r"a_t = b_t + c_t\,a_{t-1},\quad a_0 = 0 \qquad\Longrightarrow\qquad "
    r"a_t = b_t + \sum_{i=1}^{t-1}\Big(\prod_{j=i+1}^{t} c_j\Big) b_i",
    r"a_t = \frac{\partial h_t}{\partial w_h},\qquad b_t = \frac{\partial f(x_t, h_{t-1}, w_h)}{\partial w_h},"
    r"\qquad c_t = \frac{\partial f(x_t, h_{t-1}, w_h)}{\partial h_{t-1}}",
    r"\tilde{\mathbf{h}}_0 = \mathbf{h}_0 + \varepsilon\,\mathbf{u}:\qquad "
    r"\|\mathbf{h}_t - \tilde{\mathbf{h}}_t\| \overset{\phi = \mathrm{id}}{=} "
    r"\varepsilon\,\|\mathbf{W}_{hh}^{\,t}\mathbf{u}\| \sim \varepsilon\,\rho(\mathbf{W}_{hh})^t",
)
