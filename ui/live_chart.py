"""A Plotly chart that a rerun updates in place, where ``st.plotly_chart`` draws it again from nothing.

``st.plotly_chart`` puts a hash of the figure into the element's identity, so a new figure is a new
element: the browser purges the drawn plot and builds the next one from an empty ``div`` (axes,
modebar, every SVG layer), on every slider move. Here the element keeps one identity (its ``key``)
and the figure travels as its data: a small ``st.components.v2`` module hands each new figure to
``Plotly.react``, which diffs it against the drawn one and redraws into the same DOM.

plotly.js is the copy inside the ``plotly`` package (the one ``fig.to_html`` embeds, so the live
chart and an exported HTML file draw with the same plotly.js); a browser tab fetches it once.
The figure's JSON reaches the browser as bytes and is only ever parsed as JSON: no text of a figure
(titles, labels, a user's own text in the truncation figure) is read as HTML by this module.
"""

from __future__ import annotations

import json
from pathlib import Path

import plotly
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st
import streamlit.components.v1 as components_v1

COMPONENT = "bptt_live_chart"
TEST_ID = "bpttLiveChart"  # the chart holder's data-testid (tests and bench/latency.py look for it)
PLOTLY_JS = "plotly.min.js"

# No public Streamlit API serves a file of an installed package to the browser (components v2 serve
# assets only for components declared in a package's pyproject.toml), so plotly.js goes out through the
# file route of a declared v1 component (/component/<name>/<file>) that is never mounted; every browser
# test that draws a chart covers it (tests/test_browser.py, tests/test_browser_walk.py).
_plotly_folder = components_v1.declare_component("plotlyjs", path=str(Path(plotly.__file__).parent / "package_data"))

# Called by Streamlit once per update, with the same parentElement while the element lives.
# ``data``: the bytes of one JSON text {figure, config, src}.
_JS = r"""
let loading = null;

// Our plotly.js, kept apart from any window.Plotly of the page (Streamlit's own charts load theirs).
function plotly(src) {
  if (loading === null) {
    loading = new Promise((resolve, reject) => {
      const before = window.Plotly;
      const script = document.createElement("script");
      script.src = src;
      script.async = true;
      script.onload = () => {
        const ours = window.Plotly;
        if (before !== undefined) window.Plotly = before;
        resolve(ours);
      };
      script.onerror = () => { loading = null; reject(new Error("plotly.js did not load from " + src)); };
      document.head.appendChild(script);
    });
  }
  return loading;
}

export default function ({ parentElement, data }) {
  const spec = JSON.parse(new TextDecoder().decode(data));
  let holder = parentElement.querySelector(":scope > [data-testid=TEST_ID]");
  if (holder === null) {
    holder = document.createElement("div");
    holder.setAttribute("data-testid", "TEST_ID");
    holder.style.width = "100%";
    holder.appendChild(document.createElement("div"));
    parentElement.appendChild(holder);
  }
  const gd = holder.firstElementChild;
  // Hold the chart's place until plotly.js has loaded (the first chart of a tab only).
  if (!gd._fullLayout) gd.style.minHeight = ((spec.figure.layout || {}).height || 450) + "px";
  // Updates that arrive while one is being drawn: only the latest is drawn next.
  gd.__latest = spec;
  gd.__drawing = (gd.__drawing || Promise.resolve()).then(async () => {
    if (gd.__latest !== spec) return;
    const Plotly = await plotly(spec.src);
    gd.__plotly = Plotly;
    const fig = spec.figure;
    await Plotly.react(gd, { data: fig.data || [], layout: fig.layout || {}, frames: fig.frames,
                             config: spec.config });
    gd.style.minHeight = "";
    holder.querySelector(":scope > p")?.remove();
    if (!gd.__resize) {
      // The column can change width without a window resize (sidebar folded, layout reflowed).
      let pending = false;
      gd.__resize = new ResizeObserver(() => {
        if (pending) return;
        pending = true;
        requestAnimationFrame(() => {
          pending = false;
          // A chart the page has just hidden or replaced (a tab switch) has nothing to resize.
          if (gd._fullLayout && gd.isConnected && gd.offsetParent !== null) {
            Plotly.Plots.resize(gd).catch(() => {});
          }
        });
      });
      gd.__resize.observe(holder);
    }
  }).catch((err) => {
    const problem = holder.querySelector(":scope > p") || holder.appendChild(document.createElement("p"));
    problem.textContent = "The chart could not be drawn: " + err.message;
  });
  return () => {
    if (gd.__resize) gd.__resize.disconnect();
    if (gd.__plotly) gd.__plotly.purge(gd);
  };
}
""".replace("TEST_ID", TEST_ID)

_mount = st.components.v2.component(COMPONENT, js=_JS, isolate_styles=False)


def plotly_js_url() -> str:
    """Where the browser finds plotly.js on this server (under ``server.baseUrlPath`` when one is set)."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return "/" + "/".join(part for part in (base, "component", _plotly_folder.name, PLOTLY_JS) if part)


def live_chart(fig: go.Figure, *, key: str, config: dict) -> None:
    """Draw ``fig`` full width with Plotly's ``config``; a rerun with the same ``key`` updates it in place."""
    figure = pio.to_json(fig, validate=False)
    payload = f'{{"figure":{figure},"config":{json.dumps(config)},"src":{json.dumps(plotly_js_url())}}}'
    _mount(data=payload.encode(), key=key, width="stretch")
