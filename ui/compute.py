"""Every view's computations, cached: small adapters from plain, hashable settings to the core.

One model (``ui.controls.Model``: T, h, φ, ρ, the kind of W_hh and what it needs, seed) gives
one RNN and one W_hh, ``bptt_core.lab_problem``, whichever view asks. The adapters are keyed on
``Model.canonical()`` (or on ``Model.matrix_key()`` where only W_hh matters), so two views, or
two settings the matrix ignores, share one cache entry. No adapter draws anything: the views
and ``ui/`` helpers decide what a result means on screen.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np
import streamlit as st

from bptt_core import (BOOK_FIGURE_SEGMENTS, GAMMA, GatedJacobians, gated_forward, gated_like_rnn, gated_log10_dL_dh,
                       lstm_lag_norms_over_forget_bias, lstm_log10_dL_dh_over_forget_bias, STRATEGY_KEYS, alignment_with_top_eigenvector,
                       boundaries_from_xi, bptt, butterfly, chunked_xi_sweep, compare_recursion_and_terms,
                       compare_strategies, eigenvalue_drift, eigenvalues, expanded_dL_dh, factored_step_jacobians,
                       forward, full_boundaries, grid_stride, lab_w_hh, lab_w_hh_over_rho, log10_dL_dh_over_rho,
                       log10_dL_dh_sweep, log10_gradient_norms, log10_jacobian_norms_on_grid, log10_lag_norms,
                       log10_lag_norms_over_rho, log10_norm_bound, log10_power_norms, log10_power_norms_stack,
                       log10_sliding_dL_dh_sweep, product_form_dL_dh, product_form_steps, randomized_boundaries,
                       randomized_xi_sweep, recursion_dL_dh, regular_boundaries, rescaled_power_norms,
                       scalar_checks_over_c, scalar_sequences, scalar_terms, scalar_terms_over_c, schur_affine, second_modulus_ratio,
                       singular_values, singular_values_stack, spectrum, spectrum_over_rho, strategy_from_name,
                       toy_problem, unrolled_gradients, unrolled_gradients_over_w_hh, w_hh_schur, xi_from_segments)
from bptt_core.activations import phi_prime
from bptt_core.logspace import FLOAT64_LOG10_MAX
from bptt_core.text import CACHE_FILE, ENV_VAR, FALLBACK_TEXT, default_cache_dir, load_time_machine, preprocess
from ui.controls import Model

DRAG_BUDGET = 1.0  # s of compute the frames of a drag may take (fewer frames beyond it, said in the caption)
# Seconds of one frame of each grid, per unit of its work, measured on this 2-core machine (the
# builds of bench/scrub.py; the truncation grids at one BLAS thread, as the server runs): a frame's own
# W_hh through T steps forward and back (per T·h²), one pattern ξ in the batched backward pass (per
# T·h², 0.15-0.4e-9 at h = 256 for 20 and for 5 patterns), sliding truncation at every τ (per T·h² and
# lag up to the largest τ: one pass over the lag serves every τ, 0.04-0.07e-9 at h = 128-256), one
# activation's lag curve (per T·h³), the powers of a non-normal W (per K·h³), one SVD (per h³).
FRAME_COST = dict(dL_dh=2.5e-9, xi=0.3e-9, sliding=0.06e-9, lags=1.2e-9, powers=1e-9, svd=1.5e-9,
                  recursion=2e-8)


# A single curve's own budget on a view's first render (the rest of the page takes up to ~0.4 s at
# T = 1000, h = 256), and its cost per point (per h³, measured with bench/first_render.py): a power of
# a W without the closed form k·log10 ρ is a product and its tracked norm, or an eigvalsh where the
# tracked bound fails (every eigenvalue of one modulus, spread 0: no gap at the top; a user's own W
# is assumed the worst); a lag is one product of Jacobians per activation and its norm. Beyond the
# budget a curve stops sooner, and its caption says where and why.
CURVE_BUDGET = 0.45
CURVE_COST = dict(power=1.2e-10, power_no_gap=4e-10, lag=1.6e-10)


def power_cost(spread: float | None) -> float:
    """Seconds per power per h³ of a W without the closed form, for the kind's spread (None: unknown)."""
    return CURVE_COST["power"] if spread else CURVE_COST["power_no_gap"]


def powers_afforded(h: int, spread: float | None = None) -> int:
    """How many powers of an h×h W without a closed form fit ``CURVE_BUDGET``."""
    return max(1, int(CURVE_BUDGET / (power_cost(spread) * h ** 3)))


def frames_afforded(seconds_per_frame: float) -> int:
    """How many frames of ``seconds_per_frame`` each fit the drag's budget."""
    return int(DRAG_BUDGET / max(seconds_per_frame, 1e-12))

# --- the model ---------------------------------------------------------------------------------


@st.cache_resource(max_entries=16, show_spinner=False)
def _problem(model: Model):
    # lab_problem(*model), with the W_hh every view shares (built once per matrix key, whatever T and φ).
    rnn, X, Y = toy_problem(model.T, model.h, model.activation, model.rho, model.seed, W_hh=w_hh(model.matrix_key()))
    for array in (X, Y):
        array.setflags(write=False)  # shared by every session: read-only, like the RNN's weights
    return rnn, X, Y


def problem(model: Model):
    """(rnn, X (T, 4), Y (T, 2)) of the model: the network every view shows."""
    return _problem(model.canonical())


class MatrixFacts(NamedTuple):
    """What the views say about W_hh (h, h): its spectrum and its singular values."""

    designed: np.ndarray   # eigenvalues, largest modulus first: as built (exact), or as computed
    computed: np.ndarray   # as LAPACK finds them on the float64 matrix
    drift: float           # max distance between the two (0 when nothing was designed)
    sv: np.ndarray         # singular values, largest first: sv[0] = σ₁ = ‖W_hh‖₂
    ratio: float           # |λ₂| / |λ₁|
    rho: float             # |λ₁|, the spectral radius


@st.cache_data(max_entries=32, show_spinner=False)
def matrix_facts(key: tuple) -> MatrixFacts:
    """The spectrum and singular values of the model's W_hh; ``key`` is ``Model.matrix_key()``."""
    h, rho, kind, spread, s, seed = key
    W = w_hh(key)
    computed = eigenvalues(W)
    designed = computed if kind == "gaussian" else spectrum(h, rho, kind, spread)
    return MatrixFacts(designed, computed, eigenvalue_drift(designed, computed), singular_values(W),
                       second_modulus_ratio(designed), float(abs(designed[0])))


# A resource: every view and session reads the same read-only matrix (a non-normal one costs a Schur
# basis to build).
@st.cache_resource(max_entries=16, show_spinner=False)
def w_hh(key: tuple) -> np.ndarray:
    """The model's W_hh (h, h), from its ``Model.matrix_key()``: ``lab_problem``'s."""
    W = lab_w_hh(*key)
    W.setflags(write=False)
    return W


def power_factor(key: tuple) -> np.ndarray:
    """A matrix with the same 2-norms of powers as W_hh: its Schur factor U (W = Q U Qᵀ) for a built
    kind, on which products keep the designed eigenvalues exactly; W itself for a Gaussian one."""
    h, rho, kind, spread, s, seed = key
    return w_hh(key) if kind == "gaussian" else w_hh_schur(h, rho, kind, spread, s, seed)[1]


@st.cache_data(max_entries=32, show_spinner=False)
def power_norms(key: tuple, K: int) -> np.ndarray:
    """log10‖W_hh^k‖₂ for k = 0 … K, or for k = 0 … M < K where K products would not fit ``CURVE_BUDGET``."""
    return log10_power_norms(power_factor(key), K, max_products=powers_afforded(key[0], key[3]))


def power_frames(K: int, h: int, kind: str, spread: float) -> int | None:
    """How many frames of ‖W_hh^k‖ (and σ₁) fit the drag's budget: all of them (None) where W(ρ) = ρ·W(1)
    makes every frame a rescaling of one curve, else as many new products and SVDs as the budget affords
    (none when the curve at rest itself stops short of K)."""
    if kind != "nonnormal":
        return None
    if K + 1 > powers_afforded(h, spread):
        return 0
    return frames_afforded(FRAME_COST["powers"] * max(K, 1) * h ** 3 + FRAME_COST["svd"] * h ** 3)


@st.cache_data(max_entries=16, show_spinner="Multiplying Wₕₕ for every ρ…")
def power_norms_over_rho(key: tuple, K: int, rhos: tuple) -> np.ndarray:
    """log10‖W_hh^k‖₂ (F, K+1) for k = 0 … K at every ρ of ``rhos``; ``key`` is ``Model.matrix_key()`` (its ρ
    unused). Where the kind scales with ρ (W(ρ) = ρ·W(1)), ‖W(ρ)^k‖ = ρᵏ‖W(1)^k‖: one curve, rescaled. A
    non-normal W(ρ) = Q (ρ·D + s·N) Qᵀ is not a rescaling: its Schur factors' powers, all frames at once
    (only where ``power_frames`` affords them, so never a curve that stops short of K)."""
    h, _, kind, spread, s, seed = key
    if kind != "nonnormal":
        return rescaled_power_norms(power_norms((h, 1.0, kind, spread, s, seed), K), rhos)
    _, D, S = schur_affine(h, kind, spread, s, seed)
    return log10_power_norms_stack(np.asarray(rhos)[:, None, None] * D + S, K)


@st.cache_data(max_entries=32, show_spinner=False)
def alignment(key: tuple, K: int) -> np.ndarray:
    """Exercise 1: |cos∠(M^k x, v₁)| for k = 0 … K, x drawn from the model's seed."""
    return alignment_with_top_eigenvector(power_factor(key), K, seed=key[-1])


# A user's own W_hh: the same curves computed on the matrix itself.
@st.cache_data(max_entries=16, show_spinner=False)
def eigenvalues_over_rho(key: tuple, rhos: tuple) -> np.ndarray:
    """The eigenvalues (F, h) of the model's W_hh as designed, largest modulus first, at every ρ of ``rhos``;
    ``key`` is ``Model.matrix_key()`` (its ρ unused). Every kind's spectrum scales with ρ (a Gaussian
    W(ρ) = ρ·A: its eigenvalues are computed once)."""
    h, _, kind, spread, s, seed = key
    if kind == "gaussian":
        return np.asarray(rhos)[:, None] * eigenvalues(lab_w_hh_over_rho(h, (1.0,), kind, spread, s, seed)[0])
    return spectrum_over_rho(h, rhos, kind, spread)


@st.cache_data(max_entries=16, show_spinner="Computing singular values for every ρ…")
def singular_values_over_rho(key: tuple, rhos: tuple) -> np.ndarray:
    """The singular values (F, h) of the model's W_hh at every ρ of ``rhos``: where W(ρ) = ρ·W(1) (every kind
    but the non-normal one) σ(ρ) = ρ·σ(1), one SVD; a non-normal W(ρ) = ρ·A + B, one batched SVD."""
    h, _, kind, spread, s, seed = key
    if kind != "nonnormal":
        return np.asarray(rhos)[:, None] * singular_values(lab_w_hh_over_rho(h, (1.0,), kind, spread, s, seed)[0])
    return singular_values_stack(lab_w_hh_over_rho(h, rhos, kind, spread, s, seed))


@st.cache_data(max_entries=8, show_spinner=False)
def own_matrix_facts(W: np.ndarray) -> MatrixFacts:
    computed = eigenvalues(W)
    return MatrixFacts(computed, computed, 0.0, singular_values(W), second_modulus_ratio(computed),
                       float(abs(computed[0])))


@st.cache_data(max_entries=8, show_spinner=False)
def own_power_norms(W: np.ndarray, K: int) -> np.ndarray:
    return log10_power_norms(W, K, max_products=powers_afforded(W.shape[0]))


@st.cache_data(max_entries=8, show_spinner=False)
def own_alignment(W: np.ndarray, K: int, seed: int) -> np.ndarray:
    return alignment_with_top_eigenvector(W, K, seed=seed)


# --- the unrolled network ----------------------------------------------------------------------

@st.cache_data(max_entries=32, show_spinner=False)
def graph_gradients(model: Model):
    """The T = 3 graph's gradient on every edge, for the model's network (its W_hh, 3 steps of its data)."""
    rnn, X, Y = problem(model._replace(T=3))
    return unrolled_gradients(rnn, X, Y)


# A resource: read on every run of the graph's tab (to name its drag's frames) by every session, and a
# cache_data copy (an unpickling of 61 runs' messages) was the largest part of such a run. Read-only.
@st.cache_resource(max_entries=16, show_spinner=False)
def graph_gradients_over_rho(model: Model, rhos: tuple) -> tuple:
    """``graph_gradients`` at every ρ of ``rhos``: one pass with the matrices W_hh(ρ) on an array axis."""
    stack = lab_w_hh_over_rho(model.h, rhos, model.kind, model.spread, model.s, model.seed)
    rnn, X, Y = problem(model._replace(T=3))
    return unrolled_gradients_over_w_hh(rnn, stack, X, Y)


@st.cache_data(max_entries=32, show_spinner="Backpropagating through time…")
def gradient_log_norms(model: Model):
    """(LogNorms of full BPTT, forward overflow step, backward overflow step)."""
    rnn, X, Y = problem(model)
    g = bptt(rnn, X, Y)
    return log10_gradient_norms(rnn, X, Y), g.forward_overflow_step, g.backward_overflow_step


@st.cache_data(max_entries=16, show_spinner="Backpropagating through time for every ρ…")
def gradient_over_rho(model: Model, rhos: tuple) -> tuple[np.ndarray, np.ndarray]:
    """(log10‖∂L/∂h_t‖ (F, T) of full BPTT, whether the run passes float64 (F,)) of the model at every ρ
    of ``rhos``: one pass with the matrices on an array axis (``log10_dL_dh_over_rho``)."""
    rnn, X, Y = problem(model)
    stack = lab_w_hh_over_rho(model.h, rhos, model.kind, model.spread, model.s, model.seed)
    norms, peaks = log10_dL_dh_over_rho(rnn, stack, X, Y)
    return norms, peaks > FLOAT64_LOG10_MAX - 1.0  # as LogNorms.exceeds_float64


@st.cache_data(max_entries=32, show_spinner="Adding up the expanded sum term by term…")
def expansion(model: Model) -> dict:
    """The recursion against the book's expanded sum (identity φ) or the product form (other φ)."""
    rnn, X, Y = problem(model)
    recursion = recursion_dL_dh(rnn, X, Y)
    if model.activation == "identity":
        terms = expanded_dL_dh(rnn, X, Y)
    else:
        terms = product_form_dL_dh(rnn, X, Y, last=product_form_steps(model.T, model.h))
    gap = terms.dL_dh.relative_difference(recursion)
    return dict(recursion=recursion.log10_norms(), sums=terms.dL_dh.log10_norms(), steps=terms.dL_dh.steps,
                first=terms.first, first_terms=terms.first_terms_log10, form=terms.form,
                max_gap=float(gap.max()), compared=int(gap.size))


# --- products of Jacobians ---------------------------------------------------------------------

# The heatmap's grid: its n²/2 products and norms of h×h matrices cost about n²h³/2 multiply-adds, this many
# at most (about half a second here); the products of the steps between grid points cost the rest.
HEATMAP_WORK = 3e9


def heatmap_steps(steps: int, h: int) -> int:
    """How many of the first ``steps`` steps the heatmap covers: all, but at large T·h³, where multiplying
    their Jacobians alone would take more than half of ``CURVE_BUDGET``."""
    return max(1, min(steps, int(0.5 * CURVE_BUDGET / (CURVE_COST["lag"] * h ** 3))))


def lag_reach(model: Model, activations) -> int:
    """The longest lag K ≤ T whose curves for every activation of ``activations`` fit ``CURVE_BUDGET``: T but
    at large T·h³. The identity's lags are W_hh's powers, free where their norms are ρᵏ (a normal W_hh)."""
    free = model.kind in ("symmetric", "normal") or model.s == 0.0
    per_lag = sum(CURVE_COST["lag"] if act != "identity" else 0.0 if free else power_cost(model.spread)
                  for act in activations) * model.h ** 3
    return model.T if per_lag == 0.0 else max(1, min(model.T, int(CURVE_BUDGET / per_lag)))


@st.cache_data(max_entries=32, show_spinner=False)
def lag_curve(model: Model, K: int):
    """(log10‖∂h_T/∂h_{T−k}‖ for k = 0 … K ≤ T, the bound k·log10(σ₁γ), σ₁, forward overflow step)."""
    rnn, X, _ = problem(model)
    trace = forward(rnn, X)
    if model.activation == "identity":
        # φ' = 1: every step Jacobian is W_hh, so the product of the last k is W_hh^k, whose norms the
        # Eigenvalues view has (on the Schur factor, shared cache): for a normal W_hh they cost nothing.
        # Within lag_reach every k up to K fits the powers' budget too.
        lags = power_norms(model.matrix_key(), K)
    else:
        # The step Jacobians diag(φ'(a_t)) W_hh, kept as their factors: no (T, h, h) array of 524 MB.
        lags = log10_lag_norms(factored_step_jacobians(rnn, trace), K)
    sigma1 = float(singular_values(rnn.W_hh)[0])
    bound = log10_norm_bound(sigma1, GAMMA[model.activation], np.arange(K + 1))
    return lags, bound, sigma1, trace.overflow_step


def lag_frames(T: int, h: int, activations: int) -> int:
    """How many frames of the lag curves (``activations`` of them per frame) fit the drag's budget."""
    return frames_afforded(FRAME_COST["lags"] * activations * T * h ** 3 + FRAME_COST["svd"] * h ** 3)


def dL_dh_frames(T: int, h: int) -> int:
    """How many frames of ‖∂L/∂h_t‖ over ρ (a forward and backward pass each) fit the drag's budget."""
    return frames_afforded(FRAME_COST["dL_dh"] * T * h ** 2)


def singular_frames(h: int, kind: str) -> int | None:
    """How many frames of the singular values over ρ fit the budget: all (None) where W(ρ) = ρ·W(1)."""
    return None if kind != "nonnormal" else frames_afforded(FRAME_COST["svd"] * h ** 3)


def truncation_cost(T: int, h: int, taus) -> float:
    """Seconds the per-step grid over ``taus`` takes: a pattern ξ each (regular), and one pass over the lag up
    to the largest (sliding, every τ at once: ``log10_sliding_dL_dh_sweep``)."""
    reach = {min(t, T) for t in taus}
    return (FRAME_COST["xi"] * len(reach) + FRAME_COST["sliding"] * max(reach, default=0)) * T * h ** 2


@st.cache_data(max_entries=16, show_spinner="Multiplying Jacobians for every ρ…")
def lag_curves_over_rho(model: Model, rhos: tuple) -> tuple[np.ndarray, np.ndarray]:
    """(log10‖∂h_T/∂h_{T−k}‖₂ (F, T+1) of the model at every ρ of ``rhos``, σ₁ = ‖W_hh‖₂ (F,)): one pass with
    the matrices on an array axis (``log10_lag_norms_over_rho``); the model's own φ."""
    rnn, X, _ = problem(model)
    stack = lab_w_hh_over_rho(model.h, rhos, model.kind, model.spread, model.s, model.seed)
    return log10_lag_norms_over_rho(rnn, stack, X), singular_values_stack(stack)[:, 0]


@st.cache_data(max_entries=32, show_spinner=False)
def finite_dphi(model: Model):
    """(φ'(a_t) (steps, h), steps, forward overflow step): the steps whose φ'(a_t) is meaningful —
    all of them unless the forward pass overflowed and φ' depends on a_t (relu; tanh and sigmoid
    cannot overflow, the identity's φ' is 1 everywhere)."""
    rnn, X, _ = problem(model)
    trace = forward(rnn, X)
    identity = model.activation == "identity"
    steps = model.T if trace.overflow_step is None or identity else trace.overflow_step - 1
    dphi = (phi_prime(model.activation, trace.A[:steps], trace.H[1:steps + 1]) if steps > 0
            else np.zeros((0, model.h)))
    return dphi, steps, trace.overflow_step


@st.cache_data(max_entries=32, show_spinner=False)
def jacobian_heatmap(model: Model, steps: int, max_cells: int):
    """(log10‖∂h_t/∂h_s‖₂ on a grid, the grid's steps, its stride) over the first ``steps`` steps."""
    rnn, X, _ = problem(model)
    J = factored_step_jacobians(rnn, forward(rnn, X))[:steps]
    stride = grid_stride(steps, model.h, max_cells=max_cells, max_work=HEATMAP_WORK)
    return log10_jacobian_norms_on_grid(J, stride), np.arange(0, steps + 1, stride), stride


# --- gates against vanishing -------------------------------------------------------------------

@st.cache_resource(max_entries=16, show_spinner=False)  # read-only networks, shared: their rotations cost QRs
def gated_cells(model: Model, b_f: float, b_z: float) -> dict:
    """The GRU and the LSTM beside the model's RNN (``gated_like_rnn``: its matrices, each σ gate's rotated)."""
    rnn, _, _ = problem(model)
    return {"GRU": gated_like_rnn("gru", rnn, {"b_z": b_z}, seed=model.seed),
            "LSTM": gated_like_rnn("lstm", rnn, {"b_f": b_f}, seed=model.seed)}


@st.cache_data(max_entries=32, show_spinner="Backpropagating through the three cells…")
def cells_gradients(model: Model, b_f: float, b_z: float) -> dict:
    """{"RNN"|"GRU"|"LSTM": log10‖∂L/∂h_t‖ (T,)} under full BPTT, in log space, on the model's X and Y."""
    rnn, X, Y = problem(model)
    out = {"RNN": log10_gradient_norms(rnn, X, Y).log10_dL_dh}
    for name, net in gated_cells(model, b_f, b_z).items():
        out[name] = gated_log10_dL_dh(net, X, Y)
    return out


@st.cache_data(max_entries=32, show_spinner=False)
def cells_gates(model: Model, b_f: float, b_z: float) -> dict:
    """{"F": F_t (T, h) of the LSTM, "Z": Z_t (T, h) of the GRU} on the model's inputs."""
    _, X, _ = problem(model)
    nets = gated_cells(model, b_f, b_z)
    return {"F": np.asarray(gated_forward(nets["LSTM"], X).gates["f"]),
            "Z": np.asarray(gated_forward(nets["GRU"], X).gates["z"])}


def cells_lag_reach(model: Model) -> int:
    """The longest lag the three cells' lag curves reach within ``CURVE_BUDGET``: per lag one h×h product for
    the RNN, two for the GRU (its Jacobian holds W_hhᵀ times W_hrᵀ), one 2h×2h (8 h×h) for the LSTM."""
    return max(1, min(model.T, int(CURVE_BUDGET / (11 * CURVE_COST["lag"] * model.h ** 3))))


@st.cache_data(max_entries=32, show_spinner="Multiplying the three cells' Jacobians…")
def cells_lags(model: Model, b_f: float, b_z: float, K: int) -> dict:
    """{"RNN"|"GRU"|"LSTM": log10‖∂S_T/∂S_{T−k}‖ (K+1,)}, S the state (the LSTM's (H, C)); no "RNN" when its
    forward pass left float64 with a φ whose Jacobians depend on hₜ (the identity's are W_hh whatever hₜ is)."""
    rnn, X, _ = problem(model)
    out = {}
    if model.activation == "identity" or forward(rnn, X).overflow_step is None:
        out["RNN"] = lag_curve(model, K)[0]          # the Jacobians view's curve, from its cache
    for name, net in gated_cells(model, b_f, b_z).items():
        out[name] = log10_lag_norms(GatedJacobians(net, gated_forward(net, X)), K)
    return out


def forget_bias_frames(model: Model, K: int) -> tuple[int, int]:
    """How many values of b_f fit the drag's budget: (over time, each a forward and backward pass of the
    LSTM, 8h² per step; against the lag, K products of 2h×2h Jacobians each)."""
    return (frames_afforded(4 * FRAME_COST["dL_dh"] * model.T * model.h ** 2),
            frames_afforded(8 * FRAME_COST["lags"] * K * model.h ** 3))


@st.cache_data(max_entries=16, show_spinner="Backpropagating through the LSTM for every b_f…")
def forget_bias_over_time(model: Model, b_z: float, b_fs: tuple) -> np.ndarray:
    """log10‖∂L/∂h_t‖ (F, T) of the LSTM at every b_f of ``b_fs``, in one pass with b_f on the batch axis."""
    _, X, Y = problem(model)
    return lstm_log10_dL_dh_over_forget_bias(gated_cells(model, 0.0, b_z)["LSTM"], X, Y, b_fs)


@st.cache_data(max_entries=16, show_spinner="Multiplying the LSTM's Jacobians for every b_f…")
def forget_bias_lags(model: Model, b_z: float, b_fs: tuple, K: int) -> np.ndarray:
    """log10‖∂S_T/∂S_{T−k}‖ (F, K+1) of the LSTM at every b_f of ``b_fs``, b_f on an array axis."""
    _, X, _ = problem(model)
    return lstm_lag_norms_over_forget_bias(gated_cells(model, 0.0, b_z)["LSTM"], X, b_fs, K)


# --- truncation strategies ---------------------------------------------------------------------

@st.cache_data(max_entries=4, show_spinner=False)
def time_machine(env_value: str, cache_home: str, stamp: int) -> tuple[str, bool, str, str]:
    """(preprocessed text, is it the book, where it came from, problem); the arguments are the cache key
    only (the environment variable, the cache folder the loader reads, and its copy's modification time,
    so a download or an uploaded copy is read at once). No sentence names a file on the server."""
    try:
        loaded = load_time_machine()
    except ValueError:
        return (preprocess(FALLBACK_TEXT), False, "",
                f"The file that {ENV_VAR} names is not the book's text (its SHA-1 differs).")
    except OSError as exc:
        return (preprocess(FALLBACK_TEXT), False, "",
                f"The file that {ENV_VAR} names could not be read ({_plain_os_error(exc)}).")
    return preprocess(loaded.text), loaded.is_book, loaded.detail, ""


def _plain_os_error(exc: OSError) -> str:
    """An OSError in words, without the file name its message carries."""
    for kind, words in ((FileNotFoundError, "there is no such file"), (PermissionError, "permission denied"),
                        (IsADirectoryError, "it is a folder")):
        if isinstance(exc, kind):
            return words
    return type(exc).__name__


def cached_copy_stamp() -> int:
    """The modification time (ns) of the server's cached copy of the book, 0 when there is none."""
    try:
        return (default_cache_dir() / CACHE_FILE).stat().st_mtime_ns
    except OSError:
        return 0


def book_text() -> tuple[str, bool, str, str]:
    """The Time Machine as this server finds it (``time_machine`` for the current environment)."""
    return time_machine(os.environ.get(ENV_VAR, ""), os.environ.get("XDG_CACHE_HOME", ""), cached_copy_stamp())


@st.cache_data(max_entries=32, show_spinner=False)
def figure_rows(n: int, tau: int, pi: float, seed: int, book: bool) -> dict:
    """The book's figure's three rows of segment boundaries over n characters."""
    randomized = (boundaries_from_xi(xi_from_segments(BOOK_FIGURE_SEGMENTS)) if book
                  else randomized_boundaries(n, pi, seed))
    return {"randomized": randomized, "chunked": regular_boundaries(n, tau), "full": full_boundaries(n)}


@st.cache_data(max_entries=16, show_spinner=False)
def figure_rows_over(n: int, taus: tuple, pis: tuple, seed: int) -> tuple[list, list]:
    """The regular row of the book's figure for every τ of ``taus``, and the randomized row for every π of
    ``pis`` (the draws of ``randomized_boundaries(n, π, seed)``: one set of uniforms, ξ for every π on an
    array axis); each row is a ragged list of at most n cuts."""
    return ([boundaries_from_xi(xi) for xi in chunked_xi_sweep(n, taus)],
            [boundaries_from_xi(xi) for xi in randomized_xi_sweep(n, pis, seed)] if pis else [])


@st.cache_data(max_entries=32, show_spinner="Computing the four gradients…")
def strategy_comparison(model: Model, tau: int, pi: float):
    """The four strategies' gradients against the exact one (``compare_strategies``)."""
    rnn, X, Y = problem(model)
    return compare_strategies(rnn, X, Y, {key: strategy_from_name(key, tau, pi, model.seed) for key in STRATEGY_KEYS})


@st.cache_data(max_entries=16, show_spinner="Computing every frame…")
def strategy_sweeps(model: Model, taus: tuple, pis: tuple) -> dict:
    """log10‖∂L/∂h_t‖ of full BPTT, of regular truncation for every τ, and of randomized truncation for
    every π (the draws of Randomized(π, seed)), in one backward pass with the patterns on an array axis."""
    rnn, X, Y = problem(model)
    tau_xi, pi_xi = chunked_xi_sweep(model.T, taus), randomized_xi_sweep(model.T, pis, model.seed)
    V = log10_dL_dh_sweep(rnn, X, Y, np.vstack([np.ones((1, model.T)), tau_xi, pi_xi]))
    n = len(taus)
    return {"full": V[0], "tau": (tau_xi, V[1:1 + n]), "pi": (pi_xi, V[1 + n:])}


@st.cache_data(max_entries=16, show_spinner="Computing every frame…")
def per_step_over_tau(model: Model, taus: tuple) -> tuple[np.ndarray, np.ndarray]:
    """log10‖∂L/∂h_t‖ (F, T) of regular and of sliding truncation for every τ of ``taus``: regular as one
    backward pass with the patterns ξ on an array axis, sliding by one pass over the lag up to the largest τ."""
    rnn, X, Y = problem(model)
    chunked = log10_dL_dh_sweep(rnn, X, Y, chunked_xi_sweep(model.T, taus))
    return chunked, log10_sliding_dL_dh_sweep(rnn, X, Y, taus)


@st.cache_data(max_entries=16, show_spinner="Computing every frame…")
def per_step_over_pi(model: Model, pis: tuple) -> np.ndarray:
    """log10‖∂L/∂h_t‖ (F, T) of randomized truncation, the draw of Randomized(π, seed), for every π of ``pis``."""
    rnn, X, Y = problem(model)
    return log10_dL_dh_sweep(rnn, X, Y, randomized_xi_sweep(model.T, pis, model.seed))


# --- the scalar model --------------------------------------------------------------------------

@st.cache_data(max_entries=32, show_spinner=False)
def scalar_run(T: int, c: float, c_noise: float, seed: int):
    """(the terms (Π c_j) b_i of a_T, the drawn mean log10|c_t| over t = 2 … T: the rate at which the terms
    of a_T change per step, in orders of magnitude)."""
    b, c_t = scalar_sequences(T, c, c_noise, seed)
    with np.errstate(divide="ignore"):
        drawn = float(np.mean(np.log10(np.abs(c_t[1:])))) if T > 1 else 0.0
    return scalar_terms(b, c_t), drawn


@st.cache_data(max_entries=16, show_spinner=False)
def scalar_over_c(T: int, cs: tuple, c_noise: float, seed: int):
    """The terms of a_T for every mean c of ``cs`` (``scalar_terms_over_c``: (F, T) arrays)."""
    return scalar_terms_over_c(T, cs, c_noise, seed)


def recursion_frames(T: int) -> int:
    """How many frames of the recursion against the sum of its terms (O(T²) each) fit the drag's budget."""
    return frames_afforded(FRAME_COST["recursion"] * T * T)


# A resource, like the graph's grid: the recursion tab reads it on every run to name its drag's frames.
@st.cache_resource(max_entries=16, show_spinner="Adding up the terms for every c…")
def scalar_checks_over(T: int, cs: tuple, c_noise: float, seed: int):
    """The recursion and the sum of its terms at every t, for every mean c of ``cs`` (``scalar_checks_over_c``)."""
    return scalar_checks_over_c(T, cs, c_noise, seed)


@st.cache_data(max_entries=32, show_spinner=False)
def scalar_check(T: int, c: float, c_noise: float, seed: int):
    """(the recursion against the sum of its terms at every t, their largest gap)."""
    check = compare_recursion_and_terms(*scalar_sequences(T, c, c_noise, seed))
    return check, float(check.gap.max())


@st.cache_data(max_entries=32, show_spinner=False)
def butterfly_run(model: Model, log_eps: int):
    """(log10 distance between two runs whose h_0 differ by 10^log_eps, forward overflow step)."""
    rnn, X, _ = problem(model)
    return butterfly(rnn, X, eps=10.0 ** log_eps, seed=model.seed), forward(rnn, X).overflow_step
