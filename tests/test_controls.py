"""The controls table and its URL codec: ``ui.controls.parse_value``, ``parse_query``, ``encode_value``.

URL values are untrusted text. Whatever arrives, the codec must return a value of the control's type
inside its range (or one of its options), never raise, and never repeat the text in its warning;
a value the app wrote itself must come back unchanged.
"""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ui.controls import (CONTROLS, MAX_URL_VALUE_LENGTH, SHARED, Control, encode_value, parse_query,
                         parse_value)

FLAG = Control("flag", "A flag", "bool", False)  # a bool control outside the table, for the cases below
ALL = list(CONTROLS.values()) + [FLAG]
NUMERIC = [c for c in CONTROLS.values() if c.kind in ("int", "float")]


def assert_valid(control: Control, value):
    if control.kind == "int":
        assert type(value) is int, (control.key, value)
        assert control.lo <= value <= control.hi
    elif control.kind == "float":
        assert type(value) is float, (control.key, value)
        assert math.isfinite(value) and control.lo <= value <= control.hi
    elif control.kind == "choice":
        assert value in control.options
    elif control.kind == "bool":
        assert type(value) is bool
    else:
        raise AssertionError(control.kind)


def grid(control: Control) -> list:
    """Every value a slider of this control can take."""
    n = round((control.hi - control.lo) / control.step)
    if control.kind == "int":
        return list(range(int(control.lo), int(control.hi) + 1, int(control.step)))
    return [round(control.lo + k * control.step, 6) for k in range(n + 1)]


# --- the table -----------------------------------------------------------------------------------

@pytest.mark.parametrize("control", CONTROLS.values(), ids=list(CONTROLS))
def test_table_entry_is_consistent(control):
    assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", control.key)
    assert control.kind in ("int", "float", "choice", "bool")
    assert control.label and control.help
    if control.kind in ("int", "float"):
        assert control.lo < control.hi and control.step > 0
        assert control.lo <= control.default <= control.hi
        steps = (control.default - control.lo) / control.step
        assert abs(steps - round(steps)) < 1e-9, "the default is not on the slider's grid"
        assert abs((control.hi - control.lo) / control.step - round((control.hi - control.lo) / control.step)) < 1e-9
    if control.kind == "int":
        assert all(float(v).is_integer() for v in (control.lo, control.hi, control.step, control.default))
    if control.kind == "float":
        assert isinstance(control.default, float) and isinstance(control.lo, float) and isinstance(control.hi, float)
    if control.kind == "choice":
        assert control.default in control.options and len(set(control.options)) == len(control.options)
    value, warning = parse_value(control, encode_value(control.default))
    assert warning is None and value == control.default


def test_labels_and_shared_keys():
    labels = [c.label for c in CONTROLS.values()]
    assert len(labels) == len(set(labels)), "labels must be unique (the browser tests find sliders by label)"
    assert set(SHARED) <= set(CONTROLS)


# --- parse_value ---------------------------------------------------------------------------------

T, RHO, H, ACT = CONTROLS["T"], CONTROLS["rho"], CONTROLS["h"], CONTROLS["activation"]


@pytest.mark.parametrize("control, raw, expected, warns", [
    (T, "77", 77, False),
    (T, " 77 ", 77, False),
    (T, "77.0", 77, False),
    (T, "1e2", 100, False),
    (T, "abc", T.default, True),
    (T, "", T.default, True),
    (T, "2.5", T.default, True),
    (T, "0x10", T.default, True),
    (T, "nan", T.default, True),
    (T, "-inf", T.default, True),
    (T, "1e400", T.default, True),          # float("1e400") is inf
    (T, ["3", "77"], 77, False),            # a repeated key: the last one wins
    (T, [], T.default, True),
    (H, "-5", int(H.lo), True),
    (H, "1e9", int(H.hi), True),
    (RHO, "1.3", 1.3, False),
    (RHO, "nan", RHO.default, True),
    (RHO, "NaN", RHO.default, True),
    (RHO, "inf", RHO.default, True),
    (RHO, "Infinity", RHO.default, True),
    (RHO, "1e-300", RHO.lo, True),
    (ACT, "tanh", "tanh", False),
    (ACT, "TANH", ACT.default, True),
    (ACT, "<script>alert(1)</script>", ACT.default, True),
    (FLAG, "yes", True, False),
    (FLAG, "0", False, False),
    (FLAG, "maybe", False, True),
])
def test_parse_value(control, raw, expected, warns):
    value, warning = parse_value(control, raw)
    assert value == expected and type(value) is type(expected)
    assert (warning is not None) == warns


@pytest.mark.parametrize("control", ALL, ids=[c.key for c in ALL])
def test_too_long_text_is_rejected(control):
    valid = encode_value(control.default)
    value, warning = parse_value(control, "0" * (MAX_URL_VALUE_LENGTH + 1 - len(valid)) + valid)
    assert value == control.default and warning


@pytest.mark.parametrize("raw", ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
                                 "javascript:alert(1)", "**bold** [link](http://x)", "abc\ndef"])
@pytest.mark.parametrize("control", ALL, ids=[c.key for c in ALL])
def test_warning_never_repeats_the_text(control, raw):
    value, warning = parse_value(control, raw)
    assert_valid(control, value)
    assert warning is not None
    for fragment in ("<", ">", "alert", "javascript", "**", "](", "\n"):
        assert fragment not in warning, (fragment, warning)


def test_warning_names_the_control_with_its_symbols():
    assert parse_value(T, "abc")[1] == "URL parameter `T` was not a valid sequence length T; using the default."
    assert "ρ(Wₕₕ)" in parse_value(RHO, "nan")[1]
    assert parse_value(H, "-5")[1] == "URL parameter `h` was outside 2 … 256; using 2."


# --- parse_query ---------------------------------------------------------------------------------

def test_parse_query():
    values, warnings = parse_query({"T": "77", "rho": "nan", "h": "1000", "zzz": "1", "yyy": "<b>"})
    assert values == {"T": 77, "rho": RHO.default, "h": int(H.hi)}
    assert len(warnings) == 3
    assert warnings[-1] == "Ignored 2 unknown URL parameters."
    assert not any("zzz" in w or "yyy" in w or "<b>" in w for w in warnings)
    assert parse_query({}) == ({}, [])
    assert parse_query({"T": "77", "rho": "1.3"}) == ({"T": 77, "rho": 1.3}, [])


# --- encode_value --------------------------------------------------------------------------------

def test_encode_value():
    assert encode_value(True) == "1" and encode_value(False) == "0"
    assert encode_value(77) == "77"
    assert encode_value(1.3) == "1.3"
    assert encode_value(0.15000000000000002) == "0.15"
    assert encode_value(2.0) == "2"
    assert encode_value("tanh") == "tanh"


@pytest.mark.parametrize("control", ALL, ids=[c.key for c in ALL])
def test_round_trip_on_the_whole_grid(control):
    if control.kind in ("int", "float"):
        values = grid(control)
    elif control.kind == "choice":
        values = list(control.options)
    else:
        values = [True, False]
    for v in values:
        parsed, warning = parse_value(control, encode_value(v))
        assert warning is None and parsed == v and type(parsed) is type(v), (control.key, v, parsed)


# --- properties ----------------------------------------------------------------------------------

raw_text = st.one_of(
    st.text(max_size=80),
    st.from_regex(r"\s*[-+]?(\d{0,6}(\.\d{0,8})?([eE][-+]?\d{1,4})?|nan|inf|infinity)\s*", fullmatch=True),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-10**30, max_value=10**30).map(str),
    st.lists(st.text(max_size=20), max_size=3),
    st.sampled_from([opt for c in CONTROLS.values() for opt in c.options]),
)


@settings(max_examples=400, deadline=None)
@given(control=st.sampled_from(ALL), raw=raw_text)
def test_any_text_gives_a_valid_value(control, raw):
    value, warning = parse_value(control, raw)
    assert_valid(control, value)
    assert warning is None or isinstance(warning, str)


@settings(max_examples=200, deadline=None)
@given(params=st.dictionaries(st.one_of(st.sampled_from(list(CONTROLS)), st.text(max_size=10)),
                              st.one_of(st.text(max_size=30), st.lists(st.text(max_size=10), max_size=3)),
                              max_size=8))
def test_any_query_gives_valid_values(params):
    values, warnings = parse_query(params)
    assert set(values) <= set(CONTROLS) & set(params)
    for key, value in values.items():
        assert_valid(CONTROLS[key], value)
    assert all(isinstance(w, str) for w in warnings)


hostile_text = st.one_of(
    st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e400", "1e308", "-5", "-1e9",
                     "9" * 40, "abc", "", " ", "0x10", "1,5", "<script>alert(1)</script>",
                     "<img src=x onerror=alert(1)>", "javascript:alert(1)", "**x**", "\u202e", "%00"]),
    raw_text,
)


@settings(max_examples=300, deadline=None)
@given(known=st.dictionaries(st.sampled_from(list(CONTROLS)), hostile_text, max_size=6),
       unknown=st.dictionaries(st.text(min_size=1, max_size=12).filter(
                           lambda k: k not in CONTROLS and not k.endswith("_tab")),  # tabs: Streamlit's
                               hostile_text, max_size=3))
def test_hostile_query_gives_defaults_or_clamped_values_and_quiet_warnings(known, unknown):
    params = {**unknown, **known}
    values, warnings = parse_query(params)
    assert set(values) == set(known)
    bad = 0
    for key, raw in known.items():
        assert_valid(CONTROLS[key], values[key])
        value, warning = parse_value(CONTROLS[key], raw)
        assert values[key] == value
        bad += warning is not None
    assert len(warnings) == bad + (1 if unknown else 0)  # one line for every unknown key
    for warning in warnings:
        for fragment in ("<", ">", "alert", "javascript", "onerror"):
            assert fragment not in warning, (fragment, warning)


@st.composite
def valid_value(draw):
    control = draw(st.sampled_from(ALL))
    if control.kind == "int":
        v = draw(st.integers(int(control.lo), int(control.hi)))
    elif control.kind == "float":
        v = draw(st.sampled_from(grid(control)))
    elif control.kind == "choice":
        v = draw(st.sampled_from(control.options))
    else:
        v = draw(st.booleans())
    return control, v


@settings(max_examples=300, deadline=None)
@given(valid_value())
def test_round_trip_is_identity(case):
    control, v = case
    parsed, warning = parse_value(control, encode_value(v))
    assert warning is None and parsed == v and type(parsed) is type(v)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_float_in_range_round_trips_closely(data):
    control = data.draw(st.sampled_from([c for c in NUMERIC if c.kind == "float"]))
    v = data.draw(st.floats(control.lo, control.hi))
    parsed, warning = parse_value(control, encode_value(v))
    assert warning is None
    assert parsed == pytest.approx(v, rel=1e-5, abs=1e-12)
