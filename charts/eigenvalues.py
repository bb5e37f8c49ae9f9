"""Backpropagation Through Time in Detail (the powers of W_hh in the expanded sum) and its exercise 1,
drawn. Figures of the eigenvalue view: the spectrum of W_hh in the complex plane, its moduli beside
its singular values, log10‖W^k‖₂ against ρ^k, and the section's exercise 1 (M^k x turning
towards the top eigenvector). Plus the sentences that read numbers off those curves.

Text drawn in a figure is Unicode math (Wₕₕᵏ, λᵢ, σ₁); the sentences are markdown with LaTeX."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from .style import LINE_WIDTH, PALETTE, finite_xy, hline, house_layout, layout, log10_axis, new_figure, note, scatter

CIRCLE_POINTS = 361


def _circle(radius: float) -> tuple[np.ndarray, np.ndarray]:
    angle = np.linspace(0.0, 2.0 * np.pi, CIRCLE_POINTS)
    return radius * np.cos(angle), radius * np.sin(angle)


def _complex(values, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.complex128).ravel()
    if arr.size == 0:
        raise ValueError(f"{name}: expected at least one eigenvalue, got none")
    return arr


def eigen_plane(eigvals, *, rho: float, computed=None,
                title: str = "Eigenvalues λᵢ of Wₕₕ in the complex plane") -> go.Figure:
    """Eigenvalues λ_i as points in the complex plane, with the unit circle and the circle |λ| = ρ.

    eigvals (h,) complex: the spectrum W_hh was built with. computed (h,) complex, optional: the
    eigenvalues LAPACK finds in the float64 matrix, drawn as hollow markers when given (for a
    very non-normal W_hh they are visibly off: eigenvalues are ill-conditioned there). Both axes
    have the same scale, so circles look like circles. Non-finite points are left out with a note.
    """
    ev = _complex(eigvals, "eigvals")
    rho = float(rho)
    traces = []
    for radius, name, colour, dash in ((1.0, "unit circle |λ| = 1", PALETTE["grey"], "dash"),
                                       (rho, f"circle |λ| = ρ = {rho:.2f}", PALETTE["blue"], "dot")):
        if math.isfinite(radius) and radius > 0:
            cx, cy = _circle(radius)
            traces.append(scatter(x=cx, y=cy, mode="lines", name=name, hoverinfo="skip",
                                  line=dict(color=colour, dash=dash, width=1.5)))
    dropped = 0
    x, y, bad = finite_xy(ev.real, ev.imag)
    dropped += bad
    traces.append(scatter(x=x, y=y, mode="markers", name="eigenvalues λᵢ",
                          marker=dict(color=PALETTE["vermillion"], size=8, symbol="circle",
                                      line=dict(color=PALETTE["black"], width=0.5)),
                          hovertemplate="λ = %{x:.4g} %{y:+.4g}i<extra></extra>"))
    if computed is not None:
        comp = _complex(computed, "computed")
        x, y, bad = finite_xy(comp.real, comp.imag)
        dropped += bad
        traces.append(scatter(x=x, y=y, mode="markers", name="computed from Wₕₕ in float64",
                              marker=dict(color=PALETTE["black"], size=9, symbol="circle-open", line=dict(width=1.5)),
                              hovertemplate="λ = %{x:.4g} %{y:+.4g}i<extra></extra>"))
    fig = new_figure(*traces, layout=house_layout(
        title=title, x="Re λ", y="Im λ", height=520,
        # Equal scales, so that circles look like circles, kept by widening the x range: the plot keeps the
        # chart's width (a square plot area beside empty margins was 41 % of it on a wide screen).
        yaxis=dict(scaleanchor="x", scaleratio=1, zeroline=True), xaxis=dict(zeroline=True)))
    if dropped:
        note(fig, f"{dropped} non-finite eigenvalue(s) left out.")
    return fig


def moduli_and_singular_values(eigvals, singular_values, *,
                               title: str = "Moduli |λᵢ| and singular values σᵢ of Wₕₕ") -> go.Figure:
    """Sorted moduli |λ_i| and singular values σ_i as two marker series over the index i = 1..h.

    For a normal W_hh the two coincide; for a non-normal one σ₁ = ‖W_hh‖₂ exceeds ρ = |λ₁|, which is
    what lets ‖W_hh^k‖ grow for a while although ρ < 1.
    """
    moduli = np.sort(np.abs(_complex(eigvals, "eigvals")))[::-1]
    sv = np.sort(np.asarray(singular_values, dtype=float).ravel())[::-1]
    fig = new_figure()
    dropped = 0
    for values, name, colour, symbol in ((moduli, "|λᵢ| (eigenvalues)", PALETTE["vermillion"], "circle"),
                                         (sv, "σᵢ (singular values)", PALETTE["blue"], "diamond-open")):
        x, y, bad = finite_xy(np.arange(1, values.size + 1), values)
        dropped += bad
        fig.add_trace(scatter(x=x, y=y, mode="markers", name=name,
                              marker=dict(color=colour, symbol=symbol, size=7, line=dict(width=1.2)),
                              hovertemplate="i = %{x}: %{y:.4g}<extra></extra>"))
    layout(fig, title=title, x="index i (sorted, largest first)", y="value", height=520,
           shapes=[hline(1.0, color=PALETTE["grey"], dash="dash", width=1)])
    if dropped:
        note(fig, f"{dropped} non-finite value(s) left out.")
    return fig


def power_norms_figure(log10_norms, *, rho: float, sigma_max: float | None = None,
                       title: str = "‖Wₕₕᵏ‖₂ = ‖(Wₕₕᵀ)ᵏ‖₂ against ρᵏ") -> go.Figure:
    """log10‖W^k‖₂ for k = 0..K (from ``log10_power_norms``) with the line k·log10 ρ.

    Values are log10 on a linear axis, so ρ = 3, K = 2000 (‖W^k‖ ≈ 10^954) is drawn. With
    ``sigma_max`` the upper bound k·log10 σ₁ (‖W^k‖ ≤ ‖W‖^k) is drawn too; the y range follows the
    curve and the ρ^k line, so a far steeper bound leaves the plot rather than flattening it.
    −inf (W^k exactly zero) is left out with a note.
    """
    lv = np.asarray(log10_norms, dtype=float).ravel()
    k = np.arange(lv.size)
    rho = float(rho)
    fig = new_figure()
    x, y, dropped = finite_xy(k, lv)
    fig.add_trace(scatter(x=x, y=y, mode="lines", name="‖Wₕₕᵏ‖₂",
                          line=dict(color=PALETTE["black"], width=LINE_WIDTH, dash="solid"),
                          hovertemplate="k = %{x}: log₁₀‖W^k‖ = %{y:.4g}<extra></extra>"))
    shown = [y]
    if rho > 0:
        ref = k * math.log10(rho)
        fig.add_trace(scatter(x=k, y=ref, mode="lines", name=f"ρᵏ (ρ = {rho:.2f})",
                              line=dict(color=PALETTE["blue"], width=2, dash="dash"),
                              hovertemplate="k = %{x}: k·log₁₀ρ = %{y:.4g}<extra></extra>"))
        shown.append(ref)
    if sigma_max is not None and float(sigma_max) > 0 and math.isfinite(float(sigma_max)):
        fig.add_trace(scatter(x=k, y=k * math.log10(float(sigma_max)), mode="lines",
                              name=f"‖Wₕₕ‖₂ᵏ = σ₁ᵏ (σ₁ = {float(sigma_max):.2f}, upper bound)",
                              line=dict(color=PALETTE["orange"], width=2, dash="dot"),
                              hovertemplate="k = %{x}: k·log₁₀σ₁ = %{y:.4g}<extra></extra>"))
    values = np.concatenate([v for v in shown if v.size]) if any(v.size for v in shown) else np.zeros(1)
    lo, hi = float(min(values.min(), 0.0)), float(max(values.max(), 0.0))
    pad = 0.06 * max(hi - lo, 1.0)
    layout(fig, title=title, x="power k", y="log₁₀ ‖Wₕₕᵏ‖₂", height=440,
           yaxis=dict(log10_axis(lo, hi), range=[lo - pad, hi + pad]),
           shapes=[hline(0.0, color=PALETTE["grey"], dash="dot", width=1)])
    if dropped:
        note(fig, f"{dropped} power(s) left out: Wₕₕᵏ is exactly zero there (log₁₀ 0 = −∞).")
    return fig


def _power_of_ten(log10_value: float) -> str:
    """A size for a sentence: 263 or 1.2·10^954 (markdown with inline LaTeX); 0 for log10 0 = −∞."""
    if log10_value == -math.inf:  # a nilpotent W_hh (a user's own one can be): W^K is exactly zero
        return "0"
    if -3 <= log10_value <= 6:
        return f"{10 ** log10_value:.3g}"
    exponent = math.floor(log10_value)
    return f"${10 ** (log10_value - exponent):.2f}\\cdot 10^{{{exponent}}}$"


def power_norm_summary(log10_norms, *, rho: float) -> str:
    """One sentence (markdown) read off the curve: transient growth although ρ < 1, or how far past
    ρ^K the last power ends."""
    lv = np.asarray(log10_norms, dtype=float).ravel()
    rho = float(rho)
    K = lv.size - 1
    finite = np.isfinite(lv)
    if K < 1 or not finite[1:].any():
        return "There is no power k ≥ 1 with a non-zero $W_{hh}^k$ to read off."
    ks = np.arange(lv.size)
    cand = np.where(finite & (ks >= 1), lv, -np.inf)
    peak_k = int(np.argmax(cand))
    peak = float(cand[peak_k])
    norm = r"\|W_{hh}^{%s}\|_2"
    if rho < 1:
        if peak > 1e-9:
            above = np.nonzero(finite & (lv > 0) & (ks >= 1))[0]
            tail = (f" It falls back below 1 for good after k = {int(above[-1])} and then decays like ρ^k."
                    if lv[-1] < 0 else f" Up to k = {K}, the last power drawn, it is still above 1.")
            return (f"**Transient growth:** max ${norm % 'k'}$ = {_power_of_ten(peak)} at k = {peak_k}, although "
                    f"ρ = {rho:.2f} < 1: a non-normal Wₕₕ amplifies before its eigenvalues win.{tail}")
        return (f"${norm % 'k'} \\le 1$ for every k from 1 to {K} (largest {_power_of_ten(peak)} at k = {peak_k}): with "
                f"ρ = {rho:.2f} < 1 the powers shrink from the start; ${norm % K}$ = {_power_of_ten(float(lv[-1]))}.")
    if not finite[-1]:
        return f"$W_{{hh}}^{{{K}}}$ is exactly zero."
    excess = float(lv[-1] - K * math.log10(rho))
    head = f"${norm % K}$ = {_power_of_ten(float(lv[-1]))} at k = {K}, the last power drawn"
    if excess <= 1e-6:
        return (f"{head}, which is ρ^{K} for ρ = {rho:.2f}: W_hh is normal here, so its powers have norm exactly ρ^k "
                f"and nothing but the eigenvalues decides growth.")
    return (f"{head}: a factor {_power_of_ten(excess)} above ρ^{K} = {_power_of_ten(K * math.log10(rho))} "
            f"(ρ = {rho:.2f}), contributed by the non-normal part of Wₕₕ.")


def alignment_figure(cos, *, title: str = "Exercise 1: |cos∠(Mᵏx, v₁)| against the power k") -> go.Figure:
    """|cos∠(M^k x, v₁)| for k = 0..K (from ``alignment_with_top_eigenvector``), between 0 and 1.

    NaN (M^k x exactly zero: no direction left) is left out with a note.
    """
    c = np.asarray(cos, dtype=float).ravel()
    x, y, dropped = finite_xy(np.arange(c.size), c)
    fig = new_figure()
    fig.add_trace(scatter(x=x, y=y, mode="lines", name="|cos∠(Mᵏx, v₁)|",
                          line=dict(color=PALETTE["green"], width=LINE_WIDTH, dash="solid"),
                          hovertemplate="k = %{x}: cos = %{y:.6f}<extra></extra>"))
    layout(fig, title=title, x="power k", y="|cos∠(Mᵏx, v₁)|", height=400, yaxis=dict(range=[-0.02, 1.05]),
           shapes=[hline(1.0, color=PALETTE["grey"], dash="dash", width=1)])
    if dropped:
        note(fig, f"{dropped} power(s) left out: Mᵏx is exactly zero there, so it has no direction.")
    return fig


def alignment_summary(cos, *, ratio: float, complex_top: bool = False) -> str:
    """The sentence (markdown) under exercise 1: M^k x = Σ c_i λ_i^k v_i, so the rest shrinks like |λ₂/λ₁|^k."""
    c = np.asarray(cos, dtype=float).ravel()
    target = "the plane of the top conjugate pair λ₁, λ̄₁" if complex_top else "v₁"
    lead = (r"Write $x = \sum_i c_i v_i$; then $M^k x = \lambda_1^k \big(c_1 v_1 + \sum_{i \ge 2} c_i "
            r"(\lambda_i/\lambda_1)^k v_i\big)$, so for a symmetric M with a gap the part off "
            f"{target} shrinks like |λ₂/λ₁|ᵏ and cos∠ → 1.")
    if not math.isfinite(ratio):
        return lead + " Here every eigenvalue is zero, so there is nothing to align with."
    if ratio >= 1.0 - 1e-12:
        return (lead + " Here |λ₂| = |λ₁|: there is no gap, so Mᵏx need not settle on v₁, and gradients keep "
                "more than one direction.")
    reached = np.nonzero(np.isfinite(c) & (c >= 0.999))[0]
    when = (f"cos∠ reaches 0.999 at k = {int(reached[0])}" if reached.size
            else f"cos∠ has not reached 0.999 by k = {c.size - 1}")
    per_decade = (f", one decade every {1.0 / -math.log10(ratio):.3g} steps" if ratio > 0 else "")
    return (lead + f" Here |λ₂/λ₁| = {ratio:.4g}{per_decade}; {when}. For gradients: ∂L/∂hₜ sums "
            r"$(W_{hh}^\top)^{T-i}$ times vectors, so its long-range terms all point along the top eigenvector(s) "
            "of Wₕₕᵀ and carry little else.")
