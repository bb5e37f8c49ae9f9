"""A helper (no subsection of its own). One look for every figure: the Okabe–Ito colour-blind-safe palette, line
styles that differ as well as colours, and one name per strategy."""

from __future__ import annotations

import copy
import math
import re
from contextlib import contextmanager
from contextvars import ContextVar
from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from bptt_core import ACTIVATIONS, STRATEGY_KEYS

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
# Plotly's orjson engine: the same JSON as its json engine (tests/test_charts_style.py checks), about 15× faster
# to write; a page's figures and its drag frames are written on every run, for every student of a hall.
pio.json.config.default_engine = "orjson"
NO_TEMPLATE = pio.templates["none"].to_plotly_json()
DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]

# The same name, colour and dash for a strategy on every page.
# The strategies' looks, in the order of bptt_core.STRATEGY_KEYS (full, chunked, sliding, randomized):
# name in a legend, short name, the parameter that labels a run, line colour and dash, bar pattern.
STRATEGIES = dict(zip(STRATEGY_KEYS, (
    dict(name="Full BPTT", short="Full", parameter="T", color=PALETTE["black"], dash="solid", pattern=""),
    dict(name="Regular truncation (chunks of τ)", short="Regular", parameter="τ", color=PALETTE["blue"],
         dash="dash", pattern="/"),
    dict(name="Sliding truncation (last τ steps)", short="Sliding", parameter="τ", color=PALETTE["green"],
         dash="dot", pattern="."),
    dict(name="Randomized truncation (π)", short="Randomized", parameter="π", color=PALETTE["orange"],
         dash="dashdot", pattern="x"),
)))

# symbol: marks a second line of the activation (its bound) apart from the other activations' ones.
ACTIVATION_STYLE = dict(zip(ACTIVATIONS, (  # in the order of bptt_core.ACTIVATIONS: identity, tanh, sigmoid, relu
    dict(color=PALETTE["black"], dash="solid", symbol="circle"),
    dict(color=PALETTE["blue"], dash="dash", symbol="square"),
    dict(color=PALETTE["orange"], dash="dot", symbol="diamond"),
    dict(color=PALETTE["green"], dash="dashdot", symbol="triangle-up"),
)))

FONT_SIZE = 14
TITLE_FONT = 17           # px: the chart's title (set, not left to Plotly's 1.2 × FONT_SIZE, so the bands below are known)
NOTE_FONT = FONT_SIZE - 2
LINE_WIDTH = 2.5


GRID = "#E5E5E5"

# --- where the text goes -----------------------------------------------------------------------
# Top to bottom: the title, the legend in its own band under it (horizontal, wrapping its entries
# onto more rows when the chart is narrow), the plot, the x axis (ticks, title), the notes. Nothing
# sits beside the plot, so the plot keeps the chart's width at every size. A chart does not know
# its width in pixels (the page lays it out): the bands are sized in pixels from the font sizes,
# and the legend is anchored to the figure ("container") so that Plotly reserves the top margin
# down to its last row, however many rows it wraps into.
LINE_HEIGHT = 1.3         # px of a line of text per px of font
TITLE_STANDOFF = 10       # px between a wrapped axis title and its tick labels
TITLE_TOP = 10            # px from the top of the figure to the title
TITLE_GAP = 8             # px between the title's line and the legend
LEFT_MARGIN = 70
RIGHT_MARGIN = 20
NARROWEST = 470           # px: a chart on an 800 px tablet with the sidebar open; titles and legends fit it
NOTE_CHARS = 60           # a note wraps after this many characters: fits under a 470 px chart, and at 20 px
#                           under a projected one


def axis_band(tick_font: float, title_font: float) -> float:
    """px from the bottom of the plot to the bottom of the x axis's title (ticks outside, their
    labels, the title), as Plotly draws them without automargin."""
    # Measured in Chromium: the title's box ends 65 px under the plot at 14 px, 74 px at 20 px.
    return 5 + LINE_HEIGHT * tick_font + 22 + 1.35 * title_font


BOTTOM_MARGIN = round(axis_band(FONT_SIZE, FONT_SIZE)) + 6  # px under the plot for the x axis (notes add more)


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
    lay = dict(layout or {}, template=NO_TEMPLATE)
    if "title" in lay:
        _fit_text(lay, traces)
    if _SKETCHING.get():
        return Sketch(list(traces), lay)
    return go.Figure(dict(data=list(traces), layout=lay), _validate=False)


# --- sketches: a chart as plain dicts, for the frames of a drag ----------------------------------
# A drag's frames need only what a chart would send, as data, for every value of its parameter: dozens
# of charts where the page draws one. Building each as a Plotly object costs ~3 ms of its ~3.5 (its
# layout alone is rebuilt property by property); inside ``sketching()`` the house's helpers
# (``new_figure``, ``layout``, ``merge_layout``, ``note``, the lecture hall's restyling) keep the same
# chart as plain dicts instead. tests/test_charts_frames.py checks that every dragged chart sketched
# sends what it sends built.
_SKETCHING: ContextVar[bool] = ContextVar("sketching", default=False)


@contextmanager
def sketching():
    """Charts made inside are ``Sketch``es: plain dicts with the figure's shape."""
    token = _SKETCHING.set(True)
    try:
        yield
    finally:
        _SKETCHING.reset(token)


_LISTS = frozenset({"annotations", "shapes", "images", "sliders", "updatemenus"})
_PARTS = frozenset({"margin", "title", "legend", "font", "xaxis", "yaxis", "hoverlabel"})


class _Node(dict):
    """A layout (or a part of one) as a dict that reads like Plotly's objects: ``lay.margin.b``,
    ``a.text`` (None when unset), ``to_plotly_json()``."""

    def __getattr__(self, name):
        value = self.get(name)
        if value is None:  # unset, as Plotly reads it: an empty list, an empty part, or None
            return [] if name in _LISTS else _Node() if name in _PARTS else None
        if isinstance(value, dict):
            return _Node(value)
        if isinstance(value, (list, tuple)):
            return [_Node(v) if isinstance(v, dict) else v for v in value]
        return value

    def to_plotly_json(self) -> dict:
        return dict(self)


class Sketch:
    """A figure as plain dicts (see ``sketching``): ``data``, ``layout``, ``add_trace`` and ``to_plotly_json``."""

    def __init__(self, data: list, layout: dict):
        self.data = [dict(t) if isinstance(t, dict) else t.to_plotly_json() for t in data]
        self._layout = dict(layout)

    @property
    def layout(self) -> _Node:
        return _Node(self._layout)

    @layout.setter
    def layout(self, value) -> None:
        self._layout = dict(value.to_plotly_json() if hasattr(value, "to_plotly_json") else value)

    def add_trace(self, trace) -> "Sketch":
        self.data.append(dict(trace) if isinstance(trace, dict) else trace.to_plotly_json())
        return self

    def to_plotly_json(self) -> dict:
        return {"data": self.data, "layout": self._layout}

    def to_dict(self) -> dict:
        return copy.deepcopy(self.to_plotly_json())


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
    """The house layout as a dict: the title at the top left, the legend in a band of its own under
    it (see "where the text goes"), axis titles; a log axis says so and labels decades only.

    ``more``: the figure's own layout properties as nested dicts (``xaxis=dict(range=…)``), laid
    over the house's, so that the layout is set once (each assignment validates all of it again:
    3–8 ms of a figure with many shapes, on every rerun). The legend's and the title's places are
    the house's: a figure sets ``showlegend``, not where its legend goes.

    Colours are set directly rather than through a named template: expanding a
    template costs about 7 ms per figure, most of a view's rerun.
    """
    # ticklabeloverflow "allow": Plotly's default ("hide past div") measures every tick label's box
    # again as each label is placed, about 5 ms of a chart's redraw in Chromium; the margins keep the
    # labels inside the figure anyway.
    axis = dict(gridcolor=GRID, zerolinecolor=GRID, linecolor=PALETTE["grey"], ticks="outside",
                tickcolor=PALETTE["grey"], ticklabeloverflow="allow")
    house = dict(
        title=dict(text=title, font=dict(size=TITLE_FONT), x=0.0, xref="container", xanchor="left",
                   yref="container", yanchor="top"),
        font=dict(size=FONT_SIZE),
        height=height,
        margin=dict(l=LEFT_MARGIN, r=RIGHT_MARGIN, t=0, b=BOTTOM_MARGIN),
        # "normal": one flowing row of entries; Plotly's default for legend groups ("grouped") puts each
        # group on rows of its own, a band several rows high.
        legend=dict(orientation="h", traceorder="normal"),
        colorway=SEQUENCE,
        plot_bgcolor="white",
        paper_bgcolor="white",
        xaxis=dict(axis, title=dict(text=x + (" (log scale)" if log_x else "")),
                   **(DECADES if log_x else dict(type="linear"))),
        yaxis=dict(axis, title=dict(text=y + (" (log scale)" if log_y else "")),
                   **(DECADES if log_y else dict(type="linear"))),
    )
    out = _merged(house, more)
    out["legend"] = _merged(more.get("legend") or {}, house["legend"])  # the house decides where it goes
    _stack(out)
    return out


def layout(fig: go.Figure, **house) -> go.Figure:
    """Apply ``house_layout(**house)`` to ``fig``, its axis titles fitted to its traces (see ``_fit_text``)."""
    merged = _merged(fig.layout.to_plotly_json(), {"template": NO_TEMPLATE, **house_layout(**house)})
    _fit_text(merged, fig.data)
    fig.layout = merged  # one assignment: validated once (see ``merge_layout``)
    return fig


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
    """A small caption under the x axis's title (e.g. about dropped points), wrapped after
    ``NOTE_CHARS`` characters, with room made for it in the bottom margin. A second note goes
    under the first."""
    lay = fig.layout
    below = [a for a in lay.annotations if a.name == NOTE]
    shift = (below[-1].yshift - _lines(below[-1].text) * NOTE_FONT * LINE_HEIGHT - 4) if below else \
        -axis_band(FONT_SIZE, FONT_SIZE)
    wrapped = wrap(text, NOTE_CHARS)
    annotation = dict(text=wrapped, name=NOTE, xref="paper", yref="paper", x=0.0, y=0.0, xanchor="left",
                      yanchor="top", yshift=shift, align="left", showarrow=False,
                      font=dict(size=NOTE_FONT, color=PALETTE["grey"]))
    bottom = -shift + _lines(wrapped) * NOTE_FONT * LINE_HEIGHT + 8
    return merge_layout(fig, annotations=[a.to_plotly_json() for a in lay.annotations] + [annotation],
                        margin=dict(b=max(lay.margin.b or 0, math.ceil(bottom))))


NOTE = "note"  # the name of a note's annotation


def wrap(text: str, width: int) -> str:
    """``text`` broken into lines of at most ``width`` characters (at spaces) joined by <br>."""
    lines: list[str] = []
    for word in re.findall(r"\S*\([^()]{0,16}\)\S*|\S+", text):  # "(log scale)", "(t, unit)" stay whole
        if lines and len(_visible(lines[-1])) + 1 + len(_visible(word)) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def _visible(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text or "")


def _lines(text: str | None) -> int:
    return (text or "").count("<br>") + 1


# --- titles that fit ---------------------------------------------------------------------------

def _stack(lay: dict) -> None:
    """Title and legend placed in pixels from the top for the title's font and the figure's height;
    the top margin is the title's band (Plotly widens it to the legend's last row when one shows)."""
    height = float(lay.get("height") or 450)
    title = lay["title"]
    title_px = float((title.get("font") or {}).get("size") or TITLE_FONT)
    legend_top = TITLE_TOP + LINE_HEIGHT * title_px + TITLE_GAP
    title.update(y=1.0 - TITLE_TOP / height, yref="container", yanchor="top")
    lay["legend"] = dict(lay.get("legend") or {}, orientation="h", xref="paper", x=0.0, xanchor="left",
                         yref="container", y=1.0 - legend_top / height, yanchor="top")
    lay["margin"] = dict(lay.get("margin") or {}, t=math.ceil(legend_top))


def _prop(trace, key: str):
    """A trace's property, the trace a dict (``scatter(…)``) or a Plotly object (None when unset)."""
    return trace.get(key) if isinstance(trace, dict) else trace[key]


def legend_rows(names, font: float, width: float) -> int:
    """How many rows a horizontal legend of ``names`` takes across ``width`` px (an estimate: 0.55 em
    per character, 40 px for the symbol and the gaps). As plotly.js lays it out: one row if all
    entries fit, else a grid whose columns are as wide as the longest entry, so that one long
    name puts every entry on a row of its own."""
    items = [40 + 0.55 * font * len(_visible(name)) for name in names]
    if not items:
        return 0
    if sum(items) <= width:
        return 1
    return -(-len(items) // max(1, int(width // max(items))))


def _fit_text(lay: dict, traces) -> None:
    """Long y-axis titles broken into lines that fit the plot's height (estimated, with the legend
    as it wraps on the narrowest chart): a rotated title longer than the plot would run up into the
    chart's title. The left margin grows by the lines added. An axis of log₁₀ values (its title
    says so) that sets no ticks of its own gets whole-number ones from its traces' values."""
    for name in [k for k in lay if k.startswith(("xaxis", "yaxis"))]:
        axis = lay[name]
        if (((axis.get("title") or {}).get("text") or "").startswith("log₁₀") and axis.get("type") != "log"
                and "dtick" not in axis and "tickvals" not in axis):
            ref, field = name[0] + name[5:], name[0]
            values = [_prop(t, field) for t in traces
                      if (_prop(t, field + "axis") or field) == ref and _prop(t, field) is not None]
            values = [np.asarray(v, dtype=float) for v in values if np.asarray(v).dtype.kind in "iuf"]
            if values:
                lay[name] = dict(log10_axis(*values), **axis)
    font = float((lay.get("font") or {}).get("size") or FONT_SIZE)
    legend_font = float(((lay.get("legend") or {}).get("font") or {}).get("size") or font)
    names = [_prop(t, "name") or "" for t in traces
             if _prop(t, "showlegend") is not False and _prop(t, "visible") is not False]
    shown = lay.get("showlegend", len(names) > 1) and names
    margin = lay.get("margin") or {}
    width = NARROWEST * font / FONT_SIZE - (margin.get("l") or 0) - (margin.get("r") or 0)
    rows = legend_rows(names, legend_font, width) if shown else 0
    plot = (float(lay.get("height") or 450) - (margin.get("t") or 0) - rows * legend_font * 1.4 - 10
            - (margin.get("b") or 0))
    for name in [k for k in lay if k.startswith("yaxis")]:
        axis = lay[name]
        title = dict(axis.get("title") or {})
        text = (title.get("text") or "").replace("<br>", " ")
        size = float((title.get("font") or {}).get("size") or font)
        if not text:
            continue
        fitted = wrap(text, max(8, int(plot / (0.55 * size))))
        extra = _lines(fitted) - _lines(title.get("text"))
        title["text"] = fitted
        if axis.get("automargin") and _lines(fitted) > 1:
            # Plotly stands a rotated title off the tick labels by its first line: the lines after it
            # would lie on the labels, so it stands off by them too (automargin makes the room).
            title["standoff"] = TITLE_STANDOFF + (_lines(fitted) - 1) * LINE_HEIGHT * size
        lay[name] = dict(axis, title=title)
        if extra and name == "yaxis" and not axis.get("automargin"):
            lay["margin"] = dict(lay.get("margin") or {}, l=(margin.get("l") or 0) + extra * LINE_HEIGHT * size)


# --- axes that cannot be misread ---------------------------------------------------------------

# A log axis labels its decades only (1, 10, 100, …, 10⁴; 0.1, 0.01, 10⁻³): Plotly's own labels
# between them ("…9 100 2 3 4 5") read as other numbers. Minor gridlines still mark 2…9.
MINOR = dict(dtick="D1", showgrid=True, gridcolor="#F2F2F2", ticks="")  # 2 … 9 in each decade, unlabelled
DECADES = dict(type="log", dtick=1, exponentformat="power", showexponent="all", minor=MINOR)


def decade_label(k: int) -> str:
    """The label of the decade 10^k: 0.01, 0.1, 1, 10, 100, 1000, else 10⁴, 10⁻³ (Unicode)."""
    return f"{10.0 ** k:.{max(0, -k)}f}" if -2 <= k <= 3 else "10" + sup(str(k))


def decade_axis(*values, max_labels: int = 7) -> dict:
    """A log axis over ``values`` (positive, finite ones count) from the decade below the smallest to
    the decade above the largest, labelled at decades only (every second or fifth one past
    ``max_labels``), for ``house_layout(…, yaxis=decade_axis(…))``."""
    v = np.concatenate([np.ravel(np.asarray(a, dtype=float)) for a in values]) if values else np.ones(1)
    v = v[np.isfinite(v) & (v > 0)]
    lo, hi = (math.floor(math.log10(v.min())), math.ceil(math.log10(v.max()))) if v.size else (0, 1)
    hi = max(hi, lo + 1)
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 1000) if (hi - lo) // s + 1 <= max_labels)
    ks = [k for k in range(lo, hi + 1) if k % step == 0]
    return dict(type="log", range=[lo, hi], tickmode="array", tickvals=[10.0 ** k for k in ks],
                ticktext=[decade_label(k) for k in ks], minor=MINOR)


def log10_axis(*values, max_labels: int = 5) -> dict:
    """A linear axis of log10 values: ticks at whole numbers (a step of 1, 2, 5, 10, 20, … for at most
    ``max_labels``), so that a tick is a power of ten; a range of at least two whole numbers."""
    v = np.concatenate([np.ravel(np.asarray(a, dtype=float)) for a in values]) if values else np.zeros(1)
    v = v[np.isfinite(v)]
    lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)
    step = next(s for m in (1, 10, 100, 1000, 10_000, 100_000) for s in (m, 2 * m, 5 * m)
                if (hi - lo) / s + 1 <= max_labels)
    axis = dict(tickmode="linear", tick0=0, dtick=step)
    if math.floor(hi / step) - math.ceil(lo / step) < 1:  # fewer than two ticks inside: widen to two
        axis["range"] = [math.floor(lo / step) * step - 0.05 * step, math.ceil(hi / step) * step + 0.05 * step]
        if axis["range"][1] - axis["range"][0] < 1.1 * step:
            axis["range"][1] += step
    return axis


# --- math as text ------------------------------------------------------------------------------
# Plotly draws titles as plain text (no TeX without MathJax, which the lab does not load): indices
# and powers are Unicode sub- and superscripts, and <sub>/<sup> where Unicode has no such letter
# (there is no subscript q or T).
_SUB = dict(zip("0123456789+-−=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"))
_SUP = dict(zip("0123456789+-−=()abcdeghijklmnoprstuvwxyzTHW", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ᵃᵇᶜᵈᵉᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᵀᴴᵂ"))


def sub(text) -> str:
    """``text`` as a subscript: Unicode (hₜ₋₁) where every character has one, else <sub>text</sub>."""
    text = str(text)
    return "".join(_SUB[c] for c in text) if all(c in _SUB for c in text) else f"<sub>{text}</sub>"


def sup(text) -> str:
    """``text`` as a superscript: Unicode (ρᵏ, 10⁻³) where every character has one, else <sup>text</sup>."""
    text = str(text)
    return "".join(_SUP[c] for c in text) if all(c in _SUP for c in text) else f"<sup>{text}</sup>"


# --- the lecture hall --------------------------------------------------------------------------

PRESENT_FONT = 20         # px: the text of a projected chart's axes, ticks, legend, notes and controls
PRESENT_DATA_FONT = 18    # px: the smallest text a projected chart carries (text in the data too)
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
# A trace with ``meta=DETAIL`` (numbers that need the room of others at 18 px) is left out when projected,
# and by the browser from a chart drawn narrower than DETAIL_MIN_PX (ui/live_chart.py): the unrolled graph's
# numbers clear its boxes and each other with them from this width, without them from 600 px
# (tests/test_charts_unrolled.py).
DETAIL = "detail"
DETAIL_MIN_PX = 940
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
    """One trace: thicker lines, larger markers and data text, darker colours; a projected chart
    leaves its details (``DETAIL``) out."""
    if look.font and trace.get("meta") == DETAIL:
        trace["visible"] = False
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
    if "textfont" in trace or "text" in mode or trace.get("text") is not None:  # data labels grow with the fonts
        font = dict(trace.get("textfont") or {})
        if look.font:
            size = float(font.get("size", FONT_SIZE))
            # A diagram's labels are sized to its boxes and their neighbours: only raised to the minimum.
            font["size"] = max(size if diagram else size * look.scale, PRESENT_DATA_FONT)
        if "color" in font:
            font["color"] = _colour(font["color"], look)
        if font or "textfont" in trace:
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


def _slider(slider: dict, look: _Look) -> dict:
    """An animation's slider: its labels at the fonts' size, its offset below the plot grown with them."""
    slider = dict(slider, font=_font(slider.get("font"), look))
    if isinstance(slider.get("currentvalue"), dict):
        slider["currentvalue"] = dict(slider["currentvalue"], font=_font(slider["currentvalue"].get("font"), look))
    if isinstance(slider.get("pad"), dict):
        slider["pad"] = {k: v * look.scale for k, v in slider["pad"].items()}
    return slider


def _menu(menu: dict, look: _Look) -> dict:
    """Buttons (play, pause): their labels at the fonts' size, their offset grown with them."""
    menu = dict(menu, font=_font(menu.get("font"), look))
    if isinstance(menu.get("pad"), dict):
        menu["pad"] = {k: v * look.scale for k, v in menu["pad"].items()}
    return menu


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
        # legend would take a third of the projector's height. The room goes to the drawing, whose
        # boxes have a fixed size in pixels and crowd when it is short.
        lay["showlegend"] = False
        lay["margin"] = dict(lay.get("margin") or {}, b=DIAGRAM_BOTTOM_MARGIN)
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
        lay["margin"] = {k: (v * look.scale if k in "lrb" and isinstance(v, (int, float)) else v)
                         for k, v in lay["margin"].items()}
    # Whole lists at once: adding annotations one by one re-validates the earlier ones (quadratic).
    for name, restyle in (("annotations", _annotation), ("shapes", _shape), ("sliders", _slider),
                          ("updatemenus", _menu)):
        if lay.get(name):
            lay[name] = [restyle(item, look) for item in lay[name]]
    if look.contrast:
        lay["colorway"] = [_colour(c, look) for c in lay.get("colorway", SEQUENCE)]
        lay.update(paper_bgcolor="white", plot_bgcolor="white")
    if height is not None:  # taller with the fonts (the plot keeps its room), never past ``height``
        lay["height"] = min(round((lay.get("height") or height) * look.scale), int(height))
    spec["data"] = [_trace(dict(t), look) for t in spec.get("data", ())]
    if look.font and lay["title"].get("yref") == "container":  # a house figure: its bands again, for the new sizes
        _stack(lay)
        _fit_text(lay, spec["data"])
    if isinstance(fig, Sketch):
        return Sketch(spec["data"], lay)
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
