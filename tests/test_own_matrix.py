"""A user's own W_hh goes through the same core functions and sentences as a built one:
nilpotent, zero, huge (1e300) and tiny (1e-300) entries give finite curves or exact zeros,
no overflow warnings (pytest turns RuntimeWarning into errors) and no exception."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bptt_core import (alignment_with_top_eigenvector, eigenvalues, log10_power_norms, parse_matrix,
                       second_modulus_ratio, singular_values)
from charts.eigenvalues import (alignment_figure, alignment_summary, eigen_plane, moduli_and_singular_values,
                          power_norm_summary, power_norms_figure)

MATRICES = {
    "zero 1×1": "0",
    "nilpotent": "0 1\n0 0",
    "huge": "1e300 1e300\n-1e300 1e300",
    "tiny": "1e-300 0\n0 -2e-300",
    "rotation": "0 -1\n1 0",
    "jordan": "\n".join(" ".join("0.9" if j == i else "5" if j == i + 1 else "0" for j in range(20))
                        for i in range(20)),
}


@pytest.mark.parametrize("name", MATRICES)
def test_own_matrix_analysis_is_finite_or_exactly_zero(name):
    W = parse_matrix(MATRICES[name])
    ev = eigenvalues(W)
    sv = singular_values(W)
    rho = float(np.abs(ev).max())
    ratio = second_modulus_ratio(ev)
    lv = log10_power_norms(W, 300)
    cos = alignment_with_top_eigenvector(W, 300)
    assert np.isfinite(ev).all() and np.isfinite(sv).all() and math.isfinite(rho)
    assert not np.isnan(lv).any() and (np.isfinite(lv) | (lv == -np.inf)).all()
    assert ((cos >= 0) & (cos <= 1) | np.isnan(cos)).all()
    for fig in (eigen_plane(ev, rho=rho), moduli_and_singular_values(ev, sv),
                power_norms_figure(lv, rho=rho, sigma_max=float(sv[0])), alignment_figure(cos)):
        fig.to_json()  # serialisable: no inf or NaN reaches the browser as a number it cannot draw
    assert power_norm_summary(lv, rho=rho) and alignment_summary(cos, ratio=ratio)


def test_huge_entries_scale_out_of_powers_and_directions():
    W = parse_matrix("1e300 1e300\n-1e300 1e300")  # √2·10^300 times a rotation by 45°
    lv = log10_power_norms(W, 1000)
    np.testing.assert_allclose(lv, np.arange(1001) * (300 + 0.5 * math.log10(2)), rtol=1e-12)
    np.testing.assert_allclose(alignment_with_top_eigenvector(W, 10), 1.0)  # a rotation of the plane


def test_nilpotent_powers_are_exactly_zero_and_said_so():
    lv = log10_power_norms(parse_matrix("0 1\n0 0"), 5)
    assert lv[1] == 0.0 and (lv[2:] == -np.inf).all()
    assert "= 0." in power_norm_summary(lv, rho=0.0)
