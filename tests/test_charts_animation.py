"""Tests of charts.animation: frames decoded from the figure's JSON — how many, their names, no inf or
NaN, axis ranges that hold every frame (so nothing jumps), play/pause and a slider that only animate."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bptt_core import (chunked_xi_sweep, log10_dL_dh_sweep, log10_power_norms_scaled, randomized_xi_sweep,
                       spectrum, toy_problem, w_hh_schur)
from charts.animation import MAX_FRAMES, MAX_POINTS, k_grid, rho_animation, sweep_animation
from tests.page_charts import decode_typed_array
from tests.test_charts_unrolled import assert_clean

RHOS = np.linspace(0.5, 1.5, 21)


def decoded(fig) -> dict:
    """The figure as the browser receives it (typed arrays decoded by plotly's own JSON)."""
    spec = json.loads(fig.to_json())
    for item in [*spec["data"], *(t for f in spec["frames"] for t in f["data"])]:
        for axis in ("x", "y"):
            v = item.get(axis)
            if isinstance(v, dict) and "bdata" in v:
                item[axis] = decode_typed_array(v).tolist()
    return spec


def assert_animated(fig, labels):
    assert_clean(fig)
    spec = decoded(fig)
    assert [f["name"] for f in spec["frames"]] == labels
    for frame in spec["frames"]:
        for trace in frame["data"]:
            values = np.asarray(trace["x"] + trace["y"], dtype=float)
            assert np.isfinite(values).all(), frame["name"]
    (menu,) = spec["layout"]["updatemenus"]
    assert [b["method"] for b in menu["buttons"]] == ["animate", "animate"]
    assert menu["buttons"][0]["args"][0] is None  # play: every frame, from the current one
    (slider,) = spec["layout"]["sliders"]
    assert [s["args"][0] for s in slider["steps"]] == [[lb] for lb in labels]
    assert all(s["method"] == "animate" for s in slider["steps"])
    return spec


def within(values, rng) -> bool:
    values = np.asarray(values, dtype=float)
    return values.size == 0 or (rng[0] <= values.min() and values.max() <= rng[1])


@pytest.mark.parametrize("kind, s", [("symmetric", 0.0), ("normal", 0.0), ("nonnormal", 4.0)])
@pytest.mark.parametrize("K", [1, 100, 2000])
def test_rho_animation_frames(kind, s, K):
    rho = 0.9
    _, U = w_hh_schur(12, rho, kind, 0.5, s, seed=1)
    L = log10_power_norms_scaled(U, K, RHOS / rho)
    fig = rho_animation(spectrum(12, rho, kind, 0.5), rho, RHOS, L)
    spec = assert_animated(fig, [f"{r:.2f}" for r in RHOS])
    lay = spec["layout"]
    plane_x, plane_y = lay["xaxis"]["range"], lay["yaxis"]["range"]
    k_range, norm_range = lay["xaxis2"]["range"], lay["yaxis2"]["range"]
    for frame in spec["frames"]:
        circle, eig, line, curve = frame["data"]
        for trace in (circle, eig):
            assert within(trace["x"], plane_x) and within(trace["y"], plane_y)
        for trace in (line, curve):
            assert within(trace["x"], k_range) and within(trace["y"], norm_range)
        assert len(curve["x"]) <= MAX_POINTS
    # The last frame is W_hh scaled to ρ = 1.5: its largest eigenvalue has modulus 1.5.
    last = spec["frames"][-1]["data"][1]
    assert max(math.hypot(x, y) for x, y in zip(last["x"], last["y"])) == pytest.approx(1.5)
    assert spec["frames"][-1]["data"][2]["y"][-1] == pytest.approx(K * math.log10(1.5))


def test_k_grid_keeps_every_small_power_and_the_last():
    assert k_grid(50).tolist() == list(range(51))
    g = k_grid(2000)
    assert g.size <= MAX_POINTS and g[0] == 0 and g[-1] == 2000 and set(range(101)) <= set(g.tolist())


def test_rho_animation_leaves_out_exact_zeros():
    N = np.array([[0.0, 1.0], [0.0, 0.0]])  # nilpotent: ‖N^k‖ = 0 from k = 2, log10 = −inf
    fig = rho_animation(np.zeros(2), 1.0, RHOS, log10_power_norms_scaled(N, 5, RHOS))
    spec = assert_animated(fig, [f"{r:.2f}" for r in RHOS])
    assert all(len(f["data"][3]["x"]) == 2 for f in spec["frames"])


@pytest.mark.parametrize("activation, rho", [("tanh", 0.9), ("identity", 3.0)])
def test_sweep_animations(activation, rho):
    T = 60
    rnn, X, Y = toy_problem(T, 8, activation, rho, seed=2)
    full = log10_dL_dh_sweep(rnn, X, Y, np.ones((1, T)))[0]
    taus = np.arange(1, 21)
    pis = np.round(np.linspace(0.05, 1.0, 20), 2)
    for key, symbol, values, xi in (("chunked", "τ", taus, chunked_xi_sweep(T, taus)),
                                    ("randomized", "π", pis, randomized_xi_sweep(T, pis, 3))):
        V = log10_dL_dh_sweep(rnn, X, Y, xi)
        fig = sweep_animation(full, V, xi, values, key=key, symbol=symbol)
        spec = assert_animated(fig, [f"{v:g}" for v in values])
        t_range, y_range = spec["layout"]["xaxis"]["range"], spec["layout"]["yaxis"]["range"]
        assert within(spec["data"][0]["y"], y_range)
        for f, frame in enumerate(spec["frames"]):
            curve, cuts = frame["data"]
            assert within(curve["x"], t_range) and within(curve["y"], y_range) and within(cuts["y"], y_range)
            assert len(cuts["x"]) == int((xi[f, 1:] == 0).sum())
        assert spec["layout"]["sliders"][0]["currentvalue"]["prefix"] == f"{symbol} = "
    # π = 1 never cuts.
    assert len(spec["frames"][-1]["data"][1]["x"]) == 0


def test_frames_are_capped():
    with pytest.raises(ValueError, match="rhos"):
        rho_animation(np.ones(1), 1.0, np.linspace(0.5, 1.5, MAX_FRAMES + 1), np.zeros((MAX_FRAMES + 1, 3)))
    with pytest.raises(ValueError, match="log10_frames"):
        sweep_animation(np.zeros(5), np.zeros((2, 4)), np.ones((2, 4)), [1, 2], key="chunked", symbol="τ")
