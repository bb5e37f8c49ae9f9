"""Gates against vanishing: the GRU and the LSTM of the book's "Modern Recurrent Neural Networks", with
exact backpropagation through time under every strategy of the lab.

Notation and layout are the book's sections' (row vectors, X_t (B, d) @ W_x* (d, h)):

GRU   R_t = σ(X_t W_xr + H_{t−1} W_hr + b_r)            reset gate
      Z_t = σ(X_t W_xz + H_{t−1} W_hz + b_z)            update gate
      H̃_t = tanh(X_t W_xh + (R_t ⊙ H_{t−1}) W_hh + b_h)  candidate state
      H_t = Z_t ⊙ H_{t−1} + (1 − Z_t) ⊙ H̃_t

LSTM  I_t = σ(X_t W_xi + H_{t−1} W_hi + b_i)   F_t = σ(X_t W_xf + H_{t−1} W_hf + b_f)
      O_t = σ(X_t W_xo + H_{t−1} W_ho + b_o)   C̃_t = tanh(X_t W_xc + H_{t−1} W_hc + b_c)
      C_t = F_t ⊙ C_{t−1} + I_t ⊙ C̃_t         H_t = O_t ⊙ tanh(C_t)

and for both the output Y_t = H_t W_hq + b_q with the lab's losses, L = (1/T) Σ_t l(Y_t, target_t)
(averaged over a batch too). (The book's output is O_t; here ``O`` is the output gate, as in its LSTM.)

The strategies are the plain RNN's (``bptt_core.bptt``): ξ_t scales the whole flow of gradient from
step t back into the state it read, S_{t−1} = H_{t−1} (GRU) or (H_{t−1}, C_{t−1}) (LSTM: both paths);
sliding truncation lets each l_t reach the steps t … t−τ+1. Step t's parameters always receive the
gradient that reached S_t. One step backward, given ∂L/∂S_t (``_Backstep``), is the
chain rule through the equations above, line by line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .bptt import Full, Strategy, check_strategy, multipliers
from .checks import as_choice, as_float, as_float_array, as_int, describe
from .losses import check_targets, loss_and_grad
from .jacobians import JacobianStack
from .model import first_nonfinite_step
from .sweeps import _log10_product_norms  # the renormalised product loop of every stacked lag curve

CELLS = ("gru", "lstm")
GATES = {"gru": ("r", "z", "h"), "lstm": ("i", "f", "o", "c")}  # the order of the stacked columns


def parameter_names(cell: str) -> tuple[str, ...]:
    """The parameters of a cell, in the book's names: W_x*, W_h*, b_* per gate, then W_hq, b_q."""
    gates = GATES[as_choice("cell", cell, CELLS)]
    return tuple(f"{kind}{g}" for g in gates for kind in ("W_x", "W_h", "b_")) + ("W_hq", "b_q")


@dataclass(frozen=True, eq=False)
class GatedRNN:
    """A GRU or an LSTM: ``cell`` ∈ {"gru", "lstm"} and ``params`` by the book's names
    (``parameter_names``): W_x* (d, h), W_h* (h, h), b_* (h,), W_hq (h, q), b_q (q,). Float64, finite,
    read-only copies; a wrong name, shape or value raises ``ValueError`` naming it."""

    cell: str
    params: dict = field(repr=False)

    def __post_init__(self):
        names = parameter_names(self.cell)
        if not isinstance(self.params, dict) or set(self.params) != set(names):
            got = sorted(self.params) if isinstance(self.params, dict) else describe(self.params)
            raise ValueError(f"params: expected the {self.cell} parameters {list(names)}, got {got}")
        W_hq = as_float_array("W_hq", self.params["W_hq"], (2,))
        h, q = W_hq.shape
        d = as_float_array(names[0], self.params[names[0]], (2,)).shape[0]
        want = {"W_x": (d, h), "W_h": (h, h), "b_": (h,)}
        own = {}
        for name in names:
            arr = as_float_array(name, self.params[name], (1, 2))
            shape = (h, q) if name == "W_hq" else (q,) if name == "b_q" else want[name[:3] if name[0] == "W" else "b_"]
            if arr.shape != shape:
                raise ValueError(f"{name}: expected shape {shape} (d = {d}, h = {h}, q = {q}), got {arr.shape}")
            arr = arr.copy()
            arr.setflags(write=False)
            own[name] = arr
        object.__setattr__(self, "params", own)
        gates = GATES[self.cell]
        # Gate-major stacks (G, ·, h), in GATES order: each step's gates are one batched product, and each
        # gate's values a contiguous (T, [B,] h) block (column slices of a stacked (…, G·h) array are
        # strided, and NumPy's element-wise loops over them ran 3 to 5 times slower).
        Wx = np.concatenate([own[f"W_x{g}"] for g in gates], axis=1)
        b = np.concatenate([own[f"b_{g}"] for g in gates])
        Wh = np.stack([own[f"W_h{g}"] for g in gates])
        WhT = np.ascontiguousarray(Wh.transpose(0, 2, 1))
        table = np.stack([own[f"W_x{g}"] + own[f"b_{g}"] for g in gates])   # one-hot inputs' rows, looked up
        for arr in (Wx, b, Wh, WhT, table):
            arr.setflags(write=False)
        object.__setattr__(self, "_stacked", (Wx, Wh, b))
        object.__setattr__(self, "_WhT", WhT)
        object.__setattr__(self, "_table", table)

    @property
    def d(self) -> int:
        return self.params[f"W_x{GATES[self.cell][0]}"].shape[0]

    @property
    def h(self) -> int:
        return self.params["W_hq"].shape[0]

    @property
    def q(self) -> int:
        return self.params["W_hq"].shape[1]

    @property
    def state_size(self) -> int:
        """Entries of the recurrent state S_t: h (GRU: H_t), 2h (LSTM: H_t and C_t)."""
        return self.h * (2 if self.cell == "lstm" else 1)


def init_gated(cell: str, d: int, h: int, q: int, *, seed: int = 0, sigma: float = 0.01,
               W_h=None, biases: dict | None = None) -> GatedRNN:
    """A cell with every weight N(0, σ²) (the book's ``init_weight``, σ = 0.01) and zero biases, drawn from
    ``seed``; ``W_h`` (h, h), if given, is every recurrent W_h* (the lab's W_hh, so a gated cell can
    share its scale), and ``biases`` sets chosen biases to a constant, e.g. {"b_f": 1.0}."""
    names = parameter_names(cell)
    d, h, q = (as_int(n, v, minimum=1) for n, v in (("d", d), ("h", h), ("q", q)))
    sigma = as_float("sigma", sigma, low=0.0)
    rng = np.random.default_rng(as_int("seed", seed, minimum=0))
    shapes = {"W_x": (d, h), "W_h": (h, h), "W_hq": (h, q)}
    params = {}
    for name in names:
        if name.startswith("b_"):
            params[name] = np.zeros(q if name == "b_q" else h)
        else:
            params[name] = sigma * rng.standard_normal(shapes["W_hq" if name == "W_hq" else name[:3]])
    if W_h is not None:
        W_h = as_float_array("W_h", W_h, (2,))
        if W_h.shape != (h, h):
            raise ValueError(f"W_h: expected shape ({h}, {h}), got {W_h.shape}")
        for g in GATES[cell]:
            params[f"W_h{g}"] = W_h
    net = GatedRNN(cell, params)
    return net if not biases else init_with_biases(net, biases)


CANDIDATE = {"gru": "h", "lstm": "c"}    # the gate in the RNN's place: H̃_t, C̃_t = tanh(X W_x + … W_h + b)
GATE_DRAW = {"r": 1, "z": 2, "i": 3, "f": 4, "o": 5}   # each σ gate's own rotation, drawn from the seed


def gated_like_rnn(cell: str, rnn, biases: dict | None = None, seed: int = 0) -> GatedRNN:
    """A GRU or LSTM beside the lab's plain RNN (``bptt_core.model.RNN``, column convention), with the
    same hidden size and the same recurrent scale. The candidate (the GRU's H̃_t, the LSTM's C̃_t), which
    sits where the RNN's tanh(W_hx x + W_hh h) does, uses its matrices: W_x = W_hxᵀ, W_h = W_hhᵀ. Each σ
    gate g uses them in a basis of its own, W_h = P_g W_hhᵀ P_gᵀ and W_x = W_hxᵀ P_gᵀ with P_g a random
    rotation (``random_orthogonal``, from ``seed`` and the gate): the same eigenvalues and singular values
    (ρ and σ₁ are the RNN's), but gates that are not copies of each other or of the candidate.
    W_hq = W_qhᵀ; biases zero but those in ``biases`` (a constant per gate, e.g. {"b_f": 1.0}), b_q = 0."""
    from .spectral import random_orthogonal

    h, q = rnn.h, rnn.q
    seed = as_int("seed", seed, minimum=0)
    params = {name: np.zeros(q if name == "b_q" else h) for name in parameter_names(cell) if name.startswith("b_")}
    for g in GATES[cell]:
        if g == CANDIDATE[cell]:
            params[f"W_x{g}"], params[f"W_h{g}"] = rnn.W_hx.T, rnn.W_hh.T
        else:
            P = random_orthogonal(h, 8 * seed + GATE_DRAW[g])
            params[f"W_x{g}"], params[f"W_h{g}"] = rnn.W_hx.T @ P.T, P @ rnn.W_hh.T @ P.T
    params["W_hq"] = rnn.W_qh.T
    net = GatedRNN(cell, params)
    return net if not biases else init_with_biases(net, biases)


def init_with_biases(net: GatedRNN, biases: dict) -> GatedRNN:
    """``net`` with the gate biases named in ``biases`` set to constants; others unchanged."""
    gate_biases = [n for n in parameter_names(net.cell) if n.startswith("b_") and n != "b_q"]
    params = dict(net.params)
    for name, value in biases.items():
        if name not in gate_biases:
            raise ValueError(f"biases: {name!r} is not a gate bias of the {net.cell} ({gate_biases})")
        params[name] = np.full(net.h, as_float(name, value))
    return GatedRNN(net.cell, params)


@dataclass(frozen=True, eq=False)
class GatedTrace:
    """The forward pass: X (T, [B,] d); H (T+1, [B,] h) with H[0] = H_0; C likewise (LSTM; None for the GRU);
    gates[g] (T, [B,] h) for g in GATES[cell] (for the GRU, "h" is the candidate H̃_t; for the LSTM,
    "c" is C̃_t); tanh_c (T, [B,] h) tanh(C_t) for t = 1 … T (LSTM; None for the GRU); Y (T, [B,] q) the
    outputs. Every gate and state is bounded, so nothing overflows forward."""

    X: np.ndarray
    H: np.ndarray
    C: np.ndarray | None
    gates: dict
    Y: np.ndarray
    tanh_c: np.ndarray | None = None

    @property
    def T(self) -> int:
        return self.X.shape[0]


def _sigmoid_(a: np.ndarray) -> np.ndarray:
    """σ(a) = 1 / (1 + e^(−a)) in place (under np.errstate(over="ignore"): e^(−a) = inf far below zero
    gives exactly 0, and far above, exactly 1). Four passes, and e^x costs half of tanh in NumPy."""
    np.negative(a, out=a)
    np.exp(a, out=a)
    a += 1.0
    return np.divide(1.0, a, out=a)


def input_terms(net: GatedRNN, X: np.ndarray, b: np.ndarray) -> np.ndarray:
    """X_t W_x* + b_* for every gate and step, gate-major: (G, T, [B,] h). b: the stacked biases (G·h,), or
    ([B,] G·h), one row per sequence."""
    G, h = len(GATES[net.cell]), net.h
    A = X @ net._stacked[0] + b                     # (T, [B,] G·h)
    return np.ascontiguousarray(np.moveaxis(A.reshape(A.shape[:-1] + (G, h)), -2, 0))


def lookup_terms(net: GatedRNN, idx: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``input_terms`` of one-hot inputs given as indices idx (any shape, e.g. (T, B) or one step's (B,)):
    row idx of W_x* plus b_*, looked up, gate-major (G, *idx.shape, h) (into ``out``, if given)."""
    return np.take(net._table, idx, axis=1, out=out)


def _check_inputs(net: GatedRNN, X, H0, C0):
    X = as_float_array("X", X, (2, 3))
    if X.shape[-1] != net.d or X.shape[0] == 0:
        raise ValueError(f"X: expected shape (T, [B,] {net.d}) with T ≥ 1, got {X.shape}")
    rest = X.shape[1:-1]
    states = []
    for name, S in (("H0", H0), ("C0", C0)):
        if S is None:
            states.append(np.zeros(rest + (net.h,)))
            continue
        if name == "C0" and net.cell == "gru":
            raise ValueError("C0: a GRU has no memory cell C")
        S = as_float_array(name, S, (1, 2))
        if S.shape != rest + (net.h,):
            raise ValueError(f"{name}: expected shape {rest + (net.h,)}, got {S.shape}")
        states.append(S)
    return X, states[0], states[1]


def gated_forward(net: GatedRNN, X, H0=None, C0=None) -> GatedTrace:
    """The cell's forward pass over X (T, d) or (T, B, d), from H0 (and C0), zeros by default."""
    if not isinstance(net, GatedRNN):
        raise ValueError(f"net: expected a GatedRNN, got {describe(net)}")
    X, H_prev, C_prev = _check_inputs(net, X, H0, C0)
    return _forward(net, X, H_prev, C_prev, net._stacked[2])


class Buffers:
    """Arrays reused from one call to the next (a training loop's windows of one shape): a fresh array of
    tens of MB costs a page fault per 4 kB on first touch, about a tenth of a window's time here."""

    def __init__(self):
        self._arrays: dict = {}

    def empty(self, name: str, shape: tuple) -> np.ndarray:
        arr = self._arrays.get(name)
        if arr is None or arr.shape != shape:
            arr = self._arrays[name] = np.empty(shape)
        arr.setflags(write=True)
        return arr

    def zeros(self, name: str, shape: tuple) -> np.ndarray:
        arr = self.empty(name, shape)
        arr.fill(0.0)
        return arr


def _forward(net: GatedRNN, X: np.ndarray, H_prev: np.ndarray, C_prev: np.ndarray, b: np.ndarray | None,
             onehot: bool = False, buffers: Buffers | None = None) -> GatedTrace:
    """``gated_forward`` on checked inputs, with the stacked biases b (G·h,), or ([B,] G·h) to give each
    sequence of a batch its own (a sweep of one bias on the batch axis). With ``onehot``, X (T, [B]) holds
    the indices of one-hot inputs, and each step's input terms are rows of W_x* + b_*, looked up when the
    step needs them (``lookup_terms``; b unused): a (G, B, h) block that stays in the cache, where the
    whole window's (G, T, B, h) would be written to memory and read back.
    ``buffers``: where to keep the trace's arrays (overwritten by the next call with the same buffers)."""
    buffers = Buffers() if buffers is None else buffers
    T = X.shape[0]
    Wh = net._stacked[1]                            # (G, h, h)
    if onehot:
        ax = np.empty((len(GATES[net.cell]),) + H_prev.shape)

        def inputs(t):                              # X_t W_x* + b_* (G, [B,] h)
            return lookup_terms(net, X[t], out=ax)
    else:
        AX = input_terms(net, X, b)

        def inputs(t):
            return AX[:, t]
    H = buffers.empty("H", (T + 1,) + H_prev.shape)
    H[0] = H_prev
    # Every gate's values at every step, gate-major (G, T, [B,] h): each step writes its activations in
    # place, and ``gates`` are views of it, each contiguous.
    acts = buffers.empty("acts", (len(GATES[net.cell]), T) + H_prev.shape)
    gates = {g: acts[k] for k, g in enumerate(GATES[net.cell])}
    tmp = np.empty(H_prev.shape)
    C = tanh_c = None
    with np.errstate(over="ignore"):                # e^(−a) = inf in σ far below zero: σ = 0 exactly
        if net.cell == "gru":
            R, Z, N = acts
            for t in range(T):
                Hp, x = H[t], inputs(t)
                rz = acts[:2, t]
                np.matmul(Hp, Wh[:2], out=rz)
                rz += x[:2]
                _sigmoid_(rz)                                 # R_t, Z_t
                np.multiply(R[t], Hp, out=tmp)
                n = np.matmul(tmp, Wh[2], out=N[t])
                n += x[2]
                np.tanh(n, out=n)                             # H̃_t
                np.subtract(1.0, Z[t], out=tmp)               # H_t = Z ⊙ H_{t−1} + (1 − Z) ⊙ H̃_t
                tmp *= n
                np.multiply(Z[t], Hp, out=H[t + 1])
                H[t + 1] += tmp
        else:
            C = buffers.empty("C", H.shape)
            C[0] = C_prev
            tanh_c = buffers.empty("tanh_c", (T,) + H_prev.shape)
            I, F, O, G = acts
            for t in range(T):
                a = acts[:, t]
                np.matmul(H[t], Wh, out=a)
                a += inputs(t)
                _sigmoid_(acts[:3, t])                        # I_t, F_t, O_t
                np.tanh(G[t], out=G[t])                       # C̃_t
                np.multiply(F[t], C[t], out=C[t + 1])         # C_t = F_t ⊙ C_{t−1} + I_t ⊙ C̃_t
                np.multiply(I[t], G[t], out=tmp)
                C[t + 1] += tmp
                np.tanh(C[t + 1], out=tanh_c[t])              # H_t = O_t ⊙ tanh(C_t)
                np.multiply(O[t], tanh_c[t], out=H[t + 1])
    Y = np.matmul(H[1:], net.params["W_hq"], out=buffers.empty("Y", (T,) + H.shape[1:-1] + (net.q,)))
    Y += net.params["b_q"]
    for arr in (H, Y, acts, *gates.values()) + tuple(a for a in (C, tanh_c) if a is not None):
        arr.setflags(write=False)
    return GatedTrace(X=X, H=H, C=C, gates=gates, Y=Y, tanh_c=tanh_c)


@dataclass(frozen=True, eq=False)
class GatedGradients:
    """The result of ``gated_bptt``: params[name] = ∂L/∂name (each parameter's shape); dL_dh (T, [B,] h)
    the ∂L/∂H_t that reached step t under the strategy (row t−1 is step t); dL_dc likewise for C_t (LSTM;
    None for the GRU); dL_dy (T, [B,] q); loss; xi (T,) the multipliers used (None for sliding)."""

    params: dict
    dL_dh: np.ndarray
    dL_dc: np.ndarray | None
    dL_dy: np.ndarray
    loss: float
    xi: np.ndarray | None

    def flat(self, cell: str) -> np.ndarray:
        """Every parameter gradient as one vector, in ``parameter_names(cell)`` order."""
        return np.concatenate([self.params[n].ravel() for n in parameter_names(cell)])

    @property
    def backward_overflow_step(self) -> int | None:
        """First step t reached going backward (the largest) with a non-finite ∂L/∂H_t, else None."""
        bad = first_nonfinite_step(self.dL_dh[::-1])
        return None if bad is None else self.dL_dh.shape[0] - bad


class _Backstep:
    """One step backward through the cell, given ∂L/∂S_t: the chain rule through its equations (``gru``,
    ``lstm``). Linear in the gradient: the same step serves ξ patterns, sliding windows and log-space
    sweeps. Each step's factors (σ'(a) = σ(1 − σ), tanh' = 1 − tanh², …) are made from that step's slices:
    computed for all steps at once they were slower (arrays of T·B·h leave the cache)."""

    def __init__(self, net: GatedRNN, tr: GatedTrace):
        self.tr, self.WhT = tr, net._WhT

    def gru(self, t: int, dH: np.ndarray, da: np.ndarray, add: bool = True) -> np.ndarray:
        """Step t (1-based): ∂L/∂(a_r, a_z, a_h) into ``da`` (3, [B,] h), added, or written over it with
        ``add=False``; return the flow into H_{t−1}."""
        tr, WhT = self.tr, self.WhT
        Hp, R, Z, N = tr.H[t - 1], tr.gates["r"][t - 1], tr.gates["z"][t - 1], tr.gates["h"][t - 1]
        a = np.empty(da.shape) if add else da
        u = np.subtract(1.0, Z)
        f = np.multiply(N, N)
        np.subtract(1.0, f, out=f)
        f *= u
        a_h = np.multiply(dH, f, out=a[2])               # H_t = Z ⊙ H_{t−1} + (1 − Z) ⊙ H̃_t, H̃_t = tanh(a_h)
        dRH = a_h @ WhT[2]                               # a_h = X W_xh + (R ⊙ H_{t−1}) W_hh + b_h
        np.subtract(1.0, R, out=f)
        f *= R
        f *= Hp
        np.multiply(dRH, f, out=a[0])                    # R_t = σ(a_r)
        np.subtract(Hp, N, out=f)
        f *= Z
        f *= u
        np.multiply(dH, f, out=a[1])                     # Z_t = σ(a_z)
        if add:
            da += a
        dHp = np.multiply(dH, Z, out=u)
        dRH *= R
        dHp += dRH
        dHp += a[0] @ WhT[0]
        dHp += a[1] @ WhT[1]
        return dHp

    def lstm(self, t: int, dH: np.ndarray, dC_next: np.ndarray, da: np.ndarray, add: bool = True) -> tuple:
        """Step t (1-based): given the flow into C_t from step t+1, ∂L/∂(a_i, a_f, a_o, a_c) into ``da``
        (4, [B,] h), added, or written over it with ``add=False``; return (∂L/∂C_t, the flows into H_{t−1}
        and C_{t−1})."""
        tr, WhT = self.tr, self.WhT
        I, F, O, G = (tr.gates[g][t - 1] for g in GATES["lstm"])
        tc = tr.tanh_c[t - 1]
        f = np.multiply(tc, tc)
        np.subtract(1.0, f, out=f)
        f *= O
        dC = np.multiply(dH, f)                          # H_t = O ⊙ tanh(C_t)
        dC += dC_next
        a = np.empty(da.shape) if add else da
        np.subtract(1.0, I, out=f)
        f *= I
        f *= G
        np.multiply(dC, f, out=a[0])                     # C_t = F ⊙ C_{t−1} + I ⊙ C̃_t, I = σ(a_i)
        np.subtract(1.0, F, out=f)
        f *= F
        f *= tr.C[t - 1]
        np.multiply(dC, f, out=a[1])                     # F = σ(a_f)
        np.subtract(1.0, O, out=f)
        f *= O
        f *= tc
        np.multiply(dH, f, out=a[2])                     # O = σ(a_o)
        np.multiply(G, G, out=f)
        np.subtract(1.0, f, out=f)
        f *= I
        np.multiply(dC, f, out=a[3])                     # C̃ = tanh(a_c)
        if add:
            da += a
        dHp = a[0] @ WhT[0]
        for k in (1, 2, 3):
            dHp += a[k] @ WhT[k]
        return dC, dHp, np.multiply(dC, F, out=f)


def gated_bptt(net: GatedRNN, X, Y, strategy: Strategy = Full(), loss: str = "mse", H0=None,
               C0=None) -> GatedGradients:
    """Gradients of L = (1/T) Σ_t l(Y_t, target_t) for a GRU or an LSTM, by backpropagation through time.

    X (T, d) or (T, B, d); Y the targets: (T, [B,] q) for ``mse``, integer labels (T, [B]) for ``xent``;
    H0, C0 ([B,] h), zeros by default. ``strategy`` as for ``bptt``: ξ_t multiplies
    the flow from step t into S_{t−1} (for the LSTM both ∂L/∂H_{t−1} and ∂L/∂C_{t−1}); sliding truncation
    lets each l_t reach steps t … t−τ+1. Bad arguments raise ``ValueError`` naming the argument.

        ∂L/∂H_t = W_hqᵀ ∂L/∂Y_t + ξ_{t+1} (∂S_{t+1}/∂H_t)ᵀ ∂L/∂S_{t+1}
        ∂L/∂W_x* = Σ_t X_tᵀ ∂L/∂a*_t,  ∂L/∂W_h* = Σ_t H_{t−1}ᵀ ∂L/∂a*_t  (R_t ⊙ H_{t−1} for the GRU's W_hh)

    Checked against central differences of each strategy's surrogate loss, and the randomized
    expectation over every ξ against full BPTT (tests/test_gated.py).
    """
    check_strategy(strategy)
    as_choice("loss", loss, ("mse", "xent"))
    tr = gated_forward(net, X, H0, C0)
    target = check_targets(loss, Y, tr.Y.shape)
    L, dY = loss_and_grad(loss, tr.Y, target)
    dq = dY @ net.params["W_hq"].T                   # what l_t sends into H_t: ∂L/∂Y_t W_hqᵀ
    xi = multipliers(strategy, tr.T)
    tau = strategy.tau if xi is None else None
    da, dL_dh, dL_dc = _backward(net, tr, dq, xi, tau)
    return GatedGradients(params=_parameter_gradients(net, tr, da, dY), dL_dh=dL_dh, dL_dc=dL_dc, dL_dy=dY,
                          loss=L, xi=xi)


def _backward(net: GatedRNN, tr: GatedTrace, dq: np.ndarray, xi: np.ndarray | None, tau: int | None,
              buffers: Buffers | None = None):
    """The backward sweep: (∂L/∂(gate pre-activations) (G, T, [B,] h), gate-major, ∂L/∂H_t, ∂L/∂C_t or None)
    from dq (T, [B,] h), the rows W_hqᵀ ∂L/∂Y_t, with multipliers ξ (T,), or sliding truncation of length
    ``tau``."""
    T = tr.T
    buffers = Buffers() if buffers is None else buffers
    # Every step's slice of da is written by its step (ξ patterns) or added to (sliding windows, from zeros).
    shape = (len(GATES[net.cell]),) + dq.shape
    da = buffers.empty("da", shape) if xi is not None else buffers.zeros("da", shape)
    dL_dh = buffers.zeros("dL_dh", dq.shape)
    dL_dc = buffers.zeros("dL_dc", dq.shape) if net.cell == "lstm" else None
    step = _Backstep(net, tr)
    with np.errstate(over="ignore", invalid="ignore"):
        if xi is not None:
            flow_h = np.zeros(dq.shape[1:])
            flow_c = np.zeros(dq.shape[1:])
            for t in range(T, 0, -1):
                np.add(dq[t - 1], flow_h, out=dL_dh[t - 1])
                if net.cell == "gru":
                    flow_h = step.gru(t, dL_dh[t - 1], da[:, t - 1], add=False)
                else:
                    dL_dc[t - 1], flow_h, flow_c = step.lstm(t, dL_dh[t - 1], flow_c, da[:, t - 1], add=False)
                    if xi[t - 1] != 1.0:
                        flow_c = xi[t - 1] * flow_c if xi[t - 1] != 0.0 else np.zeros_like(flow_c)
                if xi[t - 1] != 1.0:
                    flow_h = xi[t - 1] * flow_h if xi[t - 1] != 0.0 else np.zeros_like(flow_h)
        else:
            for i in range(T, 0, -1):                # l_i reaches steps i … i−τ+1
                gh, gc = dq[i - 1], np.zeros(dq.shape[1:])
                for t in range(i, max(i - tau, 0), -1):
                    dL_dh[t - 1] += gh
                    if net.cell == "gru":
                        gh = step.gru(t, gh, da[:, t - 1])
                    else:
                        dC, gh, gc = step.lstm(t, gh, gc, da[:, t - 1])
                        dL_dc[t - 1] += dC
    return da, dL_dh, dL_dc


def _parameter_gradients(net: GatedRNN, tr: GatedTrace, da: np.ndarray, dY: np.ndarray, dWx=None) -> dict:
    """Sums over the steps (and the batch) of each step's parameter gradients, as one product per kind
    and gate (``dWx`` (G, d, h), if given: the input weights' gradient, summed by the caller)."""
    h, gates = net.h, GATES[net.cell]
    flat = da.reshape(len(gates), -1, h)            # (G, T·B, h)
    HpT = tr.H[:-1].reshape(-1, h).T
    dWx = np.matmul(tr.X.reshape(-1, net.d).T, flat) if dWx is None else dWx
    db = flat.sum(axis=1)
    if net.cell == "gru":   # the candidate's recurrent input is R_t ⊙ H_{t−1}
        RH = np.multiply(tr.gates["r"], tr.H[:-1]).reshape(-1, h)
        dWh = np.concatenate([np.matmul(HpT, flat[:2]), (RH.T @ flat[2])[None]])
    else:
        dWh = np.matmul(HpT, flat)
    out = {}
    for k, g in enumerate(gates):
        out[f"W_x{g}"], out[f"W_h{g}"], out[f"b_{g}"] = dWx[k], dWh[k], db[k]
    out["W_hq"] = tr.H[1:].reshape(-1, h).T @ dY.reshape(-1, net.q)
    out["b_q"] = dY.reshape(-1, net.q).sum(axis=0)
    return out


def gated_log10_dL_dh(net: GatedRNN, X, Y, loss: str = "mse", H0=None, C0=None) -> np.ndarray:
    """log10 ‖∂L/∂H_t‖₂ (T,) under full BPTT (with a batch axis, the norm over the batch's rows), finite
    where ∂L/∂H_t itself would overflow float64: the flow back is carried as 10^s · v with max|v| = 1,

        ∂L/∂H_t = 10^S (10^(s−S) v + 10^(−S) W_hqᵀ ∂L/∂Y_t),   S = max(s, log10 max|W_hqᵀ ∂L/∂Y_t|),

    so no number exceeds 1 in size, and each step backward (linear in the flow) is taken on v. Equal to
    log10 of ``gated_bptt``'s ∂L/∂H_t norms where those are finite (tests/test_gated.py)."""
    tr = gated_forward(net, X, H0, C0)
    target = check_targets(as_choice("loss", loss, ("mse", "xent")), Y, tr.Y.shape)
    return _log10_dL_dh(net, tr, loss_and_grad(loss, tr.Y, target)[1], rows=False)


def _log10_dL_dh(net: GatedRNN, tr: GatedTrace, dY: np.ndarray, rows: bool) -> np.ndarray:
    """log10‖∂L/∂H_t‖ (T,), or (B, T) per sequence with ``rows`` (each its own scale), in log space."""
    T = tr.T
    dq = dY @ net.params["W_hq"].T                  # (T, [B,] h)
    shape = dq.shape[1:-1] if rows else ()
    axes = (-1,) if rows else tuple(range(dq.ndim - 1))
    v, w = np.zeros(dq.shape[1:]), np.zeros(dq.shape[1:])
    s = np.zeros(shape)
    out = np.empty((T,) + shape)
    scratch = np.zeros((len(GATES[net.cell]),) + dq.shape[1:])
    step = _Backstep(net, tr)

    def expand(a):
        return a[..., None] if rows else a

    with np.errstate(divide="ignore"):
        for t in range(T, 0, -1):
            m = np.abs(dq[t - 1]).max(axis=axes)
            S = np.where(m > 0, np.maximum(s, np.log10(np.where(m > 0, m, 1.0))), s)
            keep = expand(10.0 ** (s - S))
            dH = v * keep + dq[t - 1] * expand(10.0 ** -S)
            norm = np.sqrt(np.sum(dH * dH, axis=axes))
            out[t - 1] = S + np.log10(norm)
            if net.cell == "gru":
                v, w = step.gru(t, dH, scratch, add=False), w
            else:
                _, v, w = step.lstm(t, dH, w * keep, scratch, add=False)
            c = np.maximum(np.abs(v).max(axis=axes), np.abs(w).max(axis=axes))
            c = np.where(c > 0, c, 1.0)
            v, w = v / expand(c), w / expand(c)
            s = S + np.log10(c)
    return out.T if rows else out


def lstm_log10_dL_dh_over_forget_bias(net: GatedRNN, X, Y, b_fs, loss: str = "mse") -> np.ndarray:
    """log10 ‖∂L/∂H_t‖₂ (F, T) of the LSTM ``net`` with every entry of b_f set to each value of b_fs (F,),
    one sequence X (T, d): all F networks in one pass, the values on the batch axis (each row its own
    biases and its own scale). Row f equals ``gated_log10_dL_dh`` of the net with b_f = b_fs[f]."""
    tr, F = _lstm_over_forget_bias(net, X, b_fs)
    T = tr.T
    target = check_targets(as_choice("loss", loss, ("mse", "xent")), np.broadcast_to(
        np.asarray(Y)[:, None], (T, F) + np.asarray(Y).shape[1:]), tr.Y.shape)
    # The batch's loss averages over its F rows: each row's own L = (1/T) Σ_t l has F times the gradient.
    return _log10_dL_dh(net, tr, loss_and_grad(loss, tr.Y, target)[1] * F, rows=True)


def _step_jacobian(net: GatedRNN, tr: GatedTrace, i: int) -> np.ndarray:
    """∂S_{i+1}/∂S_i ([B,] n, n) as column-vector Jacobians (row j: ∂(S_{i+1})_j), for every sequence of a
    batched trace at once (the batch's rows may differ in their biases, as in a sweep of b_f)."""
    p, h = net.params, net.h

    def rows(v, W):                                  # diag(v) Wᵀ, batched over v's leading axes
        return v[..., :, None] * W.T

    def diag(v):
        D = np.zeros(v.shape + (v.shape[-1],))
        idx = np.arange(v.shape[-1])
        D[..., idx, idx] = v
        return D

    if net.cell == "gru":
        Hp, R, Z, N = tr.H[i], tr.gates["r"][i], tr.gates["z"][i], tr.gates["h"][i]
        # ∂H̃/∂H_{t−1} = diag(1 − H̃²) W_hhᵀ (diag(R) + diag(H_{t−1} ⊙ R(1−R)) W_hrᵀ)
        dN = rows(1.0 - N * N, np.eye(h)) @ (p["W_hh"].T * R[..., None, :] + p["W_hh"].T @ rows(Hp * R * (1 - R),
                                                                                                 p["W_hr"]))
        return diag(Z) + rows((Hp - N) * Z * (1 - Z), p["W_hz"]) + (1.0 - Z)[..., :, None] * dN
    I, F, O, G = (tr.gates[g][i] for g in GATES["lstm"])
    Cp, tc = tr.C[i], tr.tanh_c[i]
    dC_dH = rows(Cp * F * (1 - F), p["W_hf"]) + rows(G * I * (1 - I), p["W_hi"]) + rows(I * (1 - G * G), p["W_hc"])
    dh = O * (1 - tc * tc)
    J = np.zeros(F.shape[:-1] + (2 * h, 2 * h))
    J[..., :h, :h] = rows(tc * O * (1 - O), p["W_ho"]) + dh[..., :, None] * dC_dH
    J[..., :h, h:] = diag(dh * F)
    J[..., h:, :h] = dC_dH
    J[..., h:, h:] = diag(F)
    return J


class GatedJacobians(JacobianStack):
    """∂S_t/∂S_{t−1} (T, n, n) of one sequence's trace, n = ``net.state_size``, each made when indexed (an
    LSTM at T = 1000, h = 256 would hold 2 GB): ``gated_step_jacobians`` without the array."""

    def __init__(self, net: GatedRNN, tr: GatedTrace):
        if not isinstance(tr, GatedTrace) or tr.X.ndim != 2:
            raise ValueError(f"tr: expected the trace of one sequence, X (T, d); got {describe(tr)}"
                             + (f" with X of shape {tr.X.shape}" if isinstance(tr, GatedTrace) else ""))
        self.net, self.tr = net, tr
        self.shape = (tr.T, net.state_size, net.state_size)

    def __getitem__(self, i: int) -> np.ndarray:
        """J[i] = ∂S_{i+1}/∂S_i."""
        return _step_jacobian(self.net, self.tr, i)


def lstm_lag_norms_over_forget_bias(net: GatedRNN, X, b_fs, K: int) -> np.ndarray:
    """log10 ‖∂S_T/∂S_{T−k}‖₂ (F, K+1), k = 0 … K ≤ T, S = (H, C), of the LSTM ``net`` with every entry of b_f
    set to each value of b_fs (F,), one sequence X (T, d): the F networks' forward passes and Jacobian
    products with the values on an array axis. Row f equals ``log10_lag_norms(GatedJacobians(...), K)`` of
    the net with b_f = b_fs[f] (to ~1e-11 in log10: its norms are certified bounds)."""
    tr, F = _lstm_over_forget_bias(net, X, b_fs)
    K = as_int("K", K, minimum=0, maximum=tr.T)
    return _log10_product_norms(lambda k: _step_jacobian(net, tr, tr.T - k), F, 2 * net.h, K)


def _lstm_over_forget_bias(net: GatedRNN, X, b_fs) -> tuple[GatedTrace, int]:
    """The forward pass of the LSTM at every b_f of b_fs (F,), the values on the batch axis."""
    if not isinstance(net, GatedRNN) or net.cell != "lstm":
        raise ValueError(f"net: expected an LSTM GatedRNN, got {describe(net)}")
    X, _, _ = _check_inputs(net, X, None, None)
    if X.ndim != 2:
        raise ValueError(f"X: expected one sequence (T, {net.d}), got shape {X.shape}")
    b_fs = as_float_array("b_fs", b_fs, (1,))
    F, T, h = b_fs.size, X.shape[0], net.h
    b = np.repeat(net._stacked[2][None, :], F, axis=0)
    b[:, h:2 * h] = b_fs[:, None]                   # the columns of F_t's bias (GATES order i, f, o, c)
    zeros = np.zeros((F, h))
    return _forward(net, np.broadcast_to(X[:, None, :], (T, F, net.d)), zeros, zeros, b), F


def gated_step_jacobians(net: GatedRNN, tr: GatedTrace) -> np.ndarray:
    """∂S_t/∂S_{t−1} (T, n, n) for one sequence (no batch axis), n = ``net.state_size``, as column-vector
    Jacobians (row i: ∂(S_t)_i): for the LSTM S = (H, C) stacked, so the blocks are
    [[∂H_t/∂H_{t−1}, ∂H_t/∂C_{t−1}], [∂C_t/∂H_{t−1}, ∂C_t/∂C_{t−1} = diag(F_t)]]. Their products give the
    lag curves (``log10_lag_norms``, which also takes ``GatedJacobians`` without the array)."""
    return GatedJacobians(net, tr).dense()
