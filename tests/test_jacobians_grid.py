"""Tests of the heatmap's core: log10‖∂h_t/∂h_s‖₂ on a grid of steps through segment products, and
the stride that keeps it within a budget at T = 1000, h = 256."""

from __future__ import annotations

import numpy as np
import pytest

from bptt_core import (RNN, forward, grid_stride, log10_jacobian_norms, log10_jacobian_norms_on_grid,
                       matrix_from_eigenvalues, step_jacobians, toy_problem)


def jacobians(act="tanh", T=41, h=6, rho=1.4, seed=0):
    rnn, X, _ = toy_problem(T, h, act, rho, seed)
    return step_jacobians(rnn, forward(rnn, X))


@pytest.mark.parametrize("act", ["identity", "tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("stride", [1, 2, 3, 7, 40, 41, 100])
def test_grid_equals_the_strided_matrix(act, stride):
    J = jacobians(act)
    T = J.shape[0]
    full = log10_jacobian_norms(J, stride)
    grid = np.arange(0, T + 1, stride)
    G = log10_jacobian_norms_on_grid(J, stride)
    assert G.shape == (grid.size, grid.size)
    want = full[np.ix_(grid, grid)]
    lower = np.tril(np.ones(G.shape, dtype=bool))
    assert np.isnan(G[~lower]).all()
    np.testing.assert_array_equal(np.isneginf(G[lower]), np.isneginf(want[lower]))
    ok = lower & np.isfinite(want)
    np.testing.assert_allclose(G[ok], want[ok], rtol=0, atol=1e-10)
    assert np.all(np.diag(G) == 0.0)


def test_grid_past_float64_and_exact_for_symmetric():
    T, rho = 500, 5.0
    W = matrix_from_eigenvalues([rho, -2.0, 0.5], seed=0)
    rnn = RNN(np.ones((3, 1)), W, np.ones((1, 3)), activation="identity")
    J = step_jacobians(rnn, forward(rnn, np.zeros((T, 1))))
    G = log10_jacobian_norms_on_grid(J, 25)
    grid = np.arange(0, T + 1, 25)
    t, s = np.tril_indices(grid.size)
    np.testing.assert_allclose(G[t, s], (grid[t] - grid[s]) * np.log10(rho), rtol=0, atol=1e-9)
    assert np.nanmax(G) > 308


def test_grid_zero_segment_gives_minus_inf_only_through_it():
    h, T = 3, 12
    rnn = RNN(np.ones((h, 1)), 0.9 * np.eye(h), np.ones((1, h)), activation="relu")
    X = np.ones((T, 1))
    X[6] = -100.0  # every unit dead at step 7: J_7 = 0
    J = step_jacobians(rnn, forward(rnn, X))
    G = log10_jacobian_norms_on_grid(J, 3)  # grid 0, 3, 6, 9, 12: step 7 lies in (6, 9]
    grid = np.arange(0, T + 1, 3)
    for j, t in enumerate(grid):
        for i, s in enumerate(grid[:j + 1]):
            if s < 7 <= t:
                assert G[j, i] == -np.inf
            else:
                assert np.isfinite(G[j, i])


def test_grid_rejects_bad_input():
    with pytest.raises(ValueError, match="stride"):
        log10_jacobian_norms_on_grid(np.zeros((3, 2, 2)), stride=0)
    with pytest.raises(ValueError, match="J"):
        log10_jacobian_norms_on_grid(np.full((3, 2, 2), np.nan))


@pytest.mark.parametrize("T", [1, 2, 50, 119, 120, 121, 999, 1000])
@pytest.mark.parametrize("h", [2, 16, 64, 128, 256])
def test_grid_stride_within_budget(T, h):
    stride = grid_stride(T, h)
    n = T // stride + 1
    assert n <= 120
    assert n ** 2 * h ** 3 / 2 <= 5e9 or n <= 2
    if stride > 1:  # the smallest such stride
        m = T // (stride - 1) + 1
        assert m > 120 or m ** 2 * h ** 3 / 2 > 5e9


def test_grid_stride_values():
    assert grid_stride(50, 16) == 1
    assert grid_stride(1000, 16) == 9  # 112 points
    assert 20 <= 1000 // grid_stride(1000, 256) + 1 <= 40
    with pytest.raises(ValueError, match="T"):
        grid_stride(0, 4)
    with pytest.raises(ValueError, match="max_cells"):
        grid_stride(10, 4, max_cells=1)


# --- the factored stack -------------------------------------------------------------------------

@pytest.mark.parametrize("act", ["identity", "tanh", "sigmoid", "relu"])
def test_factored_jacobians_give_the_same_numbers(act):
    from bptt_core import FactoredJacobians, factored_step_jacobians, log10_lag_norms

    rnn, X, _ = toy_problem(37, 30, act, 1.3, 2)
    tr = forward(rnn, X)
    dense = step_jacobians(rnn, tr)
    fac = factored_step_jacobians(rnn, tr)
    assert isinstance(fac, FactoredJacobians) and fac.shape == dense.shape and len(fac) == 37
    np.testing.assert_array_equal(fac.dense(), dense)
    for i in (0, 5, 36, -1):
        np.testing.assert_array_equal(fac[i], dense[i])
    part = fac[:20]
    assert isinstance(part, FactoredJacobians) and part.shape == (20, 30, 30)
    np.testing.assert_array_equal(log10_lag_norms(fac), log10_lag_norms(dense))
    np.testing.assert_array_equal(log10_jacobian_norms(fac, 3), log10_jacobian_norms(dense, 3))
    np.testing.assert_array_equal(log10_jacobian_norms_on_grid(fac, 4), log10_jacobian_norms_on_grid(dense, 4))
    np.testing.assert_array_equal(log10_lag_norms(part), log10_lag_norms(dense[:20]))


def test_factored_jacobians_validate():
    from bptt_core import FactoredJacobians, factored_step_jacobians

    with pytest.raises(ValueError, match="J"):
        FactoredJacobians(np.ones((0, 3)), np.eye(3))
    with pytest.raises(ValueError, match="J"):
        FactoredJacobians(np.ones((4, 3)), np.eye(2))
    with pytest.raises(ValueError, match="J"):
        FactoredJacobians(np.full((4, 3), np.nan), np.eye(3))
    rnn, X, _ = toy_problem(5, 4, "tanh", 0.9, 0)
    with pytest.raises(ValueError, match="trace"):
        factored_step_jacobians(rnn, forward(rnn, np.zeros((5, 2, 4))))
