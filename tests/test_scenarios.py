"""The scenarios and the guided tour (ui/registry.py), and the share link (ui/links.py).

Every number a scenario shows comes from its values: the templates carry no digits of their own, every
value appears in the text exactly (formatting never rounds it), and every value is one the URL codec
accepts for its control. A scenario's tab is one its view draws (read from the view's source).
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ui.controls import CONTROLS, encode_value, parse_query, parse_value
from ui.links import DISPLAY_KEYS, link_query, share_link
from ui.registry import HOME_SCENARIOS, SCENARIOS, TOUR, VIEWS

ROOT = Path(__file__).resolve().parents[1]
ALL = [s for scenarios in SCENARIOS.values() for s in scenarios]
IDS = [f"{s.view}-{s.title}" for s in ALL]
DIGIT = re.compile(r"[0-9]")


def fields(template: str) -> list[tuple[str, str, str]]:
    """(literal text, field name, format spec) of a str.format template."""
    return [(lit, name or "", spec or "") for lit, name, spec, _ in string.Formatter().parse(template)]


def view_tabs(url_path: str) -> list[str]:
    """The tab labels a view passes to open_tab_only, read from its source (no Streamlit run)."""
    view = next(v for v in VIEWS if v.url_path == url_path)
    tree = ast.parse((ROOT / view.path).read_text())
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "open_tab_only"
                and isinstance(node.args[1], ast.Dict)):
            return [ast.literal_eval(k) for k in node.args[1].keys]
    return []


SECTION = ("unrolled", "eigenvalues", "jacobians", "truncation", "scalar")  # the views of the book's section


def test_every_view_has_three_to_five_scenarios():
    assert set(SECTION) <= set(SCENARIOS) <= {v.url_path for v in VIEWS}
    for view, scenarios in SCENARIOS.items():
        assert 3 <= len(scenarios) <= 5, view
        assert all(s.view == view for s in scenarios)
        titles = [s.title for s in scenarios]
        assert len(set(titles)) == len(titles), f"{view}: two scenarios look the same: {titles}"
    assert len(HOME_SCENARIOS) == 3


@pytest.mark.parametrize("scenario", ALL, ids=IDS)
def test_caption_numbers_come_from_the_values(scenario):
    shown = set()
    for template in (scenario.label, scenario.caption):
        for literal, name, spec in fields(template):
            assert not DIGIT.search(literal), f"a number typed into the template {template!r}: {literal!r}"
            if not name:
                continue
            assert name in scenario.values, f"{template!r} names {name!r}, which the scenario does not set"
            value = scenario.values[name]
            text = format(value, spec)
            assert text in scenario.title + scenario.text
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                assert float(text) == value, f"{name} = {value!r} is shown rounded as {text!r}"
            shown.add(name)
    silent = [k for k, v in scenario.values.items() if k not in shown and not isinstance(v, bool)]
    assert not silent, f"values set but never shown: {silent}"


@pytest.mark.parametrize("scenario", ALL, ids=IDS)
def test_values_are_valid_for_their_controls(scenario):
    for key, v in scenario.values.items():
        assert key in CONTROLS and key not in DISPLAY_KEYS, key
        parsed, warning = parse_value(CONTROLS[key], encode_value(v))
        assert warning is None and parsed == v and type(parsed) is type(v), (key, v)


@pytest.mark.parametrize("scenario", ALL, ids=IDS)
def test_tab_is_one_the_view_draws(scenario):
    tabs = view_tabs(scenario.view)
    if scenario.tab is None:
        return
    assert tabs, f"{scenario.view} draws no tabs, yet a scenario opens {scenario.tab!r}"
    assert scenario.tab in tabs, f"{scenario.view} has no tab {scenario.tab!r}: {tabs}"


# --- the tour ----------------------------------------------------------------------------------

def test_tour_follows_the_section():
    order = [v.url_path for v in VIEWS]
    steps = [order.index(step.scenario.view) for step in TOUR]
    assert steps == sorted(steps), "the tour goes through the views in the order of the section"
    assert set(SECTION) <= {step.scenario.view for step in TOUR}, "every view of the section"
    assert all(step.scenario in SCENARIOS[step.scenario.view] for step in TOUR)


@pytest.mark.parametrize("step", TOUR, ids=[f"{i + 1}-{s.scenario.view}" for i, s in enumerate(TOUR)])
def test_tour_text_numbers_come_from_the_scenario(step):
    for literal, name, spec in fields(step.text):
        assert not DIGIT.search(literal), f"a number typed into the tour text: {literal!r}"
        assert not name or name in step.scenario.values
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", step.says) if s]
    assert 1 <= len(sentences) <= 3, step.says


# --- the share link ----------------------------------------------------------------------------

DEFAULTS = {k: c.default for k, c in CONTROLS.items()}


def test_share_link_reopens_every_value_and_the_tab():
    values = dict(DEFAULTS, T=77, rho=1.3, activation="tanh", book_draw=False, present=True)
    link = share_link("http://127.0.0.1:8501/truncation?stale=1#x",
                      link_query(values, tab_key="truncation_tab", tab="Variance against π"))
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == ("http", "127.0.0.1:8501", "/truncation", "")
    query = dict(parse_qsl(parts.query))
    assert query.pop("truncation_tab") == "Variance against π"
    parsed, warnings = parse_query(query)
    assert not warnings
    assert parsed == {k: v for k, v in values.items() if k not in DISPLAY_KEYS}


def test_share_link_without_values_or_tab():
    assert share_link("http://h/unrolled", {}) == "http://h/unrolled"
    assert "unrolled_tab" not in link_query({"T": 5}, tab_key="unrolled_tab", tab=None)


@settings(max_examples=200, deadline=None)
@given(tab=st.text(max_size=30), T=st.integers(2, 1000), rho=st.sampled_from([0.1, 0.85, 1.0, 3.0]))
def test_any_tab_label_survives_the_link(tab, T, rho):
    link = share_link("http://h/scalar", link_query({"T": T, "rho": rho}, tab_key="scalar_tab", tab=tab))
    assert "#" not in link and " " not in link
    query = dict(parse_qsl(urlsplit(link).query, keep_blank_values=True))
    assert query.get("scalar_tab", "") == tab if tab else "scalar_tab" not in query
    assert query["T"] == str(T) and float(query["rho"]) == rho
