"""Gradients of a lookup table: the input weights of a one-hot input, where x_t W picks a row."""

from __future__ import annotations

import numpy as np


def column_sums(x: np.ndarray, D: np.ndarray, out: np.ndarray) -> None:
    """out[v] = Σ_{i: x_i = v} D[i] for x (n,), D (n, k), out (V, k): rows grouped by a stable sort and
    summed with one ``np.add.reduceat`` (``np.add.at`` goes row by row, unbuffered)."""
    order = np.argsort(x, kind="stable")
    xs = x[order]
    starts = np.flatnonzero(np.concatenate(([True], xs[1:] != xs[:-1])))
    out[...] = 0.0
    out[xs[starts]] = np.add.reduceat(D[order], starts, axis=0)
