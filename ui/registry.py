"""The lab's views in the order of the section: one table read by app.py and the tests."""

from __future__ import annotations

from dataclasses import dataclass


# The scripts live in views/, not pages/: Streamlit 1.67 runs a pages/ folder beside the entry
# point as an old-style multipage app until st.navigation has run once on the server, so the
# first deep link after a restart would run a view without app.py (no navigation titles, no URL
# validation warnings).


@dataclass(frozen=True)
class View:
    path: str        # script under views/, relative to the repository root
    title: str
    icon: str
    url_path: str
    summary: str     # one line for the home page's map


VIEWS = (
    View("views/unrolled.py", "The unrolled network", ":material/account_tree:", "unrolled",
         "The computational graph for T = 3, ‖∂L/∂h_t‖ over time, and the recursion against the book's expanded sum."),
    View("views/eigenvalues.py", "Eigenvalues of W_hh", ":material/blur_circular:", "eigenvalues",
         "Eigenvalues in the complex plane, ‖(W_hhᵀ)^k‖ against ρ^k, singular values, and the section's exercise 1."),
    View("views/jacobians.py", "Products of Jacobians", ":material/grid_on:", "jacobians",
         "‖Π ∂h_t/∂h_{t-1}‖ against the lag for identity, tanh and sigmoid, with the λ₁γ bound, as a line and a heatmap."),
    View("views/truncation.py", "Truncation strategies", ":material/content_cut:", "truncation",
         "The book's figure over The Time Machine; full, chunked, sliding and randomized gradients; Monte-Carlo."),
    View("views/scalar.py", "The scalar model", ":material/functions:", "scalar",
         "a_t = b_t + c_t a_{t-1}: the terms Π c_j b_i vanish or explode, and the butterfly effect."),
)

# One-click scenarios on the home page: (label, caption template, values, view url_path).
SCENARIOS = (
    ("Gradients vanish", "identity φ, ρ = {rho:g}, T = {T}", dict(activation="identity", rho=0.8, T=100), "unrolled"),
    ("Edge of stability", "identity φ, ρ = {rho:g}, T = {T}", dict(activation="identity", rho=1.0, T=100), "unrolled"),
    ("Gradients explode", "identity φ, ρ = {rho:g}, T = {T}", dict(activation="identity", rho=1.2, T=100), "unrolled"),
)
