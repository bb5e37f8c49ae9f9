"""A view's explanation, and text that must reach markdown as it is.

``explain`` writes the view's intro and its equations under the view's charts: the chart a
scenario or a tour step talks about is on the first screen when it lands, and the reading is
below it. In presentation mode the lecturer says what the intro says, so it is folded into an
expander.

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


def explain(markdown: str, *latex: str, label: str = "What this view shows") -> None:
    """The view's intro ``markdown`` and its equations ``latex`` (st.latex strings), under a heading,
    or folded into an expander in presentation mode."""
    if presenting():
        where = st.expander(label, expanded=False)
    else:
        where = st.container()
        where.subheader(label)
    with where:
        st.markdown(markdown)
        for equation in latex:
            st.latex(equation)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>$~:&])")  # what markdown, HTML or LaTeX could read


def plain_markdown(text: str) -> str:
    """``text`` with markdown's active characters backslash-escaped: markdown shows it literally
    (no links, emphasis, HTML, entities, LaTeX or ``:colour[…]`` directives)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
