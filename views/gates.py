# Gates against vanishing (after the section: "before introducing a slew of modern RNN architectures"):
# the sidebar's RNN beside a GRU and an LSTM of the same hidden size, built from the RNN's own matrices
# (bptt_core.gated_like_rnn: every recurrent matrix has the sidebar's eigenvalues), on the same input sequence.
# The lag curves and ‖∂L/∂hₜ‖ over t of the three, and the gates that decide what survives.

import streamlit as st

from charts.gates import (cells_lag_figure, cells_lag_sentence, cells_over_time_figure, cells_sentence, gate_heatmap,
                          gate_sentence)
from ui.compute import cells_gates, cells_gradients, cells_lag_reach, cells_lags
from ui.drags import forget_bias_drag
from ui.figures import show_chart
from ui.lecture import scenario_buttons
from ui.model_panel import view_settings
from ui.sections import open_tab_only
from ui.text import explain

# The sidebar's model and the view's b_f and b_z (drawn by the open tab's fragment, into the row above it).
Settings, settings = view_settings("b_f", "b_z")


def cells_text(s: Settings) -> str:
    m = s.model
    return (f"the sidebar's RNN (φ = {m.activation}, h = {m.h}, ρ = {m.rho:.2f}, T = {m.T}) and a GRU "
            f"(b_z = {s.b_z:.2f}) and an LSTM (b_f = {s.b_f:.2f}) whose candidate state uses its Wₕₓ and Wₕₕ and "
            "whose σ gates use them in bases of their own (every recurrent matrix has the RNN's eigenvalues), "
            "with its W_qh, other biases 0, on the same inputs and targets")


def lags_tab(s: Settings):
    K = cells_lag_reach(s.model)
    lags = cells_lags(s.model, s.b_f, s.b_z, K)
    drags, about_drag = forget_bias_drag(s.model, s.b_z, K, "lags", {n: v for n, v in lags.items() if n != "LSTM"})
    missing = "" if "RNN" in lags else (
        f" The RNN's curve is left out: its forward pass left float64, and with φ = {s.model.activation} its "
        "Jacobians depend on hₜ.")
    shorter = "" if K == s.model.T else (
        f" The lags stop at k = {K} of the T = {s.model.T}: each costs products of {s.model.h}×{s.model.h} "
        f"matrices (an LSTM's state is 2h = {2 * s.model.h} wide), and all of them would take more than a second.")
    show_chart(cells_lag_figure(lags), key="gates_lags", drags=drags, caption=(
        "How far back a change of the state reaches: log₁₀ of the norm of the product of the last k step "
        f"Jacobians ∂Sₜ/∂Sₜ₋₁ of each cell's state S (hₜ; for the LSTM (hₜ, cₜ)), for {cells_text(s)}."
        + missing + shorter + about_drag))
    gates = cells_gates(s.model, s.b_f, s.b_z)
    st.markdown(cells_lag_sentence(lags, forget=gates["F"], update=gates["Z"]))


def over_time_tab(s: Settings):
    norms = cells_gradients(s.model, s.b_f, s.b_z)
    drags, about_drag = forget_bias_drag(s.model, s.b_z, s.model.T, "over_time",
                                         {n: v for n, v in norms.items() if n != "LSTM"})
    show_chart(cells_over_time_figure(norms), key="gates_over_time", drags=drags, caption=(
        f"log₁₀‖∂L/∂hₜ‖ under full BPTT at every step t for {cells_text(s)}; every step's loss adds its own "
        "term, so a curve shows the sum of what arrives from all later losses. Computed in log space, so a "
        "gradient past float64 is drawn too." + about_drag))
    st.markdown(cells_sentence(norms))


def gates_tab(s: Settings):
    gates = cells_gates(s.model, s.b_f, s.b_z)
    show_chart(gate_heatmap(gates["F"], gate="Forget gate Fₜ", cell="LSTM"), key="gates_forget", caption=(
        f"The LSTM's forget gate Fₜ = σ(Xₜ Wₓf + Hₜ₋₁ Wₕf + b_f) at b_f = {s.b_f:.2f}, every step and unit: where "
        "Fₜ ≈ 1 the cell keeps Cₜ₋₁ and ∂L/∂Cₜ passes back unchanged (the constant error carousel). Each σ gate "
        "uses the sidebar's Wₕₕ in a basis of its own (the same eigenvalues), so the gates differ from each other."))
    st.markdown(gate_sentence(gates["F"], gate="Fₜ", cell="LSTM"))
    show_chart(gate_heatmap(gates["Z"], gate="Update gate Zₜ", cell="GRU"), key="gates_update", caption=(
        f"The GRU's update gate Zₜ at b_z = {s.b_z:.2f}: Hₜ = Zₜ ⊙ Hₜ₋₁ + (1 − Zₜ) ⊙ H̃ₜ, so where Zₜ ≈ 1 the "
        "state, and its gradient, is copied from the step before."))
    st.markdown(gate_sentence(gates["Z"], gate="Zₜ", cell="GRU"))


st.title("Gates against vanishing")
scenario_buttons("gates")
open_tab_only("gates", {
    "Against the lag": lags_tab,
    "Gradient over time": over_time_tab,
    "The gates": gates_tab,
}, settings)
explain(
    "The section ends where gated cells begin. A plain RNN multiplies the gradient by $W_{hh}^\\top"
    "\\operatorname{diag}\\phi'(a_t)$ at every step back, so it shrinks or grows like $\\rho^k$. An LSTM adds its "
    "cell state, $C_t = F_t \\odot C_{t-1} + I_t \\odot \\tilde C_t$: along that path the step Jacobian is "
    "$\\operatorname{diag}(F_t)$, with no matrix at all, so a forget gate near 1 hands the gradient back "
    "unchanged. Raise $b_f$ and watch the LSTM's curve flatten; the GRU's update gate $Z_t$ does the same for "
    "$H_t$.",
    r"\frac{\partial C_t}{\partial C_{t-1}} = \operatorname{diag}(F_t),\qquad "
    r"H_t = Z_t \odot H_{t-1} + (1 - Z_t) \odot \tilde H_t",
)
