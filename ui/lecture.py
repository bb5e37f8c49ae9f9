"""The lecture hall: presentation toggles, one-click scenarios, the guided tour, and the share link.

Scenarios and tour steps are data in ui/registry.py; applying one sets its controls
(``set_values``) and opens its tab, on this page or after ``st.switch_page``. What a scenario or a
tour step says is true of its own settings (tests/test_claims.py checks every one against the
data): the sentence is shown only while the controls still hold those settings.
"""

from __future__ import annotations

import math

import streamlit as st

from ui.controls import CONTROLS, set_values, value, view_controls, widget
from ui.links import link_query, share_link
from ui.own_data import REPLACES, own_input
from ui.registry import SCENARIOS, TOUR, VIEWS, Scenario, tab_param

# Presentation mode: less room above a smaller page title, and captions a projector can carry.
# Fixed text of ours (no user input): Streamlit has no setting for its spacing or caption size.
_PRESENT_CSS = """<style>
[data-testid="stMainBlockContainer"] { padding-top: 3.75rem; }
[data-testid="stMain"] h1 { font-size: 2rem; padding-top: 0; padding-bottom: 0.25rem; }
[data-testid="stMain"] [data-testid="stCaptionContainer"] { font-size: 1.125rem; }
</style>"""

_TOUR = "_tour_step"        # index into TOUR while the tour runs
_LAST = "_scenario_applied"  # (view, label) of the scenario last applied, to show its caption


def _path(url_path: str) -> str:
    return next(v.path for v in VIEWS if v.url_path == url_path)


def setting(scenario: Scenario) -> dict:
    """Every control of the scenario's view: its own values, the defaults for the rest."""
    return {**{k: CONTROLS[k].default for k in view_controls(scenario.view)}, **scenario.values}


def _apply(scenario: Scenario) -> None:
    """Set the scenario's setting and open its tab (safe in a callback, before the widgets exist)."""
    set_values(setting(scenario))
    if scenario.tab is not None:
        st.session_state[tab_param(scenario.view)] = scenario.tab
    st.session_state[_LAST] = (scenario.view, scenario.label)


def go_to(scenario: Scenario) -> None:
    """Apply ``scenario`` and switch to its view (from another page: home, the tour)."""
    _apply(scenario)
    # An empty query, not None: with None Streamlit tries to clear the address and refuses while widgets
    # are bound to it; the target page's bound widgets write their own values back.
    st.switch_page(_path(scenario.view), query_params={})


def holds(scenario: Scenario) -> bool:
    """Whether every control of its view still has the scenario's setting, on the lab's own data (what it
    says is about that)."""
    if any(own_input(key)[0] is not None for key in REPLACES.get(scenario.view, ())):
        return False
    for key, v in setting(scenario).items():
        now = value(key)
        if isinstance(v, float) and not isinstance(v, bool):
            if not math.isclose(now, v, rel_tol=1e-9, abs_tol=1e-12):
                return False
        elif now != v:
            return False
    return True


def scenario_buttons(url_path: str) -> None:
    """The view's scenarios as a row of buttons under its title, and the tour's step box when the
    tour is on this view. The sentence either of them says goes above the tabs (``lecture_note``)."""
    scenarios = SCENARIOS.get(url_path, ())
    with st.container(horizontal=True, gap="small"):
        for s in scenarios:
            st.button(s.title, key=f"scenario_{url_path}_{s.label}", help=s.text, on_click=_apply, args=(s,))
    step = st.session_state.get(_TOUR)
    if step is not None and TOUR[step].scenario.view == url_path:
        _tour_box(step)


def lecture_note(url_path: str, note) -> None:
    """Write into ``note`` what the tour step or the scenario last applied on this view says, while the
    controls hold its settings (called on every run of the view's open section)."""
    step = st.session_state.get(_TOUR)
    with note:
        if step is not None and TOUR[step].scenario.view == url_path:
            current = TOUR[step]
            if holds(current.scenario):
                st.info(current.says, icon=":material/tour:")
            else:
                st.caption(f"You have changed the settings of this tour step since ({current.scenario.title}); "
                           "its text no longer applies. Back or Next restores a step's settings.")
            return
        last = st.session_state.get(_LAST)
        applied = next((s for s in SCENARIOS.get(url_path, ()) if last == (url_path, s.label)), None)
        if applied is not None and holds(applied):
            st.caption(f"Scenario *{applied.title}*: {applied.text}.")


def _tour_box(step: int) -> None:
    current = TOUR[step]
    title = next(v.title for v in VIEWS if v.url_path == current.scenario.view)
    with st.container(horizontal=True, gap="small", vertical_alignment="center"):
        st.markdown(f"**Tour {step + 1} / {len(TOUR)}: {title}** · *{current.scenario.title}*")
        back = st.button("Back", key="tour_back", disabled=step == 0, icon=":material/arrow_back:")
        forward = st.button("Next", key="tour_next", disabled=step == len(TOUR) - 1, icon=":material/arrow_forward:")
        end = st.button("End", key="tour_end", icon=":material/close:")
    if end:
        del st.session_state[_TOUR]
        st.rerun()
    target = step - 1 if back else step + 1 if forward else None
    if target is not None:
        st.session_state[_TOUR] = target
        go_to(TOUR[target].scenario)


def classroom_sidebar() -> None:
    """Presentation mode, contrast, the guided tour and the share link, at the foot of the sidebar
    (drawn by app.py on every page, after the page's own controls)."""
    with st.sidebar:
        st.header("Lecture hall")
        if widget("present"):
            st.html(_PRESENT_CSS)
        widget("contrast")
        if st.session_state.get(_TOUR) is None:
            if st.button("Start the guided tour", key="tour_start", width="stretch", icon=":material/tour:"):
                st.session_state[_TOUR] = 0
                go_to(TOUR[0].scenario)
        elif st.button("End the guided tour", key="tour_stop", width="stretch"):
            del st.session_state[_TOUR]
            st.rerun()


def share_box(url_path: str | None) -> None:
    """A popover with the link that reopens this page as it is: every control and the open tab.

    The link is made when the popover opens (a rerun of this fragment alone): a view's sliders
    rerun only the view's open section, so a link drawn with the page would go stale.
    """
    st.fragment(_share_popover, key="share_box")(url_path)


def _share_popover(url_path: str | None) -> None:
    box = st.sidebar.popover("Share this view", icon=":material/share:", width="stretch", key="share_open",
                             on_change="rerun")
    if not box.open:
        return
    tab_key = tab_param(url_path) if url_path else None
    query = link_query({k: value(k) for k in CONTROLS}, tab_key=tab_key,
                       tab=st.session_state.get(tab_key) if tab_key else None)
    page_url = st.context.url or ("/" + (url_path or ""))
    with box:
        st.caption("This link reopens the page with every setting and the open tab:")
        st.code(share_link(page_url, query), language=None, wrap_lines=True)
