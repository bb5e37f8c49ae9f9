"""Users' own W_hh and text: every input gives a valid result or a user-facing InputError."""

from __future__ import annotations

import codecs

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bptt_core.uploads import (MAX_H, MAX_MATRIX_BYTES, MAX_TEXT_BYTES, InputError, UserText, parse_matrix,
                               quote, read_text)

FAST = settings(max_examples=150, deadline=None)


# --- the matrix parser: any input --------------------------------------------------------------

def check_matrix(data):
    try:
        W = parse_matrix(data)
    except InputError as exc:
        assert str(exc) and "\n" not in str(exc)
        return None
    assert W.dtype == np.float64 and W.ndim == 2 and W.shape[0] == W.shape[1]
    assert 1 <= W.shape[0] <= MAX_H and np.isfinite(W).all()
    return W


@FAST
@given(st.binary(max_size=400))
def test_any_bytes_give_a_matrix_or_an_input_error(data):
    check_matrix(data)


@FAST
@given(st.text(max_size=400))
def test_any_text_gives_a_matrix_or_an_input_error(text):
    check_matrix(text)


# Text that looks like a matrix, with odd pieces mixed in, reaches the deep branches.
PIECES = st.sampled_from(["1", "-2.5", "3e2", ".5", "1.", "nan", "-inf", "1e999", "x", '"4"', "", "1_0",
                          "0x1", "١", "+", "1e", "#", "1+2j"])
SEPARATORS = st.sampled_from([" ", "\t", ",", ";", ", ", "  "])


@FAST
@given(st.lists(st.lists(PIECES, min_size=1, max_size=4), min_size=1, max_size=4), SEPARATORS,
       st.sampled_from(["\n", "\r\n", "\n\n"]))
def test_matrix_like_text_gives_a_matrix_or_an_input_error(rows, sep, newline):
    check_matrix(newline.join(sep.join(row) for row in rows))


@FAST
@given(st.integers(1, 6).flatmap(lambda h: st.lists(
    st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=h * h, max_size=h * h)),
    SEPARATORS)
def test_finite_square_matrices_are_read_back_exactly(values, sep):
    h = int(round(len(values) ** 0.5))
    W = np.array(values).reshape(h, h)
    text = "\n".join(sep.join(repr(float(v)) for v in row) for row in W)
    np.testing.assert_array_equal(parse_matrix(text), W)
    np.testing.assert_array_equal(parse_matrix(text.encode()), W)


# --- the matrix parser: each message -----------------------------------------------------------

@pytest.mark.parametrize("data, message", [
    ("1 2\n3 abc", "Row 2, column 2: 'abc' is not a number."),
    ("a,b\n1,2", "Row 1, column 1: 'a' is not a number. (A header row? Remove it.)"),
    ("1 2 3 4 5\n" * 3 + "1 2 3\n" + "1 2 3 4 5\n", "Row 4 has 3 values, expected 5 (as in row 1)."),
    ("1 2 3 4\n" * 3, "The matrix is 3×4; it must be square (h×h)."),
    ("1 2\n3 NaN", "NaN at row 2, column 2: every entry must be a finite number."),
    ("inf 2\n3 4", "Infinity at row 1, column 1: every entry must be a finite number."),
    ("1 2\n3 1e400", "Row 2, column 2: '1e400' is too large for a float64 (it overflows to infinity)."),
    ("1,,2\n3,4,5\n6,7,8", "Row 1, column 2 is empty: every entry must be a number."),
    ("# a comment\n\n1 2\nx 4", "Row 2 (line 4), column 1: 'x' is not a number."),
    ("", "No numbers found"),
    ("\n # only a comment\n", "No numbers found"),
    ("1 __import__('os').system('id')", "Row 1, column 2: '__import__('os').sys…' is not a number."),
    ("1+2j", "Row 1, column 1: '1+2j' is not a number."),
    ("0x10", "Row 1, column 1: '0x10' is not a number."),
    ("1_000", "Row 1, column 1: '1_000' is not a number."),
    (b"1 2\n\xff 4", "The matrix is not UTF-8 text: byte 5 is 0xff."),
    ("1 " * (MAX_H + 1), f"Row 1 has {MAX_H + 1} values; h can be at most {MAX_H}."),
    ("1\n" * (MAX_H + 1), f"The matrix has more than {MAX_H} rows; h can be at most {MAX_H}."),
    (b"1" * (MAX_MATRIX_BYTES + 1), "The matrix is 2.0 MB; at most 2.0 MB is accepted."),
    ("1" * (MAX_MATRIX_BYTES + 1), "The matrix is larger than 2.0 MB"),
])
def test_matrix_messages(data, message):
    with pytest.raises(InputError) as info:
        parse_matrix(data)
    assert str(info.value).startswith(message)


def test_csv_spreadsheet_and_whitespace_forms_agree():
    expected = np.array([[1.0, -2.0], [0.5, 3e-3]])
    for text in ("1 -2\n0.5 3e-3", "1,-2\n.5,3E-3\n", '"1";"-2"\r\n"0.5";"0.003"', "\ufeff1, -2,\n0.5, 0.003,",
                 "# W_hh\n1\t-2\n\n0.5\t3e-3"):
        np.testing.assert_array_equal(parse_matrix(text), expected)
    np.testing.assert_array_equal(parse_matrix("\ufeff1,-2\n0.5,3e-3".encode()), expected)


def test_largest_matrix_is_accepted():
    W = np.arange(MAX_H * MAX_H, dtype=float).reshape(MAX_H, MAX_H) / 7.0
    text = "\n".join(",".join(repr(float(v)) for v in row) for row in W)
    assert len(text.encode()) <= MAX_MATRIX_BYTES
    np.testing.assert_array_equal(parse_matrix(text), W)


def test_long_tokens_are_cut_in_messages_and_parsing_stays_linear():
    with pytest.raises(InputError) as info:
        parse_matrix("1" * 1_000_000 + "x")  # a backtracking number pattern would take hours here
    assert len(str(info.value)) < 120
    assert quote("a\x00b") == "'a\ufffdb'"


# --- the text reader ---------------------------------------------------------------------------

def check_text(data):
    try:
        result = read_text(data)
    except InputError as exc:
        assert str(exc)
        return None
    assert isinstance(result, UserText) and result.processed
    assert set(result.processed) <= set("abcdefghijklmnopqrstuvwxyz ")
    assert result.processed == result.processed.strip() and "  " not in result.processed
    return result


@FAST
@given(st.binary(max_size=400))
def test_any_bytes_give_a_text_or_an_input_error(data):
    check_text(data)


@FAST
@given(st.text(max_size=400))
def test_any_str_gives_a_text_or_an_input_error(text):
    result = check_text(text)
    assert result is None or result.notice == ""


def test_text_is_preprocessed_as_the_book_does():
    result = read_text(b"The Time Machine, by H. G. Wells [1898]\n")
    assert result.processed == "the time machine by h g wells" and result.notice == ""
    assert read_text("  <script>alert('x')</script> ").processed == "script alert x script"
    assert read_text("\ufeffHi".encode()).processed == "hi"  # a UTF-8 byte-order mark is dropped


def test_non_utf8_is_decoded_with_replacement_and_a_notice():
    result = read_text(b"caf\xe9 au lait \xff\xfe")
    assert result.processed == "caf au lait"
    assert result.notice.startswith("The file is not valid UTF-8 (byte") and "byte 4 is the first" in result.notice
    utf16 = read_text(codecs.BOM_UTF16_LE + "Time travel".encode("utf-16-le"))
    assert utf16.processed == "time travel" and utf16.notice == ""


@pytest.mark.parametrize("data", ["", "   ", "1984 — 2001!", b"\x00\x01\x02", "Здравствуй мир"])
def test_text_without_latin_letters_gets_a_message(data):
    with pytest.raises(InputError, match="Nothing is left of this text after the book's preprocessing"):
        read_text(data)


def test_text_size_is_capped():
    with pytest.raises(InputError, match="The text is 4.0 MB; at most 4.0 MB is accepted"):
        read_text(b"a" * (MAX_TEXT_BYTES + 1))
    with pytest.raises(InputError, match="larger than 4.0 MB"):
        read_text("é" * (MAX_TEXT_BYTES // 2 + 1))  # fewer characters than the cap, more bytes
    assert read_text(b"a" * MAX_TEXT_BYTES).processed == "a" * MAX_TEXT_BYTES


def test_the_books_own_file_is_recognised_by_its_sha1_and_another_edition_gets_a_note(monkeypatch):
    import hashlib

    import bptt_core.uploads as uploads
    from bptt_core import text as tm
    body = b"THE TIME MACHINE\n\nThe Time Traveller (for so it will be convenient to speak of him)\n"
    # This body stands for the book: read_text checks against its hash instead of the real book's.
    monkeypatch.setattr(uploads, "is_the_book", lambda data: tm.is_the_book(data, hashlib.sha1(body).hexdigest()))
    book, other, pasted = read_text(body), read_text(body + b"\n"), read_text(body.decode())
    assert book.is_book and book.notice == ""
    assert not other.is_book and "another edition" in other.notice and "numbers will differ" in other.notice
    assert not pasted.is_book and "another edition" in pasted.notice  # pasted text has no file to hash
    plain = read_text(b"It was the best of times, it was the worst of times.")
    assert not plain.is_book and plain.notice == ""
