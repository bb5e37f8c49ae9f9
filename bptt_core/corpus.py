"""A data helper for training (the book's language-model data, before this section): a text's
characters, a split, minibatches.

The vocabulary is the sorted set of characters of the preprocessed text (for
The Time Machine: the space and the 26 lower-case letters), so index i is the
i-th character in code-point order. A ``Corpus`` keeps the first part of the
text for training and the last ``valid_fraction`` for validation (one cut, so
no validation character was ever seen in a training window).

Minibatches follow the book's two ways of partitioning a long sequence
(d2l ``seq_data_iter_random`` and ``seq_data_iter_sequential``), with time on
axis 0: every batch is a pair (X, Y) of token indices of shape (T, B), the
window of T = num_steps characters of B subsequences, and Y is X shifted one
character ahead (the targets of next-character prediction).

- random: drop a random offset in [0, T), cut the rest into subsequences of T,
  shuffle them, and deal them out B at a time; neighbouring batches are not
  neighbours in the text, so a model's state must be reset between them.
- sequential: drop a random offset in [0, T], lay the rest out as B parallel
  streams, and walk along them T characters at a time; row b of batch i + 1
  continues row b of batch i, so the state can be carried over (detached).

All randomness comes from the ``rng`` (a ``numpy.random.Generator``) or seed given.

The above is the book's 2nd edition (d2l 0.17, ``load_data_time_machine``). Its 1.0 edition
(``d2l.TimeMachine``, chapters "Converting Raw Text into Sequence Data" and "Language Models")
builds the data differently, and ``d2l_time_machine`` follows it:

- the vocabulary is ``sorted(set(['<unk>'] + tokens))`` (d2l 1.0 ``Vocab``): for The Time
  Machine ``' ', '<unk>', 'a', …, 'z'`` (28 tokens; ``<unk>`` never occurs in the text, unknown
  characters map to it instead of failing);
- every position i < N − T starts a window ``corpus[i : i + T + 1]`` (overlapping windows, one
  character apart); X is its first T tokens, Y its last T;
- windows 0 … num_train − 1 train, the next num_val validate (the book: 10,000 and 5,000, so
  the book trains on the first ~10,000 characters only);
- minibatches are the book's ``DataLoader(shuffle=train)``: a fresh permutation of the training
  windows every epoch, cut into batches of B with the last one shorter (nothing dropped);
  validation windows in order. Every window starts from h_0 = 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np

from .checks import as_float, as_int, describe
from .text import preprocess


@dataclass(frozen=True)
class Vocab:
    """Characters and their indices: ``chars[i]`` is the character with index i."""

    chars: str

    @classmethod
    def from_text(cls, text: str) -> "Vocab":
        """The sorted distinct characters of ``text`` (which must not be empty)."""
        if not isinstance(text, str) or not text:
            raise ValueError(f"text: expected a non-empty string, got {describe(text)}")
        return cls("".join(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    @cached_property
    def _table(self) -> np.ndarray:
        """Code point → index (−1 for characters outside the vocabulary)."""
        table = np.full(max(map(ord, self.chars)) + 1, -1, dtype=np.intp)
        table[[ord(c) for c in self.chars]] = np.arange(len(self.chars))
        return table

    def encode(self, text: str) -> np.ndarray:
        """Indices (len(text),) of the characters of ``text``; ``ValueError`` naming the first unknown one."""
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.intp)
        table = self._table
        idx = np.where(codes < table.size, table[np.minimum(codes, table.size - 1)], -1)
        if (idx < 0).any():
            i = int(np.argmax(idx < 0))
            raise ValueError(f"text: character {text[i]!r} at position {i} is not in the vocabulary "
                             f"({len(self)} characters: {self.chars!r})")
        return idx

    def decode(self, indices) -> str:
        """The string with the characters at ``indices`` (any integer array-like)."""
        idx = np.asarray(indices, dtype=np.intp).ravel()
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise ValueError(f"indices: expected values in [0, {len(self) - 1}], got [{idx.min()}, {idx.max()}]")
        return "".join(self.chars[i] for i in idx.tolist())


@dataclass(frozen=True, eq=False)
class Corpus:
    """A preprocessed text cut into training and validation token indices.

    text: the preprocessed text; vocab: its characters; train (N_train,) and
    valid (N_valid,): intp indices of the first and the last part of the text.
    """

    text: str
    vocab: Vocab
    train: np.ndarray
    valid: np.ndarray


def make_corpus(text: str, valid_fraction: float = 0.1) -> Corpus:
    """Vocabulary of ``text`` and the split: the last ``valid_fraction`` of the characters validate.

    ``text`` should already be preprocessed (``bptt_core.preprocess``); both parts
    keep at least 2 characters (one input and its target).
    """
    vocab = Vocab.from_text(text)
    valid_fraction = as_float("valid_fraction", valid_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    tokens = vocab.encode(text)
    n_valid = int(round(len(tokens) * valid_fraction))
    if n_valid < 2 or len(tokens) - n_valid < 2:
        raise ValueError(f"text: {len(tokens)} characters are too few to keep {valid_fraction:g} of them for "
                         "validation and the rest for training (at least 2 each)")
    cut = len(tokens) - n_valid
    train, valid = tokens[:cut].copy(), tokens[cut:].copy()
    train.setflags(write=False)
    valid.setflags(write=False)
    return Corpus(text=text, vocab=vocab, train=train, valid=valid)


@dataclass(frozen=True, eq=False)
class Batches:
    """One epoch of minibatches: X, Y (N, T, B) token indices, Y[n, t, b] the successor of
    X[n, t, b] in the text; ``sequential`` says whether batch n + 1 continues batch n row by row;
    ``starts`` (N, B): the position in the token array of X[n, 0, b]."""

    X: np.ndarray
    Y: np.ndarray
    sequential: bool
    starts: np.ndarray

    def __len__(self) -> int:
        return self.X.shape[0]


def _generator(rng) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(as_int("seed", rng, minimum=0))


def _check(tokens, batch_size, num_steps):
    tokens = np.asarray(tokens)
    if tokens.ndim != 1 or not np.issubdtype(tokens.dtype, np.integer):
        raise ValueError(f"tokens: expected a 1-D integer array, got {describe(tokens)}")
    return tokens, as_int("batch_size", batch_size, minimum=1), as_int("num_steps", num_steps, minimum=1)


def _too_short(n, batch_size, num_steps, need):
    return ValueError(f"tokens: {n} characters are too few for one minibatch of batch_size = {batch_size} "
                      f"subsequences of num_steps = {num_steps} (need at least {need}); use a shorter "
                      "window or a smaller batch")


def random_batches(tokens, batch_size: int, num_steps: int, rng=0) -> Batches:
    """The book's random partitioning (d2l ``seq_data_iter_random``), one epoch.

    offset ~ U{0, …, T−1}; subsequences start at offset + kT for
    k < ⌊(N − offset − 1)/T⌋, in a random order; the first B·⌊K/B⌋ of them
    fill N_b = ⌊K/B⌋ batches of B. Returns ``Batches`` with X, Y (N_b, T, B).
    """
    tokens, B, T = _check(tokens, batch_size, num_steps)
    rng = _generator(rng)
    offset = int(rng.integers(0, T))
    n_sub = (tokens.size - offset - 1) // T
    n_batches = n_sub // B
    if n_batches < 1:
        raise _too_short(tokens.size, B, T, B * T + T)
    starts = offset + T * rng.permutation(n_sub)[:n_batches * B].reshape(n_batches, B)
    window = starts[:, None, :] + np.arange(T)[None, :, None]  # (N_b, T, B)
    return Batches(X=tokens[window], Y=tokens[window + 1], sequential=False, starts=starts)


def sequential_batches(tokens, batch_size: int, num_steps: int, rng=0) -> Batches:
    """The book's sequential partitioning (d2l ``seq_data_iter_sequential``), one epoch.

    offset ~ U{0, …, T}; the M = B·⌊(N − offset − 1)/B⌋ tokens after it are laid
    out as B streams of L = M/B; batch i holds characters iT … iT + T − 1 of
    every stream, for i < ⌊L/T⌋. Returns ``Batches`` with X, Y (N_b, T, B).
    """
    tokens, B, T = _check(tokens, batch_size, num_steps)
    rng = _generator(rng)
    offset = int(rng.integers(0, T + 1))
    L = (tokens.size - offset - 1) // B
    n_batches = L // T if L > 0 else 0
    if n_batches < 1:
        raise _too_short(tokens.size, B, T, B * T + T + 1)
    stream = offset + L * np.arange(B)  # where each of the B streams starts
    starts = stream[None, :] + T * np.arange(n_batches)[:, None]  # (N_b, B)
    window = starts[:, None, :] + np.arange(T)[None, :, None]
    return Batches(X=tokens[window], Y=tokens[window + 1], sequential=True, starts=starts)


def minibatches(tokens, batch_size: int, num_steps: int, *, sequential: bool, rng=0) -> Batches:
    """``sequential_batches`` or ``random_batches``."""
    part = sequential_batches if sequential else random_batches
    return part(tokens, batch_size, num_steps, rng)


def fit_batch_size(n_tokens: int, num_steps: int, wanted: int = 32, min_batches: int = 4) -> int:
    """The largest B ≤ ``wanted`` that still gives both partitionings at least ``min_batches``
    minibatches of (T, B) from ``n_tokens`` characters (0 when even B = 1 cannot).

    Sequential batching has ⌊(N − offset − 1)/B⌋ characters per stream with offset ≤ T, so
    B ≤ (N − T − 1) / (T · min_batches) suffices; random batching needs less.
    """
    n = as_int("n_tokens", n_tokens, minimum=0)
    T = as_int("num_steps", num_steps, minimum=1)
    wanted = as_int("wanted", wanted, minimum=1)
    return max(0, min(wanted, (n - T - 1) // (T * as_int("min_batches", min_batches, minimum=1))))


# --- the book's 1.0 edition: d2l.TimeMachine ------------------------------------------------------

UNK = "<unk>"


@dataclass(frozen=True)
class TokenVocab:
    """d2l 1.0's ``Vocab`` over characters: ``tokens[i]`` is the token with index i.

    ``tokens`` is ``sorted(set(['<unk>'] + reserved_tokens + characters))``, as the book builds
    it (with min_freq = 0), so ``<unk>`` sorts after the space and before the letters.
    ``encode`` maps a character outside the vocabulary to ``<unk>``, as ``vocab[token]`` does.
    """

    tokens: tuple[str, ...]

    @classmethod
    def from_text(cls, text: str, reserved_tokens=()) -> "TokenVocab":
        """The vocabulary of the characters of ``text`` (which must not be empty), with ``<unk>``."""
        if not isinstance(text, str) or not text:
            raise ValueError(f"text: expected a non-empty string, got {describe(text)}")
        reserved = [str(t) for t in reserved_tokens]
        return cls(tuple(sorted(set([UNK] + reserved + list(text)))))

    def __post_init__(self):
        tokens = tuple(self.tokens)
        if UNK not in tokens or len(set(tokens)) != len(tokens):
            raise ValueError(f"tokens: expected distinct tokens including {UNK!r}, got {describe(tokens)}")
        object.__setattr__(self, "tokens", tokens)

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def unk(self) -> int:
        """The index of ``<unk>``."""
        return self.tokens.index(UNK)

    @cached_property
    def _table(self) -> np.ndarray:
        """Code point → index for the one-character tokens (``unk`` elsewhere)."""
        chars = [(i, t) for i, t in enumerate(self.tokens) if len(t) == 1]
        size = max((ord(t) for _, t in chars), default=0) + 1
        table = np.full(size, self.unk, dtype=np.intp)
        for i, t in chars:
            table[ord(t)] = i
        return table

    def encode(self, text: str) -> np.ndarray:
        """Indices (len(text),) of the characters of ``text``, ``<unk>``'s for unknown ones."""
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.intp)
        table = self._table
        return np.where(codes < table.size, table[np.minimum(codes, table.size - 1)], self.unk)

    def decode(self, indices) -> str:
        """The tokens at ``indices`` joined (``<unk>`` spelt out, as the book's ``predict`` does)."""
        idx = np.asarray(indices, dtype=np.intp).ravel()
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise ValueError(f"indices: expected values in [0, {len(self) - 1}], got [{idx.min()}, {idx.max()}]")
        return "".join(self.tokens[i] for i in idx.tolist())


class WindowBatch(NamedTuple):
    """One minibatch of windows, time on axis 0: X, Y (T, B) token indices, Y[t, b] = X[t + 1, b]
    for t < T − 1; starts (B,): where each window starts in the token array."""

    X: np.ndarray
    Y: np.ndarray
    starts: np.ndarray


@dataclass(frozen=True, eq=False)
class WindowedText:
    """The book's 1.0 data (``d2l.TimeMachine``): overlapping windows of T + 1 tokens.

    text: the preprocessed text; vocab: ``TokenVocab`` (with ``<unk>``); tokens (N,): the
    book's ``corpus``, read-only; num_steps: T; num_train, num_val: how many windows train
    (windows 0 … num_train − 1) and validate (the next num_val).
    """

    text: str
    vocab: TokenVocab
    tokens: np.ndarray
    num_steps: int
    num_train: int
    num_val: int

    @property
    def n_windows(self) -> int:
        """N − T windows: window i is ``tokens[i : i + T + 1]``."""
        return self.tokens.size - self.num_steps

    @property
    def X(self) -> np.ndarray:
        """(N − T, T): row i is ``tokens[i : i + T]`` (the book's ``self.X``; a read-only view)."""
        return np.lib.stride_tricks.sliding_window_view(self.tokens, self.num_steps)[:self.n_windows]

    @property
    def Y(self) -> np.ndarray:
        """(N − T, T): row i is ``tokens[i + 1 : i + T + 1]`` (the book's ``self.Y``)."""
        return np.lib.stride_tricks.sliding_window_view(self.tokens, self.num_steps)[1:self.n_windows + 1]

    def windows(self, starts) -> WindowBatch:
        """The windows starting at ``starts`` (B,) as one minibatch: X, Y (T, B)."""
        starts = np.asarray(starts, dtype=np.intp)
        idx = np.arange(self.num_steps)[:, None] + starts[None, :]  # (T, B)
        return WindowBatch(X=self.tokens[idx], Y=self.tokens[idx + 1], starts=starts)

    def batches(self, batch_size: int, *, train: bool, rng=0) -> list[WindowBatch]:
        """One epoch of the book's loader (``DataLoader(..., batch_size, shuffle=train)``).

        train: the num_train training windows in a random order drawn from ``rng``, in batches of
        B (the last one holds the ⌈num_train/B⌉·B − num_train fewer); else the num_val validation
        windows in order (``rng`` unused).
        """
        B = as_int("batch_size", batch_size, minimum=1)
        if train:
            starts = _generator(rng).permutation(self.num_train)
        else:
            starts = self.num_train + np.arange(self.num_val)
        return [self.windows(starts[i:i + B]) for i in range(0, starts.size, B)]


def d2l_time_machine(text: str, num_steps: int = 32, num_train: int = 10_000, num_val: int = 5_000) -> WindowedText:
    """The book's 1.0 ``d2l.TimeMachine(batch_size, num_steps, num_train, num_val)`` over ``text``.

    text → ``preprocess`` (the book's; it leaves a preprocessed text unchanged) → characters →
    ``TokenVocab`` over all of them → tokens (N,); window i = tokens[i : i + T + 1] for
    i < N − T; X = its first T, Y = its last T. Windows [0, num_train) train,
    [num_train, num_train + num_val) validate. ``ValueError`` when the text has fewer than
    num_train + num_val windows (the book would silently validate on fewer).
    """
    T = as_int("num_steps", num_steps, minimum=1)
    num_train = as_int("num_train", num_train, minimum=1)
    num_val = as_int("num_val", num_val, minimum=1)
    if not isinstance(text, str) or not text:
        raise ValueError(f"text: expected a non-empty string, got {describe(text)}")
    text = preprocess(text)
    vocab = TokenVocab.from_text(text)
    tokens = vocab.encode(text)
    tokens.setflags(write=False)
    n_windows = tokens.size - T
    if n_windows < num_train + num_val:
        raise ValueError(f"text: {tokens.size} characters give {max(n_windows, 0)} windows of num_steps + 1 = "
                         f"{T + 1}, too few for num_train + num_val = {num_train} + {num_val}; "
                         "use a longer text or fewer windows")
    return WindowedText(text=text, vocab=vocab, tokens=tokens, num_steps=T, num_train=num_train, num_val=num_val)
