"""Comparing Strategies: segment partitions, where each strategy cuts the flow of gradient.

A segment starts at t = 1 and at every t ≥ 2 with ξ_t = 0 (the gradient does
not flow from h_t back into h_{t-1}). These are the three rows of the book's
truncation figure.
"""

from __future__ import annotations

import numpy as np

from .bptt import chunked_xi, randomized_xi
from .checks import as_float, as_float_array, as_int

# The book's figure over "the time machine by h g wells" (29 characters): the
# randomized row reads the|␣time|␣m|achine␣|by|␣h␣g|␣wel|ls, i.e. segments of
# 3, 5, 2, 7, 2, 4, 4, 2 characters. These ξ (π = 1/2) redraw it exactly.
BOOK_FIGURE_TEXT = "the time machine by h g wells"
BOOK_FIGURE_SEGMENTS = (3, 5, 2, 7, 2, 4, 4, 2)
BOOK_FIGURE_TAU = 4
BOOK_FIGURE_PI = 0.5


def xi_from_segments(lengths, pi: float = BOOK_FIGURE_PI) -> np.ndarray:
    """ξ (T,) whose cuts give segments of the given lengths: 0 at each segment's first step (t ≥ 2), 1/π elsewhere."""
    lengths = as_float_array("lengths", lengths, (1,))
    if (lengths < 1).any() or not np.array_equal(lengths, np.round(lengths)):
        raise ValueError(f"lengths: expected positive integers, got {lengths.tolist()}")
    pi = as_float("pi", pi, low=0.0, high=1.0, low_open=True)
    xi = np.full(int(lengths.sum()), 1.0 / pi)
    xi[np.cumsum(lengths.astype(int))[:-1]] = 0.0
    return xi


def boundaries_from_xi(xi) -> np.ndarray:
    """Segment boundaries [0, b_1, …, T] (0-based start indices, then T) for multipliers ξ (T,)."""
    xi = as_float_array("xi", xi, (1,))
    cuts = np.flatnonzero(xi[1:] == 0.0) + 1
    return np.concatenate([[0], cuts, [xi.size]]).astype(int)


def randomized_boundaries(T: int, pi: float, seed: int) -> np.ndarray:
    """Boundaries of a randomized-truncation draw (the figure's first row)."""
    T = as_int("T", T, minimum=1)
    pi = as_float("pi", pi, low=0.0, high=1.0, low_open=True)
    return boundaries_from_xi(randomized_xi(T, pi, as_int("seed", seed, minimum=0)))


def regular_boundaries(T: int, tau: int) -> np.ndarray:
    """Boundaries of regular truncation, chunks of τ (the figure's second row)."""
    T = as_int("T", T, minimum=1)
    return boundaries_from_xi(chunked_xi(T, as_int("tau", tau, minimum=1)))


def full_boundaries(T: int) -> np.ndarray:
    """Boundaries of full BPTT: one segment (the figure's third row)."""
    return np.array([0, as_int("T", T, minimum=1)])


def segments(text: str, boundaries) -> list[str]:
    """The pieces of ``text`` between consecutive boundaries."""
    b = np.asarray(boundaries, dtype=int)
    return [text[b[i]:b[i + 1]] for i in range(b.size - 1)]
