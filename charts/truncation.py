"""Truncating Time Steps and Comparing Strategies: figures of the truncation view: the book's figure of
segments over The Time Machine, per-step gradient norms of each strategy, and their agreement with the
exact gradient. The Monte-Carlo figures of randomized truncation are in charts/randomized.py, named after
bptt_core/randomized.py."""

from __future__ import annotations

from html import escape

import numpy as np
import plotly.graph_objects as go

from .style import (BOTTOM_MARGIN, FONT_SIZE, LINE_WIDTH, PALETTE, STRATEGIES, bar, finite_xy, house_layout, layout, log10_axis,
                    merge_layout, new_figure, note, scatter, wrap)

# The figure's rows, top to bottom, as in the book: randomized, regular, full.
ROWS = ("randomized", "chunked", "full")
ROW_LABELS = {key: STRATEGIES[key]["short"] for key in ROWS}
SPACE = "␣"          # a visible space
BOX_GAP = 0.07       # horizontal gap between neighbouring segment boxes, in characters
BOX_HALF = 0.36      # half height of a segment box, in rows
FILL_OPACITY = (0.38, 0.14)  # alternating shades of a row's colour
LINE_CHARS = 30      # characters on a line of the figure: a longer text wraps onto more lines of three rows
CHAR_FONT = 15       # px: a 470 px chart (an 800 px tablet) holds 30 of them on a line, projected too
ROW_PX = 48          # px per row
TOP_PX = 45          # px above the plot: the title
# Between two lines, a fraction of the plot's height: room for the upper line's positions when the
# figure is projected (20 px labels in a plot about 320 px tall), so more than they need as built.
LINE_GAP = 0.11
CATEGORY_CHARS = 13  # a strategy's name under its bar wraps after this many characters
OVERHANG = 0.45      # a box that goes on past the end of a line ends this far (in characters) beyond it, unseen


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
    row_labels: optional label per row; the y axis shows it up to its first " (" (short names
    leave the characters their width on a narrow screen), the hover text all of it.

    A text longer than ``LINE_CHARS`` wraps onto lines of equal length, each with its three rows
    and its own axes (``xaxis2``/``yaxis2``, …), the positions on each line's x axis; a box that
    goes on past the end of a line runs out of the plot there. Shapes are named "<row> segment <k>"
    (a box cut by the end of a line is two shapes of one name), and ``layout.meta["boundaries"]`` /
    ``["segments"]`` repeat the rows' partitions.
    """
    n = len(text)
    if n == 0:
        raise ValueError("text: expected at least one character, got ''")
    labels = dict(ROW_LABELS, **(row_labels or {}))
    short = {k: labels[k].split(" (")[0] for k in ROWS}
    lines = -(-n // LINE_CHARS)
    per = -(-n // lines)  # characters per line, the last line's possibly fewer
    starts = list(range(0, n, per))
    meta_b, meta_s = {}, {}
    # Plotly reads <b>, <br>, <a href> … in text and hover labels: a user's text goes in as entities.
    cells = [escape(c, quote=False) for c in visible(text)]
    bounds = {key: _check_boundaries(key, boundaries[key], n) for key in ROWS}
    traces, boxes = [], []  # shapes set once below: add_shape in a loop re-validates all earlier ones (quadratic)
    for line, s in enumerate(starts):
        e = min(s + per, n)
        ref = "" if line == 0 else str(line + 1)
        for r, key in enumerate(ROWS):
            b = bounds[key]
            y = len(ROWS) - 1 - r  # randomized on top
            colour = STRATEGIES[key]["color"]
            for k in range(len(b) - 1):
                lo, hi = max(b[k], s), min(b[k + 1], e)
                if lo >= hi:
                    continue
                boxes.append(dict(
                    type="rect", xref="x" + ref, yref="y" + ref, layer="below", name=f"{key} segment {k}",
                    x0=lo + BOX_GAP if b[k] >= s else s - OVERHANG, x1=hi - BOX_GAP if b[k + 1] <= e else e + OVERHANG,
                    y0=y - BOX_HALF, y1=y + BOX_HALF, line=dict(color=colour, width=1.5, dash=STRATEGIES[key]["dash"]),
                    fillcolor=_rgba(colour, FILL_OPACITY[k % 2] * (0.5 if key == "full" else 1.0))))
            seg_of = np.searchsorted(b, np.arange(s, e), side="right")  # 1-based segment of each character
            hover = [f"{escape(labels[key], quote=False)} · t = {i + 1} · '{cells[i]}' · segment {j} of "
                     f"{len(b) - 1}: '{escape(visible(text[b[j - 1]:b[j]]), quote=False)}'"
                     for i, j in zip(range(s, e), seg_of)]
            traces.append(scatter(
                x=np.arange(s, e) + 0.5, y=np.full(e - s, float(y)), mode="text", text=cells[s:e],
                xaxis="x" + ref, yaxis="y" + ref,
                textfont=dict(family="DejaVu Sans Mono, Menlo, Consolas, monospace", size=CHAR_FONT,
                              color=PALETTE["black"]),
                name=STRATEGIES[key]["name"], hovertext=hover, hoverinfo="text", showlegend=False))
    for key in ROWS:
        meta_b[key] = bounds[key]
        meta_s[key] = segment_labels(text, bounds[key])
    gap = LINE_GAP if lines > 1 else 0.0  # of the plot's height, between two lines
    rows_px = ROW_PX * len(ROWS) * lines
    plot_px = rows_px / (1.0 - gap * (lines - 1))
    house = house_layout(
        title=title, x="Position in the text (time step t)", y="Strategy",
        height=round(plot_px + TOP_PX + BOTTOM_MARGIN), shapes=boxes, meta=dict(boundaries=meta_b, segments=meta_s),
        showlegend=False, margin=dict(l=_left_margin(short.values()), r=20))
    axes = {}
    height_of_line = (1.0 - gap * (lines - 1)) / lines
    for line, s in enumerate(starts):
        ref = "" if line == 0 else str(line + 1)
        positions = [p for p in range(s + 1, s + per + 1) if p <= n and (p % 5 == 0 or p == s + 1 and p % 5 < 3)]
        top = 1.0 - line * (height_of_line + gap)
        x = dict(house["xaxis"], range=[s - 0.2, s + per + 0.2], showgrid=False, zeroline=False, tickmode="array",
                 tickvals=[p - 0.5 for p in positions], ticktext=[str(p) for p in positions], anchor="y" + ref)
        y = dict(house["yaxis"], range=[-0.6, len(ROWS) - 0.4], showgrid=False, zeroline=False, tickmode="array",
                 tickvals=[len(ROWS) - 1 - r for r in range(len(ROWS))], ticktext=[short[k] for k in ROWS],
                 fixedrange=True, domain=[max(0.0, top - height_of_line), top], anchor="x" + ref)
        if line:
            x.pop("title", None)
            y.pop("title", None)
        else:
            y["title"] = dict(y["title"], standoff=12)
        if line < lines - 1:
            x.pop("title", None)
        else:
            x["title"] = house["xaxis"]["title"]
        axes["xaxis" + ref], axes["yaxis" + ref] = x, y
    return new_figure(*traces, layout=dict(house, **axes))


def _left_margin(row_labels) -> int:
    """Room in px for the longest row label and the axis title beside it. Set here rather than by
    Plotly's automargin, which draws the figure a second time to find it (25 ms of every redraw)."""
    return int(48 + 0.6 * FONT_SIZE * max(len(label) for label in row_labels))


def gradient_norms_figure(log10_dL_dh, keys, *, log_space=None,
                          title: str = "‖∂L/∂hₜ‖ at each step under each strategy") -> go.Figure:
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
    layout(fig, title=title, x="Time step t", y="log₁₀ ‖∂L/∂hₜ‖", yaxis=log10_axis(V[np.isfinite(V)]))
    if dropped:
        note(fig, f"{dropped} point{'s' if dropped > 1 else ''} left out: float64 overflowed there "
                  "(or the gradient is exactly 0), so there is no finite value to draw.")
    return fig


def agreement_figure(keys, cosine, relative_error,
                     title: str = "cos∠(gradient, exact gradient) for each strategy") -> go.Figure:
    """Bars of cos∠(∇_θL, exact ∇_θL) per strategy, labelled with the relative error
    ‖∇_θL − exact‖ / ‖exact‖. Strategies whose values are undefined (overflow) are
    left out with a note."""
    cosine = np.asarray(cosine, dtype=float)
    relative_error = np.asarray(relative_error, dtype=float)
    fig = new_figure()
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
                          marker=dict(color=style["color"], pattern=dict(shape=style["pattern"]),
                                      line=dict(color=style["color"], width=1.5)),
                          hovertemplate="%{x}<br>" + label.replace("<br>", ", ") + "<extra></extra>"))
    # The strategies' names under their bars, wrapped (three lines at most): four in a row do not fit a
    # narrow chart, or a projected one, on one line each. The names say what the axis is: no title.
    names = [STRATEGIES[k]["name"] for k in keys]
    layout(fig, title=title, x="", y="cos∠(gradient, exact gradient)", showlegend=False, bargap=0.35,
           xaxis=dict(type="category", categoryorder="array", categoryarray=names, tickangle=0, tickmode="array",
                      tickvals=names, ticktext=[wrap(n, CATEGORY_CHARS) for n in names]),
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
