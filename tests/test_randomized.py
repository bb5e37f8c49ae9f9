"""Tests of bptt_core.randomized: the randomized-truncation estimator is unbiased,
its vectorised samples equal single bptt runs, its Monte-Carlo statistics, and its
exact moments against the probability-weighted enumeration of all 2^T patterns of ξ."""

from __future__ import annotations

import numpy as np
import pytest

from bptt_core import (ACTIVATIONS, Full, Randomized, bptt, init_rnn, randomized_expectation,
                       randomized_monte_carlo, randomized_xi, sampled_gradients, xi_patterns)


def problem(T, act="tanh", loss="mse", batch=None, rho=1.2, seed=0, d=3, h=4, q=3):
    rnn = init_rnn(d, h, q, activation=act, spectral_radius=rho, seed=seed)
    rng = np.random.default_rng(seed + 1)
    X = rng.standard_normal((T, d) if batch is None else (T, batch, d))
    if loss == "mse":
        Y = rng.standard_normal(X.shape[:-1] + (q,))
    else:
        Y = rng.integers(0, q, X.shape[:-1])
    return rnn, X, Y


def rel_err(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("loss", ["mse", "xent"])
@pytest.mark.parametrize("batch", [None, 3])
def test_expectation_equals_full_gradient(act, loss, batch):
    for T in [1, 2, 5, 8]:
        rnn, X, Y = problem(T, act, loss, batch, seed=10 + T)
        exact = bptt(rnn, X, Y, Full(), loss=loss).flat()
        assert np.linalg.norm(exact) > 0
        for pi in [0.1, 0.35, 0.5, 0.9, 1.0]:
            e = randomized_expectation(rnn, X, Y, pi, loss=loss)
            assert e.shape == exact.shape
            assert rel_err(e, exact) < 1e-12, (T, pi)


def test_expectation_with_h0():
    rnn, X, Y = problem(6, "sigmoid", "mse")
    h0 = np.random.default_rng(9).standard_normal(4)
    exact = bptt(rnn, X, Y, loss="mse", h0=h0).flat()
    assert rel_err(randomized_expectation(rnn, X, Y, 0.3, h0=h0), exact) < 1e-12
    assert rel_err(bptt(rnn, X, Y).flat(), exact) > 1e-6  # h0 matters


def test_a_single_draw_is_biased_but_the_mean_is_not():
    rnn, X, Y = problem(8, "tanh", "mse")
    exact = bptt(rnn, X, Y).flat()
    xi, prob = xi_patterns(8, 0.5)
    assert xi.shape == (256, 8) and prob.sum() == pytest.approx(1.0, abs=1e-15)
    G = sampled_gradients(rnn, X, Y, xi)
    assert np.max([rel_err(g, exact) for g in G]) > 0.1
    assert rel_err(prob @ G, exact) < 1e-12


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("loss", ["mse", "xent"])
@pytest.mark.parametrize("batch", [None, 2])
def test_sampled_rows_equal_single_bptt(act, loss, batch):
    T, pi = 10, 0.4
    rnn, X, Y = problem(T, act, loss, batch, seed=2)
    xi = randomized_xi(T, pi, seed=5, samples=12)
    xi[0] = 1.0  # include the full pattern and an all-cut one
    xi[1] = 0.0
    G = sampled_gradients(rnn, X, Y, xi, loss=loss)
    assert G.shape == (12, bptt(rnn, X, Y, loss=loss).flat().size)
    for i in range(12):
        single = bptt(rnn, X, Y, Randomized(pi, xi=xi[i]), loss=loss).flat()
        np.testing.assert_allclose(G[i], single, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(G[0], bptt(rnn, X, Y, Full(), loss=loss).flat(), rtol=1e-12, atol=1e-15)


def test_monte_carlo_mean_converges():
    rnn, X, Y = problem(12, "tanh", "mse", seed=3)
    mc = randomized_monte_carlo(rnn, X, Y, 0.5, samples=20_000, seed=0)
    assert mc.samples.shape[0] == 20_000 and mc.xi.shape == (20_000, 12)
    np.testing.assert_allclose(mc.exact, bptt(rnn, X, Y).flat(), rtol=1e-14)
    np.testing.assert_allclose(mc.mean, mc.samples.mean(axis=0))
    np.testing.assert_allclose(mc.variance, mc.samples.var(axis=0))
    assert mc.total_variance == pytest.approx(mc.variance.sum())
    running = mc.running_mean()
    np.testing.assert_allclose(running[-1], mc.mean, rtol=1e-10, atol=1e-14)
    errs = [rel_err(running[S - 1], mc.exact) for S in (20, 200, 2000, 20_000)]
    assert errs[-1] < errs[0] / 10
    assert errs[-1] < 0.05
    # Error ≈ sqrt(total variance / S) up to a modest factor.
    expected = np.sqrt(mc.total_variance / 20_000) / np.linalg.norm(mc.exact)
    assert errs[-1] < 5 * expected


def test_monte_carlo_error_shrinks_on_average_over_seeds():
    rnn, X, Y = problem(8, "identity", "mse", rho=0.9, seed=4)
    exact = bptt(rnn, X, Y).flat()
    small = np.mean([rel_err(randomized_monte_carlo(rnn, X, Y, 0.3, 50, seed=s).mean, exact)
                     for s in range(10)])
    large = np.mean([rel_err(randomized_monte_carlo(rnn, X, Y, 0.3, 5000, seed=s).mean, exact)
                     for s in range(10)])
    assert large < small / 4  # ~1/sqrt(100) = 1/10 in expectation


def test_monte_carlo_cosine_and_seeds():
    rnn, X, Y = problem(10, "tanh", "xent", seed=5)
    mc = randomized_monte_carlo(rnn, X, Y, 0.3, samples=500, seed=7, loss="xent")
    assert mc.cosine.shape == (500,)
    assert np.all(mc.cosine >= -1.0 - 1e-12) and np.all(mc.cosine <= 1.0 + 1e-12)
    want = mc.samples @ mc.exact / (np.linalg.norm(mc.samples, axis=1) * np.linalg.norm(mc.exact))
    np.testing.assert_allclose(mc.cosine, want, rtol=1e-12)
    same = randomized_monte_carlo(rnn, X, Y, 0.3, samples=500, seed=7, loss="xent")
    assert np.array_equal(mc.samples, same.samples) and np.array_equal(mc.xi, same.xi)
    other = randomized_monte_carlo(rnn, X, Y, 0.3, samples=500, seed=8, loss="xent")
    assert not np.array_equal(mc.xi, other.xi)
    assert not np.array_equal(mc.samples, other.samples)
    # Sample i is the single bptt run with draw i.
    np.testing.assert_allclose(mc.samples[3], bptt(rnn, X, Y, Randomized(0.3, xi=mc.xi[3]),
                                                   loss="xent").flat(), rtol=1e-12, atol=1e-15)


def test_pi_one_gives_zero_variance():
    rnn, X, Y = problem(10, "tanh", "mse", batch=2, seed=6)
    mc = randomized_monte_carlo(rnn, X, Y, 1.0, samples=64, seed=0)
    assert np.all(mc.xi == 1.0)
    assert np.all(mc.samples == mc.samples[0])
    np.testing.assert_allclose(mc.samples[0], mc.exact, rtol=1e-12, atol=1e-15)
    assert mc.total_variance <= 1e-28 * np.sum(mc.exact ** 2)
    np.testing.assert_allclose(mc.cosine, 1.0, atol=1e-12)


def test_variance_grows_as_pi_shrinks():
    rnn, X, Y = problem(10, "tanh", "mse", seed=7)
    tv = [randomized_monte_carlo(rnn, X, Y, pi, samples=4000, seed=1).total_variance
          for pi in (0.9, 0.5, 0.2)]
    assert tv[0] < tv[1] < tv[2]


@pytest.mark.parametrize("X", [None, "abc", [[1.0, 2.0], [3.0]]], ids=["None", "str", "ragged"])
def test_expectation_bad_x_names_x(X):
    rnn, _, Y = problem(3)
    with pytest.raises(ValueError, match=r"(?<![A-Za-z0-9_])X(?![A-Za-z0-9_])"):
        randomized_expectation(rnn, X, Y, 0.5)


# --- exact moments ----------------------------------------------------------------------------------

from bptt_core import forward, toy_problem  # noqa: E402
from bptt_core.activations import phi_prime  # noqa: E402
from bptt_core.logspace import log10_gradient_norms  # noqa: E402
from bptt_core.randomized import (EXACT_WORK_BUDGET, affordable_exact, dL_dh_covariance,  # noqa: E402
                                  exact_moments, exact_work, randomized_statistics,
                                  randomized_variance_sweep)


def enumerated(rnn, X, Y, pi, loss="mse", h0=None, steps=True):
    """Mean (P,), Cov (P, P) of g and Var of ∂L/∂h_t summed over units (T,): the probability-weighted
    sums over all 2^T patterns of ξ."""
    T = X.shape[0]
    xi, prob = xi_patterns(T, pi)
    G = sampled_gradients(rnn, X, Y, xi, loss=loss, h0=h0)
    mean = prob @ G
    D = G - mean
    cov = (D * prob[:, None]).T @ D
    step = None
    if steps:
        U = np.array([bptt(rnn, X, Y, Randomized(pi, xi=x), loss=loss, h0=h0).dL_dh for x in xi])
        U = U.reshape(len(xi), T, -1)
        mu = np.einsum("s,stn->tn", prob, U)
        Ud = U - mu
        step = (np.einsum("s,stn->t", prob, Ud * Ud), float(np.max(np.sum(mu * mu, axis=1))))
    return mean, cov, step


def close(log_value, plain, scale):
    """10^log_value equals plain to 1e-9 of ``scale`` (the size the rounding is relative to)."""
    return abs(10.0 ** log_value - plain) <= 1e-9 * scale + 1e-300


PIS = np.array([0.15, 0.5, 0.85, 1.0])


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("loss", ["mse", "xent"])
@pytest.mark.parametrize("batch", [None, 2])
def test_exact_moments_equal_the_enumeration(act, loss, batch):
    for T in (1, 3, 7):
        rnn, X, Y = problem(T, act, loss, batch, seed=20 + T)
        em = exact_moments(rnn, X, Y, PIS, loss=loss)
        g = bptt(rnn, X, Y, loss=loss).flat()
        j = em.coordinate
        h, d = rnn.h, rnn.d
        assert j == h * d + int(np.argmax(np.abs(g[h * d:h * d + h * h])))
        assert em.log10_gradient_norm == pytest.approx(np.log10(np.linalg.norm(g)), abs=1e-12)
        assert em.coordinate_value == pytest.approx(g[j], rel=1e-12)
        assert em.total_computed and em.log10_step_variance.shape == (PIS.size, T)
        for k, pi in enumerate(PIS):
            mean, cov, step = enumerated(rnn, X, Y, pi, loss)
            np.testing.assert_allclose(mean, g, rtol=1e-11, atol=1e-14)   # unbiased
            scale = cov[j, j] + g[j] ** 2
            assert close(em.log10_coordinate_variance[k], cov[j, j], scale), (T, pi)
            assert close(em.log10_total_variance[k], np.trace(cov), np.trace(cov) + g @ g), (T, pi)
            step, size = step
            for t in range(T):
                assert close(em.log10_step_variance[k, t], step[t], step.max() + size), (T, pi, t)


def test_exact_moments_at_t_ten_and_any_coordinate():
    rnn, X, Y = problem(10, "tanh", "mse", seed=3, rho=1.3)
    P = bptt(rnn, X, Y).flat().size
    mean, cov, _ = enumerated(rnn, X, Y, 0.3, steps=False)
    for j in (0, 5, rnn.h * rnn.d + 3, P - 1):   # W_hx, W_hx, W_hh, W_qh
        em = exact_moments(rnn, X, Y, 0.3, coordinate=j, total=False)
        assert em.coordinate == j and not em.total_computed and np.isnan(em.log10_total_variance).all()
        assert close(em.log10_coordinate_variance[0], cov[j, j], cov[j, j] + mean[j] ** 2), j
    assert exact_moments(rnn, X, Y, 0.3, coordinate=P - 1).log10_coordinate_variance[0] == -np.inf  # W_qh: no ξ


def test_pi_one_has_exactly_zero_variance():
    rnn, X, Y = problem(9, "sigmoid", "xent", batch=2, seed=4)
    em = exact_moments(rnn, X, Y, [1.0, 0.5], loss="xent")
    assert em.log10_coordinate_variance[0] == -np.inf and em.log10_total_variance[0] == -np.inf
    assert (em.log10_step_variance[0] == -np.inf).all()
    assert em.coordinate_variance[0] == 0.0 and em.total_variance[0] == 0.0
    assert np.isfinite(em.log10_total_variance[1])


def test_cross_covariances_give_the_whole_covariance_of_the_gradient():
    """Cov(g) = Σ_{s,t} G_s Cov(u_s, u_t) G_tᵀ from dL_dh_covariance equals the enumerated Cov(g)."""
    rnn, X, Y = problem(6, "relu", "mse", batch=2, seed=5)
    pi = 0.35
    cov_u = dL_dh_covariance(rnn, X, Y, pi)
    T, B, h, d = 6, 2, rnn.h, rnn.d
    assert cov_u.shape == (T, B * h, T, B * h)
    tr = forward(rnn, X)
    dphi = phi_prime(rnn.activation, tr.A, tr.H[1:])
    Z = np.concatenate([X, tr.H[:-1]], axis=-1)          # (T, B, d + h)
    # G_t maps u_t (B·h) to the (h, d + h) block [∂W_hx | ∂W_hh]: G_t[(i, j), (b, m)] = δ_im φ'_t^b[i] z_t^b[j]
    G = np.zeros((T, h, d + h, B, h))
    for t in range(T):
        for b in range(B):
            G[t, np.arange(h), :, b, np.arange(h)] = dphi[t, b][:, None] * Z[t, b][None, :]
    G = G.reshape(T, h * (d + h), B * h)
    cov_g = np.einsum("spm,smtn,tqn->pq", G, cov_u, G)
    _, cov, _ = enumerated(rnn, X, Y, pi, steps=False)
    # reorder the enumerated covariance of [W_hx | W_hh] into the (i, [x; h]) layout of G
    idx = np.array([i * d + j if j < d else h * d + i * h + (j - d) for i in range(h) for j in range(d + h)])
    np.testing.assert_allclose(cov_g, cov[np.ix_(idx, idx)], rtol=1e-9, atol=1e-12 * np.abs(cov).max())


def test_log_scale_equals_plain_float64_where_it_fits():
    """At T = 40 the plain recursion of dL_dh_covariance fits float64: the log-scale results equal it."""
    rnn, X, Y = toy_problem(40, 6, "identity", 0.9, 1)
    em = exact_moments(rnn, X, Y, [0.3, 0.7])
    for k, pi in enumerate((0.3, 0.7)):
        cov_u = dL_dh_covariance(rnn, X, Y, pi)
        plain = np.array([np.trace(cov_u[t, :, t, :]) for t in range(40)])
        np.testing.assert_allclose(em.step_variance[k, :-1], plain[:-1], rtol=1e-9)
        assert plain[-1] == 0.0 and em.log10_step_variance[k, -1] == -np.inf


def test_past_float64_the_log_results_stay_finite():
    """T = 1000, ρ = 0.9, π = 0.2: ρ²/π ≈ 4 per step, far past 10^308, every log10 value finite."""
    rnn, X, Y = toy_problem(1000, 8, "identity", 0.9, 0)
    em = exact_moments(rnn, X, Y, [0.2, 0.9, 1.0])
    g = bptt(rnn, X, Y).flat()
    assert em.log10_gradient_norm == pytest.approx(np.log10(np.linalg.norm(g)), abs=1e-9)
    for field in (em.log10_coordinate_variance, em.log10_total_variance):
        assert np.isfinite(field[:2]).all() and field[2] == -np.inf
    assert np.isfinite(em.log10_step_variance[:2, :-1]).all()
    assert em.log10_coordinate_variance[0] > 400 and em.log10_total_variance[0] > 400   # past 10^308
    assert not em.fits_float64["total_variance"][0] and em.total_variance[0] == np.inf
    assert em.fits_float64["total_variance"][1] and em.fits_float64["gradient"]
    # The per-step variance grows geometrically backwards, about like (ρ_eff²/π)^(T−t).
    slope = np.polyfit(np.arange(100, 900), em.log10_step_variance[0, 100:900], 1)[0]
    assert -slope == pytest.approx(np.log10(em.rho_eff ** 2 / 0.2), abs=0.05)
    assert em.rho_eff == pytest.approx(0.9, abs=0.02)


def test_forward_overflow_goes_through_log_space():
    """ρ = 3, identity φ, T = 700: h_t passes float64; the exact moments are still finite in log10."""
    rnn, X, Y = toy_problem(700, 4, "identity", 3.0, 0)
    em = exact_moments(rnn, X, Y, [0.2, 0.6])
    norms = log10_gradient_norms(rnn, X, Y)
    top = norms.log10_grads.max()
    want = top + 0.5 * np.log10(np.sum(10.0 ** (2 * (norms.log10_grads - top))))
    assert em.log10_gradient_norm == pytest.approx(want, abs=1e-6)
    assert em.log10_gradient_norm > 308
    assert np.isfinite(em.log10_coordinate_variance).all() and np.isfinite(em.log10_total_variance).all()
    assert em.log10_total_variance[0] > em.log10_total_variance[1]


def test_monte_carlo_variance_converges_to_the_exact_one():
    """A benign case (π = 0.8, T = 6): the sample variance of 40 000 draws is within 5 % of the exact."""
    rnn, X, Y = problem(6, "tanh", "mse", seed=8, rho=1.0)
    em = exact_moments(rnn, X, Y, 0.8)
    mc = randomized_monte_carlo(rnn, X, Y, 0.8, samples=40_000, seed=3)
    assert mc.total_variance == pytest.approx(em.total_variance[0], rel=0.05)
    assert mc.variance[em.coordinate] == pytest.approx(em.coordinate_variance[0], rel=0.1)


def test_variance_sweep_is_exact_and_monotone():
    rnn, X, Y = toy_problem(50, 16, "identity", 0.9, 0)
    pis = np.round(np.arange(0.05, 1.0001, 0.05), 2)
    sweep = randomized_variance_sweep(rnn, X, Y, pis)
    assert sweep.exact and sweep.samples == 0 and sweep.total_computed
    v = sweep.log10_relative_variance
    assert v[-1] == -np.inf and np.all(np.diff(v) < 0)
    c = sweep.log10_coordinate_relative_variance
    assert c[-1] == -np.inf and np.all(np.diff(c) < 0)
    em = exact_moments(rnn, X, Y, pis)
    np.testing.assert_allclose(v[:-1], em.log10_relative_variance[:-1], rtol=1e-12)
    # The old call (samples and seed) still works and draws nothing.
    again = randomized_variance_sweep(rnn, X, Y, pis, samples=50, seed=1)
    np.testing.assert_array_equal(again.log10_total_variance, sweep.log10_total_variance)


def test_variance_sweep_stays_within_the_budget():
    """At T = 1000, h = 256 not one π fits: nothing is computed (and the call returns at once); with a
    smaller budget only some π are, spread over the grid."""
    import time

    rnn, X, Y = toy_problem(1000, 256, "identity", 0.9, 0)
    start = time.perf_counter()
    heavy = randomized_variance_sweep(rnn, X, Y, [0.1, 0.5, 1.0])
    assert time.perf_counter() - start < 5.0
    assert not heavy.computed.any() and np.isnan(heavy.log10_total_variance).all() and not heavy.total_computed
    rnn, X, Y = toy_problem(200, 16, "tanh", 0.9, 0)
    pis = np.linspace(0.1, 1.0, 10)
    budget = exact_work(200, 16, 4) + 1.0
    part = randomized_variance_sweep(rnn, X, Y, pis, budget=budget)
    assert part.computed.sum() == 4 and part.computed[0] and part.computed[-1] and not part.total_computed
    full = randomized_variance_sweep(rnn, X, Y, pis)
    assert full.computed.all()
    np.testing.assert_allclose(part.log10_coordinate_relative_variance[part.computed],
                               full.log10_coordinate_relative_variance[part.computed], rtol=1e-12)
    assert np.isnan(part.log10_coordinate_relative_variance[~part.computed]).all()


@pytest.mark.parametrize("T, pi", [(50, 0.2), (100, 0.2), (50, 0.8)])
def test_statistics_carry_the_exact_sigma(T, pi):
    rnn, X, Y = toy_problem(T, 16, "identity", 0.9, 0)
    st = randomized_statistics(rnn, X, Y, pi, samples=1000, seed=0)
    em = exact_moments(rnn, X, Y, pi, coordinate=st.coordinate)
    assert st.exact_available and st.exact_total_available
    assert st.log10_exact_sigma == pytest.approx(em.log10_sigma[0], abs=1e-12)
    assert st.log10_exact_relative_variance == pytest.approx(em.log10_relative_variance[0], abs=1e-12)
    assert st.log10_sigma_ratio == pytest.approx(st.log10_exact_sigma - np.log10(st.sample_sigma), abs=1e-12)
    inside = np.abs(st.coordinate_ratio - 1) <= st.exact_coordinate_band
    assert st.inside_exact_band == pytest.approx(inside.mean())
    assert st.inside_sample_band == pytest.approx((np.abs(st.coordinate_ratio - 1) <= st.coordinate_band).mean())
    np.testing.assert_allclose(st.exact_expected_error,
                               10 ** (0.5 * em.log10_relative_variance[0]) / np.sqrt(st.n), rtol=1e-9)
    if pi == 0.2:   # the issue: the draws' σ misses the truth by many decades, the exact band holds the mean
        assert st.log10_exact_relative_sigma > 10 and st.log10_sigma_ratio > 10
        assert st.inside_sample_band < 0.2 and st.inside_exact_band == 1.0
    else:
        assert abs(st.log10_sigma_ratio) < 0.5 and st.inside_exact_band > 0.9
    none = randomized_statistics(rnn, X, Y, pi, samples=20, seed=0, exact=False)
    assert not none.exact_available and np.isnan(none.log10_exact_sigma) and np.isnan(none.inside_exact_band)


def test_exact_budget():
    assert affordable_exact(50, 16, 20) == affordable_exact(50, 16, 20, 4, 1, EXACT_WORK_BUDGET)
    plan = affordable_exact(50, 16, 20)
    assert plan.coordinate and plan.total and plan.pis == 20
    heavy = affordable_exact(1000, 256, 1)
    assert not heavy.coordinate and not heavy.total and heavy.pis == 0
    assert heavy.work_total > 100 * EXACT_WORK_BUDGET
    mid = affordable_exact(1000, 64, 20)
    assert mid.coordinate and not mid.total
    assert exact_work(10, 4, 3, total=True) > exact_work(10, 4, 3) > exact_work(10, 4, 1)
    with pytest.raises(ValueError, match="pis"):
        affordable_exact(10, 4, 0)
    with pytest.raises(ValueError, match="budget"):
        affordable_exact(10, 4, 1, budget=-1.0)


@pytest.mark.parametrize("kwargs, name", [
    (dict(pis=0.0), "pis"), (dict(pis=1.5), "pis"), (dict(pis="a"), "pis"), (dict(pis=[]), "pis"),
    (dict(pis=[0.5, np.nan]), "pis"), (dict(pis=0.5, coordinate=-1), "coordinate"),
    (dict(pis=0.5, coordinate=10**6), "coordinate"), (dict(pis=0.5, coordinate=1.5), "coordinate"),
    (dict(pis=0.5, total="yes"), "total"), (dict(pis=0.5, loss="l1"), "loss"),
])
def test_exact_moments_bad_arguments_name_the_argument(kwargs, name):
    rnn, X, Y = problem(4)
    with pytest.raises(ValueError, match=name):
        exact_moments(rnn, X, Y, **kwargs)


def test_exact_moments_bad_data_names_it():
    rnn, X, Y = problem(4)
    with pytest.raises(ValueError, match=r"(?<![A-Za-z0-9_])X(?![A-Za-z0-9_])"):
        exact_moments(rnn, X[:, :2], Y, 0.5)
    with pytest.raises(ValueError, match="Y"):
        exact_moments(rnn, X, Y[:, :1], 0.5)
    with pytest.raises(ValueError, match="pi"):
        dL_dh_covariance(rnn, X, Y, 0.0)
    with pytest.raises(ValueError, match="exact"):
        randomized_statistics(rnn, X, Y, 0.5, samples=10, exact="auto")
    with pytest.raises(ValueError, match="total"):
        randomized_variance_sweep(rnn, X, Y, [0.5], total=1)
