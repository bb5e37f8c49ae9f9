"""A view's sections as tabs that run only when open, each run as a fragment with its controls.

The tabs are a segmented control bound to the URL (``?truncation_tab=Monte-Carlo``), with the
open section drawn under it: a view computes and draws one section per rerun, so a slider moves
one chart, not six, and a link reopens the same tab. (``st.tabs`` would run every tab's body,
and its hidden-panel layout made each chart redraw about 15 ms slower in Chromium.)

The open section runs in a fragment together with the controls it reads: the sidebar's model
and the view's own, drawn from inside the fragment into containers of the page. Moving one of
them reruns that fragment alone, so the server sends, and the browser redraws, the controls and
one section, not the title, the explanation, the equations, the scenarios and the tabs as well.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import streamlit as st

from ui.controls import write_url
from ui.registry import tab_param
from ui.text import free_stage


def open_tab_only(url_path: str, sections: Mapping[str, Callable[..., None]],
                  controls: Callable[[], Any] | None = None,
                  inputs: Mapping[str, Callable[[], None]] | None = None) -> str:
    """Draw the tabs ``sections`` names and run the open one's function under them; returns its label.

    ``controls()`` draws the view's controls and returns their values, which the open section's
    function receives as its one argument (without ``controls`` it takes none). Both run in one
    fragment, so a section must get every setting from that argument or from widgets it draws
    itself: the page's globals keep the values of the last full run.

    ``inputs[label]()``, when given, draws what the open section takes from the user but rarely
    (a text to paste or upload) between the tabs and the section, outside the fragment: changing
    it reruns the page, and a slider move does not send it again.

    Streamlit validates the URL value itself: an unknown label opens the first tab and is removed
    from the URL.
    """
    labels = list(sections)
    label = st.segmented_control("Sections of this view", labels, default=labels[0], required=True,
                                 key=tab_param(url_path), bind="query-params", label_visibility="collapsed")
    label = label if label in sections else labels[0]
    section = sections[label]
    if inputs and label in inputs:
        inputs[label]()
    run_as_fragment(section if controls is None else lambda: section(controls()), key=f"{url_path}_open_tab")
    return label


def run_as_fragment(body: Callable[[], None], *, key: str) -> None:
    """Run ``body`` as a fragment whose reruns keep the page's conventions: its first chart takes the
    presentation stage again (it held it), and the values its widgets changed reach the URL once,
    at the end of every run."""

    def run():
        free_stage()
        body()
        write_url(key)

    st.fragment(run, key=key)()
