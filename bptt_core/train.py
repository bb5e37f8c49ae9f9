"""Comparing Strategies, in training: a character-level RNN trained with each BPTT strategy, as the book trains it.

The model and loop are the book's RNN-from-scratch section's: by default its 2nd edition's
(d2l ``train_epoch_ch8``, ``TrainConfig(pipeline="d2l-2nd")``), or its 1.0 edition's
(``d2l.TimeMachine``, ``d2l.RNNLMScratch``, ``d2l.Trainer``: ``pipeline="d2l-1.0"``, below).

The section's network with biases and the book's column-vector convention,

    a_t = W_hx x_t + W_hh h_{t-1} + b_h,   h_t = φ(a_t) (tanh by default),
    o_t = W_qh h_t + b_q,                  l_t = −log softmax(o_t)[y_t],
    L   = (1/(T·B)) Σ_{t,b} l_{t,b}        (a window of T characters of B sequences)

with x_t the one-hot vector of a character, so W_hx x_t is the column of W_hx
at that character's index: a lookup, never a product with a one-hot matrix.
W_hx (h, V), W_hh (h, h), b_h (h,), W_qh (V, h), b_q (V,).

Arrays keep time on axis 0 and each vector as a row, batch on axis 1: the
window's states are H (T+1, B, h) and every step is one matrix product for the
whole batch (B, h) @ W_hhᵀ. Only time is a Python loop.

The gradient is ``bptt_core.bptt.bptt_reference``'s: the strategy (``Full``,
``Truncated`` chunked or sliding, ``Randomized``) sets the multipliers ξ_t on
the flow from h_t back to h_{t-1},

    ∂L/∂h_t = W_qhᵀ ∂L/∂o_t + ξ_{t+1} W_hhᵀ (φ'(a_{t+1}) ⊙ ∂L/∂h_{t+1}),   δ_t = φ'(a_t) ⊙ ∂L/∂h_t
    ∂L/∂W_hh = Σ_t δ_t h_{t-1}ᵀ,  ∂L/∂b_h = Σ_t δ_t,  ∂L/∂W_hx[:, v] = Σ_{t: x_t = v} δ_t,
    ∂L/∂W_qh = Σ_t ∂L/∂o_t h_tᵀ,  ∂L/∂b_q = Σ_t ∂L/∂o_t

and the parameter gradients are each one product over all steps after the
backward sweep. Between windows (the book's training loop, d2l ``train_epoch_ch8``):
with sequential minibatches the last state is carried into the next window,
detached (no gradient flows across windows); with random minibatches every
window starts from h_0 = 0. The update clips by global norm θ (the book's
g ← min(1, θ/‖g‖) g, ``bptt_core.clipping``) and takes an SGD or Adagrad step.

The 1.0 edition (``pipeline="d2l-1.0"``, data from ``bptt_core.corpus.d2l_time_machine``):
overlapping windows of T + 1 characters, the first ``num_train`` windows train and the next
``num_val`` validate; every epoch draws a fresh permutation of the training windows and cuts
it into minibatches of B (the last one shorter), each window from h_0 = 0 (``RNNLMScratch``
with state None); L averages over the B·T predictions of the minibatch; ‖g‖ is clipped to θ,
then SGD. Validation perplexity is what the book plots (``validation_step`` logs exp(L) per
validation minibatch and its board averages the points of an epoch): the mean over the
validation minibatches of exp(mean loss of the minibatch) (``windowed_perplexity``). The
model, its N(0, σ²) weights (σ = 0.01) and zero biases are the same as the 2nd edition's
(the book's ``W_xh``, ``W_hq`` are this module's ``W_hxᵀ``, ``W_qhᵀ``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from .activations import ACTIVATIONS, phi, phi_prime
from .bptt import (STRATEGY_KEYS, Full, Randomized, Strategy, Truncated, check_strategy, multipliers,
                   randomized_xi, sliding_sweep)
from .checks import as_choice, as_float, as_int, describe
from .clipping import clip_by_global_norm, global_norm
from .corpus import Corpus, WindowBatch, WindowedText, d2l_time_machine, minibatches
from .gated import CELLS
from .gated_train import CharGated, char_gated_generate, char_gated_gradients, char_gated_mean_nll, init_char_gated
from .lookup import column_sums
from .losses import softmax_xent_rows

OPTIMIZERS = ("sgd", "adagrad")
DTYPES = ("float32", "float64")
ADAGRAD_EPS = 1e-6  # the book's ε in s ← s + g², w ← w − η g / √(s + ε)
VALID_STREAMS = 64  # validation text laid out as this many parallel streams (one product per step)
PARAM_NAMES = ("W_hx", "W_hh", "b_h", "W_qh", "b_q")
PIPELINES = ("d2l-2nd", "d2l-1.0")  # the book's 2nd edition (default) and its 1.0 edition
# The book's own code (d2l 1.0, PyTorch, the setting of ``d2l_1_0_config``), two seeds, measured by the
# issue's author: final validation perplexity, mean ± std. The lab's run is shown next to it.
BOOK_VALID_PERPLEXITY = {"d2l-1.0": (7.37, 0.05)}


class CharRNN:
    """The parameters, all in one flat buffer ``flat`` (so clipping and updates are single vector operations).

    W_hx (h, V), W_hh (h, h), b_h (h,), W_qh (V, h), b_q (V,) are views into ``flat``.
    W_hx is stored column-major (its transpose is a C-contiguous (V, h) array), so the
    column W_hx[:, v] of a character is one contiguous row in memory.
    """

    def __init__(self, vocab_size: int, hidden: int, dtype: str = "float64", activation: str = "tanh"):
        V = as_int("vocab_size", vocab_size, minimum=1)
        h = as_int("hidden", hidden, minimum=1)
        self.dtype = np.dtype(as_choice("dtype", dtype, DTYPES))
        self.activation = as_choice("activation", activation, ACTIVATIONS)
        self.V, self.h = V, h
        sizes = (V * h, h * h, h, V * h, V)
        self.flat = np.zeros(sum(sizes), dtype=self.dtype)
        self._views(self.flat, self)

    def _views(self, flat: np.ndarray, into) -> None:
        V, h = self.V, self.h
        ends = np.cumsum([0, V * h, h * h, h, V * h, V])
        into.W_hx = flat[ends[0]:ends[1]].reshape(V, h).T  # (h, V), column v contiguous
        into.W_hh = flat[ends[1]:ends[2]].reshape(h, h)
        into.b_h = flat[ends[2]:ends[3]]
        into.W_qh = flat[ends[3]:ends[4]].reshape(V, h)
        into.b_q = flat[ends[4]:ends[5]]

    @property
    def params(self) -> tuple[np.ndarray, ...]:
        """(W_hx, W_hh, b_h, W_qh, b_q), views into ``flat``."""
        return tuple(getattr(self, n) for n in PARAM_NAMES)

    def zeros_like(self) -> "ParamGrads":
        """A gradient buffer with this model's layout."""
        g = ParamGrads(np.zeros_like(self.flat))
        self._views(g.flat, g)
        return g

    def copy(self) -> "CharRNN":
        new = CharRNN(self.V, self.h, self.dtype.name, self.activation)
        new.flat[...] = self.flat
        return new

    @classmethod
    def from_arrays(cls, W_hx, W_hh, b_h, W_qh, b_q, *, dtype: str = "float64",
                    activation: str = "tanh") -> "CharRNN":
        """A model holding copies of the given parameters (shapes checked)."""
        W_hh = np.asarray(W_hh)
        h = W_hh.shape[0]
        V = np.asarray(W_qh).shape[0]
        rnn = cls(V, h, dtype, activation)
        for name, value in zip(PARAM_NAMES, (W_hx, W_hh, b_h, W_qh, b_q)):
            target = getattr(rnn, name)
            value = np.asarray(value)
            if value.shape != target.shape:
                raise ValueError(f"{name}: expected shape {target.shape}, got {value.shape}")
            target[...] = value
        return rnn


@dataclass(eq=False)
class ParamGrads:
    """∂L/∂W for every parameter, as views into one flat buffer (same layout as ``CharRNN``)."""

    flat: np.ndarray
    W_hx: np.ndarray = field(init=False)
    W_hh: np.ndarray = field(init=False)
    b_h: np.ndarray = field(init=False)
    W_qh: np.ndarray = field(init=False)
    b_q: np.ndarray = field(init=False)

    @property
    def params(self) -> tuple[np.ndarray, ...]:
        return tuple(getattr(self, n) for n in PARAM_NAMES)


def init_char_rnn(vocab_size: int, hidden: int, *, seed: int = 0, scale: float = 0.01, rho: float | None = None,
                  dtype: str = "float64", activation: str = "tanh") -> CharRNN:
    """The book's initialisation: every weight ~ N(0, scale²), biases 0.

    With ``rho``, W_hh is instead N(0, 1/h) rescaled so that its spectral radius is ρ
    (e.g. ρ = 1.5 for the exploding start of the clipping experiment).
    """
    from .spectral import scale_to_spectral_radius

    rng = np.random.default_rng(as_int("seed", seed, minimum=0))
    rnn = CharRNN(vocab_size, hidden, dtype, activation)
    scale = as_float("scale", scale, low=0.0)
    V, h = rnn.V, rnn.h
    rnn.W_hx[...] = scale * rng.standard_normal((h, V))
    W_hh = rng.standard_normal((h, h))
    if rho is None:
        rnn.W_hh[...] = scale * W_hh
    else:
        rnn.W_hh[...] = scale_to_spectral_radius(W_hh / math.sqrt(h), as_float("rho", rho, low=0.0))
    rnn.W_qh[...] = scale * rng.standard_normal((V, h))
    return rnn


class Workspace:
    """Buffers for one window of shape (T, B), reused from update to update."""

    def __init__(self, rnn: CharRNN, T: int, B: int):
        h, V, dt = rnn.h, rnn.V, rnn.dtype
        self.shape = (T, B)
        self.A = np.empty((T, B, h), dt)      # a_t
        self.H = np.empty((T + 1, B, h), dt)  # h_0 … h_T
        self.O = np.empty((T * B, V), dt)     # o_t, then ∂L/∂o_t, rows (t, b)
        self.G = np.empty((T, B, h), dt)      # ∂L/∂h_t, then δ_t
        self.D = np.empty((T, B, h), dt)      # φ'(a_t)
        self.tmp = np.empty((B, h), dt)
        self.rows = np.arange(T * B)


def _forward(rnn: CharRNN, X: np.ndarray, h0, ws: Workspace) -> None:
    """ws.A, ws.H for X (T, B): a_t = W_hx[:, x_t] + W_hh h_{t-1} + b_h, h_t = φ(a_t)."""
    T = X.shape[0]
    A, H, tmp = ws.A, ws.H, ws.tmp
    H[0] = 0.0 if h0 is None else h0
    np.take(rnn.W_hx.T, X, axis=0, out=A)  # the columns W_hx[:, x_t], all steps and sequences at once
    A += rnn.b_h
    # Rows times W_hhᵀ: (B, h) @ (h, h) is W_hh h_{t-1} for every sequence. A contiguous copy of
    # W_hhᵀ (h² numbers, once per window), since BLAS multiplies by a transposed view more slowly.
    W = np.ascontiguousarray(rnn.W_hh.T)
    dot, add = np.dot, np.add
    if rnn.activation == "tanh":
        tanh = np.tanh
        for t in range(T):
            dot(H[t], W, tmp)
            add(A[t], tmp, A[t])
            tanh(A[t], H[t + 1])
    else:
        act = rnn.activation
        for t in range(T):
            dot(H[t], W, tmp)
            add(A[t], tmp, A[t])
            phi(act, A[t], out=H[t + 1])


def window_gradients(rnn: CharRNN, X, Y, h0=None, xi=None, *, sliding_tau: int | None = None,
                     grads: ParamGrads | None = None, ws: Workspace | None = None) -> tuple[float, ParamGrads, np.ndarray]:
    """(L, ∂L/∂θ, h_T) for one window: X, Y (T, B) character indices, h0 (B, h) or None (zeros).

    xi (T,): the multipliers ξ_t (None: all 1, full BPTT; ``xi[t-1]`` is ξ_t and ξ_1 has
    no effect, h_0 being a constant). ``sliding_tau``: sliding truncation instead (each l_t
    reaches h_t … h_{t-τ+1}). ``grads`` and ``ws`` are reused buffers, if given. Returns
    the final state h_T (B, h) as a copy, for the next window.

    Fast path of ``bptt_reference`` for this model: equal to it, with b_h as the weights of
    an input that is always 1 and b_q = Σ_t ∂L/∂o_t, to rounding
    (tests/test_fast_paths.py::test_window_gradients_equal_the_reference; finite
    differences in tests/test_train.py). float32 models keep float32 throughout.
    """
    X = np.asarray(X)
    Y = np.asarray(Y)
    T, B = X.shape
    if ws is None or ws.shape != (T, B):
        ws = Workspace(rnn, T, B)
    g = rnn.zeros_like() if grads is None else grads
    h, V = rnn.h, rnn.V
    _forward(rnn, X, h0, ws)
    H, O, G = ws.H, ws.O, ws.G
    Hs = H[1:].reshape(T * B, h)
    np.dot(Hs, rnn.W_qh.T, out=O)  # o_t for every step at once
    O += rnn.b_q
    loss = softmax_xent_rows(O, Y.reshape(-1), ws.rows[:T * B])
    np.dot(O.T, Hs, out=g.W_qh)   # Σ ∂L/∂o_t h_tᵀ
    O.sum(axis=0, out=g.b_q)
    G2 = G.reshape(T * B, h)
    np.dot(O, rnn.W_qh, out=G2)   # rows W_qhᵀ ∂L/∂o_t
    dphi = phi_prime(rnn.activation, ws.A, H[1:], out=ws.D)
    if sliding_tau is not None:
        f8 = np.float64
        _, delta = sliding_sweep(rnn.W_hh.astype(f8), G.astype(f8), dphi.astype(f8), sliding_tau)
        G[...] = delta
    else:
        xs = None if xi is None else np.asarray(xi, np.float64).tolist()
        tmp, W_hh = ws.tmp, rnn.W_hh
        mul, dot, add = np.multiply, np.dot, np.add
        for t in range(T - 1, 0, -1):
            mul(G[t], dphi[t], G[t])        # δ_t = φ'(a_t) ⊙ ∂L/∂h_t, complete once step t+1 has sent its part
            if xs is None or xs[t] == 1.0:  # ∂L/∂h_{t-1} += ξ_t W_hhᵀ δ_t  (rows: δ @ W_hh = W_hhᵀ δ)
                dot(G[t], W_hh, tmp)
                add(G[t - 1], tmp, G[t - 1])
            elif xs[t] != 0.0:              # ξ_t = 0 is a cut: nothing flows back
                dot(G[t], W_hh, tmp)
                tmp *= xs[t]
                add(G[t - 1], tmp, G[t - 1])
        mul(G[0], dphi[0], G[0])
    np.dot(G2.T, H[:-1].reshape(T * B, h), out=g.W_hh)  # Σ δ_t h_{t-1}ᵀ in one product
    G2.sum(axis=0, out=g.b_h)
    column_sums(X.reshape(-1), G2, g.W_hx.T)  # ∂L/∂W_hx[:, v] = Σ_{t: x_t = v} δ_t
    return loss, g, H[T].copy()


def matched_pi(tau: int) -> float:
    """π whose expected segment length equals τ: a cut (ξ = 0) has probability 1 − π per step,
    so segments are geometric with mean 1/(1 − π) = τ, i.e. π = 1 − 1/τ (τ ≥ 2)."""
    tau = as_int("tau", tau, minimum=2)
    return 1.0 - 1.0 / tau


def strategy_from_name(name: str, tau: int = 4, pi: float = 0.75, seed: int = 0) -> Strategy:
    """``full`` → Full(), ``chunked`` → Truncated(τ), ``sliding`` → Truncated(τ, "sliding"),
    ``randomized`` → Randomized(π, seed): one of ``STRATEGY_KEYS`` to its strategy."""
    as_choice("strategy", name, STRATEGY_KEYS)
    if name == "full":
        return Full()
    if name in ("chunked", "sliding"):
        return Truncated(tau, name)
    return Randomized(pi, seed)


@dataclass(frozen=True, eq=False)
class TrainConfig:
    """Everything a training run depends on; the same config gives the same run.

    strategy: Full(), Truncated(τ, "chunked" | "sliding") or Randomized(π) (a fresh ξ is
    drawn for every window from the run's seed). hidden: h. num_steps: T, the window.
    theta: clipping threshold θ, None for no clipping. init_rho: ρ(W_hh) at the start
    (None: the book's N(0, 0.01²) weights). valid_every: validation perplexity (and a
    generated sample) every this many updates and after the last. pipeline: how the text
    becomes minibatches, one of ``PIPELINES``: "d2l-2nd" (default), the 2nd edition's
    ``Corpus`` partitioned with ``sequential`` (the book's sequential partitioning with the
    state carried over, else random with the state reset); "d2l-1.0", the 1.0 edition's
    overlapping windows (``d2l_time_machine``: ``num_train`` training and ``num_val``
    validation windows of ``num_steps`` + 1 characters, shuffled, h_0 = 0 every window;
    ``sequential`` is not used). ``d2l_1_0_config()`` gives the book's 1.0 setting. cell: "rnn" (the
    section's network, ``CharRNN``), or "gru" / "lstm" (``bptt_core.gated_train.CharGated``, the book's
    GRU and LSTM sections' cells, in float64 whatever ``dtype``; ``activation`` is the RNN's only).
    """

    strategy: Strategy = field(default_factory=Full)
    hidden: int = 128
    num_steps: int = 35
    batch_size: int = 32
    lr: float = 1.0
    optimizer: str = "sgd"
    theta: float | None = 1.0
    epochs: int = 1
    sequential: bool = True
    init_rho: float | None = None
    init_scale: float = 0.01
    activation: str = "tanh"
    valid_every: int = 10
    seed: int = 0
    dtype: str = "float32"
    prefix: str = "time traveller"
    sample_length: int = 50
    pipeline: str = "d2l-2nd"
    num_train: int = 10_000
    num_val: int = 5_000
    cell: str = "rnn"

    def __post_init__(self):
        check_strategy(self.strategy)
        as_choice("cell", self.cell, ("rnn",) + CELLS)
        as_int("hidden", self.hidden, minimum=1)
        as_int("num_steps", self.num_steps, minimum=1)
        as_int("batch_size", self.batch_size, minimum=1)
        as_float("lr", self.lr, low=0.0, low_open=True)
        as_choice("optimizer", self.optimizer, OPTIMIZERS)
        if self.theta is not None:
            as_float("theta", self.theta, low=0.0, low_open=True)
        as_int("epochs", self.epochs, minimum=1)
        if self.init_rho is not None:
            as_float("init_rho", self.init_rho, low=0.0)
        as_float("init_scale", self.init_scale, low=0.0)
        as_choice("activation", self.activation, ACTIVATIONS)
        as_int("valid_every", self.valid_every, minimum=1)
        as_int("seed", self.seed, minimum=0)
        as_choice("dtype", self.dtype, DTYPES)
        as_int("sample_length", self.sample_length, minimum=0)
        as_choice("pipeline", self.pipeline, PIPELINES)
        as_int("num_train", self.num_train, minimum=1)
        as_int("num_val", self.num_val, minimum=1)


# The book's 1.0 run (chapter "Recurrent Neural Network Implementation from Scratch"):
# d2l.TimeMachine(batch_size=1024, num_steps=32), RNNScratch(num_hiddens=32), RNNLMScratch(lr=1),
# d2l.Trainer(max_epochs=100, gradient_clip_val=1); validation once per epoch (10 updates).
D2L_1_0 = dict(pipeline="d2l-1.0", hidden=32, num_steps=32, batch_size=1024, num_train=10_000, num_val=5_000,
               lr=1.0, optimizer="sgd", theta=1.0, epochs=100, init_rho=None, init_scale=0.01,
               activation="tanh", valid_every=10, prefix="it has", sample_length=20)


def d2l_1_0_config(**overrides) -> TrainConfig:
    """The book's 1.0 setting (``D2L_1_0``: h = 32, T = 32, B = 1024, 10,000 + 5,000 windows, SGD
    η = 1, θ = 1, 100 epochs, σ = 0.01, tanh) as a ``TrainConfig``; ``overrides`` replace any field
    (strategy, seed, dtype, epochs, …)."""
    return TrainConfig(**{**D2L_1_0, **overrides})


@dataclass(frozen=True)
class Update:
    """What one update reports. index: 1-based count of updates; epoch: 1-based.

    loss: the window's L before the step; train_perplexity = exp(loss);
    valid_perplexity: exp(mean −log p) over the validation text after the step (None
    between checkpoints); grad_norm: ‖g‖ over all parameters before clipping;
    clipped: whether clipping changed g; seconds: training wall-clock time so far
    (validation and sampling excluded); sample: text generated from the prefix at a
    checkpoint (else None).
    """

    index: int
    epoch: int
    loss: float
    train_perplexity: float
    valid_perplexity: float | None
    grad_norm: float
    clipped: bool
    seconds: float
    sample: str | None = None

    @property
    def finite(self) -> bool:
        return math.isfinite(self.loss) and math.isfinite(self.grad_norm)


@dataclass(frozen=True, eq=False)
class History:
    """A run's updates as arrays (N,): index, epoch, loss, train_perplexity, valid_perplexity
    (NaN between checkpoints), grad_norm, clipped (bool), seconds; samples: (index, text)
    pairs; diverged: the run stopped at a non-finite loss or gradient; stopped_early: the
    caller stopped it; theta: the clipping threshold (None: off)."""

    index: np.ndarray
    epoch: np.ndarray
    loss: np.ndarray
    train_perplexity: np.ndarray
    valid_perplexity: np.ndarray
    grad_norm: np.ndarray
    clipped: np.ndarray
    seconds: np.ndarray
    samples: tuple[tuple[int, str], ...]
    diverged: bool
    theta: float | None
    stopped_early: bool = False

    @classmethod
    def from_updates(cls, updates, *, diverged: bool = False, theta: float | None = None,
                     stopped_early: bool = False) -> "History":
        u = list(updates)

        def col(name, dtype=float):
            return np.array([getattr(x, name) for x in u], dtype=dtype).reshape(len(u))

        valid = np.array([np.nan if x.valid_perplexity is None else x.valid_perplexity for x in u], float)
        return cls(index=col("index", int), epoch=col("epoch", int), loss=col("loss"),
                   train_perplexity=col("train_perplexity"), valid_perplexity=valid.reshape(len(u)),
                   grad_norm=col("grad_norm"), clipped=col("clipped", bool), seconds=col("seconds"),
                   samples=tuple((x.index, x.sample) for x in u if x.sample is not None),
                   diverged=diverged, theta=theta, stopped_early=stopped_early)

    @property
    def final_valid_perplexity(self) -> float:
        """The last measured validation perplexity (NaN if none)."""
        measured = self.valid_perplexity[np.isfinite(self.valid_perplexity)]
        return float(measured[-1]) if measured.size else float("nan")


def perplexity(rnn: CharRNN | CharGated, tokens, streams: int = VALID_STREAMS) -> float:
    """exp of the mean −log p(next character) over ``tokens`` (N,), read as ``streams``
    parallel streams from h_0 = 0 (one product per step for all of them)."""
    tokens = np.asarray(tokens)
    n = tokens.size - 1
    if n < 1:
        raise ValueError(f"tokens: expected at least 2 characters, got {tokens.size}")
    B = max(1, min(as_int("streams", streams, minimum=1), n))
    L = n // B
    X = tokens[:B * L].reshape(B, L).T  # (L, B): stream b is tokens[bL : (b+1)L]
    Y = tokens[1:B * L + 1].reshape(B, L).T
    if isinstance(rnn, CharGated):
        nll = char_gated_mean_nll(rnn, X, Y)
        return math.exp(nll) if nll < 709.0 else float("inf")
    ws = Workspace(rnn, L, B)
    with np.errstate(over="ignore", invalid="ignore"):
        _forward(rnn, X, None, ws)
        Hs = ws.H[1:].reshape(L * B, rnn.h)
        O = np.dot(Hs, rnn.W_qh.T, out=ws.O)
        O += rnn.b_q
        O -= O.max(axis=1, keepdims=True)
        z_y = O[ws.rows, Y.reshape(-1)]
        nll = float(np.log(np.exp(O).sum(axis=1)).sum() - z_y.sum(dtype=np.float64)) / (L * B)
    return math.exp(nll) if nll < 709.0 else float("inf")


def _mean_nll(rnn: CharRNN, X: np.ndarray, Y: np.ndarray, ws: Workspace) -> float:
    """Mean −log softmax(o_t)[y_t] over the T·B predictions of X, Y (T, B), from h_0 = 0 (forward only)."""
    T, B = X.shape
    with np.errstate(over="ignore", invalid="ignore"):
        _forward(rnn, X, None, ws)
        O = np.dot(ws.H[1:].reshape(T * B, rnn.h), rnn.W_qh.T, out=ws.O)
        O += rnn.b_q
        O -= O.max(axis=1, keepdims=True)
        z_y = O[ws.rows, Y.reshape(-1)]
        return float(np.log(np.exp(O).sum(axis=1)).sum() - z_y.sum(dtype=np.float64)) / (T * B)


def windowed_perplexity(rnn: CharRNN | CharGated, batches) -> float:
    """The book's 1.0 validation perplexity: (1/K) Σ_k exp(L_k) over the K minibatches ``batches``
    (``WindowBatch`` or (X, Y) pairs, (T, B_k)), L_k the mean −log p over the B_k·T predictions of
    minibatch k, every window from h_0 = 0. (d2l's ``validation_step`` logs exp(L_k) per minibatch
    and its ProgressBoard plots their mean for the epoch, each minibatch weighing the same.)"""
    spaces: dict[tuple[int, int], Workspace] = {}
    ppl = []
    for batch in batches:
        X, Y = np.asarray(batch[0]), np.asarray(batch[1])
        if isinstance(rnn, CharGated):
            nll = char_gated_mean_nll(rnn, X, Y)
        else:
            ws = spaces.get(X.shape) or spaces.setdefault(X.shape, Workspace(rnn, *X.shape))
            nll = _mean_nll(rnn, X, Y, ws)
        ppl.append(math.exp(nll) if nll < 709.0 else float("inf"))
    if not ppl:
        raise ValueError("batches: expected at least one validation minibatch")
    return float(np.mean(ppl))


def generate(rnn: CharRNN, vocab, prefix: str, length: int) -> str:
    """``prefix`` followed by ``length`` characters, each the argmax of softmax(o_t) (the book's
    predict_ch8): the prefix warms up the state, then every prediction is fed back in."""
    idx = vocab.encode(prefix)
    if idx.size == 0:
        raise ValueError("prefix: expected at least one character")
    length = as_int("length", length, minimum=0)
    out = list(idx.tolist())
    h = np.zeros(rnn.h, rnn.dtype)
    W_xh, W_hh, act = rnn.W_hx.T, rnn.W_hh, rnn.activation
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(idx.size + length - 1):
            x = out[t]
            h = phi(act, W_xh[x] + W_hh @ h + rnn.b_h)
            if t >= idx.size - 1:
                o = rnn.W_qh @ h + rnn.b_q
                out.append(int(np.argmax(np.nan_to_num(o, nan=-np.inf))))
    return vocab.decode(out)


class Trainer:
    """A training run that advances one update at a time.

    ``for u in Trainer(corpus, config).updates(): ...`` yields an ``Update`` per window
    (stop whenever you like: the model so far stays in ``.rnn``); ``history()`` gathers
    them. Every random choice (initialisation, partitioning, ξ draws) comes from
    ``config.seed``; only ``seconds`` differs between two runs.

    ``corpus``: a ``Corpus`` (``make_corpus``) for either pipeline (for "d2l-1.0" its text is
    cut into the book's windows with the config's num_steps, num_train, num_val), or the
    ``WindowedText`` of ``d2l_time_machine`` for "d2l-1.0" (its sizes must match the config's).
    ``.corpus`` is what was given; ``.windows`` the 1.0 windows (None for "d2l-2nd").
    """

    def __init__(self, corpus: Corpus | WindowedText, config: TrainConfig):
        if not isinstance(config, TrainConfig):
            raise ValueError(f"config: expected a TrainConfig, got {describe(config)}")
        book_1_0 = config.pipeline == "d2l-1.0"
        if not isinstance(corpus, (Corpus, WindowedText) if book_1_0 else Corpus):
            wanted = "a Corpus or a WindowedText (d2l_time_machine)" if book_1_0 else "a Corpus (make_corpus)"
            raise ValueError(f"corpus: the {config.pipeline} pipeline trains on {wanted}, got {describe(corpus)}")
        self.corpus, self.config = corpus, config
        self.windows: WindowedText | None = None
        if isinstance(corpus, WindowedText):
            given = (corpus.num_steps, corpus.num_train, corpus.num_val)
            wanted = (config.num_steps, config.num_train, config.num_val)
            if given != wanted:
                raise ValueError(f"corpus: windows of (num_steps, num_train, num_val) = {given}, but the config "
                                 f"asks for {wanted}")
            self.windows = corpus
        elif book_1_0:
            self.windows = d2l_time_machine(corpus.text, config.num_steps, config.num_train, config.num_val)
        vocab = self.vocab
        init_seed, data_seed, xi_seed = np.random.SeedSequence(config.seed).spawn(3)
        seed = int(init_seed.generate_state(1)[0])
        self.gated = config.cell != "rnn"
        self.rnn: CharRNN | CharGated = (
            init_char_gated(config.cell, len(vocab), config.hidden, seed=seed, scale=config.init_scale,
                            rho=config.init_rho) if self.gated else
            init_char_rnn(len(vocab), config.hidden, seed=seed, scale=config.init_scale, rho=config.init_rho,
                          dtype=config.dtype, activation=config.activation))
        self._data_rng = np.random.default_rng(data_seed)
        self._xi_rng = np.random.default_rng(xi_seed)
        self.grads = self.rnn.zeros_like()
        self._adagrad = np.zeros_like(self.rnn.flat) if config.optimizer == "adagrad" else None
        self._step = np.empty_like(self.rnn.flat)
        self._spaces: dict[tuple[int, int], Workspace] = {}  # one per minibatch shape (T, B)
        self._valid: list[WindowBatch] | None = None
        self.updates_done: list[Update] = []
        self.diverged = False
        self.stopped_early = False
        try:
            vocab.encode(config.prefix)
        except ValueError as exc:
            raise ValueError(f"prefix: {config.prefix!r} cannot start a sample of this text ({exc})") from None
        if self.windows is None:
            # Fail now, not at the first update, if the text cannot fill one minibatch.
            minibatches(corpus.train, config.batch_size, config.num_steps, sequential=config.sequential,
                        rng=np.random.default_rng(0))
        else:
            self._valid = self.windows.batches(config.batch_size, train=False)

    @property
    def vocab(self):
        """The vocabulary the model reads and writes (``Vocab``; ``TokenVocab`` with <unk> for "d2l-1.0")."""
        return self.corpus.vocab if self.windows is None else self.windows.vocab

    def _epoch(self) -> tuple[list[tuple[np.ndarray, np.ndarray]], bool]:
        """The next epoch's minibatches as (X, Y) (T, B) pairs, and whether the state carries across them."""
        c = self.config
        if self.windows is not None:
            return [(b.X, b.Y) for b in self.windows.batches(c.batch_size, train=True, rng=self._data_rng)], False
        batches = minibatches(self.corpus.train, c.batch_size, c.num_steps, sequential=c.sequential,
                              rng=self._data_rng)
        return [(batches.X[i], batches.Y[i]) for i in range(len(batches))], c.sequential

    def _workspace(self, shape: tuple[int, int]) -> Workspace:
        ws = self._spaces.get(shape)
        if ws is None:
            ws = self._spaces[shape] = Workspace(self.rnn, *shape)
        return ws

    def valid_perplexity(self) -> float:
        """The current model's validation perplexity: exp(mean −log p) over the held-out text
        ("d2l-2nd", ``perplexity``), or the book's mean of exp(minibatch loss) over the validation
        windows ("d2l-1.0", ``windowed_perplexity``)."""
        if self._valid is None:
            return perplexity(self.rnn, self.corpus.valid)
        return windowed_perplexity(self.rnn, self._valid)

    def _window(self, X, Y, state, xi, sliding):
        """(L, gradient buffer, state for the next window) of the model on one window."""
        if self.gated:
            return char_gated_gradients(self.rnn, X, Y, state, xi, sliding_tau=sliding, grads=self.grads)
        return window_gradients(self.rnn, X, Y, state, xi, sliding_tau=sliding, grads=self.grads,
                                ws=self._workspace(X.shape))

    def _xi(self, T: int) -> np.ndarray | None:
        """ξ (T,) for the next window (None for sliding truncation); randomized: a fresh draw every window."""
        s = self.config.strategy
        if isinstance(s, Randomized):
            return randomized_xi(T, s.pi, int(self._xi_rng.integers(2**63)))
        return multipliers(s, T)

    def _apply(self, g: np.ndarray) -> None:
        """θ ← θ − η g (SGD) or θ ← θ − η g / √(s + ε), s ← s + g² (Adagrad), in place."""
        lr, step = self.config.lr, self._step
        if self._adagrad is None:
            np.multiply(g, lr, out=step)
        else:
            s = self._adagrad
            np.multiply(g, g, out=step)
            s += step
            np.add(s, ADAGRAD_EPS, out=step)
            np.sqrt(step, out=step)
            np.divide(g, step, out=step)
            step *= lr
        self.rnn.flat -= step

    def updates(self) -> Iterator[Update]:
        """Train for ``config.epochs`` epochs, yielding after each update."""
        c = self.config
        sliding = c.strategy.tau if isinstance(c.strategy, Truncated) and c.strategy.mode == "sliding" else None
        elapsed = 0.0
        n = 0
        state = None
        for epoch in range(1, c.epochs + 1):
            batches, carry = self._epoch()
            state = None  # each epoch starts from h_0 = 0, as the book's train_epoch_ch8
            for i, (X, Y) in enumerate(batches):
                started = time.perf_counter()
                with np.errstate(over="ignore", invalid="ignore"):
                    loss, g, h_T = self._window(X, Y, state if carry else None, self._xi(c.num_steps), sliding)
                    # ‖g‖ (and the clipped g) in float64, whatever the model's dtype.
                    if c.theta is None:
                        step, norm = g.flat, global_norm(g.flat)
                    else:
                        step, norm = clip_by_global_norm(g.flat, c.theta)  # the book's g ← min(1, θ/‖g‖) g
                    finite = math.isfinite(loss) and math.isfinite(norm)
                    clipped = finite and c.theta is not None and norm > c.theta
                    if finite:
                        self._apply(step)
                state = h_T  # a copy: detached from this window's graph
                elapsed += time.perf_counter() - started
                n += 1
                last = (epoch == c.epochs and i == len(batches) - 1) or not finite
                checkpoint = finite and (n % c.valid_every == 0 or last)
                update = Update(
                    index=n, epoch=epoch, loss=loss,
                    train_perplexity=math.exp(loss) if loss < 709.0 else float("inf"),
                    valid_perplexity=self.valid_perplexity() if checkpoint else None,
                    grad_norm=norm, clipped=bool(clipped), seconds=elapsed,
                    sample=self.generate() if checkpoint else None)
                self.updates_done.append(update)
                if not finite:
                    self.diverged = True
                    yield update
                    return
                yield update

    def generate(self, prefix: str | None = None, length: int | None = None) -> str:
        """Greedy text from the current model (defaults: the config's prefix and length)."""
        c = self.config
        write = char_gated_generate if self.gated else generate
        return write(self.rnn, self.vocab, c.prefix if prefix is None else prefix,
                     c.sample_length if length is None else length)

    def history(self) -> History:
        return History.from_updates(self.updates_done, diverged=self.diverged, theta=self.config.theta,
                                    stopped_early=self.stopped_early)


def train(corpus: Corpus | WindowedText, config: TrainConfig,
          callback: Callable[[Update], bool | None] | None = None) -> History:
    """Run ``config`` to the end (or until ``callback(update)`` returns True) and return the History."""
    trainer = Trainer(corpus, config)
    for update in trainer.updates():
        if callback is not None and callback(update):
            trainer.stopped_early = True
            break
    return trainer.history()
