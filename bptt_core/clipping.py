"""A helper for training: gradient clipping, kept outside the loss so gradients stay gradients.

The section opens by recalling it (the book's RNN-from-scratch section): clipping is
what kept the occasional massive gradient from destabilising training.

By global norm, as the book: g ← min(1, θ/‖g‖) g with ‖g‖ over all parameters
together.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .bptt import Gradients
from .checks import as_float, describe


def _arrays(grads) -> list[np.ndarray]:
    if isinstance(grads, Gradients):
        return list(grads.params)
    if isinstance(grads, np.ndarray):
        return [np.asarray(grads, dtype=np.float64)]
    try:
        return [np.asarray(g, dtype=np.float64) for g in grads]
    except (TypeError, ValueError):
        raise ValueError(f"grads: expected Gradients or a sequence of arrays, got {describe(grads)}") from None


def _rebuild(grads, arrays):
    if isinstance(grads, Gradients):
        return dataclasses.replace(grads, W_hx=arrays[0], W_hh=arrays[1], W_qh=arrays[2])
    if isinstance(grads, np.ndarray):
        return arrays[0]
    return arrays


# With max|g| inside this range no square overflows, and the squares that underflow are too small
# to matter next to max|g|²: ‖g‖ is then one dot product per array, with no scaled copy of g.
PLAIN_RANGE = (1e-140, 1e140)


def _scaled_norm(arrays) -> tuple[float, float]:
    """(m, r) with ‖g‖ = m·r and g/m safe to square: m = 1 while max|g| lies in ``PLAIN_RANGE``,
    else m = max|g| (r = ‖g/m‖), so no entry is squared beyond float64."""
    top = max((float(np.max(np.abs(g))) for g in arrays if g.size), default=0.0)
    if top == 0.0 or not np.isfinite(top):
        return top, 1.0
    m = 1.0 if PLAIN_RANGE[0] < top < PLAIN_RANGE[1] else top
    return m, math.sqrt(sum(float(np.vdot(u, u)) for u in (g if m == 1.0 else g / m for g in arrays)))


def global_norm(grads) -> float:
    """‖g‖₂ over all parameters together: sqrt(Σ_W ‖∂L/∂W‖_F²) (inf only if it exceeds float64)."""
    m, r = _scaled_norm(_arrays(grads))
    with np.errstate(over="ignore"):
        return m * r


def clip_by_global_norm(grads, theta: float):
    """(clipped, norm): g ← min(1, θ/‖g‖) g over all parameters, and ‖g‖ before clipping.

    grads: ``Gradients`` (returns ``Gradients`` with W_hx, W_hh, W_qh clipped),
    an array (returns an array), or a sequence of arrays (returns a list); float64
    throughout, whatever the dtype given.
    """
    theta = as_float("theta", theta, low=0.0, low_open=True)
    arrays = _arrays(grads)
    m, r = _scaled_norm(arrays)
    with np.errstate(over="ignore"):
        norm = m * r
    if m == 0.0 or norm <= theta:
        return _rebuild(grads, [g.copy() for g in arrays]), norm
    # g·θ/‖g‖ = (g/m)·(θ/r): exact even when ‖g‖ itself is past float64.
    factor = theta / r
    return _rebuild(grads, [g * factor if m == 1.0 else (g / m) * factor for g in arrays]), norm

