"""A view's sections as tabs that run only when open, each run as a fragment with its controls.

The tabs are a segmented control bound to the URL (``?truncation_tab=Monte-Carlo``), with the
open section drawn under it: a view computes and draws one section per rerun, so a slider moves
one chart, not six, and a link reopens the same tab. (``st.tabs`` would run every tab's body,
and its hidden-panel layout made each chart redraw more slowly in Chromium.)

The open section runs in a fragment together with the controls it reads: the sidebar's model
and the view's own, drawn from inside the fragment into containers this module creates on the
page and hands over. Moving one of them reruns that fragment alone, so the server sends, and the
browser redraws, the controls and one section, not the title, the scenarios and the explanation.
The scenario's (or tour step's) sentence above the tabs is written by the fragment too: it is
checked against the values on every run, so it never outlives the settings it describes.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import streamlit as st

from ui.lecture import lecture_note
from ui.registry import tab_param


def open_tab_only(url_path: str, sections: Mapping[str, Callable[..., None]],
                  controls: Callable[[Any], Any] | None = None,
                  inputs: Mapping[str, Callable[[], None]] | None = None, note: bool = True) -> str:
    """Draw the tabs ``sections`` names and run the open one's function under them; returns its label.

    ``controls(row)`` draws the view's controls (the sidebar's model, and its own into ``row``, a
    container above the section) and returns their values, which the open section's function
    receives as its one argument (without ``controls`` it takes none). Both run in one fragment,
    so a section must get every setting from that argument or from widgets it draws itself.

    ``inputs[label]()``, when given, draws what the open section takes from the user but rarely
    (a text to paste or upload) under the section, outside the fragment: changing it reruns the
    page, and a slider move does not send it again.

    ``note``: write the applied scenario's (or tour step's) sentence above the tabs (``lecture_note``);
    a page that writes it itself passes False.

    Streamlit validates the URL value itself: an unknown label opens the first tab and is removed
    from the URL.
    """
    note_box = st.container() if note else None
    labels = list(sections)
    label = st.segmented_control("Sections of this view", labels, default=labels[0], required=True,
                                 key=tab_param(url_path), bind="query-params", label_visibility="collapsed")
    label = label if label in sections else labels[0]
    section = sections[label]
    row = st.container()

    def body():
        values = None if controls is None else controls(row)
        if note_box is not None:
            lecture_note(url_path, note_box)
        section() if controls is None else section(values)

    st.fragment(body, key=f"{url_path}_open_tab")()
    if inputs and label in inputs:
        inputs[label]()
    return label
