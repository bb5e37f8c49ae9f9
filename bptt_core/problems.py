"""A helper, not from the book: the lab's standard problem, a seeded RNN with inputs and targets.

Every view that needs "an RNN and some data" uses this, so the same sidebar
settings give the same network on every page.
"""

from __future__ import annotations

import numpy as np

from .checks import as_choice, as_float_array, as_int
from .model import RNN, gaussian_weights, init_rnn
from .spectral import KINDS, w_hh, w_hh_affine


TOY_D = 4  # input size d
TOY_Q = 2  # output size q
MAX_H = 256  # the lab's largest hidden size (sliders, users' own W_hh)
# The W_hh of the lab's model: a random Gaussian matrix rescaled to ρ (its eigenvalues fill a
# disk, σ₁ ≈ 2ρ), or one built from chosen eigenvalues (bptt_core.spectral.w_hh).
MATRIX_KINDS = KINDS + ("gaussian",)


def toy_problem(T: int, h: int, activation: str = "identity", rho: float = 0.9, seed: int = 0,
                W_hh=None) -> tuple[RNN, np.ndarray, np.ndarray]:
    """(rnn, X (T, d), Y (T, q)) with d = 4, q = 2, Gaussian inputs and targets.

    W_hh is random Gaussian rescaled to spectral radius ``rho`` unless given
    (then it is used as it is and ``rho`` is ignored).
    """
    T = as_int("T", T, minimum=1)
    if W_hh is None:
        rnn = init_rnn(TOY_D, h, TOY_Q, activation=activation, spectral_radius=rho, seed=seed)
    else:   # the same W_hx and W_qh, without rescaling a W_hh that is not used (an eigvals of h×h)
        W_hx, _, W_qh = gaussian_weights(TOY_D, h, TOY_Q, seed)
        rnn = RNN(W_hx, W_hh, W_qh, activation=activation)
    rng = np.random.default_rng(as_int("seed", seed, minimum=0) + 10_000)
    X = rng.standard_normal((T, TOY_D))
    Y = rng.standard_normal((T, TOY_Q))
    return rnn, X, Y


def lab_problem(T: int, h: int, activation: str, rho: float, kind: str, spread: float,
                nonnormality: float, seed: int) -> tuple[RNN, np.ndarray, np.ndarray]:
    """The one model every view shows: ``toy_problem`` with the W_hh the controls describe.

    kind "gaussian": ``toy_problem``'s own random W_hh (N(0, 1/h), rescaled to spectral radius ρ);
    "symmetric", "normal", "nonnormal": ``spectral.w_hh(h, rho, kind, spread, nonnormality, seed)``,
    the matrix whose eigenvalues the eigenvalue view draws (``nonnormality`` acts on "nonnormal" only).
    Same arguments, same (rnn, X (T, 4), Y (T, 2)).
    """
    return toy_problem(T, h, activation, rho, seed, W_hh=lab_w_hh(h, rho, kind, spread, nonnormality, seed))


def lab_w_hh(h: int, rho: float, kind: str, spread: float, nonnormality: float, seed: int) -> np.ndarray:
    """``lab_problem``'s W_hh (h, h) alone: for "gaussian" ``init_rnn``'s (N(0, 1/h) rescaled to spectral
    radius ρ), else ``spectral.w_hh``'s."""
    if as_choice("kind", kind, MATRIX_KINDS) == "gaussian":
        return init_rnn(TOY_D, h, TOY_Q, spectral_radius=rho, seed=seed).W_hh
    return w_hh(h, rho, kind, spread, nonnormality, seed)


def lab_w_hh_over_rho(h: int, rhos, kind: str, spread: float, nonnormality: float, seed: int) -> np.ndarray:
    """W_hh (F, h, h) of ``lab_problem`` for every spectral radius in ``rhos`` (F,), the rest fixed.

    Every kind is affine in ρ, W(ρ) = ρ·A + B: a Gaussian W_hh is one random matrix rescaled to ρ
    (A = the matrix at ρ = 1, B = 0), a built one is ``spectral.w_hh_affine``'s. One scaled sum per
    frame, no new decomposition; frame f equals ``lab_problem(…, rhos[f], …)``'s W_hh to rounding
    (tests/test_scrub_grids.py::test_w_hh_over_rho_is_the_single_matrix).
    """
    r = as_float_array("rhos", rhos, (1,))
    if r.size == 0 or (r < 0).any():
        raise ValueError(f"rhos: expected spectral radii ≥ 0, got {r.tolist()}")
    if as_choice("kind", kind, MATRIX_KINDS) == "gaussian":
        A = init_rnn(TOY_D, as_int("h", h, minimum=1), TOY_Q, spectral_radius=1.0, seed=seed).W_hh
        return r[:, None, None] * A
    A, B = w_hh_affine(h, kind, spread, nonnormality, seed)
    return r[:, None, None] * A + B
