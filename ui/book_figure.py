"""The book's truncation figure on the truncation view: which text, which randomized row, what it says.

The figure draws three rows of segments over the opening of a text: the book's own randomized draw
over its 29 characters, or a fresh draw over up to ``MAX_FIGURE_CHARS`` of The Time Machine (or the
user's own text). What the user changes rarely (the text, the book's draw, Resample) is drawn
above the view's fragment by ``book_figure_inputs``; ``book_figure`` is the section's body.
"""

from __future__ import annotations

from typing import NamedTuple

import streamlit as st

from bptt_core import BOOK_FIGURE_TEXT
from charts.truncation import truncation_figure
from ui.book_source import STAND_IN, book_notice
from ui.compute import book_text, figure_rows, figure_rows_over
from ui.controls import value, widget
from ui.drag import DRAG_NOTE, Drag, control_values
from ui.figures import show_chart
from ui.own_data import OWN_TEXT, own_input, own_text_panel

MAX_FIGURE_CHARS = 80         # more characters than this no longer fit a readable row
OPENING_CHARS = 200           # how much of the preprocessed text the figure can draw from
DRAW_KEY = "truncation_draw"  # session counter bumped by "Resample"


class FigureText(NamedTuple):
    text: str        # the characters drawn
    book: bool       # the book's own draw in the randomized row
    source: str      # "your text" or "The Time Machine"
    note: str        # why the book's draw is not shown, or ""


def _resample():
    st.session_state[DRAW_KEY] = st.session_state.get(DRAW_KEY, 0) + 1
    st.session_state["book_draw"] = False  # a fresh draw replaces the book's


def book_figure_inputs():
    """Your own text, where the text comes from, the book's draw and Resample (outside the fragment)."""
    own_text_panel()
    own, _ = own_input(OWN_TEXT)
    if own is None:
        book_notice(f"the book's draw is over the {len(BOOK_FIGURE_TEXT)} characters its figure prints, and a fresh "
                    f"draw over {STAND_IN}" if value("book_draw") else f"the figure cuts {STAND_IN} instead")
    left, right = st.columns([3, 1])
    with left:
        widget("book_draw")
    with right:
        st.button("Resample", key="truncation_resample", on_click=_resample, icon=":material/casino:",
                  help="A new randomized draw (the seed from the sidebar, combined with a draw counter).")


def figure_text(T: int) -> FigureText:
    """The characters to draw and whether the book's own draw can be shown over them."""
    own, _ = own_input(OWN_TEXT)
    text, is_book, _, _ = book_text()
    opening = (own.processed if own is not None else text)[:OPENING_CHARS]
    source = "your text" if own is not None else "The Time Machine" if is_book else "the project's own short text"
    book = value("book_draw")  # its toggle is drawn above the fragment (book_figure_inputs)
    if book and len(opening) < len(BOOK_FIGURE_TEXT):
        return FigureText(opening[:min(T, MAX_FIGURE_CHARS)], False, source,
                          f"Your text has {len(opening)} letters and spaces, fewer than the {len(BOOK_FIGURE_TEXT)} of "
                          "the book's draw: a fresh random draw is shown instead.")
    if book:
        n = len(BOOK_FIGURE_TEXT)
        if opening.startswith(BOOK_FIGURE_TEXT) or own is not None:
            return FigureText(opening[:n], True, source, "")
        # No copy of the book here: its draw is over its own 29 characters, which the figure prints.
        return FigureText(BOOK_FIGURE_TEXT, True, "the book's opening words (as its figure prints them)", "")
    return FigureText(opening[:min(T, MAX_FIGURE_CHARS)], False, source, "")


def book_figure(T: int, seed: int, tau: int, pi: float) -> None:
    """The book's figure for the view's T, seed, τ and π, with its caption."""
    shown = figure_text(T)
    if shown.note:
        st.caption(shown.note)
    draw = st.session_state.get(DRAW_KEY, 0)
    n = len(shown.text)
    if shown.book:
        caption = (f"The book's figure over {shown.source}: its three rows over the first {n} characters. The "
                   "randomized row is the book's own draw (the|␣time|␣m|achine␣|by|␣h␣g|␣wel|ls), the regular row "
                   f"cuts every τ = {tau} characters, and full BPTT is one segment. Gradient flows inside a box, "
                   "never into the box before it. Turn off the book's draw (or press Resample) for a fresh "
                   "random draw.")
    else:
        caption = (f"The first {n} characters of {shown.source}, preprocessed (T = {T}, at most {MAX_FIGURE_CHARS} "
                   "so a row stays readable), with ␣ for a space; each box is a segment through which the gradient "
                   f"flows. Randomized: π = {pi:g}, draw {draw} of seed {seed}; regular: cuts every τ = {tau} "
                   "characters; full: one segment.")
    rows = figure_rows(n, tau, pi, seed + 10_000 * draw, shown.book)
    show_chart(figure_chart(shown, rows, tau, pi), key="truncation_figure", caption=caption + DRAG_NOTE,
               drags=figure_drags(shown, rows, tau, pi, seed + 10_000 * draw))


def figure_chart(shown: FigureText, rows: dict, tau: int, pi: float):
    """The figure for the rows of τ and π (the chart, and each frame of its drags)."""
    labels = {"randomized": "Randomized (the book's draw)" if shown.book else f"Randomized (π = {pi:g})",
              "chunked": f"Regular (τ = {tau})", "full": "Full"}
    return truncation_figure(shown.text, rows, row_labels=labels)


def figure_drags(shown: FigureText, rows: dict, tau: int, pi: float, seed: int) -> tuple[Drag, ...]:
    """τ dragged on the figure moves the regular row's cuts; π (for a fresh draw: the book's own is fixed)
    merges and splits the randomized row's segments, the same uniforms for every π."""
    n = len(shown.text)
    taus, pis = control_values("tau"), control_values("pi") if not shown.book else ()
    cut = tuple(sorted({min(t, n) for t in taus}))  # every τ ≥ n is one segment
    regular, randomized = figure_rows_over(n, cut, pis, seed)
    by_tau = {t: regular[cut.index(min(t, n))] for t in taus}
    # The τ frames hold the randomized row as drawn: the book's own draw does not depend on the seed.
    drawn = None if shown.book else (pi, seed)
    drags = [Drag("tau", "τ", (shown, drawn), lambda t: figure_chart(
        shown, dict(rows, chunked=by_tau[t]), t, pi), taus)]
    if pis:
        by_pi = dict(zip(pis, randomized))
        drags.append(Drag("pi", "π", (shown, tau, seed), lambda p: figure_chart(
            shown, dict(rows, randomized=by_pi[p]), tau, p), pis))
    return tuple(drags)
