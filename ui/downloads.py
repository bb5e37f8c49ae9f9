"""Every chart's downloads: its data as CSV and the figure as a standalone HTML page.

The files are made only when a button is pressed (``st.download_button`` with a callable
runs it on click, in its own thread), so a rerun pays for two small buttons, not for a
CSV and a 4 MB page per chart. ``on_click="ignore"``: a download does not rerun the page.
PNG comes from the camera in Plotly's own toolbar (``PLOTLY_CONFIG``).
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from charts.export import figure_csv, figure_html, file_stem


def plotly_config(key: str) -> dict:
    """Plotly's toolbar for a chart: the PNG camera at twice the on-screen size, named after the chart."""
    return {"displaylogo": False,
            "toImageButtonOptions": {"format": "png", "filename": file_stem(key), "scale": 2}}


def download_menu(fig: go.Figure, *, key: str) -> None:
    """A small "Download" popover under a chart with its CSV and HTML buttons."""
    stem = file_stem(key)
    menu = st.popover("Download", icon=":material/download:", type="tertiary", key=f"{key}_downloads",
                      on_change="rerun")
    if not menu.open:
        return  # drawn when opened: a slider's rerun sends one closed button, not its four elements
    with menu:
        st.download_button("Data (CSV)", data=lambda: figure_csv(fig), file_name=f"{stem}.csv", mime="text/csv",
                           key=f"{key}_csv", on_click="ignore", icon=":material/table:",
                           help="The numbers behind every trace: one row per point (per frame for an animation).")
        st.download_button("Figure (HTML)", data=lambda: figure_html(fig), file_name=f"{stem}.html",
                           mime="text/html", key=f"{key}_html", on_click="ignore", icon=":material/code:",
                           help="The interactive figure as one file, Plotly included: opens offline in any browser.")
        st.caption("PNG: the camera in the chart's toolbar (top right, on hover).")
