"""The lab's standard problem: a seeded RNN with inputs and targets.

Every view that needs "an RNN and some data" uses this, so the same sidebar
settings give the same network on every page.
"""

from __future__ import annotations

import numpy as np

from .checks import as_int
from .model import RNN, init_rnn


TOY_D = 4  # input size d
TOY_Q = 2  # output size q


def toy_problem(T: int, h: int, activation: str = "identity", rho: float = 0.9, seed: int = 0,
                W_hh=None) -> tuple[RNN, np.ndarray, np.ndarray]:
    """(rnn, X (T, d), Y (T, q)) with d = 4, q = 2, Gaussian inputs and targets.

    W_hh is random Gaussian rescaled to spectral radius ``rho`` unless given
    (then it is used as it is and ``rho`` is ignored).
    """
    T = as_int("T", T, minimum=1)
    rnn = init_rnn(TOY_D, h, TOY_Q, activation=activation, spectral_radius=rho, seed=seed)
    if W_hh is not None:
        rnn = RNN(rnn.W_hx, W_hh, rnn.W_qh, activation=activation)
    rng = np.random.default_rng(as_int("seed", seed, minimum=0) + 10_000)
    X = rng.standard_normal((T, TOY_D))
    Y = rng.standard_normal((T, TOY_Q))
    return rnn, X, Y



