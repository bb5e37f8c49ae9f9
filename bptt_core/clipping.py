"""Gradient clipping, kept outside the loss so gradients stay gradients.

By global norm, as the book: g ← min(1, θ/‖g‖) g with ‖g‖ over all parameters
together; element-wise: g ← clip(g, −c, c).
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


def global_norm(grads) -> float:
    """‖g‖₂ over all parameters together: sqrt(Σ_W ‖∂L/∂W‖_F²)."""
    return float(np.sqrt(sum(float(np.sum(g * g)) for g in _arrays(grads))))


def clip_by_global_norm(grads, theta: float):
    """(clipped, norm): g ← min(1, θ/‖g‖) g over all parameters, and ‖g‖ before clipping.

    grads: ``Gradients`` (returns ``Gradients`` with W_hx, W_hh, W_qh clipped),
    an array, or a sequence of arrays (returns a list).
    """
    theta = as_float("theta", theta, low=0.0, low_open=True)
    arrays = _arrays(grads)
    norm = global_norm(arrays)
    factor = min(1.0, theta / norm) if norm > 0 else 1.0
    return _rebuild(grads, [g * factor for g in arrays]), norm


def clip_elementwise(grads, c: float):
    """Each entry clipped to [−c, c]; same container as given."""
    c = as_float("c", c, low=0.0, low_open=True)
    return _rebuild(grads, [np.clip(g, -c, c) for g in _arrays(grads)])
