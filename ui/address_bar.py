"""The address bar kept up to date from the browser, for the reruns a slider makes.

Streamlit writes ``st.query_params`` with a page-info message, and the browser's app re-renders
from its root for it: 9–16 ms of a view's slider move in Chromium (interleaved A/B runs), the
largest part of what the page adds to the redraw of its chart. A slider reruns only its view's
fragment, so there the values go to this component instead, which sets them in the address with
``history.replaceState``: the link a student copies is the same, and the Back button no longer
steps through slider positions (Streamlit pushes a history entry per write). A full run still
writes through ``st.query_params`` (ui/controls.py ``write_url``), which also brings Streamlit's
own copy of the query up to date.
"""

from __future__ import annotations

from typing import Mapping

import streamlit as st

COMPONENT = "bptt_address_bar"

# Only the given parameters change; others (the open tab, embed options) stay as the address has them.
_JS = r"""
export default function ({ data }) {
  const params = new URLSearchParams(window.location.search);
  for (const [key, value] of Object.entries(data)) params.set(key, String(value));
  const search = "?" + params.toString();
  if (search !== window.location.search) {
    window.history.replaceState(window.history.state, "", window.location.pathname + search + window.location.hash);
  }
}
"""

_mount = st.components.v2.component(COMPONENT, js=_JS, isolate_styles=False)


def address_bar(values: Mapping[str, str], *, key: str) -> None:
    """Set ``values`` (URL parameter → text) in the browser's address, in place (no history entry).

    Drawn at the foot of the sidebar: it shows nothing, and the sidebar's last gap is not seen.
    """
    with st.sidebar:
        _mount(data=dict(values), key=key, height=0)
