"""One look for every figure: the Okabe–Ito colour-blind-safe palette, line
styles that differ as well as colours, and one name per strategy."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

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
# Plotly's "none" template, spelt out: the house sets its own colours and fonts (see merge_layout).
NO_TEMPLATE = pio.templates["none"].to_plotly_json()
DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]

# The same name, colour and dash for a strategy on every page.
STRATEGIES = {
    "full": dict(name="Full BPTT", color=PALETTE["black"], dash="solid"),
    "chunked": dict(name="Regular truncation (chunks of τ)", color=PALETTE["blue"], dash="dash"),
    "sliding": dict(name="Sliding truncation (last τ steps)", color=PALETTE["green"], dash="dot"),
    "randomized": dict(name="Randomized truncation (π)", color=PALETTE["orange"], dash="dashdot"),
}

# symbol: marks a second line of the activation (its bound) apart from the other activations' ones.
ACTIVATION_STYLE = {
    "identity": dict(color=PALETTE["black"], dash="solid", symbol="circle"),
    "tanh": dict(color=PALETTE["blue"], dash="dash", symbol="square"),
    "sigmoid": dict(color=PALETTE["orange"], dash="dot", symbol="diamond"),
    "relu": dict(color=PALETTE["green"], dash="dashdot", symbol="triangle-up"),
}

FONT_SIZE = 14
LINE_WIDTH = 2.5


GRID = "#E5E5E5"
BOTTOM_MARGIN = 60  # px under the plot for the x-axis title (charts with a note or a legend there add more)


def new_figure(*traces: dict, layout: dict | None = None) -> go.Figure:
    """A figure of ``traces`` (dicts: ``scatter(…)``, ``bar(…)``) and ``layout`` (``house_layout(…)``),
    made without checking their values.

    Plotly validates every value of a trace or a layout as it is set, and again when ``add_trace``
    copies a trace in or a layout is assigned: 5–10 ms of building one of the views' larger charts,
    on every slider move, for values that the same code computes every time. Made at once here,
    they are taken as they are; property names are still checked (a misspelt one raises), and
    tests/test_charts_style.py rebuilds every figure of the gallery with full validation and
    checks that nothing changes. What is added later (``fig.add_trace``, ``note``) is validated.
    """
    return go.Figure(dict(data=list(traces), layout=dict(layout or {}, template=NO_TEMPLATE)), _validate=False)


def scatter(**props) -> dict:
    """A scatter trace as a dict: for ``new_figure``, or ``fig.add_trace`` (which validates a
    ``go.Scatter`` twice: once made, once copied in)."""
    return dict(type="scatter", **props)


def bar(**props) -> dict:
    """A bar trace as a dict (see ``scatter``)."""
    return dict(type="bar", **props)


def heatmap(**props) -> dict:
    """A heatmap trace as a dict (see ``scatter``)."""
    return dict(type="heatmap", **props)


def house_layout(*, title: str, x: str, y: str, log_x: bool = False, log_y: bool = False, height: int = 420,
                 **more) -> dict:
    """The house layout: title, axis titles (log axes say so), legend on top, as a dict.

    ``more``: the figure's own layout properties as nested dicts (``xaxis=dict(range=…)``), laid
    over the house's, so that the layout is set once (each assignment validates all of it again:
    3–8 ms of a figure with many shapes, on every rerun).

    Colours are set directly rather than through a named template: expanding a
    template costs about 7 ms per figure, most of a view's rerun.
    """
    # ticklabeloverflow "allow": Plotly's default ("hide past div") measures every tick label's box
    # again as each label is placed, about 5 ms of a chart's redraw in Chromium; the margins keep the
    # labels inside the figure anyway.
    axis = dict(gridcolor=GRID, zerolinecolor=GRID, linecolor=PALETTE["grey"], ticks="outside",
                tickcolor=PALETTE["grey"], ticklabeloverflow="allow")
    house = dict(
        title=dict(text=title, x=0.0, xanchor="left"),
        font=dict(size=FONT_SIZE),
        height=height,
        margin=dict(l=70, r=20, t=70, b=BOTTOM_MARGIN),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0),
        colorway=SEQUENCE,
        plot_bgcolor="white",
        paper_bgcolor="white",
        xaxis=dict(axis, title=dict(text=x + (" (log scale)" if log_x else "")), type="log" if log_x else "linear"),
        yaxis=dict(axis, title=dict(text=y + (" (log scale)" if log_y else "")), type="log" if log_y else "linear"),
    )
    return _merged(house, more)


def layout(fig: go.Figure, **house) -> go.Figure:
    """Apply ``house_layout(**house)`` to ``fig``."""
    return merge_layout(fig, **house_layout(**house))


def _merged(base: dict, update: dict) -> dict:
    """``base`` with ``update`` laid over it: nested dicts merge, anything else (lists too) replaces."""
    out = dict(base)
    for key, value in update.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def merge_layout(fig: go.Figure, **props) -> go.Figure:
    """``fig.update_layout(**props)`` at a fifth of the cost, for props written as nested dicts.

    Plotly's update machinery (magic-underscore paths, a diff of the old and new layout) costs
    about 7 ms per call, most of what building a chart takes; assigning the merged layout
    validates it once. Keys are layout properties spelled out (``xaxis=dict(…)``, never
    ``xaxis_range``); ``xaxis``/``yaxis`` are the figure's only axes here.

    The house sets its own colours and fonts, so it drops Plotly's default template: re-validating
    it on every assignment cost 20 ms per chart, and it added 6.5 kB to every figure sent.
    """
    fig.layout = _merged(fig.layout.to_plotly_json(), {"template": NO_TEMPLATE, **props})
    return fig


def hline(y: float, **line) -> dict:
    """A horizontal line across the plot at ``y``, as a layout shape for ``layout(…, shapes=[…])``: the
    shape ``fig.add_hline`` makes, without its 2.5 ms of re-validating the layout on every rerun."""
    return dict(type="line", xref="x domain", x0=0, x1=1, yref="y", y0=y, y1=y, line=line)


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
    return merge_layout(fig, margin=dict(b=110))


# --- the lecture hall --------------------------------------------------------------------------

PRESENT_FONT = 20         # px: the smallest text a projected chart carries (axes, ticks, legend, notes)
PRESENT_TITLE_FONT = 24
PRESENT_SCALE = PRESENT_FONT / FONT_SIZE  # margins and data text grow with the fonts
PRESENT_LINE_SCALE = 1.6
PRESENT_MARKER_SCALE = 1.4
MAX_PRESENT_TICKS = 15    # labelled ticks on an axis, at most, at 20 px
PRESENT_HEIGHT = 460      # px: the tallest chart that still fits a 1280×720 projector under a title
DIAGRAM_BOTTOM_MARGIN = 8  # px before scaling: a projected diagram shows no legend under it

# High contrast: the darker Okabe–Ito colours only (each ≥ 2.9:1 on white), light ones mapped onto
# their darker neighbours; dashes and markers keep the traces apart where two colours meet.
HIGH_CONTRAST = {
    PALETTE["orange"]: PALETTE["vermillion"],
    PALETTE["sky"]: PALETTE["blue"],
    PALETTE["yellow"]: PALETTE["black"],
    PALETTE["grey"]: "#555555",
    GRID: "#9E9E9E",
}
_DEFAULT_LINE_WIDTH = 2.0   # Plotly's, for traces that do not set one
_DEFAULT_MARKER_SIZE = 6.0


class _Look(NamedTuple):
    font: float          # smallest font size (0: keep the figure's)
    title_font: float
    scale: float         # margins, note offsets and data text
    line: float          # line widths
    marker: float        # marker sizes
    contrast: bool


_PROJECTION = _Look(PRESENT_FONT, PRESENT_TITLE_FONT, PRESENT_SCALE, PRESENT_LINE_SCALE, PRESENT_MARKER_SCALE, False)
_AS_BUILT = _Look(0.0, 0.0, 1.0, 1.0, 1.0, False)


def _font(font: dict | None, look: _Look, *, size: float | None = None, colour: str | None = None) -> dict:
    """``font`` at least ``size`` (default ``look.font``) px, black in high contrast."""
    font = dict(font or {})
    size = look.font if size is None else size
    if size:
        font["size"] = max(float(font.get("size") or 0), size)
    colour = _colour(font.get("color"), look) if colour is None else colour
    if look.contrast:
        colour = colour or PALETTE["black"]
    if colour is not None:
        font["color"] = colour
    return font


def _colour(value, look: _Look):
    return HIGH_CONTRAST.get(value, value) if look.contrast and isinstance(value, str) else value


def _trace(trace: dict, look: _Look) -> dict:
    """One trace: thicker lines, larger markers and data text, darker colours."""
    mode = trace.get("mode", "lines")
    scatter = trace.get("type", "scatter") in ("scatter", "scattergl")
    # Labelled markers are a diagram's boxes, sized to their text and their neighbours: left as they are.
    diagram = "markers" in mode and "text" in mode
    if "line" in trace or (scatter and "lines" in mode):
        line = dict(trace.get("line") or {})
        if scatter and "lines" in mode:
            line["width"] = float(line.get("width", _DEFAULT_LINE_WIDTH)) * look.line
        if "color" in line:
            line["color"] = _colour(line["color"], look)
        trace["line"] = line
    if "marker" in trace or (scatter and "markers" in mode):
        marker = dict(trace.get("marker") or {})
        if scatter and "markers" in mode and not diagram and np.ndim(marker.get("size", 0)) == 0:
            marker["size"] = float(marker.get("size", _DEFAULT_MARKER_SIZE)) * look.marker
        if "color" in marker:
            marker["color"] = _colour(marker["color"], look)
        if isinstance(marker.get("line"), dict) and "width" in marker["line"]:
            marker["line"] = dict(marker["line"], width=float(marker["line"]["width"]) * look.line)
        if "colorbar" in marker:
            marker["colorbar"] = _colorbar(marker["colorbar"], look)
        trace["marker"] = marker
    if "colorbar" in trace or trace.get("type") == "heatmap":
        trace["colorbar"] = _colorbar(trace.get("colorbar"), look)
    if "textfont" in trace:  # data labels (characters, node names) grow with the fonts, not to 20 px
        font = dict(trace["textfont"])
        if look.scale != 1.0 and not diagram:
            font["size"] = float(font.get("size", FONT_SIZE)) * look.scale
        if "color" in font:
            font["color"] = _colour(font["color"], look)
        trace["textfont"] = font
    return trace


def _colorbar(colorbar: dict | None, look: _Look) -> dict:
    colorbar = dict(colorbar or {})
    colorbar["title"] = dict(colorbar.get("title") or {})
    colorbar["title"]["font"] = _font(colorbar["title"].get("font"), look)
    colorbar["tickfont"] = _font(colorbar.get("tickfont"), look)
    return colorbar


def _annotation(a: dict, look: _Look) -> dict:
    a = dict(a, font=_font(a.get("font"), look))
    if isinstance(a.get("yshift"), (int, float)):  # notes sit below the axis title, which grew
        a["yshift"] = a["yshift"] * look.scale
    if "arrowcolor" in a:
        a["arrowcolor"] = _colour(a["arrowcolor"], look)
    return a


def _shape(shape: dict, look: _Look) -> dict:
    line = dict(shape.get("line") or {})
    line["width"] = float(line.get("width", _DEFAULT_LINE_WIDTH)) * look.line
    if "color" in line:
        line["color"] = _colour(line["color"], look)
    return dict(shape, line=line)


def _restyle(fig: go.Figure, look: _Look, height: int | None) -> go.Figure:
    spec = fig.to_dict()  # a deep copy: the caller's figure stays as it was
    lay = spec.setdefault("layout", {})
    lay["font"] = _font(lay.get("font"), look)
    if isinstance(lay.get("title"), dict) or lay.get("title") is None:
        lay["title"] = dict(lay.get("title") or {})
        lay["title"]["font"] = _font(lay["title"].get("font"), look, size=look.title_font)
    lay["legend"] = dict(lay.get("legend") or {})
    lay["legend"]["font"] = _font(lay["legend"].get("font"), look)
    diagram = (lay.get("xaxis") or {}).get("visible", True) is False
    if look.font and diagram:
        # A diagram's boxes are named on themselves and its caption explains them; at 20 px its
        # legend would take a third of the projector's height. The room kept for it below goes to
        # the drawing, whose boxes have a fixed size in pixels and crowd when it is short.
        lay["showlegend"] = False
        lay["margin"] = dict(lay.get("margin") or {}, b=DIAGRAM_BOTTOM_MARGIN)
    elif look.font and (lay["legend"].get("y") or 0) < 0:
        # A legend under the plot collides with the grown tick labels and axis title: beside it instead.
        lay["legend"].update(orientation="v", x=1.02, xanchor="left", y=1.0, yanchor="top")
        lay["margin"] = dict(lay.get("margin") or {}, b=BOTTOM_MARGIN)  # the room it had below goes to the plot
    if look.font:
        lay["hoverlabel"] = dict(lay.get("hoverlabel") or {}, font=dict(size=look.font))
    for name in [k for k in lay if k.startswith(("xaxis", "yaxis"))] or ["xaxis", "yaxis"]:
        axis = dict(lay.get(name) or {})
        axis["title"] = dict(axis.get("title") or {})
        axis["title"]["font"] = _font(axis["title"].get("font"), look)
        axis["tickfont"] = _font(axis.get("tickfont"), look)
        if look.font:
            axis["automargin"] = True  # larger tick labels (a row's name) get the room they need
            ticks = axis.get("tickvals")
            if axis.get("tickmode") == "array" and ticks is not None and len(ticks) > MAX_PRESENT_TICKS:
                every = -(-len(ticks) // MAX_PRESENT_TICKS)  # one label in `every`: 20 px labels need the room
                axis["tickvals"] = list(ticks)[::every]
                if axis.get("ticktext") is not None:
                    axis["ticktext"] = list(axis["ticktext"])[::every]
        if look.contrast:
            axis.update(gridcolor=HIGH_CONTRAST[GRID], gridwidth=2, zerolinecolor=HIGH_CONTRAST[GRID],
                        linecolor=PALETTE["black"], linewidth=2, tickcolor=PALETTE["black"])
        lay[name] = axis
    if lay.get("margin"):
        lay["margin"] = {k: (v * look.scale if k in "lrtb" and isinstance(v, (int, float)) else v)
                         for k, v in lay["margin"].items()}
    # Whole lists at once: adding annotations one by one re-validates the earlier ones (quadratic).
    for name, restyle in (("annotations", _annotation), ("shapes", _shape)):
        if lay.get(name):
            lay[name] = [restyle(item, look) for item in lay[name]]
    if look.contrast:
        lay["colorway"] = [_colour(c, look) for c in lay.get("colorway", SEQUENCE)]
        lay.update(paper_bgcolor="white", plot_bgcolor="white")
    if height is not None:
        lay["height"] = min(int(lay.get("height") or height), int(height))
    spec["data"] = [_trace(dict(t), look) for t in spec.get("data", ())]
    return go.Figure(spec, _validate=False)  # restyled from a figure the gallery's test validates


def for_projection(fig: go.Figure, *, high_contrast: bool = False, height: int | None = PRESENT_HEIGHT) -> go.Figure:
    """A copy of ``fig`` for a projector: every text at least 20 px (title 24 px), lines 1.6× and
    markers 1.4× as thick, margins and data text grown with the fonts, at most ``height`` px tall.

    ``high_contrast``: also ``in_high_contrast``. ``fig`` itself is not changed.
    """
    return _restyle(fig, _PROJECTION._replace(contrast=high_contrast), height)


def in_high_contrast(fig: go.Figure) -> go.Figure:
    """A copy of ``fig`` in high contrast at its own sizes: black text and axis lines on white, darker
    and thicker gridlines, and the light Okabe–Ito colours (orange, sky blue, yellow, grey) replaced
    by darker ones of the same palette (``HIGH_CONTRAST``). Dashes and marker symbols are untouched,
    so series still differ by style where two colours become one."""
    return _restyle(fig, _AS_BUILT._replace(contrast=True), None)
