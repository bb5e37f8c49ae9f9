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
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

TIME_MACHINE_URL = "http://d2l-data.s3-accelerate.amazonaws.com/timemachine.txt"
TIME_MACHINE_SHA1 = "090b5e7e70c295757f55df93cb0a180b9691891a"
ENV_VAR = "BPTT_TIME_MACHINE"
CACHE_SUBDIR = "bptt-lab"
CACHE_FILE = "timemachine.txt"
DOWNLOAD_TIMEOUT = 10.0          # seconds, for connecting and for each read
MAX_DOWNLOAD_BYTES = 16 * 2**20  # the book is ~180 kB; anything this large is not it
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
    fallback was used) and ``path`` (the file read, if any)."""

    text: str
    source: str
    detail: str
    path: str | None = None

    @property
    def is_book(self) -> bool:
        """True when this is the book's own text (not the project's fallback)."""
        return self.source != "fallback"


def preprocess(text: str) -> str:
    """The book's preprocessing: every run of non-letters becomes one space, then lower case."""
    return re.sub('[^A-Za-z]+', ' ', text).lower()


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/bptt-lab``, or ``~/.cache/bptt-lab`` when it is unset or empty."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / CACHE_SUBDIR


def sha1_of_bytes(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


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


class _TooLarge(OSError):
    pass


class _Truncated(OSError):
    pass


def download_to_cache(cache_dir: Path, *, url: str = TIME_MACHINE_URL, sha1: str | None = TIME_MACHINE_SHA1,
                      timeout: float = DOWNLOAD_TIMEOUT) -> Path:
    """Download ``url`` into ``cache_dir/timemachine.txt`` and return that path.

    The bytes go to a temporary file in ``cache_dir``, are checked against
    ``sha1``, and only then renamed onto the cache file (an atomic replace), so
    a failed or wrong download never leaves a file behind: a wrong hash raises
    ``ValueError``, a network or HTTP failure ``OSError``.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / CACHE_FILE
    fd, tmp_name = tempfile.mkstemp(dir=cache_dir, prefix=f".{CACHE_FILE}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha1()
        size = 0
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    announced = response.headers.get("Content-Length")
                    while True:
                        block = response.read(64 * 1024)
                        if not block:
                            break
                        size += len(block)
                        if size > MAX_DOWNLOAD_BYTES:
                            raise _TooLarge(f"download: {url} sent more than {MAX_DOWNLOAD_BYTES} bytes; "
                                            "that is not The Time Machine")
                        digest.update(block)
                        out.write(block)
                    if announced is not None and announced.strip().isdigit() and size != int(announced):
                        raise _Truncated(f"download: broken transfer from {url}: the server announced "
                                         f"{int(announced)} bytes and sent {size}")
            except (_TooLarge, _Truncated):
                raise
            except OSError as exc:
                raise OSError(f"download: could not fetch {url} ({exc})") from None
            except Exception as exc:  # http.client.IncompleteRead and other protocol errors
                raise OSError(f"download: broken transfer from {url} ({type(exc).__name__}: {exc})") from None
        got = digest.hexdigest()
        if sha1 is not None and got != sha1.lower():
            raise ValueError(f"download: {url} did not give the expected file: "
                             f"SHA-1 expected {sha1.lower()}, got {got}")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def load_time_machine(path=None, *, cache_dir=None, download: bool = False,
                      sha1: str | None = TIME_MACHINE_SHA1, url: str = TIME_MACHINE_URL) -> LoadedText:
    """The raw text of The Time Machine, from the first place that has it.

    1. ``path`` when given (must exist and match ``sha1``);
    2. the file named by ``$BPTT_TIME_MACHINE`` (must exist and match ``sha1``);
    3. ``cache_dir/timemachine.txt`` (default ``default_cache_dir()``) when it
       matches ``sha1`` (a cached file that does not match is ignored);
    4. a download into that cache, only when ``download`` is True;
    5. otherwise ``FALLBACK_TEXT`` with source ``"fallback"``.

    ``sha1=None`` skips the checks. A wrong hash raises ``ValueError`` saying
    expected vs got; an unreadable path or failed download raises ``OSError``.
    """
    if path is not None:
        p = Path(path)
        return LoadedText(_read_verified(p, sha1, "path"), "path", f"Read from {str(p)!r}.", str(p))
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        p = Path(env)
        return LoadedText(_read_verified(p, sha1, ENV_VAR), "env",
                          f"Read from {str(p)!r}, named by the environment variable {ENV_VAR}.", str(p))
    cache_dir = default_cache_dir() if cache_dir is None else Path(cache_dir)
    cached = cache_dir / CACHE_FILE
    stale = ""
    if cached.is_file():
        try:
            return LoadedText(_read_verified(cached, sha1, "cache"), "cache",
                              f"Read from the cache {str(cached)!r}.", str(cached))
        except (OSError, ValueError) as exc:
            stale = f" The cached copy was ignored: {exc}."
    if download:
        target = download_to_cache(cache_dir, url=url, sha1=sha1)
        return LoadedText(_read_verified(target, sha1, "download"), "download",
                          f"Downloaded from {url} into the cache {str(target)!r}.", str(target))
    detail = (f"No copy of The Time Machine was found: no path was given, {ENV_VAR} is not set and "
              f"nothing usable is cached at {str(cached)!r}.{stale} Downloading is off, so this is a "
              f"short text of the project's own.")
    return LoadedText(FALLBACK_TEXT, "fallback", detail, None)
