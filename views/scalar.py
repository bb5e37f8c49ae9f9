# The scalar model: a_t = b_t + c_t a_{t-1} and its unrolled terms (vanishing for |c| < 1,
# exploding for |c| > 1), the recursion against the sum of its terms, and the butterfly effect of
# a tiny change of h_0 in the sidebar's RNN.

from typing import NamedTuple

import streamlit as st

from bptt_core import (butterfly, compare_recursion_and_terms, forward, log10_growth, scalar_sequences,
                       scalar_terms, toy_problem)
from charts.scalar import butterfly_figure, recursion_vs_terms, scalar_term_bars
from ui.controls import Model, shared_controls, widget
from ui.figures import show_chart
from ui.lecture import scenario_buttons
from ui.sections import open_tab_only
from ui.text import explain
from ui.messages import FLOAT64_MAX

EDGE = 1e-3  # |E log10|c_t|| below this counts as "on the edge" (|c| within about 0.2 % of 1)


@st.cache_data(max_entries=32, show_spinner=False)
def terms_run(T: int, c: float, c_noise: float, seed: int):
    return scalar_terms(*scalar_sequences(T, c, c_noise, seed))


@st.cache_data(max_entries=32, show_spinner=False)
def check_run(T: int, c: float, c_noise: float, seed: int):
    check = compare_recursion_and_terms(*scalar_sequences(T, c, c_noise, seed))
    return check, float(check.gap.max())


@st.cache_data(max_entries=32, show_spinner=False)
def butterfly_run(T: int, h: int, activation: str, rho: float, seed: int, log_eps: int):
    rnn, X, _ = toy_problem(T, h, activation, rho, seed)
    return butterfly(rnn, X, eps=10.0 ** log_eps, seed=seed), forward(rnn, X).overflow_step


st.title("The scalar model")
scenario_buttons("scalar")
explain(
    "The section strips the RNN down to numbers: $a_t = \\partial h_t/\\partial w_h$ obeys "
    "$a_t = b_t + c_t a_{t-1}$, and unrolling it writes $a_t$ as a sum of terms, each $b_i$ multiplied by the "
    "$c_j$ of every step between $i$ and $t$. Move $c$ and watch the bars: with $|c| < 1$ the old terms vanish "
    "geometrically, with $|c| > 1$ they explode and the oldest input dominates. The butterfly plot shows the "
    "same in the forward pass of the sidebar's RNN: a change of $h_0$ by $\\varepsilon$ shrinks or grows with "
    "every step.",
    r"a_t = b_t + c_t\,a_{t-1},\quad a_0 = 0 \qquad\Longrightarrow\qquad "
    r"a_t = b_t + \sum_{i=1}^{t-1}\Big(\prod_{j=i+1}^{t} c_j\Big) b_i",
    r"a_t = \frac{\partial h_t}{\partial w_h},\qquad b_t = \frac{\partial f(x_t, h_{t-1}, w_h)}{\partial w_h},"
    r"\qquad c_t = \frac{\partial f(x_t, h_{t-1}, w_h)}{\partial h_{t-1}}",
    r"\tilde{\mathbf{h}}_0 = \mathbf{h}_0 + \varepsilon\,\mathbf{u}:\qquad "
    r"\|\mathbf{h}_t - \tilde{\mathbf{h}}_t\| \overset{\phi = \mathrm{id}}{=} "
    r"\varepsilon\,\|\mathbf{W}_{hh}^{\,t}\mathbf{u}\| \sim \varepsilon\,\rho(\mathbf{W}_{hh})^t",
)

row = st.columns(2)


class Settings(NamedTuple):
    model: Model
    c: float
    c_noise: float


def settings() -> Settings:
    """The sidebar's model and the view's c and c_noise (drawn by the open tab's fragment)."""
    return Settings(shared_controls(), widget("c", row[0]), widget("c_noise", row[1]))


def regime_text(growth: float, c_noise: float) -> str:
    typical = "|c|" if c_noise == 0 else "the geometric mean of |c_t|"
    if growth == float("-inf"):
        return "**Every c_t is 0**: a_t is just b_t, and every older term is exactly zero."
    if growth < -EDGE:
        return (f"**Vanishing** ({typical} = {10 ** growth:.3g} < 1): each step back multiplies a term by about "
                f"that factor, {-growth:.3f} orders of magnitude smaller per step, so old inputs hardly count.")
    if growth > EDGE:
        return (f"**Exploding** ({typical} = {10 ** growth:.3g} > 1): each step back multiplies a term by about "
                f"that factor, {growth:.3f} orders of magnitude larger per step, so the oldest inputs dominate.")
    return (f"**On the edge** ({typical} ≈ 1): terms neither shrink nor grow on average, so every input "
            f"counts about the same however old it is.")


def terms_tab(s: Settings):
    T, seed, c, c_noise = s.model.T, s.model.seed, s.c, s.c_noise
    st.markdown(regime_text(log10_growth(c, c_noise), c_noise)
                + (f" Here c_t is drawn uniformly from {c - c_noise:.2f} … {c + c_noise:.2f} and b_t from a "
                   f"standard normal (seed {seed})." if c_noise > 0 else
                   f" Here c_t = {c:.2f} at every step and b_t is drawn from a standard normal (seed {seed})."))
    terms = terms_run(T, c, c_noise, seed)
    show_chart(scalar_term_bars(terms.log10_abs, terms.sign, t=T), key="scalar_terms", caption=(
        f"log₁₀ of the size of each of the {T} terms of a_{T} (solid blue: positive, hatched vermillion: "
        f"negative); the term from step i has been multiplied by the {T} − i factors c_(i+1) … c_{T}."))


def recursion_tab(s: Settings):
    T, seed, c, c_noise = s.model.T, s.model.seed, s.c, s.c_noise
    check, max_gap = check_run(T, c, c_noise, seed)
    m1, m2, m3 = st.columns(3)
    m1.metric(f"log₁₀ |a_{T}| by the recursion", f"{check.log10_recursion[-1]:.6f}")
    m2.metric(f"log₁₀ |a_{T}| by the sum of terms", f"{check.log10_sum[-1]:.6f}")
    m3.metric("Max |recursion − sum| / Σ|terms|", f"{max_gap:.1e}",
              help="Over every t = 1..T; relative to the total size of the terms, so cancellation does not inflate it.")
    show_chart(recursion_vs_terms(check), key="scalar_recursion_vs_terms", caption=(
        "log₁₀|a_t| at every t from the recursion (line) and from adding up its terms (circles), both "
        "carried in log space so they stay finite where a_t itself would overflow float64; they agree "
        "to rounding."))


def butterfly_tab(s: Settings):
    T, h, activation, rho, seed = s.model
    log_eps = widget("log_eps")
    distance, overflow_step = butterfly_run(T, h, activation, rho, seed, log_eps)
    if overflow_step is not None:
        st.warning(f"The forward pass overflowed float64: the hidden state h_t grew past the largest double "
                   f"({FLOAT64_MAX}) at step t = {overflow_step} of {T}. From there on h_t − h̃_t is not a number, "
                   f"so those steps are left out of the chart (a note under it says how many).",
                   icon=":material/warning:")
    show_chart(butterfly_figure(distance, eps=10.0 ** log_eps, rho=rho if activation == "identity" else None),
               key="scalar_butterfly", caption=(
        f"The butterfly effect: log₁₀ of the distance between two runs of the sidebar's RNN (h = {h}, "
        f"φ = {activation}, ρ = {rho:g}) whose initial states differ by ε = 10^{log_eps} in a random direction"
        + ("; the dashed line is ε ρ^t, the growth of W_hh^t." if activation == "identity" else
           f"; with φ = {activation} the rate also depends on φ′ along the way, so no single ρ line applies.")))


open_tab_only("scalar", {
    "Terms": terms_tab,
    "Recursion = sum": recursion_tab,
    "Butterfly effect": butterfly_tab,
}, settings)
