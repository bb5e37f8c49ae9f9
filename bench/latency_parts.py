"""What each piece of a view costs a rerun, in Chromium: the trivial app with one piece added.

``bench/latency.py`` compares every view with ``bench/trivial_app.py`` (one slider, one Plotly
chart). This bench adds one kind of element a view has to that same app at a time (a sidebar of
controls, tabs bound to the URL, ``st.latex`` blocks, a download popover, 40 captions), draws its
chart as the views do (``ui.live_chart``), or puts a view's own chart in place of the sine wave,
and measures each variant the same way (key press → chart re-rendered, median of ``--repeats``
presses), in two interleaved rounds, against the plain app in the same run.

Run from the repository root::

    python bench/latency_parts.py            # about three minutes
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from playwright.sync_api import sync_playwright  # noqa: E402

from latency import App, measure  # noqa: E402
from tools.streamlit_server import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

# The trivial app, with {extra} run before its slider and chart.
TEMPLATE = '''import sys

import numpy as np
import plotly.graph_objects as go
import streamlit as st

sys.path.insert(0, {root!r})
st.title("Trivial app")
{extra}
k = st.slider("Frequency k", 1, 100, 10)
x = np.linspace(0.0, 1.0, 200)
fig = go.Figure(go.Scatter(x=x, y=np.sin(2 * np.pi * k * x), mode="lines", name="sin(2πkx)"))
fig.update_layout(title="y = sin(2πkx)", xaxis_title="x", yaxis_title="y", height=420)
{chart}
'''
CHART = 'st.plotly_chart(fig, key="trivial_chart")'
# A chart as the views draw theirs: updated in place by Plotly.react.
LIVE_CHART = ('from ui.live_chart import live_chart\n'
              'live_chart(fig, key="trivial_chart", config={"displaylogo": False})')
# A view's first chart in place of the sine, built and drawn as the view does, the slider moving one input.
VIEW_CHART = LIVE_CHART
SCALAR_BARS = """from bptt_core import scalar_sequences, scalar_terms
from charts.scalar import scalar_term_bars
terms = scalar_terms(*scalar_sequences(40 + k, 0.9, 0.0, 0))
fig = scalar_term_bars(terms.log10_abs, terms.sign, t=40 + k)
""" + VIEW_CHART
UNROLLED_GRAPH = """from bptt_core import toy_problem, unrolled_gradients
from charts.unrolled import unrolled_graph
fig = unrolled_graph(unrolled_gradients(*toy_problem(3, 1 + k, "identity", 0.9, 0)), activation="identity")
""" + VIEW_CHART
BOOK_FIGURE = """from bptt_core import (BOOK_FIGURE_SEGMENTS, BOOK_FIGURE_TEXT, boundaries_from_xi, full_boundaries,
                       regular_boundaries, xi_from_segments)
from charts.truncation import truncation_figure
n = len(BOOK_FIGURE_TEXT)
fig = truncation_figure(BOOK_FIGURE_TEXT, {"randomized": boundaries_from_xi(xi_from_segments(BOOK_FIGURE_SEGMENTS)),
                                           "chunked": regular_boundaries(n, k), "full": full_boundaries(n)})
""" + VIEW_CHART
LATEX = r"\frac{\partial L}{\partial \mathbf{h}_t} = \sum_{i=t}^{T} (\mathbf{W}_{hh}^\top)^{T-i} \mathbf{W}_{qh}^\top"
VARIANTS = {
    "the trivial app": ("", CHART),
    "its chart drawn as the views draw theirs (ui.live_chart)": ("", LIVE_CHART),
    "+ seven more sliders (a view's sidebar and row), live chart": (
        "with st.sidebar:\n"
        "    for i in range(7):\n"
        "        st.slider(f'control {i}', 0, 100, 10, key=f'control_{i}')", LIVE_CHART),
    "+ a sidebar: 5 sliders, 2 toggles, a button, a popover": (
        "with st.sidebar:\n"
        "    for i in range(5):\n"
        "        st.slider(f'control {i}', 0, 100, 10, key=f'control_{i}')\n"
        "    st.toggle('a'); st.toggle('b'); st.button('Start')\n"
        "    with st.popover('Share'):\n"
        "        st.code('http://127.0.0.1/')", CHART),
    "+ tabs bound to the URL (the chart in the first)": (
        "", 'tabs = st.tabs(["One", "Two", "Three"], key="t_tab", bind="query-params")\n'
            "with tabs[0]:\n    " + CHART),
    "+ three st.latex blocks": ("\n".join(f"st.latex(r'{LATEX}')" for _ in range(3)), CHART),
    "+ a download popover with two buttons": (
        "", CHART + "\nwith st.popover('Download'):\n"
                    "    st.download_button('CSV', data=lambda: 'a', on_click='ignore')\n"
                    "    st.download_button('HTML', data=lambda: 'b', on_click='ignore')"),
    "+ 40 captions": ("for i in range(40):\n    st.caption(f'caption {i}')", CHART),
    "the scalar view's bars instead of the sine (2 bar traces)": ("", SCALAR_BARS),
    "the unrolled view's graph instead (14 traces, 62 text labels, legend)": ("", UNROLLED_GRAPH),
    "the book's truncation figure instead (87 text labels, 17 boxes)": ("", BOOK_FIGURE),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=12, help="presses per variant and round")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        apps = {}
        try:
            for i, (name, (extra, chart)) in enumerate(VARIANTS.items()):
                script = Path(tmp) / f"variant_{i}.py"
                script.write_text(TEMPLATE.format(root=str(ROOT), extra=extra, chart=chart))
                apps[name] = App(str(script))
            samples = {name: [] for name in VARIANTS}
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                for _ in range(2):
                    for name, app in apps.items():
                        samples[name] += measure(browser, app.url, name, args.repeats, 400, 30_000)["samples"]
                browser.close()
        finally:
            for app in apps.values():
                app.stop()
    base = statistics.median(samples["the trivial app"])
    print(f"Key press → chart re-rendered, Chromium {CHROMIUM}, {2 * args.repeats} presses per variant "
          "(two interleaved rounds), median.\n")
    print("| variant | median ms | added ms |")
    print("|---|---:|---:|")
    for name, values in samples.items():
        med = statistics.median(values)
        print(f"| {name} | {med:.0f} | {'—' if name == 'the trivial app' else f'{med - base:+.0f}'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
