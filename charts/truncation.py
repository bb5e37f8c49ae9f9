"""Figures of the truncation view: the book's figure of segments over The Time
Machine, per-step gradient norms of each strategy, and their agreement with the
exact gradient. The Monte-Carlo figures of randomized truncation are in
charts/randomized.py, named after bptt_core/randomized.py."""

from __future__ import annotations

from html import escape

import numpy as np
import plotly.graph_objects as go

from .style import (FONT_SIZE, LINE_WIDTH, PALETTE, STRATEGIES, bar, finite_xy, house_layout, layout, merge_layout,
                    new_figure, note, scatter)

# The figure's rows, top to bottom, as in the book: randomized, regular, full.
ROWS = ("randomized", "chunked", "full")
ROW_LABELS = {"randomized": "Randomized", "chunked": "Regular", "full": "Full"}
SPACE = "␣"          # a visible space
BOX_GAP = 0.07       # horizontal gap between neighbouring segment boxes, in characters
BOX_HALF = 0.36      # half height of a segment box, in rows
FILL_OPACITY = (0.38, 0.14)  # alternating shades of a row's colour


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def visible(text: str) -> str:
    """``text`` with every space shown as '␣'."""
    return text.replace(" ", SPACE)


def segment_labels(text: str, boundaries) -> list[str]:
    """The segments of ``text`` between boundaries, spaces shown as '␣' (e.g. 'the', '␣time')."""
    b = [int(v) for v in boundaries]
    return [visible(text[b[i]:b[i + 1]]) for i in range(len(b) - 1)]


def _check_boundaries(key: str, b, n: int) -> list[int]:
    b = [int(v) for v in np.asarray(b).ravel()]
    if len(b) < 2 or b[0] != 0 or b[-1] != n or any(x >= y for x, y in zip(b, b[1:])):
        raise ValueError(f"boundaries[{key!r}]: expected increasing positions from 0 to {n}, got {b}")
    return b


def truncation_figure(text: str, boundaries: dict, *, row_labels: dict | None = None,
                      title: str = "Where each strategy cuts the gradient") -> go.Figure:
    """The book's figure: one row per strategy, the text's characters in cells, and
    each segment (gradient flows inside it, not across its left edge) drawn as a
    box, neighbouring boxes in alternating shades.

    text: the characters shown (n of them). boundaries: {"randomized", "chunked",
    "full"} → [0, b_1, …, n] segment starts and end (``bptt_core.truncation``).
    row_labels: optional y-axis label per row. Shapes are named "<row> segment <k>",
    and ``layout.meta["boundaries"]`` / ``["segments"]`` repeat the rows' partitions.
    """
    n = len(text)
    if n == 0:
        raise ValueError("text: expected at least one character, got ''")
    labels = dict(ROW_LABELS, **(row_labels or {}))
    traces = []
    size = 20 if n <= 30 else 16 if n <= 50 else 13 if n <= 65 else 11
    meta_b, meta_s = {}, {}
    # Plotly reads <b>, <br>, <a href> … in text and hover labels: a user's text goes in as entities.
    cells = [escape(c, quote=False) for c in visible(text)]
    boxes = []  # set once below: add_shape in a loop re-validates all earlier shapes (quadratic)
    for r, key in enumerate(ROWS):
        b = _check_boundaries(key, boundaries[key], n)
        y = len(ROWS) - 1 - r  # randomized on top
        colour = STRATEGIES[key]["color"]
        boxes += [dict(type="rect", x0=b[k] + BOX_GAP, x1=b[k + 1] - BOX_GAP, y0=y - BOX_HALF, y1=y + BOX_HALF,
                       line=dict(color=colour, width=1.5, dash=STRATEGIES[key]["dash"]),
                       fillcolor=_rgba(colour, FILL_OPACITY[k % 2] * (0.5 if key == "full" else 1.0)),
                       layer="below", name=f"{key} segment {k}")
                  for k in range(len(b) - 1)]
        seg_of = np.searchsorted(b, np.arange(n), side="right")  # 1-based segment of each character
        hover = [f"t = {i + 1} · '{cells[i]}' · segment {seg_of[i]} of {len(b) - 1}: "
                 f"'{escape(visible(text[b[seg_of[i] - 1]:b[seg_of[i]]]), quote=False)}'" for i in range(n)]
        traces.append(scatter(
            x=np.arange(n) + 0.5, y=np.full(n, float(y)), mode="text", text=cells,
            textfont=dict(family="DejaVu Sans Mono, Menlo, Consolas, monospace", size=size, color=PALETTE["black"]),
            name=STRATEGIES[key]["name"], hovertext=hover, hoverinfo="text", showlegend=False))
        meta_b[key] = b
        meta_s[key] = segment_labels(text, b)
    step = 1 if n <= 30 else 5 if n <= 60 else 10
    return new_figure(*traces, layout=house_layout(
        title=title, x="Position in the text (time step t)", y="Strategy", height=120 + 75 * len(ROWS),
        shapes=boxes, meta=dict(boundaries=meta_b, segments=meta_s), showlegend=False,
        margin=dict(l=_left_margin(labels[k] for k in ROWS), r=20, t=60, b=60),
        xaxis=dict(range=[-0.3, n + 0.3], showgrid=False, zeroline=False,
                   tickmode="array", tickvals=[i - 0.5 for i in range(step, n + 1, step)] if step > 1
                   else [i + 0.5 for i in range(n)],
                   ticktext=[str(i) for i in range(step, n + 1, step)] if step > 1
                   else [str(i + 1) for i in range(n)]),
        yaxis=dict(range=[-0.6, len(ROWS) - 0.4], showgrid=False, zeroline=False, tickmode="array",
                   tickvals=[len(ROWS) - 1 - r for r in range(len(ROWS))],
                   ticktext=[labels[k] for k in ROWS], fixedrange=True, title=dict(standoff=12))))


def _left_margin(row_labels) -> int:
    """Room in px for the longest row label and the axis title beside it. Set here rather than by
    Plotly's automargin, which draws the figure a second time to find it (25 ms of every redraw)."""
    return int(48 + 0.6 * FONT_SIZE * max(len(label) for label in row_labels))


def gradient_norms_figure(log10_dL_dh, keys, *, log_space=None,
                          title: str = "‖∂L/∂h_t‖ under each strategy") -> go.Figure:
    """log10 ‖∂L/∂h_t‖ against t, one line per strategy (rows of ``log10_dL_dh`` (k, T),
    named by ``keys`` ∈ STRATEGIES). Non-finite values are left out and counted in a note;
    ``log_space`` (k,) marks rows recomputed in log space after float64 overflowed."""
    V = np.asarray(log10_dL_dh, dtype=float)
    if V.ndim != 2 or V.shape[0] != len(keys):
        raise ValueError(f"log10_dL_dh: expected shape ({len(keys)}, T), got {V.shape}")
    t = np.arange(1, V.shape[1] + 1)
    fig = new_figure()
    dropped = 0
    for i, key in enumerate(keys):
        style = STRATEGIES[key]
        x, y, bad = finite_xy(t, V[i])
        dropped += bad
        name = style["name"] + (" (log space)" if log_space is not None and log_space[i] else "")
        fig.add_trace(scatter(x=x, y=y, mode="lines", name=name,
                              line=dict(color=style["color"], dash=style["dash"], width=LINE_WIDTH),
                              hovertemplate="t = %{x}<br>log₁₀ ‖∂L/∂h_t‖ = %{y:.3f}<extra>" + name + "</extra>"))
    layout(fig, title=title, x="Time step t", y="log₁₀ ‖∂L/∂h_t‖")
    if dropped:
        note(fig, f"{dropped} point{'s' if dropped > 1 else ''} left out: float64 overflowed there "
                  "(or the gradient is exactly 0), so there is no finite value to draw.")
    return fig


def agreement_figure(keys, cosine, relative_error,
                     title: str = "How close each strategy's gradient is to the exact one") -> go.Figure:
    """Bars of cos∠(∇_θL, exact ∇_θL) per strategy, labelled with the relative error
    ‖∇_θL − exact‖ / ‖exact‖. Strategies whose values are undefined (overflow) are
    left out with a note."""
    cosine = np.asarray(cosine, dtype=float)
    relative_error = np.asarray(relative_error, dtype=float)
    fig = new_figure()
    patterns = {"full": "", "chunked": "/", "sliding": ".", "randomized": "x"}
    missing = []
    for i, key in enumerate(keys):
        style = STRATEGIES[key]
        if not np.isfinite(cosine[i]):
            missing.append(style["name"])
            continue
        err = relative_error[i]
        label = f"cos = {cosine[i]:.3f}" + (f"<br>error = {err:.3g}" if np.isfinite(err) else "")
        fig.add_trace(bar(x=[style["name"]], y=[cosine[i]], name=style["name"], text=[label],
                          textposition="outside", cliponaxis=False,
                          marker=dict(color=style["color"], pattern=dict(shape=patterns.get(key, "")),
                                      line=dict(color=style["color"], width=1.5)),
                          hovertemplate="%{x}<br>" + label.replace("<br>", ", ") + "<extra></extra>"))
    layout(fig, title=title, x="Strategy", y="cos∠(gradient, exact gradient)", showlegend=False, bargap=0.35,
           xaxis=dict(type="category", categoryorder="array", categoryarray=[STRATEGIES[k]["name"] for k in keys],
                      tickangle=0),
           yaxis=dict(range=[min(-0.05, float(np.nanmin(cosine)) - 0.1) if np.isfinite(cosine).any() else -0.05,
                             1.3]))
    if len(missing) == len(keys):
        fig.add_annotation(text="No strategy has a finite gradient to compare: float64 overflowed.",
                           xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                           font=dict(size=FONT_SIZE, color=PALETTE["grey"]))
        merge_layout(fig, xaxis=dict(showticklabels=False))
    elif missing:
        note(fig, "Left out (float64 overflowed, so the cosine is undefined): " + ", ".join(missing) + ".")
    return fig


# Moved to charts/randomized.py; imported here so that callers of the old place keep working.
from .randomized import mc_coordinate_figure, mc_error_figure, variance_figure  # noqa: E402,F401
