# Eigenvalues of W_hh: the spectrum in the complex plane, the moduli beside the singular values,
# ‖(W_hhᵀ)^k‖₂ against ρ^k, and the section's exercise 1 (M^k x turning towards v₁).
# W_hh = Q (D + s·N) Qᵀ from bptt_core.w_hh; norms and angles are computed on its Schur factor
# U = D + s·N (same values: Q is orthogonal), which keeps the eigenvalues exact in float64.

from typing import NamedTuple

import numpy as np
import streamlit as st

from bptt_core import (alignment_with_top_eigenvector, eigenvalue_drift, eigenvalues, log10_power_norms,
                       rescaled_power_norms, second_modulus_ratio, singular_values, spectrum, w_hh, w_hh_schur)
from charts.animation import rho_animation
from charts.eigenvalues import (alignment_figure, alignment_summary, eigen_plane, moduli_and_singular_values,
                          power_norm_summary, power_norms_figure)
from ui.controls import shared_controls, widget
from ui.figures import show_chart
from ui.lecture import scenario_buttons
from ui.own_data import OWN_MATRIX, own_input, own_matrix
from ui.sections import open_tab_only
from ui.text import explain, plain_markdown

DRIFT = 1e-6  # computed eigenvalues further than this (relative to max(1, ρ)) from the design are shown
ANIMATION_RHOS = tuple(round(0.5 + 0.05 * i, 2) for i in range(21))  # the frames of "Animate ρ"


@st.cache_data(max_entries=32, show_spinner=False)
def spectra(h: int, rho: float, kind: str, spread: float, nonnormality: float, seed: int):
    designed = spectrum(h, rho, kind, spread)
    W = w_hh(h, rho, kind, spread, nonnormality, seed)
    computed = eigenvalues(W)
    drift = eigenvalue_drift(designed, computed)
    return designed, computed, drift, singular_values(W), second_modulus_ratio(designed)


@st.cache_data(max_entries=32, show_spinner=False)
def power_norms(h: int, rho: float, kind: str, spread: float, nonnormality: float, seed: int, K: int):
    _, U = w_hh_schur(h, rho, kind, spread, nonnormality, seed)
    return log10_power_norms(U, K)


@st.cache_data(max_entries=32, show_spinner=False)
def alignment(h: int, rho: float, kind: str, spread: float, nonnormality: float, seed: int, K: int):
    _, U = w_hh_schur(h, rho, kind, spread, nonnormality, seed)
    return alignment_with_top_eigenvector(U, K, seed=seed)


# A user's own W_hh: the same curves computed on the matrix itself (it has no Schur factor of ours).
@st.cache_data(max_entries=8, show_spinner=False)
def own_spectra(W):
    computed = eigenvalues(W)
    return computed, singular_values(W), second_modulus_ratio(computed)


@st.cache_data(max_entries=8, show_spinner=False)
def own_power_norms(W, K: int):
    return log10_power_norms(W, K)


@st.cache_data(max_entries=8, show_spinner=False)
def own_alignment(W, K: int, seed: int):
    return alignment_with_top_eigenvector(W, K, seed=seed)


st.title("Eigenvalues of W_hh")
scenario_buttons("eigenvalues")
explain(
    "With the identity activation the gradient ∂L/∂h_t is a sum of powers $(W_{hh}^\\top)^k$ applied to the "
    "output gradients, so whether it vanishes or explodes is decided by how $\\|W_{hh}^k\\|$ grows with k. "
    "For a symmetric or normal $W_{hh}$ that is exactly $\\rho^k$, with ρ the largest |eigenvalue|. A non-normal "
    "$W_{hh}$ with the *same* eigenvalues has larger singular values, and its powers can grow for a while even "
    "though ρ < 1: compare the two circles with the curve below.",
    r"\frac{\partial L}{\partial \mathbf{h}_t} = \sum_{i=t}^{T} \left(\mathbf{W}_{hh}^\top\right)^{T-i}"
    r"\mathbf{W}_{qh}^\top \frac{\partial L}{\partial \mathbf{o}_{T+t-i}},\qquad "
    r"\mathbf{W}_{hh} = \mathbf{Q}\,(\mathbf{D} + s\,\mathbf{N})\,\mathbf{Q}^\top",
    r"\rho(\mathbf{W}_{hh})^k \;\le\; \big\|(\mathbf{W}_{hh}^\top)^k\big\|_2 = \big\|\mathbf{W}_{hh}^k\big\|_2"
    r" \;\le\; \|\mathbf{W}_{hh}\|_2^k = \sigma_1^k",
)

row = st.columns(3)
own_matrix()


class Matrix(NamedTuple):
    """The sidebar's model, the view's matrix controls, and the W_hh they make (or the user's own)."""

    seed: int
    kind: str
    spread: float
    s: float                 # the non-normality the matrix uses (0 unless kind is non-normal)
    own: np.ndarray | None   # the user's W_hh, replacing the built one
    h: int
    rho: float
    designed: np.ndarray     # eigenvalues, largest modulus first (exact for the built matrix)
    computed: np.ndarray     # as LAPACK finds them on the float64 matrix
    drifted: bool            # computed ones visibly off the designed ones
    sv: np.ndarray           # singular values
    ratio: float             # |λ₂| / |λ₁|
    built: str               # how the captions name the matrix

    def powers(self, K: int):
        return (own_power_norms(self.own, K) if self.own is not None
                else power_norms(self.h, self.rho, self.kind, self.spread, self.s, self.seed, K))


def matrix() -> Matrix:
    """Draw the controls (sidebar and the row above the tabs) and return the W_hh they make, with the notes
    on it: the user's own matrix, or eigenvalues that LAPACK cannot resolve."""
    model = shared_controls()
    h, rho, seed = model.h, model.rho, model.seed
    kind = widget("kind", row[0])
    spread = widget("spread", row[1])
    nonnormality = widget("nonnormality", row[2])
    if kind != "nonnormal":
        row[2].caption("Non-normality only acts on the non-normal kind.")
    s = nonnormality if kind == "nonnormal" else 0.0  # the other kinds ignore it: share their cache entries
    own, own_source = own_input(OWN_MATRIX)
    if own is None:
        designed, computed, drift, sv, ratio = spectra(h, rho, kind, spread, s, seed)
        built = f"W_hh was built with ({kind})"
    else:
        designed, sv, ratio = own_spectra(own)
        computed, drift = designed, 0.0
        h, rho = own.shape[0], float(abs(designed[0]))
        built = "of your own W_hh"
        st.info(f"Your own W_hh ({plain_markdown(own_source)}: h = {h}, ρ = {rho:.4g}, σ₁ = {sv[0]:.4g}) replaces "
                "the built one in every chart below; the sliders for h, ρ, kind, spread and non-normality do not act "
                "on it. Curves are computed on the matrix itself.", icon=":material/upload_file:")
    drifted = drift > DRIFT * max(1.0, rho)
    if drifted:
        st.warning(f"This W_hh is so non-normal that its eigenvalues are ill-conditioned: LAPACK, working on the "
                   f"float64 matrix (rounding errors near 10⁻¹⁶), finds them up to {drift:.2g} away from the ones "
                   "it was built with (hollow circles). The curves are computed in W_hh's Schur basis, where the "
                   "eigenvalues stay exact.", icon=":material/warning:")
    return Matrix(seed, kind, spread, s, own, h, rho, designed, computed, drifted, sv, ratio, built)


def plane_tab(m: Matrix):
    show_chart(eigen_plane(m.designed, rho=m.rho, computed=m.computed if m.drifted else None),
               key="eigenvalues_plane",
               caption=f"The {m.h} eigenvalues {m.built}, inside the circle of radius ρ = {m.rho:.2f}; "
                       "the dashed circle is |λ| = 1, where powers neither shrink nor grow.")


def singular_tab(m: Matrix):
    show_chart(moduli_and_singular_values(m.designed, m.sv), key="eigenvalues_singular",
               caption=f"|λ_i| and σ_i sorted: equal for a normal W_hh, while a non-normal one has σ₁ = ‖W_hh‖₂ = "
                       f"{m.sv[0]:.3g} above ρ = {m.rho:.2f}.")


def powers_tab(m: Matrix):
    K = widget("K")
    with st.spinner("Computing ‖W_hh^k‖₂ …"):
        lv = m.powers(K)
    show_chart(power_norms_figure(lv, rho=m.rho, sigma_max=float(m.sv[0])), key="eigenvalues_powers",
               caption="log₁₀‖W_hh^k‖₂ for k = 0 … K (black) between ρ^k (dashed) and ‖W_hh‖₂^k (dotted), on a "
                       "linear axis of log₁₀ values, so 10^954 fits; computed exactly in renormalised log space.")
    st.markdown(power_norm_summary(lv, rho=m.rho))


def alignment_tab(m: Matrix):
    K = widget("K")
    cos = (own_alignment(m.own, K, m.seed) if m.own is not None
           else alignment(m.h, m.rho, m.kind, m.spread, m.s, m.seed, K))
    show_chart(alignment_figure(cos), key="eigenvalues_alignment",
               caption="Exercise 1: |cos| of the angle between M^k x and the top eigenvector v₁ of M = W_hh (for a "
                       f"complex top pair: the plane it spans), for a random Gaussian x (seed {m.seed}).")
    st.markdown(alignment_summary(cos, ratio=m.ratio, complex_top=abs(m.designed[0].imag) > 0))


def animation_tab(m: Matrix):
    K = widget("K")
    if m.rho == 0.0:
        st.info("Every eigenvalue of this W_hh is 0: there is no ρ to scale.", icon=":material/info:")
        return
    # ‖(cW)^k‖ = c^k ‖W^k‖: every frame from the cached curve of the "Powers of W_hh" tab.
    sweep = rescaled_power_norms(m.powers(K), [r / m.rho for r in ANIMATION_RHOS])
    show_chart(rho_animation(m.designed, m.rho, ANIMATION_RHOS, sweep),
               key="eigenvalues_animation",
               caption=f"This W_hh scaled to ρ = {ANIMATION_RHOS[0]} … {ANIMATION_RHOS[-1]}: its eigenvalues (left) "
                       "and log₁₀‖W_hh^k‖₂ for k = 0 … K with the line ρ^k (right). Press ▶ Play: the frames play in "
                       "the browser, without a round trip to the server. Powers scale as ‖(cW)^k‖ = c^k ‖W^k‖, so all "
                       "frames come from one computation.")
    st.markdown("Where the eigenvalues cross the unit circle, the powers turn from decay to growth. The gap between "
                "the curve and its ρ^k line (what non-normality adds) is the same in every frame: "
                "log₁₀‖(cW)^k‖ − k·log₁₀(cρ) = log₁₀‖W^k‖ − k·log₁₀ρ.")


open_tab_only("eigenvalues", {
    "Eigenvalues": plane_tab,
    "Singular values": singular_tab,
    "Powers of W_hh": powers_tab,
    "Exercise 1": alignment_tab,
    "Animate ρ": animation_tab,
}, matrix)
