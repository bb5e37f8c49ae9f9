"""The frames of a drag (charts/frames.py): what changes from value to value, on axes that hold them all."""

from __future__ import annotations

import base64

import numpy as np

from charts.frames import frames_and_axes, moving_axes
from charts.style import for_projection
from charts.unrolled import gradient_norms_over_time


def curve(top: float, T: int = 30, past: bool = False):
    return gradient_norms_over_time(np.linspace(0.0, top, T), rho=1.1, past_float64=past)


def test_a_frame_carries_what_its_own_chart_changes():
    figs = [curve(k) for k in (-5.0, 3.0, 40.0)] + [curve(400.0, past=True)]
    frames, _ = frames_and_axes(figs)
    assert len(frames) == 4
    for fig, frame in zip(figs, frames):
        assert [a["text"] for a in frame["layout"]["annotations"] or []] == [a.text for a in fig.layout.annotations]
        for trace, patch in zip(fig.data, frame["data"]):
            got = patch["y"]
            decoded = np.frombuffer(base64.b64decode(got["bdata"]), dtype=got["dtype"]) \
                if isinstance(got, dict) else np.asarray(got, dtype=float)
            assert decoded.dtype == np.float32  # positions as a screen needs them
            assert np.array_equal(decoded, np.asarray(trace.y, dtype=float).astype(np.float32))
            assert "hovertemplate" not in patch  # nobody hovers a chart while dragging its slider
        assert "x" not in frame["data"][0] and "line" not in frame["data"][0]  # the same in every frame
    assert "float64" in frames[-1]["layout"]["annotations"][-1]["text"] and not frames[0]["layout"]["annotations"]
    assert "title" not in frames[0]["layout"]  # one title for every frame


def test_a_diagram_frame_carries_its_widths_and_colours():
    """Where a chart draws a size as a line's width and colour (the unrolled graph), those travel too."""
    from bptt_core import lab_problem, unrolled_gradients
    from charts.unrolled import unrolled_graph
    figs = [unrolled_graph(unrolled_gradients(*lab_problem(3, 4, "tanh", rho, "symmetric", 0.5, 1.0, 0)))
            for rho in (0.5, 2.5)]
    frames, _ = frames_and_axes(figs)
    changed = {key for patch in frames[0]["data"] for key in patch}
    assert {"text", "line"} <= changed or {"text", "marker"} <= changed, changed


def test_frames_carry_their_extent_on_the_axes_that_move():
    """The browser widens a moving axis to every frame drawn during a drag; it needs each frame's extent."""
    figs = [curve(k) for k in (-5.0, 3.0, 40.0)]
    frames, moving = frames_and_axes(figs)
    assert moving["yaxis"] == {"log10": True}
    assert moving["xaxis"]["still"]    # t = 1 … T in every frame: x does not move
    assert all("xaxis" not in frame["spans"] for frame in frames)
    for frame, top in zip(frames, (-5.0, 3.0, 40.0)):
        lo, hi = frame["spans"]["yaxis"]
        y = np.concatenate([np.asarray(t.y, dtype=float) for t in curve(top).data])
        assert lo <= y.min() + 1e-9 and hi >= y.max() - 1e-9


def test_a_trace_no_frame_changes_travels_once():
    figs = [curve(k) for k in (1.0, 2.0)]
    for fig in figs:
        fig.add_scatter(x=[1, 2], y=[0, 1], name="fixed")
    frames, _ = frames_and_axes(figs)
    assert all(frame["data"][2] == {} for frame in frames)
    assert all(frame["data"][0] for frame in frames)


def test_projected_frames_keep_their_projection():
    frames, _ = frames_and_axes([for_projection(curve(k)) for k in (1.0, 2.0)])
    assert all("line" not in patch for frame in frames for patch in frame["data"])  # styles stay the chart's
    assert not any(key.startswith(("xaxis", "yaxis")) for frame in frames for key in frame["layout"])


def test_nothing_moves_without_frames():
    assert moving_axes([], {}) == ({}, [])
