"""Tests of the shared look in charts.style: ``for_projection`` (fonts, widths, contrast, a copy) on a
figure from every chart builder, and line styles that differ as well as colours on every chart."""

from __future__ import annotations

import inspect
import json
import math
import itertools

import plotly.graph_objects as go
import plotly.io as pio
import pytest

import charts
from charts import eigenvalues, jacobians, randomized, scalar, style, truncation, unrolled
from charts.style import (HIGH_CONTRAST, PALETTE, PRESENT_FONT, PRESENT_HEIGHT, PRESENT_LINE_SCALE,
                          PRESENT_MARKER_SCALE, PRESENT_SCALE, PRESENT_TITLE_FONT, for_projection,
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
    """(where, size) for every font the layout sets: title, axes, ticks, legend, annotations, colour bars."""
    lay = spec["layout"]
    found = [("layout.font", lay.get("font", {}).get("size")),
             ("legend", lay.get("legend", {}).get("font", {}).get("size"))]
    for name, axis in lay.items():
        if name.startswith(("xaxis", "yaxis")):
            found.append((f"{name}.title", axis.get("title", {}).get("font", {}).get("size")))
            found.append((f"{name}.ticks", axis.get("tickfont", {}).get("size")))
    for i, a in enumerate(lay.get("annotations", ())):
        found.append((f"annotation {i}", a.get("font", {}).get("size")))
    for i, t in enumerate(spec["data"]):
        for bar in (t.get("colorbar"), t.get("marker", {}).get("colorbar")):
            if bar:
                found.append((f"trace {i} colour bar title", bar.get("title", {}).get("font", {}).get("size")))
                found.append((f"trace {i} colour bar ticks", bar.get("tickfont", {}).get("size")))
    return found


@pytest.mark.parametrize("high_contrast", [False, True], ids=["normal", "high-contrast"])
@pytest.mark.parametrize("name", list(FIGURES))
def test_for_projection_makes_every_text_large(name, high_contrast):
    fig = FIGURES[name]
    out = for_projection(fig, high_contrast=high_contrast).to_plotly_json()
    small = [(where, size) for where, size in font_sizes(out) if size is None or size < PRESENT_FONT]
    assert not small, f"{name}: fonts below {PRESENT_FONT} px: {small}"
    assert out["layout"]["title"]["font"]["size"] >= PRESENT_TITLE_FONT
    assert out["layout"]["height"] <= PRESENT_HEIGHT
    before = fig.to_plotly_json()
    for t_in, t_out in zip(before["data"], out["data"]):
        diagram = "markers" in t_in.get("mode", "") and "text" in t_in.get("mode", "")
        if diagram:  # a diagram's labelled boxes keep their size, or they would run into each other
            assert t_out.get("marker", {}).get("size") == t_in.get("marker", {}).get("size")
            assert t_out.get("textfont", {}).get("size") == t_in.get("textfont", {}).get("size")
            continue
        if "textfont" in t_in and "size" in t_in["textfont"]:
            assert t_out["textfont"]["size"] == pytest.approx(t_in["textfont"]["size"] * PRESENT_SCALE)
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


def test_height_is_only_ever_lowered():
    small = go.Figure(layout=dict(height=300))
    assert for_projection(small).layout.height == 300
    assert for_projection(go.Figure(layout=dict(height=900)), height=None).layout.height == 900
    assert for_projection(go.Figure(layout=dict(height=900))).layout.height == PRESENT_HEIGHT


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
