"""Benchmark of the NumPy core against PyTorch eager and jax.jit, measured in the same run.

What it measures
----------------
1. Full BPTT, forward + backward, for the section's RNN without biases

       a_t = W_hx x_t + W_hh h_{t-1},  h_t = tanh(a_t),  o_t = W_qh h_t,  h_0 = 0
       L   = (1/T) Σ_t ½‖o_t − y_t‖²

   at (T, h) = (100, 16), (1000, 64), (1000, 256) with d = q = 32 inputs and
   outputs, float64 throughout, the same seeded data for every implementation:

   - ours:          ``bptt_core.bptt(rnn, X, Y)`` (the whole call, validation included);
   - PyTorch eager: autograd on CPU, a Python loop over time, ``loss.backward()``;
   - jax.jit:       ``jax.jit(jax.grad(loss))`` over ``jax.lax.scan``, compiled
                    before timing, timed up to ``block_until_ready()``.

   The three gradients must agree (relative to the gradient's scale, 1e-9);
   otherwise the script exits with status 1.

2. Monte-Carlo: S = 1000 randomized-truncation samples (π = 0.5) at T = 100,
   h = 32 in one ``sampled_gradients`` call, against 50 single
   ``bptt(..., Randomized(0.5, xi=row))`` calls. Rows of the batched result must
   equal the single calls' ``.flat()`` (else exit status 1).

Targets (reported PASS/MISS; a MISS does not change the exit status)
--------------------------------------------------------------------
- ours at least 3× faster than PyTorch eager, per row;
- ours at most 2× the time of jax.jit, per row;
- 1000 batched samples faster than 50 single calls.

How it is timed
---------------
Every measurement is the median over rounds; in each round every
implementation runs a batch of calls sized so the batch takes about
``budget / rounds`` seconds (``budget`` ≈ 0.75 s per implementation and size,
0.05 s with ``--quick``). The implementations alternate round by round, so
machine noise hits them all alike.

Threads
-------
The machine has 2 cores; for a like-for-like comparison every library is
restricted to one thread. Before NumPy, PyTorch or JAX is imported this script
sets ``OMP_NUM_THREADS=1``, ``OPENBLAS_NUM_THREADS=1``, ``MKL_NUM_THREADS=1``
and ``XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"``
(appended to any XLA_FLAGS already set), and calls ``torch.set_num_threads(1)``.
The settings in effect are printed before the tables.

Run
---
From the repository root::

    python bench/core.py            # full run, about 15 s
    python bench/core.py --quick    # smoke test, a few seconds

PyTorch and JAX come from ``requirements-bench.txt``; with either missing its
column reads "n/a" and the script still runs on ``requirements.txt`` alone.
"""

from __future__ import annotations

import os
import sys

# --- one thread for everyone: must happen before numpy / torch / jax are imported ---
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
_XLA_SINGLE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
if _XLA_SINGLE_THREAD not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + _XLA_SINGLE_THREAD).strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import argparse  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from bptt_core import Randomized, bptt, init_rnn, randomized_xi, sampled_gradients  # noqa: E402

try:
    import torch
except ImportError:  # requirements-bench.txt not installed
    torch = None
else:
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or parallel work already started
        pass

try:
    import jax
except ImportError:
    jax = None
else:
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

SIZES = ((100, 16), (1000, 64), (1000, 256))  # (T, h)
D = Q = 32
SEED = 0
SPEED_UP_VS_TORCH = 3.0  # ours at least this many times faster than PyTorch eager
TIME_RATIO_VS_JAX = 2.0  # ours at most this many times jax.jit's time
MC_T, MC_H, MC_PI, MC_SAMPLES, MC_SINGLE = 100, 32, 0.5, 1000, 50
AGREEMENT = 1e-9  # max |Δg| / max |g| allowed between implementations


# --------------------------------------------------------------------------- timing

def seconds_per_call(fn: Callable[[], object], sync: Callable[[object], object] = lambda r: r) -> float:
    """Wall time of one call of ``fn`` (``sync`` waits for asynchronous results)."""
    start = time.perf_counter()
    sync(fn())
    return time.perf_counter() - start


def calls_per_batch(fn, sync, seconds: float) -> int:
    """How many calls of ``fn`` fill about ``seconds`` (at least one)."""
    one = min(seconds_per_call(fn, sync) for _ in range(3))
    return max(1, math.ceil(seconds / max(one, 1e-7)))


def median_seconds(contenders: dict[str, tuple[Callable, Callable]], budget: float,
                   rounds: int) -> dict[str, float]:
    """Median seconds per call of each contender, rounds interleaved.

    contenders: name → (fn, sync). Each round runs every contender in turn for
    a batch of about budget / rounds seconds; the per-call time of each batch is
    one sample, and the median over rounds is returned.
    """
    sizes = {name: calls_per_batch(fn, sync, budget / rounds) for name, (fn, sync) in contenders.items()}
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, (fn, sync) in contenders.items():
            n = sizes[name]
            start = time.perf_counter()
            for _ in range(n):
                result = fn()
            sync(result)
            samples[name].append((time.perf_counter() - start) / n)
    return {name: statistics.median(s) for name, s in samples.items()}


# --------------------------------------------------------------------------- data

def problem(T: int, h: int, seed: int = SEED):
    """(rnn, X (T, d), Y (T, q)): a tanh RNN with ρ(W_hh) = 0.9 and standard-normal data."""
    rnn = init_rnn(D, h, Q, activation="tanh", spectral_radius=0.9, seed=seed)
    rng = np.random.default_rng(seed + 1)
    return rnn, rng.standard_normal((T, D)), rng.standard_normal((T, Q))


def flat(gradients) -> np.ndarray:
    """(W_hx, W_hh, W_qh) gradients as one float64 vector, row-major."""
    return np.concatenate([np.asarray(g, dtype=np.float64).ravel() for g in gradients])


# --------------------------------------------------------------------------- implementations

def ours_gradient_fn(rnn, X, Y) -> Callable[[], tuple]:
    """A call returning (∂W_hx, ∂W_hh, ∂W_qh) from ``bptt_core.bptt``."""
    def run():
        return bptt(rnn, X, Y).params
    return run


def torch_gradient_fn(rnn, X, Y) -> Callable[[], tuple]:
    """A call returning (∂W_hx, ∂W_hh, ∂W_qh) by PyTorch eager autograd (forward + backward)."""
    W_hx, W_hh, W_qh = (torch.tensor(W, dtype=torch.float64, requires_grad=True) for W in rnn.params)
    Xt = torch.from_numpy(X)
    Yt = torch.from_numpy(Y)
    T, h = X.shape[0], rnn.h

    def run():
        for W in (W_hx, W_hh, W_qh):
            W.grad = None
        XW = Xt @ W_hx.T  # the input term of every step at once, as in ours
        W_hhT = W_hh.T
        state = torch.zeros(h, dtype=torch.float64)
        states = []
        for t in range(T):
            state = torch.tanh(XW[t] + state @ W_hhT)
            states.append(state)
        O = torch.stack(states) @ W_qh.T
        loss = 0.5 * ((O - Yt) ** 2).sum() / T
        loss.backward()
        return W_hx.grad, W_hh.grad, W_qh.grad
    return run


def jax_gradient_fn(rnn, X, Y) -> Callable[[], tuple]:
    """A call returning (∂W_hx, ∂W_hh, ∂W_qh) from ``jax.jit(jax.grad(loss))`` over ``lax.scan``.

    Compiled (and run once) before it is returned; results are asynchronous,
    wait with ``jax.block_until_ready``.
    """
    T, h = X.shape[0], rnn.h

    def loss(params, X, Y):
        W_hx, W_hh, W_qh = params
        XW = X @ W_hx.T

        def step(state, xw):
            state = jnp.tanh(xw + W_hh @ state)
            return state, state

        _, H = jax.lax.scan(step, jnp.zeros(h, dtype=jnp.float64), XW)
        O = H @ W_qh.T
        return 0.5 * jnp.sum((O - Y) ** 2) / T

    grad = jax.jit(jax.grad(loss))
    params = tuple(jax.device_put(W) for W in rnn.params)
    Xj, Yj = jax.device_put(X), jax.device_put(Y)
    assert Xj.dtype == jnp.float64, "jax_enable_x64 did not take effect"
    jax.block_until_ready(grad(params, Xj, Yj))  # compile

    def run():
        return grad(params, Xj, Yj)
    return run


def jax_sync(result):
    return jax.block_until_ready(result)


# --------------------------------------------------------------------------- reports

def thread_settings() -> list[str]:
    """Lines describing versions and the thread settings in effect."""
    lines = [f"python {platform.python_version()}, numpy {np.__version__}, "
             f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()})"]
    lines.append("env: " + ", ".join(f"{v}={os.environ.get(v)}" for v in
                                     ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "XLA_FLAGS")))
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        lines.append(f"numpy BLAS: {blas.get('name')} {blas.get('version', '')}".rstrip())
    except Exception:  # older numpy: no dict mode
        pass
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        lines.append("numpy BLAS threads: threadpoolctl not installed, not checked "
                     "(OPENBLAS_NUM_THREADS / MKL_NUM_THREADS / OMP_NUM_THREADS = 1 above)")
    else:
        pools = [f"{p.get('internal_api')}={p.get('num_threads')}" for p in threadpool_info()]
        lines.append("thread pools (threadpoolctl): " + (", ".join(pools) or "none"))
    if torch is None:
        lines.append("PyTorch: not installed, column skipped")
    else:
        lines.append(f"PyTorch {torch.__version__}: intra-op threads {torch.get_num_threads()}, "
                     f"inter-op threads {torch.get_num_interop_threads()}")
    if jax is None:
        lines.append("JAX: not installed, column skipped")
    else:
        lines.append(f"JAX {jax.__version__}: devices {jax.devices()}, x64 {jax.config.jax_enable_x64}")
    return lines


def max_relative_difference(a: np.ndarray, ref: np.ndarray) -> float:
    """max |a − ref| / max |ref|: the disagreement on the gradient's own scale."""
    return float(np.max(np.abs(a - ref)) / max(np.max(np.abs(ref)), np.finfo(float).tiny))


def fmt_ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1e3:.3f}"


def full_bptt_rows(budget: float, rounds: int) -> tuple[list[str], list[str], bool]:
    """(table lines, agreement lines, all gradients agree) for the full-BPTT comparison."""
    table = ["| T | h | ours (ms) | PyTorch eager (ms) | jax.jit (ms) | ours vs PyTorch (× faster) "
             "| ours / jax (× time) | target ≥3× vs PyTorch | target ≤2× jax |",
             "|---:|---:|---:|---:|---:|---:|---:|:---:|:---:|"]
    notes, agree = [], True
    for T, h in SIZES:
        rnn, X, Y = problem(T, h)
        contenders = {"ours": (ours_gradient_fn(rnn, X, Y), lambda r: r)}
        if torch is not None:
            contenders["torch"] = (torch_gradient_fn(rnn, X, Y), lambda r: r)
        if jax is not None:
            contenders["jax"] = (jax_gradient_fn(rnn, X, Y), jax_sync)

        reference = flat(contenders["ours"][0]())
        for name, (fn, sync) in contenders.items():
            if name == "ours":
                continue
            g = flat(np.asarray(x) for x in sync(fn()))
            diff = max_relative_difference(g, reference)
            ok = diff <= AGREEMENT and np.allclose(g, reference, rtol=AGREEMENT,
                                                   atol=AGREEMENT * np.max(np.abs(reference)))
            agree &= ok
            notes.append(f"T={T}, h={h}: max |g_{name} − g_ours| / max |g_ours| = {diff:.2e} "
                         f"({'agree' if ok else 'DISAGREE'})")

        t = median_seconds(contenders, budget, rounds)
        ours, tt, tj = t["ours"], t.get("torch"), t.get("jax")
        vs_torch = None if tt is None else tt / ours
        vs_jax = None if tj is None else ours / tj
        table.append(
            f"| {T} | {h} | {fmt_ms(ours)} | {fmt_ms(tt)} | {fmt_ms(tj)} "
            f"| {'n/a' if vs_torch is None else f'{vs_torch:.2f}'} "
            f"| {'n/a' if vs_jax is None else f'{vs_jax:.2f}'} "
            f"| {'n/a' if vs_torch is None else ('PASS' if vs_torch >= SPEED_UP_VS_TORCH else 'MISS')} "
            f"| {'n/a' if vs_jax is None else ('PASS' if vs_jax <= TIME_RATIO_VS_JAX else 'MISS')} |")
    return table, notes, agree


def monte_carlo_rows(budget: float, rounds: int) -> tuple[list[str], list[str], bool]:
    """(table lines, agreement lines, rows agree) for batched vs single randomized samples."""
    rnn, X, Y = problem(MC_T, MC_H)
    xi = randomized_xi(MC_T, MC_PI, SEED, samples=MC_SAMPLES)

    def batched():
        return sampled_gradients(rnn, X, Y, xi)

    def singles():
        return np.stack([bptt(rnn, X, Y, Randomized(MC_PI, xi=row)).flat() for row in xi[:MC_SINGLE]])

    G, G1 = batched(), singles()
    diff = max_relative_difference(G[:MC_SINGLE], G1)
    ok = G.shape[0] == MC_SAMPLES and np.allclose(G[:MC_SINGLE], G1, rtol=1e-12,
                                                  atol=1e-12 * np.max(np.abs(G1)))
    notes = [f"first {MC_SINGLE} batched rows vs single calls' .flat(): max |Δ| / max |g| = {diff:.2e} "
             f"({'agree' if ok else 'DISAGREE'})"]

    t = median_seconds({"batched": (batched, lambda r: r), "singles": (singles, lambda r: r)},
                       budget, rounds)
    ratio = t["singles"] / t["batched"]
    table = [f"| T | h | π | {MC_SAMPLES} samples, one `sampled_gradients` call (ms) "
             f"| {MC_SINGLE} single `bptt` calls (ms) | single / batched | target: batched faster |",
             "|---:|---:|---:|---:|---:|---:|:---:|",
             f"| {MC_T} | {MC_H} | {MC_PI} | {fmt_ms(t['batched'])} | {fmt_ms(t['singles'])} "
             f"| {ratio:.2f} | {'PASS' if ratio > 1 else 'MISS'} |",
             "",
             f"Per sample: batched {t['batched'] / MC_SAMPLES * 1e6:.1f} µs, "
             f"single {t['singles'] / MC_SINGLE * 1e6:.1f} µs."]
    return table, notes, ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few, short repeats (smoke test)")
    args = parser.parse_args(argv)
    budget, rounds = (0.05, 3) if args.quick else (0.75, 7)

    print("# bptt_core benchmark" + (" (--quick: few repeats, noisy)" if args.quick else ""))
    print()
    for line in thread_settings():
        print(f"- {line}")
    print(f"- timing: median over {rounds} interleaved rounds, ~{budget:g} s per implementation and size")
    print()
    print(f"## Full BPTT, forward + backward (tanh, mse, float64, d = q = {D}, ρ(W_hh) = 0.9)")
    print()
    table, notes, agree = full_bptt_rows(budget, rounds)
    print("\n".join(table))
    if notes:
        print()
        print("\n".join(f"- {line}" for line in notes))
    print()
    print(f"## Monte-Carlo: randomized truncation (tanh, mse, d = q = {D})")
    print()
    table, notes, mc_agree = monte_carlo_rows(budget, rounds)
    print("\n".join(table))
    print()
    for line in notes:
        print(f"- {line}")

    if not (agree and mc_agree):
        print("\nFAILED: gradients disagree (see above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
