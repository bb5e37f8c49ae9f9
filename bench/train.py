"""One training epoch of the character RNN: bptt_core.train against PyTorch eager, in the same run.

What it measures
----------------
One epoch over the full preprocessed Time Machine (from ``BPTT_TIME_MACHINE``,
else ``../shared/data/timemachine.txt``; the project's short text if neither
is there, which the output says) with the book's setup for its char RNN:

    h = 128 hidden units, T = 35 steps per window, B = 32 sequences per batch,
    sequential partitioning with the state carried (detached) between windows,
    full BPTT inside each window, clipping by global norm θ = 1, SGD with η = 1,
    the book's N(0, 0.01²) initialisation, tanh, softmax cross-entropy.

- ours:          ``bptt_core.Trainer(...).updates()`` run to the end of the epoch
                 (the whole loop, including one validation pass and one
                 generated sample at the end, which PyTorch's side does not do);
- PyTorch eager: the same model and update written the usual way: the input
                 columns by ``W_hx.T[X]`` (an embedding lookup), a Python loop
                 over time, ``F.cross_entropy``, ``loss.backward()``,
                 ``clip_grad_norm_``, an in-place SGD step, the state detached.

Both get the same initial parameters and the same minibatches (ours draws
them from the seed; PyTorch is handed the same arrays). Before timing, the
first update's loss and the parameters after it must agree (relative 1e-4 in
float32, 1e-10 in float64), else the script exits with status 1.

Timing: each implementation runs whole epochs, alternating, ``--rounds`` times
(default 3); the table shows the median. Both run in float32 and in float64
(``--dtype`` to pick one); the library's default is the faster one.

Threads: PyTorch with ``torch.set_num_threads(1)``; NumPy's BLAS limited to
one thread with threadpoolctl (and ``OPENBLAS_NUM_THREADS=1`` etc. set before
numpy is imported, as in bench/core.py).

The gated cells (``--cells``, on by default): one epoch of the GRU and of the LSTM in the book's setting
for its GRU and LSTM sections (d2l 1.0: 10,000 overlapping windows of 32 + 1 characters, B = 1024, h = 32,
full BPTT, θ = 1, SGD η = 4; ``bptt_core.gated_train``, float64), each against PyTorch (float64, one thread)
on the same minibatches from the same parameters:

- a hand-written cell loop with autograd (the book's ``GRUScratch`` / ``LSTMScratch`` equations, the
  inputs looked up as rows of W_x*, as ours do), checked first: the first update's loss and the parameters
  after it agree to 1e-10;
- ``nn.GRU`` / ``nn.LSTM`` (one-hot inputs, as the book's concise sections feed them, and a linear output):
  timing only. ``nn.GRU`` puts the reset gate after its recurrent product (r ⊙ (W_hn h + b_hn)), so it is
  not the book's GRU; ``nn.LSTM`` is the book's LSTM with a second bias.

Ours is timed by its ``Update.seconds`` (training only: the validation and the sample at the end of the
epoch are left out, as PyTorch's side does not do them).

Run
---
From the repository root::

    python bench/train.py              # both dtypes and the cells, 3 rounds, a few minutes
    python bench/train.py --quick      # 1 round on a tenth of the text, the cells on a tenth of the windows
    python bench/train.py --no-cells   # the RNN only
"""

from __future__ import annotations

import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

from bptt_core import (Full, TrainConfig, Trainer, d2l_1_0_config, load_time_machine, make_corpus,  # noqa: E402
                       preprocess)
from bptt_core.gated import GATES  # noqa: E402
from bptt_core.gated_train import BOOK_CELL_SETTINGS  # noqa: E402

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = None
else:
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass

SHARED_COPY = Path(ROOT).parent / "shared" / "data" / "timemachine.txt"
H, STEPS, BATCH, LR, THETA, SEED = 128, 35, 32, 1.0, 1.0, 0
TARGET = 2.0  # ours at least this many times faster than PyTorch eager
TOLERANCE = {"float32": 1e-4, "float64": 1e-10}


def load_text() -> tuple[str, str]:
    """(preprocessed text, where it came from)."""
    path = os.environ.get("BPTT_TIME_MACHINE") or (str(SHARED_COPY) if SHARED_COPY.is_file() else None)
    loaded = load_time_machine(path)
    return preprocess(loaded.text), loaded.detail


def config(dtype: str) -> TrainConfig:
    # valid_every larger than an epoch: one validation pass, after the last update.
    return TrainConfig(strategy=Full(), hidden=H, num_steps=STEPS, batch_size=BATCH, lr=LR, theta=THETA,
                       epochs=1, sequential=True, valid_every=10**9, seed=SEED, dtype=dtype)


def ours_epoch(corpus, cfg) -> tuple[float, list[float], Trainer]:
    """(seconds, losses, trainer) of one epoch with bptt_core."""
    trainer = Trainer(corpus, cfg)
    start = time.perf_counter()
    losses = [u.loss for u in trainer.updates()]
    return time.perf_counter() - start, losses, trainer


class TorchRNN:
    """The same model in PyTorch eager, started from our initial parameters, fed our minibatches."""

    def __init__(self, trainer: Trainer, dtype: str):
        self.dtype = getattr(torch, dtype)
        self.params = [torch.tensor(np.array(p), dtype=self.dtype, requires_grad=True) for p in trainer.rnn.params]

    @staticmethod
    def batches(trainer: Trainer):
        """The epoch's minibatches as ours draws them (same seed, same generator state)."""
        from bptt_core import minibatches

        fresh = Trainer(trainer.corpus, trainer.config)
        c = trainer.config
        b = minibatches(fresh.corpus.train, c.batch_size, c.num_steps, sequential=True, rng=fresh._data_rng)
        return torch.from_numpy(b.X), torch.from_numpy(b.Y)

    def epoch(self, X, Y) -> tuple[float, list[float]]:
        W_hx, W_hh, b_h, W_qh, b_q = self.params
        V = W_qh.shape[0]
        state = torch.zeros(X.shape[2], W_hh.shape[0], dtype=self.dtype)
        losses = []
        start = time.perf_counter()
        for i in range(X.shape[0]):
            for p in self.params:
                p.grad = None
            A = W_hx.T[X[i]] + b_h  # (T, B, h): the columns W_hx[:, x_t]
            W_hhT = W_hh.T
            states = []
            for t in range(X.shape[1]):
                state = torch.tanh(A[t] + state @ W_hhT)
                states.append(state)
            O = torch.stack(states) @ W_qh.T + b_q
            loss = F.cross_entropy(O.reshape(-1, V), Y[i].reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.params, THETA)
            with torch.no_grad():
                for p in self.params:
                    p -= LR * p.grad
            state = state.detach()
            losses.append(float(loss.detach()))
        return time.perf_counter() - start, losses


def first_update_agrees(corpus, dtype: str) -> tuple[bool, str]:
    """Run one update in each and compare the loss and the parameters after it."""
    cfg = config(dtype)
    trainer = Trainer(corpus, cfg)
    model = TorchRNN(trainer, dtype)
    X, Y = TorchRNN.batches(trainer)
    _, t_losses = model.epoch(X[:1], Y[:1])
    u = next(trainer.updates())
    tol = TOLERANCE[dtype]
    loss_diff = abs(u.loss - t_losses[0]) / abs(t_losses[0])
    after = np.concatenate([p.detach().numpy().ravel() for p in model.params])
    ours = np.concatenate([np.asarray(p).ravel() for p in trainer.rnn.params])
    param_diff = float(np.max(np.abs(after - ours)) / np.max(np.abs(ours)))
    ok = loss_diff <= tol and param_diff <= tol
    return ok, (f"{dtype}: first loss ours {u.loss:.8f}, PyTorch {t_losses[0]:.8f} (relative Δ {loss_diff:.1e}); "
                f"parameters after the update: max |Δ| / max |θ| = {param_diff:.1e} "
                f"({'agree' if ok else 'DISAGREE'}, tolerance {tol:g})")


# --- the gated cells ---------------------------------------------------------------------------

def cell_config(cell: str, quick: bool) -> TrainConfig:
    """The book's setting for the cell's section, one epoch, float64, validated only after the last update."""
    sizes = dict(num_train=2_048, num_val=500) if quick else {}
    return d2l_1_0_config(cell=cell, epochs=1, lr=BOOK_CELL_SETTINGS[cell]["lr"], dtype="float64",
                          valid_every=10**9, **sizes)


def cell_batches(corpus, cfg: TrainConfig) -> list:
    """The epoch's minibatches as ours draws them (a fresh trainer: same seed, same generator state)."""
    fresh = Trainer(corpus, cfg)
    return [(torch.from_numpy(b.X.astype(np.int64)), torch.from_numpy(b.Y.astype(np.int64)))
            for b in fresh.windows.batches(cfg.batch_size, train=True, rng=fresh._data_rng)]


def ours_cell_epoch(corpus, cfg) -> tuple[float, list[float], Trainer]:
    trainer = Trainer(corpus, cfg)
    updates = list(trainer.updates())
    return updates[-1].seconds, [u.loss for u in updates], trainer


class TorchCellLoop:
    """The book's GRUScratch / LSTMScratch step written out with autograd, from our initial parameters."""

    def __init__(self, trainer: Trainer):
        self.cell = trainer.config.cell
        self.lr, self.theta = trainer.config.lr, trainer.config.theta
        self.p = {n: torch.tensor(np.array(v), dtype=torch.float64, requires_grad=True)
                  for n, v in trainer.rnn.views.items()}

    def step(self, x, H, C):
        p = self.p
        if self.cell == "gru":
            Z = torch.sigmoid(p["W_xz"][x] + H @ p["W_hz"] + p["b_z"])
            R = torch.sigmoid(p["W_xr"][x] + H @ p["W_hr"] + p["b_r"])
            H_tilde = torch.tanh(p["W_xh"][x] + (R * H) @ p["W_hh"] + p["b_h"])
            return Z * H + (1 - Z) * H_tilde, None
        I = torch.sigmoid(p["W_xi"][x] + H @ p["W_hi"] + p["b_i"])
        F_ = torch.sigmoid(p["W_xf"][x] + H @ p["W_hf"] + p["b_f"])
        O = torch.sigmoid(p["W_xo"][x] + H @ p["W_ho"] + p["b_o"])
        C_tilde = torch.tanh(p["W_xc"][x] + H @ p["W_hc"] + p["b_c"])
        C = F_ * C + I * C_tilde
        return O * torch.tanh(C), C

    def epoch(self, batches) -> tuple[float, list[float]]:
        params = list(self.p.values())
        losses = []
        start = time.perf_counter()
        for X, Y in batches:
            for q in params:
                q.grad = None
            H = torch.zeros(X.shape[1], self.p["W_hq"].shape[0], dtype=torch.float64)
            C = torch.zeros_like(H) if self.cell == "lstm" else None
            outs = []
            for t in range(X.shape[0]):
                H, C = self.step(X[t], H, C)
                outs.append(H)
            O = torch.stack(outs) @ self.p["W_hq"] + self.p["b_q"]
            loss = F.cross_entropy(O.reshape(-1, O.shape[-1]), Y.reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, self.theta)
            with torch.no_grad():
                for q in params:
                    q -= self.lr * q.grad
            losses.append(float(loss.detach()))
        return time.perf_counter() - start, losses


class TorchCellModule:
    """``nn.GRU`` / ``nn.LSTM`` over one-hot inputs with a linear output (timing only: its own initialisation)."""

    def __init__(self, trainer: Trainer):
        c = trainer.config
        torch.manual_seed(0)
        self.V = trainer.rnn.V
        kind = torch.nn.GRU if c.cell == "gru" else torch.nn.LSTM
        self.rnn = kind(self.V, c.hidden).double()
        self.out = torch.nn.Linear(c.hidden, self.V).double()
        self.params = list(self.rnn.parameters()) + list(self.out.parameters())
        self.lr, self.theta = c.lr, c.theta

    def epoch(self, batches) -> tuple[float, list[float]]:
        losses = []
        start = time.perf_counter()
        for X, Y in batches:
            for q in self.params:
                q.grad = None
            H, _ = self.rnn(F.one_hot(X, self.V).double())
            loss = F.cross_entropy(self.out(H).reshape(-1, self.V), Y.reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.params, self.theta)
            with torch.no_grad():
                for q in self.params:
                    q -= self.lr * q.grad
            losses.append(float(loss.detach()))
        return time.perf_counter() - start, losses


def cell_first_update_agrees(corpus, cfg) -> tuple[bool, str]:
    trainer = Trainer(corpus, cfg)
    loop = TorchCellLoop(trainer)
    _, t_losses = loop.epoch(cell_batches(corpus, cfg)[:1])
    u = next(trainer.updates())
    loss_diff = abs(u.loss - t_losses[0]) / abs(t_losses[0])
    after = np.concatenate([loop.p[n].detach().numpy().ravel() for n in trainer.rnn.views])
    ours = trainer.rnn.flat
    param_diff = float(np.max(np.abs(after - ours)) / np.max(np.abs(ours)))
    ok = loss_diff <= 1e-10 and param_diff <= 1e-10
    return ok, (f"{cfg.cell.upper()}: first loss ours {u.loss:.10f}, PyTorch loop {t_losses[0]:.10f} (relative Δ "
                f"{loss_diff:.1e}); parameters after the update: max |Δ| / max |θ| = {param_diff:.1e} "
                f"({'agree' if ok else 'DISAGREE'}, tolerance 1e-10)")


def cells_part(corpus, rounds: int, quick: bool) -> bool:
    """The GRU and LSTM table; False when a first update disagrees."""
    print()
    print("# One epoch of each gated cell: bptt_core.gated_train vs PyTorch (float64, one thread)")
    print()
    agree, notes, rows = True, [], []
    for cell in ("gru", "lstm"):
        cfg = cell_config(cell, quick)
        ok, line = cell_first_update_agrees(corpus, cfg)
        agree &= ok
        notes.append(line)
        batches = cell_batches(corpus, cfg)
        times = {"ours": [], "loop": [], "module": []}
        for _ in range(rounds):
            seconds, losses, trainer = ours_cell_epoch(corpus, cfg)
            times["ours"].append(seconds)
            times["loop"].append(TorchCellLoop(Trainer(corpus, cfg)).epoch(batches)[0])
            times["module"].append(TorchCellModule(trainer).epoch(batches)[0])
        med = {k: statistics.median(v) for k, v in times.items()}
        rows.append((cell, len(batches), med))
    print(f"- the book's setting for its GRU and LSTM sections: d2l 1.0 windows, B = {cfg.batch_size}, "
          f"T = {cfg.num_steps}, h = {cfg.hidden}, θ = {cfg.theta:g}, SGD η = {cfg.lr:g}, full BPTT; "
          f"median of {rounds} alternating epochs")
    print()
    print("| cell | updates per epoch | ours (ms / epoch) | PyTorch hand-written loop (ms) | nn.GRU / nn.LSTM (ms) "
          "| ours vs loop (× faster) | ours vs nn module (× faster) | target ≥ 1× the loop |")
    print("|---|---:|---:|---:|---:|---:|---:|:---:|")
    for cell, n, med in rows:
        vs_loop, vs_module = med["loop"] / med["ours"], med["module"] / med["ours"]
        print(f"| {cell.upper()} | {n} | {med['ours'] * 1e3:.0f} | {med['loop'] * 1e3:.0f} | {med['module'] * 1e3:.0f} "
              f"| {vs_loop:.2f} | {vs_module:.2f} | {'PASS' if vs_loop >= 1.0 else 'MISS'} |")
    print()
    for line in notes:
        print(f"- {line}")
    return agree


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dtype", choices=("float32", "float64", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="one round on a tenth of the text (smoke test)")
    parser.add_argument("--no-cells", action="store_true", help="leave out the GRU and LSTM")
    args = parser.parse_args(argv)
    text, source = load_text()
    if args.quick:
        text, args.rounds = text[:len(text) // 10], 1
    corpus = make_corpus(text)
    dtypes = ("float32", "float64") if args.dtype == "both" else (args.dtype,)

    with threadpool_limits(limits=1, user_api="blas"):
        print("# Training one epoch: bptt_core.train vs PyTorch eager" + (" (--quick)" if args.quick else ""))
        print()
        print(f"- text: {source} {len(text)} characters after preprocessing, vocabulary {len(corpus.vocab)}, "
              f"{corpus.train.size} for training")
        print(f"- model: h = {H}, T = {STEPS}, B = {BATCH}, full BPTT per window, SGD η = {LR}, clipping θ = {THETA}, "
              "sequential minibatches, state carried")
        print(f"- python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs; BLAS pools: "
              + ", ".join(f"{p.get('internal_api')}={p.get('num_threads')}" for p in threadpool_info()))
        if torch is None:
            print("- PyTorch not installed (requirements-bench.txt): only our times are shown")
        else:
            print(f"- PyTorch {torch.__version__}, intra-op threads {torch.get_num_threads()}")
        print(f"- timing: median of {args.rounds} alternating epochs per implementation")
        print()
        notes, agree, rows = [], True, []
        for dtype in dtypes:
            cfg = config(dtype)
            if torch is not None:
                ok, line = first_update_agrees(corpus, dtype)
                agree &= ok
                notes.append(line)
            ours_t, torch_t = [], []
            n_updates = None
            for _ in range(args.rounds):
                seconds, losses, trainer = ours_epoch(corpus, cfg)
                ours_t.append(seconds)
                n_updates = len(losses)
                if torch is not None:
                    model = TorchRNN(trainer.__class__(corpus, cfg), dtype)
                    X, Y = TorchRNN.batches(trainer)
                    seconds, t_losses = model.epoch(X, Y)
                    torch_t.append(seconds)
            ours_s = statistics.median(ours_t)
            torch_s = statistics.median(torch_t) if torch_t else None
            rows.append((dtype, n_updates, ours_s, torch_s, losses[-1], t_losses[-1] if torch_t else None))
        print("| dtype | updates per epoch | ours (ms / epoch) | PyTorch eager (ms / epoch) | ours (updates/s) "
              "| PyTorch (updates/s) | ours vs PyTorch (× faster) | target ≥ 2× |")
        print("|---|---:|---:|---:|---:|---:|---:|:---:|")
        for dtype, n, ours_s, torch_s, last, t_last in rows:
            ratio = None if torch_s is None else torch_s / ours_s
            print(f"| {dtype} | {n} | {ours_s * 1e3:.0f} | {'n/a' if torch_s is None else f'{torch_s * 1e3:.0f}'} "
                  f"| {n / ours_s:.0f} | {'n/a' if torch_s is None else f'{n / torch_s:.0f}'} "
                  f"| {'n/a' if ratio is None else f'{ratio:.2f}'} "
                  f"| {'n/a' if ratio is None else ('PASS' if ratio >= TARGET else 'MISS')} |")
        print()
        for dtype, n, _, _, last, t_last in rows:
            notes.append(f"{dtype}: loss after the epoch ours {last:.4f}"
                         + ("" if t_last is None else f", PyTorch {t_last:.4f}"))
        for line in notes:
            print(f"- {line}")
        if not args.no_cells and torch is not None:
            agree &= cells_part(make_corpus(load_text()[0]), args.rounds, args.quick)
    if not agree:
        print("\nFAILED: the first update disagrees (see above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
