"""A helper, not from the book: users' own data, a W_hh pasted or uploaded as text (for
Backpropagation Through Time in Detail's matrix powers) and a text to cut into segments
(for Comparing Strategies).

Both readers take ``str`` (pasted) or ``bytes`` (uploaded) and either return a
valid result or raise ``InputError``, a ``ValueError`` whose message is meant
for the user: it says what is wrong and where (rows and columns counted from
1). Sizes are capped before anything is parsed, numbers are read with a
regular expression and ``float`` (never ``eval``), and a message quotes at
most a short, printable excerpt of what the user gave.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import numpy as np

from .problems import MAX_H
from .text import is_the_book, looks_like_the_novel, preprocess

MAX_MATRIX_BYTES = 2 * 2**20       # 256² numbers of ~25 characters fit in 1.6 MB
MAX_TEXT_BYTES = 4 * 2**20         # the book is 0.18 MB; Streamlit's upload cap is 5 MB
QUOTE_CHARS = 20                   # longest excerpt of user input repeated in a message

# No nested or adjacent unbounded repeats: matching stays linear in the token's length.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_NAN = re.compile(r"[+-]?nan", re.IGNORECASE)
_INF = re.compile(r"[+-]?inf(?:inity)?", re.IGNORECASE)
_DELIMITED = re.compile(r"\s*[,;]\s*")


class InputError(ValueError):
    """Input a user gave that cannot be used; ``str(error)`` is the message to show them."""


def quote(token: str) -> str:
    """``token`` as a short printable excerpt in quotes, for a message."""
    shown = "".join(c if c.isprintable() else "\ufffd" for c in token[:QUOTE_CHARS])
    return f"'{shown}{'…' if len(token) > QUOTE_CHARS else ''}'"


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 2**10:.0f} kB" if n >= 2**10 else f"{n} bytes"


def _as_text(data: str | bytes, cap: int, what: str) -> str:
    """``data`` as str after the size cap; matrix bytes must be UTF-8 (numbers are ASCII)."""
    if isinstance(data, str):
        if len(data) > cap or len(data.encode("utf-8", errors="surrogatepass")) > cap:
            raise InputError(f"The {what} is larger than {_size(cap)}; at most {_size(cap)} is accepted.")
        return data.removeprefix("\ufeff")  # a byte-order mark pasted along
    if not isinstance(data, (bytes, bytearray)):
        raise InputError(f"The {what} must be text, got {type(data).__name__}.")
    if len(data) > cap:
        raise InputError(f"The {what} is {_size(len(data))}; at most {_size(cap)} is accepted.")
    try:
        return bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"The {what} is not UTF-8 text: byte {exc.start + 1} is 0x{data[exc.start]:02x}. "
                         "Save it as plain text (CSV or numbers separated by spaces).") from None


def _where(row: int, line: int, *, start: bool = False) -> str:
    """'row 3', or 'row 3 (line 5)' when blank or comment lines came before; 'Row …' to start a sentence."""
    return f"{'R' if start else 'r'}ow {row}" + (f" (line {line})" if line != row else "")


def _value(token: str, row: int, line: int, col: int) -> float:
    at, at_start = (f"{_where(row, line, start=s)}, column {col}" for s in (False, True))
    if token.startswith('"') and token.endswith('"') and len(token) >= 2:
        token = token[1:-1].strip()  # spreadsheets quote fields
    if _NUMBER.fullmatch(token):
        value = float(token)
        if value in (float("inf"), float("-inf")):
            raise InputError(f"{at_start}: {quote(token)} is too large for a float64 (it overflows to infinity).")
        return value
    if _NAN.fullmatch(token):
        raise InputError(f"NaN at {at}: every entry must be a finite number.")
    if _INF.fullmatch(token):
        raise InputError(f"Infinity at {at}: every entry must be a finite number.")
    if token == "":
        raise InputError(f"{at_start} is empty: every entry must be a number.")
    hint = " (A header row? Remove it.)" if row == 1 else ""
    raise InputError(f"{at_start}: {quote(token)} is not a number.{hint}")


def parse_matrix(data: str | bytes, *, max_h: int = MAX_H, max_bytes: int = MAX_MATRIX_BYTES) -> np.ndarray:
    """A square float64 matrix (h, h), 1 ≤ h ≤ ``max_h``, from CSV or whitespace-separated text.

    One row per line; fields separated by commas or semicolons (CSV) or else by
    spaces and tabs. Blank lines and lines starting with '#' are skipped. Every
    entry must be a finite decimal number (``1``, ``-0.5``, ``2e-3``). Raises
    ``InputError`` naming the first problem and where it is.
    """
    text = _as_text(data, max_bytes, "matrix")
    rows: list[list[float]] = []
    width = 0
    for line_no, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        row = len(rows) + 1
        if row > max_h:
            raise InputError(f"The matrix has more than {max_h} rows; h can be at most {max_h}.")
        delimited = "," in line or ";" in line
        tokens = _DELIMITED.split(line) if delimited else line.split()
        if delimited and len(tokens) > 1 and tokens[-1] == "":
            tokens.pop()  # a trailing comma, as some exports write
        if len(tokens) > max_h:
            raise InputError(f"{_where(row, line_no, start=True)} has {len(tokens)} values; "
                             f"h can be at most {max_h}.")
        if width and len(tokens) != width:
            raise InputError(f"{_where(row, line_no, start=True)} has {len(tokens)} value"
                             f"{'s' if len(tokens) != 1 else ''}, expected {width} (as in row 1).")
        width = width or len(tokens)
        rows.append([_value(tok, row, line_no, col) for col, tok in enumerate(tokens, start=1)])
    if not rows:
        raise InputError("No numbers found: paste h rows of h numbers each (CSV or separated by spaces).")
    if len(rows) != width:
        raise InputError(f"The matrix is {len(rows)}×{width}; it must be square (h×h).")
    return np.array(rows, dtype=np.float64)


@dataclass(frozen=True)
class UserText:
    """A user's text: ``raw`` (decoded, as given), ``processed`` (the book's
    preprocessing: letters a–z and single spaces, ends stripped), ``notice``
    (sentences about a repaired decoding or another edition of the novel, or '')
    and ``is_book`` (the bytes are the book's own ``timemachine.txt``, by SHA-1)."""

    raw: str
    processed: str
    notice: str = ""
    is_book: bool = False


def read_text(data: str | bytes, *, max_bytes: int = MAX_TEXT_BYTES) -> UserText:
    """A user's text, preprocessed as the book does (``re.sub('[^A-Za-z]+', ' ', text).lower()``).

    Bytes are decoded as UTF-8 (UTF-16 when they start with its byte-order
    mark); undecodable bytes become U+FFFD and ``notice`` says so. Raises
    ``InputError`` when the input is larger than ``max_bytes`` or nothing is
    left after preprocessing.
    """
    notice = ""
    if isinstance(data, (bytes, bytearray)):
        data = bytes(data)
        if len(data) > max_bytes:
            raise InputError(f"The text is {_size(len(data))}; at most {_size(max_bytes)} is accepted.")
        utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        encoding, name = ("utf-16", "UTF-16") if utf16 else ("utf-8-sig", "UTF-8")
        try:
            raw = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raw = data.decode(encoding, errors="replace")
            notice = (f"The file is not valid {name} (byte {exc.start + 1} is the first that is "
                      "not): undecodable bytes were replaced by \ufffd, which the preprocessing then drops with "
                      "every other non-letter.")
    elif isinstance(data, str):
        if len(data) > max_bytes or len(data.encode("utf-8", errors="surrogatepass")) > max_bytes:
            raise InputError(f"The text is larger than {_size(max_bytes)}; at most {_size(max_bytes)} is accepted.")
        raw = data
    else:
        raise InputError(f"The text must be a string or bytes, got {type(data).__name__}.")
    processed = preprocess(raw).strip()
    if not processed:
        raise InputError("Nothing is left of this text after the book's preprocessing, which keeps only the "
                         "Latin letters a–z (every other character becomes a space): give a text with letters.")
    is_book = isinstance(data, bytes) and is_the_book(data)
    if not is_book and looks_like_the_novel(raw):
        notice = " ".join(filter(None, (notice, (
            "This reads like The Time Machine but is not the book's file (its SHA-1 differs): another edition, "
            "used as your own text, so the numbers will differ from the book's."))))
    return UserText(raw, processed, notice, is_book)
