# The peer for bench/latency.py: the smallest Streamlit + Plotly app with one slider feeding one chart.
# Whatever the lab's pages cost beyond this is their own doing.
import numpy as np
import plotly.graph_objects as go
import streamlit as st

st.title("Trivial app")
k = st.slider("Frequency k", 1, 100, 10)
x = np.linspace(0.0, 1.0, 200)
fig = go.Figure(go.Scatter(x=x, y=np.sin(2 * np.pi * k * x), mode="lines", name="sin(2πkx)"))
fig.update_layout(title="y = sin(2πkx)", xaxis_title="x", yaxis_title="y", height=420)
st.plotly_chart(fig, key="trivial_chart")
