"""Tests of charts.export: every chart of the lab as a table that survives a CSV round trip with the
numbers of its traces, heatmaps cell by cell, animations frame by frame; and the standalone HTML page."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from charts.animation import rho_animation, sweep_animation
from charts.export import HTML_CONFIG, figure_csv, figure_html, figure_table, file_stem
from tests.gallery import BUILDERS


def round_trip(fig) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(figure_csv(fig)), encoding="utf-8-sig", dtype={"frame": str})


def as_floats(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in np.asarray(values, dtype=object).ravel()], dtype=float)


def assert_same(column: pd.Series, values):
    """A CSV column against a trace field: numbers to rounding (NaN for gaps), else the same strings."""
    values = list(np.asarray(values, dtype=object).ravel())
    try:
        expected = as_floats(values)
    except (TypeError, ValueError):
        assert [str(v) for v in column] == [str(v) for v in values]
        return
    np.testing.assert_allclose(column.to_numpy(dtype=float), expected, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("name", sorted(n for n in BUILDERS if not n.endswith("_animation")))
def test_csv_round_trip_of_every_chart(name):  # animations: test_animation_table_has_every_frame
    fig = BUILDERS[name]()
    back = round_trip(fig)
    table = figure_table(fig)
    assert list(back.columns) == list(table.columns)
    x_col, y_col = table.columns[1], table.columns[2]
    start = 0
    for i, trace in enumerate(fig.data):
        rows = back.iloc[start:]
        if trace.type == "heatmap":
            z = np.asarray(trace.z, dtype=float)
            n = z.size
            z_col = table.columns[3]
            np.testing.assert_allclose(rows[z_col].to_numpy(dtype=float)[:n], np.where(np.isfinite(z), z, np.nan).ravel(),
                                       equal_nan=True)
            assert_same(rows[x_col][:n], np.tile(np.asarray(trace.x), z.shape[0]))
            assert_same(rows[y_col][:n], np.repeat(np.asarray(trace.y), z.shape[1]))
        else:
            n = max(len(trace.x if trace.x is not None else ()), len(trace.y if trace.y is not None else ()))
            if trace.x is not None:
                assert_same(rows[x_col][:n], trace.x)
            if trace.y is not None:
                assert_same(rows[y_col][:n], trace.y)
        assert (rows["trace"][:n] == (trace.name or f"trace {i}")).all()
        start += n
    assert start == len(back)


def test_columns_named_after_shared_axis_titles():
    fig = go.Figure([go.Scatter(x=[1, 2], y=[3.0, None], name="a"), go.Bar(x=["p", "q"], y=[1, 2], name="b")])
    fig.update_layout(xaxis_title="Time step t", yaxis_title="log₁₀ ‖∂L/∂h_t‖")
    table = figure_table(fig)
    assert list(table.columns) == ["trace", "Time step t", "log₁₀ ‖∂L/∂h_t‖"]
    assert np.isnan(table["log₁₀ ‖∂L/∂h_t‖"][1])  # a gap stays a gap
    heat = go.Figure(go.Heatmap(z=[[1.0, np.nan]], x=[1, 2], y=[5], colorbar=dict(title=dict(text="log₁₀ ‖J‖"))))
    assert list(figure_table(heat).columns) == ["trace", "x", "y", "log₁₀ ‖J‖"]


def test_text_traces_keep_their_text():
    fig = BUILDERS["truncation_figure"]()
    table = figure_table(fig)
    assert "".join(table["text"][:29]) == "the␣time␣machine␣by␣h␣g␣wells"


def test_animation_table_has_every_frame():
    rhos = np.linspace(0.5, 1.5, 5)
    L = np.log10(rhos)[:, None] * np.arange(4)
    fig = rho_animation(np.array([0.9, -0.9]), 0.9, rhos, L)
    table = round_trip(fig)
    assert table.columns[0] == "frame"
    assert sorted(set(table["frame"].dropna())) == [f"{r:.2f}" for r in rhos]
    last = table[(table["frame"] == "1.50") & (table["trace"] == "‖Wₕₕᵏ‖₂")]
    np.testing.assert_allclose(last["y"], L[-1], rtol=1e-6)
    assert (table["trace"] == "unit circle |λ| = 1").sum() > 0 and table[table["trace"] == "unit circle |λ| = 1"][
        "frame"].isna().all()  # drawn once, in no frame
    fig = sweep_animation(np.zeros(6), np.ones((2, 6)), np.ones((2, 6)), [1, 2], key="chunked", symbol="τ")
    assert set(figure_table(fig)["frame"]) == {"", "1", "2"}


def test_html_is_standalone():
    fig = BUILDERS["power_norms"]()
    page = figure_html(fig)
    assert page.startswith("<html>") or page.lstrip().lower().startswith("<!doctype html")
    assert "<script src=" not in page and len(page) > 1_000_000  # plotly.js is inside, not fetched
    assert "<title>" in page and '"displaylogo": false' in page
    assert HTML_CONFIG["toImageButtonOptions"]["format"] == "png"
    assert file_stem("eigenvalues_plane") == "bptt-lab-eigenvalues_plane"
    assert file_stem("a/b c") == "bptt-lab-a-b-c"
