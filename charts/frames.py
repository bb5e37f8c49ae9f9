"""Drag and see (the section's "Analysis of Gradients in RNNs", one parameter at a time): the frames a chart
is redrawn from in the browser while its key parameter is dragged.

A frame is the chart built by its own function at one value of the parameter, reduced to what
changes from value to value: each trace's data (x, y, text, name, …, and a width or colour where the
chart draws a size that way) and the title, notes and shapes, whose sentences are computed from the
frame's data like the chart's own. The axes hold the range of every frame, so nothing jumps while
the hand moves.
"""

from __future__ import annotations

import base64
import math
from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.io.json import to_json_plotly

from .style import log10_axis, merge_layout

PAD = 0.04  # of the span, around every frame's data


def _axis_name(ref: str, letter: str) -> str:
    """'y2' → 'yaxis2', 'y' → 'yaxis'."""
    return f"{letter}axis{ref[1:]}"


def _numbers(values) -> np.ndarray:
    """The finite numbers of a trace's data array: a list, a NumPy array, or plotly's typed-array dict
    ({dtype, bdata: base64, shape}) that ``to_plotly_json`` makes of a NumPy array."""
    if values is None:
        return np.empty(0)
    if isinstance(values, dict) and "bdata" in values:
        values = np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"]))
    try:
        v = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):  # categories (a bar chart's names): no range to hold
        return np.empty(0)
    return v[np.isfinite(v)]


def _spans(spec: dict, spans: dict[str, list[float]]) -> None:
    """Widen ``spans`` (axis name → [lo, hi], in the axis's own units: log10 on a log axis) by one figure's
    data and explicit ranges."""
    lay = spec.get("layout", {})
    for trace in spec.get("data", ()):
        if trace.get("visible") is False or trace.get("type", "scatter") not in ("scatter", "scattergl", "bar"):
            continue
        for letter in "xy":
            name = _axis_name(trace.get(f"{letter}axis", letter), letter)
            v = _numbers(trace.get(letter))
            if (lay.get(name) or {}).get("type") == "log":
                v = np.log10(v[v > 0])
            if v.size:
                lo, hi = spans.setdefault(name, [math.inf, -math.inf])
                spans[name] = [min(lo, float(v.min())), max(hi, float(v.max()))]
    for name, axis in lay.items():
        if name.startswith(("xaxis", "yaxis")) and isinstance(axis, dict) and axis.get("range") is not None:
            lo, hi = spans.setdefault(name, [math.inf, -math.inf])
            r = [float(a) for a in axis["range"]]
            spans[name] = [min(lo, *r), max(hi, *r)]


def held_axes(specs: Sequence[dict], base: dict) -> dict:
    """Layout updates {axis name: {range, autorange: False, …}} that hold every frame of ``specs``
    (figure dicts) on the axes of ``base``'s layout; an axis of log10 values (``log10_axis``: ticks at
    whole numbers) gets ticks that fit the whole range."""
    spans: dict[str, list[float]] = {}
    each: list[dict[str, list[float]]] = []
    for spec in specs:
        one: dict[str, list[float]] = {}
        _spans(spec, one)
        each.append(one)
        for name, (lo, hi) in one.items():
            old = spans.setdefault(name, [lo, hi])
            spans[name] = [min(old[0], lo), max(old[1], hi)]
    out = {}
    for name, (lo, hi) in spans.items():
        axis = base.get(name) or {}
        if not (math.isfinite(lo) and math.isfinite(hi)) or axis.get("visible") is False:
            continue
        if all(one.get(name) == [lo, hi] for one in each):
            continue  # the same in every frame: the axis as the chart draws it holds them all
        if axis.get("tickmode") == "linear" and axis.get("tick0") == 0 and axis.get("type") != "log":
            held = log10_axis(np.array([lo, hi]))
            held.setdefault("range", [lo, hi])
            span = held["range"][1] - held["range"][0]
            held["range"] = [held["range"][0] - PAD * span, held["range"][1] + PAD * span]
        else:
            span = (hi - lo) or max(abs(hi), 1.0)
            held = dict(range=[lo - PAD * span, hi + PAD * span])
        out[name] = dict(held, autorange=False)
    return out


def _varying(items: Sequence[dict], skip=()) -> list[str]:
    """The keys whose values differ between the dicts ``items`` (a trace or a layout in every frame)."""
    keys = dict.fromkeys(k for item in items for k in item if k not in skip)
    first = {k: to_json_plotly(items[0].get(k)) for k in keys}
    return [k for k in keys if any(to_json_plotly(item.get(k)) != first[k] for item in items[1:])]


# A frame is drawn while the pointer is on the slider, so no one hovers it: what only the hover shows stays
# the chart's own (the rerun after the drag brings the new value's), and positions travel as float32 (a
# screen shows no more digits; half of float64's bytes).
HOVER_ONLY = ("hovertext", "hovertemplate", "customdata", "hoverinfo")
SCREEN_ARRAYS = ("x", "y", "z", "base")


def _for_the_screen(patch: dict) -> dict:
    out = {k: v for k, v in patch.items() if k not in HOVER_ONLY}
    for key in SCREEN_ARRAYS:
        v = out.get(key)
        if isinstance(v, (list, tuple)) and v and all(isinstance(x, (int, float)) for x in v):
            v = np.asarray(v, dtype=float)
        elif isinstance(v, dict) and v.get("dtype") == "f8" and "bdata" in v:  # a built figure's array
            flat = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.float64)
            v = flat.reshape([int(n) for n in str(v["shape"]).split(",")]) if "shape" in v else flat
        if isinstance(v, np.ndarray) and v.dtype.kind == "f":
            out[key] = _typed_array(v.astype(np.float32))
    return out


def _typed_array(v: np.ndarray) -> dict:
    """``v`` as plotly's typed-array spec (what plotly.py makes of an array inside a figure; ui.live_chart
    decodes it once): base64 bytes, a quarter of the array's decimal text."""
    spec = dict(dtype="f4", bdata=base64.b64encode(np.ascontiguousarray(v).tobytes()).decode("ascii"))
    if v.ndim == 2:
        spec["shape"] = f"{v.shape[0]},{v.shape[1]}"
    return spec


def frames_and_axes(figures: Sequence[go.Figure]) -> tuple[list[dict], dict]:
    """(one frame per figure, the axis updates that hold them all): ``figures`` are the chart at each
    value of the dragged parameter, styled as the chart on screen.

    A frame holds, for every trace, the properties that differ between the figures (the data, and
    where a chart draws a size as a width or a colour, those too) and the layout's (a title, notes,
    shapes); a trace past the fewest any figure has is whole. What no figure changes travels once,
    with the chart; the axes are ``held_axes``'.
    """
    specs = [f.to_plotly_json() for f in figures]
    if not specs:
        return [], {}
    count = min(len(s.get("data", ())) for s in specs)
    frames: list[dict] = [dict(data=[{} for _ in range(count)] + list(s.get("data", ())[count:]), layout={})
                          for s in specs]
    for i in range(count):
        traces = [s["data"][i] for s in specs]
        dumps = [to_json_plotly(t) for t in traces]
        if any(d != dumps[0] for d in dumps[1:]):
            for key in _varying(traces):
                for frame, trace in zip(frames, traces):
                    frame["data"][i][key] = trace.get(key)
    for frame in frames:
        frame["data"] = [_for_the_screen(patch) for patch in frame["data"]]
    layouts = [s.get("layout", {}) for s in specs]
    for key in _varying(layouts, skip=[k for lay in layouts for k in lay if k.startswith(("xaxis", "yaxis"))]):
        for frame, lay in zip(frames, layouts):
            frame["layout"][key] = lay.get(key)
    return frames, held_axes(specs, layouts[0])


def apply_held(fig: go.Figure, held: dict) -> go.Figure:
    """``fig`` with ``held``'s axis updates laid over its axes (its data untouched: the downloads read it)."""
    return merge_layout(fig, **held) if held else fig
