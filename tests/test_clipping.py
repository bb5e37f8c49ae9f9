"""Tests of bptt_core.clipping: the book's g ← min(1, θ/‖g‖) g."""

from __future__ import annotations


import numpy as np
import pytest

from bptt_core import RNN, Gradients, bptt, clip_by_global_norm, global_norm, init_rnn


def grads(rho=1.5, seed=0) -> Gradients:
    rnn = init_rnn(3, 5, 2, activation="tanh", spectral_radius=rho, seed=seed)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((20, 3))
    Y = rng.standard_normal((20, 2))
    return bptt(rnn, X, Y)


def arrays(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((3, 4)), rng.standard_normal(5) * 10, rng.standard_normal((2, 2, 2))]


def flat(gs) -> np.ndarray:
    if isinstance(gs, Gradients):
        return gs.flat()
    return np.concatenate([np.ravel(g) for g in gs])


@pytest.mark.parametrize("make", [grads, arrays], ids=["Gradients", "list"])
def test_norm_before_clipping_is_sqrt_sum_of_squares(make):
    g = make()
    want = np.sqrt(sum(np.sum(np.asarray(a) ** 2) for a in (g.params if isinstance(g, Gradients) else g)))
    _, norm = clip_by_global_norm(g, 1e-3)
    assert norm == pytest.approx(want, rel=1e-14)
    assert global_norm(g) == pytest.approx(want, rel=1e-14)
    assert norm == pytest.approx(np.linalg.norm(flat(g)), rel=1e-14)


@pytest.mark.parametrize("make", [grads, arrays], ids=["Gradients", "list"])
@pytest.mark.parametrize("fraction", [0.01, 0.5, 0.999, 1.0, 2.0, 100.0])
def test_clipped_norm_is_min_of_norm_and_theta(make, fraction):
    g = make()
    n = global_norm(g)
    theta = fraction * n
    clipped, norm = clip_by_global_norm(g, theta)
    assert norm == pytest.approx(n, rel=1e-15)
    assert global_norm(clipped) == pytest.approx(min(n, theta), rel=1e-12)
    # Direction unchanged: a non-negative multiple of the original.
    v, w = flat(g), flat(clipped)
    np.testing.assert_allclose(w, v * min(1.0, theta / n), rtol=1e-14)
    assert np.dot(v, w) / (np.linalg.norm(v) * np.linalg.norm(w)) == pytest.approx(1.0, abs=1e-12)


def test_gradients_container_kept():
    g = grads()
    clipped, _ = clip_by_global_norm(g, 1e-3)
    assert isinstance(clipped, Gradients)
    for a, b in zip(g.params, clipped.params):
        assert a.shape == b.shape
    # Only the parameter gradients are clipped; the rest is carried over.
    assert clipped.loss == g.loss
    assert np.array_equal(clipped.dL_dh, g.dL_dh)
    assert np.array_equal(clipped.xi, g.xi)


def test_list_container_and_array():
    g = arrays()
    clipped, _ = clip_by_global_norm(g, 1.0)
    assert isinstance(clipped, list) and len(clipped) == 3
    assert [c.shape for c in clipped] == [a.shape for a in g]
    a = np.arange(4.0)
    c, n = clip_by_global_norm(a, 1.0)
    assert isinstance(c, np.ndarray) and n == pytest.approx(np.sqrt(14.0))
    np.testing.assert_allclose(c, a / np.sqrt(14.0))


def test_no_op_under_threshold():
    g = arrays()
    n = global_norm(g)
    clipped, norm = clip_by_global_norm(g, 2 * n)
    for a, b in zip(g, clipped):
        assert np.array_equal(a, b)
    G = grads()
    Gc, _ = clip_by_global_norm(G, 10 * global_norm(G))
    for a, b in zip(G.params, Gc.params):
        assert np.array_equal(a, b)


def test_input_not_modified():
    g = arrays()
    before = [a.copy() for a in g]
    clip_by_global_norm(g, 1e-3)
    for a, b in zip(g, before):
        assert np.array_equal(a, b)


def test_zero_gradient_safe():
    z = [np.zeros((2, 3)), np.zeros(4)]
    clipped, norm = clip_by_global_norm(z, 1.0)
    assert norm == 0.0
    for c in clipped:
        assert np.isfinite(c).all() and not c.any()


@pytest.mark.parametrize("theta", [0, 0.0, -1.0, np.nan, np.inf, -np.inf, "1", None, True, [1.0]])
def test_bad_theta_raises(theta):
    with pytest.raises(ValueError, match="theta"):
        clip_by_global_norm(arrays(), theta)


@pytest.mark.parametrize("scale", [1e-200, 1e-139, 1.0, 1e139, 1e200])
def test_norm_and_clipping_at_every_scale(scale):
    # Inside clipping.PLAIN_RANGE ‖g‖ is a plain dot product; outside it g is divided by max|g| first.
    g = [a * scale for a in arrays()]
    n = global_norm(arrays()) * scale
    assert global_norm(g) == pytest.approx(n, rel=1e-14)
    clipped, norm = clip_by_global_norm(g, 1e-3 * n)
    assert norm == pytest.approx(n, rel=1e-14)
    assert global_norm(clipped) == pytest.approx(1e-3 * n, rel=1e-12)
    np.testing.assert_allclose(flat(clipped), flat(g) * 1e-3, rtol=1e-12)


def test_float32_gradients_are_clipped_in_float64():
    g = arrays()[0].astype(np.float32)
    clipped, norm = clip_by_global_norm(g, 1e-3)
    assert clipped.dtype == np.float64
    assert norm == pytest.approx(np.linalg.norm(g.astype(np.float64)), rel=1e-15)


def test_clip_large_finite_gradient():
    g = [np.array([3e200, -4e200]), np.array([[0.0]])]
    clipped, norm = clip_by_global_norm(g, 1.0)
    assert norm == pytest.approx(5e200, rel=1e-14)
    np.testing.assert_allclose(clipped[0], [0.6, -0.8], rtol=1e-14)


def test_clip_finite_exploding_bptt_gradient():
    # Identity RNN, W_hh = 5 I, T = 150: every value stays finite (g.finite), entries reach ~1e206.
    rng = np.random.default_rng(0)
    rnn = RNN(rng.standard_normal((3, 2)), 5.0 * np.eye(3), rng.standard_normal((1, 3)))
    T = 150
    g = bptt(rnn, rng.standard_normal((T, 2)), rng.standard_normal((T, 1)))
    assert g.finite and np.isfinite(g.flat()).all()
    assert np.abs(g.flat()).max() > 1e200
    clipped, norm = clip_by_global_norm(g, 1.0)
    assert np.isfinite(norm)
    assert global_norm(clipped) == pytest.approx(1.0, rel=1e-12)
