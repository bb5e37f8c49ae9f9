"""The lecture hall in the sidebar and under each title: presentation toggles, one-click scenarios,
the guided tour, and the share link.

Scenarios and tour steps are data in ui/registry.py; applying one sets its controls through the
URL codec (``set_values``) and opens its tab, on this page or after ``st.switch_page``.
"""

from __future__ import annotations

import streamlit as st

from ui.controls import CONTROLS, set_values, value, widget
from ui.links import link_query, share_link
from ui.registry import SCENARIOS, TOUR, VIEWS, Scenario, tab_param
from ui.text import clear_stage

# Presentation mode: less room above a smaller page title, so the main chart fits a 1280×720 projector.
# Fixed text of ours (no user input), the only way Streamlit offers to change its spacing.
_PRESENT_CSS = """<style>
[data-testid="stMainBlockContainer"] { padding-top: 3.75rem; }
[data-testid="stMain"] h1 { font-size: 2rem; padding-top: 0; padding-bottom: 0.25rem; }
</style>"""

_TOUR = "_tour_step"        # index into TOUR while the tour runs
_LAST = "_scenario_applied"  # (view, label) of the scenario last applied, to show its caption


def _path(url_path: str) -> str:
    return next(v.path for v in VIEWS if v.url_path == url_path)


def _apply(scenario: Scenario) -> None:
    """Set the scenario's controls and open its tab (safe in a callback, before the widgets exist)."""
    set_values(scenario.values)
    if scenario.tab is not None:
        st.session_state[tab_param(scenario.view)] = scenario.tab
    st.session_state[_LAST] = (scenario.view, scenario.label)


def go_to(scenario: Scenario) -> None:
    """Apply ``scenario`` and switch to its view (from another page: home, the tour)."""
    _apply(scenario)
    # Explicit query parameters: without them Streamlit clears the URL, which it refuses to do while the
    # page's open tab is bound to it. The tab itself goes through session state (_apply).
    st.switch_page(_path(scenario.view), query_params=link_query({k: value(k) for k in CONTROLS}))


def scenario_buttons(url_path: str) -> None:
    """The view's scenarios as a row of buttons under its title, and the caption of the one applied."""
    scenarios = SCENARIOS.get(url_path, ())
    with st.container(horizontal=True, gap="small"):
        for s in scenarios:
            st.button(s.title, key=f"scenario_{url_path}_{s.label}", help=s.text, on_click=_apply, args=(s,))
    last = st.session_state.get(_LAST)
    applied = next((s for s in scenarios if last == (url_path, s.label)), None)
    if applied is not None:
        st.caption(f"Scenario *{applied.title}*: {applied.text}.")


def classroom_sidebar() -> None:
    """Presentation mode, contrast and the guided tour, in the sidebar (drawn by app.py on every page)."""
    clear_stage()
    with st.sidebar:
        st.header("Lecture hall")
        if widget("present"):
            st.html(_PRESENT_CSS)
        widget("contrast")
        _tour()


def _tour() -> None:
    step = st.session_state.get(_TOUR)
    if step is None:
        if st.button("Start the guided tour", key="tour_start", width="stretch"):
            st.session_state[_TOUR] = 0
            go_to(TOUR[0].scenario)
        return
    current = TOUR[step]
    title = next(v.title for v in VIEWS if v.url_path == current.scenario.view)
    st.markdown(f"**Tour {step + 1} / {len(TOUR)}: {title}** · *{current.scenario.title}*")
    st.markdown(current.says)
    back, end, forward = st.columns(3)
    target = None
    if back.button("Back", key="tour_back", disabled=step == 0, width="stretch"):
        target = step - 1
    if end.button("End", key="tour_end", width="stretch"):
        del st.session_state[_TOUR]
        st.rerun()
    if forward.button("Next", key="tour_next", disabled=step == len(TOUR) - 1, width="stretch"):
        target = step + 1
    if target is not None:
        st.session_state[_TOUR] = target
        go_to(TOUR[target].scenario)


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
