"""Users' own data on a page: "Your own W_hh" and "Your own text", pasted or uploaded.

One pattern for both. Input is parsed in the widgets' callbacks (once per change, not on every
rerun) by the pure readers of ``bptt_core.uploads``. A valid input is kept in
``st.session_state`` under the input's key, so it survives page switches; an invalid one leaves
the last valid value in place and shows one ``st.error`` with the reader's message, escaped so
that nothing the user typed is read as markdown. "Use the built …" goes back to the lab's own.
"""

from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from bptt_core import MAX_H
from bptt_core.uploads import (MAX_MATRIX_BYTES, MAX_TEXT_BYTES, InputError, UserText, parse_matrix, quote,
                               read_text)
from ui.book_source import keep_users_copy
from ui.text import plain_markdown

PREVIEW_CHARS = 300  # how much of a user's raw text is echoed back, as plain text
OWN_MATRIX = "own_w_hh"  # session keys of the two inputs
OWN_TEXT = "own_text"
# The views whose charts a user's input replaces the lab's data in (a scenario's sentence is then not about them).
REPLACES = {"eigenvalues": (OWN_MATRIX,), "truncation": (OWN_TEXT,), "training": (OWN_TEXT,)}

def _keys(key: str) -> dict[str, str]:
    return {part: f"{key}_{part}" for part in ("error", "paste", "generation", "source", "kept")}


def _file_key(key: str) -> str:
    # A file uploader cannot be emptied through session_state; a new key gives a fresh one.
    return f"{key}_file_{st.session_state.get(_keys(key)['generation'], 0)}"


def _accept(key: str, parse: Callable[[Any], Any], data, source: str) -> None:
    k = _keys(key)
    try:
        parsed = parse(data)
    except InputError as exc:
        st.session_state[k["error"]] = f"{source}: {exc}"
        return
    st.session_state.pop(k["error"], None)
    if isinstance(parsed, UserText) and parsed.is_book:
        # The book's own file: it becomes the server's copy (every page's "The Time Machine"), not "your text".
        kept, said = keep_users_copy(data)
        if kept:  # any earlier text of the user's gives way to the book
            st.session_state[k["kept"]] = said
            st.session_state.pop(key, None)
            st.session_state.pop(k["source"], None)
            return
        parsed = UserText(parsed.raw, parsed.processed, said)
    st.session_state[key] = parsed
    st.session_state[k["source"]] = source


def _on_paste(key: str, parse: Callable[[Any], Any]) -> None:
    text = st.session_state.get(_keys(key)["paste"], "")
    if text.strip():
        _accept(key, parse, text, "Pasted text")


def _on_upload(key: str, parse: Callable[[Any], Any], cap: int) -> None:
    upload = st.session_state.get(_file_key(key))
    if upload is not None:
        # Read one byte past the cap: the reader then names the size instead of parsing a huge file.
        _accept(key, parse, upload.read(cap + 1), f"The file {quote(upload.name)}")


def _use_built(key: str) -> None:
    k = _keys(key)
    for name in (key, k["error"], k["source"]):
        st.session_state.pop(name, None)
    st.session_state[k["paste"]] = ""
    st.session_state[k["generation"]] = st.session_state.get(k["generation"], 0) + 1


def _own_input(key: str, *, title: str, help_text: str, placeholder: str, parse: Callable[[Any], Any],
               cap: int, file_types: list[str], back_label: str):
    k = _keys(key)
    with st.expander(title, expanded=key in st.session_state or k["error"] in st.session_state):
        st.caption(help_text)
        st.text_area("Paste here", key=k["paste"], placeholder=placeholder, max_chars=cap, height=120,
                     on_change=_on_paste, args=(key, parse))
        st.file_uploader("or upload a file", type=file_types, key=_file_key(key),
                         on_change=_on_upload, args=(key, parse, cap))
        if key in st.session_state:
            st.button(back_label, key=f"{key}_back", on_click=_use_built, args=(key,),
                      icon=":material/undo:")
    saved = st.session_state.pop(k["kept"], None)
    if saved:
        st.success(saved, icon=":material/menu_book:")
    error = st.session_state.get(k["error"])
    if error:
        kept = " The page keeps the previous one." if key in st.session_state else ""
        st.error(plain_markdown(error) + kept, icon=":material/error:")
    return own_input(key)


def own_input(key: str):
    """(the user's last valid input under ``key`` or None, where it came from), drawing nothing:
    for a view's open section, which reruns without the expander that takes the input."""
    return st.session_state.get(key), st.session_state.get(_keys(key)["source"], "")


def own_matrix(key: str = OWN_MATRIX):
    """The "Your own W_hh" expander. Returns (W (h, h) float64 or None, where it came from)."""
    return _own_input(
        key, title="Your own Wₕₕ", parse=parse_matrix, cap=MAX_MATRIX_BYTES, file_types=["csv", "txt", "tsv"],
        back_label="Use the built matrix",
        help_text=f"A square matrix of finite numbers, h ≤ {MAX_H}: one row per line, numbers separated by commas, "
                  "semicolons or spaces (a CSV export works). It replaces the sidebar's Wₕₕ in every chart of this view.",
        placeholder="0.9 0.5\n0   0.8")


def own_text(key: str = OWN_TEXT) -> tuple[UserText | None, str]:
    """The "Your own text" expander. Returns (UserText or None, where it came from)."""
    return _own_input(
        key, title="Your own text", parse=read_text, cap=MAX_TEXT_BYTES, file_types=["txt", "md", "csv"],
        back_label="Use The Time Machine",
        help_text=f"Any plain text up to {MAX_TEXT_BYTES // 2**20} MB, preprocessed as the book does: letters a–z "
                  "in lower case, every other run of characters one space.",
        placeholder="It was the best of times, it was the worst of times …")


def own_text_panel() -> None:
    """The "Your own text" expander and, once a text is in, its preview, for a view to draw outside
    the fragment of its open section: a slider move then reruns that section without sending the
    text area, the uploader and the preview again. The section reads the text with ``own_input``."""
    own, _ = own_text()
    if own is not None:
        show_text_preview(own)


def show_text_preview(text: UserText) -> None:
    """The start of the user's text as given and as preprocessed, both as plain text; the decoding notice."""
    if text.notice:
        st.info(plain_markdown(text.notice), icon=":material/info:")
    st.caption("The start of your text, as given and after the book's preprocessing:")
    st.text(text.raw[:PREVIEW_CHARS] + ("…" if len(text.raw) > PREVIEW_CHARS else ""))
    st.code(text.processed[:PREVIEW_CHARS], language=None, wrap_lines=True)
