"""The book's 1.0 run, reproduced: d2l.TimeMachine + RNNLMScratch + d2l.Trainer in bptt_core.

What it measures
----------------
The setting of the book's 1.0 chapter "Recurrent Neural Network Implementation from Scratch"
(``bptt_core.d2l_1_0_config``): The Time Machine preprocessed as the book does, the vocabulary
with ``<unk>`` (28 tokens), overlapping windows of 32 + 1 characters, the first 10,000 windows
for training and the next 5,000 for validation, minibatches of 1024 shuffled windows each from
h_0 = 0, h = 32, tanh, N(0, 0.01²) weights, SGD with η = 1 after clipping the gradient to
‖g‖ ≤ θ = 1, 100 epochs (1,000 updates). The figure is the book's: the validation perplexity
after the last epoch, as d2l plots it (mean over the 5 validation minibatches of exp(mean loss
of the minibatch)).

- full BPTT over each window for ``--seeds`` seeds (default 5), float32 (the library's default),
  against the book's own code: 7.37 ± 0.05 (PyTorch, two seeds, measured by the issue's author);
- regular (chunked) truncation τ and randomized truncation π = 1 − 1/τ once each (seed 0);
- full BPTT in float64 once (seed 0), to see whether the precision matters.

Each row also gives exp(mean loss over all 160,000 validation predictions) (the same figure
weighted by prediction instead of by minibatch), the mean of the last ten epochs' figures (how much
the last one wanders), the training seconds (``Update.seconds``: updates only) and the wall-clock
seconds of the run (validation after every epoch and samples included).

Threads: NumPy's BLAS limited to one thread (threadpoolctl, and ``OPENBLAS_NUM_THREADS=1`` etc.
set before numpy is imported), as the other benchmarks.

Run
---
From the repository root, with the book's text at ``$BPTT_TIME_MACHINE`` (else
``../shared/data/timemachine.txt``)::

    python bench/d2l.py              # the README's table, about five minutes on one core
    python bench/d2l.py --quick      # 5 epochs, 2 seeds: a smoke test
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
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from bptt_core import (BOOK_VALID_PERPLEXITY, Full, Randomized, Trainer, Truncated, d2l_1_0_config,  # noqa: E402
                       d2l_time_machine, load_time_machine, matched_pi, windowed_perplexity)

SHARED_COPY = Path(ROOT).parent / "shared" / "data" / "timemachine.txt"
BOOK, BOOK_STD = BOOK_VALID_PERPLEXITY["d2l-1.0"]


def load_text() -> tuple[str, str, bool]:
    """(raw text, where it came from, is it the book)."""
    path = os.environ.get("BPTT_TIME_MACHINE") or (str(SHARED_COPY) if SHARED_COPY.is_file() else None)
    loaded = load_time_machine(path)
    return loaded.text, loaded.detail, loaded.is_book


def run(data, label: str, **overrides) -> dict:
    """Train one configuration to the end; the figures of the table's row."""
    trainer = Trainer(data, d2l_1_0_config(**overrides))
    started = time.perf_counter()
    history = []
    for u in trainer.updates():
        if u.valid_perplexity is not None:
            history.append(u.valid_perplexity)
    wall = time.perf_counter() - started
    h = trainer.history()
    every = data.batches(data.num_val, train=False)  # all validation windows as one minibatch
    return dict(label=label, seed=trainer.config.seed, dtype=trainer.config.dtype, epochs=trainer.config.epochs,
                final=h.final_valid_perplexity, pooled=windowed_perplexity(trainer.rnn, every),
                last10=float(np.mean(history[-10:])), seconds=float(h.seconds[-1]), wall=wall,
                diverged=h.diverged, sample=h.samples[-1][1] if h.samples else "")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds of full BPTT (float32)")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--tau", type=int, default=4, help="τ of regular truncation; randomized uses π = 1 − 1/τ")
    parser.add_argument("--no-float64", action="store_true", help="skip the float64 run")
    parser.add_argument("--quick", action="store_true", help="5 epochs, 2 seeds, no float64 (a smoke test)")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.seeds, args.no_float64 = 5, 2, True
    raw, source, is_book = load_text()
    config = d2l_1_0_config(epochs=args.epochs)
    data = d2l_time_machine(raw, config.num_steps, config.num_train, config.num_val)
    pi = matched_pi(args.tau)
    command = "python bench/d2l.py" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    started = time.perf_counter()

    print("# The book's 1.0 run (d2l.TimeMachine, RNNLMScratch, d2l.Trainer) in bptt_core"
          + (" (--quick)" if args.quick else ""))
    print()
    print(f"- command: `{command}`")
    print(f"- text: {source} {len(data.text)} characters after preprocessing, vocabulary "
          f"{len(data.vocab)} tokens with <unk>, {data.n_windows} windows of {config.num_steps} + 1; "
          f"{config.num_train} train, the next {config.num_val} validate"
          + ("" if is_book else " — NOT the book's text: the book's figure does not apply"))
    print(f"- model: tanh, h = {config.hidden}, B = {config.batch_size}, h_0 = 0 for every window, SGD η = "
          f"{config.lr:g}, θ = {config.theta:g}, σ = {config.init_scale:g}, {args.epochs} epochs of "
          f"{-(-config.num_train // config.batch_size)} updates")
    print(f"- python {platform.python_version()}, numpy {np.__version__}, one BLAS thread, {os.cpu_count()} CPUs "
          "(shared: times are indicative)")
    print()

    rows = []
    with threadpool_limits(limits=1, user_api="blas"):
        for seed in range(args.seeds):
            rows.append(run(data, "Full BPTT", seed=seed, epochs=args.epochs))
        rows.append(run(data, f"Regular truncation τ = {args.tau}", strategy=Truncated(args.tau), seed=0,
                        epochs=args.epochs))
        rows.append(run(data, f"Randomized truncation π = {pi:.2f}", strategy=Randomized(pi), seed=0,
                        epochs=args.epochs))
        if not args.no_float64:
            rows.append(run(data, "Full BPTT", seed=0, dtype="float64", epochs=args.epochs))

    print("| strategy | dtype | seed | final validation perplexity (the book's measure) "
          "| exp(mean loss), all predictions | mean of the last 10 epochs | training s | wall s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['label']} | {r['dtype']} | {r['seed']} | {r['final']:.3f}{' (diverged)' if r['diverged'] else ''} "
              f"| {r['pooled']:.3f} | {r['last10']:.3f} | {r['seconds']:.1f} | {r['wall']:.1f} |")
    print()
    full = np.array([r["final"] for r in rows[:args.seeds]])
    wall = np.array([r["wall"] for r in rows[:args.seeds]])
    mean = full.mean()
    std = full.std(ddof=1) if full.size > 1 else float("nan")
    inside = abs(mean - BOOK) <= BOOK_STD
    print("| | final validation perplexity, full BPTT | seeds | wall s per run |")
    print("|---|---:|---:|---:|")
    print(f"| the book's own code (d2l 1.0, PyTorch) | {BOOK:.2f} ± {BOOK_STD:.2f} | 2 | |")
    print(f"| bptt_core, float32 | {mean:.2f} ± {std:.2f} | {full.size} | {wall.mean():.1f} |")
    print()
    if args.epochs == 100 and is_book:
        se = std / np.sqrt(full.size) if full.size > 1 else float("nan")
        print(f"Our mean {mean:.2f} is {'inside' if inside else 'outside'} the book's band {BOOK:.2f} ± {BOOK_STD:.2f} "
              f"(difference {mean - BOOK:+.2f}; standard error of our mean {se:.2f}); per seed: "
              + ", ".join(f"{p:.2f}" for p in full) + ".")
    else:
        print("Fewer than the book's 100 epochs, or not the book's text: the book's figure is shown for reference only.")
    print(f"\nTotal time: {time.perf_counter() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
