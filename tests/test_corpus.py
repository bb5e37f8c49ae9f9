"""Vocabulary, the train/validation split and the book's two minibatch partitionings."""

from __future__ import annotations

import numpy as np
import pytest

from bptt_core import FALLBACK_TEXT, Vocab, fit_batch_size, make_corpus, minibatches, preprocess, random_batches, sequential_batches

TEXT = preprocess(FALLBACK_TEXT)


def test_vocab_is_sorted_and_round_trips():
    vocab = Vocab.from_text(TEXT)
    assert vocab.chars == "".join(sorted(set(TEXT)))
    assert vocab.chars[0] == " " and len(vocab) == len(set(TEXT))
    idx = vocab.encode(TEXT)
    assert idx.dtype == np.intp and idx.shape == (len(TEXT),)
    assert vocab.decode(idx) == TEXT
    assert vocab.decode(vocab.encode("time traveller")) == "time traveller"
    assert vocab.decode([]) == ""


def test_vocab_rejects_unknown_characters_and_indices():
    vocab = Vocab.from_text("abc ")
    with pytest.raises(ValueError, match="'Z' at position 1"):
        vocab.encode("aZb")
    with pytest.raises(ValueError, match="'é' at position 0"):
        vocab.encode("é")
    with pytest.raises(ValueError, match=r"values in \[0, 3\]"):
        vocab.decode([0, 4])
    with pytest.raises(ValueError, match="non-empty"):
        Vocab.from_text("")


def test_split_keeps_the_tail_for_validation():
    corpus = make_corpus(TEXT, valid_fraction=0.2)
    n = len(TEXT)
    assert corpus.train.size + corpus.valid.size == n
    assert corpus.valid.size == round(0.2 * n)
    assert corpus.vocab.decode(corpus.train) + corpus.vocab.decode(corpus.valid) == TEXT
    assert not corpus.train.flags.writeable
    with pytest.raises(ValueError, match="too few"):
        make_corpus("ab", 0.1)
    with pytest.raises(ValueError, match="valid_fraction"):
        make_corpus(TEXT, 1.0)


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_random_batches_cover_disjoint_windows(seed):
    tokens = np.arange(1000)  # token i is its own position: windows can be read off directly
    b = random_batches(tokens, batch_size=4, num_steps=7, rng=seed)
    n_batches = len(b)
    assert b.X.shape == b.Y.shape == (n_batches, 7, 4) and not b.sequential
    assert np.array_equal(b.Y, b.X + 1)
    offset = int(b.starts.min() % 7)
    assert 0 <= offset < 7
    # Every window is contiguous, starts on the offset grid, and no two windows share a start.
    assert np.array_equal(np.diff(b.X, axis=1), np.ones((n_batches, 6, 4)))
    assert np.array_equal(b.X[:, 0, :], b.starts)
    starts = np.sort(b.starts.ravel())
    assert np.all((starts - offset) % 7 == 0) and np.unique(starts).size == starts.size
    # ⌊K/B⌋ batches out of K = ⌊(N − offset − 1)/T⌋ subsequences.
    assert n_batches == ((1000 - offset - 1) // 7) // 4
    assert b.Y.max() <= 999


def test_random_batches_are_shuffled_and_seeded():
    tokens = np.arange(5000)
    a, b, c = (random_batches(tokens, 8, 10, rng=s) for s in (3, 3, 4))
    assert np.array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)
    assert not np.all(np.diff(a.starts.ravel()) > 0)  # not in text order


@pytest.mark.parametrize("seed", [0, 2, 5])
def test_sequential_batches_continue_row_by_row(seed):
    tokens = np.arange(1000)
    b = sequential_batches(tokens, batch_size=4, num_steps=7, rng=seed)
    assert b.sequential and b.X.shape[1:] == (7, 4)
    assert np.array_equal(b.Y, b.X + 1)
    # Row b of batch i + 1 starts right after row b of batch i ends: the state can be carried.
    assert np.array_equal(b.X[1:, 0, :], b.X[:-1, -1, :] + 1)
    offset = int(b.X[0, 0, 0])
    assert 0 <= offset <= 7
    L = (1000 - offset - 1) // 4
    assert len(b) == L // 7
    assert np.array_equal(b.X[0, 0, :], offset + L * np.arange(4))  # B parallel streams
    # Within the streams, every covered token appears exactly once.
    covered = np.sort(b.X.ravel())
    assert np.unique(covered).size == covered.size


def test_partitioning_works_on_real_indices_and_rejects_short_text():
    corpus = make_corpus(TEXT)
    for sequential in (True, False):
        b = minibatches(corpus.train, 4, 35, sequential=sequential, rng=np.random.default_rng(0))
        assert corpus.vocab.decode(b.X[0, :, 0])[1:] == corpus.vocab.decode(b.Y[0, :-1, 0])
    with pytest.raises(ValueError, match="batch_size = 32 .* num_steps = 35"):
        sequential_batches(np.arange(100), 32, 35)
    with pytest.raises(ValueError, match="too few"):
        random_batches(np.arange(100), 32, 35)
    with pytest.raises(ValueError, match="1-D integer"):
        random_batches(np.zeros(100), 2, 3)


@pytest.mark.parametrize("n, T", [(1530, 10), (1530, 50), (156085, 35), (156085, 1000), (500, 200)])
def test_fit_batch_size_leaves_enough_minibatches(n, T):
    B = fit_batch_size(n, T, wanted=32, min_batches=4)
    assert 0 <= B <= 32
    if B == 0:
        assert (n - T - 1) // T < 4
        return
    for seed in range(5):
        assert len(sequential_batches(np.arange(n), B, T, rng=seed)) >= 4
        assert len(random_batches(np.arange(n), B, T, rng=seed)) >= 4
