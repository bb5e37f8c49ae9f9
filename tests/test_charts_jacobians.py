"""Tests of charts.jacobians: ‖∂h_T/∂h_{T−k}‖₂ by lag with the (λ₁γ)^k bounds, the heatmap of
log10‖∂h_t/∂h_s‖₂ (its upper triangle a gap, never a NaN), and the histogram of φ'(a_t)."""

from __future__ import annotations

import numpy as np
import pytest

from bptt_core import (GAMMA, forward, grid_stride, log10_jacobian_norms_on_grid, log10_lag_norms,
                       log10_norm_bound, singular_values, step_jacobians, toy_problem)
from bptt_core.activations import phi_prime
from charts.jacobians import dphi_histogram, jacobian_heatmap, lag_norms_figure
from charts.style import ACTIVATION_STYLE
from tests.test_charts_unrolled import assert_clean

ACTS = ("identity", "tanh", "sigmoid")


def names(fig):
    return [t.name for t in fig.data]


def lag_data(T, h, rho, seed=0):
    curves, bounds = {}, {}
    for act in ACTS:
        rnn, X, _ = toy_problem(T, h, act, rho, seed)
        curves[act] = log10_lag_norms(step_jacobians(rnn, forward(rnn, X)))
        lam1 = singular_values(rnn.W_hh)[0]
        bounds[act] = log10_norm_bound(lam1, GAMMA[act], np.arange(T + 1))
    return curves, bounds, lam1


@pytest.mark.parametrize("rho", [0.1, 0.9, 3.0])
def test_lag_norms_figure(rho):
    curves, bounds, lam1 = lag_data(300, 8, rho)
    fig = lag_norms_figure(curves, bounds=bounds, gammas={a: GAMMA[a] for a in ACTS}, sigma_max=lam1)
    assert_clean(fig)
    assert names(fig) == ["identity", "identity bound", "tanh", "tanh bound", "sigmoid", "sigmoid bound"]
    assert f"(γ = ¼, σ₁γ = {lam1 / 4:.3g})" in fig.data[5].hovertemplate
    assert fig.layout.xaxis.title.text == "lag k (steps back from T)"
    assert fig.layout.yaxis.title.text == "log₁₀ ‖∂h<sub>T</sub>/∂h<sub>T−k</sub>‖₂" and fig.layout.yaxis.type == "linear"
    for act, curve, bound in zip(ACTS, fig.data[0::2], fig.data[1::2]):
        style = ACTIVATION_STYLE[act]
        assert curve.line.color == bound.line.color == style["color"]
        assert curve.line.dash == style["dash"] and bound.line.dash == "longdash"
        # identity's bound is widened so that tanh's, the same line, shows on top of it
        assert (bound.line.width > curve.line.width) if act == "identity" else (bound.line.width < curve.line.width)
        np.testing.assert_allclose(bound.y, np.arange(301) * np.log10(lam1 * GAMMA[act]), rtol=1e-12, atol=1e-12)
        assert np.all(np.asarray(curve.y) <= np.asarray(bound.y) + 1e-9)  # the bound holds


def test_lag_norms_figure_identity_past_float64():
    curves, bounds, lam1 = lag_data(1000, 16, 3.0)
    fig = lag_norms_figure(curves, bounds=bounds)
    assert_clean(fig)
    assert max(fig.data[0].y) > 400  # ‖W_hh^1000‖ ≈ 3^1000 ≈ 10^477, drawn


def test_lag_norms_figure_drops_exact_zeros():
    fig = lag_norms_figure({"tanh": np.array([0.0, -1.0, -np.inf, -np.inf])})
    assert_clean(fig)
    assert len(fig.data[0].x) == 2 and "2 for tanh" in fig.layout.annotations[0].text


@pytest.mark.parametrize("act", ["identity", "tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("rho", [0.5, 3.0])
def test_heatmap_upper_triangle_is_a_gap(act, rho):
    rnn, X, _ = toy_problem(60, 6, act, rho, 0)
    J = step_jacobians(rnn, forward(rnn, X))
    stride = 4
    M = log10_jacobian_norms_on_grid(J, stride)
    grid = np.arange(0, 61, stride)
    fig = jacobian_heatmap(M, grid, activation=act)
    assert_clean(fig)
    heat = fig.data[0]
    assert heat.type == "heatmap"
    z = heat.z
    n = grid.size
    for j in range(n):
        for i in range(n):
            if i > j:
                assert z[j][i] is None  # s > t: a gap, not a NaN
            elif np.isfinite(M[j, i]):
                assert z[j][i] == pytest.approx(M[j, i])
            else:
                assert z[j][i] is None
    assert list(heat.x) == list(grid) and list(heat.y) == list(grid)
    assert fig.layout.xaxis.title.text == "source step s" and fig.layout.yaxis.title.text == "target step t"
    assert fig.layout.yaxis.autorange == "reversed"  # drawn as a matrix: s > t is the upper triangle
    assert heat.zmid == 0.0 and heat.zmin == -heat.zmax
    assert heat.colorbar.title.text == "log₁₀ ‖∂hₜ/∂hₛ‖₂"
    assert "Upper triangle (s > t) empty" in fig.layout.annotations[0].text
    # The JSON Plotly is handed has null there, never NaN.
    spec = fig.to_plotly_json()["data"][0]["z"]
    assert all(spec[j][i] is None for j in range(n) for i in range(j + 1, n))


def test_heatmap_counts_exact_zero_products():
    M = np.array([[0.0, np.nan, np.nan], [-np.inf, 0.0, np.nan], [-np.inf, 1.5, 0.0]])
    fig = jacobian_heatmap(M, np.array([0, 5, 10]), activation="relu")
    assert_clean(fig)
    assert fig.data[0].z[1][0] is None and fig.data[0].z[2][1] == 1.5
    assert "2 cell(s) with s ≤ t left blank" in fig.layout.annotations[0].text
    with pytest.raises(ValueError, match="M"):
        jacobian_heatmap(np.zeros((2, 3)), np.arange(2), activation="tanh")


def test_heatmap_at_t1000_h256_has_at_most_120_cells_per_side():
    for h in (16, 256):
        n = 1000 // grid_stride(1000, h) + 1
        assert n <= 120


@pytest.mark.parametrize("act", ["identity", "tanh", "sigmoid", "relu"])
def test_dphi_histogram(act):
    rnn, X, _ = toy_problem(200, 16, act, 0.9, 0)
    tr = forward(rnn, X)
    dphi = phi_prime(act, tr.A, tr.H[1:])
    fig = dphi_histogram(dphi, activation=act, gamma=GAMMA[act])
    assert_clean(fig)
    bar = fig.data[0]
    assert bar.type == "bar" and bar.name == f"φ′(aₜ), {act}"
    assert sum(bar.y) == pytest.approx(100.0)
    assert bar.marker.color == ACTIVATION_STYLE[act]["color"]
    assert fig.layout.xaxis.title.text == "φ′(aₜ)"
    assert fig.layout.yaxis.title.text == "share of pairs (t, unit), %" and fig.layout.yaxis.type == "linear"
    assert any(s.type == "line" and s.x0 == GAMMA[act] for s in fig.layout.shapes)
    assert max(bar.x) <= GAMMA[act] * 1.0 + 1e-12 or act == "identity"


def test_dphi_histogram_tanh_saturates_at_large_rho():
    shares = []
    for rho in (0.5, 3.0):
        rnn, X, _ = toy_problem(500, 64, "tanh", rho, 0)
        tr = forward(rnn, X)
        fig = dphi_histogram(phi_prime("tanh", tr.A, tr.H[1:]), activation="tanh", gamma=1.0)
        assert_clean(fig)
        text = next(a.text for a in fig.layout.annotations if "saturated" in a.text)
        shares.append(float(text.split(" %")[0]))
        if rho == 3.0:  # the pile near 0: the lowest bins hold most of the mass
            assert sum(fig.data[0].y[:3]) > 40
    assert shares[1] > shares[0] + 20


def test_dphi_histogram_drops_nonfinite():
    fig = dphi_histogram(np.array([0.5, np.nan, 0.25, np.inf]), activation="sigmoid", gamma=0.25)
    assert_clean(fig)
    assert sum(fig.data[0].y) == pytest.approx(100.0)
    assert "2 non-finite value(s) left out" in fig.layout.annotations[-1].text
