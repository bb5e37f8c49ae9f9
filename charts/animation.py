"""Analysis of Gradients in RNNs and Randomized Truncation, swept: figures that play in the browser: Plotly
frames, a play/pause button and a slider.

Every frame travels with the figure, so pressing play (or dragging the Plotly slider)
sends nothing to the server: a lecturer presses play and talks. Frames carry only the
x/y arrays that change; styles, names and the fixed axis ranges live in the first
frame's traces, so the picture does not jump from frame to frame.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import (FONT_SIZE, GRID, LINE_WIDTH, PALETTE, STRATEGIES, axis_band, finite_xy, layout, log10_axis)

FRAME_MS = 450        # time per frame while playing
MAX_FRAMES = 41       # more frames add payload, not understanding
MAX_POINTS = 400      # points per curve and frame: powers k beyond this are thinned
DENSE_K = 100         # ... but every k up to here is kept (transient growth lives there)
CIRCLE_POINTS = 121


def _compact(values) -> np.ndarray:
    """Frame data as the browser gets it: integers as int32, the rest as float32 (half of float64's
    payload; a screen shows no more digits than float32 holds)."""
    v = np.asarray(values)
    if v.dtype.kind == "f" and v.size and np.array_equal(v, np.round(v)) and np.abs(v).max() < 2**31:
        return v.astype(np.int32)
    return v.astype(np.int32 if v.dtype.kind in "iu" else np.float32)


def _xy(x, y) -> dict:
    return dict(x=_compact(x), y=_compact(y))


def _check_frames(values, name: str) -> np.ndarray:
    v = np.asarray(values, dtype=float).ravel()
    if v.size == 0 or v.size > MAX_FRAMES or not np.isfinite(v).all():
        raise ValueError(f"{name}: expected 1 to {MAX_FRAMES} finite values, got {v.size}")
    return v


def k_grid(K: int) -> np.ndarray:
    """Powers k drawn for k = 0..K: all of them up to MAX_POINTS, else every k ≤ DENSE_K and an even grid."""
    if K + 1 <= MAX_POINTS:
        return np.arange(K + 1)
    return np.unique(np.concatenate([np.arange(DENSE_K + 1),
                                     np.round(np.linspace(0, K, MAX_POINTS - DENSE_K)).astype(int)]))


def _padded(lo: float, hi: float, pad: float = 0.06) -> list[float]:
    span = max(hi - lo, 1.0)
    return [lo - pad * span, hi + pad * span]


BUTTONS_WIDTH = 185   # px the play and pause buttons take, left of the slider
SLIDER_HEIGHT = 76    # px the slider takes with its current value above it and its labels under it


def _controls(labels: list[str], prefix: str) -> dict:
    """Play/pause (updatemenus) and, right of them, a slider over the frames, both animating in the
    browser only; the legend stays in the house's band above the plot.

    Both hang from the bottom of the plot area, under the x axis's title, by paddings in pixels
    (paper coordinates scale with the plot's height, and the chart does not know its width):
    the slider's left padding leaves the buttons their room. ``for_projection`` grows the
    paddings with the fonts. Plotly labels every n-th step only, so that its labels do not overlap.
    Layout properties, for the figure's one ``layout(…)`` call (each assignment of the layout
    validates all of it again).
    """
    below = round(axis_band(FONT_SIZE, FONT_SIZE)) + 4
    still = dict(frame=dict(duration=0, redraw=False), mode="immediate", transition=dict(duration=0))
    play = dict(frame=dict(duration=FRAME_MS, redraw=False), fromcurrent=True, mode="immediate",
                transition=dict(duration=0))
    return dict(
        margin=dict(b=below + SLIDER_HEIGHT),
        updatemenus=[dict(type="buttons", direction="left", showactive=False, x=0.0, xanchor="left",
                          y=0.0, yanchor="top", pad=dict(t=below + 16, r=8), font=dict(size=FONT_SIZE),
                          buttons=[dict(label="▶ Play", method="animate", args=[None, play]),
                                   dict(label="❚❚ Pause", method="animate", args=[[None], still])])],
        sliders=[dict(active=0, x=0.0, len=1.0, xanchor="left", y=0.0, yanchor="top",
                      pad=dict(t=below, l=BUTTONS_WIDTH, b=0), font=dict(size=FONT_SIZE),
                      currentvalue=dict(prefix=prefix, font=dict(size=FONT_SIZE)),
                      transition=dict(duration=0),
                      steps=[dict(label=lb, method="animate", args=[[lb], still]) for lb in labels])],
    )


def rho_animation(eigvals, rho: float, rhos, log10_norms, *,
                  title: str | None = None) -> go.Figure:
    """One frame per ρ_f: W_hh scaled to spectral radius ρ_f, its eigenvalues and log10‖W_hh^k‖₂.

    eigvals (h,) complex: the spectrum of the current W_hh, whose spectral radius is ``rho``;
    frame f shows it times ρ_f/ρ. rhos (F,); log10_norms (F, K+1) from
    ``log10_power_norms_scaled(W, K, rhos / rho)``. Left: the complex plane with the unit circle
    and the circle |λ| = ρ_f; right: log10‖W^k‖₂ against k with the line k·log10 ρ_f. Axis
    ranges cover every frame. Non-finite values (W^k exactly zero) are left out.
    """
    ev = np.asarray(eigvals, dtype=np.complex128).ravel()
    rho = float(rho)
    rhos = _check_frames(rhos, "rhos")
    L = np.asarray(log10_norms, dtype=float)
    if ev.size == 0 or not np.isfinite(ev).all() or not (rho > 0 and math.isfinite(rho)) or (rhos <= 0).any():
        raise ValueError("eigvals, rho, rhos: expected finite eigenvalues and positive spectral radii")
    if L.ndim != 2 or L.shape[0] != rhos.size:
        raise ValueError(f"log10_norms: expected shape ({rhos.size}, K+1), got {L.shape}")
    K = L.shape[1] - 1
    ks = k_grid(K)
    angle = np.linspace(0.0, 2.0 * np.pi, CIRCLE_POINTS)
    cos, sin = np.cos(angle), np.sin(angle)
    labels = [f"{r:.2f}" for r in rhos]

    def frame_traces(f: int) -> list[go.Scatter]:
        r, lam = rhos[f], ev * (rhos[f] / rho)
        x, y, _ = finite_xy(ks, L[f, ks])
        return [go.Scatter(_xy(r * cos, r * sin)), go.Scatter(_xy(lam.real, lam.imag)),
                go.Scatter(x=[0, K], y=[0.0, K * math.log10(r)]), go.Scatter(_xy(x, y))]

    # 0.15 of the width between the panels: room for the right one's ticks and title on a 470 px chart.
    fig = make_subplots(rows=1, cols=2, column_widths=[0.36, 0.64], horizontal_spacing=0.15)
    first = frame_traces(0)
    fig.add_trace(go.Scatter(x=cos, y=sin, mode="lines", name="unit circle |λ| = 1", hoverinfo="skip",
                             line=dict(color=PALETTE["grey"], dash="dash", width=1.5)), row=1, col=1)
    fig.add_trace(first[0].update(mode="lines", name="circle |λ| = ρ", hoverinfo="skip",
                                  line=dict(color=PALETTE["blue"], dash="dot", width=1.5)), row=1, col=1)
    fig.add_trace(first[1].update(mode="markers", name="eigenvalues λᵢ",
                                  marker=dict(color=PALETTE["vermillion"], size=8,
                                              line=dict(color=PALETTE["black"], width=0.5)),
                                  hovertemplate="λ = %{x:.3g} %{y:+.3g}i<extra></extra>"), row=1, col=1)
    fig.add_trace(first[2].update(mode="lines", name="ρᵏ",
                                  line=dict(color=PALETTE["blue"], dash="dash", width=2),
                                  hovertemplate="k = %{x}: k·log₁₀ρ = %{y:.4g}<extra></extra>"), row=1, col=2)
    fig.add_trace(first[3].update(mode="lines", name="‖Wₕₕᵏ‖₂",
                                  line=dict(color=PALETTE["black"], width=LINE_WIDTH),
                                  hovertemplate="k = %{x}: log₁₀‖W^k‖ = %{y:.4g}<extra></extra>"), row=1, col=2)
    moving = [1, 2, 3, 4]  # indices of the traces the frames replace
    fig.frames = [go.Frame(name=labels[f], traces=moving, data=frame_traces(f)) for f in range(rhos.size)]

    layout(fig, title=title or f"Wₕₕ scaled to ρ = {rhos[0]:.2f} … {rhos[-1]:.2f}: λᵢ and ‖Wₕₕᵏ‖₂",
           x="Re λ", y="Im λ", height=560, **_controls(labels, "ρ = "))
    axis = dict(gridcolor=GRID, zerolinecolor=GRID, linecolor=PALETTE["grey"], ticks="outside")
    fig.update_xaxes(axis)
    fig.update_yaxes(axis)
    R = 1.08 * max(1.0, float(np.abs(ev).max()) * float(rhos.max()) / rho, float(rhos.max()))
    # Equal scales (circles stay round) by widening the x range, not by narrowing the panel.
    fig.update_xaxes(range=[-R, R], row=1, col=1, zeroline=True)
    fig.update_yaxes(range=[-R, R], row=1, col=1, scaleanchor="x", scaleratio=1, zeroline=True)
    finite = L[:, ks][np.isfinite(L[:, ks])]
    lines = np.array([0.0, K * math.log10(rhos.min()), K * math.log10(rhos.max())])
    values = np.concatenate([finite, lines])
    fig.update_xaxes(range=[0, max(K, 1)], title_text="power k", row=1, col=2)
    fig.update_yaxes(dict(log10_axis(values), range=_padded(float(values.min()), float(values.max()))),
                     title_text="log₁₀ ‖Wₕₕᵏ‖₂", row=1, col=2)
    return fig


def sweep_animation(log10_full, log10_frames, xi, values, *, key: str, symbol: str,
                    title: str | None = None) -> go.Figure:
    """One frame per value of τ (or π): log10‖∂L/∂h_t‖ of the strategy against Full BPTT, and its cuts.

    log10_full (T,): Full BPTT, drawn once; log10_frames (F, T) and xi (F, T): the strategy's
    per-step norms and multipliers for each of the F ``values`` (from ``log10_dL_dh_sweep``;
    ``chunked_xi_sweep`` / ``randomized_xi_sweep``). key ∈ {"chunked", "randomized"} picks the
    house style; symbol is "τ" or "π". Cuts (ξ_t = 0: no gradient from h_t into h_{t−1}) are
    ticks on the bottom of the plot, between steps t − 1 and t. Non-finite values are left out.
    """
    full = np.asarray(log10_full, dtype=float).ravel()
    V = np.asarray(log10_frames, dtype=float)
    xi = np.asarray(xi, dtype=float)
    values = _check_frames(values, "values")
    T = full.size
    if V.shape != (values.size, T) or xi.shape != V.shape:
        raise ValueError(f"log10_frames, xi: expected shape ({values.size}, {T}), got {V.shape} and {xi.shape}")
    style = STRATEGIES[key]
    t = np.arange(1, T + 1)
    labels = [f"{v:g}" for v in values]
    shown = np.concatenate([full[np.isfinite(full)], V[np.isfinite(V)]])
    lo, hi = _padded(float(shown.min()), float(shown.max())) if shown.size else [-1.0, 1.0]
    tick_y = lo + 0.03 * (hi - lo)

    def frame_traces(f: int) -> list[go.Scatter]:
        x, y, _ = finite_xy(t, V[f])
        cuts = np.flatnonzero(xi[f, 1:] == 0.0) + 1.5  # between step t−1 and t, t ≥ 2
        return [go.Scatter(_xy(x, y)), go.Scatter(_xy(cuts, np.full(cuts.size, tick_y)))]

    fig = go.Figure()
    x, y, _ = finite_xy(t, full)
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=STRATEGIES["full"]["name"],
                             line=dict(color=STRATEGIES["full"]["color"], dash="solid", width=LINE_WIDTH),
                             hovertemplate="t = %{x}: %{y:.3f}<extra>Full</extra>"))
    first = frame_traces(0)
    fig.add_trace(first[0].update(mode="lines", name=style["name"],
                                  line=dict(color=style["color"], dash=style["dash"], width=LINE_WIDTH),
                                  hovertemplate="t = %{x}: %{y:.3f}<extra></extra>"))
    fig.add_trace(first[1].update(mode="markers", name="cut (ξₜ = 0)", hoverinfo="skip",
                                  marker=dict(symbol="line-ns-open", size=14, color=style["color"],
                                              line=dict(width=2, color=style["color"]))))
    fig.frames = [go.Frame(name=labels[f], traces=[1, 2], data=frame_traces(f)) for f in range(values.size)]
    layout(fig, title=title or f"Sweeping {symbol}: ‖∂L/∂hₜ‖ under {style['name'].split(' (')[0].lower()}",
           x="Time step t", y="log₁₀ ‖∂L/∂hₜ‖", height=500,
           xaxis=dict(range=[0.5, T + 0.5]), yaxis=dict(log10_axis(lo, hi), range=[lo, hi]),
           **_controls(labels, f"{symbol} = "))
    return fig
