"""The drags of every view (ui/drags.py, ui/drag.py), outside a browser: the values a slider on a chart offers,
the frames it carries, and that a frame sketched (plain dicts) sends what the chart built sends."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from plotly.io.json import to_json_plotly

from charts.style import for_projection, in_high_contrast, sketching
from ui import compute, drags
from ui.controls import CONTROLS, SHARED, Model
from ui.drag import MIN_FRAMES, control_values


def _decoded(x):
    """A figure's JSON with plotly's typed arrays (base64) as plain lists and whole floats as ints."""
    if isinstance(x, dict):
        if "bdata" in x and "dtype" in x:
            a = np.frombuffer(base64.b64decode(x["bdata"]), dtype=np.dtype(x["dtype"]))
            if "shape" in x:
                a = a.reshape([int(n) for n in str(x["shape"]).split(",")])
            return _decoded(a.tolist())
        return {k: _decoded(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_decoded(v) for v in x]
    if isinstance(x, float) and x.is_integer() and abs(x) < 2 ** 53:
        return int(x)
    return x


def sent(fig) -> dict:
    return _decoded(json.loads(to_json_plotly(fig.to_plotly_json())))


def model(**over) -> Model:
    return Model(**{k: over.get(k, CONTROLS[k].default) for k in SHARED})


def every_drag(m: Model):
    cmp = compute.strategy_comparison(m, 4, 0.5)
    yield from drags.graph_drag(m)
    yield from drags.over_time_drag(m)[0]
    yield from drags.matrix_drag(m, drags.plane_chart)[0]
    yield from drags.matrix_drag(m, drags.singular_chart)[0]
    yield from drags.powers_drag(m, 60)[0]
    yield from drags.lags_drag(m, ("identity", "tanh", "sigmoid"))[0]
    yield from drags.per_step_drags(m, 4, 0.5, cmp)[0]
    yield from drags.c_drag(m.T, 0.2, m.seed)


@pytest.mark.parametrize("m", [model(activation="tanh", kind="nonnormal", T=30), model(rho=1.3, kind="gaussian", T=20)],
                         ids=["tanh-nonnormal", "identity-gaussian"])
def test_a_sketched_frame_sends_what_the_built_chart_sends(m):
    """Frames are built as plain dicts (charts.style.sketching); the browser must get the same chart."""
    seen = set()
    for drag in every_drag(m):
        seen.add(drag.build.__qualname__)
        for style in (lambda f: f, for_projection, in_high_contrast):
            for v in (drag.values[0], drag.values[len(drag.values) // 2], drag.values[-1]):
                built = sent(style(drag.build(v)))
                with sketching():
                    sketched = sent(style(drag.build(v)))
                assert sketched == built, f"{drag.key} = {v} ({drag.build.__qualname__})"
    assert len(seen) >= 5


def test_a_slider_offers_every_value_of_its_widget_or_an_even_share_of_them():
    rho = CONTROLS["rho"]
    values = control_values("rho")
    assert values[0] == rho.lo and values[-1] == rho.hi and len(values) == round((rho.hi - rho.lo) / rho.step) + 1
    assert all(round(b - a, 9) == rho.step for a, b in zip(values, values[1:]))
    fewer = control_values("rho", max_frames=12)
    assert len(fewer) <= 13 and fewer[0] == rho.lo and fewer[-1] == rho.hi and rho.default in fewer
    assert len(control_values("tau")) == CONTROLS["tau"].hi and len(control_values("c")) >= MIN_FRAMES


def test_a_heavy_model_gets_fewer_frames_and_says_so():
    heavy = model(T=1000, h=256, rho=3.0)
    (drag,), _, note = drags.over_time_drag(heavy)
    assert len(drag.values) < MIN_FRAMES and f"{len(drag.values)} values of ρ" in note
    assert drags.lags_drag(heavy, ("identity",))[0] == ()
    assert "move the sidebar's ρ" in drags.lags_drag(heavy, ("identity",))[1]


def test_two_drags_with_the_same_ident_do_not_share_frames():
    """The frames are a resource shared by every view: the Jacobians view's lag curves once drew the unrolled
    view's gradient curve (both named their frames by the model alone). The builder's name is in the key."""
    import plotly.graph_objects as go

    from ui.drag import Drag, drag_frames

    def line(y):
        return lambda v: go.Figure(go.Scatter(x=[0, 1], y=[v, y]))

    model = Model(**{k: CONTROLS[k].default for k in SHARED})
    first = drag_frames(Drag("rho", "ρ", model, line(1.0), (0.5, 1.0)), lambda f: f, ("test",))
    second = drag_frames(Drag("rho", "ρ", model, (lambda w: lambda v: go.Figure(go.Scatter(x=[0, 1], y=[v, w])))(7.0),
                               (0.5, 1.0)), lambda f: f, ("test",))
    assert first.version != second.version
    assert repr(first.frames) != repr(second.frames)


def test_the_chart_is_on_the_page_before_its_drags_grid_and_frames_are_built(monkeypatch):
    """A drag's grid and frames take up to 1.5 s at the heaviest settings (bench/scrub.py): the chart at rest,
    its caption and its downloads go out first, and the grid is computed as the frames are built, after them."""
    import uuid

    import plotly.graph_objects as go

    import ui.figures as figures
    from ui.drag import Drag, lazily

    log = []
    grid = lazily(lambda: log.append("grid") or {0.5: 1.0, 1.0: 2.0})
    drag = Drag("rho", "ρ", (uuid.uuid4().hex,), lambda v: go.Figure(go.Scatter(x=[0, 1], y=[v, grid()[v]])), (0.5, 1.0))
    monkeypatch.setattr(figures, "live_chart", lambda fig, **kw: log.append(("chart", kw["scrubs"][0].frames)))
    monkeypatch.setattr(figures.st, "caption", lambda text: log.append("caption"))
    monkeypatch.setattr(figures, "download_menu", lambda fig, key: log.append("downloads"))
    monkeypatch.setattr(figures, "live_frames", lambda key, scrubs: log.append(("frames", len(scrubs[0].frames))))
    figures.show_chart(go.Figure(), key="order_test", caption="c", drags=(drag,))
    assert log == [("chart", None), "caption", "downloads", "grid", ("frames", 2)]
