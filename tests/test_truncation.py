"""Tests of bptt_core.truncation: the segment partitions of the book's figure."""

from __future__ import annotations

import numpy as np
import pytest

from bptt_core import (BOOK_FIGURE_PI, BOOK_FIGURE_SEGMENTS, BOOK_FIGURE_TAU, BOOK_FIGURE_TEXT,
                       Randomized, Truncated, boundaries_from_xi, full_boundaries, multipliers,
                       randomized_boundaries, regular_boundaries, segments, xi_from_segments)

BOOK_RANDOMIZED_ROW = ["the", " time", " m", "achine ", "by", " h g", " wel", "ls"]


def test_book_figure_randomized_row():
    assert len(BOOK_FIGURE_TEXT) == 29
    xi = xi_from_segments(BOOK_FIGURE_SEGMENTS)
    assert xi.shape == (29,)
    assert set(np.unique(xi)) == {0.0, 1.0 / BOOK_FIGURE_PI}
    b = boundaries_from_xi(xi)
    assert segments(BOOK_FIGURE_TEXT, b) == BOOK_RANDOMIZED_ROW
    assert b.tolist() == [0, 3, 8, 10, 17, 19, 23, 27, 29]
    # The ξ replays through Randomized exactly.
    assert np.array_equal(multipliers(Randomized(BOOK_FIGURE_PI, xi=xi), 29), xi)


def test_book_figure_regular_and_full_rows():
    b = regular_boundaries(29, BOOK_FIGURE_TAU)
    assert b.tolist() == [0, 4, 8, 12, 16, 20, 24, 28, 29]
    assert segments(BOOK_FIGURE_TEXT, b) == ["the ", "time", " mac", "hine", " by ", "h g ", "well", "s"]
    # The same cuts as Truncated(τ) uses in bptt.
    assert np.array_equal(boundaries_from_xi(multipliers(Truncated(4), 29)), b)
    f = full_boundaries(29)
    assert f.tolist() == [0, 29]
    assert segments(BOOK_FIGURE_TEXT, f) == [BOOK_FIGURE_TEXT]


@pytest.mark.parametrize("T,tau", [(29, 4), (10, 1), (10, 10), (10, 3), (5, 7), (100, 9)])
def test_regular_boundaries_cut_every_tau(T, tau):
    b = regular_boundaries(T, tau)
    assert b[0] == 0 and b[-1] == T
    assert np.all(np.diff(b[:-1]) == tau)
    assert 0 < b[-1] - b[-2] <= tau


def test_xi_from_segments_values():
    xi = xi_from_segments([2, 3], pi=0.25)
    np.testing.assert_array_equal(xi, [4.0, 4.0, 0.0, 4.0, 4.0])
    assert xi_from_segments([5]).tolist() == [2.0] * 5  # one segment: no cut
    with pytest.raises(ValueError, match="lengths"):
        xi_from_segments([2, 0, 1])
    with pytest.raises(ValueError, match="lengths"):
        xi_from_segments([1.5, 2])


def test_randomized_boundaries_seeded():
    a = randomized_boundaries(200, 0.5, seed=1)
    assert np.array_equal(a, randomized_boundaries(200, 0.5, seed=1))
    assert not np.array_equal(a, randomized_boundaries(200, 0.5, seed=2))
    # Same draw as the Randomized strategy with that seed.
    assert np.array_equal(a, boundaries_from_xi(multipliers(Randomized(0.5, seed=1), 200)))


@pytest.mark.parametrize("pi", [0.5, 0.2, 0.8])
def test_randomized_mean_segment_length(pi):
    # A cut happens where ξ_t = 0, i.e. with probability 1 − π: segment lengths are
    # geometric with mean 1/(1 − π) (= 1/π only for the figure's π = 1/2).
    T = 200_000
    b = randomized_boundaries(T, pi, seed=0)
    mean_len = np.diff(b).mean()
    assert mean_len == pytest.approx(1.0 / (1.0 - pi), rel=0.03)


def test_pi_one_never_cuts():
    assert randomized_boundaries(50, 1.0, seed=0).tolist() == [0, 50]


@pytest.mark.parametrize("T", [1, 2, 3, 7, 29, 64, 101, 500])
def test_partitions_cover_0_to_T(T):
    rng = np.random.default_rng(T)
    cases = [full_boundaries(T), regular_boundaries(T, int(rng.integers(1, 10)))]
    cases += [randomized_boundaries(T, float(pi), seed=int(s)) for pi, s in
              zip(rng.uniform(0.05, 1.0, 5), rng.integers(0, 1000, 5))]
    text = "".join(chr(97 + i % 26) for i in range(T))
    for b in cases:
        assert b[0] == 0 and b[-1] == T
        assert np.all(np.diff(b) > 0)
        assert "".join(segments(text, b)) == text
        assert all(len(s) > 0 for s in segments(text, b))


def test_boundaries_from_xi_ignores_first_step():
    # ξ_1 multiplies the flow into h_0: a zero there is not a cut inside the sequence.
    assert boundaries_from_xi([0.0, 1.0, 0.0, 1.0]).tolist() == [0, 2, 4]
