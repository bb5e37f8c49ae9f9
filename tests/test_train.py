"""The character RNN's training loop: gradients against the engine's bptt and finite differences,
carried and reset state, clipping, SGD and Adagrad steps, determinism, and a falling loss."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bptt_core import (RNN, STRATEGY_KEYS, CharRNN, Full, Randomized, TrainConfig, Trainer, Truncated, bptt, chunked_xi,
                       generate, init_char_rnn, make_corpus, matched_pi, minibatches, perplexity, strategy_from_name,
                       train, window_gradients)

V, H, T, B = 6, 5, 9, 3


@pytest.fixture
def problem():
    """A small float64 model with non-zero biases, a window (T, B) and a carried state h0."""
    rng = np.random.default_rng(1)
    rnn = init_char_rnn(V, H, seed=0, scale=0.5)
    rnn.b_h[...] = 0.3 * rng.standard_normal(H)
    rnn.b_q[...] = 0.3 * rng.standard_normal(V)
    X = rng.integers(0, V, (T, B))
    Y = rng.integers(0, V, (T, B))
    h0 = 0.5 * rng.standard_normal((B, H))
    return rnn, X, Y, h0


XI = np.array([1.0, 2.0, 0.0, 2.0, 2.0, 0.0, 0.0, 2.0, 2.0])  # a randomized draw, π = 1/2
STRATEGIES = {
    "full": (Full(), {}),
    "chunked": (Truncated(4), dict(xi=chunked_xi(T, 4))),
    "sliding": (Truncated(3, "sliding"), dict(sliding_tau=3)),
    "randomized": (Randomized(0.5, xi=XI), dict(xi=XI)),
}


def engine_gradients(rnn, X, Y, h0, strategy):
    """The engine's bptt on the same model, b_h as the weights of an extra input that is always 1
    (the engine has no biases; the output bias, zero here, is checked against Σ_t ∂L/∂o_t)."""
    inputs = np.concatenate([np.eye(V)[X], np.ones((T, B, 1))], axis=2)
    engine = RNN(np.hstack([rnn.W_hx, rnn.b_h[:, None]]), rnn.W_hh, rnn.W_qh, activation="tanh")
    return bptt(engine, inputs, Y, strategy, loss="xent", h0=h0)


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_gradients_match_the_engines_bptt(problem, name):
    rnn, X, Y, h0 = problem
    strategy, kwargs = STRATEGIES[name]
    rnn0 = rnn.copy()
    rnn0.b_q[...] = 0.0  # the engine has no output bias
    loss, g, h_T = window_gradients(rnn0, X, Y, h0, **kwargs)
    ref = engine_gradients(rnn0, X, Y, h0, strategy)
    assert loss == pytest.approx(ref.loss, rel=1e-13)
    np.testing.assert_allclose(g.W_hx, ref.W_hx[:, :V], rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(g.b_h, ref.W_hx[:, V], rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(g.W_hh, ref.W_hh, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(g.W_qh, ref.W_qh, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(g.b_q, ref.dL_do.sum(axis=(0, 1)), rtol=1e-10, atol=1e-13)


def test_full_gradient_matches_central_differences(problem):
    rnn, X, Y, h0 = problem
    _, g, _ = window_gradients(rnn, X, Y, h0)
    eps = 1e-6
    rng = np.random.default_rng(3)
    picks = rng.choice(rnn.flat.size, size=40, replace=False)
    for k in picks:
        plus, minus = rnn.copy(), rnn.copy()
        plus.flat[k] += eps
        minus.flat[k] -= eps
        numeric = (window_gradients(plus, X, Y, h0)[0] - window_gradients(minus, X, Y, h0)[0]) / (2 * eps)
        assert g.flat[k] == pytest.approx(numeric, rel=1e-6, abs=1e-9), k


def test_bias_gradient_of_the_output_does_not_depend_on_the_strategy(problem):
    rnn, X, Y, h0 = problem
    full = window_gradients(rnn, X, Y, h0)[1]
    for name in ("chunked", "sliding", "randomized"):
        other = window_gradients(rnn, X, Y, h0, **STRATEGIES[name][1])[1]
        np.testing.assert_array_equal(other.b_q, full.b_q)
        np.testing.assert_array_equal(other.W_qh, full.W_qh)
        assert not np.allclose(other.W_hh, full.W_hh)


def test_float32_is_float64_to_single_precision(problem):
    rnn, X, Y, h0 = problem
    r32 = CharRNN.from_arrays(*rnn.params, dtype="float32")
    l64, g64, _ = window_gradients(rnn, X, Y, h0)
    l32, g32, _ = window_gradients(r32, X, Y, h0.astype(np.float32))
    assert g32.flat.dtype == np.float32
    assert l32 == pytest.approx(l64, rel=1e-5)
    np.testing.assert_allclose(g32.flat, g64.flat, rtol=1e-4, atol=1e-6)


def test_final_state_is_the_forward_states_last(problem):
    rnn, X, Y, h0 = problem
    _, _, h_T = window_gradients(rnn, X, Y, h0)
    h = h0
    for t in range(T):
        h = np.tanh(rnn.W_hx[:, X[t]].T + h @ rnn.W_hh.T + rnn.b_h)
    np.testing.assert_allclose(h_T, h, rtol=1e-13)


# --- the training loop -------------------------------------------------------------------------

TINY = "the time machine " * 60  # a tiny, very regular corpus: the loss must fall fast


def tiny_config(**kw):
    base = dict(hidden=16, num_steps=8, batch_size=4, lr=1.0, theta=1.0, epochs=2, valid_every=5, seed=0,
                dtype="float64", sample_length=10, prefix="the ")
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.parametrize("sequential", [True, False])
def test_trainer_carries_state_only_for_sequential_batches(sequential):
    corpus = make_corpus(TINY, 0.1)
    cfg = tiny_config(theta=None, sequential=sequential, epochs=1)
    trainer = Trainer(corpus, cfg)
    losses = [u.loss for _, u in zip(range(3), trainer.updates())]
    # Replay: same initial model, the same batches, plain SGD.
    replay = Trainer(corpus, cfg)
    rnn = replay.rnn
    batches = minibatches(corpus.train, cfg.batch_size, cfg.num_steps, sequential=sequential, rng=replay._data_rng)
    state = None
    for i in range(3):
        loss, g, h_T = window_gradients(rnn, batches.X[i], batches.Y[i], state if sequential else None)
        assert loss == pytest.approx(losses[i], rel=1e-12)
        rnn.flat -= cfg.lr * g.flat
        state = h_T


def test_loss_falls_on_a_tiny_corpus():
    corpus = make_corpus(TINY, 0.1)
    for name in STRATEGY_KEYS:
        hist = train(corpus, tiny_config(strategy=strategy_from_name(name, tau=4, pi=matched_pi(4)), epochs=6))
        assert not hist.diverged
        first, last = hist.loss[:3].mean(), hist.loss[-3:].mean()
        assert last < 0.5 * first, (name, first, last)
        assert hist.final_valid_perplexity < 0.5 * len(corpus.vocab), name


def test_same_seed_same_curves_other_seed_other_curves():
    corpus = make_corpus(TINY, 0.1)
    cfg = tiny_config(strategy=Randomized(0.6), sequential=False)
    a, b = train(corpus, cfg), train(corpus, cfg)
    c = train(corpus, tiny_config(strategy=Randomized(0.6), sequential=False, seed=1))
    for field in ("loss", "grad_norm", "clipped", "epoch", "index"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    np.testing.assert_array_equal(a.valid_perplexity, b.valid_perplexity)  # NaN in the same places
    assert a.samples == b.samples
    assert not np.array_equal(a.loss, c.loss)


def test_history_reports_every_update():
    corpus = make_corpus(TINY, 0.1)
    hist = train(corpus, tiny_config(valid_every=4))
    n = hist.index.size
    assert np.array_equal(hist.index, np.arange(1, n + 1))
    assert set(hist.epoch.tolist()) == {1, 2}
    np.testing.assert_allclose(hist.train_perplexity, np.exp(hist.loss))
    measured = np.flatnonzero(np.isfinite(hist.valid_perplexity)) + 1
    assert measured.tolist() == sorted(set(list(range(4, n + 1, 4)) + [n]))
    assert [i for i, _ in hist.samples] == measured.tolist()
    assert all(s.startswith("the ") and len(s) == len("the ") + 10 for _, s in hist.samples)
    assert np.all(np.diff(hist.seconds) >= 0) and np.all(hist.grad_norm > 0)
    assert np.array_equal(hist.clipped, hist.grad_norm > 1.0)


def test_clipping_scales_the_step_to_theta():
    corpus = make_corpus(TINY, 0.1)
    cfg = tiny_config(theta=1e-3, lr=0.5, epochs=1)
    trainer = Trainer(corpus, cfg)
    before = trainer.rnn.flat.copy()
    u = next(trainer.updates())
    assert u.clipped and u.grad_norm > 1e-3
    assert np.linalg.norm(trainer.rnn.flat - before) == pytest.approx(0.5 * 1e-3, rel=1e-9)


def test_adagrad_step():
    corpus = make_corpus(TINY, 0.1)
    cfg = tiny_config(optimizer="adagrad", theta=None, lr=0.1, epochs=1)
    trainer = Trainer(corpus, cfg)
    before = trainer.rnn.flat.copy()
    batches = minibatches(corpus.train, cfg.batch_size, cfg.num_steps, sequential=True,
                          rng=Trainer(corpus, cfg)._data_rng)
    _, g, _ = window_gradients(trainer.rnn.copy(), batches.X[0], batches.Y[0])
    next(trainer.updates())
    expected = before - 0.1 * g.flat / np.sqrt(g.flat ** 2 + 1e-6)
    np.testing.assert_allclose(trainer.rnn.flat, expected, rtol=1e-12, atol=1e-15)


def test_callback_stops_and_divergence_is_reported():
    corpus = make_corpus(TINY, 0.1)
    hist = train(corpus, tiny_config(), callback=lambda u: u.index == 3)
    assert hist.index.size == 3 and hist.stopped_early and not hist.diverged
    wild = train(corpus, tiny_config(activation="identity", init_rho=3.0, lr=1e6, theta=None, epochs=5,
                                     num_steps=16))
    assert wild.diverged
    assert not np.isfinite(wild.loss[-1]) or not np.isfinite(wild.grad_norm[-1])
    assert np.isfinite(wild.loss[:-1]).all()


def test_perplexity_of_a_uniform_model_is_the_vocabulary_size():
    rnn = CharRNN(7, 4)  # all zeros: softmax is uniform
    assert perplexity(rnn, np.arange(100) % 7) == pytest.approx(7.0, rel=1e-12)


def test_generate_is_greedy_and_deterministic():
    corpus = make_corpus(TINY, 0.1)
    trainer = Trainer(corpus, tiny_config(epochs=6))
    for _ in trainer.updates():
        pass
    text = generate(trainer.rnn, corpus.vocab, "the ", 20)
    assert text.startswith("the ") and len(text) == 24
    assert text == trainer.generate("the ", 20)
    assert "machine" in text or "time" in text  # it has learnt the refrain
    with pytest.raises(ValueError, match="not in the vocabulary"):
        generate(trainer.rnn, corpus.vocab, "xyz", 5)


def test_strategy_names_and_matched_pi():
    assert matched_pi(4) == 0.75 and matched_pi(2) == 0.5
    full, chunked, sliding, randomized = (strategy_from_name(name, 5, 0.8) for name in STRATEGY_KEYS)
    assert full == Full() and chunked == Truncated(5) and sliding == Truncated(5, "sliding")
    assert isinstance(randomized, Randomized) and randomized.pi == 0.8
    with pytest.raises(ValueError, match="strategy"):
        strategy_from_name("bogus")
    with pytest.raises(ValueError, match="tau"):
        matched_pi(1)


def test_bad_configurations_are_named():
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="adam")
    with pytest.raises(ValueError, match="lr"):
        TrainConfig(lr=0.0)
    with pytest.raises(ValueError, match="too few"):
        Trainer(make_corpus(TINY[:60], 0.1), tiny_config(num_steps=50))
    with pytest.raises(ValueError, match="prefix"):
        Trainer(make_corpus(TINY, 0.1), tiny_config(prefix="time traveller"))
    assert math.isfinite(TrainConfig().lr)
