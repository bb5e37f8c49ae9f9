# bench/trivial_app.py with its chart drawn as the lab draws charts (ui.live_chart: updated in place
# by Plotly.react instead of st.plotly_chart's redraw from nothing). bench/latency.py shows it beside
# the trivial app, which stays the peer: the simplest Streamlit + Plotly app one would write.
import sys
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ui.live_chart import live_chart  # noqa: E402

st.title("Trivial app")
k = st.slider("Frequency k", 1, 100, 10)
x = np.linspace(0.0, 1.0, 200)
fig = go.Figure(go.Scatter(x=x, y=np.sin(2 * np.pi * k * x), mode="lines", name="sin(2πkx)"))
fig.update_layout(title="y = sin(2πkx)", xaxis_title="x", yaxis_title="y", height=420)
live_chart(fig, key="trivial_chart", config={})
