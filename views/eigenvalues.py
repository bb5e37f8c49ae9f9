# Eigenvalues of W_hh (the section's "Analysis of Gradients in RNNs": the powers of W_hh in the
# gradient's expanded sum, and exercise 1): the spectrum in the complex plane, the moduli beside the
# singular values, ‖(W_hhᵀ)^k‖₂ against ρ^k, M^k x turning towards v₁, and the sweep of ρ.
# The matrix is the sidebar model's W_hh (or the user's own), the one every view shows.

from typing import NamedTuple

import numpy as np
import streamlit as st

from bptt_core import rescaled_power_norms
from charts.animation import rho_animation
from charts.eigenvalues import (alignment_figure, alignment_summary,
                                power_norm_summary, power_norms_figure)
from charts.findings import singular_values_sentence
from ui.compute import MatrixFacts, alignment, matrix_facts, own_alignment, own_matrix_facts, own_power_norms, power_norms
from ui.controls import CONTROLS, Model
from ui.drags import matrix_drag, plane_chart, powers_drag, singular_chart
from ui.figures import show_chart
from ui.lecture import scenario_buttons
from ui.model_panel import model_controls, view_widget
from ui.own_data import OWN_MATRIX, own_input, own_matrix
from ui.sections import open_tab_only
from ui.text import explain, plain_markdown

DRIFT = 1e-6  # computed eigenvalues further than this (relative to max(1, ρ)) from the design are shown
ANIMATION_RHOS = tuple(round(0.5 + CONTROLS["rho"].step * i, 2) for i in range(21))  # "Animate ρ": the slider's steps


class Matrix(NamedTuple):
    """The W_hh the charts show: the model's, or the user's own, with its facts."""

    model: Model
    own: np.ndarray | None   # the user's W_hh, replacing the built one
    facts: MatrixFacts
    name: str                # how the captions name the matrix

    @property
    def h(self) -> int:
        return self.facts.sv.size

    @property
    def drifted(self) -> bool:
        return self.facts.drift > DRIFT * max(1.0, self.facts.rho)

    def powers(self, K: int) -> np.ndarray:
        return own_power_norms(self.own, K) if self.own is not None else power_norms(self.model.matrix_key(), K)

    def alignment(self, K: int) -> np.ndarray:
        return (own_alignment(self.own, K, self.model.seed) if self.own is not None
                else alignment(self.model.matrix_key(), K))


def matrix(row) -> Matrix:
    """The sidebar's model and the W_hh to show (the user's own when given), with the notes on it."""
    model = model_controls()
    own, own_source = own_input(OWN_MATRIX)
    if own is None:
        return Matrix(model, None, matrix_facts(model.matrix_key()), f"the sidebar's {model.kind} Wₕₕ")
    facts = own_matrix_facts(own)
    st.info(f"Your own Wₕₕ ({plain_markdown(own_source)}: h = {own.shape[0]}, ρ = {facts.rho:.4g}, "
            f"σ₁ = {facts.sv[0]:.4g}) replaces the sidebar's in every chart below; the sidebar's h, ρ and kind do "
            "not act on it. Curves are computed on the matrix itself.", icon=":material/upload_file:")
    return Matrix(model, own, facts, "your own Wₕₕ")


def drift_warning(m: Matrix) -> None:
    if m.drifted:
        st.warning(f"This Wₕₕ is so non-normal that its eigenvalues are ill-conditioned: LAPACK, working on the "
                   f"float64 matrix (rounding errors near 10⁻¹⁶), finds them up to {m.facts.drift:.2g} away from the "
                   "ones it was built with (hollow circles). The curves are computed in Wₕₕ's Schur basis, where "
                   "the eigenvalues stay exact.", icon=":material/warning:")


def matrix_drags(m: Matrix, chart) -> tuple[tuple, str]:
    """ρ dragged on a chart of the sidebar's W_hh, and what the caption says of it (none on your own matrix)."""
    return ((), "") if m.own is not None else matrix_drag(m.model, chart)


def plane_tab(m: Matrix):
    drift_warning(m)
    f = m.facts
    outside = int(np.sum(np.abs(f.designed) > 1 + 1e-12))
    drags, about_drag = matrix_drags(m, plane_chart)
    show_chart(plane_chart(f.designed, f.sv, f.rho, computed=f.computed if m.drifted else None),
               key="eigenvalues_plane", drags=drags,
               caption=f"The {m.h} eigenvalues of {m.name}, inside the circle of radius ρ = {f.rho:.3g}; the dashed "
                       f"circle is |λ| = 1, where powers neither shrink nor grow; {outside} of the {m.h} lie outside it."
                       + about_drag)


def singular_tab(m: Matrix):
    f = m.facts
    drags, about_drag = matrix_drags(m, singular_chart)
    show_chart(singular_chart(f.designed, f.sv, f.rho), key="eigenvalues_singular", drags=drags,
               caption=f"|λᵢ| and σᵢ of {m.name}, each sorted from the largest." + about_drag)
    st.markdown(singular_values_sentence(np.abs(f.designed), f.sv))


def powers_tab(m: Matrix):
    drift_warning(m)
    K = view_widget("K")
    lv = m.powers(K)
    drags, about_drag = ((), "") if m.own is not None else powers_drag(m.model, K)
    show_chart(power_norms_figure(lv, rho=m.facts.rho, sigma_max=float(m.facts.sv[0])), key="eigenvalues_powers",
               drags=drags,
               caption=f"log₁₀‖Wₕₕᵏ‖₂ of {m.name} for k = 0 … {lv.size - 1} (black) between ρᵏ (dashed) and ‖Wₕₕ‖₂ᵏ "
                       "(dotted), on a linear axis of log₁₀ values, computed exactly in renormalised log space so "
                       "that it stays finite past float64." + powers_cut(m, K, lv) + about_drag)
    st.markdown(power_norm_summary(lv, rho=m.facts.rho))

def powers_cut(m: Matrix, K: int, lv: np.ndarray) -> str:
    """What the caption says when the curve stops short of K (its norms need a product per power)."""
    if lv.size == K + 1:
        return ""
    return (f" It stops at k = {lv.size - 1} of the K = {K} asked: this Wₕₕ is not normal, so every power costs a "
            f"product of two {m.h}×{m.h} matrices, and {K} of them would take more than a second; a smaller h "
            "shows more powers.")


def alignment_tab(m: Matrix):
    K = view_widget("K")
    cos = m.alignment(K)
    show_chart(alignment_figure(cos), key="eigenvalues_alignment",
               caption=f"Exercise 1: |cos| of the angle between Mᵏ x and the top eigenvector v₁ of M = {m.name} "
                       f"(for a complex top pair: the plane it spans), for a random Gaussian x (seed {m.model.seed}).")
    st.markdown(alignment_summary(cos, ratio=m.facts.ratio, complex_top=abs(m.facts.designed[0].imag) > 0))


def animation_tab(m: Matrix):
    K = view_widget("K")
    if m.facts.rho == 0.0:
        st.info("Every eigenvalue of this Wₕₕ is 0: there is no ρ to scale.", icon=":material/info:")
        return
    # ‖(cW)^k‖ = c^k ‖W^k‖: every frame from the cached curve of the "Powers of W_hh" tab.
    lv = m.powers(K)
    sweep = rescaled_power_norms(lv, [r / m.facts.rho for r in ANIMATION_RHOS])
    show_chart(rho_animation(m.facts.designed, m.facts.rho, ANIMATION_RHOS, sweep),
               key="eigenvalues_animation",
               caption=f"{m.name[0].upper() + m.name[1:]} scaled to ρ = {ANIMATION_RHOS[0]} … {ANIMATION_RHOS[-1]}: its eigenvalues (left) "
                       f"and log₁₀‖Wₕₕᵏ‖₂ for k = 0 … {lv.size - 1} with the line ρᵏ (right). Press ▶ Play: the frames play "
                       "in the browser, without a round trip to the server. Powers scale as ‖(cW)ᵏ‖ = cᵏ ‖Wᵏ‖, so "
                       "all frames come from one computation, and the gap between the curve and its ρᵏ line is the "
                       "same in every frame." + powers_cut(m, K, lv))


st.title("Eigenvalues of Wₕₕ")
scenario_buttons("eigenvalues")
open_tab_only("eigenvalues", {
    "Eigenvalues": plane_tab,
    "Singular values": singular_tab,
    "Powers of Wₕₕ": powers_tab,
    "Exercise 1": alignment_tab,
    "Animate ρ": animation_tab,
}, matrix)
own_matrix()
explain(
    "With the identity activation the gradient ∂L/∂hₜ is a sum of powers $(W_{hh}^\\top)^k$ applied to the "
    "output gradients, so whether it vanishes or explodes is decided by how $\\|W_{hh}^k\\|$ grows with k. "
    "For a symmetric or normal $W_{hh}$ that is exactly $\\rho^k$, with ρ the largest |eigenvalue|. A non-normal "
    "$W_{hh}$ with the *same* eigenvalues has larger singular values, and its powers can grow for a while even "
    "though ρ < 1. The sidebar's *Kind of Wₕₕ* chooses the matrix; every view uses the same one.",
    r"\frac{\partial L}{\partial \mathbf{h}_t} = \sum_{i=t}^{T} \left(\mathbf{W}_{hh}^\top\right)^{T-i}"
    r"\mathbf{W}_{qh}^\top \frac{\partial L}{\partial \mathbf{o}_{T+t-i}},\qquad "
    r"\mathbf{W}_{hh} = \mathbf{Q}\,(\mathbf{D} + s\,\mathbf{N})\,\mathbf{Q}^\top",
    r"\rho(\mathbf{W}_{hh})^k \;\le\; \big\|(\mathbf{W}_{hh}^\top)^k\big\|_2 = \big\|\mathbf{W}_{hh}^k\big\|_2"
    r" \;\le\; \|\mathbf{W}_{hh}\|_2^k = \sigma_1^k",
)
