"""The lecture hall in the running app (AppTest): presentation mode, every view's scenarios, the guided
tour and the share link. The pure parts (templates, links) are in tests/test_scenarios.py."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from charts.style import PALETTE, PRESENT_FONT, PRESENT_HEIGHT
from tests.page_charts import chart_specs
from tests.test_pages import assert_clean, controls_on, describe_exceptions, new_app, open_view, run
from ui.registry import SCENARIOS, TOUR, VIEWS, tab_param

ALL = [s for scenarios in SCENARIOS.values() for s in scenarios]
# The section's views (those with scenarios); a view still being built may not use the lecture hall yet.
LECTURE_VIEWS = [v for v in VIEWS if v.url_path in SCENARIOS]


def view_of(url_path: str):
    return next(v for v in VIEWS if v.url_path == url_path)


def specs(at) -> list[dict]:
    return [spec for _, spec in chart_specs(at)]


@pytest.mark.parametrize("view", LECTURE_VIEWS, ids=[v.url_path for v in LECTURE_VIEWS])
def test_presentation_mode_from_the_link(view):
    at = open_view(view, {"present": "1", "contrast": "1"})
    figures = assert_clean(at, f"{view.url_path} in presentation mode")
    assert not at.warning, [w.value for w in at.warning]
    for key, spec in figures:
        lay = spec["layout"]
        assert lay["font"]["size"] >= PRESENT_FONT and lay["font"]["color"] == PALETTE["black"], key
        assert lay.get("height", PRESENT_HEIGHT) <= PRESENT_HEIGHT, key
    # The explanation and its equations are folded away; the scenarios stay in reach.
    folded = [e for e in at.expander if e.label == "What this view shows"]
    assert folded and folded[0].markdown and folded[0].latex, f"{view.url_path}: intro not folded"
    outside = [el for el in at.main.latex if el not in folded[0].latex]
    assert not outside, f"{view.url_path}: equations left unfolded"


@pytest.mark.parametrize("view", LECTURE_VIEWS, ids=[v.url_path for v in LECTURE_VIEWS])
def test_explanation_is_open_on_a_screen(view):
    at = open_view(view)
    assert not [e for e in at.expander if e.label == "What this view shows"]
    assert at.main.latex, f"{view.url_path}: no equation shown"


@pytest.mark.parametrize("scenario", ALL, ids=[f"{s.view}-{s.title}" for s in ALL])
def test_scenario_button_on_its_view(scenario):
    at = open_view(view_of(scenario.view))
    run(at.button(key=f"scenario_{scenario.view}_{scenario.label}").click())
    where = f"{scenario.view}: scenario {scenario.title!r}"
    assert_clean(at, where, explained_gap=True)
    widgets = controls_on(at)
    for key, value in scenario.values.items():
        assert key in widgets, f"{where}: {key!r} is not on the page (with the tab {scenario.tab!r} open)"
        assert widgets[key].value == value, f"{where}: {key} shows {widgets[key].value!r}"
    if scenario.tab is not None:
        assert at.session_state[tab_param(scenario.view)] == scenario.tab, f"{where}: the tab did not open"
    captions = " ".join(c.value for c in at.caption)
    assert scenario.text in captions, f"{where}: the scenario's caption is not shown"
    # Its sentence is about its setting: once a control moves, it is no longer shown.
    other = next(k for k in ("seed", "T") if k in widgets)
    widgets[other].set_value(widgets[other].value + 1)
    run(at)
    assert scenario.text not in " ".join(c.value for c in at.caption), f"{where}: the caption outlived its setting"


def test_tour_walks_the_section_and_back():
    at = new_app()
    run(at.button(key="tour_start").click())
    for i, step in enumerate(TOUR):
        where = f"tour step {i + 1}"
        assert not at.exception, f"{where}: {describe_exceptions(at)}"
        assert at.title and at.title[0].value == view_of(step.scenario.view).title, where
        widgets = controls_on(at)
        for key, value in step.scenario.values.items():
            assert widgets[key].value == value, f"{where}: {key} = {widgets[key].value!r}"
        assert step.says in " ".join(m.value for m in at.main.info), f"{where}: its text is not shown"
        if i + 1 < len(TOUR):
            run(at.button(key="tour_next").click())
    assert at.button(key="tour_next").disabled
    run(at.button(key="tour_back").click())
    assert at.title[0].value == view_of(TOUR[-2].scenario.view).title
    run(at.button(key="tour_end").click())
    assert not at.exception and at.button(key="tour_start")


def test_share_link_carries_every_value_and_the_open_tab():
    view = view_of("truncation")
    at = open_view(view, {"T": "77", "rho": "1.3", "present": "1"}, tab="Monte-Carlo")
    assert not at.exception, describe_exceptions(at)
    assert not at.sidebar.code, "the link is made when the popover opens, not on every run"
    at.session_state["share_open"] = True  # what opening the popover does (AppTest cannot click it)
    run(at)
    links = [c.value for c in at.sidebar.code]
    assert len(links) == 1, links
    parts = urlsplit(links[0])
    assert parts.path.endswith("/truncation")
    query = dict(parse_qsl(parts.query))
    assert query["T"] == "77" and query["rho"] == "1.3" and query["truncation_tab"] == "Monte-Carlo"
    assert "present" not in query and "samples" in query
