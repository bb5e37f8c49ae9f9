"""Backpropagation Through Time in Detail: the objective L = (1/T) Σ_t l(o_t, y_t) and ∂L/∂o_t.

With a batch axis the objective also averages over the B sequences, so
∂L/∂o_t = ∂l(o_t, y_t) / (T·B ∂o_t)  (the section's equation for ∂L/∂o_t).
"""

from __future__ import annotations

import numpy as np

from .checks import as_choice, as_float_array, describe

LOSSES = ("mse", "xent")


def check_targets(loss: str, Y, O_shape: tuple[int, ...]) -> np.ndarray:
    """Validated targets: for ``mse`` an array of O's shape (T, [B,] q); for
    ``xent`` integer class labels of shape (T, [B]) with values in [0, q)."""
    as_choice("loss", loss, LOSSES)
    if loss == "mse":
        Y = as_float_array("Y", Y, (len(O_shape),))
        if Y.shape != O_shape:
            raise ValueError(f"Y: expected shape {O_shape} (the outputs' shape) for loss 'mse', got {Y.shape}")
        return Y
    label_shape = O_shape[:-1]
    Y = as_float_array("Y", Y, (len(label_shape),))
    if Y.shape != label_shape:
        raise ValueError(f"Y: expected integer labels of shape {label_shape} for loss 'xent', got {Y.shape}")
    if not np.array_equal(Y, np.round(Y)):
        raise ValueError(f"Y: expected integer class labels for loss 'xent', got {describe(Y)} with fractions")
    q = O_shape[-1]
    if Y.min() < 0 or Y.max() >= q:
        raise ValueError(f"Y: expected labels in [0, {q - 1}] (q = {q} outputs), got values in "
                         f"[{Y.min():g}, {Y.max():g}]")
    return Y.astype(np.intp)


def loss_and_grad(loss: str, O: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
    """(L, ∂L/∂O) for outputs O (T, [B,] q) and checked targets Y.

    mse:  l = ½‖o_t − y_t‖²,            ∂l/∂o_t = o_t − y_t
    xent: l = −log softmax(o_t)[y_t],   ∂l/∂o_t = softmax(o_t) − e_{y_t}
    """
    n = int(np.prod(O.shape[:-1]))  # T·B terms in the average
    with np.errstate(over="ignore", invalid="ignore"):
        if loss == "mse":
            R = O - Y
            return float(0.5 * np.vdot(R, R) / n), R / n
        # Subtract the row maximum so exp never overflows (a finite o always works).
        Z = O - O.max(axis=-1, keepdims=True)
        E = np.exp(Z)
        S = E.sum(axis=-1, keepdims=True)
        logp = np.take_along_axis(Z, Y[..., None], axis=-1)[..., 0] - np.log(S[..., 0])
        G = E / S
        np.put_along_axis(G, Y[..., None], np.take_along_axis(G, Y[..., None], axis=-1) - 1.0, axis=-1)
        return float(-logp.sum() / n), G / n


def softmax_xent_rows(O: np.ndarray, y: np.ndarray, rows: np.ndarray) -> float:
    """Mean −log softmax(o)[y] over the rows of O (n, V), in place: O becomes ∂L/∂O = (softmax − e_y)/n.
    ``loss_and_grad("xent", …)`` for the trainers' windows (rows = ``np.arange(n)``), without a copy of O.
    O may be float32 (the sums are float64)."""
    n = O.shape[0]
    O -= O.max(axis=1, keepdims=True)  # exp never overflows
    z_y = O[rows, y]
    np.exp(O, out=O)
    S = O.sum(axis=1)
    loss = float(np.log(S).sum() - z_y.sum(dtype=np.float64)) / n
    O /= S[:, None]
    O[rows, y] -= 1.0
    O *= 1.0 / n
    return loss
