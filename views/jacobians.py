# Products of Jacobians: ‖∂h_T/∂h_{T−k}‖₂ against the lag k for identity, tanh and sigmoid with
# Pascanu, Mikolov & Bengio's bound (λ₁γ)^k, the matrix log10‖∂h_t/∂h_s‖₂ as a heatmap for the
# sidebar's activation, and the distribution of φ'(a_t) that makes each factor shrink.

from contextlib import nullcontext

import numpy as np
import streamlit as st

from bptt_core import (GAMMA, factored_step_jacobians, forward, grid_stride, log10_jacobian_norms_on_grid,
                       log10_lag_norms, log10_norm_bound, singular_values, toy_problem)
from bptt_core.activations import phi_prime
from charts.jacobians import dphi_histogram, jacobian_heatmap, lag_norms_figure
from ui.controls import Model, shared_controls
from ui.figures import show_chart
from ui.messages import overflow_message
from ui.lecture import scenario_buttons
from ui.sections import open_tab_only
from ui.text import explain

LINE_ACTIVATIONS = ("identity", "tanh", "sigmoid")
MAX_CELLS = 120  # heatmap grid points per side, at most
# T·h² above which the three lag curves take long enough (about 0.1 s) for a spinner. Below it a
# spinner would never show (Streamlit waits 0.5 s), yet its element and thread cost every rerun.
SLOW_LAGS = 2_000_000


@st.cache_data(max_entries=32, show_spinner=False)
def lag_curve(T: int, h: int, activation: str, rho: float, seed: int):
    rnn, X, _ = toy_problem(T, h, activation, rho, seed)
    trace = forward(rnn, X)
    # The step Jacobians diag(φ'(a_t)) W_hh, kept as their factors: no (T, h, h) array of 524 MB.
    lags = log10_lag_norms(factored_step_jacobians(rnn, trace))
    lam1 = float(singular_values(rnn.W_hh)[0])
    bound = log10_norm_bound(lam1, GAMMA[activation], np.arange(T + 1))
    return lags, bound, lam1, trace.overflow_step


@st.cache_data(max_entries=32, show_spinner=False)
def finite_prefix(T: int, h: int, activation: str, rho: float, seed: int):
    # The steps whose φ'(a_t) is meaningful: all of them, unless the forward pass overflowed and φ'
    # depends on a_t (relu; tanh and sigmoid cannot overflow, the identity's φ' is 1 everywhere).
    rnn, X, _ = toy_problem(T, h, activation, rho, seed)
    trace = forward(rnn, X)
    steps = T if trace.overflow_step is None or activation == "identity" else trace.overflow_step - 1
    dphi = phi_prime(activation, trace.A[:steps], trace.H[1:steps + 1]) if steps > 0 else np.zeros((0, h))
    return dphi, steps, trace.overflow_step


@st.cache_data(max_entries=32, show_spinner=False)
def heatmap(T: int, h: int, activation: str, rho: float, seed: int, steps: int):
    rnn, X, _ = toy_problem(T, h, activation, rho, seed)
    J = factored_step_jacobians(rnn, forward(rnn, X))[:steps]
    stride = grid_stride(steps, h, max_cells=MAX_CELLS)
    return log10_jacobian_norms_on_grid(J, stride), np.arange(0, steps + 1, stride), stride


st.title("Products of Jacobians")
scenario_buttons("jacobians")
explain(
    "A gradient reaching back k steps is multiplied by k Jacobians $\\partial h_j/\\partial h_{j-1} = "
    "\\mathrm{diag}(\\phi'(a_j))\\,W_{hh}$. Each shrinks or stretches it by at most $\\lambda_1\\gamma$, with "
    "$\\lambda_1$ the largest singular value of $W_{hh}$ and γ the largest value of φ' (1 for tanh and the "
    "identity, ¼ for the sigmoid), so the product is bounded by $(\\lambda_1\\gamma)^k$ (Pascanu, Mikolov & Bengio, "
    "2013). Watch how far below its dashed bound each activation stays, and how saturated tanh units "
    "(φ' ≈ 0) cut the product down long before the bound says so.",
    r"\frac{\partial \mathbf{h}_t}{\partial \mathbf{h}_s} = \prod_{j=s+1}^{t}"
    r"\frac{\partial \mathbf{h}_j}{\partial \mathbf{h}_{j-1}} = \prod_{j=s+1}^{t}"
    r"\operatorname{diag}\big(\phi'(\mathbf{a}_j)\big)\,\mathbf{W}_{hh}"
    r"\qquad(\text{latest factor on the left})",
    r"\left\|\frac{\partial \mathbf{h}_t}{\partial \mathbf{h}_{t-k}}\right\|_2 \le "
    r"\Big(\big\|\operatorname{diag}\phi'\big\|_2\,\|\mathbf{W}_{hh}\|_2\Big)^k \le (\lambda_1\gamma)^k,"
    r"\qquad \gamma_{\mathrm{identity}} = \gamma_{\tanh} = 1,\quad \gamma_{\sigma} = \tfrac14",
)


def lags_tab(model: Model):
    T, h, _, rho, seed = model
    with st.spinner("Multiplying Jacobians …") if T * h * h > SLOW_LAGS else nullcontext():
        results = {act: lag_curve(T, h, act, rho, seed) for act in LINE_ACTIVATIONS}
    lam1 = results["identity"][2]
    identity_overflow = results["identity"][3]
    if identity_overflow is not None:
        st.warning(overflow_message(identity_overflow, None, T) + " With the identity φ the Jacobians are W_hh at "
                   "every step, whatever h_t is, so the identity curve is still exact.", icon=":material/warning:")
    show_chart(lag_norms_figure({act: r[0] for act, r in results.items()},
                                bounds={act: r[1] for act, r in results.items()},
                                gammas={act: GAMMA[act] for act in LINE_ACTIVATIONS}, sigma_max=lam1),
               key="jacobians_lags", caption=(
        f"How far back a gradient reaches: log₁₀ of the norm of the product of the last k Jacobians of the same "
        f"RNN (T = {T}, h = {h}, ρ = {rho:.2f}, λ₁ = {lam1:.3g}) with three activations; long dashes: the bound "
        "k·log₁₀(λ₁γ) in the same colour."))


def finite_steps(model: Model):
    """φ'(a_t) and the number of steps before the forward pass overflowed, with the page's warning."""
    T, h, activation, rho, seed = model
    dphi, steps, overflow = finite_prefix(T, h, activation, rho, seed)
    if steps < T:
        st.warning(overflow_message(overflow, None, T) + f" With φ = {activation} the Jacobians depend on a_t, so "
                   f"this chart uses the {steps} steps before that.", icon=":material/warning:")
    return dphi, steps


def heatmap_tab(model: Model):
    T, h, activation, rho, seed = model
    _, steps = finite_steps(model)
    if steps < 1:
        st.info("No step before the overflow: there is no Jacobian to show.")
        return
    with st.spinner("Computing the heatmap …"):
        M, grid, stride = heatmap(T, h, activation, rho, seed, steps)
    every = "every step" if stride == 1 else f"every {stride}th step"
    show_chart(jacobian_heatmap(M, grid, activation=activation), key="jacobians_heatmap", caption=(
        f"Every pair of steps, φ = {activation}: each cell is log₁₀‖∂h_t/∂h_s‖₂ for source s (x) and target t (y), "
        f"on {every}: a {grid.size}×{grid.size} grid (at most {MAX_CELLS} per side, fewer for large h so it stays "
        "about a second). The upper triangle (s > t) is empty, because h_t is computed before h_s and does not "
        "depend on it."))


def saturation_tab(model: Model):
    h, activation = model.h, model.activation
    dphi, steps = finite_steps(model)
    show_chart(dphi_histogram(dphi, activation=activation, gamma=GAMMA[activation]), key="jacobians_dphi", caption=(
        f"How saturated the units are, φ = {activation}: the diagonal of every diag(φ'(a_t)) over all {steps} steps "
        f"and {h} units; values near 0 are saturated units that stop the gradient; the dashed line is γ, the "
        "bound's worst case."))


open_tab_only("jacobians", {
    "Against the lag": lags_tab,
    "Every pair of steps": heatmap_tab,
    "Saturation": saturation_tab,
}, shared_controls)
