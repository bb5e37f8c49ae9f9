"""Tests of the shared look in charts.style: ``for_projection`` (fonts, widths, contrast, a copy) on a
figure from every chart builder, and line styles that differ as well as colours on every chart."""

from __future__ import annotations

import inspect
import json
import itertools
import math
import re

import plotly.graph_objects as go
import plotly.io as pio
import pytest

import charts
from charts import eigenvalues, jacobians, randomized, scalar, style, truncation, unrolled
from charts.style import (HIGH_CONTRAST, PALETTE, PRESENT_DATA_FONT, PRESENT_FONT, PRESENT_HEIGHT,
                          PRESENT_LINE_SCALE, PRESENT_MARKER_SCALE, PRESENT_SCALE, PRESENT_TITLE_FONT, for_projection,
                          in_high_contrast)
from tests.gallery import BUILDERS

FIGURES = {name: build() for name, build in BUILDERS.items()}
LIGHT = {PALETTE[k] for k in ("orange", "sky", "yellow", "grey")}


def test_gallery_covers_every_chart_builder():
    builders = {f"{m.__name__}.{name}" for m in (eigenvalues, jacobians, randomized, scalar, truncation, unrolled)
                for name, fn in inspect.getmembers(m, inspect.isfunction)
                if fn.__module__ == m.__name__ and not name.startswith("_")
                and inspect.signature(fn).return_annotation in (go.Figure, "go.Figure")}
    made = {fn.__module__ + "." + fn.__name__ for fn in _called_builders()}
    missing = builders - made
    assert not missing, f"add these chart builders to tests/gallery.py: {sorted(missing)}"


RESTYLED = {"as built": lambda fig: fig, "high contrast": in_high_contrast,
            "projection": lambda fig: for_projection(fig, high_contrast=True)}


@pytest.mark.parametrize("look", list(RESTYLED))
@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figure_passes_plotly_validation_unchanged(name, look):
    """Charts skip Plotly's value checks when built (``style.new_figure``): every figure of the gallery,
    as built and restyled, must pass them and come out of them the same."""
    fig = RESTYLED[look](FIGURES[name])
    checked = go.Figure(fig.to_plotly_json())  # validates every value; raises on a bad one
    differences = list(_differences(json.loads(pio.to_json(checked, validate=False)),
                                    json.loads(pio.to_json(fig, validate=False))))
    assert not differences, differences[:5]


def _differences(validated, built, where="figure"):
    """Where two figure specs differ: names, types, values (numbers to 1e-12, as validation may round
    an angle into (−180, 180] at the last digit)."""
    if isinstance(validated, (int, float)) and isinstance(built, (int, float)):
        if not math.isclose(validated, built, rel_tol=1e-12, abs_tol=1e-12):
            yield f"{where}: {validated!r} validated, {built!r} built"
    elif type(validated) is not type(built):
        yield f"{where}: {validated!r} validated, {built!r} built"
    elif isinstance(validated, dict):
        for key in sorted(set(validated) | set(built)):
            if key not in validated or key not in built:
                yield f"{where}.{key}: only in the {'built' if key in built else 'validated'} figure"
            else:
                yield from _differences(validated[key], built[key], f"{where}.{key}")
    elif isinstance(validated, list):
        if len(validated) != len(built):
            yield f"{where}: {len(validated)} items validated, {len(built)} built"
        for i, (a, b) in enumerate(zip(validated, built)):
            yield from _differences(a, b, f"{where}[{i}]")
    elif validated != built:
        yield f"{where}: {validated!r} validated, {built!r} built"


def _called_builders():
    """The chart functions the gallery's lambdas call (read from their code's global names)."""
    found = set()
    for build in BUILDERS.values():
        for name in build.__code__.co_names:
            for module in (eigenvalues, jacobians, randomized, scalar, truncation, unrolled):
                fn = getattr(module, name, None)
                if inspect.isfunction(fn) and fn.__module__ == module.__name__:
                    found.add(fn)
    return found


# --- walking a figure's text -------------------------------------------------------------------

def font_sizes(spec: dict) -> list[tuple[str, float | None]]:
    """(where, size) for every font a figure sets for text it draws: the layout's, the title, axes,
    ticks, legend, annotations, colour bars, an animation's slider and buttons, and the text of
    traces (data labels, a diagram's names and numbers) that are drawn."""
    lay = spec["layout"]
    found = [("layout.font", lay.get("font", {}).get("size")),
             ("title", lay.get("title", {}).get("font", {}).get("size")),
             ("legend", lay.get("legend", {}).get("font", {}).get("size"))]
    for name, axis in lay.items():
        if name.startswith(("xaxis", "yaxis")):
            found.append((f"{name}.title", axis.get("title", {}).get("font", {}).get("size")))
            found.append((f"{name}.ticks", axis.get("tickfont", {}).get("size")))
    for i, a in enumerate(lay.get("annotations", ())):
        found.append((f"annotation {i}", a.get("font", {}).get("size")))
    for i, slider in enumerate(lay.get("sliders", ())):
        found.append((f"slider {i}", slider.get("font", {}).get("size")))
        found.append((f"slider {i} value", slider.get("currentvalue", {}).get("font", {}).get("size")))
    for i, menu in enumerate(lay.get("updatemenus", ())):
        found.append((f"buttons {i}", menu.get("font", {}).get("size")))
    for i, t in enumerate(spec["data"]):
        for bar in (t.get("colorbar"), t.get("marker", {}).get("colorbar")):
            if bar:
                found.append((f"trace {i} colour bar title", bar.get("title", {}).get("font", {}).get("size")))
                found.append((f"trace {i} colour bar ticks", bar.get("tickfont", {}).get("size")))
        if t.get("visible", True) is not False and ("text" in t.get("mode", "") or t.get("text") is not None):
            found.append((f"trace {i} ({t.get('name')}) text",
                          t.get("textfont", {}).get("size", lay.get("font", {}).get("size"))))
    return found


@pytest.mark.parametrize("high_contrast", [False, True], ids=["normal", "high-contrast"])
@pytest.mark.parametrize("name", list(FIGURES))
def test_for_projection_makes_every_text_large(name, high_contrast):
    fig = FIGURES[name]
    out = for_projection(fig, high_contrast=high_contrast).to_plotly_json()
    small = [(where, size) for where, size in font_sizes(out) if size is None or size < PRESENT_DATA_FONT]
    assert not small, f"{name}: fonts below {PRESENT_DATA_FONT} px: {small}"
    chart = [(w, size) for w, size in font_sizes(out) if " text" not in w and size < PRESENT_FONT]
    assert not chart, f"{name}: the chart's own text (axes, legend, notes) below {PRESENT_FONT} px: {chart}"
    assert out["layout"]["title"]["font"]["size"] >= PRESENT_TITLE_FONT
    assert out["layout"]["height"] <= PRESENT_HEIGHT
    before = fig.to_plotly_json()
    for t_in, t_out in zip(before["data"], out["data"]):
        diagram = "markers" in t_in.get("mode", "") and "text" in t_in.get("mode", "")
        if diagram:  # a diagram's labelled boxes keep their size, or they would run into each other
            assert t_out.get("marker", {}).get("size") == t_in.get("marker", {}).get("size")
            assert t_out["textfont"]["size"] == max(t_in["textfont"]["size"], PRESENT_DATA_FONT)
            continue
        if "textfont" in t_in and "size" in t_in["textfont"]:
            assert t_out["textfont"]["size"] == pytest.approx(max(t_in["textfont"]["size"] * PRESENT_SCALE,
                                                                  PRESENT_DATA_FONT))
        if t_in.get("type") == "scatter" and "lines" in t_in.get("mode", "lines"):
            width = t_in.get("line", {}).get("width", 2.0)
            assert t_out["line"]["width"] == pytest.approx(width * PRESENT_LINE_SCALE)
            assert t_out["line"].get("dash") == t_in.get("line", {}).get("dash"), "dashes must survive"
        if t_in.get("type") == "scatter" and "markers" in t_in.get("mode", ""):
            size = t_in.get("marker", {}).get("size", 6.0)
            if not hasattr(size, "__len__"):
                assert t_out["marker"]["size"] == pytest.approx(size * PRESENT_MARKER_SCALE)
            assert t_out["marker"].get("symbol") == t_in.get("marker", {}).get("symbol")
    for s_in, s_out in zip(before["layout"].get("shapes", ()), out["layout"].get("shapes", ())):
        assert s_out["line"]["width"] > s_in.get("line", {}).get("width", 0.0)


# --- where the text goes: nothing beside the plot, nothing on anything else ----------------------

LOOKS = {"as built": lambda fig: fig, "projected": lambda fig: for_projection(fig)}


def shown_legend(spec: dict) -> list[str]:
    """The names a figure's legend shows (Plotly hides a legend of one entry unless told)."""
    names = [t.get("name", "") for t in spec["data"]
             if t.get("showlegend") is not False and t.get("visible", True) is True]
    return names if spec["layout"].get("showlegend", len(names) > 1) else []


def title_bottom(lay: dict) -> float:
    """px from the top of the figure to the bottom of the title's line."""
    return style.TITLE_TOP + style.LINE_HEIGHT * lay["title"]["font"]["size"]


@pytest.mark.parametrize("look", list(LOOKS))
@pytest.mark.parametrize("name", list(FIGURES))
def test_legend_is_a_band_under_the_title_not_beside_the_plot(name, look):
    """Horizontal, anchored to the figure under the title (Plotly then reserves the top margin down to
    its last row, however many rows it wraps into), left-aligned with the plot; no margin on the
    right for it; and the top margin alone already clears the title."""
    spec = LOOKS[look](FIGURES[name]).to_plotly_json()
    lay = spec["layout"]
    legend, height = lay["legend"], lay["height"]
    assert legend["orientation"] == "h" and legend["traceorder"] == "normal"
    assert legend["xref"] == "paper" and legend["x"] == 0 and legend["xanchor"] == "left"
    assert legend["yref"] == "container" and legend["yanchor"] == "top"
    assert (1 - legend["y"]) * height >= title_bottom(lay) + 4, "the legend starts on the title"
    assert lay["title"]["yref"] == "container" and lay["title"]["yanchor"] == "top"
    assert lay["margin"]["t"] >= (1 - legend["y"]) * height - 0.5, "no legend: the plot would start on the title"
    scale = PRESENT_SCALE if look == "projected" else 1.0
    assert lay["margin"]["r"] <= style.RIGHT_MARGIN * scale + 1e-9, "room on the right: for a legend beside the plot?"


@pytest.mark.parametrize("look", list(LOOKS))
@pytest.mark.parametrize("name", list(FIGURES))
def test_plot_keeps_most_of_the_width(name, look):
    """Left and right margins leave the plot at least 60 % of a chart 470 px wide (an 800 px tablet
    with the sidebar open) as built, and of an 820 px one (a 1280 px projector) projected."""
    lay = LOOKS[look](FIGURES[name]).to_plotly_json()["layout"]
    width = 820 if look == "projected" else style.NARROWEST
    assert lay["margin"]["l"] + lay["margin"]["r"] <= 0.4 * width


@pytest.mark.parametrize("look", list(LOOKS))
@pytest.mark.parametrize("name", list(FIGURES))
def test_notes_sit_under_the_x_axis(name, look):
    """A note starts below the x axis's tick labels and title (sized for the figure's fonts) and ends
    inside the bottom margin; a second note starts below the first."""
    lay = LOOKS[look](FIGURES[name]).to_plotly_json()["layout"]
    notes = [a for a in lay.get("annotations", ()) if a.get("name") == style.NOTE]
    font = lay["font"]["size"]
    if lay["xaxis"].get("visible") is False:  # a diagram: no x axis, no notes
        assert not notes
        return
    bottom = -style.axis_band(lay["xaxis"].get("tickfont", {}).get("size", font),
                              lay["xaxis"].get("title", {}).get("font", {}).get("size", font))
    for a in notes:
        assert a["yref"] == "paper" and a["y"] == 0 and a["yanchor"] == "top" and a["xanchor"] == "left"
        assert a["yshift"] <= bottom + 1e-9, f"{name}: a note on the x axis's title"
        lines = a["text"].count("<br>") + 1
        bottom = a["yshift"] - lines * a["font"]["size"] * style.LINE_HEIGHT
        assert max(len(re.sub("<[^>]+>", "", line)) for line in a["text"].split("<br>")) <= style.NOTE_CHARS + 12
    assert lay["margin"]["b"] >= -bottom - 1e-9, f"{name}: the last note runs out of the figure"


# --- axes that cannot be misread, math that reads as math ----------------------------------------

def axes(spec: dict):
    """(where, axis dict) for every axis and colour bar of a figure."""
    for name, axis in spec["layout"].items():
        if name.startswith(("xaxis", "yaxis")):
            yield name, axis
    for i, t in enumerate(spec["data"]):
        for bar in (t.get("colorbar"), t.get("marker", {}).get("colorbar")):
            if bar:
                yield f"trace {i} colour bar", bar


def is_power_of_ten(v: float) -> bool:
    return v > 0 and abs(math.log10(v) - round(math.log10(v))) < 1e-9


@pytest.mark.parametrize("name", list(FIGURES))
def test_log_axes_label_decades_only(name):
    """A log axis labels 1, 10, 100 … (or 10⁻², 10⁴) and nothing between, so that no label can be
    read as another number ("…9 100 2 3 4 5"); an axis of log₁₀ values says so and has whole-number
    ticks, so that each tick is a power of ten."""
    spec = FIGURES[name].to_plotly_json()
    checked = 0
    for where, axis in axes(spec):
        title = axis.get("title", {}).get("text") or ""
        if axis.get("type") == "log":
            checked += 1
            assert "(log scale)" in title, f"{name} {where}: a log axis that does not say so"
            assert str(axis.get("dtick")) not in ("D1", "D2"), f"{name} {where}: labels between the decades"
            if axis.get("tickmode") == "array":
                assert all(is_power_of_ten(v) for v in axis["tickvals"]), (name, where, axis["tickvals"])
                assert axis["ticktext"] == [style.decade_label(round(math.log10(v))) for v in axis["tickvals"]]
            else:
                assert axis.get("dtick") == 1 and axis.get("exponentformat") == "power", (name, where)
            assert axis.get("minor", {}).get("ticks", "") == "" and "tickvals" not in axis.get("minor", {})
        elif title.startswith("log₁₀"):
            checked += 1
            assert axis.get("tickmode") == "linear" and axis.get("tick0") == 0, (name, where)
            assert float(axis["dtick"]).is_integer() and axis["dtick"] >= 1, (name, where, axis["dtick"])
    if name in ("perplexity", "training_gradients", "power_norms", "lag_norms", "strategy_gradient_norms"):
        assert checked, f"{name}: its log axis was not found"


def drawn_text(spec: dict):
    """(where, text) for the text a figure draws as titles and names: the title, axis and colour bar
    titles, legend entries, notes and other annotations."""
    lay = spec["layout"]
    yield "title", lay["title"]["text"]
    for where, axis in axes(spec):
        yield f"{where} title", axis.get("title", {}).get("text") or ""
    for name in shown_legend(spec):
        yield "legend", name
    for a in lay.get("annotations", ()):
        yield "annotation", a.get("text") or ""


@pytest.mark.parametrize("name", FIGURES)
def test_titles_and_names_are_math_not_tex(name):
    """h₍ₜ₋₁₎ᵀ, Wₕₕᵏ, ∂h<sub>T</sub>: indices and powers as Unicode or <sub>/<sup>, never `h_{t−1}`,
    `W_hh^k` or `a_t` (Plotly has no TeX without MathJax, which the lab does not load)."""
    for where, text in drawn_text(FIGURES[name].to_plotly_json()):
        plain = re.sub(r"<[^>]+>", "", text)
        assert "_" not in plain and "^" not in plain and "{" not in plain, f"{name}: {where} {text!r}"


@pytest.mark.parametrize("name", FIGURES)
def test_titles_fit_the_narrowest_chart(name):
    """A title is one line that fits a 470 px chart (Plotly does not wrap titles): at most 50
    characters at 17 px, and names what is drawn."""
    title = re.sub(r"<[^>]+>", "", FIGURES[name].layout.title.text)
    assert len(title) <= 50, f"{name}: {len(title)} characters: {title!r}"
    assert "<br>" not in FIGURES[name].layout.title.text


@pytest.mark.parametrize("look", list(LOOKS))
@pytest.mark.parametrize("name", list(FIGURES))
def test_y_titles_fit_beside_the_plot(name, look):
    """A rotated y-axis title longer than the plot would run up into the chart's title: each of its
    lines fits the plot's height (an estimate, with the legend as it wraps on the narrowest chart)."""
    spec = LOOKS[look](FIGURES[name]).to_plotly_json()
    lay = spec["layout"]
    width = 820 if look == "projected" else style.NARROWEST
    legend_font = lay["legend"]["font"].get("size", lay["font"]["size"]) if "font" in lay["legend"] else \
        lay["font"]["size"]
    rows = style.legend_rows(shown_legend(spec), legend_font, width - lay["margin"]["l"] - lay["margin"]["r"])
    plot = lay["height"] - lay["margin"]["t"] - rows * legend_font * 1.4 - lay["margin"]["b"]
    for where, axis in axes(spec):
        if where.startswith("yaxis") and "domain" not in axis:
            text = axis.get("title", {}).get("text") or ""
            size = axis.get("title", {}).get("font", {}).get("size", lay["font"]["size"])
            longest = max(len(re.sub(r"<[^>]+>", "", line)) for line in text.split("<br>"))
            assert 0.5 * size * longest <= plot, f"{name}: {where} title {text!r} longer than the plot ({plot:.0f} px)"
            if axis.get("automargin") and "<br>" in text:
                # Plotly stands a rotated title off the tick labels by its first line: the others need room too
                lines = text.count("<br>") + 1
                assert axis["title"].get("standoff", 0) >= (lines - 1) * style.LINE_HEIGHT * size, (name, where, text)


@pytest.mark.parametrize("name", list(FIGURES))
def test_for_projection_leaves_its_argument_alone(name):
    fig = FIGURES[name]
    before = fig.to_json()
    for_projection(fig, high_contrast=True)
    assert fig.to_json() == before


def colours(spec: dict) -> set[str]:
    found = set()
    for t in spec["data"]:
        for part in (t.get("line", {}), t.get("marker", {}), t.get("textfont", {})):
            if isinstance(part.get("color"), str):
                found.add(part["color"])
    for s in spec["layout"].get("shapes", ()):
        found.add(s.get("line", {}).get("color"))
    return found - {None}


CONTRAST = {"projected": lambda fig: for_projection(fig, high_contrast=True), "as-built": in_high_contrast}


@pytest.mark.parametrize("how", list(CONTRAST))
@pytest.mark.parametrize("name", list(FIGURES))
def test_high_contrast_is_black_on_white_with_dark_colours(name, how):
    out = CONTRAST[how](FIGURES[name]).to_plotly_json()
    lay = out["layout"]
    assert lay["font"]["color"] == PALETTE["black"] and lay["title"]["font"]["color"] == PALETTE["black"]
    assert lay["paper_bgcolor"] == "white" and lay["plot_bgcolor"] == "white"
    for name_, axis in lay.items():
        if name_.startswith(("xaxis", "yaxis")):
            assert axis["gridwidth"] == 2 and axis["gridcolor"] == HIGH_CONTRAST[style.GRID]
            assert axis["tickfont"]["color"] == PALETTE["black"]
    light = colours(out) & LIGHT
    assert not light, f"{name}: light colours left in high contrast: {light}"


@pytest.mark.parametrize("name", list(FIGURES))
def test_high_contrast_alone_keeps_the_sizes(name):
    before, after = FIGURES[name].to_plotly_json(), in_high_contrast(FIGURES[name]).to_plotly_json()
    assert font_sizes(after) == font_sizes(before)
    assert after["layout"].get("height") == before["layout"].get("height")
    for t_in, t_out in zip(before["data"], after["data"]):
        assert t_out.get("line", {}).get("width") == t_in.get("line", {}).get("width")
        if "markers" in t_in.get("mode", ""):
            assert t_out.get("marker", {}).get("size") == t_in.get("marker", {}).get("size")


def test_high_contrast_colours_are_okabe_ito():
    assert set(HIGH_CONTRAST) - {style.GRID} <= set(PALETTE.values())
    assert {c for k, c in HIGH_CONTRAST.items() if k != style.GRID} <= set(PALETTE.values()) | {"#555555"}


def test_height_grows_with_the_fonts_up_to_the_projectors():
    """Projected, a chart is taller by as much as its text (the plot keeps its room), but never taller
    than ``height``."""
    assert for_projection(go.Figure(layout=dict(height=300))).layout.height == round(300 * PRESENT_SCALE)
    assert for_projection(go.Figure(layout=dict(height=900)), height=None).layout.height == 900
    assert for_projection(go.Figure(layout=dict(height=900))).layout.height == PRESENT_HEIGHT
    assert in_high_contrast(go.Figure(layout=dict(height=300))).layout.height == 300


# --- line styles that differ as well as colours ------------------------------------------------

def look(trace: dict) -> tuple:
    """What tells a trace apart without colour: its dash, its marker symbol, what it draws."""
    mode = trace.get("mode", "lines")
    return (trace.get("type", "scatter"), mode,
            trace.get("line", {}).get("dash", "solid") if "lines" in mode else None,
            trace.get("marker", {}).get("symbol", "circle") if "markers" in mode else None)


def drawn_series(spec: dict) -> list[dict]:
    """Line and marker series (not bands, text, nodes of a diagram, or a diagram's edges, which are
    out of the legend and told apart by width) that a reader must tell apart."""
    return [t for t in spec["data"]
            if t.get("type", "scatter") == "scatter" and not t.get("fill") and "text" not in t.get("mode", "lines")
            and t.get("showlegend") is not False]


@pytest.mark.parametrize("high_contrast", [None, False, True], ids=["as-built", "projected", "high-contrast"])
@pytest.mark.parametrize("name", list(FIGURES))
def test_series_differ_by_more_than_colour(name, high_contrast):
    fig = FIGURES[name] if high_contrast is None else for_projection(FIGURES[name], high_contrast=high_contrast)
    series = drawn_series(fig.to_plotly_json())
    for a, b in itertools.combinations(series, 2):
        if (a.get("xaxis", "x"), a.get("yaxis", "y")) != (b.get("xaxis", "x"), b.get("yaxis", "y")):
            continue  # in different panels of the figure: nothing to confuse
        assert look(a) != look(b), f"{name}: {a.get('name')!r} and {b.get('name')!r} differ only by colour"


def test_bars_differ_by_pattern():
    for name in ("scalar_terms", "agreement"):
        bars = [t for t in FIGURES[name].to_plotly_json()["data"] if t["type"] == "bar"]
        shapes = [t.get("marker", {}).get("pattern", {}).get("shape", "") for t in bars]
        assert len(set(shapes)) == len(shapes), (name, shapes)


def test_charts_do_not_load_streamlit():
    assert "streamlit" not in charts.__dict__


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_the_orjson_engine_writes_the_same_figure_as_the_json_engine(name):
    """The app writes figures with Plotly's orjson engine (charts/style.py, for speed): what the browser reads
    is the same as Plotly's default engine writes, value for value (numbers may be spelled differently)."""
    assert pio.json.config.default_engine == "orjson"
    fig = FIGURES[name]
    fast, plain = pio.to_json(fig, validate=False, engine="orjson"), pio.to_json(fig, validate=False, engine="json")
    assert json.loads(fast) == json.loads(plain)
