# The unrolled network: the section's computational graph for T = 3 with live gradient sizes,
# ‖∂L/∂h_t‖ over the sidebar's T, the backward recursion against the book's expanded sum, and
# each step's contribution to ∂L/∂W_hh.

import streamlit as st

from bptt_core import (bptt, expanded_dL_dh, log10_gradient_norms, product_form_dL_dh, product_form_steps,
                       recursion_dL_dh, toy_problem, unrolled_gradients)
from charts.unrolled import (gradient_norms_over_time, recursion_vs_sum, sum_terms, unrolled_graph,
                             w_hh_contribution_bars)
from ui.controls import Model, shared_controls
from ui.figures import show_chart
from ui.messages import overflow_message
from ui.lecture import scenario_buttons
from ui.sections import open_tab_only
from ui.text import explain


@st.cache_data(max_entries=32, show_spinner=False)
def graph_run(h: int, activation: str, rho: float, seed: int):
    rnn, X, Y = toy_problem(3, h, activation, rho, seed)
    return unrolled_gradients(rnn, X, Y)


@st.cache_data(max_entries=32, show_spinner="Backpropagating through time…")
def log_norms(T: int, h: int, activation: str, rho: float, seed: int):
    rnn, X, Y = toy_problem(T, h, activation, rho, seed)
    g = bptt(rnn, X, Y)
    return log10_gradient_norms(rnn, X, Y), g.forward_overflow_step, g.backward_overflow_step


@st.cache_data(max_entries=32, show_spinner="Adding up the expanded sum term by term…")
def expansion(T: int, h: int, activation: str, rho: float, seed: int):
    rnn, X, Y = toy_problem(T, h, activation, rho, seed)
    recursion = recursion_dL_dh(rnn, X, Y)
    if activation == "identity":
        terms = expanded_dL_dh(rnn, X, Y)
    else:
        terms = product_form_dL_dh(rnn, X, Y, last=product_form_steps(T, h))
    gap = terms.dL_dh.relative_difference(recursion)
    return dict(recursion=recursion.log10_norms(), sums=terms.dL_dh.log10_norms(), steps=terms.dL_dh.steps,
                first=terms.first, first_terms=terms.first_terms_log10, form=terms.form,
                max_gap=float(gap.max()), compared=int(gap.size))


st.title("The unrolled network")
scenario_buttons("unrolled")
explain(
    "Unrolled over time, the RNN is a deep feedforward network that uses the **same three matrices at "
    "every step**. Backpropagation sends the gradient back along the chain "
    "$h_T \\to h_{T-1} \\to \\dots \\to h_1$, multiplying by $W_{hh}^\\top$ (and by $\\phi'$) at every step. "
    "Watch the arrows' widths in the graph, how $\\|\\partial L/\\partial h_t\\|$ behaves as $t$ goes back "
    "from $T$, and how much a loss far in the future still adds to an early gradient: with "
    "$\\rho(W_{hh}) < 1$ the distant terms vanish, with $\\rho > 1$ they explode.",
    r"\mathbf{h}_t = \phi(\mathbf{W}_{hx}\mathbf{x}_t + \mathbf{W}_{hh}\mathbf{h}_{t-1}),\qquad "
    r"\mathbf{o}_t = \mathbf{W}_{qh}\mathbf{h}_t,\qquad L = \frac{1}{T}\sum_{t=1}^{T} l(\mathbf{o}_t, y_t)",
    r"\frac{\partial L}{\partial \mathbf{h}_t} = \mathbf{W}_{qh}^\top \frac{\partial L}{\partial \mathbf{o}_t}"
    r" + \mathbf{W}_{hh}^\top\Big(\phi'(\mathbf{a}_{t+1}) \odot \frac{\partial L}{\partial \mathbf{h}_{t+1}}\Big)"
    r"\;\overset{\phi = \mathrm{id}}{=}\; \sum_{i=t}^{T} \left(\mathbf{W}_{hh}^\top\right)^{T-i}"
    r"\mathbf{W}_{qh}^\top \frac{\partial L}{\partial \mathbf{o}_{T+t-i}}",
    r"\frac{\partial L}{\partial \mathbf{W}_{hh}} = \sum_{t=1}^{T} \boldsymbol{\delta}_t \mathbf{h}_{t-1}^\top,"
    r"\qquad \boldsymbol{\delta}_t = \phi'(\mathbf{a}_t) \odot \frac{\partial L}{\partial \mathbf{h}_t},"
    r"\qquad \big\|\boldsymbol{\delta}_t \mathbf{h}_{t-1}^\top\big\|_F"
    r" = \|\boldsymbol{\delta}_t\|\,\|\mathbf{h}_{t-1}\|",
)


def graph_tab(model: Model):
    _, h, activation, rho, seed = model
    graph = graph_run(h, activation, rho, seed)
    show_chart(unrolled_graph(graph, activation=activation), key="unrolled_graph", caption=(
        f"The computational graph for T = 3. Boxes are variables, shaded boxes the parameters (one matrix each, "
        f"drawn at every step where it is used), circles operators; arrows point forward, and each arrow's width, "
        f"colour (light and thin: small, dark and wide: large) and number give the size of the gradient flowing "
        f"back along it in a T = 3 run with h = {h}, "
        f"φ = {activation}, ρ = {rho:g} (hover for the symbols)."))


def over_time_tab(model: Model):
    T, h, activation, rho, seed = model
    norms, forward_overflow, backward_overflow = log_norms(T, h, activation, rho, seed)
    message = overflow_message(forward_overflow, backward_overflow, T)
    if message:
        st.warning(message, icon=":material/warning:")
    show_chart(gradient_norms_over_time(norms.log10_dL_dh, rho=rho if activation == "identity" else None),
               key="unrolled_dL_dh", caption=(
        f"log₁₀‖∂L/∂h_t‖ of full BPTT at each of the T = {T} steps, computed in log space so it stays finite past "
        "float64"
        + ("; the dashed line changes by log₁₀ρ per step back from t = T, the rate of ρ(W_hh)^(T−t) (with a loss "
           "at every step the curve stays level when ρ < 1, because nearby losses keep feeding it: what vanishes "
           "is the share of distant losses, in the tab 'Recursion = sum')."
           if activation == "identity" else
           f" (with φ = {activation} each step back also multiplies by φ′(a_t), so no single ρ line applies).")))


def recursion_tab(model: Model):
    T, h, activation, rho, seed = model
    ex = expansion(T, h, activation, rho, seed)
    if ex["form"] == "closed":
        st.markdown(
            "With the identity $\\phi$ each step back multiplies by $W_{hh}^\\top$ alone, so the recursion unrolls "
            "into the section's sum of powers $(W_{hh}^\\top)^{T-i}$. Here every term of that sum is computed "
            "separately, with the powers renormalised so nothing overflows, and compared with the recursion."
        )
    else:
        st.info(
            f"The section's closed form with powers of W_hhᵀ holds for the identity φ only. With φ = {activation} "
            f"each step back also multiplies by diag φ′(a_t), so the powers become products of Jacobians J_j, as "
            f"below. That product form is summed term by term here"
            + (f", for the last {ex['compared']} of the {T} steps (its cost grows as T²h²)." if ex["compared"] < T
               else "."),
            icon=":material/info:",
        )
        st.latex(r"\frac{\partial L}{\partial \mathbf{h}_t} = \sum_{i=t}^{T}"
                 r"\Big(\prod_{j=t+1}^{i} \mathbf{J}_j^\top\Big) \mathbf{W}_{qh}^\top \frac{\partial L}{\partial \mathbf{o}_i},"
                 r"\qquad \mathbf{J}_j = \frac{\partial \mathbf{h}_j}{\partial \mathbf{h}_{j-1}} = "
                 r"\mathrm{diag}\,\phi'(\mathbf{a}_j)\,\mathbf{W}_{hh}")
    c1, c2 = st.columns(2)
    c1.metric("Max relative difference", f"{ex['max_gap']:.1e}",
              help="The largest ‖sum − recursion‖ / ‖recursion‖ over the steps compared, computed on the vectors "
                   "(in scaled arithmetic, so it works past float64 too).")
    c2.metric("Steps compared", f"{ex['compared']} of {T}")
    show_chart(recursion_vs_sum(ex["recursion"], ex["sums"], ex["steps"], form=ex["form"]),
               key="unrolled_recursion_vs_sum",
               caption="log₁₀‖∂L/∂h_t‖ from the backward recursion (line) and from adding up every term of the sum "
                       "(circles); they agree to the relative difference above, which is rounding only.")
    show_chart(sum_terms(ex["first_terms"], ex["first"], form=ex["form"]), key="unrolled_terms", caption=(
        f"The size of each term of the sum for ∂L/∂h_{ex['first']}: what the loss at step i adds after "
        f"travelling i − {ex['first']} steps back; it shrinks geometrically when gradients vanish and "
        f"grows when they explode."))


def w_hh_tab(model: Model):
    T, h, activation, rho, seed = model
    norms, _, _ = log_norms(T, h, activation, rho, seed)
    st.metric("log₁₀ ‖∂L/∂W_hh‖_F (the sum of all contributions)", f"{norms.log10_grads[1]:.3f}")
    show_chart(w_hh_contribution_bars(norms.log10_W_hh_terms), key="unrolled_w_hh", caption=(
        "log₁₀ of each step's share ‖δ_t h_{t−1}ᵀ‖_F = ‖δ_t‖‖h_{t−1}‖ of ∂L/∂W_hh, in log space so it "
        "stays finite when float64 overflows; the tallest bars are the steps that dominate the update."))


open_tab_only("unrolled", {
    "Graph (T = 3)": graph_tab,
    "Gradient over time": over_time_tab,
    "Recursion = sum": recursion_tab,
    "Sources of ∂L/∂W_hh": w_hh_tab,
}, shared_controls)
