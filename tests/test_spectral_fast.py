"""Tests of what makes log10‖W^k‖₂ fast at h = 256, K = 2000 without giving up exactness: the
certified two-sided bound on ‖P‖₂ from a tracked subspace, the squeeze ρ^k ≤ ‖W^k‖ ≤ ‖W‖^k for
radial W, the Schur factor of w_hh (where powers keep the eigenvalues exact), and |λ₂/λ₁|."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bptt_core import (KINDS, eigenvalues, log10_lag_norms, log10_power_norms, matrix_from_eigenvalues,
                       second_modulus_ratio, singular_values, spectrum, w_hh, w_hh_schur)
from bptt_core.spectral import TRACK_MIN_H, NormTracker, _radial_log10_rho, _ritz_bracket
from tests.test_spectral import pairs


def reference_power_norms(W: np.ndarray, K: int) -> np.ndarray:
    """log10‖W^k‖₂ by a renormalised chain and an SVD at every k (slow, plainly right)."""
    out = [0.0]
    P, scale = np.eye(W.shape[0]), 0.0
    for _ in range(K):
        P = P @ W
        c = np.abs(P).max()
        P /= c
        scale += np.log10(c)
        out.append(scale + np.log10(np.linalg.norm(P, 2)))
    return np.array(out)


# --- the certified bracket ---------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(h=st.integers(TRACK_MIN_H, 48), b=st.integers(2, 10), seed=st.integers(0, 10_000),
       shape=st.sampled_from(["gaussian", "low_rank", "flat", "tied"]))
def test_ritz_bracket_encloses_the_top_eigenvalue(h, b, seed, shape):
    rng = np.random.default_rng(seed)
    P = rng.standard_normal((h, h))
    if shape == "low_rank":
        P = rng.standard_normal((h, 3)) @ rng.standard_normal((3, h)) + 1e-6 * P
    elif shape == "flat":  # all singular values equal: no gap at all
        P = np.linalg.qr(P)[0]
    elif shape == "tied":  # the top two singular values equal
        U, _, Vt = np.linalg.svd(P)
        P = U @ np.diag(np.r_[2.0, 2.0, np.linspace(1.0, 0.1, h - 2)]) @ Vt
    V = np.linalg.qr(rng.standard_normal((h, b)))[0]
    lam = np.linalg.norm(P, 2) ** 2
    for _ in range(4):  # every step of the iteration, not only a converged one
        theta, upper, V = _ritz_bracket(P, V)
        assert theta <= lam * (1 + 1e-13)
        assert upper >= lam * (1 - 1e-13)
        assert np.allclose(V.T @ V, np.eye(V.shape[1]), atol=1e-12)


def test_tracker_certifies_only_tight_brackets():
    rng = np.random.default_rng(0)
    W = matrix_from_eigenvalues(np.r_[0.95, 0.5 * rng.uniform(-1, 1, 39)], nonnormality=1.0, seed=0)
    tracker = NormTracker(40)
    P = np.eye(40)
    certified = 0
    for _ in range(200):
        P = P @ W
        P /= np.abs(P).max()
        value = tracker.log10_norm(P)
        if value is not None:
            certified += 1
            assert value == pytest.approx(np.log10(np.linalg.norm(P, 2)), abs=1e-11)
    assert certified > 150  # the gap makes the tracked subspace converge


def test_tracker_backs_off_when_there_is_no_gap(monkeypatch):
    import bptt_core.spectral as spectral

    calls = []
    original = spectral._ritz_bracket

    def counting(P, V):
        calls.append(1)
        return original(P, V)

    monkeypatch.setattr(spectral, "_ritz_bracket", counting)
    tracker = NormTracker(32, iters=2, patience=8)
    Q = np.linalg.qr(np.random.default_rng(0).standard_normal((32, 32)))[0]  # all σ = 1: never certified
    results = [tracker.log10_norm(Q) for _ in range(64)]
    assert all(r is None for r in results)
    assert len(calls) == 2 * (8 + 56 // 8)  # the first 8, then every 8th, two steps each


# --- log10_power_norms on the fast paths -------------------------------------------------------

@pytest.mark.parametrize("h, rho, spread, s", [(40, 0.9, 0.5, 2.0), (64, 1.1, 0.3, 1.0), (48, 0.9, 0.0, 2.0),
                                               (33, 0.5, 1.0, 5.0), (40, 0.9, 0.05, 0.1)])
def test_tracked_path_matches_svd_reference(h, rho, spread, s):
    _, U = w_hh_schur(h, rho, "nonnormal", spread, s, seed=1)
    got = log10_power_norms(U, 300)
    want = reference_power_norms(U, 300)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


@pytest.mark.parametrize("chunk", [1, 5, 64])
def test_tracked_path_chunking_does_not_matter(chunk):
    _, U = w_hh_schur(32, 0.95, "nonnormal", 0.2, 3.0, seed=2)
    np.testing.assert_allclose(log10_power_norms(U, 150, chunk=chunk), reference_power_norms(U, 150),
                               rtol=0, atol=1e-10)


def test_gaussian_matrix_above_tracking_size():
    W = np.random.default_rng(3).standard_normal((30, 30)) / np.sqrt(30)
    np.testing.assert_allclose(log10_power_norms(W, 200), reference_power_norms(W, 200), rtol=0, atol=1e-10)


@pytest.mark.parametrize("kind", ["symmetric", "normal"])
def test_normal_kinds_take_the_radial_path_exactly(kind):
    W = w_hh(64, 3.0, kind, 0.5, seed=0)
    assert _radial_log10_rho(W / np.abs(W).max(), 2000) is not None
    got = log10_power_norms(W, 2000)
    np.testing.assert_allclose(got, np.arange(2001) * np.log10(3.0), rtol=0, atol=1e-10)
    np.testing.assert_allclose(got[:200], reference_power_norms(W, 199), rtol=0, atol=1e-10)


def test_radial_but_not_normal():
    # A normal top block of radius 1 beside a non-normal block whose norm stays below 1:
    # ‖W‖₂ = ρ(W) = 1, so ‖W^k‖₂ = 1 for every k although W is not normal.
    A = np.zeros((30, 30))
    A[:2, :2] = [[0.0, -1.0], [1.0, 0.0]]
    rng = np.random.default_rng(1)
    B = np.triu(rng.standard_normal((28, 28)), 1) * 0.05 + np.diag(np.full(28, 0.3))
    A[2:, 2:] = B / max(1.0, np.linalg.norm(B, 2) / 0.9)
    assert np.abs(A @ A.T - A.T @ A).max() > 1e-3
    assert _radial_log10_rho(A, 500) is not None
    np.testing.assert_allclose(log10_power_norms(A, 500), np.zeros(501), rtol=0, atol=1e-10)


def test_non_radial_matrix_is_not_squeezed():
    _, U = w_hh_schur(40, 0.9, "nonnormal", 0.5, 2.0, seed=0)
    assert _radial_log10_rho(U / np.abs(U).max(), 100) is None
    curve = log10_power_norms(U, 100)
    assert curve.max() > 0.1  # the transient growth is there, not ρ^k


# --- the Schur factor ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("h", [2, 7, 32])
def test_w_hh_schur_reproduces_w_hh(kind, h):
    Q, U = w_hh_schur(h, 1.3, kind, 0.4, 2.5, seed=3)
    W = w_hh(h, 1.3, kind, 0.4, 2.5, seed=3)
    np.testing.assert_allclose(Q.T @ Q, np.eye(h), atol=1e-13)
    np.testing.assert_allclose(Q @ U @ Q.T, W, rtol=0, atol=1e-13 * max(1.0, np.abs(W).max()))
    assert np.all(np.tril(U, -2) == 0.0)  # block upper triangular with 1×1 and 2×2 blocks
    sub = np.diag(U, -1)
    assert not np.any((sub[:-1] != 0) & (sub[1:] != 0))  # no two adjacent 2×2 blocks overlap
    if kind != "nonnormal":
        np.testing.assert_array_equal(np.triu(U, 2), 0.0)


def test_schur_factor_keeps_eigenvalues_where_w_hh_loses_them():
    # s = 10, h = 256: the float64 W_hh's eigenvalues are ill-conditioned (they move by ~0.1),
    # its Schur factor's are exact, and so are the powers' norms computed from it.
    h, rho = 256, 0.9
    Q, U = w_hh_schur(h, rho, "nonnormal", 0.5, 10.0, seed=0)
    want = spectrum(h, rho, "nonnormal", 0.5)
    got = eigenvalues(U)
    assert max(np.min(np.abs(got - lam)) for lam in want) < 1e-12
    W = w_hh(h, rho, "nonnormal", 0.5, 10.0, seed=0)
    assert max(np.min(np.abs(eigenvalues(W) - lam)) for lam in want) > 1e-3
    sv = singular_values(W)  # singular values are perfectly conditioned: equal to eps·σ₁
    np.testing.assert_allclose(singular_values(U), sv, rtol=0, atol=1e-13 * sv[0])


def test_schur_and_w_hh_power_norms_agree_when_well_conditioned():
    Q, U = w_hh_schur(32, 0.9, "nonnormal", 0.5, 0.5, seed=4)
    W = w_hh(32, 0.9, "nonnormal", 0.5, 0.5, seed=4)
    np.testing.assert_allclose(log10_power_norms(U, 300), log10_power_norms(W, 300), rtol=0, atol=1e-9)


def test_schur_power_norms_decay_at_the_designed_rate():
    _, U = w_hh_schur(128, 0.9, "nonnormal", 0.5, 10.0, seed=0)
    curve = log10_power_norms(U, 1500)
    assert curve.max() > 5  # a large transient
    slope = (curve[-1] - curve[-301]) / 300
    assert slope == pytest.approx(np.log10(0.9), abs=2e-3)


# --- |λ₂/λ₁| ---------------------------------------------------------------------------------

def test_second_modulus_ratio():
    assert second_modulus_ratio([2.0, -1.0, 0.5]) == pytest.approx(0.5)
    assert second_modulus_ratio([2.0, -2.0, 0.5]) == 1.0  # ±λ₁: no gap
    assert second_modulus_ratio(pairs([1.0, 0.6], [0.3, 1.2])) == pytest.approx(0.6)  # λ̄₁ is not λ₂
    assert second_modulus_ratio(np.r_[pairs([1.0], [0.3]), 0.25]) == pytest.approx(0.25)
    assert second_modulus_ratio([3.0]) == 0.0
    assert np.isnan(second_modulus_ratio([0.0, 0.0]))
    assert second_modulus_ratio(spectrum(16, 0.9, "symmetric", 0.5)) == pytest.approx(1 - 0.5 / 15)
    assert second_modulus_ratio(spectrum(16, 0.9, "normal", 0.0)) == 1.0
    with pytest.raises(ValueError, match="eigvals"):
        second_modulus_ratio([])
    with pytest.raises(ValueError, match="eigvals"):
        second_modulus_ratio([np.nan, 1.0])


# --- lag norms on the tracked path ---------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1])
def test_lag_norms_tracked_path_matches_svd(seed):
    rng = np.random.default_rng(seed)
    h, T = 32, 120
    W = matrix_from_eigenvalues(np.r_[1.2, rng.uniform(-0.8, 0.8, h - 1)], nonnormality=1.0, seed=seed)
    J = rng.uniform(0.2, 1.0, (T, h))[:, :, None] * W[None]
    got = log10_lag_norms(J)
    Q, scale, want = np.eye(h), 0.0, [0.0]
    for k in range(1, T + 1):
        Q = Q @ J[T - k]
        c = np.abs(Q).max()
        Q /= c
        scale += np.log10(c)
        want.append(scale + np.log10(np.linalg.norm(Q, 2)))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


# --- curves that stop short (the heaviest settings' first render) -------------------------------

@pytest.mark.parametrize("spread, s", [(0.0, 10.0), (0.5, 2.0)])
def test_power_norms_stop_after_max_products_and_equal_the_full_curve_there(spread, s):
    U = w_hh_schur(40, 1.3, "nonnormal", spread, s, seed=3)[1]
    every = log10_power_norms(U, 300)
    short = log10_power_norms(U, 300, max_products=120)
    assert short.shape == (121,)
    np.testing.assert_array_equal(short, every[:121])
    np.testing.assert_array_equal(log10_power_norms(U, 300, max_products=300), every)
    np.testing.assert_array_equal(log10_power_norms(U, 300, max_products=999), every)
    with pytest.raises(ValueError, match="max_products"):
        log10_power_norms(U, 300, max_products=0)


def test_power_norms_with_the_closed_form_never_stop_short():
    W = w_hh(64, 3.0, "symmetric", 0.5, seed=0)
    got = log10_power_norms(W, 2000, max_products=10)
    np.testing.assert_allclose(got, np.arange(2001) * np.log10(3.0), rtol=0, atol=1e-10)


def test_lag_norms_up_to_K_are_the_first_lags():
    rng = np.random.default_rng(5)
    J = rng.uniform(0.2, 1.0, (80, 30))[:, :, None] * (rng.standard_normal((30, 30)) / np.sqrt(30))[None]
    every = log10_lag_norms(J)
    np.testing.assert_array_equal(log10_lag_norms(J, 25), every[:26])
    assert log10_lag_norms(J, 0).tolist() == [0.0]
    with pytest.raises(ValueError, match="K"):
        log10_lag_norms(J, 81)
