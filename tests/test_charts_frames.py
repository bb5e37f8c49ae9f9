"""The frames of a drag (charts/frames.py): what changes from value to value, on axes that hold them all."""

from __future__ import annotations

import base64

import numpy as np

from charts.frames import apply_held, frames_and_axes, held_axes
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


def test_the_axes_hold_every_frame_and_leave_alone_what_never_moves():
    figs = [curve(k) for k in (-5.0, 3.0, 40.0)]
    _, held = frames_and_axes(figs)
    assert "xaxis" not in held  # t = 1 … T in every frame
    lo, hi = held["yaxis"]["range"]
    assert lo <= -5.0 and hi >= 40.0 + 29 * np.log10(1.1) and held["yaxis"]["autorange"] is False
    assert held["yaxis"]["dtick"] in (10, 20)  # whole decades, at most five labels
    fig = apply_held(figs[0], held)
    assert list(fig.layout.yaxis.range) == [lo, hi]


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


def test_held_axes_of_nothing_is_nothing():
    assert held_axes([], {}) == {}


def test_holding_the_axes_leaves_the_data_the_downloads_read():
    from charts.export import figure_table
    figs = [curve(k) for k in (-5.0, 3.0, 40.0)]
    _, held = frames_and_axes(figs)
    before = figure_table(curve(3.0))
    after = figure_table(apply_held(curve(3.0), held))
    assert before.equals(after) and len(after) == 2 * 30
