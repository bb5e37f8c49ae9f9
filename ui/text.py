"""A view's explanation: in full on a screen, folded into an expander in presentation mode.

In the lecture hall the lecturer says what the intro says, and the main chart must fit a 1280×720
projector without scrolling; a student at home reads it unfolded. For the same reason, in presentation
mode the explanation leaves an empty *stage* under itself, and the first chart the page draws
(ui/figures.py show_chart) goes there, above the view's controls and tabs.

``plain_markdown`` escapes text that must reach a markdown element as it is (a user's input,
a chart's caption full of subscripts like h_{t−1}).
"""

from __future__ import annotations

import re

import streamlit as st

from ui.controls import value


def presenting() -> bool:
    """Whether presentation mode is on (the sidebar's toggle, or ?present=1 in the link)."""
    return bool(value("present"))


_STAGE = "_present_stage"  # the stage container of the last full run; app.py clears it before every page
_STAGE_FREE = "_present_stage_free"  # no chart of this run has taken the stage yet


def explain(markdown: str, *latex: str, label: str = "What this view shows") -> None:
    """The view's intro ``markdown`` and its equations ``latex`` (st.latex strings), folded in
    presentation mode, with the stage for the page's main chart under it."""
    where = st.expander(label, expanded=False) if presenting() else st.container()
    with where:
        st.markdown(markdown)
        for equation in latex:
            st.latex(equation)
    if presenting():
        st.session_state[_STAGE] = st.container()
        st.session_state[_STAGE_FREE] = True


def clear_stage() -> None:
    """Forget the previous run's stage (called by app.py before the page runs)."""
    st.session_state.pop(_STAGE, None)
    st.session_state.pop(_STAGE_FREE, None)


def free_stage() -> None:
    """Let the next chart take the stage again: a fragment rerun redraws the chart that holds it
    (ui/sections.py, at the start of every run of a view's open tab)."""
    if _STAGE in st.session_state:
        st.session_state[_STAGE_FREE] = True


def take_stage():
    """The stage for the main chart, once per run (None after the first call, or when not presenting)."""
    if not st.session_state.pop(_STAGE_FREE, False):
        return None
    return st.session_state.get(_STAGE)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>$~:&])")  # what markdown, HTML or LaTeX could read


def plain_markdown(text: str) -> str:
    """``text`` with markdown's active characters backslash-escaped: markdown shows it literally
    (no links, emphasis, HTML, entities, LaTeX or ``:colour[…]`` directives)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
