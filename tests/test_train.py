"""The character RNN's training loop: gradients against the engine's bptt and finite differences,
carried and reset state, clipping, SGD and Adagrad steps, determinism, and a falling loss."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bptt_core import (BOOK_VALID_PERPLEXITY, FALLBACK_TEXT, PIPELINES, RNN, STRATEGY_KEYS, CharRNN, Full, Randomized,
                       TrainConfig, Trainer, Truncated, bptt, chunked_xi, d2l_1_0_config, d2l_time_machine, generate,
                       init_char_rnn, make_corpus, matched_pi, minibatches, perplexity, preprocess, strategy_from_name,
                       train, window_gradients, windowed_perplexity)

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


# --- the book's 1.0 pipeline (d2l.TimeMachine, RNNLMScratch, d2l.Trainer) ------------------------

BOOK_TEXT = preprocess(FALLBACK_TEXT)  # ~2,000 characters, 27 tokens with <unk>


def small_1_0(**kw):
    """The book's 1.0 setting scaled to the short text: 600 + 200 windows of 10 + 1, B = 128."""
    base = dict(hidden=16, num_steps=10, batch_size=128, num_train=600, num_val=200, epochs=3, valid_every=5,
                dtype="float64", seed=0, sample_length=10)
    base.update(kw)
    return d2l_1_0_config(**base)


def test_the_books_1_0_setting():
    c = d2l_1_0_config()
    assert (c.pipeline, c.hidden, c.num_steps, c.batch_size, c.num_train, c.num_val) == ("d2l-1.0", 32, 32, 1024,
                                                                                        10_000, 5_000)
    assert (c.lr, c.optimizer, c.theta, c.epochs, c.init_scale, c.init_rho, c.activation) == (
        1.0, "sgd", 1.0, 100, 0.01, None, "tanh")
    assert c.strategy == Full() and c.dtype == "float32" and c.valid_every == 10  # 10 updates an epoch
    assert d2l_1_0_config(seed=4, strategy=Truncated(5)).strategy == Truncated(5)
    assert TrainConfig().pipeline == "d2l-2nd" and PIPELINES == ("d2l-2nd", "d2l-1.0")
    assert BOOK_VALID_PERPLEXITY["d2l-1.0"] == (7.37, 0.05)
    with pytest.raises(ValueError, match="pipeline"):
        TrainConfig(pipeline="d2l-3rd")


def engine_gradients_vb(rnn, X, Y, h0, strategy):
    """``engine_gradients`` for any vocabulary and window shape."""
    V = rnn.V
    inputs = np.concatenate([np.eye(V)[X], np.ones(X.shape + (1,))], axis=2)
    engine = RNN(np.hstack([rnn.W_hx, rnn.b_h[:, None]]), rnn.W_hh, rnn.W_qh, activation="tanh")
    return bptt(engine, inputs, Y, strategy, loss="xent", h0=h0)


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_a_1_0_minibatch_gradient_matches_the_engines_bptt(name):
    """The last (shorter) minibatch of an epoch, every window from h_0 = 0, under each strategy."""
    data = d2l_time_machine(BOOK_TEXT, T, 40, 10)
    batch = data.batches(16, train=True, rng=2)[-1]
    assert batch.X.shape == (T, 8)
    rnn = init_char_rnn(len(data.vocab), H, seed=0, scale=0.5)
    rnn.b_h[...] = 0.3 * np.random.default_rng(1).standard_normal(H)
    strategy, kwargs = STRATEGIES[name]
    loss, g, _ = window_gradients(rnn, batch.X, batch.Y, None, **kwargs)
    ref = engine_gradients_vb(rnn, batch.X, batch.Y, None, strategy)
    assert loss == pytest.approx(ref.loss, rel=1e-13)
    V = rnn.V
    np.testing.assert_allclose(g.W_hx, ref.W_hx[:, :V], rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(g.b_h, ref.W_hx[:, V], rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(g.W_hh, ref.W_hh, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(g.W_qh, ref.W_qh, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(g.b_q, ref.dL_do.sum(axis=(0, 1)), rtol=1e-10, atol=1e-13)
    assert not g.W_hx[:, data.vocab.unk].any()  # <unk> never occurs: its input column gets no gradient


def test_a_1_0_minibatch_gradient_matches_central_differences():
    data = d2l_time_machine(BOOK_TEXT, 6, 50, 10)
    batch = data.batches(20, train=True, rng=0)[0]
    rnn = init_char_rnn(len(data.vocab), 5, seed=1, scale=0.5)
    rnn.b_q[...] = 0.2
    _, g, _ = window_gradients(rnn, batch.X, batch.Y)
    eps = 1e-6
    for k in np.random.default_rng(4).choice(rnn.flat.size, size=30, replace=False):
        plus, minus = rnn.copy(), rnn.copy()
        plus.flat[k] += eps
        minus.flat[k] -= eps
        numeric = (window_gradients(plus, batch.X, batch.Y)[0] - window_gradients(minus, batch.X, batch.Y)[0]) / (2 * eps)
        assert g.flat[k] == pytest.approx(numeric, rel=1e-6, abs=1e-9), k


def test_1_0_trainer_replays_the_books_loop():
    """Shuffled windows, B at a time, h_0 = 0 for every minibatch, clip to θ, SGD; validation is the
    mean over the validation minibatches of exp(mean loss)."""
    cfg = small_1_0(theta=0.5, epochs=2, valid_every=1000)
    data = d2l_time_machine(BOOK_TEXT, cfg.num_steps, cfg.num_train, cfg.num_val)
    trainer = Trainer(data, cfg)
    updates = list(trainer.updates())
    assert len(updates) == 2 * 5 and [u.epoch for u in updates] == [1] * 5 + [2] * 5  # ⌈600/128⌉ = 5
    replay = Trainer(make_corpus(BOOK_TEXT), cfg)  # a Corpus is cut into the same windows
    assert replay.windows.vocab == data.vocab
    rnn = replay.rnn
    for epoch in range(2):
        for i, b in enumerate(replay.windows.batches(cfg.batch_size, train=True, rng=replay._data_rng)):
            loss, g, _ = window_gradients(rnn, b.X, b.Y, None)
            u = updates[5 * epoch + i]
            assert loss == pytest.approx(u.loss, rel=1e-12)
            norm = np.linalg.norm(g.flat)
            assert u.grad_norm == pytest.approx(norm, rel=1e-12) and u.clipped == (norm > 0.5)
            rnn.flat -= cfg.lr * min(1.0, 0.5 / norm) * g.flat
    np.testing.assert_allclose(trainer.rnn.flat, rnn.flat, rtol=1e-11, atol=1e-14)
    valid = data.batches(cfg.batch_size, train=False)
    book = np.mean([np.exp(window_gradients(rnn, b.X, b.Y)[0]) for b in valid])
    assert updates[-1].valid_perplexity == pytest.approx(book, rel=1e-12)
    assert windowed_perplexity(rnn, valid) == pytest.approx(book, rel=1e-12)
    assert [u.valid_perplexity is not None for u in updates] == [False] * 9 + [True]


def test_1_0_pipeline_same_seed_same_curves_and_a_falling_loss():
    tiny = d2l_time_machine(TINY, 10, 600, 200)
    for name in STRATEGY_KEYS:
        cfg = small_1_0(strategy=strategy_from_name(name, tau=4, pi=matched_pi(4)), epochs=6, hidden=24,
                        batch_size=32, prefix="the ")
        a = train(tiny, cfg)
        assert not a.diverged
        assert a.loss[-5:].mean() < 0.2 * a.loss[:5].mean(), name
        assert a.final_valid_perplexity < 1.5, name  # the refrain is learnt
    data = d2l_time_machine(BOOK_TEXT, 10, 600, 200)
    cfg = small_1_0(strategy=Randomized(0.6))
    a, b, c = train(data, cfg), train(data, cfg), train(data, small_1_0(strategy=Randomized(0.6), seed=1))
    for field in ("loss", "grad_norm", "clipped", "epoch"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    np.testing.assert_array_equal(a.valid_perplexity, b.valid_perplexity)
    assert a.samples == b.samples and a.samples[0][1].startswith("it has")
    assert not np.array_equal(a.loss, c.loss)


def test_1_0_pipeline_inputs_are_checked():
    data = d2l_time_machine(BOOK_TEXT, 10, 600, 200)
    with pytest.raises(ValueError, match=r"\(num_steps, num_train, num_val\) = \(10, 600, 200\)"):
        Trainer(data, small_1_0(num_steps=12))
    with pytest.raises(ValueError, match="d2l-2nd pipeline trains on a Corpus"):
        Trainer(data, tiny_config())
    with pytest.raises(ValueError, match="too few for num_train"):
        Trainer(make_corpus(BOOK_TEXT), small_1_0(num_train=10_000))
    # The book's vocabulary maps unknown characters to <unk>: any prefix can start a sample.
    assert Trainer(data, small_1_0(prefix="the!")).generate(length=0) == "the<unk>"
