"""A data helper for Comparing Strategies: The Time Machine, whose first characters the figure cuts.

Loaded as the book loads it, without assuming a network.

The book downloads ``timemachine.txt`` from its data server, checks its SHA-1
and preprocesses it with ``re.sub('[^A-Za-z]+', ' ', text).lower()``: the
first 29 characters are then ``the time machine by h g wells``, the text of the
section's truncation figure.

``load_time_machine`` looks, in order, at an explicit path, the environment
variable ``BPTT_TIME_MACHINE``, the user's cache (``$XDG_CACHE_HOME/bptt-lab``
or ``~/.cache/bptt-lab``), a download (only when asked for), and otherwise
returns ``FALLBACK_TEXT``, a short text of the project's own, saying why.

A download comes from ``$BPTT_TIME_MACHINE_URL`` (a mirror) or the book's URL;
``$BPTT_OFFLINE`` set (to anything but 0, false or no) forbids it. It fails with
a ``DownloadError`` whose ``reason`` is one plain sentence for the page, and
never leaves a partial file in the cache.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import socket
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

TIME_MACHINE_URL = "http://d2l-data.s3-accelerate.amazonaws.com/timemachine.txt"
TIME_MACHINE_SHA1 = "090b5e7e70c295757f55df93cb0a180b9691891a"
ENV_VAR = "BPTT_TIME_MACHINE"
URL_VAR = "BPTT_TIME_MACHINE_URL"   # a mirror of the book's file
OFFLINE_VAR = "BPTT_OFFLINE"        # set: never download (CI and the tests set it)
CACHE_SUBDIR = "bptt-lab"
CACHE_FILE = "timemachine.txt"
BOOK_BYTES = 178_979              # the size of the book's file, for a progress bar when no length is announced
DOWNLOAD_TIMEOUT = 10.0          # seconds, for connecting and for each read
DOWNLOAD_DEADLINE = 60.0         # seconds for the whole transfer: a server that trickles does not hold a page
MAX_DOWNLOAD_BYTES = 4 * 2**20   # the book is 179 kB; anything this large is not it
SOURCES = ("path", "env", "cache", "download", "fallback")

# The project's own stand-in, used when no copy of the book is at hand. It is
# original prose (not Wells's), long enough to fill the truncation figure.
FALLBACK_TEXT = """\
A Short Account of a Time Machine, written for the BPTT Lab

The machine stood in the corner of the workshop under a sheet of oiled canvas,
and nobody who saw it there would have guessed what it was for. It had a seat
of worn leather, two brass levers, a dial marked in days, years and centuries,
and a frame of nickel rods that seemed, if you looked at them too long, to lean
very slightly away from the rest of the room.

Its builder was a patient woman who kept careful notes. She did not believe in
grand leaps. On her first journey she pushed the lever forward by a single
minute and watched the clock on the wall stutter and jump. On her second she
went a day ahead and found her own cup of tea, cold, exactly where she would
leave it. Each trip was short, and each one she wrote down before she trusted
the next, because a long chain of small steps is only as sound as its weakest
link, and an error made early is carried, magnified, into everything after.

Later she travelled further, and the notes grew stranger. She saw the town
shrink and swell, rivers change their courses, forests rise over the roads.
What struck her most was how little of the distant future could be traced back
to any one thing she had done. A careless word spoken today might echo for a
week or a year, but after a century its influence had faded into the noise of
countless other causes, and after a thousand years it could not be found at
all. Only rarely, she wrote, does the far past reach the far future with any
force, and when it does the effect is so large that it swamps everything else.

When she came home for the last time she covered the machine again with its
canvas. Her friends asked what the future was like. She told them it was
mostly made of the recent past, that the old world was remembered only in
fragments, and that anyone who hoped to learn from a long history had better
learn to weigh short stretches of it carefully, one piece at a time.
"""


@dataclass(frozen=True)
class LoadedText:
    """A loaded text: ``text`` (raw, not preprocessed), ``source`` (one of
    ``SOURCES``), ``detail`` (a sentence saying where it came from or why the
    fallback was used; it names no file on the server) and ``path`` (the file
    read, if any)."""

    text: str
    source: str
    detail: str
    path: str | None = None

    @property
    def is_book(self) -> bool:
        """True when this is the book's own text (not the project's fallback)."""
        return self.source != "fallback"


class DownloadError(OSError):
    """A download that did not give the book. ``reason`` is one plain sentence saying what happened
    (it names the host, never a file on this machine); ``str()`` is ``"download: " + reason``."""

    def __init__(self, reason: str):
        super().__init__(f"download: {reason}")
        self.reason = reason


def preprocess(text: str) -> str:
    """The book's preprocessing: every run of non-letters becomes one space, then lower case."""
    return re.sub('[^A-Za-z]+', ' ', text).lower()


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/bptt-lab``, or ``~/.cache/bptt-lab`` when it is unset or empty."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / CACHE_SUBDIR


def book_url() -> str:
    """Where a download comes from: ``$BPTT_TIME_MACHINE_URL`` when set, else the book's own URL."""
    return os.environ.get(URL_VAR, "").strip() or TIME_MACHINE_URL


def downloads_allowed() -> bool:
    """False when ``$BPTT_OFFLINE`` is set to anything but ``0``, ``false``, ``no`` or nothing."""
    return os.environ.get(OFFLINE_VAR, "").strip().lower() in ("", "0", "false", "no")


def host_of(url: str) -> str:
    """The host a URL names (what a message shows), or the URL itself when it has none."""
    return urllib.parse.urlsplit(url).hostname or url


def sha1_of_bytes(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def is_the_book(data: bytes, sha1: str = TIME_MACHINE_SHA1) -> bool:
    """Whether ``data`` is the book's own ``timemachine.txt`` (its SHA-1)."""
    return sha1_of_bytes(data) == sha1.lower()


def looks_like_the_novel(text: str) -> bool:
    """Whether a text that is not the book's file reads like another edition of Wells's novel."""
    lower = text[:200_000].lower()
    return "time traveller" in lower and "time machine" in lower


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _read_verified(path: Path, sha1: str | None, what: str) -> str:
    """The file's text; ``ValueError`` naming expected and actual SHA-1 when they differ."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise type(exc)(f"{what}: cannot read {str(path)!r} ({exc.strerror or exc})") from None
    if sha1 is not None:
        got = sha1_of_bytes(data)
        if got != sha1.lower():
            raise ValueError(f"{what}: {str(path)!r} is not the expected file: "
                             f"SHA-1 expected {sha1.lower()}, got {got}")
    return _decode(data)


def _write_atomically(cache_dir: Path, write: Callable) -> Path:
    """``cache_dir/timemachine.txt`` from ``write(file)``, through a temporary file in the same folder
    renamed over it (an atomic replace): a failure (``write`` raising) leaves nothing behind."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=cache_dir, prefix=f".{CACHE_FILE}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
        os.replace(tmp, cache_dir / CACHE_FILE)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return cache_dir / CACHE_FILE


def save_book_copy(data: bytes, cache_dir=None, *, sha1: str = TIME_MACHINE_SHA1) -> Path:
    """Keep a user's copy of the book (checked against ``sha1``, else ``ValueError``) as the cache file."""
    got = sha1_of_bytes(data)
    if got != sha1.lower():
        raise ValueError(f"not the book's file: SHA-1 expected {sha1.lower()}, got {got}")
    return _write_atomically(default_cache_dir() if cache_dir is None else Path(cache_dir), lambda f: f.write(data))


def _megabytes(n: int) -> str:
    return f"{n / 2**20:g} MB"


def download_to_cache(cache_dir: Path, *, url: str = TIME_MACHINE_URL, sha1: str | None = TIME_MACHINE_SHA1,
                      timeout: float = DOWNLOAD_TIMEOUT, deadline: float = DOWNLOAD_DEADLINE,
                      progress: Callable[[int, int | None], None] | None = None) -> Path:
    """Download ``url`` into ``cache_dir/timemachine.txt`` and return that path.

    ``progress(bytes so far, bytes announced or None)`` is called after every block. The
    bytes go to a temporary file in ``cache_dir``, are checked against ``sha1``, and only
    then renamed onto the cache file (an atomic replace), so a failed or wrong download
    never leaves a file behind. Every failure is a ``DownloadError`` with its own reason:
    the host cannot be reached, answers with an HTTP error, is silent for ``timeout``
    seconds, takes longer than ``deadline`` in all, sends more than ``MAX_DOWNLOAD_BYTES``,
    cuts the connection before the announced length, or sends a file whose SHA-1 differs.
    """
    host = host_of(url)
    digest = hashlib.sha1()

    def fetch(out) -> None:
        size = 0
        started = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                announced = response.headers.get("Content-Length")
                announced = int(announced) if announced and announced.strip().isdigit() else None
                if announced is not None and announced > MAX_DOWNLOAD_BYTES:
                    raise DownloadError(f"{host} offered {_megabytes(announced)}, more than the "
                                        f"{_megabytes(MAX_DOWNLOAD_BYTES)} the book could be: that is not The Time Machine")
                while True:
                    block = response.read(16 * 1024)
                    if not block:
                        break
                    size += len(block)
                    if size > MAX_DOWNLOAD_BYTES:
                        raise DownloadError(f"{host} sent more than {_megabytes(MAX_DOWNLOAD_BYTES)}, more than "
                                            "the book could be: that is not The Time Machine")
                    if time.monotonic() - started > deadline:
                        raise DownloadError(f"the download from {host} took longer than {deadline:g} s")
                    digest.update(block)
                    out.write(block)
                    if progress is not None:
                        progress(size, announced)
                if announced is not None and size != announced:
                    raise DownloadError(f"the connection to {host} was cut after {size:,} of {announced:,} bytes")
        except DownloadError:
            raise
        except urllib.error.HTTPError as exc:
            raise DownloadError(f"{host} answered {exc.code} ({exc.reason}) for {url}") from None
        except (TimeoutError, socket.timeout):
            raise DownloadError(f"{host} did not answer within {timeout:g} s") from None
        except urllib.error.URLError as exc:
            why = exc.reason
            if isinstance(why, (TimeoutError, socket.timeout)):
                raise DownloadError(f"{host} did not answer within {timeout:g} s") from None
            why = getattr(why, "strerror", None) or str(why)
            raise DownloadError(f"{host} could not be reached ({str(why).lower()})") from None
        except (http.client.IncompleteRead, ConnectionError) as exc:
            raise DownloadError(f"the connection to {host} was cut after {size:,} bytes "
                                f"({type(exc).__name__})") from None
        except (OSError, http.client.HTTPException) as exc:
            raise DownloadError(f"the transfer from {host} failed ({type(exc).__name__}: {exc})") from None
        got = digest.hexdigest()
        if sha1 is not None and got != sha1.lower():
            raise DownloadError(f"the file from {host} is not the book's: its SHA-1 is {got}, "
                                f"the book's is {sha1.lower()}")

    return _write_atomically(Path(cache_dir), fetch)


def load_time_machine(path=None, *, cache_dir=None, download: bool = False,
                      sha1: str | None = TIME_MACHINE_SHA1, url: str | None = None,
                      progress: Callable[[int, int | None], None] | None = None) -> LoadedText:
    """The raw text of The Time Machine, from the first place that has it.

    1. ``path`` when given (must exist and match ``sha1``);
    2. the file named by ``$BPTT_TIME_MACHINE`` (must exist and match ``sha1``);
    3. ``cache_dir/timemachine.txt`` (default ``default_cache_dir()``) when it
       matches ``sha1`` (a cached file that does not match is ignored);
    4. a download from ``url`` (default ``book_url()``) into that cache, only when
       ``download`` is True and ``downloads_allowed()``;
    5. otherwise ``FALLBACK_TEXT`` with source ``"fallback"``.

    ``sha1=None`` skips the checks. A wrong hash raises ``ValueError`` saying
    expected vs got; an unreadable path raises ``OSError``, a failed download
    ``DownloadError`` (an ``OSError``).
    """
    if path is not None:
        p = Path(path)
        return LoadedText(_read_verified(p, sha1, "path"), "path", "Read from the file given.", str(p))
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        p = Path(env)
        return LoadedText(_read_verified(p, sha1, ENV_VAR), "env",
                          f"Read from the file that the environment variable {ENV_VAR} names.", str(p))
    cache_dir = default_cache_dir() if cache_dir is None else Path(cache_dir)
    cached = cache_dir / CACHE_FILE
    stale = ""
    if cached.is_file():
        try:
            return LoadedText(_read_verified(cached, sha1, "cache"), "cache",
                              "Read from this server's cache.", str(cached))
        except (OSError, ValueError):
            stale = " (the copy in its cache is damaged)"
    if download and downloads_allowed():
        url = url or book_url()
        target = download_to_cache(cache_dir, url=url, sha1=sha1, progress=progress)
        return LoadedText(_read_verified(target, sha1, "download"), "download",
                          f"Downloaded from {host_of(url)} into this server's cache.", str(target))
    why = (f"downloading is switched off ({OFFLINE_VAR} is set)" if download else "downloading was not asked for")
    detail = f"This server has no copy of The Time Machine{stale} and {why}."
    return LoadedText(FALLBACK_TEXT, "fallback", detail, None)
