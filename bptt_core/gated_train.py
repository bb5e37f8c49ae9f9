"""The GRU and the LSTM trained on characters as the book's sections train them (d2l 1.0: ``GRUScratch``,
``LSTMScratch`` in ``RNNLMScratch``, ``d2l.TimeMachine(batch_size=1024, num_steps=32)``, 32 hidden units,
``d2l.Trainer(max_epochs=50, gradient_clip_val=1)``, SGD with lr = 4), for ``bptt_core.train.Trainer``.

The cells are ``bptt_core.gated``'s, in the book's layout, with the vocabulary as the input: x_t is
one-hot, so X_t W_x* + b_* is the row of W_x* + b_* at the character's index, looked up step by step
(``_forward(onehot=True)``), and ∂L/∂W_x* sums each step's ∂L/∂(pre-activation) into its character's
row, one product with the window's one-hot matrix (V, T·B) per gate: for a vocabulary of a few dozen,
faster than a sort and a grouped sum. The output is Y_t = H_t W_hq + b_q with L the mean
−log softmax(Y_t)[y_t] over the window's T·B characters.
Every strategy acts as in ``gated_bptt``; parameters live in one flat float64 buffer (clipping and the
update are vector operations, as for ``CharRNN``).
"""

from __future__ import annotations

import math

import numpy as np

from .checks import as_choice, as_float, as_int
from .gated import CELLS, GATES, Buffers, GatedRNN, _backward, _forward, _parameter_gradients, parameter_names
from .losses import loss_and_grad, softmax_xent_rows

# The book's settings per section (d2l 1.0, chapters "Gated Recurrent Units" and "Long Short-Term Memory",
# implementations from scratch): the data and network as for the RNN (h = 32, T = 32, B = 1024, θ = 1,
# σ = 0.01) but lr = 4 and 50 epochs. The RNN's own: lr = 1, 100 epochs (bptt_core.train.D2L_1_0).
BOOK_CELL_SETTINGS = {"rnn": dict(lr=1.0, epochs=100), "gru": dict(lr=4.0, epochs=50), "lstm": dict(lr=4.0, epochs=50)}


class CharGated:
    """A GRU or LSTM over a vocabulary of V characters: its parameters (``parameter_names(cell)``, W_x* (V, h))
    as views into one flat float64 buffer ``flat``, like ``CharRNN``'s; ``net()`` the ``GatedRNN`` they make."""

    def __init__(self, cell: str, vocab_size: int, hidden: int):
        self.cell = as_choice("cell", cell, CELLS)
        self.V, self.h = as_int("vocab_size", vocab_size, minimum=1), as_int("hidden", hidden, minimum=1)
        self.dtype = np.dtype(np.float64)
        self.shapes = {n: self._shape(n) for n in parameter_names(cell)}
        self.flat = np.zeros(sum(int(np.prod(s)) for s in self.shapes.values()))
        self.views = self._views(self.flat)
        self.buffers = Buffers()   # the window's arrays, reused from window to window

    def _shape(self, name: str) -> tuple[int, ...]:
        V, h = self.V, self.h
        if name == "W_hq":
            return (h, V)
        if name == "b_q":
            return (V,)
        return {"W_x": (V, h), "W_h": (h, h)}.get(name[:3], (h,))

    def _views(self, flat: np.ndarray) -> dict:
        views, start = {}, 0
        for name, shape in self.shapes.items():
            n = int(np.prod(shape))
            views[name] = flat[start:start + n].reshape(shape)
            start += n
        return views

    def zeros_like(self) -> "CharGated":
        """A gradient buffer with this model's layout (its ``flat`` and ``views``)."""
        return CharGated(self.cell, self.V, self.h)

    def net(self) -> GatedRNN:
        return GatedRNN(self.cell, {n: v for n, v in self.views.items()})


def init_char_gated(cell: str, vocab_size: int, hidden: int, *, seed: int = 0, scale: float = 0.01,
                    rho: float | None = None) -> CharGated:
    """The book's initialisation (``init_weight``: every weight N(0, σ²), σ = ``scale``; biases 0), drawn from
    ``seed`` in ``parameter_names`` order; with ``rho``, every recurrent W_h* is N(0, 1/h) rescaled to
    spectral radius ρ instead (the lab's exploding start, as for the RNN)."""
    from .spectral import scale_to_spectral_radius

    model = CharGated(cell, vocab_size, hidden)
    rng = np.random.default_rng(as_int("seed", seed, minimum=0))
    scale = as_float("scale", scale, low=0.0)
    for name, view in model.views.items():
        if name.startswith("b_"):
            continue
        draw = rng.standard_normal(view.shape)
        if rho is not None and name.startswith("W_h") and name != "W_hq":
            view[...] = scale_to_spectral_radius(draw / math.sqrt(model.h), as_float("rho", rho, low=0.0))
        else:
            view[...] = scale * draw
    return model


def char_gated_gradients(model: CharGated, X, Y, state=None, xi=None, *, sliding_tau: int | None = None,
                         grads: CharGated | None = None) -> tuple[float, CharGated, tuple]:
    """(L, ∂L/∂θ in ``grads`` (a ``zeros_like`` buffer), the final state (H_T, C_T or None)) for one window:
    X, Y (T, B) character indices; ``state`` (H_0, C_0) or None (zeros); xi (T,) the multipliers ξ_t (None:
    full BPTT), or ``sliding_tau``. The state returned is a copy: no gradient flows into the next window."""
    net = model.net()
    X, Y = np.asarray(X), np.asarray(Y)
    T, B = X.shape
    zeros = np.zeros((B, net.h))
    H0, C0 = (zeros, zeros) if state is None else (state[0], zeros if state[1] is None else state[1])
    buffers = model.buffers
    G = len(GATES[model.cell])
    tr = _forward(net, X, H0, C0, None, onehot=True, buffers=buffers)
    dY = tr.Y                                  # the trace's outputs, turned into ∂L/∂Y in place
    dY.setflags(write=True)
    L = softmax_xent_rows(dY.reshape(T * B, -1), Y.reshape(-1), np.arange(T * B))
    dq = np.matmul(dY, net.params["W_hq"].T, out=buffers.empty("dq", dY.shape[:-1] + (net.h,)))
    if sliding_tau is None and xi is None:
        xi = np.ones(T)
    da, _, _ = _backward(net, tr, dq, None if sliding_tau is not None else np.asarray(xi, float), sliding_tau,
                         buffers=buffers)
    # The one-hot matrix of the window's characters (V, T·B): its product with each gate's ∂L/∂a sums
    # every step's ∂L/∂a into its character's row (∂L/∂W_x[v] = Σ_{t, b: x = v} ∂L/∂a_t); with a
    # vocabulary of a few dozen characters one product is faster than a sort and a grouped sum.
    onehot = buffers.zeros("onehot", (model.V, T * B))
    onehot[X.reshape(-1), np.arange(T * B)] = 1.0
    dWx = np.matmul(onehot, da.reshape(G, T * B, net.h))
    g = model.zeros_like() if grads is None else grads
    for name, value in _parameter_gradients(net, tr, da, dY, dWx=dWx).items():
        g.views[name][...] = value
    final = (tr.H[-1].copy(), None if tr.C is None else tr.C[-1].copy())
    return L, g, final


def char_gated_mean_nll(model: CharGated, X, Y) -> float:
    """Mean −log softmax(Y_t)[y_t] over the T·B predictions of X, Y (T, B), from zero states (forward only)."""
    net = model.net()
    X = np.asarray(X)
    zeros = np.zeros((X.shape[1], net.h))
    with np.errstate(over="ignore", invalid="ignore"):
        tr = _forward(net, X, zeros, zeros, None, onehot=True)
        return loss_and_grad("xent", tr.Y, np.asarray(Y))[0]


def char_gated_generate(model: CharGated, vocab, prefix: str, length: int) -> str:
    """``prefix`` and ``length`` more characters, each the argmax of the output (the book's ``predict``)."""
    net = model.net()
    idx = vocab.encode(prefix)
    if idx.size == 0:
        raise ValueError("prefix: expected at least one character")
    out = list(idx.tolist())
    H = C = np.zeros((1, net.h))
    for t in range(idx.size + as_int("length", length, minimum=0) - 1):
        x = np.array([[out[t]]])
        tr = _forward(net, x, H, C, None, onehot=True)
        H, C = tr.H[-1], (tr.C[-1] if tr.C is not None else C)
        if t >= idx.size - 1:
            out.append(int(np.argmax(tr.Y[0, 0])))
    return vocab.decode(out)
