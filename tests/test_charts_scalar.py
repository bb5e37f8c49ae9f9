"""Tests of charts.scalar: the terms of a_t as bars, the recursion against the sum of its terms, and
the butterfly plot — names, axes, and never an inf or NaN, including past float64."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from bptt_core import butterfly, compare_recursion_and_terms, scalar_sequences, scalar_terms, toy_problem
from charts.scalar import butterfly_figure, recursion_vs_terms, scalar_term_bars
from tests.test_charts_unrolled import assert_clean


def names(fig: go.Figure):
    return [t.name for t in fig.data]


@pytest.mark.parametrize("c, noise", [(0.9, 0.0), (-3.0, 0.0), (3.0, 1.0), (0.0, 0.0), (-1.0, 0.5), (1.0, 0.0)])
def test_term_bars(c, noise):
    b, cs = scalar_sequences(1000, c, noise, seed=0)
    terms = scalar_terms(b, cs)
    fig = scalar_term_bars(terms.log10_abs, terms.sign, t=1000)
    assert_clean(fig)
    assert names(fig) == ["positive term", "negative term"]
    assert all(t.type == "bar" for t in fig.data)
    assert fig.data[0].marker.pattern.shape == "" and fig.data[1].marker.pattern.shape == "/"
    assert fig.data[0].marker.color != fig.data[1].marker.color
    assert fig.layout.yaxis.title.text == "log₁₀ |term|" and fig.layout.yaxis.type == "linear"
    assert fig.layout.title.text == "The terms (Π cⱼ) bᵢ that add up to a₁₀₀₀"
    # Every finite term is drawn once, in the trace of its sign, with its top at log10|term|.
    finite = np.isfinite(terms.log10_abs)
    drawn = sum(len(t.x) for t in fig.data)
    assert drawn == finite.sum()
    for trace, s in zip(fig.data, (1, -1)):
        idx = np.asarray(trace.x, dtype=int) - 1
        assert np.all(terms.sign[idx] == s)
        np.testing.assert_allclose(trace.base + np.asarray(trace.y), terms.log10_abs[idx])
    if c == 0.0:  # every older term is exactly zero: only b_T is left
        assert drawn == 1 and "999 term(s) left out" in fig.layout.annotations[0].text


def test_term_bars_exploding_reach_past_float64():
    b, cs = scalar_sequences(1000, 3.0, 0.0, seed=0)
    terms = scalar_terms(b, cs)
    fig = scalar_term_bars(terms.log10_abs, terms.sign)
    assert_clean(fig)
    tops = np.concatenate([t.base + np.asarray(t.y) for t in fig.data])
    assert tops.max() > 400


@pytest.mark.parametrize("c", [0.5, 3.0, -2.0])
def test_recursion_vs_terms(c):
    b, cs = scalar_sequences(1000, c, 0.2, seed=1)
    check = compare_recursion_and_terms(b, cs)
    fig = recursion_vs_terms(check)
    assert_clean(fig)
    assert names(fig) == ["recursion aₜ = bₜ + cₜ aₜ₋₁", "sum of the terms"]
    assert fig.data[0].mode == "lines" and fig.data[1].mode == "markers"
    assert fig.layout.yaxis.title.text == "log₁₀ |aₜ|" and fig.layout.yaxis.type == "linear"
    assert fig.layout.xaxis.title.text == "time step t"
    np.testing.assert_allclose(np.asarray(fig.data[0].y), np.asarray(fig.data[1].y), atol=1e-9)


def test_recursion_vs_terms_drops_zeros():
    check = compare_recursion_and_terms(np.array([0.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0]))
    fig = recursion_vs_terms(check)
    assert_clean(fig)
    assert list(fig.data[0].x) == [2] and list(fig.data[1].x) == [2]
    assert "4 point(s) left out" in fig.layout.annotations[0].text


@pytest.mark.parametrize("activation", ["identity", "tanh", "relu", "sigmoid"])
@pytest.mark.parametrize("rho", [0.1, 1.0, 3.0])
def test_butterfly_figure(activation, rho):
    rnn, X, _ = toy_problem(1000, 16, activation, rho, seed=0)
    dist = butterfly(rnn, X, eps=1e-8, seed=0)
    fig = butterfly_figure(dist, eps=1e-8, rho=rho if activation == "identity" else None)
    assert_clean(fig)
    want = ["‖hₜ − h̃ₜ‖"] + ([f"ερᵗ (ρ = {rho:g}, reference)"] if activation == "identity" else [])
    assert names(fig) == want
    assert fig.layout.yaxis.title.text == "log₁₀ ‖hₜ − h̃ₜ‖" and fig.layout.yaxis.type == "linear"
    assert fig.data[0].x[0] == 0 and fig.data[0].y[0] == pytest.approx(-8.0)
    bad = ~np.isfinite(dist) | (dist == 0)
    assert len(fig.data[0].x) == (~bad).sum()
    if (~np.isfinite(dist)).any():
        assert "overflowed float64" in fig.layout.annotations[0].text


def test_butterfly_figure_notes_both_reasons():
    dist = np.array([1e-8, 0.0, 1e-3, np.inf, np.nan])
    fig = butterfly_figure(dist, eps=1e-8, rho=2.0)
    assert_clean(fig)
    assert list(fig.data[0].x) == [0, 2]
    text = fig.layout.annotations[0].text
    assert "2 step(s) from t = 3 on left out" in text and "equal in float64" in text
