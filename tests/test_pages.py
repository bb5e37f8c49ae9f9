"""App-level tests with Streamlit's AppTest, written from the view registry and the controls table.

For every view in ``ui.registry.VIEWS``: the page runs clean (no exception, no ``st.error``, at least
one Plotly chart, no inf/NaN in any trace), then every control the page shows is driven, one at a
time, to each end of its range (every option for a choice control) and the page must stay clean,
keep the value in its widget and write it to the URL. Also: the home page, its scenario buttons,
and the URL codec against hostile and valid links.

"The page shows a control" is discovered, not declared: when this module is collected, each view
is run once at its defaults and the widgets whose key is in ``CONTROLS`` are the ones driven.

What app.py adds to a page in a real browser (its navigation, its URL warnings on a deep link)
is checked in tests/test_browser.py.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import plotly.io
import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Widget

from ui.controls import CONTROLS, SHARED, encode_value, view_controls
from ui.model_panel import UNUSED_BY_KIND
from ui.registry import HOME_SCENARIOS, VIEWS, tab_param
from tests.page_charts import chart_specs, decode_typed_array

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = float(os.environ.get("BPTT_APPTEST_TIMEOUT", "60"))  # seconds per script run
NUMERIC_FIELDS = ("x", "y", "z", "r", "theta")
STRESS_SECONDS = float(os.environ.get("BPTT_STRESS_SECONDS", "15"))  # one run at the heaviest corner


# --- running the app ---------------------------------------------------------------------------

_RAW_FIGURES: list = []  # figures handed to plotly.io.to_json during the current run


@pytest.fixture(autouse=True)
def record_figures(monkeypatch):
    """Record every figure a chart serialises, to check it before JSON hides NaN as null.

    Plotly's JSON encoder writes a NaN in a plain list as ``null``, which the JSON check below must
    allow (deliberate gaps); the figure object still tells the two apart.
    """
    original = plotly.io.to_json

    def recording(fig, *args, **kwargs):
        _RAW_FIGURES.append(fig)
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(plotly.io, "to_json", recording)
    _RAW_FIGURES.clear()
    yield
    _RAW_FIGURES.clear()


def run(at: AppTest) -> AppTest:
    _RAW_FIGURES.clear()
    return at.run()


def new_app(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, raw in (query or {}).items():
        at.query_params[key] = raw
    return run(at)


def open_view(view, query: dict | None = None, tab: str | None = None) -> AppTest:
    """The app switched to ``view``, with ``tab`` open (through its URL parameter, as a link would)."""
    at = new_app(query)
    assert not at.exception, f"home page raised before switching to {view.path}: {describe_exceptions(at)}"
    at.switch_page(view.path)
    if tab is not None:
        at.query_params[tab_param(view.url_path)] = tab
    return run(at)


def tab_labels(at: AppTest) -> list[str]:
    """The labels of the view's tabs: the options of its section switcher (ui/sections.py)."""
    return [option for switcher in at.segmented_control for option in switcher.options]


def controls_on(at: AppTest) -> dict:
    """The widgets on the current page whose key is a control of the table, by key, in page order."""
    return {el.key: el for el in at if isinstance(el, Widget) and el.key in CONTROLS}


def view_by_url(url_path: str):
    return next(v for v in VIEWS if v.url_path == url_path)


# --- what "clean" means ------------------------------------------------------------------------

def describe_exceptions(at: AppTest) -> str:
    parts = []
    for exc in at.exception:
        trace = "\n".join(exc.stack_trace)
        parts.append(f"{exc.value}\n{trace}")
    return "\n---\n".join(parts)


def count_nonfinite(value) -> int:
    """Number of inf/NaN numbers in a trace field; None (a deliberate gap) and strings are allowed.

    Takes decoded JSON (lists, typed-array dicts) and figure objects alike (numpy arrays, tuples).
    """
    if value is None or isinstance(value, (str, bytes, bool, np.bool_)):
        return 0
    if isinstance(value, (int, float, np.integer, np.floating, complex, np.complexfloating)):
        return 0 if np.isfinite(value) else 1
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fc":
            return int((~np.isfinite(value)).sum())
        if value.dtype.kind == "O":
            return sum(count_nonfinite(v) for v in value.ravel())
        return 0
    if isinstance(value, dict):
        if "bdata" in value and "dtype" in value:
            return count_nonfinite(decode_typed_array(value))
        return sum(count_nonfinite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(count_nonfinite(v) for v in value)
    return 0


def trace_problems(traces, chart: str) -> list[str]:
    problems = []
    for i, trace in enumerate(traces):
        for name in NUMERIC_FIELDS:
            if name in trace:
                bad = count_nonfinite(trace[name])
                if bad:
                    problems.append(f"chart {chart!r}, trace {i} ({trace.get('name')!r}, "
                                    f"{trace.get('type')}): {bad} inf/NaN value(s) in {name!r}")
    return problems


def assert_clean(at: AppTest, where: str, *, explained_gap: bool = False) -> list[tuple[str, dict]]:
    """No exception, no st.error, no inf/NaN in a trace, and at least one chart.

    With ``explained_gap`` a tab may show no chart when a warning says why (an exact gradient that
    overflowed float64 leaves the Monte-Carlo nothing finite to compare with).
    """
    assert not at.exception, f"{where}: exception\n{describe_exceptions(at)}"
    errors = [e.value for e in at.error]
    assert not errors, f"{where}: st.error shown: {errors}"
    specs = chart_specs(at)
    assert specs or (explained_gap and (at.warning or at.info)), f"{where}: no Plotly chart on the page"
    problems = []
    for key, spec in specs:
        problems += trace_problems(spec.get("data", []), key)
    if not problems:  # NaN in a plain list reaches the JSON as null: look at the figure objects too
        for fig in _RAW_FIGURES:
            fig = fig.to_plotly_json() if hasattr(fig, "to_plotly_json") else fig
            title = ((fig.get("layout") or {}).get("title") or {}).get("text", "?")
            problems += [p + " (NaN written as null)" for p in trace_problems(fig.get("data", []), title)]
    assert not problems, f"{where}: " + "; ".join(problems)
    return specs


# --- the parameter matrix, discovered from the pages -------------------------------------------

def ends(control) -> list[tuple[str, object]]:
    if control.kind == "int":
        return [("min", int(control.lo)), ("max", int(control.hi))]
    if control.kind == "float":
        return [("min", float(control.lo)), ("max", float(control.hi))]
    if control.kind == "choice":
        return [(str(option), option) for option in control.options]
    if control.kind == "bool":
        return [("on", True), ("off", False)]
    raise AssertionError(f"unknown control kind {control.kind!r}")


def _discover() -> dict[str, dict[str | None, list[str]]]:
    """For each view, its tabs (None when it has none) and the control keys each tab shows.

    A view computes and draws only its open tab (ui/sections.py), so every tab is opened in turn;
    a view that cannot run gets the shared controls on a single tab (its own test reports why).
    """
    found = {}
    for view in VIEWS:
        tabs = {None: list(SHARED)}
        if (ROOT / view.path).is_file():
            try:
                at = open_view(view)
                if not at.exception:
                    labels = tab_labels(at)
                    tabs = {None: list(controls_on(at))} if not labels else {}
                    for label in labels:
                        at = open_view(view, tab=label)
                        tabs[label] = list(controls_on(at)) if not at.exception else list(SHARED)
            except Exception:  # noqa: BLE001 - the page's own test reports what went wrong
                pass
        found[view.url_path] = tabs
    return found


PAGE_TABS = _discover()
VIEW_TABS = [pytest.param(view, tab, id=f"{view.url_path}-{tab}" if tab else view.url_path)
             for view in VIEWS for tab in PAGE_TABS[view.url_path]]
# The lecture hall's toggles restyle whatever is drawn (tests/test_lecture.py covers every view in
# presentation mode): here one tab per view is enough for them.
DISPLAY_ONLY = ("present", "contrast")
CASES = [
    pytest.param(view, tab, key, value, id=f"{view.url_path}-{tab}-{key}-{end}" if tab else f"{view.url_path}-{key}-{end}")
    for view in VIEWS
    for i, (tab, keys) in enumerate(PAGE_TABS[view.url_path].items())
    for key in keys
    if i == 0 or key not in DISPLAY_ONLY
    for end, value in ends(CONTROLS[key])
]


# --- the views ---------------------------------------------------------------------------------

@pytest.mark.parametrize("view, tab", VIEW_TABS)
def test_view_runs_clean_at_defaults(view, tab):
    assert (ROOT / view.path).is_file(), f"{view.path} does not exist"
    at = open_view(view, tab=tab)
    assert_clean(at, f"{view.url_path} ({tab}) at defaults")
    if tab is not None:
        assert tab_labels(at) == list(PAGE_TABS[view.url_path]), f"{view.url_path}: tabs changed"
    shown = controls_on(at)
    wanted = [k for k in view_controls(view.url_path)
              if k in SHARED and k not in UNUSED_BY_KIND.get(CONTROLS["kind"].default, ())]
    missing = [k for k in wanted if k not in shown]
    assert not missing, f"{view.url_path}: shared controls missing from the page: {missing}"
    for key, widget in shown.items():
        assert widget.value == CONTROLS[key].default, (key, widget.value)


@pytest.mark.parametrize("view, tab, key, value", CASES)
def test_control_at_end_of_range(view, tab, key, value):
    at = open_view(view, tab=tab)
    where = f"{view.url_path} ({tab}) with {key}={value!r}"
    widget = controls_on(at).get(key)
    assert widget is not None, f"{where}: no widget with key {key!r} on the page"
    widget.set_value(value)
    run(at)
    assert_clean(at, where, explained_gap=True)
    widget = controls_on(at).get(key)
    assert widget is not None, f"{where}: the widget disappeared"
    assert widget.value == value, f"{where}: the widget shows {widget.value!r}"


@pytest.mark.parametrize("end", ["min", "max"])
@pytest.mark.parametrize("view, tab", VIEW_TABS)
def test_view_with_every_numeric_control_at_one_end(view, tab, end):
    # The heaviest corner (T = 1000, h = 256, ρ = 3 and the tab's own maxima together) and the lightest.
    at = open_view(view, tab=tab)
    widgets = controls_on(at)
    chosen = {}
    for key, widget in widgets.items():
        control = CONTROLS[key]
        if control.kind in ("int", "float"):
            chosen[key] = dict(ends(control))[end]
            widget.set_value(chosen[key])
    started = time.perf_counter()
    run(at)
    seconds = time.perf_counter() - started
    assert_clean(at, f"{view.url_path} ({tab}) with {chosen}", explained_gap=True)
    assert seconds < STRESS_SECONDS, f"{view.url_path} ({tab}) took {seconds:.1f} s with {chosen}"


# --- the home page and its scenarios ----------------------------------------------------------

def test_home_runs_clean():
    at = new_app()
    assert not at.exception, describe_exceptions(at)
    assert not at.error, [e.value for e in at.error]
    assert at.title and at.title[0].value == "BPTT Lab"
    assert len(at.main.button) == len(HOME_SCENARIOS)  # the sidebar has the tour's
    links = [link.value for link in at.get("page_link")]
    assert links == [v.title for v in VIEWS]
    assert not at.warning, [w.value for w in at.warning]


@pytest.mark.parametrize("scenario", HOME_SCENARIOS, ids=[s.title for s in HOME_SCENARIOS])
def test_scenario_button(scenario):
    label, values, target = scenario.title, scenario.values, scenario.view
    at = new_app()
    run(at.button(key=f"home_{target}_{scenario.label}").click())
    where = f"scenario {label!r}"
    assert_clean(at, where)
    registered = getattr(at, "_registered_pages", None)  # private; the only record of the page shown
    if registered:
        shown = registered[at._finished_page_script_hash].get("url_pathname")
        assert shown == target, f"{where}: landed on {shown!r}, not {target!r}"
    assert not at.title or at.title[0].value != "BPTT Lab", f"{where}: still on the home page"
    widgets = controls_on(at)
    for key, value in values.items():
        assert key in widgets, f"{where}: {key!r} is not on the target page"
        assert widgets[key].value == value, f"{where}: {key} shows {widgets[key].value!r}, not {value!r}"
    # The scenario does not leave a stale value behind: moving a slider afterwards still works.
    other = next(k for k in ("seed", "T") if k in widgets)
    widgets[other].set_value(CONTROLS[other].default + 1)
    run(at)
    assert_clean(at, f"{where}, then {other} moved")
    assert controls_on(at)[other].value == CONTROLS[other].default + 1
    for key, value in values.items():
        assert controls_on(at)[key].value == value


# --- the URL codec ------------------------------------------------------------------------------

def _view_showing(key: str):
    """(view, tab) of the first tab that shows the control, or (None, None)."""
    for view in VIEWS:
        for tab, keys in PAGE_TABS[view.url_path].items():
            if key in keys:
                return view, tab
    return None, None


_C = CONTROLS
HOSTILE = [
    ({"T": "abc"}, {"T": _C["T"].default}),
    ({"T": "2.5"}, {"T": _C["T"].default}),
    ({"T": ""}, {"T": _C["T"].default}),
    ({"T": "0x10"}, {"T": _C["T"].default}),
    ({"rho": "nan"}, {"rho": _C["rho"].default}),
    ({"rho": "inf"}, {"rho": _C["rho"].default}),
    ({"rho": "-Infinity"}, {"rho": _C["rho"].default}),
    ({"h": "-5"}, {"h": int(_C["h"].lo)}),
    ({"h": "1e9"}, {"h": int(_C["h"].hi)}),
    ({"seed": "9" * 400}, {"seed": _C["seed"].default}),
    ({"activation": "<script>alert(1)</script>"}, {"activation": _C["activation"].default}),
    ({"activation": "TANH"}, {"activation": _C["activation"].default}),
    ({"unknown": "1"}, {}),
    ({"__proto__": "<img src=x onerror=alert(1)>"}, {}),
]
HOSTILE.append(({k: v for q, _ in HOSTILE for k, v in q.items()},
                {k: v for _, e in HOSTILE for k, v in e.items()}))


def _echoes(text: str, raw: str) -> bool:
    return len(raw) >= 2 and raw.lower() in text.lower()


@pytest.mark.parametrize("query, expected", HOSTILE,
                         ids=[("&".join(f"{k}={v[:20]}" for k, v in q.items()) if len(q) < 3 else "all-at-once")
                              for q, _ in HOSTILE])
def test_hostile_url(query, expected):
    at = new_app(query)
    assert not at.exception, describe_exceptions(at)
    assert not at.error, [e.value for e in at.error]
    warnings = [w.value for w in at.warning]
    assert warnings, f"no warning for {query}"
    shown = " ".join(warnings + [m.value for m in at.markdown] + [c.value for c in at.caption])
    for raw in query.values():
        assert not _echoes(" ".join(warnings), raw), f"a warning repeats the hostile text {raw[:40]!r}: {warnings}"
    assert "<script" not in shown and "onerror" not in shown, "hostile markup reached the page"
    run(at)
    assert not at.warning, f"the URL warnings are shown again on the next run: {[w.value for w in at.warning]}"
    # The values used are the defaults or the clamped ends, on a page that shows the control.
    for key, value in expected.items():
        view, tab = _view_showing(key)
        view = view or VIEWS[0]
        at2 = open_view(view, query, tab=tab)
        assert_clean(at2, f"{view.url_path} opened with {query}")
        widget = controls_on(at2).get(key)
        assert widget is not None, f"{key!r} not on {view.url_path}"
        assert widget.value == value, f"{key}: widget shows {widget.value!r}, wanted {value!r}"


def test_valid_link_reproduces_values():
    query = {"T": "77", "rho": "1.3"}
    at = new_app(query)
    assert not at.exception, describe_exceptions(at)
    assert not at.warning, [w.value for w in at.warning]
    for view in [v for v in VIEWS if "T" in view_controls(v.url_path)]:
        at.switch_page(view.path)
        run(at)
        assert_clean(at, f"{view.url_path} from a link with {query}")
        widgets = controls_on(at)
        assert widgets["T"].value == 77
        assert widgets["rho"].value == pytest.approx(1.3)


def test_values_survive_page_switches():
    at = open_view(VIEWS[0])
    controls_on(at)["h"].set_value(33)
    run(at)
    for view in VIEWS[1:] + VIEWS[:1]:  # the training lab in between: a page without the model
        at.switch_page(view.path)
        run(at)
        assert not at.exception, describe_exceptions(at)
        if "h" in view_controls(view.url_path):
            assert controls_on(at)["h"].value == 33, f"h lost on the way to {view.url_path}"
