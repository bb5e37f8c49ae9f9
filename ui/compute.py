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

from bptt_core import (BOOK_FIGURE_SEGMENTS, GAMMA, STRATEGY_KEYS, alignment_with_top_eigenvector, bptt,
                       boundaries_from_xi, butterfly, chunked_xi_sweep, compare_recursion_and_terms,
                       compare_strategies, eigenvalue_drift, eigenvalues, expanded_dL_dh, factored_step_jacobians,
                       forward, full_boundaries, grid_stride, lab_problem, log10_dL_dh_sweep, log10_gradient_norms,
                       log10_jacobian_norms_on_grid, log10_lag_norms, log10_norm_bound, log10_power_norms,
                       product_form_dL_dh, product_form_steps, randomized_boundaries, randomized_xi_sweep,
                       recursion_dL_dh, regular_boundaries, scalar_sequences, scalar_terms, second_modulus_ratio,
                       singular_values, spectrum, strategy_from_name, unrolled_gradients, w_hh_schur,
                       xi_from_segments)
from bptt_core.activations import phi_prime
from bptt_core.text import ENV_VAR, FALLBACK_TEXT, load_time_machine, preprocess
from ui.controls import Model

# --- the model ---------------------------------------------------------------------------------


@st.cache_resource(max_entries=16, show_spinner=False)
def _problem(model: Model):
    rnn, X, Y = lab_problem(*model)
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


def w_hh(key: tuple) -> np.ndarray:
    """The model's W_hh (h, h), from its ``Model.matrix_key()``."""
    h, rho, kind, spread, s, seed = key
    return lab_problem(1, h, "identity", rho, kind, spread, s, seed)[0].W_hh


def power_factor(key: tuple) -> np.ndarray:
    """A matrix with the same 2-norms of powers as W_hh: its Schur factor U (W = Q U Qᵀ) for a built
    kind, on which products keep the designed eigenvalues exactly; W itself for a Gaussian one."""
    h, rho, kind, spread, s, seed = key
    return w_hh(key) if kind == "gaussian" else w_hh_schur(h, rho, kind, spread, s, seed)[1]


@st.cache_data(max_entries=32, show_spinner=False)
def power_norms(key: tuple, K: int) -> np.ndarray:
    """log10‖W_hh^k‖₂ for k = 0 … K."""
    return log10_power_norms(power_factor(key), K)


@st.cache_data(max_entries=32, show_spinner=False)
def alignment(key: tuple, K: int) -> np.ndarray:
    """Exercise 1: |cos∠(M^k x, v₁)| for k = 0 … K, x drawn from the model's seed."""
    return alignment_with_top_eigenvector(power_factor(key), K, seed=key[-1])


# A user's own W_hh: the same curves computed on the matrix itself.
@st.cache_data(max_entries=8, show_spinner=False)
def own_matrix_facts(W: np.ndarray) -> MatrixFacts:
    computed = eigenvalues(W)
    return MatrixFacts(computed, computed, 0.0, singular_values(W), second_modulus_ratio(computed),
                       float(abs(computed[0])))


@st.cache_data(max_entries=8, show_spinner=False)
def own_power_norms(W: np.ndarray, K: int) -> np.ndarray:
    return log10_power_norms(W, K)


@st.cache_data(max_entries=8, show_spinner=False)
def own_alignment(W: np.ndarray, K: int, seed: int) -> np.ndarray:
    return alignment_with_top_eigenvector(W, K, seed=seed)


# --- the unrolled network ----------------------------------------------------------------------

@st.cache_data(max_entries=32, show_spinner=False)
def graph_gradients(model: Model):
    """The T = 3 graph's gradient on every edge, for the model's network (its W_hh, 3 steps of its data)."""
    rnn, X, Y = problem(model._replace(T=3))
    return unrolled_gradients(rnn, X, Y)


@st.cache_data(max_entries=32, show_spinner="Backpropagating through time…")
def gradient_log_norms(model: Model):
    """(LogNorms of full BPTT, forward overflow step, backward overflow step)."""
    rnn, X, Y = problem(model)
    g = bptt(rnn, X, Y)
    return log10_gradient_norms(rnn, X, Y), g.forward_overflow_step, g.backward_overflow_step


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

@st.cache_data(max_entries=32, show_spinner=False)
def lag_curve(model: Model):
    """(log10‖∂h_T/∂h_{T−k}‖ for k = 0 … T, the bound k·log10(σ₁γ), σ₁, forward overflow step)."""
    rnn, X, _ = problem(model)
    trace = forward(rnn, X)
    # The step Jacobians diag(φ'(a_t)) W_hh, kept as their factors: no (T, h, h) array of 524 MB.
    lags = log10_lag_norms(factored_step_jacobians(rnn, trace))
    sigma1 = float(singular_values(rnn.W_hh)[0])
    bound = log10_norm_bound(sigma1, GAMMA[model.activation], np.arange(model.T + 1))
    return lags, bound, sigma1, trace.overflow_step


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
    stride = grid_stride(steps, model.h, max_cells=max_cells)
    return log10_jacobian_norms_on_grid(J, stride), np.arange(0, steps + 1, stride), stride


# --- truncation strategies ---------------------------------------------------------------------

@st.cache_data(max_entries=4, show_spinner=False)
def time_machine(env_value: str, cache_home: str) -> tuple[str, bool, str, str]:
    """(preprocessed text, is it the book, where it came from, problem); the arguments are the cache key
    only (the environment variable and the cache folder the loader reads)."""
    try:
        loaded = load_time_machine()
    except (OSError, ValueError) as exc:
        return preprocess(FALLBACK_TEXT), False, "", f"{ENV_VAR} names a file that could not be used: {exc}"
    return preprocess(loaded.text), loaded.is_book, loaded.detail, ""


def book_text() -> tuple[str, bool, str, str]:
    """The Time Machine as this server finds it (``time_machine`` for the current environment)."""
    return time_machine(os.environ.get(ENV_VAR, ""), os.environ.get("XDG_CACHE_HOME", ""))


@st.cache_data(max_entries=32, show_spinner=False)
def figure_rows(n: int, tau: int, pi: float, seed: int, book: bool) -> dict:
    """The book's figure's three rows of segment boundaries over n characters."""
    randomized = (boundaries_from_xi(xi_from_segments(BOOK_FIGURE_SEGMENTS)) if book
                  else randomized_boundaries(n, pi, seed))
    return {"randomized": randomized, "chunked": regular_boundaries(n, tau), "full": full_boundaries(n)}


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


# --- the scalar model --------------------------------------------------------------------------

@st.cache_data(max_entries=32, show_spinner=False)
def scalar_run(T: int, c: float, c_noise: float, seed: int):
    """(the terms (Π c_j) b_i of a_T, the drawn mean log10|c_t| over t = 2 … T: the rate at which the terms
    of a_T change per step, in orders of magnitude)."""
    b, c_t = scalar_sequences(T, c, c_noise, seed)
    with np.errstate(divide="ignore"):
        drawn = float(np.mean(np.log10(np.abs(c_t[1:])))) if T > 1 else 0.0
    return scalar_terms(b, c_t), drawn


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
