"""A Plotly chart that a rerun updates in place, where ``st.plotly_chart`` draws it again from nothing.

``st.plotly_chart`` puts a hash of the figure into the element's identity, so a new figure is a new
element: the browser purges the drawn plot and builds the next one from an empty ``div`` (axes,
modebar, every SVG layer), on every slider move. Here the element keeps one identity (its ``key``)
and the figure travels as its data: a small ``st.components.v2`` module hands each new figure to
``Plotly.react``, which diffs it against the drawn one and redraws into the same DOM.

A chart with ``scrubs`` also carries a slider above it for each dragged parameter (an ``<input
type=range>``: pointer and arrow keys) and one frame per value the slider offers (``charts.frames``).
Moving it redraws the chart from the frame under the pointer, at most once per animation frame, with
no message to the server: a frame that moves or restyles only lines, markers, text, bars and boxes in
place, through the drawn axes (``drawLines``), any other with ``Plotly.react``; letting go (or a key press) sends the value once, as
the trigger ``scrubbed``, whose callback sets the control before the rerun (``ui.drag``).

plotly.js is the copy inside the ``plotly`` package (the one ``fig.to_html`` embeds, so the live
chart and an exported HTML file draw with the same plotly.js); a browser tab fetches it once.
The figure's JSON reaches the browser as bytes and is only ever parsed as JSON: no text of a figure
(titles, labels, a user's own text in the truncation figure) is read as HTML by this module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import plotly
import plotly.graph_objects as go
import plotly.io as pio
from plotly.io.json import to_json_plotly
import streamlit as st
import streamlit.components.v1 as components_v1

from charts.style import DETAIL, DETAIL_MIN_PX

COMPONENT = "bptt_live_chart"
FRAMES_COMPONENT = "bptt_live_frames"
TEST_ID = "bpttLiveChart"  # the chart holder's data-testid (tests and bench/latency.py look for it)
PLOTLY_JS = "plotly.min.js"
ACCENT = "#0072B2"  # the theme's primary colour (.streamlit/config.toml)

# No public Streamlit API serves a file of an installed package to the browser (components v2 serve
# assets only for components declared in a package's pyproject.toml), so plotly.js goes out through the
# file route of a declared v1 component (/component/<name>/<file>) that is never mounted; every browser
# test that draws a chart covers it (tests/test_browser.py, tests/test_browser_walk.py).
_plotly_folder = components_v1.declare_component("plotlyjs", path=str(Path(plotly.__file__).parent / "package_data"))

_DECODE_JS = r"""
// plotly.py sends NumPy arrays as typed-array specs ({dtype, bdata: base64, shape}); plotly.js decodes them
// on every Plotly.react. Decoded once here, a frame's redraw starts from typed arrays.
const TYPED = { f8: Float64Array, f4: Float32Array, i4: Int32Array, i2: Int16Array, i1: Int8Array,
                u4: Uint32Array, u2: Uint16Array, u1: Uint8Array };

function decoded(x) {
  if (Array.isArray(x)) return x.map(decoded);
  if (x === null || typeof x !== "object") return x;
  if (typeof x.bdata === "string" && TYPED[x.dtype]) {
    const bytes = Uint8Array.from(atob(x.bdata), (c) => c.charCodeAt(0));
    const flat = new TYPED[x.dtype](bytes.buffer);
    const shape = String(x.shape || flat.length).split(",").map(Number);
    if (shape.length !== 2) return flat;
    return Array.from({ length: shape[0] }, (_, r) => flat.subarray(r * shape[1], (r + 1) * shape[1]));
  }
  const out = {};
  for (const [key, value] of Object.entries(x)) out[key] = decoded(value);
  return out;
}
"""

# Called by Streamlit once per update, with the same parentElement while the element lives.
# ``data``: the bytes of one JSON text {figure, config, src[, scrubs, chart, font, accent]}.
_JS = _DECODE_JS + r"""
let loading = null;

// Numbers that need the room of a wide chart (traces with meta DETAIL, charts.style) are left out of a chart
// drawn narrower than DETAIL_MIN_PX, as a projected chart leaves them out: on a laptop's or a tablet's
// narrower column they would lie on the boxes and on each other. Marked, so that a wider chart has them back.
function fitted(gd, data) {
  const narrow = gd.clientWidth > 0 && gd.clientWidth < DETAIL_MIN_PX;
  gd.__narrow = narrow;
  return data.map((t) => {
    if (!t || t.meta !== "DETAIL_META") return t;
    const out = Object.assign({}, t);
    if (narrow && out.visible !== false) Object.assign(out, { visible: false, _narrow: true });
    else if (!narrow && out._narrow) { delete out.visible; delete out._narrow; }
    return out;
  });
}

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

// The in-chart sliders (one per dragged parameter): an <input type=range> over the frames' indices.
// Moving it redraws from the frame under the pointer with Plotly.react, in the browser only; letting
// go (or an arrow key) sends the value to the server once, as the trigger "scrubbed".
// A chart's frames arrive in an element of their own (bptt_live_frames, below the chart), registered in
// window.__bpttFrames under the chart's key; a slider is built once its frames of the same version are there.
function withFrames(spec) {
  const sent = ((window.__bpttFrames || {})[spec.chart] || {}).scrubs || [];
  return (spec.scrubs || []).map((light) => {
    const full = sent.find((f) => f.key === light.key && f.version === light.version);
    return full ? Object.assign({}, full, light) : null;
  }).filter((scrub) => scrub !== null);
}

function scrubRow(holder, gd, spec, setTriggerValue) {
  let row = holder.querySelector(":scope > [data-testid=bpttScrub]");
  const scrubs = withFrames(spec);
  if (scrubs.length === 0) { row?.remove(); return; }
  if (row === null) {
    row = document.createElement("div");
    row.setAttribute("data-testid", "bpttScrub");
    row.style.cssText = "display:flex;flex-wrap:wrap;gap:4px 28px;align-items:center;margin:0 0 2px 0;";
    holder.insertBefore(row, holder.firstChild);
  }
  row.style.fontSize = spec.font + "px";
  row.replaceChildren(...scrubs.map((scrub) => {
    const label = document.createElement("label");
    label.style.cssText = "display:flex;align-items:center;gap:10px;flex:1 1 260px;min-width:0;";
    const name = document.createElement("span");
    name.textContent = scrub.label + " =";
    const out = document.createElement("output");
    out.style.cssText = "min-width:3.6em;font-variant-numeric:tabular-nums;font-weight:600;";
    const input = document.createElement("input");
    input.type = "range";
    input.min = "0";
    input.max = String(scrub.values.length - 1);
    input.step = "1";
    input.value = String(scrub.index);
    input.setAttribute("data-key", scrub.key);
    input.setAttribute("aria-label", scrub.aria);
    input.style.cssText = "flex:1 1 auto;min-width:80px;accent-color:" + spec.accent + ";height:" + spec.font + "px;";
    out.textContent = scrub.labels[scrub.index];
    let pending = null;
    input.addEventListener("input", () => {
      const i = Number(input.value);
      out.textContent = scrub.labels[i];
      // One redraw per animation frame, from the latest position of the pointer.
      if (pending === null) {
        pending = requestAnimationFrame(() => { pending = null; drawFrame(gd, scrub, Number(input.value)); });
      }
    });
    input.addEventListener("change", () => {
      setTriggerValue("scrubbed", { key: scrub.key, value: scrub.values[Number(input.value)] });
    });
    label.append(name, input, out);
    return label;
  }));
}

// ``base`` with a frame's properties laid over it; a property the frame's own chart does not have (null)
// is removed, so that Plotly draws its default as that chart would.
function patched(base, patch) {
  const out = Object.assign({}, base);
  for (const [key, value] of Object.entries(patch || {})) {
    if (value === null) delete out[key];
    else out[key] = value;
  }
  return out;
}

// The axes a drag moves start from the range drawn at rest and widen to take in every frame drawn since
// (never narrowing while the hand moves, so nothing jumps back and forth); a new figure from the server
// starts again from its own ranges.
const PAD = 0.04;

function log10Ticks(lo, hi) {  // charts.style.log10_axis: whole numbers, at most five labels
  for (const m of [1, 10, 100, 1000, 10000, 100000]) {
    for (const s of [m, 2 * m, 5 * m]) if ((hi - lo) / s + 1 <= 5) return s;
  }
  return 1000000;
}

const GROW = 0.5;

function everySpan(scrub, name) {  // [lowest, highest] of the axis over every frame of the drag
  scrub.__every = scrub.__every || {};
  if (!scrub.__every[name]) {
    const spans = scrub.frames.map((f) => (f.spans || {})[name]).filter((x) => x);
    scrub.__every[name] = [Math.min(...spans.map((x) => x[0])), Math.max(...spans.map((x) => x[1]))];
  }
  return scrub.__every[name];
}

function widenAxes(gd, scrub, frame, layout) {
  if (!gd.__running) {
    gd.__running = {};
    for (const name of Object.keys(scrub.axes || {})) {
      const drawn = gd._fullLayout && gd._fullLayout[name];
      if (drawn && drawn.range) gd.__running[name] = drawn.range.map(Number);
    }
  }
  for (const [name, span] of Object.entries(frame.spans || {})) {
    const r = gd.__running[name] || [span[0], span[1]];
    // Widen by half the range at least (never past what every frame needs): a drag that keeps reaching
    // further widens a few times, and the frames in between move their lines alone (drawLines).
    const all = everySpan(scrub, name), grow = GROW * (r[1] - r[0]);
    const lo = Math.max(Math.min(span[0], r[0] - grow), all[0]), hi = Math.min(Math.max(span[1], r[1] + grow), all[1]);
    const pad = PAD * Math.max(Math.max(r[1], hi) - Math.min(r[0], lo), 1e-9);
    if (span[0] < r[0]) r[0] = lo - pad;
    if (span[1] > r[1]) r[1] = hi + pad;
    gd.__running[name] = r;
    const axis = Object.assign({}, layout[name], { range: r.slice(), autorange: false });
    if (scrub.axes[name] && scrub.axes[name].log10) Object.assign(axis, { tickmode: "linear", tick0: 0, dtick: log10Ticks(r[0], r[1]) });
    layout[name] = axis;
  }
}

// A frame that moves or restyles nothing but lines, points, bars, numbers and boxes, drawn in place: it
// changes only, of scatter traces drawn as straight lines, markers and text (no fill or error bars), the
// x and y of their points (not of text), a line's width and colour, the markers' sizes and colours (of
// a polygon symbol), the words of plain text and the legend names (as long as the drawn ones); the
// heights and bases of vertical bars that keep their places; and rectangles on the axes (layout.shapes)
// of looks Plotly has drawn; nothing else of the layout, and every point lies within the ranges drawn.
// It is drawn as Plotly draws it, through the drawn axes (c2p): a line's SVG path (broken at gaps) and
// style, a marker's position, path and fill, a text's words, a bar's rectangle, a box's path, a legend
// entry. 0.1-0.5 ms and a repaint of those alone, where a Plotly.react redraws the whole chart (10-12 ms
// of a two-line chart here, 35 ms of the unrolled graph). False for anything else, which Plotly.react draws.
const MOVED = new Set(["x", "y", "name", "line", "marker", "text"]);
const BARS_MOVED = new Set(["x", "y", "base"]);
const RESTYLED = { line: new Set(["width", "color"]), marker: new Set(["size", "color"]) };
const PLAIN = /^[^<>&$\n]+$/;          // text Plotly writes as it is (no pseudo-HTML, no LaTeX, one line)
const POLYGON = /^[MLHVZ0-9.,eE+\- ]+$/; // a marker path that scales with its size (no arcs)
// Layout properties no chart of the lab draws (meta: what the chart's data repeats for tests and
// exports, shown only by a %{meta} template, which the frame's chart must not have).
const UNDRAWN = new Set(["meta"]);

// Whether a frame's layout patch leaves the drawn layout as it is (a frame names the properties some
// frame of the drag changes: most frames give them their drawn values, or null for one never drawn).
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const at = (v, k) => (Array.isArray(v) || ArrayBuffer.isView(v) ? v[k] : v);

function sameLayout(drawn, patch) {
  return Object.entries(patch || {}).every(([key, value]) => value === null
    ? drawn[key] === undefined || drawn[key] === null || (Array.isArray(drawn[key]) && drawn[key].length === 0)
    : same(value, drawn[key]));
}

// An axis the frame moves points along keeps its range: one the drag holds (spans), one whose extent is
// the same in every frame (its autorange would not change), or one not autoranged.
function held(scrub, frame, fl, name) {
  return name in (frame.spans || {}) || ((scrub.axes || {})[name] || {}).still === true || fl[name].autorange === false;
}

function fill(el, [rgb, alpha]) {   // a marker's fill as Plotly's Color.fill writes it (rgbOf)
  el.style.setProperty("fill", rgb);
  el.style.setProperty("fill-opacity", String(alpha));
}

// A colour as Plotly's Color.stroke / Color.fill writes it: [CSS rgb(), its alpha], or null for a colour
// it would first have to name (a named colour, hsl()).
function rgbOf(c) {
  if (typeof c !== "string") return null;
  let m = /^#([0-9a-f]{6})$/i.exec(c);
  if (m) { const n = parseInt(m[1], 16); return ["rgb(" + (n >> 16) + ", " + ((n >> 8) & 255) + ", " + (n & 255) + ")", 1]; }
  m = /^rgba?\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*(?:,\s*([0-9.]+)\s*)?\)$/.exec(c);
  return m ? ["rgb(" + m[1] + ", " + m[2] + ", " + m[3] + ")", m[4] === undefined ? 1 : Number(m[4])] : null;
}

// What of ``key`` (line, marker) the frame changes from the drawn trace: {width, color} / {size, color},
// or null when it changes anything else (a dash, a symbol, an angle), which Plotly draws.
function restyled(patch, drawn, key) {
  const a = patch[key] || {}, b = (drawn && drawn[key]) || {}, out = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (same(a[k], b[k])) continue;
    if (!RESTYLED[key].has(k) || a[k] === undefined) return null;
    out[k] = a[k];
  }
  return out;
}

// Vertical bars at the positions drawn, with new heights and bases: each bar's rectangle keeps its drawn
// sides and gets its new top and bottom, ya.c2p(base) and ya.c2p(base + y), as Plotly draws it. Null
// where Plotly could draw the frame otherwise (bars that move sideways, vanish or carry text or edges).
function barMoves(gd, t, g, patch, baseTrace, ya) {
  const cd = gd.calcdata && gd.calcdata[t.index];
  if (!cd || !Object.keys(patch).every((k) => BARS_MOVED.has(k)) || t.orientation !== "v" || t.visible !== true
      || (t.text !== undefined && t.text !== "") || (t.marker.line && t.marker.line.width) || ya.type !== "linear") return null;
  const xs = patch.x || baseTrace.x, ys = patch.y || baseTrace.y, bs = "base" in patch ? patch.base : baseTrace.base;
  const points = [...g.querySelectorAll("g.point")];
  if (!xs || !ys || xs.length !== cd.length || ys.length !== cd.length || points.length !== cd.length) return null;
  const moves = [];
  for (let n = 0; n < points.length; n++) {
    const d = points[n].__data__, k = d && d.i, path = points[n].querySelector("path");
    const b = at(bs ?? 0, k);
    if (!Number.isInteger(k) || !path || xs[k] !== d.p || !Number.isFinite(ys[k]) || ys[k] === 0 || !Number.isFinite(b)) return null;
    const sides = /^M([-0-9.e]+),[-0-9.e]+V[-0-9.e]+H([-0-9.e]+)V/.exec(path.getAttribute("d") || "");
    if (!sides) return null;
    const y0 = ya.c2p(b), y1 = ya.c2p(b + ys[k]);
    if (!Number.isFinite(y0) || !Number.isFinite(y1)) return null;
    moves.push([path, "M" + sides[1] + "," + y0.toFixed(2) + "V" + y1.toFixed(2) + "H" + sides[2] + "V" + y0.toFixed(2) + "Z"]);
  }
  return moves;
}

// A marker's path at ``size``: the path Plotly drew scaled about the point (a polygon symbol's corners
// are proportional to its size, so this is the path it draws at ``size``, to its own rounding). Scaled
// always from Plotly's own path (kept on the element until Plotly draws another), never from ours.
function sizedPath(el, size, drawnSize) {
  const d = el.getAttribute("d") || "";
  if (!el.__sized || el.__sized.written !== d) el.__sized = { from: d, size: drawnSize };
  const r = size / el.__sized.size;
  if (!POLYGON.test(el.__sized.from) || !Number.isFinite(r) || !(r > 0)) return null;
  return el.__sized.from.replace(/-?[0-9.]+(e[-+]?[0-9]+)?/gi, (n) => String(+(Number(n) * r).toFixed(3)));
}

// How to draw trace j of the frame in place (its new path, points, texts and styles), or null.
function scatterMoves(gd, scrub, frame, j, patch, g, legendOf) {
  const base = gd.__base, full = gd._fullData, fl = gd._fullLayout, t = full[j], drawn = (gd.data || [])[j];  // gd.data: what Plotly last drew
  const keys = Object.keys(patch);
  if (!t || !g || !drawn || !keys.every((k) => MOVED.has(k)) || t.type !== "scatter" || t.visible !== true) return null;
  const modes = t.mode.split("+");
  if (!modes.every((m) => m === "lines" || m === "markers" || m === "text") || (t.fill && t.fill !== "none")
      || (t.error_y && t.error_y.visible) || (t.error_x && t.error_x.visible) || t.texttemplate) return null;
  const lines = modes.includes("lines"), texts = modes.includes("text"), moving = "x" in patch || "y" in patch;
  if (lines && (t.line.shape !== "linear" || t.connectgaps)) return null;
  if (texts && moving) return null;
  const path = g.querySelectorAll("path.js-line"), points = g.querySelectorAll("g.points path.point");
  if (lines && path.length !== 1) return null;
  const xn = t.xaxis.replace("x", "xaxis"), yn = t.yaxis.replace("y", "yaxis"), xa = fl[xn], ya = fl[yn];
  if (!xa || !ya || ![xa, ya].every((a) => a.type === "linear" || a.type === "log")) return null;
  if (("x" in patch && !held(scrub, frame, fl, xn)) || ("y" in patch && !held(scrub, frame, fl, yn))) return null;
  const xs = patch.x || base.data[j].x, ys = patch.y || base.data[j].y;
  if (!xs || !ys || xs.length !== ys.length) return null;
  const spot = [];   // every point's pixels, or null at a gap
  for (let k = 0; k < ys.length; k++) {
    const px = xa.c2p(xs[k]), py = ya.c2p(ys[k]);
    spot.push(Number.isFinite(px) && Number.isFinite(py) ? [px, py] : null);
  }
  const move = { path: lines ? path[0] : null, points, marked: null, spot, moving };
  const legend = legendOf(j), inLegend = t.showlegend && t.visible === true;
  if ("line" in patch) {
    const style = restyled(patch, drawn, "line");
    if (style === null || !lines || inLegend || t.line.dash !== "solid") return null;
    const width = "width" in style ? style.width : t.line.width, colour = rgbOf("color" in style ? style.color : t.line.color);
    if (!(width > 0) || colour === null) return null;
    move.lineStyle = { "stroke-width": width + "px", stroke: colour[0], "stroke-opacity": String(colour[1]) };
  }
  if (modes.includes("markers")) {
    // Plotly draws a marker for every point with numbers (each element knows its point's index), or with
    // maxdisplayed a choice among the points within the ranges drawn that depends only on how many
    // there are: the frame keeps the drawn markers when it has numbers at the same points and, for a
    // choice, every point before and after lies within the ranges.
    const cd = gd.calcdata && gd.calcdata[j], num = (v) => typeof v === "number" && Number.isFinite(v);
    if (t.cliponaxis === false || t._needsCull || !cd || cd.length !== spot.length
        || spot.some((p, k) => (p !== null) !== (num(cd[k].x) && num(cd[k].y)))) return null;
    if (t.marker.maxdisplayed) {
      if (xa.type !== "linear" || ya.type !== "linear") return null;
      const within = (a, v) => v >= Math.min(a.range[0], a.range[1]) && v <= Math.max(a.range[0], a.range[1]);
      if (spot.some((p, k) => p !== null && !(within(xa, xs[k]) && within(ya, ys[k]) && within(xa, cd[k].x)
                                               && within(ya, cd[k].y)))) return null;
    }
    move.marked = [...points].map((el) => (el.__data__ || {}).i);
    if (move.marked.some((k) => !Number.isInteger(k) || !spot[k])) return null;
    if (!t.marker.maxdisplayed && move.marked.length !== spot.filter((p) => p !== null).length) return null;
    if ("marker" in patch) {
      const style = restyled(patch, drawn, "marker"), m = drawn.marker || {};
      if (style === null || /open|dot/.test(String(t.marker.symbol)) || m.sizeref !== undefined || m.sizemode !== undefined
          || (inLegend && "size" in style)) return null;
      move.fills = "color" in style ? move.marked.map((k) => rgbOf(at(style.color, k))) : null;
      if (move.fills && move.fills.some((c) => c === null)) return null;
      move.paths = "size" in style ? move.marked.map((k, n) => sizedPath(points[n], at(style.size, k), at(m.size, k))) : null;
      if (move.paths && move.paths.some((d) => d === null)) return null;
      if (move.fills && inLegend) {   // the legend's marker takes the first point's colour (Plotly's legend style)
        const icon = legend && legend.parentNode.querySelector("path.scatterpts");
        move.legendFill = [icon, rgbOf(at(style.color, 0))];
        if (!icon || move.legendFill[1] === null) return null;
      }
    }
  } else if ("marker" in patch) return null;
  if ("text" in patch) {
    const words = patch.text, shown = [...g.querySelectorAll("g.textpoint")];
    if (!texts || !words || shown.length !== words.length) return null;
    move.words = [];
    for (const el of shown) {
      const k = (el.__data__ || {}).i, text = el.querySelector("text"), w = words[k];
      if (!Number.isInteger(k) || !text || text.childElementCount > 0 || !PLAIN.test(String(w))
          || !PLAIN.test(text.textContent)) return null;
      move.words.push([text, String(w)]);
    }
  }
  if ("name" in patch) {
    if (inLegend && (legend === null || legend.childElementCount > 0 || !PLAIN.test(String(patch.name))
                     || [...legend.textContent].length !== [...String(patch.name)].length)) return null;
    move.legend = legend;
    move.name = patch.name;
  }
  return move;
}

// Shapes drawn in place: rectangles on the axes, each a copy of a group Plotly drew of a shape with the
// same look (its line, fill, layer: the group's clip path and the path's style), at the frame's corners
// through the drawn axes, as Plotly writes a rectangle: "M x0,y0 H x1 V y1 H x0 Z".
function shapeLook(s) {
  const o = Object.assign({}, s);
  for (const k of ["x0", "x1", "y0", "y1", "name"]) delete o[k];
  return JSON.stringify(o);
}

function lookAtShapes(gd) {   // after a Plotly draw: a copy of each look of shape it drew
  const shapes = (gd.layout && gd.layout.shapes) || [];
  gd.__looks = gd.__looks || new Map();
  for (const g of gd.querySelectorAll(".shapelayer > g.shape-group")) {
    const s = !g.__inPlace && shapes[Number(g.getAttribute("data-index"))];
    if (s) gd.__looks.set(shapeLook(s), g.cloneNode(true));
  }
}

const SHAPES = ".layer-subplot > .shapelayer > g.shape-group";

function shapeMoves(gd, shapes) {   // [[group to copy, layer, path]] per shape, or null
  const fl = gd._fullLayout, plan = [];
  if (gd.querySelectorAll("g.shape-group").length !== gd.querySelectorAll(SHAPES).length) return null;
  for (const s of shapes || []) {
    const look = gd.__looks && gd.__looks.get(shapeLook(s)), plot = fl._plots && fl._plots[s.xref + s.yref];
    if (!look || !plot || !plot.shapelayer || s.type !== "rect" || s.layer !== "below" || s.visible === false
        || (s.label && s.label.text)) return null;
    const xa = plot.xaxis, ya = plot.yaxis;
    if (xa.type !== "linear" || ya.type !== "linear") return null;
    const [x0, x1, y0, y1] = [xa._offset + xa.r2p(s.x0), xa._offset + xa.r2p(s.x1), ya._offset + ya.r2p(s.y0),
                              ya._offset + ya.r2p(s.y1)];
    if (![x0, x1, y0, y1].every(Number.isFinite)) return null;
    plan.push([look, plot.shapelayer.node(), "M" + x0 + "," + y0 + "H" + x1 + "V" + y1 + "H" + x0 + "Z"]);
  }
  return plan;
}

function drawShapes(gd, plan) {
  for (const g of gd.querySelectorAll(SHAPES)) g.remove();
  plan.forEach(([look, layer, d], i) => {
    const g = look.cloneNode(true), path = g.querySelector("path");
    g.__inPlace = true;
    g.setAttribute("data-index", String(i));
    path.setAttribute("data-index", String(i));
    path.setAttribute("d", d);
    layer.appendChild(g);
  });
}

function drawLines(gd, scrub, frame) {
  const base = gd.__base, full = gd._fullData, fl = gd._fullLayout, drawnLayout = gd.layout || {};
  if (!full || !fl || frame.data.length !== base.data.length) return false;
  const layoutPatch = Object.assign({}, frame.layout);
  for (const key of UNDRAWN) {
    if (key in layoutPatch && !gd.__templated) delete layoutPatch[key];
  }
  let shapes = null;
  if ("shapes" in layoutPatch) {
    if (!same(layoutPatch.shapes, drawnLayout.shapes) && (shapes = shapeMoves(gd, layoutPatch.shapes || [])) === null) return false;
    delete layoutPatch.shapes;
  }
  if (!sameLayout(drawnLayout, layoutPatch)) return false;
  for (const [name, span] of Object.entries(frame.spans || {})) {
    const r = fl[name] && fl[name].range;
    if (!r || span[0] < Math.min(r[0], r[1]) || span[1] > Math.max(r[0], r[1])) return false;
  }
  const groups = new Map(), legends = new Map();
  for (const g of gd.querySelectorAll("g.trace.scatter, g.trace.bars")) {
    const cd = g.__data__;
    if (cd && cd[0] && cd[0].trace) groups.set(cd[0].trace.index, g);
  }
  for (const g of gd.querySelectorAll("g.legend g.traces")) {
    const d = g.__data__;
    if (d && d[0] && d[0].trace) legends.set(d[0].trace.index, g.querySelector("text.legendtext"));
  }
  const legendOf = (j) => legends.get(j) || null;
  const moves = [];
  for (let j = 0; j < frame.data.length; j++) {
    const patch = frame.data[j] || {};
    if (Object.keys(patch).length === 0) continue;
    const t = full[j], g = groups.get(j);
    if (t && t.visible === false && !("visible" in patch)) continue;   // not drawn: nothing to move
    if (t && g && t.type === "bar") {
      const yn = t.yaxis.replace("y", "yaxis"), ya = fl[yn], bars = ya && barMoves(gd, t, g, patch, base.data[j], ya);
      if (!bars || !("y" in patch || "base" in patch) || !held(scrub, frame, fl, yn)) return false;
      moves.push({ bars });
      continue;
    }
    const move = scatterMoves(gd, scrub, frame, j, patch, g, legendOf);
    if (move === null) return false;
    moves.push(move);
  }
  for (const m of moves) {
    if (m.bars) m.bars.forEach(([path, d]) => path.setAttribute("d", d));
    if (m.path && m.moving) {
      const parts = [];
      let pen = false;
      for (const p of m.spot) {
        if (p === null) { pen = false; continue; }
        // Far outside the plot (clipped away), a point is held where its segment's direction barely changes.
        parts.push((pen ? "L" : "M") + Math.max(-1e5, Math.min(1e5, p[0])).toFixed(2) + ","
                   + Math.max(-1e5, Math.min(1e5, p[1])).toFixed(2));
        pen = true;
      }
      m.path.setAttribute("d", parts.join(""));
    }
    if (m.lineStyle) for (const [k, v] of Object.entries(m.lineStyle)) m.path.style.setProperty(k, v);
    if (m.marked && m.moving) m.points.forEach((el, n) => el.setAttribute("transform", "translate("
        + m.spot[m.marked[n]][0].toFixed(2) + "," + m.spot[m.marked[n]][1].toFixed(2) + ")"));
    if (m.fills) m.points.forEach((el, n) => fill(el, m.fills[n]));
    if (m.paths) m.points.forEach((el, n) => { el.setAttribute("d", m.paths[n]); el.__sized.written = m.paths[n]; });
    if (m.legendFill) fill(...m.legendFill);
    if (m.words) for (const [text, w] of m.words) { text.textContent = w; text.setAttribute("data-unformatted", w); }
    if (m.legend && m.name !== undefined) m.legend.textContent = m.name;
  }
  if (shapes) drawShapes(gd, shapes);
  return true;
}

function drawFrame(gd, scrub, i) {
  const base = gd.__base;
  const frame = scrub.frames[i];
  if (!base || !frame || !gd.__plotly) return;
  if (drawLines(gd, scrub, frame)) {
    gd.__lines = [scrub, i];   // drawn outside Plotly: a redraw of Plotly's own draws it again (__afterplot)
    gd.setAttribute("data-frame", scrub.key + ":" + i);
    return;
  }
  const wasLines = gd.__lines !== null && gd.__lines !== undefined;
  gd.__lines = null;
  const n = Math.max(base.data.length, frame.data.length);
  const data = [];
  for (let j = 0; j < n; j++) {
    if (j >= frame.data.length) data.push(patched(base.data[j], { visible: false }));
    else if (j >= base.data.length) data.push(frame.data[j]);
    else data.push(patched(base.data[j], frame.data[j]));
  }
  const layout = patched(base.layout, frame.layout);
  widenAxes(gd, scrub, frame, layout);
  // No datarevision: react finds the changed traces by their new arrays and recomputes those alone; but
  // after lines drawn outside Plotly (drawLines) a trace whose arrays react drew last would be left as
  // drawLines drew it, so then every trace is drawn again.
  if (wasLines) layout.datarevision = (gd.__revision = (gd.__revision || 0) + 1);
  // The size the chart has now, fixed: with autosize, every redraw would measure the page again (a
  // forced layout of the whole app, most of a frame's redraw).
  if (gd._fullLayout) Object.assign(layout, { autosize: false, width: gd._fullLayout.width, height: gd._fullLayout.height });
  gd.__plotly.react(gd, fitted(gd, data), layout, gd.__config);
  gd.setAttribute("data-frame", scrub.key + ":" + i);
}

export default function ({ parentElement, data, setTriggerValue }) {
  const spec = JSON.parse(new TextDecoder().decode(data));
  if (spec.scrubs) spec.figure = decoded(spec.figure);
  let holder = parentElement.querySelector(":scope > [data-testid=TEST_ID]");
  if (holder === null) {
    holder = document.createElement("div");
    holder.setAttribute("data-testid", "TEST_ID");
    holder.style.width = "100%";
    holder.style.contain = "layout paint";  // a redraw lays out and paints this chart, not the page
    const plot = document.createElement("div");
    plot.className = "bptt-plot";
    holder.appendChild(plot);
    parentElement.appendChild(holder);
  }
  const gd = holder.querySelector(":scope > .bptt-plot");
  // Hold the chart's place until plotly.js has loaded (the first chart of a tab only).
  if (!gd._fullLayout) gd.style.minHeight = ((spec.figure.layout || {}).height || 450) + "px";
  // Updates that arrive while one is being drawn: only the latest is drawn next.
  gd.__latest = spec;
  gd.__drawing = (gd.__drawing || Promise.resolve()).then(async () => {
    if (gd.__latest !== spec) return;
    const Plotly = await plotly(spec.src);
    gd.__plotly = Plotly;
    const fig = spec.figure;
    gd.__base = { data: fig.data || [], layout: fig.layout || {} };
    gd.__templated = JSON.stringify(gd.__base).includes("%{meta");   // a chart that shows layout.meta
    gd.__looks = null;
    gd.__running = null;
    gd.__lines = null;
    gd.__config = spec.config;
    await Plotly.react(gd, { data: fitted(gd, fig.data || []), layout: fig.layout || {}, frames: fig.frames,
                             config: spec.config });
    gd.removeAttribute("data-frame");
    lookAtShapes(gd);
    if (spec.chart) {
      (window.__bpttAttach = window.__bpttAttach || {})[spec.chart] = () => scrubRow(holder, gd, spec, setTriggerValue);
    }
    scrubRow(holder, gd, spec, setTriggerValue);
    gd.style.minHeight = "";
    holder.querySelector(":scope > p")?.remove();
    if (!gd.__afterplot) {
      // Plotly redraws from its own data (a legend click, a resize): a frame drawn in place is drawn again,
      // or, where it no longer can be (a trace it moves was hidden), Plotly's drawing stands.
      // Shapes drawn in place that a Plotly.react left standing (it found the shapes it drew last
      // unchanged) are drawn again as Plotly believes it drew them.
      gd.__afterplot = () => {
        lookAtShapes(gd);
        if (gd.__lines && !drawLines(gd, gd.__lines[0], gd.__lines[0].frames[gd.__lines[1]])) gd.__lines = null;
        if (!gd.__lines && [...gd.querySelectorAll(SHAPES)].some((g) => g.__inPlace)) {
          const plan = shapeMoves(gd, (gd.layout && gd.layout.shapes) || []);
          if (plan) drawShapes(gd, plan);
          else gd.__plotly.relayout(gd, { shapes: ((gd.layout && gd.layout.shapes) || []).map((s) => Object.assign({}, s)) });
        }
      };
      gd.on("plotly_afterplot", gd.__afterplot);
    }
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
            const refit = (gd.clientWidth < DETAIL_MIN_PX) !== gd.__narrow && gd.data.some((t) => t.meta === "DETAIL_META");
            (refit ? Plotly.react(gd, fitted(gd, gd.data), gd.layout, gd.__config) : Promise.resolve())
              .then(() => Plotly.Plots.resize(gd)).then(() => gd.__afterplot()).catch(() => {});
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
""".replace("TEST_ID", TEST_ID).replace("DETAIL_MIN_PX", str(DETAIL_MIN_PX)).replace("DETAIL_META", DETAIL)

_mount = st.components.v2.component(COMPONENT, js=_JS, isolate_styles=False)

# A chart's frames, in an element of their own: their bytes repeat from rerun to rerun while the rest of
# the page's settings do, and Streamlit then sends an element of 10 kB or more as a reference to the copy
# the browser already has (its ForwardMsg cache), where inside the chart's element they would travel again
# with every new figure. Nothing is drawn: the frames are decoded once and handed to the chart.
_FRAMES_JS = _DECODE_JS + r"""
export default function ({ data }) {
  const spec = JSON.parse(new TextDecoder().decode(data));
  for (const scrub of spec.scrubs) scrub.frames = decoded(scrub.frames);
  (window.__bpttFrames = window.__bpttFrames || {})[spec.chart] = spec;
  const attach = (window.__bpttAttach || {})[spec.chart];
  if (attach) attach();
}
"""
_frames_mount = st.components.v2.component(FRAMES_COMPONENT, js=_FRAMES_JS, isolate_styles=False)


def plotly_js_url() -> str:
    """Where the browser finds plotly.js on this server (under ``server.baseUrlPath`` when one is set)."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return "/" + "/".join(part for part in (base, "component", _plotly_folder.name, PLOTLY_JS) if part)


@dataclass(frozen=True)
class Scrub:
    """A parameter dragged on the chart itself: the control it sets (``key``), the symbol shown beside the
    slider, the values it can take (the frames' values, in order) with their labels, the index of the
    current value, and (once built, ``ui.drag.drag_frames``) one frame per value (``charts.frames``)."""

    key: str
    symbol: str
    values: tuple
    labels: tuple
    index: int
    version: str   # names the frames: the chart uses frames of its own version only
    frames: list | None = None
    axes: dict | None = None  # the axes the frames move: {name: {"log10": bool[, "still": True]}} (charts.frames.moving_axes)

    def spec(self) -> dict:
        """What the chart's element carries: the current value's index (the frames travel apart)."""
        return dict(key=self.key, label=self.symbol, index=self.index, version=self.version,
                    aria=f"Drag {self.symbol} on the chart")

    def frames_spec(self) -> dict:
        """What the frames' element carries: the same for every value of the control."""
        return dict(key=self.key, version=self.version, values=list(self.values), labels=list(self.labels),
                    frames=self.frames, axes=self.axes)


def _scrubbed(key: str, scrubs: tuple[Scrub, ...], on_value: Callable[[str, object], None]):
    """The callback of a let-go (or a key press) on the chart's slider: the value, if it is one the slider
    offered, becomes its control's value before the rerun. Anything else (a page that sent something
    of its own) changes nothing."""
    offered = {s.key: set(s.values) for s in scrubs}

    def callback() -> None:
        event = (st.session_state.get(key) or {}).get("scrubbed")
        if isinstance(event, dict) and event.get("value") in offered.get(event.get("key"), ()):
            on_value(event["key"], event["value"])
    return callback


def live_chart(fig: go.Figure, *, key: str, config: dict, scrubs: tuple[Scrub, ...] = (), font: int = 14,
               on_value: Callable[[str, object], None] | None = None) -> None:
    """Draw ``fig`` full width with Plotly's ``config``; a rerun with the same ``key`` updates it in place.

    ``scrubs``: sliders on the chart, redrawing it from their frames in the browser, each drawn once its
    frames arrive (``live_frames``, which may come later in the run); a let-go calls ``on_value(control
    key, value)`` before the rerun it starts."""
    figure = pio.to_json(fig, validate=False)
    extra = ""
    if scrubs:
        extra = (f',"scrubs":{json.dumps([s.spec() for s in scrubs])},"chart":{json.dumps(key)},'
                 f'"font":{int(font)},"accent":{json.dumps(ACCENT)}')
    payload = f'{{"figure":{figure},"config":{json.dumps(config)},"src":{json.dumps(plotly_js_url())}{extra}}}'
    callbacks = dict(on_scrubbed_change=_scrubbed(key, scrubs, on_value)) if scrubs and on_value else {}
    _mount(data=payload.encode(), key=key, width="stretch", **callbacks)


def live_frames(key: str, scrubs: tuple[Scrub, ...]) -> None:
    """The frames of the sliders of the chart ``key`` (``scrubs`` with their frames), in an element of their
    own; the chart's sliders appear when they arrive."""
    _frames_mount(data=_frames_payload(key, tuple(s.version for s in scrubs), scrubs), key=f"{key}_frames",
                  width="stretch")


@st.cache_resource(max_entries=48, show_spinner=False)
def _frames_payload(chart: str, versions: tuple, _scrubs: tuple[Scrub, ...]) -> bytes:
    """The frames' element's data, written once per version (a version names its frames), not on every run."""
    return to_json_plotly(dict(chart=chart, scrubs=[s.frames_spec() for s in _scrubs])).encode()
