"""A view's sections as tabs that run only when open.

Streamlit runs the body of every ``st.tabs`` tab on each rerun, and the browser
re-renders every chart in them, hidden or not. Bound to the URL, the tabs track
which one is open, so a view computes and draws one section per rerun: a slider
moves one chart, not six, and a link reopens the same tab.
"""

from __future__ import annotations

from typing import Callable, Mapping

import streamlit as st


def tab_param(url_path: str) -> str:
    """The URL parameter (and widget key) that holds a view's open tab."""
    return f"{url_path}_tab"


def open_tab_only(url_path: str, sections: Mapping[str, Callable[[], None]]) -> str:
    """Draw the tabs ``sections`` names and run the open one's function inside it; returns its label.

    Streamlit validates the URL value itself: an unknown label opens the first tab and is removed
    from the URL.
    """
    labels = list(sections)
    containers = st.tabs(labels, key=tab_param(url_path), bind="query-params")
    label, container = next(((lb, c) for lb, c in zip(labels, containers) if c.open), (labels[0], containers[0]))
    with container:
        sections[label]()
    return label
