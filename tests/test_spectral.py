"""Tests of bptt_core.spectral: W_hh from eigenvalues, spectral radius, and
the growth of ‖W^k‖ computed without leaving float64's range."""

from __future__ import annotations


import numpy as np
import pytest

from bptt_core import (KINDS, alignment_with_top_eigenvector, eigenvalues, log10_power_norms,
                       matrix_from_eigenvalues, scale_to_spectral_radius, singular_values,
                       spectral_radius, spectrum, w_hh)


def match_error(computed: np.ndarray, wanted: np.ndarray) -> float:
    """Largest |λ_computed − λ_wanted| / max(1, |λ_wanted|) over a one-to-one greedy matching."""
    computed = list(np.asarray(computed, dtype=np.complex128))
    assert len(computed) == len(wanted)
    worst = 0.0
    for lam in np.asarray(wanted, dtype=np.complex128):
        j = int(np.argmin([abs(mu - lam) for mu in computed]))
        worst = max(worst, abs(computed.pop(j) - lam) / max(1.0, abs(lam)))
    return worst


def pairs(radii, angles):
    """Conjugate pairs r e^{±iθ}, interleaved."""
    out = []
    for r, th in zip(radii, angles):
        lam = r * np.exp(1j * th)
        out += [lam, np.conj(lam)]
    return np.array(out)


def explicit_log10_power_norms(W: np.ndarray, K: int) -> np.ndarray:
    return np.array([np.log10(np.linalg.norm(np.linalg.matrix_power(W, k), 2)) for k in range(K + 1)])


# --- matrix_from_eigenvalues ------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 7])
def test_symmetric_real_eigenvalues_reproduced(seed):
    ev = np.array([2.0, -1.5, 0.8, 0.3, -0.05, 1.1])
    W = matrix_from_eigenvalues(ev, seed=seed)
    assert W.shape == (6, 6) and W.dtype == np.float64
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(W)), np.sort(ev), rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 3])
def test_symmetric_kind_is_exactly_symmetric(seed):
    W = matrix_from_eigenvalues([0.9, -0.7, 0.4, 0.1, -0.3], seed=seed)
    assert np.array_equal(W, W.T)  # bit for bit, not only to rounding
    W = w_hh(7, 1.3, kind="symmetric", seed=seed)
    assert np.array_equal(W, W.T)


def test_normal_with_conjugate_pairs_reproduced_and_normal():
    ev = np.concatenate([pairs([1.2, 0.7], [0.4, 2.1]), [0.5, -0.25]])
    W = matrix_from_eigenvalues(ev, seed=2)
    assert np.isrealobj(W)
    assert match_error(np.linalg.eigvals(W), ev) < 1e-12
    np.testing.assert_allclose(W @ W.T, W.T @ W, rtol=0, atol=1e-12)
    # A normal matrix's singular values are its eigenvalues' moduli.
    np.testing.assert_allclose(singular_values(W), np.sort(np.abs(ev))[::-1], rtol=1e-12)
    # Pairs are not a symmetric matrix.
    assert not np.allclose(W, W.T)


def test_unpaired_complex_eigenvalue_rejected():
    with pytest.raises(ValueError, match="eigvals"):
        matrix_from_eigenvalues([0.5 + 0.5j, 0.3])


NONNORMALITY = [0.0, 0.5, 2.0, 5.0, 10.0]


def test_nonnormal_keeps_eigenvalues_while_singular_values_grow():
    ev = np.concatenate([pairs([0.9, 0.6], [0.5, 1.5]), [0.3, -0.5]])
    sig_max, frob = [], []
    for s in NONNORMALITY:
        W = matrix_from_eigenvalues(ev, nonnormality=s, seed=3)
        assert match_error(np.linalg.eigvals(W), ev) < 1e-8
        assert spectral_radius(W) == pytest.approx(0.9, rel=1e-8)
        sv = singular_values(W)
        sig_max.append(sv[0])
        frob.append(np.sqrt(np.sum(sv ** 2)))
    assert sig_max[0] == pytest.approx(0.9, rel=1e-12)  # s = 0 is normal: σ₁ = ρ
    assert np.all(np.diff(sig_max) > 0)
    assert np.all(np.diff(frob) > 0)
    assert sig_max[-1] > 5 * sig_max[0]


def test_nonnormal_with_real_eigenvalues_is_not_symmetric():
    ev = np.array([0.9, 0.5, -0.4, 0.2])
    for s in [0.5, 3.0]:
        W = matrix_from_eigenvalues(ev, nonnormality=s, seed=1)
        np.testing.assert_allclose(np.sort(np.linalg.eigvals(W).real), np.sort(ev), atol=1e-8)
        assert np.abs(W @ W.T - W.T @ W).max() > 1e-3


def test_matrix_from_eigenvalues_seeded():
    ev = pairs([1.0, 0.5], [0.3, 1.0])
    a = matrix_from_eigenvalues(ev, nonnormality=1.0, seed=5)
    b = matrix_from_eigenvalues(ev, nonnormality=1.0, seed=5)
    c = matrix_from_eigenvalues(ev, nonnormality=1.0, seed=6)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


# --- spectrum, w_hh, scaling, singular values -------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("h", [1, 2, 5, 8])
@pytest.mark.parametrize("rho", [0.3, 1.0, 2.5])
def test_spectrum_and_w_hh_have_requested_radius(kind, h, rho):
    ev = spectrum(h, rho, kind)
    assert ev.shape == (h,)
    assert np.max(np.abs(ev)) == pytest.approx(rho, rel=1e-14)
    # Conjugate-closed: the multiset of eigenvalues equals its conjugate.
    assert match_error(np.conj(ev), ev) < 1e-14
    W = w_hh(h, rho, kind=kind, seed=4)
    assert W.shape == (h, h) and np.isrealobj(W)
    assert spectral_radius(W) == pytest.approx(rho, rel=1e-9)
    assert abs(eigenvalues(W)[0]) == pytest.approx(rho, rel=1e-9)


def test_spectrum_symmetric_is_real_and_alternating():
    ev = spectrum(6, 2.0, "symmetric", spread=0.5)
    assert np.all(ev.imag == 0)
    np.testing.assert_allclose(np.abs(ev), 2.0 * np.linspace(1.0, 0.5, 6))
    assert ev[0].real == 2.0 and np.all(np.sign(ev.real) == [1, -1, 1, -1, 1, -1])


def test_w_hh_normal_kind_is_normal_and_nonnormal_kind_is_not():
    Wn = w_hh(6, 0.9, kind="normal", seed=2)
    np.testing.assert_allclose(Wn @ Wn.T, Wn.T @ Wn, atol=1e-12)
    Wnn = w_hh(6, 0.9, kind="nonnormal", nonnormality=2.0, seed=2)
    assert np.abs(Wnn @ Wnn.T - Wnn.T @ Wnn).max() > 1e-2
    assert match_error(np.linalg.eigvals(Wnn), np.linalg.eigvals(Wn)) < 1e-8


@pytest.mark.parametrize("rho", [0.5, 1.0, 3.0])
def test_scale_to_spectral_radius(rho):
    W = np.random.default_rng(0).standard_normal((6, 6))
    S = scale_to_spectral_radius(W, rho)
    assert spectral_radius(S) == pytest.approx(rho, rel=1e-12)
    # Only a rescaling: the direction of W is unchanged.
    np.testing.assert_allclose(S / np.linalg.norm(S), W / np.linalg.norm(W), rtol=1e-12)


def test_scale_to_spectral_radius_rejects_nilpotent():
    with pytest.raises(ValueError, match="W"):
        scale_to_spectral_radius(np.triu(np.ones((3, 3)), 1), 0.5)


def test_singular_values_match_svd():
    W = np.random.default_rng(1).standard_normal((5, 5))
    sv = singular_values(W)
    np.testing.assert_allclose(sv, np.linalg.svd(W, compute_uv=False), rtol=1e-13)
    assert np.all(np.diff(sv) <= 0)
    ev = np.array([1.5, -2.0, 0.3, 0.1])
    np.testing.assert_allclose(singular_values(matrix_from_eigenvalues(ev)), [2.0, 1.5, 0.3, 0.1], rtol=1e-12)


def test_eigenvalues_sorted_by_modulus():
    ev = eigenvalues(matrix_from_eigenvalues([0.1, -3.0, 2.0, 0.5]))
    np.testing.assert_allclose(np.abs(ev), [3.0, 2.0, 0.5, 0.1], rtol=1e-12)


# --- log10_power_norms ------------------------------------------------------------------------

@pytest.mark.parametrize("W", [
    np.random.default_rng(0).standard_normal((5, 5)),
    matrix_from_eigenvalues(pairs([1.1, 0.8], [0.6, 2.0]), nonnormality=2.0, seed=1),
    matrix_from_eigenvalues([0.7, -0.6, 0.2], seed=2),
    np.array([[0.0, 2.0], [-0.5, 0.1]]),
], ids=["gaussian", "nonnormal", "symmetric", "2x2"])
@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_log10_power_norms_matches_explicit(W, chunk):
    K = 80
    got = log10_power_norms(W, K, chunk=chunk)
    want = explicit_log10_power_norms(W, K)
    assert np.isfinite(want).all()
    assert got.shape == (K + 1,)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


def test_log10_power_norms_symmetric_rho5_long_horizon():
    K = 2000
    W = matrix_from_eigenvalues([5.0, -4.0, 2.5, 1.0, -0.5], seed=0)
    got = log10_power_norms(W, K)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, np.arange(K + 1) * np.log10(5.0), rtol=0, atol=1e-9)
    # Explicit powers would have overflowed long before k = 2000.
    with np.errstate(over="ignore", invalid="ignore"):
        assert not np.isfinite(np.linalg.matrix_power(W, 500)).all()


@pytest.mark.parametrize("kind", KINDS)
def test_log10_power_norms_finite_for_exploding_and_tiny(kind):
    K = 2000
    big = log10_power_norms(w_hh(6, 5.0, kind=kind, seed=1), K)
    assert np.isfinite(big).all()
    assert big[-1] > 1000  # ‖W^2000‖ ≥ ρ^2000 = 10^1397.9
    tiny = log10_power_norms(w_hh(6, 1e-3, kind=kind, seed=1), K)
    assert np.isfinite(tiny).all()  # no underflow to -inf
    assert tiny[-1] < -5000
    # ρ(W) ≤ ‖W^k‖^{1/k}: every curve lies above k·log10 ρ.
    k = np.arange(K + 1)
    assert np.all(big >= k * np.log10(5.0) - 1e-8)
    assert np.all(tiny >= k * np.log10(1e-3) - 1e-8)


def test_log10_power_norms_tiny_symmetric_exact_slope():
    W = matrix_from_eigenvalues([1e-3, 5e-4, -2e-4], seed=0)
    got = log10_power_norms(W, 2000)
    np.testing.assert_allclose(got, -3.0 * np.arange(2001), rtol=0, atol=1e-9)


def test_log10_power_norms_nilpotent():
    W = np.triu(np.ones((4, 4)), 1)  # nilpotent of index 4: W^3 ≠ 0, W^4 = 0
    got = log10_power_norms(W, 10)
    assert np.isfinite(got[:4]).all()
    np.testing.assert_allclose(got[:4], explicit_log10_power_norms(W, 3), atol=1e-12)
    assert np.all(got[4:] == -np.inf)
    # Same across chunk boundaries.
    np.testing.assert_array_equal(log10_power_norms(W, 10, chunk=2), got)
    # A non-nilpotent matrix never returns -inf.
    assert np.isfinite(log10_power_norms(W + np.eye(4) * 1e-3, 10)).all()


def test_log10_power_norms_k0_and_identity():
    assert log10_power_norms(np.eye(3), 0).tolist() == [0.0]
    np.testing.assert_allclose(log10_power_norms(2.0 * np.eye(3), 5), np.arange(6) * np.log10(2.0), atol=1e-14)


def test_nonnormal_transient_growth_then_decay():
    W = w_hh(8, 0.9, kind="nonnormal", nonnormality=5.0, seed=0)
    assert spectral_radius(W) < 1
    curve = log10_power_norms(W, 400)
    peak = int(np.argmax(curve))
    assert curve[peak] > 0  # transient growth although ρ < 1
    assert 0 < peak < 200
    assert curve[-1] < -5  # eventual decay at the rate ρ^k
    slope = (curve[-1] - curve[-101]) / 100
    assert slope == pytest.approx(np.log10(0.9), abs=0.01)
    # A normal matrix with the same spectrum never grows.
    Wn = w_hh(8, 0.9, kind="normal", seed=0)
    assert np.all(np.diff(log10_power_norms(Wn, 400)) <= 1e-12)


@pytest.mark.parametrize("scale", [1e-170, 1e160])
def test_log10_power_norms_extreme_but_finite_matrix(scale):
    W = scale * np.eye(2)
    got = log10_power_norms(W, 3)
    np.testing.assert_allclose(got, np.arange(4) * np.log10(scale), rtol=0, atol=1e-9)


# --- alignment_with_top_eigenvector (the section's exercise 1) --------------------------------

def test_alignment_converges_for_symmetric_with_gap():
    M = matrix_from_eigenvalues([2.0, -1.0, 0.5, 0.25, 0.1], seed=1)
    cos = alignment_with_top_eigenvector(M, 100, seed=0)
    assert cos.shape == (101,)
    assert np.all((cos >= 0) & (cos <= 1))
    assert cos[-1] > 1 - 1e-12
    assert cos[0] < 0.999  # a random start is not aligned already
    # Error 1 − cos shrinks geometrically with ratio (|λ₂|/|λ₁|)² = 1/4 per step.
    err = np.sqrt(1 - cos[:20] ** 2)
    ratio = err[15] / err[10]
    assert ratio == pytest.approx(0.5 ** 5, rel=0.05)


def test_alignment_seeded():
    M = matrix_from_eigenvalues([1.0, 0.9, -0.5, 0.2], seed=0)
    a = alignment_with_top_eigenvector(M, 30, seed=3)
    b = alignment_with_top_eigenvector(M, 30, seed=3)
    c = alignment_with_top_eigenvector(M, 30, seed=4)
    assert np.array_equal(a, b)
    assert a[0] != c[0]


def test_alignment_exploding_matrix_does_not_overflow():
    M = matrix_from_eigenvalues([5.0, 4.0, -3.0], seed=0)
    cos = alignment_with_top_eigenvector(M, 1000, seed=0)
    assert np.isfinite(cos).all() and cos[-1] > 1 - 1e-12


def test_alignment_complex_top_pair():
    ev = np.concatenate([pairs([0.9], [0.7]), [0.5, -0.3, 0.1]])
    M = matrix_from_eigenvalues(ev, seed=2)
    cos = alignment_with_top_eigenvector(M, 200, seed=1)
    assert np.isfinite(cos).all()
    assert np.all((cos >= 0) & (cos <= 1))
    # The plane of the top pair is invariant and dominant: the iterate ends up inside it.
    assert cos[-1] > 1 - 1e-10
