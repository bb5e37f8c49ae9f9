"""Tests of charts.eigenvalues: the complex plane, |λ_i| beside σ_i, ‖W^k‖ against ρ^k, exercise 1, and the
sentences read off the curves — names, axes, equal scaling, and never an inf or NaN."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bptt_core import (alignment_with_top_eigenvector, eigenvalues, log10_power_norms, second_modulus_ratio,
                       singular_values, spectrum, w_hh, w_hh_schur)
from charts.eigenvalues import (alignment_figure, alignment_summary, eigen_plane, moduli_and_singular_values,
                          power_norm_summary, power_norms_figure)
from tests.test_charts_unrolled import assert_clean


def names(fig):
    return [t.name for t in fig.data]


# --- the complex plane -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["symmetric", "normal", "nonnormal"])
@pytest.mark.parametrize("rho", [0.1, 0.9, 3.0])
def test_eigen_plane(kind, rho):
    ev = spectrum(16, rho, kind, 0.5)
    fig = eigen_plane(ev, rho=rho)
    assert_clean(fig)
    assert names(fig) == ["unit circle |λ| = 1", f"circle |λ| = ρ = {rho:.2f}", "eigenvalues λᵢ"]
    assert fig.layout.xaxis.title.text == "Re λ" and fig.layout.yaxis.title.text == "Im λ"
    assert fig.layout.xaxis.type == "linear" and fig.layout.yaxis.type == "linear"
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1  # circles look round
    unit, circ, points = fig.data
    np.testing.assert_allclose(np.hypot(unit.x, unit.y), 1.0)
    np.testing.assert_allclose(np.hypot(circ.x, circ.y), rho)
    np.testing.assert_allclose(np.asarray(points.x) + 1j * np.asarray(points.y), ev)
    assert unit.line.dash != circ.line.dash


def test_eigen_plane_with_computed_eigenvalues_and_bad_points():
    Q, U = w_hh_schur(64, 0.9, "nonnormal", 0.5, 10.0, seed=0)
    W = w_hh(64, 0.9, "nonnormal", 0.5, 10.0, seed=0)
    fig = eigen_plane(eigenvalues(U), rho=0.9, computed=eigenvalues(W))
    assert_clean(fig)
    assert names(fig)[-1] == "computed from Wₕₕ in float64"
    assert fig.data[-1].marker.symbol == "circle-open" and fig.data[-2].marker.symbol == "circle"
    fig = eigen_plane(np.array([0.5, np.nan, np.inf + 1j]), rho=0.5)
    assert_clean(fig)
    assert len(fig.data[-1].x) == 1 and "2 non-finite eigenvalue(s) left out" in fig.layout.annotations[0].text


# --- moduli and singular values ----------------------------------------------------------------

def test_moduli_and_singular_values_normal_coincide():
    W = w_hh(12, 0.9, "normal", 0.5, seed=1)
    fig = moduli_and_singular_values(spectrum(12, 0.9, "normal", 0.5), singular_values(W))
    assert_clean(fig)
    assert names(fig) == ["|λᵢ| (eigenvalues)", "σᵢ (singular values)"]
    assert fig.layout.xaxis.title.text == "index i (sorted, largest first)"
    assert fig.layout.yaxis.title.text == "value" and fig.layout.yaxis.type == "linear"
    assert all(t.mode == "markers" for t in fig.data)
    assert fig.data[0].marker.symbol != fig.data[1].marker.symbol
    np.testing.assert_allclose(fig.data[0].y, fig.data[1].y, atol=1e-12)
    assert list(fig.data[0].x) == list(range(1, 13))


def test_moduli_and_singular_values_nonnormal_sigma_above_rho():
    W = w_hh(12, 0.9, "nonnormal", 0.5, 3.0, seed=1)
    fig = moduli_and_singular_values(spectrum(12, 0.9, "nonnormal", 0.5), singular_values(W))
    assert_clean(fig)
    assert fig.data[1].y[0] > fig.data[0].y[0] == pytest.approx(0.9)
    assert np.all(np.diff(fig.data[0].y) <= 0) and np.all(np.diff(fig.data[1].y) <= 0)


# --- powers ------------------------------------------------------------------------------------

def test_power_norms_figure_rho3_K2000():
    W = w_hh(256, 3.0, "normal", 0.5, seed=0)
    lv = log10_power_norms(W, 2000)
    fig = power_norms_figure(lv, rho=3.0, sigma_max=singular_values(W)[0])
    assert_clean(fig)
    assert names(fig)[0] == "‖Wₕₕᵏ‖₂" and names(fig)[1] == "ρᵏ (ρ = 3.00)"
    assert names(fig)[2].startswith("‖Wₕₕ‖₂ᵏ")
    assert fig.layout.xaxis.title.text == "power k"
    assert fig.layout.yaxis.title.text == "log₁₀ ‖Wₕₕᵏ‖₂" and fig.layout.yaxis.type == "linear"
    assert max(fig.data[0].y) == pytest.approx(2000 * math.log10(3.0), abs=1e-8)  # 10^954 drawn
    np.testing.assert_allclose(fig.data[1].y, np.arange(2001) * math.log10(3.0))
    lo, hi = fig.layout.yaxis.range
    assert lo <= 0 and hi >= 954
    assert {t.line.dash for t in fig.data} == {"solid", "dash", "dot"}


def test_power_norms_figure_range_follows_curve_not_bound():
    Q, U = w_hh_schur(32, 0.9, "nonnormal", 0.5, 10.0, seed=0)
    lv = log10_power_norms(U, 300)
    fig = power_norms_figure(lv, rho=0.9, sigma_max=singular_values(U)[0])
    assert_clean(fig)
    lo, hi = fig.layout.yaxis.range
    assert hi < fig.data[2].y[-1]  # the steep bound leaves the plot …
    assert hi >= max(lv) and lo <= min(300 * math.log10(0.9), min(lv))  # … the curve and ρ^k stay in it


def test_power_norms_figure_drops_minus_inf():
    W = np.triu(np.ones((4, 4)), 1)
    fig = power_norms_figure(log10_power_norms(W, 10), rho=0.5)
    assert_clean(fig)
    assert len(fig.data[0].x) == 4
    assert "7 power(s) left out" in fig.layout.annotations[0].text


def test_power_norm_summary_transient_growth():
    Q, U = w_hh_schur(16, 0.9, "nonnormal", 0.5, 2.0, seed=0)
    lv = log10_power_norms(U, 200)
    text = power_norm_summary(lv, rho=0.9)
    peak = int(np.argmax(lv[1:])) + 1
    assert lv[peak] > 0
    assert text.startswith("**Transient growth:**")
    assert f"at k = {peak}," in text and f"{10 ** lv[peak]:.3g}" in text and "ρ = 0.90" in text
    above = np.nonzero(lv > 0)[0]
    assert f"after k = {above[-1]}" in text


def test_power_norm_summary_other_cases():
    lv = log10_power_norms(w_hh(16, 0.5, "symmetric", 0.5), 100)
    assert "\\le 1$ for every k" in power_norm_summary(lv, rho=0.5)
    lv = log10_power_norms(w_hh(16, 3.0, "normal", 0.5), 2000)
    text = power_norm_summary(lv, rho=3.0)
    assert "which is ρ^2000" in text and "10^{954}" in text
    Q, U = w_hh_schur(16, 1.2, "nonnormal", 0.5, 2.0, seed=0)
    assert "non-normal part" in power_norm_summary(log10_power_norms(U, 50), rho=1.2)
    assert "no power" in power_norm_summary(np.array([0.0]), rho=0.5)


# --- exercise 1 --------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["symmetric", "normal", "nonnormal"])
def test_alignment_figure(kind):
    Q, U = w_hh_schur(16, 0.9, kind, 0.5, 2.0, seed=0)
    cos = alignment_with_top_eigenvector(U, 300, seed=0)
    fig = alignment_figure(cos)
    assert_clean(fig)
    assert names(fig) == ["|cos∠(Mᵏx, v₁)|"]
    assert fig.layout.xaxis.title.text == "power k" and fig.layout.yaxis.title.text == "|cos∠(Mᵏx, v₁)|"
    assert fig.layout.yaxis.type == "linear"
    assert fig.data[0].y[-1] > 0.999


def test_alignment_figure_drops_nan():
    fig = alignment_figure(np.array([0.3, 0.9, np.nan, np.nan]))
    assert_clean(fig)
    assert len(fig.data[0].y) == 2 and "2 power(s) left out" in fig.layout.annotations[0].text


def test_alignment_summary():
    M = w_hh(16, 0.9, "symmetric", 0.5, seed=0)
    cos = alignment_with_top_eigenvector(M, 200, seed=0)
    ratio = second_modulus_ratio(spectrum(16, 0.9, "symmetric", 0.5))
    text = alignment_summary(cos, ratio=ratio)
    first = int(np.nonzero(cos >= 0.999)[0][0])
    assert f"|λ₂/λ₁| = {ratio:.4g}" in text and f"reaches 0.999 at k = {first}" in text
    assert "no gap" in alignment_summary(cos, ratio=1.0)
    assert "plane of the top conjugate pair" in alignment_summary(cos, ratio=0.5, complex_top=True)
    assert "every eigenvalue is zero" in alignment_summary(cos, ratio=float("nan"))
    assert "has not reached 0.999" in alignment_summary(np.full(5, 0.5), ratio=0.99)
