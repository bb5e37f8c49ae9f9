"""Analysis of Gradients in RNNs, with Pascanu et al.'s bound: figures of the Jacobian-products view:
‖∂h_T/∂h_{T−k}‖₂ by lag for several activations with Pascanu, Mikolov & Bengio's bound (λ₁γ)^k, the matrix
log10‖∂h_t/∂h_s‖₂ as a heatmap, and the distribution of φ'(a_t) that decides how much each step shrinks a
gradient.

Text drawn in a figure is Unicode math (hₜ, φ′), with <sub> where Unicode has no subscript (h<sub>T</sub>)."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.colors import get_colorscale

from .style import (ACTIVATION_STYLE, LINE_WIDTH, PALETTE, bar, finite_xy, heatmap, hline, house_layout, layout,
                    log10_axis, new_figure, note, scatter)

# Spelt out: a name would reach plotly.js unexpanded (the figure skips validation), and plotly.js's
# own "RdBu" is a different scale from plotly.py's.
DIVERGING = get_colorscale("RdBu")
GAMMA_TEXT = {1.0: "1", 0.25: "¼"}
HIST_BINS = 50
SATURATED = 0.01  # φ'(a) below this fraction of γ counts as saturated
BOUND_MARKERS = 12  # markers shown on a bound line, whatever its length


def _gamma(g: float) -> str:
    return GAMMA_TEXT.get(float(g), f"{float(g):g}")


def lag_norms_figure(curves: dict, *, bounds: dict | None = None, gammas: dict | None = None,
                     sigma_max: float | None = None,
                     title: str = "‖∂h<sub>T</sub>/∂h<sub>T−k</sub>‖₂ and its bound (σ₁γ)ᵏ by lag k") -> go.Figure:
    """One line per activation of log10‖∂h_T/∂h_{T−k}‖₂ for k = 0..T, with its bound k·log10(λ₁γ).

    curves {activation: (T+1,) log10 norms from ``log10_lag_norms``}; bounds {activation: (T+1,)
    from ``log10_norm_bound``}, drawn long-dashed and thinner in the activation's colour; gammas
    {activation: γ} and sigma_max λ₁ name the bound lines. Log10 values on a linear axis, so
    10^±400 is drawn. −inf (a product exactly zero: every unit saturated at some step) is left out
    with a note.
    """
    traces = []
    dropped = {}
    drawn_bounds = []  # (activation, values, trace) of the bounds drawn so far
    for act, values in curves.items():
        style = ACTIVATION_STYLE.get(act, dict(color=PALETTE["black"], dash="solid"))
        lv = np.asarray(values, dtype=float).ravel()
        x, y, bad = finite_xy(np.arange(lv.size), lv)
        if bad:
            dropped[act] = bad
        traces.append(scatter(x=x, y=y, mode="lines", name=act, legendgroup=act,
                              line=dict(color=style["color"], dash=style["dash"], width=LINE_WIDTH),
                              hovertemplate=f"{act}, k = %{{x}}: %{{y:.4g}}<extra></extra>"))
        if bounds is not None and act in bounds:
            b = np.asarray(bounds[act], dtype=float).ravel()
            bx, by, _ = finite_xy(np.arange(b.size), b)
            details = []
            if gammas is not None and act in gammas:
                g = float(gammas[act])
                details.append(f"γ = {_gamma(g)}")
                if sigma_max is not None:
                    details.append(f"σ₁γ = {float(sigma_max) * g:.3g}")
            same = next((other for other, values, trace in drawn_bounds
                         if values.shape == b.shape and np.allclose(values, b, rtol=1e-12, atol=1e-12)), None)
            if same is not None:  # e.g. identity and tanh (both γ = 1): one line, drawn twice
                for other, _, trace in drawn_bounds:
                    if other == same:  # widen the one below so both colours show
                        trace["line"]["width"] = 4.0
            # The legend says "bound" (one column of long entries would make its band six rows high);
            # γ and σ₁γ are in the hover text, and in the view's caption.
            label = f"{act} bound"
            about = f" ({', '.join(details)})" if details else ""
            # Every bound is long-dashed; a few markers of the activation's own symbol tell them apart.
            traces.append(scatter(x=bx, y=by, mode="lines+markers", name=label, legendgroup=act,
                                  line=dict(color=style["color"], dash="longdash", width=1.5), opacity=0.75,
                                  marker=dict(symbol=style.get("symbol", "circle"), size=7,
                                              maxdisplayed=BOUND_MARKERS),
                                  hovertemplate=f"{act} bound (σ₁γ)ᵏ{about}, k = %{{x}}: %{{y:.4g}}<extra></extra>"))
            drawn_bounds.append((act, b, traces[-1]))
    fig = new_figure(*traces, layout=house_layout(
        title=title, x="lag k (steps back from T)", y="log₁₀ ‖∂h<sub>T</sub>/∂h<sub>T−k</sub>‖₂", height=480,
        shapes=[hline(0.0, color=PALETTE["grey"], dash="dot", width=1)],
        yaxis=log10_axis(*(t["y"] for t in traces), 0.0)))
    if dropped:
        parts = ", ".join(f"{n} for {act}" for act, n in dropped.items())
        note(fig, f"Left out ({parts}): the product is exactly zero there (φ' = 0 for every unit at some step).")
    return fig


def jacobian_heatmap(M, grid, *, activation: str,
                     title: str | None = None) -> go.Figure:
    """Heatmap of log10‖∂h_t/∂h_s‖₂ over sources s (x) and targets t (y) on a grid of steps.

    M (n, n) with M[j, i] for target grid[j] and source grid[i] (``log10_jacobian_norms_on_grid``),
    NaN for s > t. Those cells go to Plotly as None (a gap, not a number): h_t is computed before
    h_s there and does not depend on it. Drawn as a matrix (t grows downwards), they are its upper triangle. −inf cells (a product exactly zero) are gaps too, counted
    in a note. The colour scale is centred on 0 (‖·‖ = 1): blue vanishes, red explodes.
    """
    M = np.asarray(M, dtype=float)
    grid = np.asarray(grid)
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] != grid.size:
        raise ValueError(f"M: expected a square (n, n) matrix matching grid (n,), got {M.shape} and {grid.shape}")
    n = grid.size
    s_idx, t_idx = np.meshgrid(np.arange(n), np.arange(n))
    below = s_idx <= t_idx
    minus_inf = int(np.sum(below & np.isneginf(M)))
    other_bad = int(np.sum(below & ~np.isfinite(M) & ~np.isneginf(M)))
    z = [[float(v) if (ok and math.isfinite(v)) else None for v, ok in zip(row, mask)]
         for row, mask in zip(M.tolist(), below.tolist())]
    finite = M[below & np.isfinite(M)]
    bound = float(np.abs(finite).max()) if finite.size else 1.0
    bound = max(bound, 1e-12)
    ticks = [int(v) for v in grid.tolist()]
    fig = new_figure(heatmap(
        z=z, x=ticks, y=ticks, zmin=-bound, zmax=bound, zmid=0.0, colorscale=DIVERGING, reversescale=True,
        hoverongaps=False, name=f"log₁₀‖∂hₜ/∂hₛ‖₂ ({activation})",
        colorbar=dict(title=dict(text="log₁₀ ‖∂hₜ/∂hₛ‖₂", side="right"), ticklabeloverflow="allow",
                      tickmode="linear", tick0=0, dtick=log10_axis(-bound, bound)["dtick"]),
        hovertemplate="s = %{x}, t = %{y}: %{z:.4g}<extra></extra>"))
    layout(fig, title=title or f"log₁₀ ‖∂hₜ/∂hₛ‖₂ for all s ≤ t, φ = {activation}", x="source step s",
           y="target step t",
           height=560, yaxis=dict(autorange="reversed"))
    text = "Upper triangle (s > t) empty: hₜ is computed before hₛ, so it does not depend on it."
    if minus_inf:
        text += f" {minus_inf} cell(s) with s ≤ t left blank: the product is exactly zero there."
    if other_bad:
        text += f" {other_bad} non-finite cell(s) left blank."
    note(fig, text)
    return fig


def dphi_histogram(dphi, *, activation: str, gamma: float,
                   title: str | None = None) -> go.Figure:
    """Histogram of φ'(a_t) over every step t and unit: the diagonal of each Jacobian diag(φ'(a_t)) W_hh.

    dphi (T, h) or any shape. Bars are shares in percent; a vertical line marks γ, the largest φ' can
    be; a note says which share is saturated (φ' < γ/100), where gradients through that unit die.
    Non-finite values are left out with a note.
    """
    v = np.asarray(dphi, dtype=float).ravel()
    finite = v[np.isfinite(v)]
    dropped = v.size - finite.size
    gamma = float(gamma)
    fig = new_figure()
    style = ACTIVATION_STYLE.get(activation, dict(color=PALETTE["black"]))
    if finite.size:
        hi = max(gamma, float(finite.max()))
        lo = min(0.0, float(finite.min()))
        if hi <= lo:
            hi = lo + 1.0
        counts, edges = np.histogram(finite, bins=HIST_BINS, range=(lo, hi))
        centres = 0.5 * (edges[:-1] + edges[1:])
        share = 100.0 * counts / finite.size
        fig.add_trace(bar(x=centres, y=share, width=edges[1] - edges[0], name=f"φ′(aₜ), {activation}",
                          marker=dict(color=style["color"], line=dict(color=PALETTE["black"], width=0.5)),
                          hovertemplate="φ' ≈ %{x:.3g}: %{y:.3g} %<extra></extra>"))
        saturated = 100.0 * float(np.mean(finite < SATURATED * gamma))
    fig.add_vline(x=gamma, line=dict(color=PALETTE["grey"], dash="dash", width=1.5),
                  annotation_text=f"γ = {_gamma(gamma)}", annotation_position="top left",
                  annotation_yanchor="top")
    span = hi - lo if finite.size else None
    layout(fig, title=title or f"φ′(aₜ) over all steps and units, φ = {activation}",
           x="φ′(aₜ)", y="share of pairs (t, unit), %", height=400, bargap=0.0, showlegend=False,
           xaxis=dict(range=[lo - 0.02 * span, hi + 0.04 * span]) if finite.size else {})
    if finite.size:
        note(fig, f"{saturated:.1f} % of (t, unit) pairs are saturated (φ′ < γ/100).")
    if dropped:
        note(fig, f"{dropped} non-finite value(s) left out (the forward pass overflowed).")
    return fig
