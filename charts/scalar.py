"""Analysis of Gradients in RNNs (its scalar model, a_t = b_t + c_t a_{t-1}): figures of the scalar-model
view: the terms (Π c_j) b_i of a_t, the recursion against the sum of its terms, and the butterfly effect
of a tiny change in h_0.

Text drawn in a figure is Unicode math (aₜ, cⱼ, h₀)."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from .style import (LINE_WIDTH, PALETTE, bar, finite_xy, house_layout, layout, log10_axis, new_figure, note, scatter,
                    sub)

def scalar_term_bars(log10_abs, sign, *, t: int | None = None,
                     title: str | None = None) -> go.Figure:
    """Bars of log10 |term i| for the terms (Π_{j=i+1..t} c_j) b_i of a_t, i = 1..t.

    log10_abs, sign (t,) as in ``bptt_core.ScalarTerms``. Positive terms are solid blue bars,
    negative terms hatched vermillion bars; exact zeros (−inf) are left out with a note.
    Bars rise from just below the smallest value, on a linear axis of log10 values.
    """
    la = np.asarray(log10_abs, dtype=float)
    sg = np.asarray(sign, dtype=float)
    t = la.size if t is None else int(t)
    i = np.arange(1, la.size + 1)
    finite = np.isfinite(la)
    traces = []
    if finite.any():
        base = math.floor(float(la[finite].min())) - 1.0
        for name, mask, colour, pattern in (
                ("positive term", finite & (sg > 0), PALETTE["blue"], ""),
                ("negative term", finite & (sg < 0), PALETTE["vermillion"], "/")):
            xs, ys, _ = finite_xy(i[mask], la[mask])
            traces.append(bar(
                x=xs, y=ys - base, base=base, name=name, customdata=ys,
                marker=dict(color=colour, line=dict(width=0), pattern=dict(shape=pattern, solidity=0.45)),
                hovertemplate="i = %{x}<br>log₁₀ |term| = %{customdata:.3f}<extra>" + name + "</extra>"))
    fig = new_figure(*traces, layout=house_layout(
        title=title or f"The terms (Π cⱼ) bᵢ that add up to a{sub(t)}", x="i (the step the term starts from)",
        y="log₁₀ |term|", barmode="overlay", bargap=0.1 if la.size < 200 else 0.0,
        yaxis=log10_axis(la[finite]) if finite.any() else {}))
    dropped = int((~finite).sum())
    if dropped:
        note(fig, f"{dropped} term(s) left out: they are exactly zero (a cⱼ = 0 or bᵢ = 0 on their way).")
    return fig


def recursion_vs_terms(check, *, title: str = "|aₜ| by the recursion and as the sum of its terms") -> go.Figure:
    """log10 |a_t| (t = 1..T) from the recursion (line) and from the sum of its terms (circles).

    ``check`` is a ``bptt_core.ScalarCheck``; exact zeros are left out with a note.
    """
    rec = np.asarray(check.log10_recursion, dtype=float)
    t = np.arange(1, rec.size + 1)
    fig = new_figure()
    rx, ry, d1 = finite_xy(t, rec)
    sign_r = np.asarray(check.sign_recursion)[np.isfinite(rec)]
    fig.add_trace(scatter(
        x=rx, y=ry, mode="lines", name="recursion aₜ = bₜ + cₜ aₜ₋₁",
        line=dict(color=PALETTE["black"], dash="solid", width=LINE_WIDTH), customdata=sign_r,
        hovertemplate="t = %{x}<br>log₁₀ |a_t| = %{y:.6f}<br>sign %{customdata:+.0f}<extra>recursion</extra>"))
    s = np.asarray(check.log10_sum, dtype=float)
    sx, sy, d2 = finite_xy(t, s)
    sign_s = np.asarray(check.sign_sum)[np.isfinite(s)]
    fig.add_trace(scatter(
        x=sx, y=sy, mode="markers", name="sum of the terms",
        marker=dict(color=PALETTE["orange"], symbol="circle-open", size=7 if sx.size <= 150 else 4,
                    line=dict(width=1.5 if sx.size <= 150 else 1.0)),
        customdata=sign_s,
        hovertemplate="t = %{x}<br>log₁₀ |Σ terms| = %{y:.6f}<br>sign %{customdata:+.0f}<extra>sum</extra>"))
    layout(fig, title=title, x="time step t", y="log₁₀ |aₜ|", yaxis=log10_axis(ry, sy))
    if d1 + d2:
        note(fig, f"{d1 + d2} point(s) left out: aₜ is exactly zero there.")
    return fig


def butterfly_figure(distance, *, eps: float, rho: float | None = None,
                     title: str = "Butterfly effect: ‖hₜ − h̃ₜ‖ for h₀ and h₀ + εu") -> go.Figure:
    """log10 ‖h_t − h̃_t‖ for t = 0..T (``distance`` (T+1,) from ``bptt_core.butterfly``), linear axis.

    Non-finite distances (the forward pass overflowed float64) and exact zeros (the two runs
    became equal in float64) are left out, and a note says how many. With ``rho``, a dashed
    reference line log10 ε + t log10 ρ (the growth of ‖W_hh^t‖ for the identity φ).
    """
    d = np.asarray(distance, dtype=float)
    t = np.arange(d.size)
    nonfinite = ~np.isfinite(d)
    zero = d == 0.0
    keep = ~nonfinite & ~zero
    with np.errstate(divide="ignore", invalid="ignore"):
        logd = np.where(keep, np.log10(np.where(keep, d, 1.0)), np.nan)
    xs, ys, _ = finite_xy(t, logd)
    fig = new_figure()
    fig.add_trace(scatter(
        x=xs, y=ys, mode="lines", name="‖hₜ − h̃ₜ‖",
        line=dict(color=PALETTE["blue"], dash="solid", width=LINE_WIDTH),
        hovertemplate="t = %{x}<br>log₁₀ ‖h_t − h̃_t‖ = %{y:.3f}<extra></extra>"))
    if rho is not None and rho > 0:
        ref = math.log10(eps) + t * math.log10(rho)
        fig.add_trace(scatter(
            x=t, y=ref, mode="lines", name=f"ερᵗ (ρ = {rho:g}, reference)",
            line=dict(color=PALETTE["vermillion"], dash="dash", width=LINE_WIDTH - 0.5),
            hovertemplate="t = %{x}<br>log₁₀ ε ρ^t = %{y:.3f}<extra></extra>"))
    layout(fig, title=title, x="time step t", y="log₁₀ ‖hₜ − h̃ₜ‖",
           yaxis=log10_axis(ys, *([] if rho is None or rho <= 0 else [ref])))
    parts = []
    if nonfinite.any():
        parts.append(f"{int(nonfinite.sum())} step(s) from t = {int(t[nonfinite][0])} on left out: "
                     f"the hidden state overflowed float64 there")
    if zero.any():
        parts.append(f"{int(zero.sum())} step(s) left out: the two runs are equal in float64 there")
    if parts:
        note(fig, "; ".join(parts) + ".")
    return fig
