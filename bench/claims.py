"""Testing the section's claims by training: does randomized truncation beat regular truncation,
and is gradient clipping vital?

The section ends with claims a student can measure (D2L, "Backpropagation Through Time"):
regular truncation works well in practice, randomized truncation "does not work much better",
and clipping guards against occasional huge gradients. This script trains the book's character
RNN (``bptt_core.train``) on the preprocessed Time Machine and prints what the data say.

Experiment 1: chunked truncation τ against randomized truncation with the same expected segment
length (π = 1 − 1/τ: a cut has probability 1 − π per step, so segments average 1/(1 − π) = τ),
with full BPTT over each window as a reference; the same seeds for every strategy; final
validation perplexity, mean ± sample std over the seeds.

Experiment 2: W_hh started at spectral radius ρ = 1.5 (the exploding regime of the section), the
other weights as the book's; training with clipping at θ and without, and, as a control, without
clipping from the book's own small start. A run counts as diverged
when its loss or gradient goes non-finite or its training loss ever exceeds twice that of
uniform guessing (2 ln V): the explosion the claim is about.

Everything else is the book's setup: tanh, T = 35 steps per window, B = 32, sequential
minibatches with the state carried (detached), SGD with η = 1, float32 (bptt_core.train's
default; see bench/train.py). Sizes and epochs are printed; the defaults keep the whole run
within about five minutes on one core.

Run
---
From the repository root::

    python bench/claims.py              # the README's table
    python bench/claims.py --quick      # a smoke test on a tenth of the text
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
import math  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from bptt_core import (Full, Randomized, TrainConfig, Truncated, load_time_machine, make_corpus,  # noqa: E402
                       matched_pi, preprocess, train)

SHARED_COPY = Path(ROOT).parent / "shared" / "data" / "timemachine.txt"


def load_text() -> tuple[str, str]:
    path = os.environ.get("BPTT_TIME_MACHINE") or (str(SHARED_COPY) if SHARED_COPY.is_file() else None)
    loaded = load_time_machine(path)
    return preprocess(loaded.text), loaded.detail


def mean_std(values) -> str:
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return "n/a"
    return f"{v.mean():.2f} ± {v.std(ddof=1):.2f}" if v.size > 1 else f"{v[0]:.2f}"


def diverged(hist, vocab_size: int) -> bool:
    """Non-finite loss or gradient, or a training loss above twice uniform guessing's ln V."""
    return hist.diverged or bool(np.any(hist.loss > 2 * math.log(vocab_size)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--tau", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--clip-seeds", type=int, default=5)
    parser.add_argument("--theta", type=float, default=1.0)
    parser.add_argument("--rho", type=float, default=1.5)
    parser.add_argument("--quick", action="store_true", help="a tenth of the text, 2 epochs, h = 32")
    args = parser.parse_args(argv)
    text, source = load_text()
    if args.quick:
        text, args.epochs, args.hidden = text[:len(text) // 10], 2, 32
    corpus = make_corpus(text)
    V = len(corpus.vocab)
    pi = matched_pi(args.tau)
    base = dict(hidden=args.hidden, num_steps=35, batch_size=32, lr=1.0, epochs=args.epochs, sequential=True,
                valid_every=50, dtype="float32")
    started = time.perf_counter()
    print("# The section's claims, measured" + (" (--quick)" if args.quick else ""))
    print()
    print(f"- text: {source} {len(text)} characters after preprocessing; vocabulary V = {V}; "
          f"{corpus.train.size} for training, the last {corpus.valid.size} for validation")
    print(f"- model: tanh, h = {args.hidden}, T = 35, B = 32, sequential minibatches (state carried), SGD η = 1, "
          f"float32, {args.epochs} epochs per run")
    print()

    with threadpool_limits(limits=1, user_api="blas"):
        strategies = [("Full BPTT over each window (T = 35)", Full()),
                      (f"Regular (chunked) truncation, τ = {args.tau}", Truncated(args.tau)),
                      (f"Randomized truncation, π = 1 − 1/τ = {pi:.2f}", Randomized(pi))]
        rows = []
        for label, strategy in strategies:
            results = [train(corpus, TrainConfig(strategy=strategy, theta=args.theta, seed=seed, **base))
                       for seed in range(args.seeds)]
            rows.append((label, results))
        print(f"## 1. Regular against randomized truncation (clipping θ = {args.theta:g}, {args.seeds} seeds)")
        print()
        print("| strategy | final validation perplexity (mean ± std) | per seed | final training loss | "
              "mean ‖g‖ before clipping | training seconds per run |")
        print("|---|---:|---|---:|---:|---:|")
        for label, results in rows:
            ppl = [r.final_valid_perplexity for r in results]
            print(f"| {label} | {mean_std(ppl)} | {', '.join(f'{p:.2f}' for p in ppl)} "
                  f"| {mean_std([r.loss[-20:].mean() for r in results])} "
                  f"| {mean_std([np.mean(r.grad_norm) for r in results])} "
                  f"| {np.mean([r.seconds[-1] for r in results]):.2f} |")
        chunked = np.array([r.final_valid_perplexity for r in rows[1][1]])
        randomized = np.array([r.final_valid_perplexity for r in rows[2][1]])
        diff = randomized - chunked  # paired by seed: same initialisation and minibatches
        print()
        print(f"Paired by seed (same initialisation and minibatches), randomized − chunked perplexity: "
              f"{', '.join(f'{d:+.2f}' for d in diff)} (mean {diff.mean():+.2f}).")
        print()

        clip_rows = []
        # The third row is the control: no clipping from the book's small start, to tell the ρ = 1.5
        # start apart from SGD with η = 1 alone.
        for label, theta, rho in ((f"ρ = {args.rho:g}, clipping θ = {args.theta:g}", args.theta, args.rho),
                                  (f"ρ = {args.rho:g}, no clipping", None, args.rho),
                                  ("book's N(0, 0.01²) start (ρ ≈ 0.01·√h), no clipping", None, None)):
            results = [train(corpus, TrainConfig(strategy=Full(), theta=theta, init_rho=rho, seed=seed, **base))
                       for seed in range(args.clip_seeds)]
            clip_rows.append((label, results))
        print(f"## 2. Clipping, from ρ(W_hh) = {args.rho:g} (full BPTT over each window, {args.clip_seeds} seeds)")
        print()
        print("| training | loss non-finite | loss above 2 ln V (diverged) | final validation perplexity per seed "
              "| final above V (worse than guessing) | largest ‖g‖ before clipping (median over runs) "
              "| updates clipped | largest training loss |")
        print("|---|---:|---:|---|---:|---:|---:|---:|")
        for label, results in clip_rows:
            n = len(results)
            nonfinite = sum(r.diverged for r in results)
            n_div = sum(diverged(r, V) for r in results)
            ppl = [r.final_valid_perplexity for r in results]
            worse = sum(not (p <= V) for p in ppl)
            gmax = np.median([np.nanmax(np.where(np.isfinite(r.grad_norm), r.grad_norm, np.nan)) for r in results])
            clipped = np.mean([r.clipped.mean() for r in results])
            lmax = max(float(np.nanmax(np.where(np.isfinite(r.loss), r.loss, np.nan))) for r in results)
            print(f"| {label} | {nonfinite} of {n} | {n_div} of {n} | {', '.join(f'{p:.3g}' for p in ppl)} "
                  f"| {worse} of {n} | {gmax:.3g} | {clipped:.0%} | {lmax:.2f} |")
        print()
        print(f"Uniform guessing has perplexity V = {V} (loss ln V = {math.log(V):.2f}); a run counts as diverged "
              f"when its loss goes non-finite or above 2 ln V = {2 * math.log(V):.2f}.")
    print(f"\nTotal time: {time.perf_counter() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
