"""One way to put a chart on a page: the figure and the sentence that says what it shows."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from charts.style import for_projection, in_high_contrast
from ui.controls import value
from ui.downloads import download_menu, plotly_config
from ui.live_chart import live_chart
from ui.text import plain_markdown


def show_chart(fig: go.Figure, *, key: str, caption: str) -> None:
    """Draw ``fig`` full width with the lab's own styling (no Streamlit theme), its caption and downloads.

    Presentation mode and high contrast (the sidebar's lecture hall) restyle every chart here, once.
    """
    if value("present"):
        fig = for_projection(fig, high_contrast=value("contrast"))
    elif value("contrast"):
        fig = in_high_contrast(fig)
    live_chart(fig, key=key, config=plotly_config(key))
    st.caption(plain_markdown(caption))  # plain text: 'h_{t−1}ᵀ‖_F … ‖h_' is not emphasis
    download_menu(fig, key=key)
