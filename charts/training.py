"""Comparing Strategies, trained: figures of the training lab: perplexity against updates and against wall-
clock seconds, the gradient norm before clipping with the threshold θ, and how the book cuts the text into
minibatches.

Each run is a ``bptt_core.History`` keyed by strategy name (``full``, ``chunked``, ``sliding``,
``randomized``) for the section's RNN, or by cell and strategy (``gru·full``, ``lstm·chunked``: ``run_key``);
its colour, dash and name come from ``charts.style.STRATEGIES`` (and, when cells are compared, its colour
from the cell: ``run_styles``). Non-finite values (a diverged run) are left out and a note under the
chart says how many.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from .style import (LINE_WIDTH, PALETTE, STRATEGIES, decade_axis, finite_xy, house_layout, layout, new_figure, note,
                    scatter)

X_AXES = {"updates": ("index", "Update"), "seconds": ("seconds", "Training wall-clock seconds")}
TRAIN_OPACITY = 0.35  # the noisy per-window training perplexity sits behind the validation curve
SPIKE_ROOM = 3.0      # the y axis ends this factor above the validation curves (and V)


CELL_NAMES = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM"}
CELL_COLORS = {"rnn": PALETTE["vermillion"], "gru": PALETTE["blue"], "lstm": PALETTE["green"]}  # as on the gates view
SEP = "·"


def run_key(cell: str, strategy: str) -> str:
    """A run's key: the strategy's for the RNN (``full``), else cell and strategy (``gru·full``)."""
    return strategy if cell == "rnn" else f"{cell}{SEP}{strategy}"


def split_key(key: str) -> tuple[str, str]:
    """(cell, strategy) of a run's key."""
    cell, _, strategy = key.rpartition(SEP)
    return cell or "rnn", strategy


def _check(histories: Mapping) -> None:
    unknown = [k for k in histories if split_key(k)[1] not in STRATEGIES or split_key(k)[0] not in CELL_NAMES]
    if unknown:
        raise ValueError(f"histories: unknown run names {unknown}; expected strategies {list(STRATEGIES)}, "
                         f"optionally after a cell ({', '.join(c + SEP for c in CELL_NAMES if c != 'rnn')})")


def run_styles(keys) -> dict:
    """Each run's colour and dash: the strategy's, or, when runs of more than one cell are drawn, the cell's
    colour (RNN vermillion, GRU blue, LSTM green) with the strategy's dash."""
    keys = list(keys)
    cells = {split_key(k)[0] for k in keys}
    out = {}
    for key in keys:
        cell, strategy = split_key(key)
        style = dict(STRATEGIES[strategy])
        if len(cells) > 1:
            style["color"] = CELL_COLORS[cell]
        out[key] = style
    return out


def run_name(key: str, labels: Mapping[str, str] | None = None) -> str:
    """A run's legend name: ``labels[key]``, else the strategy's name (after the cell's, for a gated cell)."""
    cell, strategy = split_key(key)
    default = STRATEGIES[strategy]["name"] if cell == "rnn" else f"{CELL_NAMES[cell]}, {STRATEGIES[strategy]['name']}"
    return (labels or {}).get(key) or default


def _dropped_note(fig: go.Figure, dropped: int, what: str) -> go.Figure:
    if dropped:
        note(fig, f"{dropped} non-finite {what} left out (a run diverged: its loss or gradient overflowed).")
    return fig


def perplexity_figure(histories: Mapping, *, x: str = "updates", labels: Mapping[str, str] | None = None,
                      vocab_size: int | None = None) -> go.Figure:
    """Perplexity of each run against updates (``x="updates"``) or training seconds (``x="seconds"``).

    Per strategy: validation perplexity at its checkpoints (line with markers) and the training
    perplexity exp(L) of every window (thin, faint). y on a log scale. ``vocab_size`` draws the
    uniform-guessing level V as a grey dotted line. labels: optional legend name per strategy.
    """
    _check(histories)
    if x not in X_AXES:
        raise ValueError(f"x: expected one of {list(X_AXES)}, got {x!r}")
    field, x_title = X_AXES[x]
    fig = new_figure()
    dropped = 0
    x_max = 0.0
    styles = run_styles(histories)
    for key, hist in histories.items():
        style = styles[key]
        xs = getattr(hist, field)
        tx, ty, d1 = finite_xy(xs, np.where(hist.train_perplexity > 0, hist.train_perplexity, np.nan))
        measured = np.isfinite(hist.valid_perplexity)
        vx, vy, d2 = finite_xy(xs[measured], hist.valid_perplexity[measured])
        dropped += d1 + d2
        if tx.size:
            x_max = max(x_max, float(tx.max()))
        name = run_name(key, labels)
        fig.add_trace(scatter(x=tx, y=ty, mode="lines", name=f"{name}: training", legendgroup=key,
                              showlegend=False, opacity=TRAIN_OPACITY, hoverinfo="skip",
                              line=dict(color=style["color"], dash="solid", width=1)))
        fig.add_trace(scatter(x=vx, y=vy, mode="lines+markers", name=name, legendgroup=key, meta="validation",
                              line=dict(color=style["color"], dash=style["dash"], width=LINE_WIDTH),
                              marker=dict(size=6)))
    if vocab_size is not None and x_max > 0:
        fig.add_trace(scatter(x=[0.0, x_max], y=[float(vocab_size)] * 2, mode="lines",
                              name=f"uniform guessing (V = {vocab_size})",
                              line=dict(color=PALETTE["grey"], dash="dot", width=1.5)))
    # A spike of the training perplexity (e^L of one bad window) must not flatten the curves: the axis
    # stops a little above the validation curves and uniform guessing, and a note counts what is cut.
    levels = [float(np.max(t.y)) for t in fig.data if t.y is not None and len(t.y) and t.meta == "validation"]
    levels += [] if vocab_size is None else [float(vocab_size)]
    drawn = [np.asarray(t.y, float) for t in fig.data if t.y is not None and len(t.y)]
    shown = [np.minimum(y, max(levels) * SPIKE_ROOM) for y in drawn] if levels else drawn
    axis = decade_axis(*shown)
    above = sum(int(np.sum(y > 10.0 ** axis["range"][1])) for y in drawn)
    layout(fig, title="Perplexity: validation (markers), training (faint)", x=x_title, y="Perplexity", log_y=True,
           yaxis=axis)
    parts = []
    if dropped:
        parts.append(f"{dropped} perplexities past float64 (eᴸ with L > 709) or non-finite left out")
    if above:
        parts.append(f"{above} training-window spikes above the axis")
    if parts:
        note(fig, "; ".join(parts) + ".")
    return fig


def gradient_norm_figure(histories: Mapping, *, theta: float | None = None,
                         labels: Mapping[str, str] | None = None) -> go.Figure:
    """‖g‖ before clipping at every update of each run (log y), and the threshold θ (grey dashed)
    when clipping is on: above the line the update was scaled down to θ."""
    _check(histories)
    fig = new_figure()
    dropped = 0
    x_max = 0.0
    styles = run_styles(histories)
    for key, hist in histories.items():
        style = styles[key]
        x, y, d = finite_xy(hist.index, np.where(hist.grad_norm > 0, hist.grad_norm, np.nan))
        dropped += d
        if x.size:
            x_max = max(x_max, float(x.max()))
        fig.add_trace(scatter(x=x, y=y, mode="lines", name=run_name(key, labels), legendgroup=key,
                              line=dict(color=style["color"], dash=style["dash"], width=1.5)))
    if theta is not None and x_max > 0:
        fig.add_trace(scatter(x=[1.0, x_max], y=[float(theta)] * 2, mode="lines", name=f"clipping threshold θ = {theta:g}",
                              line=dict(color=PALETTE["vermillion"], dash="longdash", width=2)))
    layout(fig, title="Gradient norm ‖g‖ before clipping", x="Update", y="‖g‖", log_y=True,
           yaxis=decade_axis(*(t.y for t in fig.data if t.y is not None)))
    return _dropped_note(fig, dropped, "gradient norms")


def minibatch_figure(sequential_starts, random_starts, *, num_steps: int, n_tokens: int,
                     random_name: str = "random partitioning") -> go.Figure:
    """Where each minibatch's B windows start in the text, for the book's two partitionings.

    sequential_starts, random_starts: (N, B) start positions (``bptt_core.Batches.starts``).
    Sequential: B streams, each a straight rising line (row b of batch i + 1 continues row b of
    batch i, so the state can be carried over). Random: windows scattered over the whole text
    (the state must be reset). ``sequential_starts`` None draws the random ones alone, named
    ``random_name`` (the book's 1.0 loader: shuffled overlapping windows).
    """
    traces = []
    for starts, arg, name, colour, symbol in (
            (sequential_starts, "sequential", "sequential partitioning", PALETTE["blue"], "circle"),
            (random_starts, "random", random_name, PALETTE["orange"], "x")):
        if starts is None:
            continue
        s = np.asarray(starts, dtype=float)
        if s.ndim != 2:
            raise ValueError(f"{arg}_starts: expected an (N, B) array, got shape {s.shape}")
        batch = np.broadcast_to(np.arange(1, s.shape[0] + 1)[:, None], s.shape)
        traces.append(scatter(x=batch.ravel(), y=s.ravel(), mode="markers", name=name,
                              marker=dict(color=colour, size=5, symbol=symbol, opacity=0.8)))
    return new_figure(*traces, layout=house_layout(
        title=f"Where each minibatch's windows start (T = {num_steps})",
        x="Minibatch (update)", y=f"Start in the text (of {n_tokens})", height=380))
