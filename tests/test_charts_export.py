"""charts.export's plain text: what a chart draws as markup (a wrapped title, sub- and superscripts)
written for a CSV column or a page title."""

from __future__ import annotations

import plotly.graph_objects as go

from charts.export import figure_table, plain_text


def test_plain_text_keeps_indices_readable():
    assert plain_text("log₁₀<br>‖∂h<sub>T</sub>/∂h<sub>T−k</sub>‖₂") == "log₁₀ ‖∂h_T/∂h_{T−k}‖₂"
    assert plain_text("W<sub>qh</sub>ᵀ and 10<sup>4</sup>") == "W_{qh}ᵀ and 10^4"
    assert plain_text("<b>bold</b> text") == "bold text" and plain_text(None) == ""


def test_a_wrapped_axis_title_names_its_column_in_one_line():
    fig = go.Figure([go.Scatter(x=[1, 2], y=[3.0, 4.0], name="a")])
    fig.update_layout(xaxis_title="time step t", yaxis_title="share of pairs<br>(t, unit), %")
    assert list(figure_table(fig).columns) == ["trace", "time step t", "share of pairs (t, unit), %"]
