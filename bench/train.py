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

Run
---
From the repository root::

    python bench/train.py              # both dtypes, 3 rounds, about a minute
    python bench/train.py --quick      # 1 round on a tenth of the text
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

from bptt_core import Full, TrainConfig, Trainer, load_time_machine, make_corpus, preprocess  # noqa: E402

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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dtype", choices=("float32", "float64", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="one round on a tenth of the text (smoke test)")
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
    if not agree:
        print("\nFAILED: the first update disagrees (see above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
