"""Vocabulary, the train/validation split and the book's two minibatch partitionings."""

from __future__ import annotations

import numpy as np
import pytest

from bptt_core import (FALLBACK_TEXT, UNK, TokenVocab, Vocab, d2l_time_machine, fit_batch_size, make_corpus, minibatches,
                       preprocess, random_batches, sequential_batches)

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


# --- the book's 1.0 pipeline: d2l.TimeMachine ----------------------------------------------------

def book_time_machine(raw_text, num_steps, num_train, num_val):
    """d2l 1.0's TimeMachine and Vocab, transcribed with lists (the book's code, minus torch)."""
    import re

    tokens = list(re.sub('[^A-Za-z]+', ' ', raw_text).lower())
    idx_to_token = list(sorted(set(['<unk>'] + tokens)))
    token_to_idx = {token: idx for idx, token in enumerate(idx_to_token)}
    corpus = [token_to_idx[token] for token in tokens]
    array = np.array([corpus[i:i + num_steps + 1] for i in range(len(corpus) - num_steps)])
    X, Y = array[:, :-1], array[:, 1:]
    train, val = slice(0, num_train), slice(num_train, num_train + num_val)
    return idx_to_token, corpus, X, Y, train, val


def test_token_vocab_has_unk_where_the_book_puts_it():
    vocab = TokenVocab.from_text("the time")
    assert vocab.tokens == (" ", UNK, "e", "h", "i", "m", "t")  # sorted: ' ' < '<unk>' < letters
    assert vocab.unk == 1 and len(vocab) == 7
    assert vocab.encode("them!").tolist() == [6, 3, 2, 5, 1]   # unknown characters become <unk>
    assert vocab.decode(vocab.encode("time the")) == "time the"
    assert vocab.decode([1, 0, 6]) == "<unk> t"
    assert TokenVocab.from_text("ab", reserved_tokens=["<pad>"]).tokens == ("<pad>", UNK, "a", "b")  # sorted too
    with pytest.raises(ValueError, match=r"values in \[0, 6\]"):
        vocab.decode([7])
    with pytest.raises(ValueError, match="non-empty"):
        TokenVocab.from_text("")


def test_d2l_time_machine_is_the_books_windows_vocabulary_and_split():
    raw = FALLBACK_TEXT  # raw: capitals, punctuation and new lines, preprocessed as the book does
    T, n_train, n_val = 7, 300, 120
    data = d2l_time_machine(raw, T, n_train, n_val)
    idx_to_token, corpus, X, Y, train, val = book_time_machine(raw, T, n_train, n_val)
    assert data.text == TEXT
    assert list(data.vocab.tokens) == idx_to_token and UNK in data.vocab.tokens
    assert len(data.vocab) == len(set(TEXT)) + 1
    assert data.tokens.tolist() == corpus and not data.tokens.flags.writeable
    assert data.n_windows == len(corpus) - T
    np.testing.assert_array_equal(data.X, X)
    np.testing.assert_array_equal(data.Y, Y)
    assert not data.X.flags.writeable
    # The split: windows [0, num_train) train, the next num_val validate.
    valid = data.batches(50, train=False)
    assert [b.X.shape for b in valid] == [(T, 50), (T, 50), (T, 20)]
    starts = np.concatenate([b.starts for b in valid])
    np.testing.assert_array_equal(starts, np.arange(n_train, n_train + n_val))
    np.testing.assert_array_equal(np.concatenate([b.X for b in valid], axis=1).T, X[val])
    np.testing.assert_array_equal(np.concatenate([b.Y for b in valid], axis=1).T, Y[val])
    assert X[train].shape == (n_train, T)


@pytest.mark.parametrize("seed", [0, 3])
def test_d2l_training_batches_are_one_shuffled_pass(seed):
    data = d2l_time_machine(TEXT, 5, 230, 40)
    rng = np.random.default_rng(seed)
    epoch = data.batches(64, train=True, rng=rng)
    assert [b.X.shape for b in epoch] == [(5, 64)] * 3 + [(5, 230 - 192)]  # the last one shorter, none dropped
    starts = np.concatenate([b.starts for b in epoch])
    assert sorted(starts.tolist()) == list(range(230))  # every training window once
    assert not np.all(np.diff(starts) > 0)              # shuffled
    for b in epoch:
        np.testing.assert_array_equal(b.X, data.X[b.starts].T)  # time on axis 0
        np.testing.assert_array_equal(b.Y, data.Y[b.starts].T)
        np.testing.assert_array_equal(b.X[1:], b.Y[:-1])       # overlapping: Y is X one ahead
    again = data.batches(64, train=True, rng=np.random.default_rng(seed))
    np.testing.assert_array_equal(np.concatenate([b.starts for b in again]), starts)
    second = np.concatenate([b.starts for b in data.batches(64, train=True, rng=rng)])
    assert not np.array_equal(second, starts)  # a new order every epoch


def test_d2l_time_machine_rejects_too_short_a_text():
    with pytest.raises(ValueError, match="too few for num_train \\+ num_val = 10000 \\+ 5000"):
        d2l_time_machine(TEXT)
    with pytest.raises(ValueError, match="num_steps"):
        d2l_time_machine(TEXT, 0)
    data = d2l_time_machine("abcdefgh", 2, 4, 2)  # exactly N − T = 6 windows
    assert data.n_windows == 6
