"""Surrogate losses and finite differences: the tests' proof of the BPTT gradients.

The readable backward loop itself lives in the core (``bptt_core.bptt.bptt_reference``);
this module is the independent check of it (and of ``bptt``), by differentiating numerically.

Each strategy's gradient is the exact derivative of a *surrogate loss* whose
value equals L at the point θ₀ but whose dependence on θ is cut where the
strategy cuts the gradient. The cut is made by freezing a state at its value
under θ₀ (a stop-gradient that finite differences can see):

    randomized / chunked / full:  a_t = W_hx x_t + W_hh h̃_{t-1},
                                  h̃_{t-1} = ξ_t h_{t-1}(θ) + (1 − ξ_t) h_{t-1}(θ₀)
    sliding τ:                    l_t is computed from h_{t-τ}(θ₀), re-running τ steps with θ

so central differences of the surrogate in float64 check the strategies'
gradients, not only the full one. Everything here is plain loops over time.
"""

from __future__ import annotations

import numpy as np

from bptt_core.activations import phi


def step(act, W_hx, W_hh, x, h_prev):
    return phi(act, W_hx @ x + W_hh @ h_prev) if x.ndim == 1 else phi(act, x @ W_hx.T + h_prev @ W_hh.T)


def per_step_loss(loss, W_qh, h, y):
    """l(o_t, y_t) summed over the batch (if any), o_t = W_qh h_t."""
    o = h @ W_qh.T
    if loss == "mse":
        return 0.5 * np.sum((o - y) ** 2)
    o2 = np.atleast_2d(o)
    y2 = np.atleast_1d(y).astype(int)
    m = o2.max(axis=1, keepdims=True)
    logz = m[:, 0] + np.log(np.exp(o2 - m).sum(axis=1))
    return float(np.sum(logz - o2[np.arange(len(y2)), y2]))


def trajectory(act, params, X, h0):
    W_hx, W_hh, _ = params
    H = [h0]
    for t in range(X.shape[0]):
        H.append(step(act, W_hx, W_hh, X[t], H[-1]))
    return H


def surrogate_loss(act, loss, params, ref_params, X, Y, h0, xi=None, tau=None):
    """L_ξ(θ) (ξ given) or L_slide,τ(θ) (tau given) as described in the module docstring."""
    T = X.shape[0]
    n = T * (X.shape[1] if X.ndim == 3 else 1)
    W_hx, W_hh, W_qh = params
    H0 = trajectory(act, ref_params, X, h0)  # the frozen reference states h_t(θ₀)
    total = 0.0
    if tau is not None:
        for t in range(1, T + 1):
            start = max(0, t - tau)
            h = H0[start]
            for s in range(start + 1, t + 1):
                h = step(act, W_hx, W_hh, X[s - 1], h)
            total += per_step_loss(loss, W_qh, h, Y[t - 1])
        return total / n
    h = h0
    for t in range(1, T + 1):
        mixed = xi[t - 1] * h + (1.0 - xi[t - 1]) * H0[t - 1]
        h = step(act, W_hx, W_hh, X[t - 1], mixed)
        total += per_step_loss(loss, W_qh, h, Y[t - 1])
    return total / n


def finite_difference_gradients(f, params, eps=1e-6):
    """Central differences of f(params) w.r.t. every entry of every parameter array."""
    grads = []
    for k, P in enumerate(params):
        G = np.zeros_like(P)
        for idx in np.ndindex(P.shape):
            plus = [p.copy() for p in params]
            minus = [p.copy() for p in params]
            plus[k][idx] += eps
            minus[k][idx] -= eps
            G[idx] = (f(plus) - f(minus)) / (2 * eps)
        grads.append(G)
    return grads


def finite_difference_dL_dh(act, loss, params, X, Y, h0, eps=1e-6):
    """∂L/∂h_t (T, [B,] h) of full BPTT: perturb h_t and re-run the rest of the sequence."""
    T = X.shape[0]
    n = T * (X.shape[1] if X.ndim == 3 else 1)
    W_hx, W_hh, W_qh = params
    H = trajectory(act, params, X, h0)

    def tail_loss(t, h_t):
        total = per_step_loss(loss, W_qh, h_t, Y[t - 1])
        h = h_t
        for s in range(t + 1, T + 1):
            h = step(act, W_hx, W_hh, X[s - 1], h)
            total += per_step_loss(loss, W_qh, h, Y[s - 1])
        return total / n

    out = np.zeros((T,) + H[1].shape)
    for t in range(1, T + 1):
        for idx in np.ndindex(H[t].shape):
            plus, minus = H[t].copy(), H[t].copy()
            plus[idx] += eps
            minus[idx] -= eps
            out[(t - 1,) + idx] = (tail_loss(t, plus) - tail_loss(t, minus)) / (2 * eps)
    return out
