"""A helper for training: gradient clipping, kept outside the loss so gradients stay gradients.

The section opens by recalling it (the book's RNN-from-scratch section): clipping is
what kept the occasional massive gradient from destabilising training.

By global norm, as the book: g ← min(1, θ/‖g‖) g with ‖g‖ over all parameters
together.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .bptt import Gradients
from .checks import as_float, describe


def _arrays(grads) -> list[np.ndarray]:
    if isinstance(grads, Gradients):
        return list(grads.params)
    if isinstance(grads, np.ndarray):
        return [grads]
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


def _scaled_norm(arrays) -> tuple[float, float]:
    """(m, r) with ‖g‖ = m·r: m = max|g|, r = ‖g/m‖, so no entry is squared beyond float64."""
    m = max((float(np.max(np.abs(g))) for g in arrays if g.size), default=0.0)
    if m == 0.0 or not np.isfinite(m):
        return m, 1.0
    return m, float(np.sqrt(sum(float(np.sum((g / m) ** 2)) for g in arrays)))


def global_norm(grads) -> float:
    """‖g‖₂ over all parameters together: sqrt(Σ_W ‖∂L/∂W‖_F²) (inf only if it exceeds float64)."""
    m, r = _scaled_norm(_arrays(grads))
    with np.errstate(over="ignore"):
        return m * r


def clip_by_global_norm(grads, theta: float):
    """(clipped, norm): g ← min(1, θ/‖g‖) g over all parameters, and ‖g‖ before clipping.

    grads: ``Gradients`` (returns ``Gradients`` with W_hx, W_hh, W_qh clipped),
    an array, or a sequence of arrays (returns a list).
    """
    theta = as_float("theta", theta, low=0.0, low_open=True)
    arrays = _arrays(grads)
    m, r = _scaled_norm(arrays)
    with np.errstate(over="ignore"):
        norm = m * r
    if m == 0.0 or norm <= theta:
        return _rebuild(grads, [g.copy() for g in arrays]), norm
    # g·θ/‖g‖ = (g/m)·(θ/r): exact even when ‖g‖ itself is past float64.
    return _rebuild(grads, [(g / m) * (theta / r) for g in arrays]), norm

