"""The Time Machine loader: explicit path, BPTT_TIME_MACHINE, the cache, a download
(from a local HTTP server, never the network) and the fallback."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import threading
import time
from pathlib import Path

import pytest

from bptt_core import text as tm
from bptt_core.text import (FALLBACK_TEXT, TIME_MACHINE_SHA1, TIME_MACHINE_URL, LoadedText,
                            default_cache_dir, load_time_machine, preprocess)

BODY = b"The Time Machine, by H. G. Wells [1898]\n\n\nI\n\nThe Time Traveller (for so it will be convenient)\n"
BODY_SHA1 = hashlib.sha1(BODY).hexdigest()
WRONG_SHA1 = "0" * 40


@pytest.fixture(autouse=True)
def no_outside_state(monkeypatch, tmp_path):
    """No env var, an empty cache home, and no proxy that could swallow 127.0.0.1."""
    monkeypatch.delenv(tm.ENV_VAR, raising=False)
    monkeypatch.delenv(tm.URL_VAR, raising=False)
    monkeypatch.delenv(tm.OFFLINE_VAR, raising=False)  # the suite sets it; these tests serve on loopback
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def book_file(tmp_path) -> Path:
    p = tmp_path / "book.txt"
    p.write_bytes(BODY)
    return p


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


# --- preprocess ------------------------------------------------------------------------------

def test_preprocess_is_the_books():
    assert preprocess("The Time Machine, by H. G. Wells [1898]") == "the time machine by h g wells "
    assert preprocess("a--b  C\n\nd_e3f") == "a b c d e f"
    assert preprocess("") == ""


# The real book, when the environment names one (captured at import: the autouse fixture
# removes BPTT_TIME_MACHINE during each test).
_REAL_BOOK = os.environ.get("BPTT_TIME_MACHINE", "")


@pytest.mark.skipif(not _REAL_BOOK, reason="BPTT_TIME_MACHINE is not set to a copy of timemachine.txt")
def test_preprocess_of_the_real_book():
    loaded = load_time_machine(_REAL_BOOK)  # checks the book's SHA-1
    assert loaded.source == "path"
    assert preprocess(loaded.text).startswith("the time machine by h g wells")


# --- explicit path and environment variable ------------------------------------------------------

def test_explicit_path_with_its_hash(book_file):
    loaded = load_time_machine(book_file, sha1=BODY_SHA1)
    assert isinstance(loaded, LoadedText)
    assert loaded.text == BODY.decode()
    assert loaded.source == "path" and loaded.is_book
    assert loaded.path == str(book_file) and str(book_file) not in loaded.detail  # the page shows no server path


def test_explicit_path_with_wrong_hash_raises_and_caches_nothing(book_file, tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match=f"expected {WRONG_SHA1}, got {BODY_SHA1}"):
        load_time_machine(book_file, cache_dir=cache, sha1=WRONG_SHA1)
    assert files_in(cache) == []


def test_explicit_path_default_hash_is_the_books(book_file):
    with pytest.raises(ValueError, match=TIME_MACHINE_SHA1):
        load_time_machine(book_file)


def test_missing_explicit_path_raises_oserror(tmp_path):
    with pytest.raises(OSError, match="cannot read"):
        load_time_machine(tmp_path / "nope.txt")


def test_env_var(monkeypatch, book_file):
    monkeypatch.setenv(tm.ENV_VAR, str(book_file))
    loaded = load_time_machine(sha1=BODY_SHA1)
    assert loaded.source == "env" and loaded.text == BODY.decode()
    assert tm.ENV_VAR in loaded.detail


def test_env_var_with_wrong_hash_raises(monkeypatch, book_file):
    monkeypatch.setenv(tm.ENV_VAR, str(book_file))
    with pytest.raises(ValueError, match=f"{tm.ENV_VAR}.*expected {WRONG_SHA1}, got {BODY_SHA1}"):
        load_time_machine(sha1=WRONG_SHA1)


def test_explicit_path_wins_over_env(monkeypatch, book_file, tmp_path):
    other = tmp_path / "other.txt"
    other.write_bytes(b"something else")
    monkeypatch.setenv(tm.ENV_VAR, str(other))
    assert load_time_machine(book_file, sha1=BODY_SHA1).source == "path"


# --- cache and fallback ----------------------------------------------------------------------

def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x" / "bptt-lab"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "bptt-lab"


def test_cache_is_used(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / tm.CACHE_FILE).write_bytes(BODY)
    loaded = load_time_machine(cache_dir=cache, sha1=BODY_SHA1)
    assert loaded.source == "cache" and loaded.text == BODY.decode()


def test_cache_under_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg2"))
    cache = tmp_path / "xdg2" / "bptt-lab"
    cache.mkdir(parents=True)
    (cache / tm.CACHE_FILE).write_bytes(BODY)
    assert load_time_machine(sha1=BODY_SHA1).source == "cache"


def test_corrupt_cache_is_ignored_and_falls_back(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / tm.CACHE_FILE).write_bytes(b"not the book")
    loaded = load_time_machine(cache_dir=cache, sha1=BODY_SHA1)
    assert loaded.source == "fallback" and "damaged" in loaded.detail and str(cache) not in loaded.detail


def test_fallback_when_nothing_exists(tmp_path):
    loaded = load_time_machine()  # env removed, XDG_CACHE_HOME empty, download off
    assert loaded.source == "fallback" and not loaded.is_book
    assert loaded.text == FALLBACK_TEXT
    assert loaded.detail == "This server has no copy of The Time Machine and downloading was not asked for."
    assert not (tmp_path / "xdg").exists()  # looking did not create anything


def test_fallback_text_is_long_enough_and_original():
    words = preprocess(FALLBACK_TEXT)
    assert len(FALLBACK_TEXT) >= 1500
    assert len(words) >= 1500
    assert not words.startswith("the time machine by h g wells")  # it does not pretend to be the book


# --- download, from a local server ------------------------------------------------------------------

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass


class _Cut(_Handler):
    """Promises the whole body, sends half of it, and hangs up."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY[: len(BODY) // 2])
        self.wfile.flush()
        self.close_connection = True


class _Stall(_Handler):
    """Sends its headers and a first block, then says nothing for longer than the client waits."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY[:10])
        self.wfile.flush()
        time.sleep(3)


class _Endless(_Handler):
    """Streams bytes with no announced length until the client stops reading."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        block = b"x" * 65536
        try:
            while True:
                self.wfile.write(block)
        except OSError:
            pass
        self.close_connection = True


class _Huge(_Handler):
    """Announces a body far larger than the book could be."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(1 << 30))
        self.end_headers()
        self.close_connection = True


@pytest.fixture
def server(tmp_path):
    """A local HTTP server in a thread; yields a function building URLs (and stops it after)."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "timemachine.txt").write_bytes(BODY)
    servers = []

    def start(handler):
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        servers.append((httpd, thread))
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    files = start(functools.partial(_Quiet, directory=str(root)))
    yield {"files": files, "start": start}
    for httpd, thread in servers:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def test_download_with_right_hash_caches(server, tmp_path):
    cache = tmp_path / "cache"
    url = server["files"] + "/timemachine.txt"
    seen = []
    loaded = load_time_machine(cache_dir=cache, download=True, sha1=BODY_SHA1, url=url,
                               progress=lambda done, total: seen.append((done, total)))
    assert loaded.source == "download" and loaded.text == BODY.decode()
    assert "127.0.0.1" in loaded.detail and str(cache) not in loaded.detail
    assert files_in(cache) == [tm.CACHE_FILE]
    assert (cache / tm.CACHE_FILE).read_bytes() == BODY
    assert seen and seen[-1] == (len(BODY), len(BODY))  # the progress line reaches the end
    # The next call finds it in the cache, without downloading.
    again = load_time_machine(cache_dir=cache, download=True, sha1=BODY_SHA1, url="http://127.0.0.1:9/none")
    assert again.source == "cache" and again.text == BODY.decode()


def test_the_mirror_variable_names_where_to_download_from(server, tmp_path, monkeypatch):
    monkeypatch.setenv(tm.URL_VAR, server["files"] + "/timemachine.txt")
    assert tm.book_url() == server["files"] + "/timemachine.txt"
    loaded = load_time_machine(cache_dir=tmp_path / "cache", download=True, sha1=BODY_SHA1)
    assert loaded.source == "download"


@pytest.mark.parametrize("value, allowed", [("1", False), ("true", False), ("yes", False), ("0", True),
                                            ("false", True), ("", True)])
def test_offline_never_downloads(server, tmp_path, monkeypatch, value, allowed):
    monkeypatch.setenv(tm.OFFLINE_VAR, value)
    assert tm.downloads_allowed() is allowed
    loaded = load_time_machine(cache_dir=tmp_path / "cache", download=True, sha1=BODY_SHA1,
                               url=server["files"] + "/timemachine.txt")
    assert loaded.source == ("download" if allowed else "fallback")
    if not allowed:
        assert "BPTT_OFFLINE" in loaded.detail and files_in(tmp_path / "cache") == []


# Each failure: its own reason, naming the host and never a file on this machine, and an empty cache.
FAILURES = {
    "wrong hash": ("files", "/timemachine.txt", WRONG_SHA1, r"is not the book's: its SHA-1 is " + BODY_SHA1),
    "404": ("files", "/missing.txt", BODY_SHA1, r"answered 404 \(File not found\)"),
    "cut halfway": (_Cut, "/timemachine.txt", BODY_SHA1,
                    rf"connection to 127.0.0.1 was cut after {len(BODY) // 2} of {len(BODY)} bytes"),
    "stall": (_Stall, "/timemachine.txt", BODY_SHA1, r"127.0.0.1 did not answer within 0.5 s"),
    "endless": (_Endless, "/timemachine.txt", BODY_SHA1, r"sent more than 4 MB, more than the book could be"),
    "huge": (_Huge, "/timemachine.txt", BODY_SHA1, r"offered 1024 MB, more than the 4 MB the book could be"),
}


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_each_failed_download_says_why_and_leaves_nothing(server, tmp_path, case):
    handler, path, sha1, reason = FAILURES[case]
    base = server["files"] if handler == "files" else server["start"](handler)
    cache = tmp_path / "cache"
    started = time.monotonic()
    with pytest.raises(tm.DownloadError, match=reason) as caught:
        tm.download_to_cache(cache, url=base + path, sha1=sha1, timeout=0.5)
    assert time.monotonic() - started < 2.5  # a stalled server does not hold the page
    assert str(tmp_path) not in caught.value.reason
    assert files_in(cache) == []


def test_the_failures_reasons_differ(server, tmp_path):
    reasons = set()
    for case, (handler, path, sha1, _) in FAILURES.items():
        base = server["files"] if handler == "files" else server["start"](handler)
        with pytest.raises(tm.DownloadError) as caught:
            tm.download_to_cache(tmp_path / case, url=base + path, sha1=sha1, timeout=0.5)
        reasons.add(caught.value.reason.split(" (")[0].replace(base.split("//")[1].split(":")[1], ""))
    assert len(reasons) == len(FAILURES)


def test_a_trickling_server_meets_the_deadline(server, tmp_path):
    url = server["start"](_Endless) + "/timemachine.txt"
    with pytest.raises(tm.DownloadError, match=r"took longer than 0 s|sent more than"):
        tm.download_to_cache(tmp_path / "cache", url=url, sha1=BODY_SHA1, deadline=0.0)
    assert files_in(tmp_path / "cache") == []


def test_unreachable_server_leaves_nothing(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(tm.DownloadError, match="127.0.0.1 could not be reached"):
        load_time_machine(cache_dir=cache, download=True, sha1=BODY_SHA1, url="http://127.0.0.1:9/timemachine.txt")
    assert files_in(cache) == []


def test_download_replaces_a_corrupt_cache(server, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / tm.CACHE_FILE).write_bytes(b"truncated")
    loaded = load_time_machine(cache_dir=cache, download=True, sha1=BODY_SHA1,
                               url=server["files"] + "/timemachine.txt")
    assert loaded.source == "download"
    assert (cache / tm.CACHE_FILE).read_bytes() == BODY
    assert files_in(cache) == [tm.CACHE_FILE]


def test_a_failed_download_keeps_a_good_cache_untouched(server, tmp_path):
    cache = tmp_path / "cache"
    # A good cache is used before any download is tried.
    cache.mkdir()
    (cache / tm.CACHE_FILE).write_bytes(BODY)
    loaded = load_time_machine(cache_dir=cache, download=True, sha1=BODY_SHA1,
                               url=server["files"] + "/missing.txt")
    assert loaded.source == "cache"
    # A failed download over a good copy leaves that copy as it was.
    with pytest.raises(tm.DownloadError):
        tm.download_to_cache(cache, url=server["files"] + "/missing.txt", sha1=BODY_SHA1)
    assert (cache / tm.CACHE_FILE).read_bytes() == BODY and files_in(cache) == [tm.CACHE_FILE]


def test_a_users_copy_of_the_book_is_kept_only_when_it_is_the_books(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="not the book's file"):
        tm.save_book_copy(BODY + b"!", cache, sha1=BODY_SHA1)
    assert files_in(cache) == []
    assert tm.save_book_copy(BODY, cache, sha1=BODY_SHA1) == cache / tm.CACHE_FILE
    assert load_time_machine(cache_dir=cache, sha1=BODY_SHA1).source == "cache"
    assert tm.is_the_book(BODY, BODY_SHA1) and not tm.is_the_book(BODY + b"!", BODY_SHA1)


def test_another_edition_reads_like_the_novel():
    assert tm.looks_like_the_novel("THE TIME MACHINE\n\nThe Time Traveller (for so it will be convenient …")
    assert not tm.looks_like_the_novel(FALLBACK_TEXT)


def test_defaults_name_the_books_file():
    assert TIME_MACHINE_URL == "http://d2l-data.s3-accelerate.amazonaws.com/timemachine.txt"
    assert TIME_MACHINE_SHA1 == "090b5e7e70c295757f55df93cb0a180b9691891a"
