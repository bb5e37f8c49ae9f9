"""Pure figure builders: arrays and core dataclasses in, ``plotly.graph_objects.Figure`` out.

No Streamlit here. Every builder labels its axes, says when an axis is
logarithmic, and never hands Plotly an inf or NaN (non-finite points are
dropped and the figure says how many).
"""
