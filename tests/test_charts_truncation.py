"""Chart builders of the truncation view: the book's figure (three rows, the book's
segments), strategy names and styles from STRATEGIES, axis titles, and no inf/NaN
in any trace, including at overflow. The Monte-Carlo figures: tests/test_charts_randomized.py."""

from __future__ import annotations


import numpy as np
import pytest

from bptt_core import (BOOK_FIGURE_SEGMENTS, BOOK_FIGURE_TAU, BOOK_FIGURE_TEXT, STRATEGY_KEYS, Full, Randomized,
                       Truncated,
                       boundaries_from_xi, compare_strategies, full_boundaries, randomized_boundaries,
                       regular_boundaries, toy_problem, xi_from_segments)
from charts.style import STRATEGIES
from charts.truncation import (LINE_CHARS, ROWS, SPACE, agreement_figure, gradient_norms_figure, segment_labels,
                               truncation_figure)
from tests.page_charts import nonfinite_values

KEYS = STRATEGY_KEYS
BOOK_ROW = ["the", "␣time", "␣m", "achine␣", "by", "␣h␣g", "␣wel", "ls"]


nonfinite = nonfinite_values


def book_boundaries(n=len(BOOK_FIGURE_TEXT), tau=BOOK_FIGURE_TAU):
    return {"randomized": boundaries_from_xi(xi_from_segments(BOOK_FIGURE_SEGMENTS)),
            "chunked": regular_boundaries(n, tau), "full": full_boundaries(n)}


def row_segments(fig, key):
    """(start, end) of the boxes drawn for one row, read back from the figure's shapes (a box cut by the
    end of a line is two shapes of one name, each running out of its line)."""
    boxes = {}
    for s in fig.layout.shapes:
        if s.name and s.name.startswith(key + " segment "):
            x0, x1 = boxes.get(s.name, (s.x0, s.x1))
            boxes[s.name] = (min(x0, s.x0), max(x1, s.x1))
    return sorted((round(x0), round(x1)) for x0, x1 in boxes.values())


# --- the book's figure -------------------------------------------------------------------------

def test_book_figure_has_three_rows_with_the_books_segments():
    fig = truncation_figure(BOOK_FIGURE_TEXT, book_boundaries())
    text_traces = [t for t in fig.data if t.mode == "text"]
    assert [t.name for t in text_traces] == [STRATEGIES[k]["name"] for k in ROWS]
    assert ROWS == ("randomized", "chunked", "full")
    # Randomized: the|␣time|␣m|achine␣|by|␣h␣g|␣wel|ls, read from the drawn boxes.
    b = np.cumsum((0,) + BOOK_FIGURE_SEGMENTS)
    assert row_segments(fig, "randomized") == list(zip(b[:-1].tolist(), b[1:].tolist()))
    assert [BOOK_FIGURE_TEXT[i:j].replace(" ", SPACE) for i, j in row_segments(fig, "randomized")] == BOOK_ROW
    assert fig.layout.meta["segments"]["randomized"] == BOOK_ROW
    # Regular, τ = 4: the␣|time|␣mac|hine|␣by␣|h␣g␣|well|s.
    assert fig.layout.meta["segments"]["chunked"] == ["the␣", "time", "␣mac", "hine", "␣by␣", "h␣g␣", "well", "s"]
    assert row_segments(fig, "chunked") == [(i, min(i + 4, 29)) for i in range(0, 29, 4)]
    # Full: one segment.
    assert row_segments(fig, "full") == [(0, 29)]


def test_book_figure_characters_in_their_cells_with_visible_spaces():
    fig = truncation_figure(BOOK_FIGURE_TEXT, book_boundaries())
    rows_y = []
    for trace in (t for t in fig.data if t.mode == "text"):
        assert "".join(trace.text) == BOOK_FIGURE_TEXT.replace(" ", SPACE)
        assert np.allclose(trace.x, np.arange(29) + 0.5)  # character i sits in the cell [i, i+1]
        assert len(set(trace.y)) == 1
        rows_y.append(trace.y[0])
    assert rows_y == sorted(rows_y, reverse=True)  # randomized on top, full at the bottom
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text and fig.layout.title.text
    assert nonfinite(fig) == 0


def test_neighbouring_boxes_alternate_shades():
    fig = truncation_figure(BOOK_FIGURE_TEXT, book_boundaries())
    fills = [s.fillcolor for s in fig.layout.shapes if s.name.startswith("randomized")]
    assert len(fills) == len(BOOK_FIGURE_SEGMENTS)
    assert all(a != b for a, b in zip(fills, fills[1:]))
    assert fills[0] == fills[2]


def test_random_draw_rows_match_the_core():
    text = "the time machine by h g wells i the time traveller for so it will be convenient to"
    n = len(text)
    b = {"randomized": randomized_boundaries(n, 0.3, 7), "chunked": regular_boundaries(n, 5),
         "full": full_boundaries(n)}
    fig = truncation_figure(text, b)
    for key in ROWS:
        got = row_segments(fig, key)
        want = list(zip(b[key][:-1].tolist(), b[key][1:].tolist()))
        assert got == want, key
        assert "".join(s.replace(SPACE, " ") for s in fig.layout.meta["segments"][key]) == text


def test_a_long_text_wraps_onto_lines_of_three_rows():
    """82 characters: three lines of at most LINE_CHARS, each with its own axes, its positions on its x
    axis, every character once per row in its cell, and the row names short ("Randomized")."""
    text = "the time machine by h g wells i the time traveller for so it will be convenient to"
    n = len(text)
    b = {"randomized": randomized_boundaries(n, 0.3, 7), "chunked": regular_boundaries(n, 5),
         "full": full_boundaries(n)}
    fig = truncation_figure(text, b, row_labels={"randomized": "Randomized (π = 0.3)", "chunked": "Regular (τ = 5)"})
    lay = fig.layout
    lines = -(-n // LINE_CHARS)
    assert lines == 3 and lay.yaxis3.domain[0] == 0 and lay.yaxis.domain[1] == 1
    assert lay.yaxis.domain[0] > lay.yaxis2.domain[1] > lay.yaxis2.domain[0] > lay.yaxis3.domain[1]
    for key in ROWS:
        traces = [t for t in fig.data if t.mode == "text" and t.name == STRATEGIES[key]["name"]]
        assert len(traces) == lines
        assert "".join(c for t in traces for c in t.text) == text.replace(" ", SPACE)
        x = np.concatenate([t.x for t in traces])
        np.testing.assert_allclose(x, np.arange(n) + 0.5)
        assert all(len(t.text) <= LINE_CHARS for t in traces)
        assert [t.xaxis for t in traces] == ["x", "x2", "x3"]
    assert list(lay.yaxis2.ticktext) == ["Randomized", "Regular", "Full"]
    assert "Randomized (π = 0.3)" in fig.data[0].hovertext[0]
    for line, axis in enumerate((lay.xaxis, lay.xaxis2, lay.xaxis3)):  # positions 1-based, every 5th
        labels = [int(v) for v in axis.ticktext]
        assert all(v % 5 == 0 or v == labels[0] for v in labels) and labels[-1] <= n
    assert lay.xaxis3.title.text and not lay.xaxis.title.text


def test_segment_labels():
    assert segment_labels("ab cd", [0, 2, 5]) == ["ab", "␣cd"]


@pytest.mark.parametrize("bad", [[0, 10], [1, 29], [0, 5, 5, 29], [0, 30]])
def test_figure_rejects_boundaries_that_do_not_cover_the_text(bad):
    b = book_boundaries()
    b["chunked"] = bad
    with pytest.raises(ValueError, match="boundaries"):
        truncation_figure(BOOK_FIGURE_TEXT, b)


# --- the four gradients ------------------------------------------------------------------------

def strategies(tau=4, pi=0.5, seed=0):
    return {"full": Full(), "chunked": Truncated(tau), "sliding": Truncated(tau, "sliding"),
            "randomized": Randomized(pi, seed)}


def test_gradient_norms_figure_names_styles_and_axes():
    rnn, X, Y = toy_problem(40, 8, "tanh", 1.1, 0)
    cmp = compare_strategies(rnn, X, Y, strategies())
    fig = gradient_norms_figure(cmp.log10_dL_dh, cmp.keys, log_space=cmp.log_space)
    assert [t.name for t in fig.data] == [STRATEGIES[k]["name"] for k in KEYS]
    for trace, key in zip(fig.data, KEYS):
        assert trace.line.color == STRATEGIES[key]["color"] and trace.line.dash == STRATEGIES[key]["dash"]
        assert len(trace.x) == 40
    assert fig.layout.yaxis.title.text.startswith("log₁₀")
    assert fig.layout.xaxis.title.text == "Time step t"
    assert nonfinite(fig) == 0


def test_agreement_figure():
    rnn, X, Y = toy_problem(30, 6, "identity", 0.9, 1)
    cmp = compare_strategies(rnn, X, Y, strategies())
    fig = agreement_figure(cmp.keys, cmp.cosine, cmp.relative_error)
    assert [t.name for t in fig.data] == [STRATEGIES[k]["name"] for k in KEYS]
    assert fig.data[0].y[0] == pytest.approx(1.0)  # full against itself
    assert all(-1 <= t.y[0] <= 1 for t in fig.data)
    assert fig.layout.xaxis.type == "category"
    assert nonfinite(fig) == 0


def test_overflow_drops_nonfinite_points_with_a_note():
    rnn, X, Y = toy_problem(800, 8, "identity", 3.0, 0)  # h_t ~ 3^t: float64 overflows near t = 650
    cmp = compare_strategies(rnn, X, Y, strategies())
    assert not cmp.finite.all()
    fig = gradient_norms_figure(cmp.log10_dL_dh, cmp.keys, log_space=cmp.log_space)
    assert nonfinite(fig) == 0
    names = [t.name for t in fig.data]
    assert names[0] == STRATEGIES["full"]["name"] + " (log space)"
    assert names[2] == STRATEGIES["sliding"]["name"]  # no log-space version: its overflowed steps are dropped
    assert len(fig.data[0].x) == 800 and len(fig.data[2].x) < 800
    assert any("left out" in a.text for a in fig.layout.annotations)
    bars = agreement_figure(cmp.keys, cmp.cosine, cmp.relative_error)
    assert nonfinite(bars) == 0 and len(bars.data) == 0
    assert any("overflowed" in a.text for a in bars.layout.annotations)


def test_partial_agreement_notes_what_is_missing():
    fig = agreement_figure(KEYS, [1.0, 0.5, float("nan"), 0.7], [0.0, 0.9, float("nan"), 0.8])
    assert [t.name for t in fig.data] == [STRATEGIES[k]["name"] for k in ("full", "chunked", "randomized")]
    assert any(STRATEGIES["sliding"]["name"] in a.text for a in fig.layout.annotations)


def test_markup_in_the_text_reaches_plotly_as_entities():
    text = "<b>x</b> & <a href=javascript:alert(1)>y</a>"
    fig = truncation_figure(text, {"randomized": [0, len(text)], "chunked": [0, len(text)],
                                   "full": [0, len(text)]})
    for trace in fig.data:
        shown = "".join(trace.text) + "".join(trace.hovertext)
        assert "<" not in shown and ">" not in shown and "&lt;b&gt;" in shown and "&amp;" in shown
    assert fig.layout.meta["segments"]["full"] == [text.replace(" ", "␣")]  # the plain characters, for tests
