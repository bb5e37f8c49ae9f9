"""compare_strategies and the bounded-memory Monte-Carlo statistics against the
plain computations they summarise (bptt, randomized_monte_carlo)."""

from __future__ import annotations

import numpy as np
import pytest

from bptt_core import (Full, Randomized, Truncated, bptt, compare_strategies, log10_row_norms,
                       randomized_monte_carlo, toy_problem)
from bptt_core.comparison import cosine_and_relative_error, log10_norm
from bptt_core.randomized import (WORK_BUDGET, affordable_samples, chunk_size, randomized_statistics,
                                 sampled_variance_sweep, work)

STRATEGIES = {"full": Full(), "chunked": Truncated(3), "sliding": Truncated(3, "sliding"),
              "randomized": Randomized(0.4, 5)}


def test_log10_row_norms_match_and_survive_huge_values():
    V = np.array([[3.0, 4.0], [0.0, 0.0], [1e300, 1e300], [np.inf, 1.0], [np.nan, 0.0]])
    out = log10_row_norms(V)
    assert out[0] == pytest.approx(np.log10(5.0))
    assert out[1] == -np.inf
    assert out[2] == pytest.approx(300 + 0.5 * np.log10(2))
    assert np.isnan(out[3]) and np.isnan(out[4])
    assert log10_norm([1e300, 1e300, 1e300]) == pytest.approx(300 + 0.5 * np.log10(3))


def test_cosine_and_relative_error():
    assert cosine_and_relative_error([1.0, 0.0], [1.0, 0.0]) == (1.0, 0.0)
    cos, rel = cosine_and_relative_error([0.0, 2.0], [1.0, 0.0])
    assert cos == pytest.approx(0.0) and rel == pytest.approx(np.sqrt(5.0))
    cos, rel = cosine_and_relative_error([2e300, 0.0], [1e300, 1e300])  # no overflow in the squares
    assert cos == pytest.approx(np.sqrt(0.5)) and rel == pytest.approx(1.0)
    assert all(np.isnan(cosine_and_relative_error([1.0, np.inf], [1.0, 1.0])))
    assert all(np.isnan(cosine_and_relative_error([1.0, 1.0], [0.0, 0.0])))


@pytest.mark.parametrize("activation", ["identity", "tanh"])
def test_compare_strategies_matches_bptt(activation):
    rnn, X, Y = toy_problem(25, 5, activation, 1.1, 2)
    cmp = compare_strategies(rnn, X, Y, STRATEGIES)
    exact = bptt(rnn, X, Y, Full()).flat()
    assert cmp.keys == tuple(STRATEGIES)
    assert cmp.finite.all() and not cmp.log_space.any()
    for i, s in enumerate(STRATEGIES.values()):
        g = bptt(rnn, X, Y, s)
        flat = g.flat()
        cos = flat @ exact / (np.linalg.norm(flat) * np.linalg.norm(exact))
        rel = np.linalg.norm(flat - exact) / np.linalg.norm(exact)
        assert cmp.cosine[i] == pytest.approx(cos, abs=1e-12)
        assert cmp.relative_error[i] == pytest.approx(rel, abs=1e-12)
        assert cmp.log10_norm[i] == pytest.approx(np.log10(np.linalg.norm(flat)))
        np.testing.assert_allclose(cmp.log10_dL_dh[i], np.log10(np.linalg.norm(g.dL_dh, axis=1)), atol=1e-12)
    assert cmp.cosine[0] == pytest.approx(1.0, abs=1e-15) and cmp.relative_error[0] == 0.0


def test_compare_strategies_after_overflow_uses_log_space():
    rnn, X, Y = toy_problem(700, 4, "identity", 3.0, 0)
    cmp = compare_strategies(rnn, X, Y, STRATEGIES)
    assert not cmp.finite.any()
    assert cmp.log_space.tolist() == [True, True, False, True]
    assert np.isfinite(cmp.log10_dL_dh[[0, 1, 3]]).all()
    assert np.isnan(cmp.log10_dL_dh[2]).any()
    assert np.isnan(cmp.cosine).all()
    assert cmp.log10_norm[0] > 300  # the exact gradient's norm, past float64
    f, b = cmp.overflow_steps("full")
    assert f is not None and b is not None


def test_compare_strategies_rejects_bad_input():
    rnn, X, Y = toy_problem(5, 3, "tanh", 0.9, 0)
    with pytest.raises(ValueError, match="strategies"):
        compare_strategies(rnn, X, Y, {})
    with pytest.raises(ValueError, match="strategy"):
        compare_strategies(rnn, X, Y, {"x": "full"})


# --- streamed Monte-Carlo statistics --------------------------------------------------------------

@pytest.mark.parametrize("max_floats", [10**9, 500, 1])
@pytest.mark.parametrize("activation", ["identity", "relu"])
def test_statistics_equal_the_plain_monte_carlo(max_floats, activation):
    rnn, X, Y = toy_problem(12, 5, activation, 1.1, 3)
    S, pi, seed = 120, 0.4, 2
    mc = randomized_monte_carlo(rnn, X, Y, pi, samples=S, seed=seed)
    st = randomized_statistics(rnn, X, Y, pi, samples=S, seed=seed, max_floats=max_floats)
    g = mc.exact
    run = mc.running_mean()
    n = np.arange(1, S + 1)
    np.testing.assert_allclose(st.relative_error, np.linalg.norm(run - g, axis=1) / np.linalg.norm(g),
                               rtol=1e-9, atol=1e-12)
    cos_run = run @ g / (np.linalg.norm(run, axis=1) * np.linalg.norm(g))
    np.testing.assert_allclose(st.running_cosine, cos_run, atol=1e-12)
    np.testing.assert_allclose(st.sample_cosine, mc.cosine, atol=1e-12)
    assert st.relative_variance == pytest.approx(mc.total_variance / (g @ g), rel=1e-9)
    assert st.log10_total_variance == pytest.approx(np.log10(mc.total_variance), rel=1e-9)
    np.testing.assert_allclose(st.expected_error, np.sqrt(mc.total_variance / n) / np.linalg.norm(g), rtol=1e-9)
    j = st.coordinate
    h, d = rnn.h, rnn.d
    W_hh_block = np.abs(g[h * d:h * d + h * h])
    assert j == h * d + int(np.argmax(W_hh_block))  # the largest |∂L/∂W_hh| entry
    np.testing.assert_allclose(st.coordinate_ratio, run[:, j] / g[j], rtol=1e-9)
    np.testing.assert_allclose(st.coordinate_band, 2 * mc.samples[:, j].std() / np.sqrt(n) / abs(g[j]), rtol=1e-9)
    assert st.exact_finite and st.finite_samples == S


def test_running_mean_converges_and_pi_one_has_no_variance():
    rnn, X, Y = toy_problem(15, 4, "tanh", 0.8, 1)
    st = randomized_statistics(rnn, X, Y, 0.7, samples=2000, seed=0)
    assert st.relative_error[-1] < 0.2 * st.relative_error[:10].mean()
    assert st.running_cosine[-1] > 0.99
    one = randomized_statistics(rnn, X, Y, 1.0, samples=50, seed=0)
    assert one.relative_variance == 0.0 and one.log10_total_variance == -np.inf
    assert np.nanmax(one.relative_error) < 1e-12


def test_statistics_when_the_exact_gradient_overflows():
    rnn, X, Y = toy_problem(700, 4, "identity", 3.0, 0)
    st = randomized_statistics(rnn, X, Y, 0.5, samples=20, seed=0)
    assert not st.exact_finite and st.finite_samples == 0
    assert np.isnan(st.relative_error).all() and np.isnan(st.coordinate_ratio).all()


def test_variance_sweep_matches_single_runs():
    rnn, X, Y = toy_problem(10, 4, "tanh", 1.0, 4)
    pis = [0.2, 0.5, 1.0]
    sweep = sampled_variance_sweep(rnn, X, Y, pis, samples=80, seed=1)
    for k, p in enumerate(pis):
        st = randomized_statistics(rnn, X, Y, p, samples=80, seed=1)
        assert sweep.relative_variance[k] == pytest.approx(st.relative_variance, rel=1e-9, abs=0)
    assert sweep.log10_relative_variance[-1] == -np.inf
    with pytest.raises(ValueError, match="pis"):
        sampled_variance_sweep(rnn, X, Y, [0.0, 0.5], samples=10)


def test_budget_and_chunks():
    assert chunk_size(1000, 256, 67072, 2000, max_floats=8 * 2**20) == 32
    assert chunk_size(2, 256, 67072, 2000, max_floats=8 * 2**20) == 125
    assert chunk_size(10, 4, 40, 3, max_floats=1) == 1
    assert affordable_samples(50, 16, 500) == 500
    S = affordable_samples(1000, 256, 2000)
    assert 10 <= S < 2000 and work(1000, 256, S) <= WORK_BUDGET < work(1000, 256, S + 1)
    assert affordable_samples(1000, 256, 5) == 5
    assert affordable_samples(1000, 256, 2000, budget=1.0) == 10  # never below the minimum


def test_statistics_memory_is_bounded():
    """S·P would be 2000 × 67 072 floats (1 GB); the streamed version stays far below it."""
    import tracemalloc

    rnn, X, Y = toy_problem(3, 256, "tanh", 1.0, 0)
    tracemalloc.start()
    randomized_statistics(rnn, X, Y, 0.5, samples=2000, seed=0, max_floats=2**20)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 120 * 2**20, f"peak {peak / 2**20:.0f} MB"
