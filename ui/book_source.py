"""Where the lab's copy of The Time Machine comes from, on the page: a download on first need (with a
progress line), and, offline or after a failure, one plain sentence saying why, **Try again**, and the
user's own copy (recognised by its SHA-1 in "Your own text").

One download per server process at a time (a lock shared by every session): when a lecture hall
opens the Training lab together, one session downloads and the others wait for it, then read the
cache. A failure is remembered for the process, so a dead network costs one timeout, not one per
rerun, until someone presses Try again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import streamlit as st

from bptt_core.text import (BOOK_BYTES, FALLBACK_TEXT, OFFLINE_VAR, DownloadError, book_url, default_cache_dir,
                            download_to_cache, downloads_allowed, host_of, preprocess, save_book_copy)
from ui.compute import book_text
from ui.text import plain_markdown

FALLBACK_CHARS = len(preprocess(FALLBACK_TEXT))


@dataclass
class _Download:
    lock: threading.Lock = field(default_factory=threading.Lock)
    reason: str | None = None  # why the last download failed, until Try again


@st.cache_resource(show_spinner=False)
def _download_state() -> _Download:
    return _Download()


def _in_words(exc: OSError) -> str:
    """What went wrong with a file on this server, without its name (``strerror``, else the error's kind)."""
    return (exc.strerror or type(exc).__name__).lower()


def ensure_book() -> None:
    """Download the book into the server's cache when this server has no copy, may download, and has
    not failed since the last Try again; a progress line shows while it comes."""
    _, is_book, _, problem = book_text()
    state = _download_state()
    if is_book or problem or not downloads_allowed() or state.reason is not None:
        return
    if not state.lock.acquire(blocking=False):
        with st.spinner(f"Another session is downloading The Time Machine from {host_of(book_url())} …"):
            state.lock.acquire()
    try:
        if book_text()[1] or state.reason is not None:  # another session finished (or failed) while we waited
            return
        host = host_of(book_url())
        line = st.empty()

        def progress(done: int, total: int | None) -> None:
            total = total or BOOK_BYTES
            line.progress(min(done / total, 1.0),
                          text=f"Downloading The Time Machine from {host} … {done / 1000:.0f} of {total / 1000:.0f} kB")

        progress(0, None)
        try:
            download_to_cache(default_cache_dir(), url=book_url(), progress=progress)
        except DownloadError as exc:
            state.reason = exc.reason
        except OSError as exc:  # the cache folder cannot be written
            state.reason = f"this server cannot write its cache ({_in_words(exc)})"
        finally:
            line.empty()
    finally:
        state.lock.release()


def _try_again() -> None:
    _download_state().reason = None


STAND_IN = f"the project's own short text ({FALLBACK_CHARS:,} characters)"


def book_notice(uses: str) -> None:
    """The book for a page that reads it: downloaded first when it may be (``ensure_book``), then, when the
    page still has not got it, why, in one sentence, with Try again after a failed download. ``uses`` says
    what the page does instead (a clause naming ``STAND_IN``)."""
    ensure_book()
    _, is_book, _, problem = book_text()
    if is_book:
        return
    stand_in = f"so {uses}."
    own = (" To use your own copy, upload the book's timemachine.txt under “Your own text”: it is recognised by "
           "its SHA-1.")
    reason = _download_state().reason
    if problem:
        st.warning(f"{problem} The lab does not download while it is set, {stand_in}", icon=":material/warning:")
    elif not downloads_allowed():
        st.info(f"This server has no copy of The Time Machine and does not download ({OFFLINE_VAR} is set), "
                f"{stand_in}{own}", icon=":material/cloud_off:")
    elif reason is not None:
        # The button under the sentence, not beside it: a narrow column cut its label at 800 px.
        st.warning(f"The Time Machine could not be downloaded: {plain_markdown(reason)}; {stand_in}{own}",
                   icon=":material/cloud_off:")
        st.button("Try again", key="book_try_again", on_click=_try_again, icon=":material/refresh:",
                  help=f"Download the book again from {host_of(book_url())}.")


def keep_users_copy(data: bytes) -> tuple[bool, str]:
    """Save a user's upload that is the book's own file as the server's copy: (kept, a sentence saying
    so, or why it could not be kept and is used as the user's own text instead)."""
    try:
        save_book_copy(data)
    except OSError as exc:
        return False, (f"Your file is the book's own timemachine.txt, but this server cannot keep it "
                       f"({_in_words(exc)}): it is used as your own text.")
    _try_again()
    return True, ("Your file is the book's own timemachine.txt (its SHA-1 matches): the lab now uses it as "
                  "The Time Machine.")
