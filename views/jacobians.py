# Products of Jacobians (the section's "Analysis of Gradients in RNNs", with Pascanu, Mikolov &
# Bengio's bound): ‖∂h_T/∂h_{T−k}‖₂ against the lag k for identity, tanh and sigmoid with the bound
# (σ₁γ)^k, the matrix log10‖∂h_t/∂h_s‖₂ as a heatmap for the sidebar's activation, and the
# distribution of φ'(a_t) that makes each factor shrink. The W_hh is the sidebar model's.

from contextlib import nullcontext

import streamlit as st

from bptt_core import GAMMA
from charts.findings import lag_sentence, saturation_sentence
from charts.jacobians import dphi_histogram, jacobian_heatmap
from ui.compute import finite_dphi, heatmap_steps, jacobian_heatmap as heatmap_on_grid, lag_curve, lag_reach
from ui.controls import Model
from ui.drags import lags_chart, lags_drag
from ui.figures import show_chart
from ui.lecture import scenario_buttons
from ui.messages import overflow_message
from ui.model_panel import model_controls
from ui.sections import open_tab_only
from ui.text import explain

LINE_ACTIVATIONS = ("identity", "tanh", "sigmoid")
MAX_CELLS = 120  # heatmap grid points per side, at most
# T·h² above which the three lag curves take long enough (about 0.1 s) for a spinner. Below it a
# spinner would never show (Streamlit waits 0.5 s), yet its element and thread cost every rerun.
SLOW_LAGS = 2_000_000


def lags_tab(model: Model):
    with st.spinner("Multiplying Jacobians …") if model.T * model.h ** 2 > SLOW_LAGS else nullcontext():
        reach = lag_reach(model, LINE_ACTIVATIONS)
        results = {act: lag_curve(model._replace(activation=act), reach) for act in LINE_ACTIVATIONS}
    sigma1 = results["identity"][2]
    identity_overflow = results["identity"][3]
    if identity_overflow is not None:
        st.warning(overflow_message(identity_overflow, None, model.T) + " With the identity φ the Jacobians are "
                   "Wₕₕ at every step, whatever hₜ is, so the identity curve is still exact.",
                   icon=":material/warning:")
    lags = {act: r[0] for act, r in results.items()}
    bounds = {act: r[1] for act, r in results.items()}
    drags, about_drag = lags_drag(model, LINE_ACTIVATIONS) if reach == model.T else ((), "")
    shorter = "" if reach == model.T else (
        f" The lags stop at k = {reach} of the T = {model.T}: each lag costs a product of two {model.h}×{model.h} "
        "matrices per activation, and all of them would take more than a second; a smaller T or h shows them all.")
    show_chart(lags_chart(lags, sigma1), key="jacobians_lags", drags=drags, caption=(
        f"How far back a gradient reaches: log₁₀ of the norm of the product of the last k Jacobians of the sidebar's "
        f"RNN (T = {model.T}, h = {model.h}, ρ = {model.rho:.2f}, σ₁ = ‖Wₕₕ‖₂ = {sigma1:.3g}) with three "
        "activations; long dashes with markers: the bound k·log₁₀(σ₁γ) in the same colour." + shorter + about_drag))
    st.markdown(lag_sentence(lags, bounds, sigma1=sigma1, gammas=GAMMA))


def finite_steps(model: Model):
    """φ'(a_t) and the number of steps before the forward pass overflowed, with the page's warning."""
    dphi, steps, overflow = finite_dphi(model)
    if steps < model.T:
        st.warning(overflow_message(overflow, None, model.T) + f" With φ = {model.activation} the Jacobians "
                   f"depend on aₜ, so this chart uses the {steps} steps before that.", icon=":material/warning:")
    return dphi, steps


def heatmap_tab(model: Model):
    _, steps = finite_steps(model)
    if steps < 1:
        st.info("No step before the overflow: there is no Jacobian to show.")
        return
    covered = heatmap_steps(steps, model.h)
    with st.spinner("Computing the heatmap …"):
        M, grid, stride = heatmap_on_grid(model, covered, MAX_CELLS)
    every = "every step" if stride == 1 else f"steps 0, {stride}, {2 * stride}, …"
    first = "" if covered == steps else (
        f" It covers the first {covered} of the {steps} steps: each step costs a product of two {model.h}×{model.h} "
        "matrices, and all of them would take more than a second; a smaller T or h shows them all.")
    show_chart(jacobian_heatmap(M, grid, activation=model.activation), key="jacobians_heatmap", caption=(
        f"Every pair of steps, φ = {model.activation}: each cell is log₁₀‖∂hₜ/∂hₛ‖₂ for source s (x) and target t "
        f"(y), on {every}: a {grid.size}×{grid.size} grid (at most {MAX_CELLS} per side, fewer for large h so it "
        "stays within a second). The upper triangle (s > t) is empty, because hₜ is computed before hₛ and does "
        "not depend on it." + first))


def saturation_tab(model: Model):
    dphi, steps = finite_steps(model)
    gamma = GAMMA[model.activation]
    show_chart(dphi_histogram(dphi, activation=model.activation, gamma=gamma), key="jacobians_dphi", caption=(
        f"φ'(aₜ) for φ = {model.activation}: the diagonal of every diag(φ'(aₜ)) over all {steps} steps and "
        f"{model.h} units; the dashed line is γ = {gamma:g}, the largest value φ' can take (the bound's worst case)."))
    st.markdown(saturation_sentence(dphi, gamma=gamma, activation=model.activation))


st.title("Products of Jacobians")
scenario_buttons("jacobians")
open_tab_only("jacobians", {
    "Against the lag": lags_tab,
    "Every pair of steps": heatmap_tab,
    "Saturation": saturation_tab,
}, model_controls)
explain(
    "A gradient reaching back k steps is multiplied by k Jacobians $\\partial h_j/\\partial h_{j-1} = "
    "\\mathrm{diag}(\\phi'(a_j))\\,W_{hh}$. Each shrinks or stretches it by at most $\\sigma_1\\gamma$, with "
    "$\\sigma_1 = \\|W_{hh}\\|_2$ the largest singular value of $W_{hh}$ (Pascanu et al.'s $\\lambda_1$) and γ the "
    "largest value of φ' (1 for tanh and the identity, ¼ for the sigmoid), so the product is bounded by "
    "$(\\sigma_1\\gamma)^k$ (Pascanu, Mikolov & Bengio, 2013). Compare each activation's curve with its dashed "
    "bound, and the saturation tab for how far below γ the factors φ'(aₜ) sit.",
    r"\frac{\partial \mathbf{h}_t}{\partial \mathbf{h}_s} = \prod_{j=s+1}^{t}"
    r"\frac{\partial \mathbf{h}_j}{\partial \mathbf{h}_{j-1}} = \prod_{j=s+1}^{t}"
    r"\operatorname{diag}\big(\phi'(\mathbf{a}_j)\big)\,\mathbf{W}_{hh}"
    r"\qquad(\text{latest factor on the left})",
    r"\left\|\frac{\partial \mathbf{h}_t}{\partial \mathbf{h}_{t-k}}\right\|_2 \le "
    r"\Big(\big\|\operatorname{diag}\phi'\big\|_2\,\|\mathbf{W}_{hh}\|_2\Big)^k \le (\sigma_1\gamma)^k,"
    r"\qquad \gamma_{\mathrm{identity}} = \gamma_{\tanh} = 1,\quad \gamma_{\sigma} = \tfrac14",
)
