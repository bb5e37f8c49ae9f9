"""One way to put a chart on a page: the figure and the sentence that says what it shows."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from charts.style import for_projection, in_high_contrast
from ui.controls import value
from ui.downloads import download_menu, plotly_config


def show_chart(fig: go.Figure, *, key: str, caption: str) -> None:
    """Draw ``fig`` full width with the lab's own styling (no Streamlit theme), its caption and downloads.

    Presentation mode and high contrast (the sidebar's lecture hall) restyle every chart here, once.
    """
    if value("present"):
        fig = for_projection(fig, high_contrast=value("contrast"))
    elif value("contrast"):
        fig = in_high_contrast(fig)
    st.plotly_chart(fig, width="stretch", theme=None, key=key, config=plotly_config(key))
    st.caption(caption)
    download_menu(fig, key=key)
