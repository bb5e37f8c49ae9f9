"""A view's explanation: in full on a screen, folded into an expander in presentation mode.

In the lecture hall the lecturer says what the intro says, and the main chart must fit a 1280×720
projector without scrolling; a student at home reads it unfolded.
"""

from __future__ import annotations

import streamlit as st

from ui.controls import value


def presenting() -> bool:
    """Whether presentation mode is on (the sidebar's toggle, or ?present=1 in the link)."""
    return bool(value("present"))


def explain(markdown: str, *latex: str, label: str = "What this view shows") -> None:
    """The view's intro ``markdown`` and its equations ``latex`` (st.latex strings), folded in
    presentation mode."""
    where = st.expander(label, expanded=False) if presenting() else st.container()
    with where:
        st.markdown(markdown)
        for equation in latex:
            st.latex(equation)
