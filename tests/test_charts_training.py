"""Chart builders of the training lab: one style per strategy, the θ line, the partitionings, and no
inf/NaN in any trace (decoded from the figure's JSON), also for a diverged run."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bptt_core import History, Update, make_corpus, random_batches, sequential_batches
from charts.style import STRATEGIES
from charts.training import gradient_norm_figure, minibatch_figure, perplexity_figure
from tests.page_charts import decode_typed_array


def decoded(fig) -> list[dict]:
    """The traces as the browser gets them: JSON, with typed arrays decoded."""
    out = []
    for trace in json.loads(fig.to_json())["data"]:
        for key in ("x", "y"):
            v = trace.get(key)
            if isinstance(v, dict) and "bdata" in v:
                trace[key] = decode_typed_array(v).tolist()
        out.append(trace)
    return out


def nonfinite(traces) -> int:
    return sum(1 for t in traces for k in ("x", "y") for v in (t.get(k) or [])
               if v is None or (isinstance(v, float) and not math.isfinite(v)))


def history(n=20, *, diverge=False, theta=1.0, seed=0) -> History:
    rng = np.random.default_rng(seed)
    updates = []
    for i in range(1, n + 1):
        loss = 3.3 - 1.5 * i / n + 0.05 * rng.standard_normal()
        norm = float(np.exp(rng.standard_normal()))
        if diverge and i == n:
            loss, norm = float("nan"), float("inf")
        updates.append(Update(index=i, epoch=1 + (i > n // 2), loss=loss,
                              train_perplexity=math.exp(loss) if math.isfinite(loss) else float("inf"),
                              valid_perplexity=math.exp(loss + 0.1) if i % 5 == 0 and math.isfinite(loss) else None,
                              grad_norm=norm, clipped=norm > theta, seconds=0.01 * i))
    return History.from_updates(updates, diverged=diverge, theta=theta)


RUNS = {"full": history(seed=0), "chunked": history(seed=1), "sliding": history(seed=2), "randomized": history(seed=3)}


@pytest.mark.parametrize("x", ["updates", "seconds"])
def test_perplexity_figure_styles_and_axes(x):
    fig = perplexity_figure(RUNS, x=x, vocab_size=27)
    traces = decoded(fig)
    assert nonfinite(traces) == 0
    for key, style in STRATEGIES.items():
        valid = next(t for t in traces if t["name"] == style["name"] and t.get("meta") == "validation")
        assert valid["line"]["color"] == style["color"] and valid["line"]["dash"] == style["dash"]
        assert len(valid["y"]) == 4  # checkpoints 5, 10, 15, 20
        train = next(t for t in traces if t["name"] == f"{style['name']}: training")
        assert len(train["y"]) == 20
        np.testing.assert_allclose(train["y"], RUNS[key].train_perplexity)
    assert fig.layout.yaxis.type == "log"
    # Decades only, from the one below the lowest perplexity to the one above the highest (27).
    assert list(fig.layout.yaxis.tickvals) == [1.0, 10.0, 100.0] and list(fig.layout.yaxis.ticktext) == ["1", "10", "100"]
    assert list(fig.layout.yaxis.range) == [0, 2]
    assert ("Update" if x == "updates" else "seconds") in fig.layout.xaxis.title.text
    uniform = next(t for t in traces if t["name"].startswith("uniform"))
    assert uniform["y"] == [27.0, 27.0]
    if x == "seconds":
        assert max(decoded(fig)[0]["x"]) == pytest.approx(0.2)


def test_diverged_run_is_left_out_with_a_note():
    runs = {"full": history(diverge=True), "chunked": history()}
    fig = perplexity_figure(runs, labels={"full": "Full, h = 8"})
    traces = decoded(fig)
    assert nonfinite(traces) == 0
    assert any(t["name"] == "Full, h = 8" and t.get("meta") == "validation" for t in traces)
    assert "non-finite" in fig.layout.annotations[0].text
    assert "spikes" not in fig.layout.annotations[0].text  # nothing spiked above the validation curves
    g = gradient_norm_figure(runs, theta=1.0)
    assert nonfinite(decoded(g)) == 0 and "non-finite" in g.layout.annotations[0].text


def test_gradient_norm_figure_draws_theta_only_when_clipping():
    with_theta = decoded(gradient_norm_figure(RUNS, theta=0.5))
    line = next(t for t in with_theta if t["name"].startswith("clipping threshold"))
    assert line["y"] == [0.5, 0.5] and line["x"] == [1.0, 20.0]
    assert len(with_theta) == 5
    without = decoded(gradient_norm_figure(RUNS, theta=None))
    assert len(without) == 4 and not any(t["name"].startswith("clipping") for t in without)
    assert nonfinite(with_theta) == 0


def test_minibatch_figure_shows_both_partitionings():
    corpus = make_corpus("the time machine by h g wells " * 40)
    seq = sequential_batches(corpus.train, 4, 10, rng=0)
    rnd = random_batches(corpus.train, 4, 10, rng=0)
    fig = minibatch_figure(seq.starts, rnd.starts, num_steps=10, n_tokens=corpus.train.size)
    traces = decoded(fig)
    assert [t["name"] for t in traces] == ["sequential partitioning", "random partitioning"]
    assert len(traces[0]["y"]) == seq.starts.size and len(traces[1]["y"]) == rnd.starts.size
    assert nonfinite(traces) == 0
    with pytest.raises(ValueError, match="sequential_starts"):
        minibatch_figure(np.arange(3), rnd.starts, num_steps=10, n_tokens=100)
    alone = decoded(minibatch_figure(None, rnd.starts, num_steps=10, n_tokens=100, random_name="shuffled windows"))
    assert [t["name"] for t in alone] == ["shuffled windows"], "the book's 1.0 loader: one series"


def test_unknown_strategy_is_rejected():
    with pytest.raises(ValueError, match="unknown run names"):
        perplexity_figure({"bogus": history()})
    with pytest.raises(ValueError, match="x: expected"):
        perplexity_figure(RUNS, x="epochs")


def test_a_training_spike_does_not_flatten_the_curves():
    hist = history()
    spiky = History.from_updates(
        [Update(index=int(i), epoch=1, loss=float(l) if i != 7 else 60.0,
                train_perplexity=math.exp(l) if i != 7 else math.exp(60.0),
                valid_perplexity=None if not np.isfinite(v) else float(v), grad_norm=1.0, clipped=False,
                seconds=0.1 * i)
         for i, l, v in zip(hist.index, hist.loss, hist.valid_perplexity)])
    fig = perplexity_figure({"full": spiky}, vocab_size=27)
    low, high = fig.layout.yaxis.range
    assert high == 2  # the decade above 3 × the validation curve and V = 27 (e^60 is far above it)
    assert "1 training-window spikes above the axis" in fig.layout.annotations[0].text.replace("<br>", " ")
    assert nonfinite(decoded(fig)) == 0


def test_cells_compared_take_the_cells_colours_and_names():
    from charts.training import CELL_COLORS, run_key, run_styles
    keys = [run_key("rnn", "full"), run_key("gru", "full"), run_key("lstm", "chunked")]
    assert keys == ["full", "gru·full", "lstm·chunked"]
    styles = run_styles(keys)
    assert [styles[k]["color"] for k in keys] == [CELL_COLORS["rnn"], CELL_COLORS["gru"], CELL_COLORS["lstm"]]
    assert styles["lstm·chunked"]["dash"] == STRATEGIES["chunked"]["dash"]
    assert run_styles(["full", "chunked"])["full"]["color"] == STRATEGIES["full"]["color"]  # one cell: as before
    hist = {k: history() for k in keys}
    fig = perplexity_figure(hist)
    names = [t.name for t in fig.data if t.meta == "validation"]
    assert names == ["Full BPTT", "GRU, Full BPTT", "LSTM, Regular truncation (chunks of τ)"]
