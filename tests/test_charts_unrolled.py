"""Tests of charts.unrolled: the graph for T = 3, ‖∂L/∂h_t‖ over time, the recursion against the
expanded sum, its terms, and each step's share of ∂L/∂W_hh — names, axes, and never an inf or NaN."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from bptt_core import (ACTIVATIONS, expanded_dL_dh, log10_gradient_norms, product_form_dL_dh, recursion_dL_dh,
                       toy_problem, unrolled_gradients)
from charts.style import DETAIL, DETAIL_MIN_PX, PRESENT_DATA_FONT, STRATEGIES, for_projection, legend_rows
from charts.unrolled import (NUMBERS, graph_positions, gradient_norms_over_time, recursion_vs_sum, sum_terms,
                             unrolled_graph, w_hh_contribution_bars)


def nonfinite(value) -> int:
    """inf/NaN numbers anywhere in a figure's JSON-like value (strings and None are fine)."""
    if value is None or isinstance(value, (str, bytes, bool, np.bool_)):
        return 0
    if isinstance(value, (int, float, np.integer, np.floating)):
        return 0 if np.isfinite(value) else 1
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fc":
            return int((~np.isfinite(value)).sum())
        return sum(nonfinite(v) for v in value.ravel()) if value.dtype.kind == "O" else 0
    if isinstance(value, dict):
        return sum(nonfinite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(nonfinite(v) for v in value)
    return 0


def assert_clean(fig: go.Figure):
    spec = fig.to_plotly_json()
    assert nonfinite(spec["data"]) == 0
    assert nonfinite(spec["layout"]) == 0
    assert fig.layout.title.text


def plain(label: str) -> str:
    """A node label as its name: 'h₂' → 'h_2', 'W<sub>hh</sub>' → 'W_hh'."""
    label = label.replace("<sub>", "_").replace("</sub>", "")
    digits = "".join(c for c in label if c in "₀₁₂₃₄₅₆₇₈₉")
    return label.rstrip("₀₁₂₃₄₅₆₇₈₉") + "_" + digits.translate(str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")) \
        if digits else label


def names(fig):
    return [t.name for t in fig.data]


# --- the graph ---------------------------------------------------------------------------------

@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("rho", [0.1, 1.0, 3.0])
def test_graph_has_every_node_and_edge(activation, rho):
    ug = unrolled_gradients(*toy_problem(3, 16, activation, rho, seed=0))
    fig = unrolled_graph(ug, activation=activation)
    assert_clean(fig)
    shown = [t.name for t in fig.data if t.showlegend is not False]
    assert shown == ["Gradient on an edge ‖·‖", "Variables", "Parameters (shared by all steps)", "Operators"]
    by_name = {t.name: t for t in fig.data}
    variables = {plain(s) for s in by_name["Variables"].text}
    want = {"h_0", "L"} | {f"{v}_{t}" for v in "xholy" for t in (1, 2, 3)}
    assert variables == want
    params = [plain(s) for s in by_name["Parameters (shared by all steps)"].text]
    assert sorted(params) == sorted(["W_hx", "W_hh", "W_qh"] * 3)
    ops = list(by_name["Operators"].text)
    assert ops.count("×") == 3 and ops.count("+" if activation == "identity" else "φ") == 3
    # One arrow per drawn edge: the core's 30, with h_t → o_t and W_qh → o_t through "×" (+3), each a
    # line trace of its own (a frame of the ρ drag restyles it in place) and a head in the arrowhead trace.
    lines = [t for t in fig.data if t.name == "edge"]
    assert len(lines) == 33 and all(len(t.x) == len(t.y) == 2 for t in lines)
    assert len(by_name["arrowhead"].x) == 33 and not fig.layout.annotations
    # Every edge with a gradient has a midpoint marker whose hover text gives the number: those along
    # the steps in one trace, those into parameters and inputs (left out when projected) in another.
    along, detail = by_name[NUMBERS[False]], by_name[NUMBERS[True]]
    assert len(along.x) + len(detail.x) == 30  # 33 arrows minus the three y_t → l_t, which take no gradient
    assert len(along.x) == 15 and detail.meta == DETAIL and detail.showlegend is False
    texts = list(along.text) + list(detail.text)
    for numbers in (along, detail):
        assert all("‖·‖ =" in h for h in numbers.hovertext)
        assert numbers.marker.colorscale is None  # explicit colours, no colour bar: the numbers are the scale
    assert all(texts)
    # Widths grow with the gradient: the widest line carries the largest number.
    widths = [t.line.width for t in lines]
    assert max(widths) > min(widths)
    widest = max(lines, key=lambda t: t.line.width)
    biggest = int(np.argmax([float(v) for v in texts]))
    xs, ys = list(along.x) + list(detail.x), list(along.y) + list(detail.y)
    assert on_segment((xs[biggest], ys[biggest]), (widest.x[0], widest.y[0]), (widest.x[1], widest.y[1])), \
        "the widest line is not the largest gradient's"
    # Each arrow's head, and the marker of its number, in the arrow's colour.
    heads = by_name["arrowhead"]
    assert list(heads.marker.color) == [t.line.color for t in lines]
    colours = list(along.marker.color) + list(detail.marker.color)
    for x, y, colour in zip(xs, ys, colours):
        (edge,) = [t for t in lines if on_segment((x, y), (t.x[0], t.y[0]), (t.x[1], t.y[1]))]
        assert edge.line.color == colour
    assert fig.layout.xaxis.visible is False and fig.layout.yaxis.visible is False


def on_segment(p, a, b) -> bool:
    """Whether point ``p`` lies on the line through ``a`` and ``b`` between them (arrows are drawn
    stopped short of the boxes, so the ends are allowed a little beyond)."""
    (px, py), (ax, ay), (bx, by) = p, a, b
    cross = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
    dot = (px - ax) * (bx - ax) + (py - ay) * (by - ay)
    return abs(cross) < 1e-9 and -0.5 <= dot / ((bx - ax) ** 2 + (by - ay) ** 2) <= 1.5


def text_boxes(fig: go.Figure, width: float) -> tuple[list, list]:
    """The numbers beside the edges and the nodes of a graph drawn ``width`` px wide, as rectangles
    (label, x0, y0, x1, y1) in pixels (y up), placed the way plotly.js places a marker's text.

    plotly.js puts the text 1.25 marker radii + 1 px from the point and centres a line of text on
    0.75 of the font size; digits are 0.556 em wide in Arial (0.56 em is used for every character).
    """
    lay = fig.layout
    m = lay.margin
    legend = [t.name for t in fig.data if t.showlegend is not False] if lay.showlegend is not False else []
    font = lay.legend.font.size or lay.font.size
    top = m.t + legend_rows(legend, font, width - m.l - m.r) * font * 1.4 + 10 if legend else m.t
    sx = (width - m.l - m.r) / (lay.xaxis.range[1] - lay.xaxis.range[0])
    sy = (lay.height - top - m.b) / (lay.yaxis.range[1] - lay.yaxis.range[0])
    shown = [t for t in fig.data if t.name in NUMBERS.values() and t.visible is not False]
    numbers = []
    for edges, x, y, text, where in ((t, *v) for t in shown for v in zip(t.x, t.y, t.text, t.textposition)):
        size = edges.textfont.size
        gap = edges.marker.size / 2 / 0.8 + 1
        w, h = 0.56 * size * len(text), 1.2 * size
        vertical, horizontal = where.split()
        y0 = {"top": y * sy + gap, "middle": y * sy - h / 2, "bottom": y * sy - gap - h}[vertical]
        x0 = {"right": x * sx + gap, "center": x * sx - w / 2, "left": x * sx - gap - w}[horizontal]
        numbers.append((text, x0, y0, x0 + w, y0 + h))
    nodes = []
    for t in fig.data:
        if t.name in ("Variables", "Parameters (shared by all steps)", "Operators"):
            r = t.marker.size / 2
            nodes += [(label, x * sx - r, y * sy - r, x * sx + r, y * sy + r) for x, y, label in zip(t.x, t.y, t.text)]
    return numbers, nodes


def overlap(a, b) -> bool:
    return a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]


@pytest.mark.parametrize("activation, rho", [("identity", 0.9), ("tanh", 2.5), ("sigmoid", 0.5), ("identity", 30.0)])
@pytest.mark.parametrize("projected, width", [(False, DETAIL_MIN_PX), (True, 820), (False, DETAIL_MIN_PX - 1), (False, 600)])
def test_graph_numbers_clear_the_boxes_and_each_other(activation, rho, projected, width):
    # The main column is about 940 px wide, 820 px on a 1280 px projector in presentation mode, where
    # the graph is also shorter (460 px) and its numbers 18 px. ρ = 30 writes five-character numbers ("7.5e4").
    # Narrower than DETAIL_MIN_PX (a laptop's or a tablet's column) the browser leaves the details out.
    fig = unrolled_graph(unrolled_gradients(*toy_problem(3, 16, activation, rho, seed=0)), activation=activation)
    if projected:
        fig = for_projection(fig)
    elif width < DETAIL_MIN_PX:
        fig.update_traces(visible=False, selector=dict(meta=DETAIL))
    numbers, nodes = text_boxes(fig, width)
    assert max(len(n[0]) for n in numbers) >= (5 if rho > 1 or activation == "sigmoid" else 4)
    if projected:  # every text at least 18 px, and only the numbers along the steps
        assert len(numbers) == 15
        assert all(t.textfont.size >= PRESENT_DATA_FONT for t in fig.data if t.text is not None and t.visible)
    on_boxes = [(n[0], b[0]) for n in numbers for b in nodes if overlap(n, b)]
    on_numbers = [(a[0], b[0]) for i, a in enumerate(numbers) for b in numbers[i + 1:] if overlap(a, b)]
    assert not on_boxes and not on_numbers


def test_graph_positions_are_distinct():
    pos = graph_positions(3)
    assert len(set(pos.values())) == len(pos)
    assert {k for k in pos if k.startswith("W_hh@")} == {"W_hh@1", "W_hh@2", "W_hh@3"}


def test_graph_with_all_zero_messages_stays_finite():
    # Zero the data so many messages vanish; the figure must still have no inf/NaN.
    rnn, X, Y = toy_problem(3, 4, "relu", 0.1, seed=0)
    ug = unrolled_gradients(rnn, np.zeros_like(X), np.zeros_like(Y))
    assert_clean(unrolled_graph(ug, activation="relu"))


# --- ‖∂L/∂h_t‖ over time ------------------------------------------------------------------------

def test_gradient_norms_over_time_with_reference():
    rnn, X, Y = toy_problem(1000, 16, "identity", 3.0, seed=0)
    ln = log10_gradient_norms(rnn, X, Y)
    fig = gradient_norms_over_time(ln.log10_dL_dh, rho=3.0)
    assert_clean(fig)
    assert names(fig) == [STRATEGIES["full"]["name"], "ρᵀ⁻ᵗ from t = T (ρ = 3.00)"]
    assert fig.data[0].line.dash == STRATEGIES["full"]["dash"]
    assert fig.data[1].line.dash == "dash"
    assert fig.layout.yaxis.title.text == "log₁₀ ‖∂L/∂hₜ‖"
    assert fig.layout.yaxis.type == "linear" and fig.layout.xaxis.title.text == "time step t"
    assert len(fig.data[0].x) == 1000
    ref = np.asarray(fig.data[1].y)
    assert ref[-1] == pytest.approx(ln.log10_dL_dh[-1]) and ref[0] == pytest.approx(ln.log10_dL_dh[-1] + 999 * np.log10(3))


def test_gradient_norms_over_time_drops_exact_zeros():
    fig = gradient_norms_over_time(np.array([-np.inf, 0.5, 1.0]))
    assert_clean(fig)
    assert names(fig) == [STRATEGIES["full"]["name"]]
    assert len(fig.data[0].x) == 2
    assert "1 step(s) left out" in fig.layout.annotations[0].text


# --- recursion against expanded sum -----------------------------------------------------------

@pytest.mark.parametrize("activation", ["identity", "tanh"])
def test_recursion_vs_sum(activation):
    rnn, X, Y = toy_problem(200, 8, activation, 2.0, seed=0)
    rec = recursion_dL_dh(rnn, X, Y)
    ex = expanded_dL_dh(rnn, X, Y) if activation == "identity" else product_form_dL_dh(rnn, X, Y, last=50)
    fig = recursion_vs_sum(rec.log10_norms(), ex.dL_dh.log10_norms(), ex.dL_dh.steps, form=ex.form)
    assert_clean(fig)
    second = ("Expanded sum Σᵢ (Wₕₕᵀ)ⁱ⁻ᵗ W<sub>qh</sub>ᵀ ∂L/∂oᵢ" if ex.form == "closed"
              else "Sum of Jacobian-product terms")
    assert names(fig) == ["Recursion (backward pass of BPTT)", second]
    assert fig.data[0].mode == "lines" and fig.data[1].mode == "markers"
    assert len(fig.data[1].x) == (200 if activation == "identity" else 50)
    assert fig.layout.yaxis.title.text == "log₁₀ ‖∂L/∂hₜ‖" and fig.layout.yaxis.type == "linear"
    np.testing.assert_allclose(np.asarray(fig.data[1].y), np.asarray(fig.data[0].y)[-len(fig.data[1].y):],
                               atol=1e-9)


@pytest.mark.parametrize("form", ["closed", "product"])
def test_sum_terms(form):
    y = np.array([-1.0, -1.5, -np.inf, -2.5])
    fig = sum_terms(y, 7, form=form)
    assert_clean(fig)
    assert len(fig.data) == 1
    assert fig.data[0].name == ("‖(Wₕₕᵀ)ⁱ⁻⁷ W<sub>qh</sub>ᵀ ∂L/∂oᵢ‖" if form == "closed"
                                else "‖J₈ᵀ⋯Jᵢᵀ W<sub>qh</sub>ᵀ ∂L/∂oᵢ‖")
    assert list(fig.data[0].x) == [7, 8, 10]
    assert fig.layout.yaxis.title.text == "log₁₀ ‖term i‖" and fig.layout.yaxis.type == "linear"
    assert fig.layout.title.text == "What each loss lᵢ adds to ∂L/∂h₇"
    assert "1 term(s) left out" in fig.layout.annotations[0].text


# --- contributions to ∂L/∂W_hh ----------------------------------------------------------------

@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_w_hh_bars_past_float64(activation):
    rnn, X, Y = toy_problem(1000, 16, activation, 3.0, seed=0)
    terms = log10_gradient_norms(rnn, X, Y).log10_W_hh_terms
    fig = w_hh_contribution_bars(terms)
    assert_clean(fig)
    assert names(fig) == ["‖δₜhₜ₋₁ᵀ‖<sub>F</sub>"]
    bar = fig.data[0]
    assert bar.type == "bar"
    assert fig.layout.yaxis.title.text == "log₁₀ ‖δₜhₜ₋₁ᵀ‖<sub>F</sub>" and fig.layout.yaxis.type == "linear"
    # The bars' tops are the log10 values (base + length), and the first step (h_0 = 0) is left out.
    finite = np.isfinite(terms)
    np.testing.assert_allclose(bar.base + np.asarray(bar.y), terms[finite])
    np.testing.assert_allclose(np.asarray(bar.customdata), terms[finite])
    assert np.all(np.asarray(bar.y) > 0)
    assert "(h₀ = 0 at t = 1)" in fig.layout.annotations[0].text.replace("<br>", " ")


def test_w_hh_bars_all_zero():
    fig = w_hh_contribution_bars(np.full(4, -np.inf))
    assert_clean(fig)
    assert len(fig.data) == 0
    assert "4 step(s) left out" in fig.layout.annotations[0].text
