"""Backpropagation Through Time in Detail: figures of the unrolled-network view: the section's computational
graph with the size of the gradient on every edge, ‖∂L/∂h_t‖ over time, the recursion against the expanded
sum, and each step's share of ∂L/∂W_hh."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from .style import (DETAIL, FONT_SIZE, LINE_WIDTH, PALETTE, STRATEGIES, bar, finite_xy, house_layout, layout,
                    log10_axis, new_figure, note, scatter, sub, sup)

# One hue from light to dark (readable with every colour-vision deficiency): small gradients fade
# into the page, large ones stand out, and the arrow's width says the same again.
COLORSCALE = [[0.0, "#B9D3E8"], [0.5, "#4A90C2"], [1.0, "#08306B"]]
PARAM_FILL = "#C8C8C8"  # the book shades parameters
EDGE_WIDTH = (1.2, 7.0)  # arrow widths for the smallest and the largest gradient
STEP_DX = 4.0            # horizontal distance between time steps
A_DX = 1.9               # from the step's operator φ (and its input x) to its state h: room for an 18 px number

# Symbols as HTML (Plotly text understands <sub>).
_SYMBOL = {"x": "x", "h": "h", "o": "o", "l": "l", "y": "y"}
_PARAM = {"W_hx": "W<sub>hx</sub>", "W_hh": "W<sub>hh</sub>", "W_qh": "W<sub>qh</sub>"}


EDGE_FONT = FONT_SIZE - 3  # px: the numbers on the edges (PRESENT_DATA_FONT when projected)
# The numbers on the edges along which the gradient flows back through the steps (h → φ → h, h → ×,
# o → l → L), and those on the edges into the parameters, the inputs and out of ×: a projected graph
# shows the first only (style.DETAIL), for 18 px numbers need the room of the others.
NUMBERS = {False: "Gradient on an edge ‖·‖", True: "Gradient into a parameter or an input ‖·‖"}
STANDOFF_PX = 22.0       # gap left between an arrow's ends and the boxes it joins
# Pixels per data unit of the graph at its usual size (x: about 1100 px across its 15.7 units,
# y: 460 px for 7.7); only used to stop arrows short of the boxes and to point their heads.
PX_PER_UNIT = (70.0, 60.0)


def _edge_styles(fs) -> list[tuple[float, str]]:
    """(line width, colour) of each edge whose gradient sits at ``f`` ∈ [0, 1] of the graph's range (log
    scale); None: an edge that takes no gradient (thin grey)."""
    colours = _colours([0.0 if f is None else f for f in fs])
    return [(1.0, PALETTE["grey"]) if f is None else (round(EDGE_WIDTH[0] + f * (EDGE_WIDTH[1] - EDGE_WIDTH[0]), 2), c)
            for f, c in zip(fs, colours)]


_STOPS = np.array([s for s, _ in COLORSCALE])
_RGB = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for _, c in COLORSCALE], dtype=float)


def _colours(fs) -> list[str]:
    """COLORSCALE at each ``f`` ∈ [0, 1] (linear in RGB between its stops, as Plotly's colour scales),
    as '#rrggbb': whole numbers, the colour the browser draws, so that a frame drawn in place
    (ui/live_chart.py) sets exactly the colour Plotly would."""
    f = np.clip(np.asarray(fs, dtype=float), 0.0, 1.0)
    rgb = np.rint(np.stack([np.interp(f, _STOPS, _RGB[:, c]) for c in range(3)], axis=-1)).astype(int)
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in rgb]


def _shortened(x0: float, y0: float, x1: float, y1: float):
    """The segment from (x0, y0) to (x1, y1) stopped STANDOFF_PX short of both ends, and the angle
    (degrees clockwise from up, as Plotly turns a marker) of its direction on screen."""
    dx, dy = (x1 - x0) * PX_PER_UNIT[0], (y1 - y0) * PX_PER_UNIT[1]
    length = math.hypot(dx, dy)
    cut = min(STANDOFF_PX, 0.45 * length) / length
    ux, uy = (x1 - x0) * cut, (y1 - y0) * cut
    return (x0 + ux, y0 + uy), (x1 - ux, y1 - uy), math.degrees(math.atan2(dx, dy))


def _number_spot(src: str, dst: str, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, str]:
    """Where the gradient number of the edge ``src`` → ``dst`` goes: a point on the edge (x, y) and
    the side of it the text sits on (a Plotly ``textposition``), chosen for the space around each
    kind of edge so that even a six-character number clears the boxes and its neighbours' numbers.

    Level edges carry it above, upright ones beside, slanted ones on the side facing away from both
    ends (above a falling edge, below a rising one). Some edges need more: a → h has it nearer the
    circle, which is narrower than the box at the other end; h → × on the left, where the next
    step's W_hh leaves no room on the right; the edges out of a parameter nearer the parameter,
    clear of the upright edge (x → a, × → o) and its number beside the operator they point at.
    """
    if abs(y1 - y0) < 1e-9:  # a → h below, where it does not meet h → ×'s number
        if _kind(src) == "operator":
            return x0 + 0.45 * (x1 - x0), y0, "bottom center"
        return x0 + 0.5 * (x1 - x0), y0, "top center"
    if abs(x1 - x0) < 1e-9:
        return x0, 0.5 * (y0 + y1), "middle left" if dst.startswith("m_") else "middle right"
    f = 0.4 if _kind(src) == "parameter" else 0.5
    x, y = x0 + f * (x1 - x0), y0 + f * (y1 - y0)
    return x, y, "top right" if (x1 - x0) * (y1 - y0) < 0 else "bottom right"


def _detail(src: str) -> bool:
    """Whether the number on an edge out of ``src`` is a detail (left out of a projected graph): edges
    out of a parameter, an input x, or the output operator × (whose number o → l repeats)."""
    return src.startswith(("W_", "x_", "m_"))


def _html(name: str) -> str:
    """'h_2' → 'h<sub>2</sub>', 'W_hh' → 'W<sub>hh</sub>', 'L' → 'L'."""
    if name in _PARAM:
        return _PARAM[name]
    if "_" in name:
        base, sub = name.split("_", 1)
        return f"{base}<sub>{sub}</sub>"
    return name


_SUBSCRIPT_DIGITS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _label(name: str) -> str:
    """A node's label as drawn: 'h_2' → 'h₂', 'W_hh' → 'W<sub>hh</sub>', 'L' → 'L'.

    Time steps are Unicode subscript digits, plain text: Plotly lays a <sub> tag out as tspans
    again on every redraw (about a fifth of the graph's redraw for its 23 step labels). Unicode
    has no subscript q, so the parameters keep the tag.
    """
    base, _, step = name.partition("_")
    return base + step.translate(_SUBSCRIPT_DIGITS) if step.isdigit() else _html(name)


def _fmt(v: float | None) -> str:
    if v is None:
        return "—"
    if not math.isfinite(v):
        return "overflow"
    # "5.43e4", not "5.43e+04": two characters fewer beside an edge in the exploding regime.
    return "0" if v == 0.0 else f"{v:.3g}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")


def _short(v: float) -> str:
    """An edge's number: two significant digits, at most five characters but for sizes below 0.01
    ("0.23", "0.084", "12", "456", "7.5e4", "8.4e-4"); the hover text has three."""
    if not math.isfinite(v) or v == 0.0:
        return _fmt(v)
    if 0.01 <= abs(v) < 1000:
        return f"{v:.0f}" if abs(v) >= 99.5 else f"{v:.2g}"
    mantissa, exponent = f"{v:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def graph_positions(T: int) -> dict[str, tuple[float, float]]:
    """Drawing positions of the graph's nodes (parameters once per step: 'W_hh@2')."""
    pos = {"h_0": (0.0, 2.0), "L": (STEP_DX * (T + 1) / 2.0, 6.9)}
    for t in range(1, T + 1):
        cx = STEP_DX * t
        pos.update({
            f"h_{t}": (cx, 2.0), f"a_{t}": (cx - A_DX, 2.0), f"x_{t}": (cx - A_DX, 0.2),
            f"W_hx@{t}": (cx - 2.8, 1.0), f"W_hh@{t}": (cx - 2.8, 3.0),
            f"m_{t}": (cx, 3.25), f"W_qh@{t}": (cx - 1.3, 3.7),
            f"o_{t}": (cx, 4.45), f"l_{t}": (cx, 5.65), f"y_{t}": (cx + 1.3, 5.65),
        })
    return pos


def _kind(node: str) -> str:
    if node.startswith("W_"):
        return "parameter"
    if node.startswith(("a_", "m_")):
        return "operator"
    return "variable"


def unrolled_graph(graph, *, activation: str = "identity",
                   title: str = "The unrolled graph, T = 3: ‖gradient‖ on each edge") -> go.Figure:
    """The section's computational graph (``bptt_core.UnrolledGradients``) as arrows between boxes.

    Boxes are variables, shaded boxes parameters (drawn at every step: one matrix shared by all),
    circles operators (φ of the step, × of the output). Arrows point forward; each arrow's width and
    colour give the size ‖·‖ of the gradient that flows back along it (log scale, light and thin to
    dark and wide), written beside it and in its hover text. The data y_t takes no gradient (thin grey arrow).
    """
    T = int(graph.T)
    pos = graph_positions(T)
    values, grads = graph.value_norms, graph.grad_norms

    # Drawn edges: the core's, with h_t → o_t and W_qh → o_t routed through the output operator m_t.
    drawn = []  # (source, target, norm, message)
    for e in graph.edges:
        src, dst = e.source, e.target
        if src.startswith("W_"):
            t = dst.split("_", 1)[1]
            src = f"{src}@{t}"
        if dst.startswith("o_") and not src.startswith("y_"):
            t = dst.split("_", 1)[1]
            drawn.append((src, f"m_{t}", e.norm, e.message))
            if not src.startswith("W_"):
                drawn.append((f"m_{t}", dst, grads.get(dst), f"∂L/∂o_{t}"))
            continue
        drawn.append((src, dst, e.norm, e.message))

    logs = np.array([math.log10(n) for _, _, n, _ in drawn if n is not None and math.isfinite(n) and n > 0])
    lo, hi = (float(logs.min()), float(logs.max())) if logs.size else (0.0, 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5

    def level(n):
        if n is None or not math.isfinite(n) or n <= 0:
            return 0.0
        return (math.log10(n) - lo) / (hi - lo)

    traces = []
    # Each edge is a line trace of its own and its head a point of one marker trace (33 layout annotations
    # with arrowheads took Chromium 35 ms of a 53 ms redraw, traces a few): a frame of the ρ drag then
    # changes each edge's width and colour and each head's size and colour, which the browser sets in
    # place (ui/live_chart.py), where edges grouped by width would move between traces.
    heads = dict(x=[], y=[], angle=[], size=[], color=[])
    numbers = {False: ([], [], [], [], [], []), True: ([], [], [], [], [], [])}  # detail? → x, y, f, hover, label, pos
    fs = [None if n is None else level(n) for _, _, n, _ in drawn]
    for (src, dst, n, message), f, (width, colour) in zip(drawn, fs, _edge_styles(fs)):
        (x0, y0), (x1, y1) = pos[src], pos[dst]
        (sx, sy), (ex, ey), angle = _shortened(x0, y0, x1, y1)
        traces.append(scatter(x=[sx, ex], y=[sy, ey], mode="lines", line=dict(width=width, color=colour),
                              hoverinfo="skip", showlegend=False, name="edge"))
        heads["x"].append(ex)
        heads["y"].append(ey)
        heads["angle"].append(angle)
        heads["size"].append(round(7.0 + 1.6 * width, 2))
        heads["color"].append(colour)
        if n is None:
            continue
        x, y, where = _number_spot(src, dst, x0, y0, x1, y1)
        number_x, number_y, number_f, number_text, number_label, number_pos = numbers[_detail(src)]
        number_x.append(x)
        number_y.append(y)
        number_f.append(f)
        number_label.append(_short(n))
        number_pos.append(where)
        number_text.append(f"{_html(src.split('@')[0])} → {_html(dst)}<br>gradient flowing back: {message}"
                           f"<br>‖·‖ = {_fmt(n)}")
    traces.append(scatter(x=heads["x"], y=heads["y"], mode="markers", hoverinfo="skip", showlegend=False,
                          name="arrowhead",
                          marker=dict(symbol="triangle-up", angle=heads["angle"], size=heads["size"],
                                      color=heads["color"], line=dict(width=0))))
    for detail, (number_x, number_y, number_f, number_text, number_label, number_pos) in numbers.items():
        traces.append(scatter(
            x=number_x, y=number_y, mode="markers+text", name=NUMBERS[detail],
            text=number_label, textposition=number_pos, textfont=dict(size=EDGE_FONT, color=PALETTE["black"]),
            # Each marker in its edge's colour, no colour bar: the number beside each edge already gives its
            # size (and drawing the bar, its own axis, ticks and a margin push, cost 18 ms of the graph's 60
            # ms redraw in Chromium).
            marker=dict(size=9, symbol="diamond", color=_colours(number_f), line=dict(width=0.5, color=PALETTE["black"])),
            hovertext=number_text, hoverinfo="text", showlegend=not detail, **(dict(meta=DETAIL) if detail else {})))

    op_label = "+" if activation == "identity" else "φ"
    groups = {"variable": ([], [], [], []), "parameter": ([], [], [], []), "operator": ([], [], [], [])}
    for node, (x, y) in pos.items():
        kind = _kind(node)
        base = node.split("@")[0]
        xs, ys, labels, hovers = groups[kind]
        xs.append(x)
        ys.append(y)
        if kind == "operator":
            if node.startswith("a_"):
                t = node[2:]
                labels.append(op_label)
                hovers.append(f"a<sub>{t}</sub> = W<sub>hx</sub>x<sub>{t}</sub> + W<sub>hh</sub>h<sub>{int(t) - 1}</sub>, "
                              f"h<sub>{t}</sub> = φ(a<sub>{t}</sub>)<br>‖a<sub>{t}</sub>‖ = {_fmt(values.get(node))}"
                              f"<br>‖δ<sub>{t}</sub>‖ = ‖∂L/∂a<sub>{t}</sub>‖ = {_fmt(grads.get(node))}")
            else:
                t = node[2:]
                labels.append("×")
                hovers.append(f"o<sub>{t}</sub> = W<sub>qh</sub>h<sub>{t}</sub>")
        elif kind == "parameter":
            t = node.split("@")[1]
            labels.append(_label(base))
            hovers.append(f"{_html(base)} (the same matrix at every step, here step {t})"
                          f"<br>‖{_html(base)}‖ = {_fmt(values.get(base))}"
                          f"<br>‖∂L/∂{_html(base)}‖ = {_fmt(grads.get(base))} (summed over the steps)")
        else:
            labels.append(_label(base))
            text = f"{_html(base)}<br>‖value‖ = {_fmt(values.get(base))}" if not base.startswith(("l_", "L")) \
                else f"{_html(base)} = {_fmt(values.get(base))} (loss)"
            if base in grads and not base.startswith("y_"):
                text += f"<br>‖∂L/∂{_html(base)}‖ = {_fmt(grads.get(base))}"
            elif base.startswith("y_"):
                text += "<br>target (data): no gradient is taken"
            hovers.append(text)
    styles = {
        "variable": dict(name="Variables", symbol="square", size=40, color="white", line=PALETTE["black"]),
        "parameter": dict(name="Parameters (shared by all steps)", symbol="square", size=40, color=PARAM_FILL,
                          line=PALETTE["black"]),
        "operator": dict(name="Operators", symbol="circle", size=28, color="white", line=PALETTE["grey"]),
    }
    for kind, (xs, ys, labels, hovers) in groups.items():
        s = styles[kind]
        traces.append(scatter(
            x=xs, y=ys, mode="markers+text", name=s["name"], text=labels, textposition="middle center",
            textfont=dict(size=FONT_SIZE - (2 if kind == "parameter" else 0), color=PALETTE["black"]),
            marker=dict(symbol=s["symbol"], size=s["size"], color=s["color"], line=dict(width=1.5, color=s["line"])),
            hovertext=hovers, hoverinfo="text"))

    xs = [p[0] for p in pos.values()]
    return new_figure(*traces, layout=house_layout(
        title=title, x="", y="", height=560,
        xaxis=dict(visible=False, range=[min(xs) - 0.8, max(xs) + 1.6], fixedrange=True),
        yaxis=dict(visible=False, range=[-0.35, 7.35], fixedrange=True),
        margin=dict(l=20, r=20, b=8)))


def gradient_norms_over_time(log10_dL_dh, *, rho: float | None = None, past_float64: bool = False,
                             title: str = "‖∂L/∂hₜ‖ at each step t (full BPTT)") -> go.Figure:
    """log10 ‖∂L/∂h_t‖ (T,) against t = 1..T on a linear axis.

    With ``rho``, a dashed reference line log10 ‖∂L/∂h_T‖ + (T − t) log10 ρ: the growth
    (or decay) of ‖(W_hhᵀ)^(T−t)‖ ≈ ρ^(T−t), anchored at the last step. ``past_float64``: the run
    overflows float64 somewhere (its values came from log space), said in a note.
    """
    y = np.asarray(log10_dL_dh, dtype=float)
    T = y.size
    t = np.arange(1, T + 1)
    fig = new_figure()
    style = STRATEGIES["full"]
    xs, ys, dropped = finite_xy(t, y)
    fig.add_trace(scatter(x=xs, y=ys, mode="lines", name=style["name"],
                          line=dict(color=style["color"], dash=style["dash"], width=LINE_WIDTH),
                          hovertemplate="t = %{x}<br>log₁₀ ‖∂L/∂h_t‖ = %{y:.3f}<extra></extra>"))
    shown = [ys]
    if rho is not None and rho > 0 and np.isfinite(y[-1]):
        ref = y[-1] + (T - t) * math.log10(rho)
        shown.append(ref)
        fig.add_trace(scatter(x=t, y=ref, mode="lines", name=f"ρ{sup('T−t')} from t = T (ρ = {rho:.2f})",
                              line=dict(color=PALETTE["vermillion"], dash="dash", width=LINE_WIDTH - 0.5),
                              hovertemplate="t = %{x}<br>reference: %{y:.3f}<extra></extra>"))
    layout(fig, title=title, x="time step t", y="log₁₀ ‖∂L/∂hₜ‖", yaxis=log10_axis(*shown))
    if dropped:
        note(fig, f"{dropped} step(s) left out: the gradient there is exactly zero.")
    if past_float64:
        note(fig, f"Past float64 (largest number about 10{sup('308')}): computed in log space.")
    return fig


def recursion_vs_sum(log10_recursion, log10_sum, steps, *, form: str = "closed",
                     title: str = "‖∂L/∂hₜ‖ by the recursion and by the expanded sum") -> go.Figure:
    """log10 ‖∂L/∂h_t‖ from the backward recursion (T,), t = 1..T, and from the sum of terms
    (n,) at ``steps`` (1-based), on a linear axis. ``form``: "closed" or "product"."""
    rec = np.asarray(log10_recursion, dtype=float)
    fig = new_figure()
    xs, ys, d1 = finite_xy(np.arange(1, rec.size + 1), rec)
    fig.add_trace(scatter(x=xs, y=ys, mode="lines", name="Recursion (backward pass of BPTT)",
                          line=dict(color=PALETTE["black"], dash="solid", width=LINE_WIDTH),
                          hovertemplate="t = %{x}<br>recursion: %{y:.6f}<extra></extra>"))
    name = ("Expanded sum Σᵢ (Wₕₕᵀ)" + sup("i−t") + " W<sub>qh</sub>ᵀ ∂L/∂oᵢ" if form == "closed"
            else "Sum of Jacobian-product terms")
    sx, sy, d2 = finite_xy(np.asarray(steps, dtype=float), np.asarray(log10_sum, dtype=float))
    fig.add_trace(scatter(x=sx, y=sy, mode="markers", name=name,
                          marker=dict(color=PALETTE["orange"], symbol="circle-open",
                                      size=7 if sx.size <= 150 else 4,
                                      line=dict(width=1.5 if sx.size <= 150 else 1.0)),
                          hovertemplate="t = %{x}<br>sum of terms: %{y:.6f}<extra></extra>"))
    layout(fig, title=title, x="time step t", y="log₁₀ ‖∂L/∂hₜ‖", yaxis=log10_axis(ys, sy))
    if d1 + d2:
        note(fig, f"{d1 + d2} point(s) left out: the gradient there is exactly zero.")
    return fig


def sum_terms(first_terms_log10, first: int, *, form: str = "closed",
              title: str | None = None) -> go.Figure:
    """log10 ‖term i‖ of the sum for ∂L/∂h_first against the loss step i = first..T.

    Closed form: term i is (W_hhᵀ)^(i − first) W_qhᵀ ∂L/∂o_i; product form: the same
    with Jacobians J_jᵀ in place of W_hhᵀ.
    """
    y = np.asarray(first_terms_log10, dtype=float)
    i = np.arange(first, first + y.size)
    xs, ys, dropped = finite_xy(i, y)
    fig = new_figure()
    label = (f"‖(Wₕₕᵀ){sup(f'i−{first}')} W<sub>qh</sub>ᵀ ∂L/∂oᵢ‖" if form == "closed"
             else f"‖J{sub(first + 1)}ᵀ⋯Jᵢᵀ W<sub>qh</sub>ᵀ ∂L/∂oᵢ‖")
    fig.add_trace(scatter(x=xs, y=ys, mode="lines+markers", name=label,
                          line=dict(color=PALETTE["blue"], dash="solid", width=LINE_WIDTH - 1),
                          marker=dict(size=4, color=PALETTE["blue"]),
                          hovertemplate="loss step i = %{x}<br>log₁₀ ‖term‖ = %{y:.3f}<extra></extra>"))
    layout(fig, title=title or f"What each loss lᵢ adds to ∂L/∂h{sub(first)}",
           x="loss step i (distance i − t back through the network)", y="log₁₀ ‖term i‖",
           yaxis=log10_axis(ys))
    if dropped:
        note(fig, f"{dropped} term(s) left out: they are exactly zero.")
    return fig


def w_hh_contribution_bars(log10_terms, *,
                           title: str = "Each step's term δₜhₜ₋₁ᵀ of ∂L/∂Wₕₕ") -> go.Figure:
    """Bars of log10 ‖δ_t h_{t−1}ᵀ‖_F = log10 (‖δ_t‖ ‖h_{t−1}‖) over t = 1..T (T,), on a linear axis.

    Bars rise from just below the smallest value, so longer means larger; exactly zero
    contributions (h_0 = 0 makes the first one zero) are left out and counted in a note.
    """
    y = np.asarray(log10_terms, dtype=float)
    t = np.arange(1, y.size + 1)
    xs, ys, dropped = finite_xy(t, y)
    fig = new_figure()
    if ys.size:
        base = math.floor(float(ys.min())) - 1.0
        fig.add_trace(bar(x=xs, y=ys - base, base=base, name="‖δₜhₜ₋₁ᵀ‖<sub>F</sub>",
                          marker=dict(color=PALETTE["blue"], line=dict(width=0)),
                          customdata=ys,
                          hovertemplate="t = %{x}<br>log₁₀ ‖δ_t h_{t−1}ᵀ‖_F = %{customdata:.3f}<extra></extra>"))
    layout(fig, title=title, x="time step t", y="log₁₀ ‖δₜhₜ₋₁ᵀ‖<sub>F</sub>", bargap=0.1 if y.size < 200 else 0.0,
           yaxis=log10_axis(ys))
    if dropped:
        note(fig, f"{dropped} step(s) left out: their contribution is exactly zero"
                  + (" (h₀ = 0 at t = 1)." if not np.isfinite(y[0]) else "."))
    return fig
