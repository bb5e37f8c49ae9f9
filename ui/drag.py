"""Drag a chart's key parameter and see it redrawn while the hand moves (no server round trip).

A view describes the drag (``Drag``): which control it sets, the chart's own function at any value of
it, and the values to offer. ``drag_frames`` builds the chart at every value once per setting of the
rest of the page (``st.cache_data``), styled like the chart on screen, and reduces each to a frame
(``charts.frames``); ``ui.live_chart`` draws the frame under the pointer (its lines and markers in place
where nothing else moves, else with ``Plotly.react``). When the
hand lets go, the value becomes the control's value (``set_values``): the sidebar's slider, the address,
the share link and the rest of the page follow in one rerun, which finds its frames in the cache.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from charts.frames import frames_and_axes
from charts.style import sketching
from ui.controls import CONTROLS, set_values, value
from ui.live_chart import Scrub

MIN_FRAMES = 41  # a drag shows at least this many pictures across the slider's range
DRAG_NOTE = " Drag the slider on the chart to redraw it as the value moves; the text below follows when you let go."


@dataclass(frozen=True)
class Drag:
    """A control dragged on a chart: ``build(v)`` is the chart at value ``v`` of control ``key`` (a pure
    chart function over cached core data); ``ident`` names what else the chart depends on (the cache key,
    with the name of ``build``'s function);
    ``values`` the values offered, in order (``control_values``)."""

    key: str
    symbol: str
    ident: tuple
    build: Callable[[object], go.Figure]
    values: tuple


def lazily(compute: Callable[[], object]) -> Callable[[], object]:
    """``compute()`` on the first call, kept for the next: a drag's grid, computed when its frames are built
    (after the chart at rest, its caption and downloads are on the page: ``ui.figures.show_chart``), and
    not at all on a rerun whose frames are cached."""
    return functools.cache(compute)


def control_values(key: str, max_frames: int | None = None) -> tuple:
    """Every value the control's widget can take, in order (lo to hi by its step); at most ``max_frames``
    of them, evenly spaced, when a frame costs too much to make them all (the current value stays one)."""
    c = CONTROLS[key]
    n = int(round((c.hi - c.lo) / c.step)) + 1
    every = 1 if max_frames is None or n <= max_frames else -(-(n - 1) // (max_frames - 1))
    picked = sorted(set(range(0, n, every)) | {n - 1})
    digits = max(0, -int(np.floor(np.log10(c.step)))) if c.kind == "float" else 0
    values = [c.lo + i * c.step for i in picked]
    values = [int(round(v)) for v in values] if c.kind == "int" else [round(float(v), digits + 2) for v in values]
    current = value(key)
    if current not in values:
        values = sorted(values + [current])
    return tuple(values)


def label(key: str, v) -> str:
    fmt = CONTROLS[key].fmt
    return fmt % v if fmt else str(v)


# A resource, not data: every session reads the same frames without the copy (an unpickling) that
# st.cache_data makes on each read, which was a fifth of a rerun's time under a lecture hall's load.
# Nothing writes to them after they are built.
@st.cache_resource(max_entries=24, show_spinner="Drawing every frame of the drag…")
def _frames(key: str, ident: tuple, values: tuple, look: tuple, _build, _style) -> tuple[list, dict]:
    """The frames of ``_build`` at ``values`` styled by ``_style`` (``look`` names the style), and the axes
    they move."""
    frames: list = []
    styled: dict[int, tuple] = {}  # a chart that several values share (τ ≥ T) is styled once
    with sketching():  # plain dicts: the frames need the charts' data, not Plotly objects
        for fig in map(_build, values):
            if id(fig) not in styled:
                styled[id(fig)] = (fig, _style(fig))  # the figure kept with it: its id is not reused meanwhile
            frames.append(styled[id(fig)][1])
    return frames_and_axes(frames)


def frames_name(drag: Drag) -> tuple:
    """What names a drag's frames in the cache every session and view shares: the chart function that
    builds them with ``ident``, so two drags whose idents happen to be equal (the same model, say) never
    share frames."""
    return (f"{drag.build.__module__}.{drag.build.__qualname__}",) + tuple(drag.ident)


def frames_of(drag: Drag, style, look: tuple) -> tuple[list, dict]:
    """(the frames of ``drag`` styled by ``style``, the axes they move), built once per name and look."""
    return _frames(drag.key, frames_name(drag), drag.values, look, drag.build, style)


def drag_scrub(drag: Drag, look: tuple) -> Scrub:
    """The slider on the chart, without its frames (what the chart's element carries)."""
    current = value(drag.key)
    index = drag.values.index(current) if current in drag.values else 0
    version = hashlib.sha1(repr((drag.key, frames_name(drag), drag.values, look)).encode()).hexdigest()[:12]
    return Scrub(drag.key, drag.symbol, drag.values, tuple(label(drag.key, v) for v in drag.values), index, version)


def drag_frames(drag: Drag, style, look: tuple) -> Scrub:
    """The slider with its frames and the axes they move."""
    frames, moving = frames_of(drag, style, look)
    return replace(drag_scrub(drag, look), frames=frames, axes=moving)


def set_dragged(key: str, v) -> None:
    """A let-go on the chart: the value becomes the control's, as a scenario sets one."""
    set_values({key: v})
