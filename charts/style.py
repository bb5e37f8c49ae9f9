"""One look for every figure: the Okabe–Ito colour-blind-safe palette, line
styles that differ as well as colours, and one name per strategy."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

# Okabe & Ito (2008), safe for the common colour-vision deficiencies.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
    "grey": "#999999",
}
SEQUENCE = [PALETTE[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky", "black")]
DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]

# The same name, colour and dash for a strategy on every page.
STRATEGIES = {
    "full": dict(name="Full BPTT", color=PALETTE["black"], dash="solid"),
    "chunked": dict(name="Regular truncation (chunks of τ)", color=PALETTE["blue"], dash="dash"),
    "sliding": dict(name="Sliding truncation (last τ steps)", color=PALETTE["green"], dash="dot"),
    "randomized": dict(name="Randomized truncation (π)", color=PALETTE["orange"], dash="dashdot"),
}

ACTIVATION_STYLE = {
    "identity": dict(color=PALETTE["black"], dash="solid"),
    "tanh": dict(color=PALETTE["blue"], dash="dash"),
    "sigmoid": dict(color=PALETTE["orange"], dash="dot"),
    "relu": dict(color=PALETTE["green"], dash="dashdot"),
}

FONT_SIZE = 14
LINE_WIDTH = 2.5


GRID = "#E5E5E5"


def layout(fig: go.Figure, *, title: str, x: str, y: str, log_x: bool = False, log_y: bool = False,
           height: int = 420) -> go.Figure:
    """Apply the house layout: title, axis titles (log axes say so), legend on top.

    Colours are set directly rather than through a named template: expanding a
    template costs about 7 ms per figure, most of a view's rerun.
    """
    axis = dict(gridcolor=GRID, zerolinecolor=GRID, linecolor=PALETTE["grey"], ticks="outside",
                tickcolor=PALETTE["grey"])
    fig.update_layout(
        title=dict(text=title, x=0.0, xanchor="left"),
        font=dict(size=FONT_SIZE),
        height=height,
        margin=dict(l=70, r=20, t=70, b=60),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0),
        colorway=SEQUENCE,
        plot_bgcolor="white",
        paper_bgcolor="white",
        xaxis=dict(axis, title=dict(text=x + (" (log scale)" if log_x else "")), type="log" if log_x else "linear"),
        yaxis=dict(axis, title=dict(text=y + (" (log scale)" if log_y else "")), type="log" if log_y else "linear"),
    )
    return fig


def finite_xy(x, y) -> tuple[np.ndarray, np.ndarray, int]:
    """(x, y) restricted to points where y is finite, and how many were dropped."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(y) & np.isfinite(x)
    return x[keep], y[keep], int((~keep).sum())


def note(fig: go.Figure, text: str) -> go.Figure:
    """A small caption below the x-axis title (e.g. about dropped points), with room made for it."""
    fig.add_annotation(text=text, xref="paper", yref="paper", x=0.0, y=-0.3, yanchor="top", showarrow=False,
                       xanchor="left", font=dict(size=FONT_SIZE - 2, color=PALETTE["grey"]))
    fig.update_layout(margin=dict(b=110))
    return fig
