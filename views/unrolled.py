# The unrolled network (the section's "Analysis of Gradients in RNNs" and "Backpropagation Through
# Time in Detail"): the computational graph for T = 3 with live gradient sizes, ‖∂L/∂h_t‖ over the
# sidebar's T, the backward recursion against the book's expanded sum, and each step's share of
# ∂L/∂W_hh.

import streamlit as st

from charts.style import DETAIL_MIN_PX, sub
from charts.unrolled import recursion_vs_sum, sum_terms, unrolled_graph, w_hh_contribution_bars
from ui.compute import expansion, gradient_log_norms, graph_gradients
from ui.controls import Model
from ui.drag import DRAG_NOTE
from ui.drags import graph_drag, over_time_chart, over_time_drag
from ui.figures import show_chart
from ui.lecture import scenario_buttons
from ui.messages import overflow_message
from ui.model_panel import model_controls
from ui.sections import open_tab_only
from ui.text import explain, presenting
from charts.findings import gradient_over_time_sentence, sum_terms_sentence, w_hh_sources_sentence


def graph_tab(model: Model):
    show_chart(unrolled_graph(graph_gradients(model), activation=model.activation), key="unrolled_graph", drags=graph_drag(model),
               caption=(
        "The computational graph for T = 3. Boxes are variables, shaded boxes the parameters (one matrix each, "
        "drawn at every step where it is used), circles operators; arrows point forward, and each arrow's width, "
        "colour (light and thin: small, dark and wide: large) and number give the size of the gradient flowing "
        f"back along it in a T = 3 run of the sidebar's network (h = {model.h}, φ = {model.activation}, "
        f"ρ = {model.rho:g}; hover for the symbols)"
        + ("; projected, only the numbers along the chain of steps are written." if presenting()
           else f"; drawn narrower than {DETAIL_MIN_PX} px, only the numbers along the chain of steps.") + DRAG_NOTE))


def over_time_tab(model: Model):
    norms, forward_overflow, backward_overflow = gradient_log_norms(model)
    message = overflow_message(forward_overflow, backward_overflow, model.T)
    if message:
        st.warning(message, icon=":material/warning:")
    identity = model.activation == "identity"
    drags, rows, about_drag = over_time_drag(model)  # the chart's note on float64 as its frame has it
    show_chart(over_time_chart(norms.log10_dL_dh, model, rows[model.rho][1]), key="unrolled_dL_dh", caption=(
        f"log₁₀‖∂L/∂hₜ‖ of full BPTT at each of the T = {model.T} steps, computed in log space so it stays finite "
        "past float64"
        + ("; the dashed line changes by log₁₀ρ per step back from t = T, the rate ρᵀ⁻ᵗ at which one loss's share "
           "decays (the curve adds up every step's loss)."
           if identity else
           f" (with φ = {model.activation} each step back also multiplies by φ′(aₜ), so no single ρ line applies).")
        + about_drag), drags=drags)
    st.markdown(gradient_over_time_sentence(norms.log10_dL_dh, rho=model.rho if identity else None))


def recursion_tab(model: Model):
    ex = expansion(model)
    show_chart(recursion_vs_sum(ex["recursion"], ex["sums"], ex["steps"], form=ex["form"]),
               key="unrolled_recursion_vs_sum",
               caption="log₁₀‖∂L/∂hₜ‖ from the backward recursion (line) and from adding up every term of the sum "
                       f"(circles); their largest relative difference is {ex['max_gap']:.1e}.")
    c1, c2 = st.columns(2)
    c1.metric("Max relative difference", f"{ex['max_gap']:.1e}",
              help="The largest ‖sum − recursion‖ / ‖recursion‖ over the steps compared, computed on the vectors "
                   "(in scaled arithmetic, so it works past float64 too).")
    c2.metric("Steps compared", f"{ex['compared']} of {model.T}")
    if ex["form"] == "closed":
        st.markdown(
            "With the identity $\\phi$ each step back multiplies by $W_{hh}^\\top$ alone, so the recursion unrolls "
            "into the section's sum of powers $(W_{hh}^\\top)^{T-i}$. Here every term of that sum is computed "
            "separately, with the powers renormalised so nothing overflows, and compared with the recursion."
        )
    else:
        st.info(
            f"The section's closed form with powers of Wₕₕᵀ holds for the identity φ only. With φ = "
            f"{model.activation} each step back also multiplies by diag φ′(aₜ), so the powers become products of "
            f"Jacobians Jⱼ, as below. That product form is summed term by term here"
            + (f", for the last {ex['compared']} of the {model.T} steps (its cost grows as T²h²)."
               if ex["compared"] < model.T else "."),
            icon=":material/info:",
        )
        st.latex(r"\frac{\partial L}{\partial \mathbf{h}_t} = \sum_{i=t}^{T}"
                 r"\Big(\prod_{j=t+1}^{i} \mathbf{J}_j^\top\Big) \mathbf{W}_{qh}^\top \frac{\partial L}{\partial \mathbf{o}_i},"
                 r"\qquad \mathbf{J}_j = \frac{\partial \mathbf{h}_j}{\partial \mathbf{h}_{j-1}} = "
                 r"\mathrm{diag}\,\phi'(\mathbf{a}_j)\,\mathbf{W}_{hh}")
    show_chart(sum_terms(ex["first_terms"], ex["first"], form=ex["form"]), key="unrolled_terms", caption=(
        f"The size of each term of the sum for ∂L/∂h{sub(ex['first'])}: what the loss at step i adds after "
        f"travelling i − {ex['first']} steps back."))
    st.markdown(sum_terms_sentence(ex["first_terms"], ex["first"]))


def w_hh_tab(model: Model):
    norms, _, _ = gradient_log_norms(model)
    st.metric("log₁₀ ‖∂L/∂Wₕₕ‖ (Frobenius; the sum of all contributions)", f"{norms.log10_grads[1]:.3f}")
    show_chart(w_hh_contribution_bars(norms.log10_W_hh_terms), key="unrolled_w_hh", caption=(
        "log₁₀ of each step's share ‖δₜ hₜ₋₁ᵀ‖ = ‖δₜ‖ ‖hₜ₋₁‖ (Frobenius) of ∂L/∂Wₕₕ, in log space so it "
        "stays finite when float64 overflows."))
    st.markdown(w_hh_sources_sentence(norms.log10_W_hh_terms))


st.title("The unrolled network")
scenario_buttons("unrolled")
open_tab_only("unrolled", {
    "Graph (T = 3)": graph_tab,
    "Gradient over time": over_time_tab,
    "Recursion = sum": recursion_tab,
    "Sources of ∂L/∂Wₕₕ": w_hh_tab,
}, model_controls)
explain(
    "Unrolled over time, the RNN is a deep feedforward network that uses the **same three matrices at "
    "every step**. Backpropagation sends the gradient back along the chain "
    "$h_T \\to h_{T-1} \\to \\dots \\to h_1$, multiplying by $W_{hh}^\\top$ (and by $\\phi'$) at every step. "
    "Watch the arrows' widths in the graph, how $\\|\\partial L/\\partial h_t\\|$ behaves as $t$ goes back "
    "from $T$, and how much a loss far in the future still adds to an early gradient.",
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
