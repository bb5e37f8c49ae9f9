"""The book's text out of the box, on the page (AppTest on the Training lab, downloads from a loopback
server started here): a download on first need into the cache; offline, one sentence saying why; a
failed download, its reason and Try again; the user's own copy recognised by its SHA-1, or accepted
as another edition with a note. No sentence shows a path on the server."""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bptt_core import text as tm
from ui.registry import VIEWS

ROOT = Path(__file__).resolve().parents[1]
VIEW = next(v for v in VIEWS if v.url_path == "training")
# The real book (its SHA-1 is the one the lab checks), captured before any test changes the environment.
BOOK = Path(os.environ.get(tm.ENV_VAR) or ROOT.parent / "shared" / "data" / "timemachine.txt")
needs_book = pytest.mark.skipif(not BOOK.is_file(), reason="no copy of timemachine.txt to serve")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def mirror(tmp_path):
    """A loopback HTTP server whose /timemachine.txt is the book; yields its base URL."""
    root = tmp_path / "www"
    root.mkdir()
    if BOOK.is_file():
        (root / "timemachine.txt").write_bytes(BOOK.read_bytes())
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def no_copy(monkeypatch, tmp_path):
    """No book named, an empty cache, no proxy for loopback, and no failure remembered from another test."""
    from ui.book_source import _download_state
    from ui.compute import time_machine

    monkeypatch.delenv(tm.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    _download_state.clear()
    time_machine.clear()
    yield
    _download_state.clear()
    time_machine.clear()


def online(monkeypatch, path: str) -> None:
    """Downloads allowed, from the mirror's ``path``."""
    monkeypatch.setenv(tm.OFFLINE_VAR, "0")
    monkeypatch.setenv(tm.URL_VAR, path)


def cache_files(tmp_path) -> list[str]:
    folder = tmp_path / "xdg" / tm.CACHE_SUBDIR
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def open_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page(VIEW.path)
    return at.run()


def said(at: AppTest) -> list[str]:
    """Every notice on the page, as read (markdown's escapes of the URL's punctuation taken out)."""
    return [e.value.replace("\\", "") for e in (*at.info, *at.warning, *at.success, *at.error)]


def stand_in_notices(at: AppTest) -> list[str]:
    return [s for s in said(at) if "project's own short text" in s]


def test_offline_the_page_says_why_in_one_sentence_without_paths(tmp_path):
    assert os.environ[tm.OFFLINE_VAR] == "1"  # tests/conftest.py
    at = open_page()
    assert not at.exception and not at.error
    [notice] = stand_in_notices(at)
    assert "does not download (BPTT_OFFLINE is set)" in notice and "upload the book's timemachine.txt" in notice
    assert str(tmp_path) not in " ".join(said(at)) and "/" not in notice.split("(BPTT")[0]
    assert not [b for b in at.button if b.label == "Try again"], "offline, trying again cannot help"
    assert cache_files(tmp_path) == []


@needs_book
def test_on_first_need_the_book_is_downloaded_into_the_cache(monkeypatch, mirror, tmp_path):
    online(monkeypatch, mirror + "/timemachine.txt")
    at = open_page()
    assert not at.exception and not at.error
    assert stand_in_notices(at) == []
    assert cache_files(tmp_path) == [tm.CACHE_FILE]
    assert (tmp_path / "xdg" / tm.CACHE_SUBDIR / tm.CACHE_FILE).read_bytes() == BOOK.read_bytes()
    # The next session reads the cache: nothing is downloaded again, even with the mirror gone.
    monkeypatch.setenv(tm.URL_VAR, mirror + "/gone.txt")
    again = open_page()
    assert stand_in_notices(again) == [] and not again.warning


@needs_book
def test_a_failed_download_says_why_and_try_again_fetches_it(monkeypatch, mirror, tmp_path):
    online(monkeypatch, mirror + "/missing.txt")
    at = open_page()
    assert not at.exception and not at.error
    [notice] = stand_in_notices(at)
    assert notice.startswith(f"The Time Machine could not be downloaded: 127.0.0.1 answered 404 (File not found) "
                             f"for {mirror}/missing.txt; so the lab trains on the project's own short text")
    assert cache_files(tmp_path) == [], "nothing partial is left"
    # The failure is remembered: another session does not wait for the same failure again.
    assert stand_in_notices(open_page()) == [notice]
    monkeypatch.setenv(tm.URL_VAR, mirror + "/timemachine.txt")  # the network is back
    next(b for b in at.button if b.label == "Try again").click()
    at.run()
    assert not at.exception and not at.error
    assert stand_in_notices(at) == [] and not [b for b in at.button if b.label == "Try again"]
    assert cache_files(tmp_path) == [tm.CACHE_FILE]


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="own_text_file_0").set_value((name, data, "text/plain"))
    return at.run()


@needs_book
def test_an_uploaded_copy_of_the_book_becomes_the_labs_copy(tmp_path):
    at = open_page()
    assert stand_in_notices(at)
    at.text_area(key="own_text_paste").input("an earlier text of the student's own, " * 30).run()
    assert any("Training on your own text" in s for s in said(at))
    upload(at, "timemachine.txt", BOOK.read_bytes())
    assert not at.exception and not at.error
    assert any("its SHA-1 matches" in s for s in said(at))
    assert stand_in_notices(at) == [] and not any("your own text" in s for s in said(at))
    assert cache_files(tmp_path) == [tm.CACHE_FILE]
    assert stand_in_notices(open_page()) == [], "every session now has the book"


@needs_book
def test_another_edition_is_your_own_text_with_a_note(tmp_path):
    at = open_page()
    edition = BOOK.read_bytes().replace(b"The Time Traveller", b"The Time-Traveller", 1)
    upload(at, "wells.txt", edition)
    assert not at.exception and not at.error
    assert any("another edition" in s and "numbers will differ from the book's" in s for s in said(at))
    assert any("Training on your own text" in s for s in said(at))
    assert stand_in_notices(at) == [] and cache_files(tmp_path) == []


def test_the_figure_says_whose_text_it_cuts_when_the_book_is_missing():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page(next(v for v in VIEWS if v.url_path == "truncation").path)
    at.run()
    [notice] = stand_in_notices(at)
    assert "so the book's draw is over the 29 characters its figure prints, and a fresh draw over" in notice
    assert any("The book's figure over the book's opening words" in c.value for c in at.caption)
    next(w for w in at if getattr(w, "key", None) == "book_draw").set_value(False)
    at.run()
    assert not at.exception and not at.error
    [notice] = stand_in_notices(at)
    assert "so the figure cuts the project's own short text (1,907 characters) instead" in notice
    assert any("characters of the project's own short text, preprocessed" in c.value for c in at.caption)
    assert not any("of The Time Machine, preprocessed" in c.value for c in at.caption)
