"""A helper (no subsection of its own): a figure's data as a table, and the figure as a page that needs no
network.

``figure_table`` reads the numbers back out of any figure of the lab (lines, markers,
text, bars, heatmaps, and the frames of an animation) into one long table; the CSV
download is that table. ``figure_html`` writes a standalone HTML file with Plotly's
JavaScript embedded, so it opens in a browser with the network off.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go

# The toolbar of an exported page: no Plotly logo, PNG download at twice the size on screen.
HTML_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}


def _values(seq) -> list:
    """A trace field as a flat list (None for gaps), whatever Plotly stored (tuple, numpy array)."""
    if seq is None:
        return []
    arr = np.asarray(seq, dtype=object).ravel() if not isinstance(seq, np.ndarray) else seq.ravel()
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) else
            (v.item() if isinstance(v, np.generic) else v) for v in arr]


def _axis_title(fig: go.Figure, ref: str | None, letter: str) -> str:
    """The title of the axis a trace uses ("x", "x2", …), '' when it has none."""
    ref = ref or letter
    axis = fig.layout[f"{letter}axis{ref[1:]}"]
    text = axis.title.text if axis is not None and axis.title is not None else None
    return plain_text(text)


def plain_text(text: str | None) -> str:
    """A figure's text without its markup, for a file: a line break (a long title wrapped) is a space,
    <sub>/<sup> are written as _ and ^ ("∂h<sub>T−k</sub>" → "∂h_{T−k}"), other tags go."""
    text = re.sub(r"<br\s*/?>", " ", text or "")
    for tag, mark in (("sub", "_"), ("sup", "^")):
        text = re.sub(rf"<{tag}>(.*?)</{tag}>", lambda m: mark + (m[1] if len(m[1]) == 1 else "{" + m[1] + "}"), text)
    return re.sub(r"<[^>]+>", "", text).strip()


def _trace_rows(trace) -> dict[str, list]:
    """Columns x, y[, z][, text] of one trace, one entry per point (or per heatmap cell)."""
    if trace.type == "heatmap":
        z = np.asarray(trace.z, dtype=float)
        rows, cols = z.shape
        x = _values(trace.x) or list(range(cols))
        y = _values(trace.y) or list(range(rows))
        return {"x": [x[j] for i in range(rows) for j in range(cols)],
                "y": [y[i] for i in range(rows) for j in range(cols)],
                "z": [None if not np.isfinite(v) else float(v) for v in z.ravel()]}
    x, y = _values(getattr(trace, "x", None)), _values(getattr(trace, "y", None))
    n = max(len(x), len(y))
    x = x or list(range(n))
    y = y or [None] * n
    cols = {"x": x, "y": y}
    text = getattr(trace, "text", None)
    if text is not None and not isinstance(text, str) and "text" in (getattr(trace, "mode", "") or ""):
        cols["text"] = _values(text)
    return cols


def figure_table(fig: go.Figure) -> pd.DataFrame:
    """The data behind ``fig``, long format: one row per point.

    Columns: ``trace`` (the trace's name), x, y, and z for heatmaps (one row per cell),
    ``text`` for text traces, ``frame`` for an animation (one block of rows per frame;
    traces that no frame changes appear once, with an empty frame). x and y are named
    after the axis titles when every trace shares one titled axis, else "x" and "y".
    Gaps (None, NaN) are NaN; numbers stay numbers, categories stay strings.
    """
    traces = list(fig.data)
    animated = sorted({i for f in fig.frames or () for i in (f.traces or range(len(f.data)))})
    blocks: list[tuple[str | None, int, object]] = [
        (None, i, t) for i, t in enumerate(traces) if i not in animated]
    for frame in fig.frames or ():
        indices = list(frame.traces) if frame.traces else list(range(len(frame.data)))
        blocks += [(frame.name or "", i, t) for i, t in zip(indices, frame.data)]
    parts = []
    for frame_name, index, trace in blocks:
        base = traces[index]
        cols = _trace_rows(trace)
        n = len(cols["x"])
        part = pd.DataFrame({"trace": [base.name or f"trace {index}"] * n, **cols})
        if fig.frames:
            part.insert(0, "frame", [frame_name or ""] * n)
        parts.append(part)
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["trace", "x", "y"])
    for column in table.columns.drop(["trace", "frame", "text"], errors="ignore"):
        try:
            table[column] = pd.to_numeric(table[column])
        except (TypeError, ValueError):  # categories (bar labels) stay strings
            pass
    names = {}
    for letter in ("x", "y"):
        titles = {_axis_title(fig, getattr(t, f"{letter}axis", None), letter) for t in traces}
        if len(titles) == 1 and (title := titles.pop()) and title not in table.columns:
            names[letter] = title
    heatmaps = [t for t in traces if t.type == "heatmap" and t.colorbar and t.colorbar.title.text]
    if len(heatmaps) == 1 and "z" in table.columns:
        names["z"] = plain_text(heatmaps[0].colorbar.title.text)
    return table.rename(columns=names)


def figure_csv(fig: go.Figure) -> bytes:
    """``figure_table(fig)`` as UTF-8 CSV (with a byte-order mark, so spreadsheets read the symbols)."""
    return figure_table(fig).to_csv(index=False).encode("utf-8-sig")


def figure_html(fig: go.Figure) -> str:
    """``fig`` as a standalone HTML page with Plotly's JavaScript embedded (no network needed).

    An animation does not start by itself; its play button and slider work offline.
    """
    title = plain_text(fig.layout.title.text or "Figure") if fig.layout.title else "Figure"
    page = fig.to_html(include_plotlyjs=True, full_html=True, auto_play=False, config=HTML_CONFIG)
    escaped = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return page.replace("</head>", f"<title>{escaped}</title></head>", 1)


def file_stem(key: str) -> str:
    """A file name (without extension) for a chart's widget key: 'bptt-lab-eigenvalues_plane'."""
    return "bptt-lab-" + re.sub(r"[^A-Za-z0-9_-]+", "-", key).strip("-")
