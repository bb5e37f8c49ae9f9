"""Backpropagation Through Time in Detail, past its φ(x) = x: the activations φ and their derivatives φ'.

The section keeps the identity "to keep things simple"; its equations hold for any φ
with diag(φ'(a_t)) in each step's Jacobian, and the lab offers tanh, sigmoid and relu too.

Each derivative is written in terms of the pre-activation ``a`` *and* the
already computed output ``h = φ(a)``, so BPTT reuses the forward values instead
of recomputing transcendental functions (tanh' = 1 − h², σ' = h(1 − h)).
"""

from __future__ import annotations

import numpy as np

ACTIVATIONS = ("identity", "tanh", "sigmoid", "relu")

# γ with ‖diag φ'(a)‖ ≤ γ: the bound Pascanu, Mikolov & Bengio (2013) use.
# The identity's derivative is exactly 1 and relu's lies in {0, 1}.
GAMMA = {"identity": 1.0, "tanh": 1.0, "sigmoid": 0.25, "relu": 1.0}


def phi(name: str, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """h = φ(a), element-wise; writes into ``out`` when given."""
    if name == "identity":
        if out is None:
            return a.copy()
        out[...] = a
        return out
    if name == "tanh":
        return np.tanh(a, out=out)
    if name == "sigmoid":
        # σ(a) = ½(1 + tanh(a/2)): no overflow in exp for large |a|.
        out = np.multiply(a, 0.5, out=out)
        np.tanh(out, out=out)
        out += 1.0
        out *= 0.5
        return out
    if name == "relu":
        return np.maximum(a, 0.0, out=out)
    raise ValueError(f"activation: expected one of {list(ACTIVATIONS)}, got {name!r}")


def phi_prime(name: str, a: np.ndarray, h: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """φ'(a), element-wise, given h = φ(a): a new array of a's shape, or written into ``out``."""
    if name == "identity":
        if out is None:
            return np.ones_like(a)
        out[...] = 1.0
        return out
    if name == "tanh":  # 1 − h²
        out = np.multiply(h, h, out=out)
        return np.subtract(1.0, out, out=out)
    if name == "sigmoid":  # h (1 − h)
        out = np.subtract(1.0, h, out=out)
        return np.multiply(h, out, out=out)
    if name == "relu":  # 1 where a > 0, else 0
        if out is None:
            return (a > 0.0).astype(np.float64)
        return np.greater(a, 0.0, out=out)
    raise ValueError(f"activation: expected one of {list(ACTIVATIONS)}, got {name!r}")
