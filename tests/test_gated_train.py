"""The GRU and LSTM trained on characters (bptt_core/gated_train.py, the cell choice of bptt_core.train):
the window's gradients equal gated_bptt's on one-hot inputs (which central differences check), under every
strategy; the state carried between windows; a run is reproducible and learns."""

from __future__ import annotations

import numpy as np
import pytest

from bptt_core import Full, Randomized, TrainConfig, Trainer, Truncated, make_corpus
from bptt_core.gated import CELLS, gated_bptt
from bptt_core.gated_train import BOOK_CELL_SETTINGS, CharGated, char_gated_gradients, init_char_gated
from bptt_core.text import FALLBACK_TEXT


def window(seed=0, T=7, B=3, V=6):
    rng = np.random.default_rng(seed)
    return rng.integers(0, V, (T, B)), rng.integers(0, V, (T, B))


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("strategy", [Full(), Truncated(3, "chunked"), Truncated(2, "sliding"),
                                      Randomized(0.5, xi=np.array([1, 2, 0, 2, 2, 0, 2.0]))],
                         ids=["full", "chunked", "sliding", "randomized"])
def test_window_gradients_equal_gated_bptt_on_one_hot_inputs(cell, strategy):
    model = init_char_gated(cell, 6, 5, seed=1, scale=0.4)
    model.flat += 0.1 * np.random.default_rng(2).standard_normal(model.flat.size)   # biases too
    X, Y = window()
    xi = None if isinstance(strategy, Full) else strategy.xi if isinstance(strategy, Randomized) else (
        np.where(np.arange(7) % 3 == 0, 0.0, 1.0) if strategy.mode == "chunked" else None)
    sliding = strategy.tau if isinstance(strategy, Truncated) and strategy.mode == "sliding" else None
    L, g, _ = char_gated_gradients(model, X, Y, xi=xi, sliding_tau=sliding)
    ref = gated_bptt(model.net(), np.eye(6)[X], Y, strategy, loss="xent")
    assert L == pytest.approx(ref.loss, rel=1e-14)
    for name, value in ref.params.items():
        np.testing.assert_allclose(g.views[name], value, rtol=1e-12, atol=1e-15, err_msg=name)


@pytest.mark.parametrize("cell", CELLS)
def test_the_state_carries_into_the_next_window(cell):
    model = init_char_gated(cell, 6, 5, seed=3, scale=0.5)
    X, Y = window(T=8)
    L_all, _, end = char_gated_gradients(model, X, Y)
    _, _, mid = char_gated_gradients(model, X[:5], Y[:5])
    L_rest, _, end2 = char_gated_gradients(model, X[5:], Y[5:], state=mid)
    np.testing.assert_allclose(end2[0], end[0], rtol=0, atol=1e-15)
    if cell == "lstm":
        np.testing.assert_allclose(end2[1], end[1], rtol=0, atol=1e-15)


@pytest.mark.parametrize("cell", CELLS)
def test_a_run_is_reproducible_and_learns(cell):
    corpus = make_corpus(FALLBACK_TEXT * 3)
    config = TrainConfig(cell=cell, hidden=24, num_steps=12, batch_size=16, lr=BOOK_CELL_SETTINGS[cell]["lr"],
                         epochs=3, valid_every=5, seed=4)
    first, second = Trainer(corpus, config), Trainer(corpus, config)
    a = [u.loss for u in first.updates()]
    b = [u.loss for u in second.updates()]
    assert a == b and len(a) > 10
    assert np.mean(a[-5:]) < np.mean(a[:5]) - 0.3     # it learns
    assert isinstance(first.rnn, CharGated) and np.isfinite(first.history().final_valid_perplexity)
    assert first.generate("the", 5).startswith("the")


def test_cell_is_checked():
    with pytest.raises(ValueError, match="cell"):
        TrainConfig(cell="transformer")
    with pytest.raises(ValueError, match="cell"):
        CharGated("rnn", 5, 3)
