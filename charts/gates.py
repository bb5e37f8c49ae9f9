"""Gates against vanishing: the plain RNN, a GRU and an LSTM on one input sequence. Figures of
log10‖∂L/∂hₜ‖ over t and of the lag curves for the three cells, the gate values over time as a
heatmap, and the sentences read off them (every number in a sentence is computed from the data)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import get_colorscale

from bptt_core.logspace import FLOAT64_LOG10_MAX

from .style import LINE_WIDTH, PALETTE, finite_xy, heatmap, layout, log10_axis, new_figure, note, scatter, sup

CELL_STYLE = {
    "RNN": dict(color=PALETTE["vermillion"], dash="solid"),
    "GRU": dict(color=PALETTE["blue"], dash="dash"),
    "LSTM": dict(color=PALETTE["green"], dash="dot"),
}
# Spelt out: a name would reach plotly.js unexpanded (the figure skips validation).
GATE_SCALE = get_colorscale("Viridis")


def _lines(fig: go.Figure, curves: dict, x0: int, what: str) -> tuple[list, int]:
    shown, dropped = [], 0
    for name, y in curves.items():
        y = np.asarray(y, dtype=float)
        xs, ys, gone = finite_xy(np.arange(x0, x0 + y.size), y)
        dropped += gone
        shown.append(ys)
        fig.add_trace(scatter(x=xs, y=ys, mode="lines", name=name, line=dict(width=LINE_WIDTH, **CELL_STYLE[name]),
                              hovertemplate=f"{name}: {what} = %{{y:.3f}} at %{{x}}<extra></extra>"))
    return shown, dropped


def _past_float64(fig: go.Figure, curves: dict) -> None:
    past = [n for n, y in curves.items() if np.nanmax(np.asarray(y, dtype=float)) > FLOAT64_LOG10_MAX]
    if past:
        note(fig, f"{', '.join(past)}: past float64 (largest number about 10{sup('308')}), computed in log space.")


def _cells_figure(curves: dict, *, x0: int, title: str, x: str, y: str, hover: str, zero: str) -> go.Figure:
    """One line per cell of ``curves`` {"RNN"|"GRU"|"LSTM": log10 values}, x from ``x0``; a note for the
    points left out (``zero``: why a value is −inf) and for the cells past float64."""
    fig = new_figure()
    shown, dropped = _lines(fig, curves, x0, hover)
    layout(fig, title=title, x=x, y=y, yaxis=log10_axis(*shown))
    if dropped:
        note(fig, f"{dropped} point(s) left out: {zero}.")
    _past_float64(fig, curves)
    return fig


def cells_over_time_figure(log10_dL_dh: dict, *, title: str = "‖∂L/∂hₜ‖ at each step t, three cells") -> go.Figure:
    """log10‖∂L/∂h_t‖ (T,) against t = 1..T for each cell of ``log10_dL_dh`` {"RNN"|"GRU"|"LSTM": (T,)}."""
    return _cells_figure(log10_dL_dh, x0=1, title=title, x="time step t", y="log₁₀ ‖∂L/∂hₜ‖",
                         hover="log₁₀ ‖∂L/∂hₜ‖", zero="the gradient there is exactly zero")


def cells_lag_figure(log10_lags: dict, *, title: str = "‖∂S<sub>T</sub>/∂S<sub>T−k</sub>‖₂ by lag k, three cells"
                     ) -> go.Figure:
    """log10 of the norm of the product of the last k step Jacobians of each cell's state S (the RNN's and
    GRU's h, the LSTM's (h, c)), k = 0..K, {"RNN"|"GRU"|"LSTM": (K+1,)}."""
    return _cells_figure(log10_lags, x0=0, title=title, x="lag k", y="log₁₀ ‖∂Sᴛ/∂Sᴛ₋ₖ‖₂",
                         hover="log₁₀ ‖∂S_T/∂S_{T−k}‖", zero="the product of Jacobians is exactly zero there")


def gate_heatmap(values, *, gate: str, cell: str, title: str | None = None) -> go.Figure:
    """A gate's values (T, h) in [0, 1] over steps t (x) and hidden units (y): F_t of the LSTM or Z_t of the
    GRU; 1 keeps the old state (and its gradient), 0 overwrites it."""
    V = np.asarray(values, dtype=float)
    T, h = V.shape
    # A numpy array goes to the browser as a typed array (T·h float64 in base64, not a JSON list of numbers).
    fig = new_figure(heatmap(z=np.ascontiguousarray(V.T), x=np.arange(1, T + 1), y=np.arange(1, h + 1),
                             zmin=0.0, zmax=1.0,
                             colorscale=GATE_SCALE, name=f"{gate} ({cell})",
                             colorbar=dict(title=dict(text=gate, side="right")),
                             hovertemplate=f"t = %{{x}}, unit %{{y}}: {gate} = %{{z:.4f}}<extra></extra>"))
    layout(fig, title=title or f"{gate} of the {cell}", x="time step t", y="hidden unit", height=330)
    return fig


def _power(x: float) -> str:
    """10^x for a sentence (markdown with inline LaTeX)."""
    return f"$10^{{{x:.1f}}}$"


def _ranked(values: dict, what: str) -> str:
    """'RNN 10^-2.1, GRU 10^-0.3, LSTM 10^-5.0: the GRU's is the largest, 4.7 orders of magnitude above the LSTM's'.
    The gap is that of the exponents as shown (a reader who subtracts them finds the same number)."""
    finite = {n: float(v) for n, v in values.items() if np.isfinite(v)}
    if not finite:
        return f"No cell has a finite {what}."
    parts = ", ".join(f"{n} {_power(v)}" for n, v in finite.items())
    best, worst = max(finite, key=finite.get), min(finite, key=finite.get)
    gap = round(round(finite[best], 1) - round(finite[worst], 1), 1)
    if gap < 0.05:
        return f"{parts}: about the same for every cell."
    return f"{parts}: the **{best}**'s is the largest, {gap:.1f} orders of magnitude above the {worst}'s."


def cells_sentence(log10_dL_dh: dict) -> str:
    """How ‖∂L/∂h_1‖ compares with ‖∂L/∂h_T‖ for each cell, and which keeps the most (markdown)."""
    change = {n: float(np.asarray(y, dtype=float)[0] - np.asarray(y, dtype=float)[-1]) for n, y in log10_dL_dh.items()}
    return ("$\\|\\partial L/\\partial h_1\\| \\,/\\, \\|\\partial L/\\partial h_T\\|$, from the last step back to the "
            "first: " + _ranked(change, "gradient at both ends"))


def cells_lag_sentence(log10_lags: dict, *, forget=None, update=None) -> str:
    """How much of a change of S_{T−K} reaches S_T in each cell at the longest lag drawn, and, given the
    LSTM's forget gates ``forget`` and the GRU's update gates ``update`` (T, h), their means: along the
    LSTM's cell ∂C_t/∂C_{t−1} = diag(F_t), so F̄ is what a step keeps there on average (markdown)."""
    K = min(np.asarray(y).size for y in log10_lags.values()) - 1
    text = (f"At lag k = {K}, $\\|\\partial S_T/\\partial S_{{T-{K}}}\\|_2$: "
            + _ranked({n: float(np.asarray(y, dtype=float)[K]) for n, y in log10_lags.items()}, "product"))
    if forget is not None and update is not None:
        text += (f" The LSTM's forget gates average {float(np.mean(forget)):.2f} (the GRU's update gates "
                 f"{float(np.mean(update)):.2f}): along the LSTM's cell each step multiplies a change by its Fₜ, "
                 "so gates near one keep it and gates near ½ halve it at every step.")
    return text


def gate_sentence(values, *, gate: str, cell: str) -> str:
    """The gate's mean and how many of its values are near 1 (markdown)."""
    V = np.asarray(values, dtype=float)
    return (f"{gate} of the {cell} averages {V.mean():.3f} over every step and unit; {100 * np.mean(V > 0.9):.0f} % "
            f"of its values are above 0.9 and {100 * np.mean(V < 0.1):.0f} % below 0.1.")
