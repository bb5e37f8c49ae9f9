"""Drag and see (the section's "Analysis of Gradients in RNNs", one parameter at a time): the frames a chart
is redrawn from in the browser while its key parameter is dragged.

A frame is the chart built by its own function at one value of the parameter, reduced to what
changes from value to value: each trace's data (x, y, text, name, …, and a width or colour where the
chart draws a size that way) and the title, notes and shapes, whose sentences are computed from the
frame's data like the chart's own; and its extent on the axes that move, so that the browser can widen
them as the hand moves (never narrow them: nothing jumps back and forth).
"""

from __future__ import annotations

import base64
import math
from typing import Sequence

import numpy as np
import orjson
import plotly.graph_objects as go


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
    except (TypeError, ValueError):  # categories (a bar chart's names): no extent
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


def moving_axes(specs: Sequence[dict], base: dict) -> tuple[dict, list[dict]]:
    """The axes whose data moves from frame to frame, and each frame's extent on them.

    Returns ({axis name: {"log10": whether it is an axis of log10 values with whole-number ticks}},
    [{axis name: [lo, hi]} per frame of ``specs``], in the axis's own units: log10 on a log axis). An
    axis that shows the same extent in every frame has no spans (the chart draws it the same way
    anyway) and is marked {"still": True}: the browser may move points along it without Plotly
    (ui/live_chart.py, drawLines), as its autorange would not change.
    """
    each: list[dict[str, list[float]]] = []
    for spec in specs:
        one: dict[str, list[float]] = {}
        _spans(spec, one)
        each.append(one)
    names = dict.fromkeys(name for one in each for name in one)
    moving = {}
    for name in names:
        axis = base.get(name) or {}
        spans = [one.get(name) for one in each]
        if axis.get("visible") is False or any(s is None or not all(map(math.isfinite, s)) for s in spans):
            continue
        log10 = axis.get("tickmode") == "linear" and axis.get("tick0") == 0 and axis.get("type") != "log"
        moving[name] = dict(log10=log10, still=True) if all(s == spans[0] for s in spans) else dict(log10=log10)
    return moving, [{name: one[name] for name in moving if not moving[name].get("still")} for one in each]


def _plain(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    if hasattr(o, "to_plotly_json"):
        return o.to_plotly_json()
    raise TypeError(f"cannot compare a {type(o).__name__} in a figure")


def _written(x) -> bytes:
    """``x`` as JSON bytes, to tell whether two frames' values differ: orjson directly (Plotly's own
    ``to_json_plotly`` looks its encoders up again on every call, most of a drag's frame building)."""
    return orjson.dumps(x, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS, default=_plain)


def _varying(items: Sequence[dict], skip=()) -> list[str]:
    """The keys whose values differ between the dicts ``items`` (a trace or a layout in every frame)."""
    keys = dict.fromkeys(k for item in items for k in item if k not in skip)
    first = {k: _written(items[0].get(k)) for k in keys}
    return [k for k in keys if any(_written(item.get(k)) != first[k] for item in items[1:])]


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
    """(one frame per figure, the axes that move: ``moving_axes``): ``figures`` are the chart at each value
    of the dragged parameter, styled as the chart on screen.

    A frame holds, for every trace, the properties that differ between the figures (the data, and
    where a chart draws a size as a width or a colour, those too) and the layout's (a title, notes,
    shapes); a trace past the fewest any figure has is whole. What no figure changes travels once,
    with the chart. Each frame also carries its extent on the moving axes (``spans``): while the hand
    moves, the browser widens an axis to take in every frame drawn so far and never narrows it, so the
    chart at rest keeps the range that shows it best and a drag never makes it jump back and forth.
    """
    specs = [f.to_plotly_json() for f in figures]
    if not specs:
        return [], {}
    count = min(len(s.get("data", ())) for s in specs)
    frames: list[dict] = [dict(data=[{} for _ in range(count)] + list(s.get("data", ())[count:]), layout={})
                          for s in specs]
    for i in range(count):
        traces = [s["data"][i] for s in specs]
        dumps = [_written(t) for t in traces]
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
    moving, spans = moving_axes(specs, layouts[0])
    for frame, extent in zip(frames, spans):
        frame["spans"] = extent
    return frames, moving
