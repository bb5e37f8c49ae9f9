"""One way to put a chart on a page: the figure and the sentence that says what it shows."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from charts.style import PRESENT_FONT, for_projection, in_high_contrast
from ui.controls import value
from ui.downloads import download_menu, plotly_config
from ui.drag import Drag, drag_frames, drag_scrub, set_dragged
from ui.live_chart import live_chart, live_frames
from ui.text import plain_markdown

DRAG_FONT = 14  # px: the in-chart slider's label, as the sidebar's


def styled(fig: go.Figure) -> go.Figure:
    """``fig`` as the lecture hall settings draw it: projected (large text, thick lines) or high contrast."""
    if value("present"):
        return for_projection(fig, high_contrast=value("contrast"))
    if value("contrast"):
        return in_high_contrast(fig)
    return fig


def show_chart(fig: go.Figure, *, key: str, caption: str, drags: tuple[Drag, ...] = ()) -> None:
    """Draw ``fig`` full width with the lab's own styling (no Streamlit theme), its caption and downloads.

    Presentation mode and high contrast (the sidebar's lecture hall) restyle every chart here, once.
    ``drags``: parameters dragged on the chart itself, each redrawing it in the browser from its frames.
    """
    fig = styled(fig)
    look = (bool(value("present")), bool(value("contrast")))
    scrubs = tuple(drag_scrub(drag, look) for drag in drags)
    live_chart(fig, key=key, config=plotly_config(key), scrubs=scrubs,
               font=PRESENT_FONT if look[0] else DRAG_FONT, on_value=set_dragged)
    # The drags' frames last (their grids are computed as they are built, ui/drags.py): the chart at rest,
    # its caption and downloads are on the page first, and its sliders appear when the frames arrive.
    frames_slot = st.empty() if drags else None
    st.caption(plain_markdown(caption))  # plain text: 'h_{t−1}ᵀ‖_F … ‖h_' is not emphasis
    download_menu(fig, key=key)
    if drags:
        with frames_slot:
            live_frames(key, tuple(drag_frames(drag, styled, look) for drag in drags))
