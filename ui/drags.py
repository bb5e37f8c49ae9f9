"""Every view's drags: the chart a parameter redraws in the browser, at every value it can take.

One builder per dragged chart, from the cached grids of ``ui.compute`` (the parameter on an array axis)
and the chart's own function, so a frame is the chart the view would draw at that value. A builder
returns the drags and what the caption adds about them: where a grid would cost more than
``compute.DRAG_BUDGET`` (large T·h³ or K·h³), fewer values of the parameter, or none, said in words.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from bptt_core import GAMMA, log10_norm_bound
from charts.eigenvalues import eigen_plane, moduli_and_singular_values, power_norms_figure
from charts.gates import cells_lag_figure, cells_over_time_figure
from charts.jacobians import lag_norms_figure
from charts.scalar import recursion_vs_terms, scalar_term_bars
from charts.truncation import gradient_norms_figure
from charts.unrolled import gradient_norms_over_time, unrolled_graph
from ui.compute import (DRAG_BUDGET, FRAME_COST, dL_dh_frames, eigenvalues_over_rho, forget_bias_frames, forget_bias_lags,
                        forget_bias_over_time, gradient_over_rho, graph_gradients_over_rho,
                        lag_curves_over_rho, lag_frames, per_step_over_pi, per_step_over_tau, power_frames,
                        power_norms_over_rho, recursion_frames, scalar_checks_over, scalar_over_c, singular_frames,
                        singular_values_over_rho, truncation_cost)
from ui.controls import Model
from ui.drag import DRAG_NOTE, MIN_FRAMES, Drag, control_values, lazily

MIN_AFFORDED = 5  # fewer values of ρ than the budget affords this are no drag


def _fewer(values: tuple, symbol: str) -> str:
    return "" if len(values) >= MIN_FRAMES else (
        f" At this size the drag shows {len(values)} values of {symbol} across its range, not every step of the slider.")


def _too_costly(what: str) -> str:
    return f" {what}, too many to draw every ρ ahead: move the sidebar's ρ instead."


# --- the unrolled network ----------------------------------------------------------------------

def graph_drag(model: Model) -> tuple[Drag, ...]:
    """ρ on the T = 3 graph: each arrow's number, width and colour at every ρ."""
    rhos = control_values("rho")
    rest = model._replace(rho=0.0, T=3).canonical()  # the graph is T = 3 whatever the sidebar's T: one grid for all
    at = lazily(lambda: dict(zip(rhos, graph_gradients_over_rho(rest, rhos))))
    return (Drag("rho", "ρ", rest, lambda rho: unrolled_graph(at()[rho], activation=model.activation), rhos),)


def over_time_chart(norms, model: Model, past_float64: bool):
    """‖∂L/∂h_t‖ over t at one model (the view's chart, and each frame of its drag over ρ)."""
    return gradient_norms_over_time(norms, rho=model.rho if model.activation == "identity" else None,
                                    past_float64=past_float64)


def over_time_drag(model: Model) -> tuple[tuple[Drag, ...], dict, str]:
    """ρ on ‖∂L/∂h_t‖ over t, every frame from one pass with the matrices on an array axis (as many ρ as the
    budget affords); each ρ's (curve, whether the run passes float64), so that the chart at rest says what
    its frame says; and what the caption adds."""
    rhos = control_values("rho", max_frames=dL_dh_frames(model.T, model.h))
    rest = model._replace(rho=0.0).canonical()
    stack, past = gradient_over_rho(rest, rhos)
    rows = {rho: (stack[f], bool(past[f])) for f, rho in enumerate(rhos)}
    drag = Drag("rho", "ρ", rest, lambda rho: over_time_chart(rows[rho][0], model._replace(rho=rho), rows[rho][1]),
                rhos)
    return (drag,), rows, DRAG_NOTE + _fewer(rhos, "ρ")


# --- eigenvalues of W_hh -----------------------------------------------------------------------

def plane_chart(designed, sv, rho, computed=None):
    return eigen_plane(designed, rho=rho, computed=computed)


def singular_chart(designed, sv, rho):
    return moduli_and_singular_values(designed, sv)


def matrix_drag(model: Model, chart) -> tuple[tuple[Drag, ...], str]:
    """ρ on a chart of the model's W_hh, ``chart(eigenvalues, singular values, ρ)``: a scaled spectrum, and
    singular values scaled too, or (non-normal) from as many SVDs as the budget affords."""
    frames = singular_frames(model.h, model.kind)
    if frames is not None and frames < MIN_AFFORDED:
        return (), _too_costly(f"At h = {model.h} a non-normal Wₕₕ needs an SVD for every ρ")
    rhos = control_values("rho", max_frames=frames)
    key = model._replace(rho=0.0).matrix_key()
    grid = lazily(lambda: (eigenvalues_over_rho(key, rhos), singular_values_over_rho(key, rhos)))
    at = {rho: f for f, rho in enumerate(rhos)}
    drag = Drag("rho", "ρ", (chart.__name__,) + key, lambda rho: chart(grid()[0][at[rho]], grid()[1][at[rho]], rho), rhos)
    return (drag,), DRAG_NOTE + _fewer(rhos, "ρ")


def powers_drag(model: Model, K: int) -> tuple[tuple[Drag, ...], str]:
    """ρ on log10‖W_hh^k‖: a rescaling of one curve, or (non-normal) as many new products as the budget affords."""
    frames = power_frames(K, model.h, model.kind, model.spread)
    if frames is not None and frames < MIN_AFFORDED:
        return (), _too_costly(f"At h = {model.h} and K = {K} a non-normal Wₕₕ needs K·h³ multiply-adds for every ρ")
    rhos = control_values("rho", max_frames=frames)
    key = model._replace(rho=0.0).matrix_key()
    grid = lazily(lambda: (power_norms_over_rho(key, K, rhos), singular_values_over_rho(key, rhos)))
    at = {rho: f for f, rho in enumerate(rhos)}
    drag = Drag("rho", "ρ", (K,) + key,
                lambda rho: power_norms_figure(grid()[0][at[rho]], rho=rho, sigma_max=float(grid()[1][at[rho], 0])), rhos)
    return (drag,), DRAG_NOTE + _fewer(rhos, "ρ")


# --- gates against vanishing -------------------------------------------------------------------

def forget_bias_drag(model: Model, b_z: float, K: int, chart: str, fixed: dict) -> tuple[tuple[Drag, ...], str]:
    """b_f on one of the three cells' charts, ``chart`` "lags" (k = 0 … K) or "over_time": only the LSTM's curve
    moves (the RNN's and the GRU's, ``fixed``, do not depend on b_f), every frame from one pass with b_f on
    an array axis, as many b_f as the budget affords (none when not even a few); and what the caption adds."""
    frames = forget_bias_frames(model, K)[chart == "lags"]
    if frames < MIN_AFFORDED:
        return (), f" At T = {model.T} and h = {model.h} every b_f costs too much to draw ahead: move the b_f slider instead."
    rest = model.canonical()
    b_fs = control_values("b_f", max_frames=frames)
    grid = lazily(lambda: forget_bias_lags(rest, b_z, b_fs, K) if chart == "lags" else forget_bias_over_time(rest, b_z, b_fs))
    figure = cells_lag_figure if chart == "lags" else cells_over_time_figure
    at = {b: f for f, b in enumerate(b_fs)}
    drag = Drag("b_f", "b_f", (chart, b_z, K) + rest, lambda b: figure({**fixed, "LSTM": grid()[at[b]]}), b_fs)
    return (drag,), DRAG_NOTE + " Only the LSTM's curve depends on b_f." + _fewer(b_fs, "b_f")


# --- products of Jacobians ---------------------------------------------------------------------

def lags_chart(lags: dict, sigma1: float):
    """The lag curves of each activation and their bounds (σ₁γ)ᵏ (the chart, and each frame of its drag)."""
    T = next(iter(lags.values())).size - 1
    bounds = {act: log10_norm_bound(sigma1, GAMMA[act], np.arange(T + 1)) for act in lags}
    return lag_norms_figure(lags, bounds=bounds, gammas={act: GAMMA[act] for act in lags}, sigma_max=sigma1)


def lags_drag(model: Model, activations: tuple) -> tuple[tuple[Drag, ...], str]:
    """ρ on the lag curves, as many values as the budget affords (none when not even a few)."""
    frames = lag_frames(model.T, model.h, len(activations))
    if frames < MIN_AFFORDED:
        return (), _too_costly(f"At T = {model.T} and h = {model.h} each ρ costs about {model.T}·{model.h}³ "
                               "multiply-adds per activation")
    rhos = control_values("rho", max_frames=frames)
    rest = model._replace(rho=0.0).canonical()
    grids = lazily(lambda: {act: lag_curves_over_rho(rest._replace(activation=act), rhos) for act in activations})
    at = {rho: f for f, rho in enumerate(rhos)}
    drag = Drag("rho", "ρ", (activations,) + rest, lambda rho: lags_chart({a: g[0][at[rho]] for a, g in grids().items()},
                                                         float(grids()[activations[0]][1][at[rho]])), rhos)
    return (drag,), DRAG_NOTE + _fewer(rhos, "ρ")


# --- truncation strategies ---------------------------------------------------------------------

def per_step_drags(model: Model, tau: int, pi: float, cmp) -> tuple[tuple[Drag, ...], str]:
    """τ and π on the per-step chart: τ redraws regular and sliding truncation, π the randomized draw, the
    other rows staying as drawn; each from one computation over the slider's values (every τ ≥ T is the
    same picture, built once)."""
    T = model.T
    taus, pis = control_values("tau"), control_values("pi")
    pi_cost = FRAME_COST["xi"] * T * model.h ** 2 * len(pis)
    while truncation_cost(T, model.h, {min(t, T) for t in taus}) + pi_cost > DRAG_BUDGET and len(taus) > MIN_AFFORDED:
        taus = control_values("tau", max_frames=len(taus) * 2 // 3)
    cut = tuple(sorted({min(t, T) for t in taus}))
    over_tau = lazily(lambda: dict(zip(("chunked", "sliding"), per_step_over_tau(model, cut))))
    over_pi = lazily(lambda: {"randomized": per_step_over_pi(model, pis)})
    rows = {key: i for i, key in enumerate(cmp.keys)}

    def drag(key: str, values, frame_of, grid, other):
        @lru_cache(maxsize=None)
        def build(frame: int):
            V = cmp.log10_dL_dh.copy()
            for strategy, stack in grid().items():
                V[rows[strategy]] = stack[frame]
            return gradient_norms_figure(V, cmp.keys, log_space=cmp.log_space)
        return Drag(key, {"tau": "τ", "pi": "π"}[key], (model, key, other), lambda v: build(frame_of(v)), values)
    return ((drag("tau", taus, lambda t: cut.index(min(t, T)), over_tau, pi), drag("pi", pis, pis.index, over_pi, tau)),
            DRAG_NOTE + _fewer(tuple(t for t in taus if t <= T), "τ up to T"))


# --- the scalar model --------------------------------------------------------------------------

def c_drag(T: int, c_noise: float, seed: int) -> tuple[Drag, ...]:
    """c on the terms of a_T: every frame from one suffix sum with c on an array axis."""
    cs = control_values("c")
    terms = lazily(lambda: scalar_over_c(T, cs, c_noise, seed))
    at = {c: f for f, c in enumerate(cs)}
    return (Drag("c", "c", (T, c_noise, seed),
                 lambda c: scalar_term_bars(terms().log10_abs[at[c]], terms().sign[at[c]], t=T), cs),)


def recursion_drag(T: int, c_noise: float, seed: int) -> tuple[tuple[Drag, ...], str]:
    """c on the recursion against the sum of its terms (a_t at every t): every frame from one pass with c on
    an array axis, as many c as the budget affords (the sums cost T² each)."""
    cs = control_values("c", max_frames=recursion_frames(T))
    checks = lazily(lambda: scalar_checks_over(T, cs, c_noise, seed))
    at = {c: f for f, c in enumerate(cs)}
    return ((Drag("c", "c", (T, c_noise, seed), lambda c: recursion_vs_terms(checks()[at[c]]), cs),),
            DRAG_NOTE + _fewer(cs, "c"))
