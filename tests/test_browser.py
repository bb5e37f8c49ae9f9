"""Browser tests: the real app (`streamlit run app.py`) driven through Playwright and Debian's Chromium.

For the home page and every view of the registry: the page loads, finishes its script run, renders
its Plotly charts, shows no exception box and raises no JavaScript error; a screenshot goes to
``artifacts/screenshots/<url_path>.png``; then a slider moved with the keyboard changes a chart.
Also: values survive a page switch through the sidebar navigation, a hostile link runs no markup,
a scenario button lands on its view, and a deep link into a view on a fresh server goes through
``app.py`` (its navigation and its URL warnings).

Playwright's own browser download does not work on these machines: Chromium is always Debian's
``/usr/bin/chromium``. Without it the module is skipped, unless ``CI=true``, where it fails.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.page_charts import CHART, PLOT
from tools.streamlit_server import CHROMIUM, StreamlitServer
from ui.controls import CONTROLS, parse_value
from ui.registry import HOME_SCENARIOS, VIEWS

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
LOGS = ROOT / "artifacts" / "logs"
WAIT_MS = 60_000

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None

if sync_playwright is None or not os.path.exists(CHROMIUM):
    _why = "playwright is not installed" if sync_playwright is None else f"{CHROMIUM} is missing"
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests must run in CI, but {_why}", pytrace=False)
    pytest.skip(f"browser tests skipped: {_why}", allow_module_level=True)

LABEL_TO_KEY = {c.label: c.key for c in CONTROLS.values()}


# --- the server and the browser ------------------------------------------------------------------

class Server(StreamlitServer):
    """The lab (`streamlit run app.py`), its output kept in artifacts/logs/streamlit-<name>.log."""

    def __init__(self, name: str):
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log_path = LOGS / f"streamlit-{name}.log"
        try:
            super().__init__("app.py", open(self.log_path, "w+b"))
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)

    def stop(self):
        super().stop()
        self.log.close()


@pytest.fixture(scope="session")
def server(browser):
    srv = Server("session")
    # Open the home page once, so that every test sees the app as st.navigation builds it whatever
    # the order the tests run in (see test_deep_link_on_fresh_server_goes_through_app).
    context = browser.new_context()
    warm = context.new_page()
    warm.goto(srv.url + "/", timeout=WAIT_MS)
    warm.wait_for_function(IDLE_JS, timeout=WAIT_MS)
    context.close()
    yield srv
    srv.stop()


PROJECTOR = {"width": 1280, "height": 720}  # the lecture hall's screen


def watched_page(context):
    """A new page of ``context`` that records uncaught JavaScript errors and dialogs."""
    pg = context.new_page()
    pg.set_default_timeout(WAIT_MS)
    pg.errors = []    # uncaught JavaScript errors
    pg.dialogs = []   # alert()/confirm() would mean injected script ran
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))

    def on_dialog(dialog):
        pg.dialogs.append(dialog.message)
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    return pg


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield watched_page(context)
    context.close()


@pytest.fixture
def projector(browser):
    """A page on a 1280×720 screen."""
    context = browser.new_context(viewport=PROJECTOR)
    yield watched_page(context)
    context.close()


# --- helpers -----------------------------------------------------------------------------------

IDLE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return app !== null && app.getAttribute('data-test-script-state') === 'notRunning'
      && document.querySelector('[data-testid="stStatusWidgetRunningIcon"]') === null;
}"""

CHARTS_READY_JS = """(minimum) => {
  const holders = [...document.querySelectorAll(%s)];
  if (holders.length < minimum) return false;
  return holders.every(h => { const gd = h.querySelector('.js-plotly-plot');
                              return gd && gd.data && gd._fullLayout; });
}""" % json.dumps(CHART)

CHART_DATA_JS = """() => [...document.querySelectorAll(%s)]
    .map(gd => JSON.stringify(gd.data))""" % json.dumps(PLOT)


def wait_for(pg, js: str, what: str, arg=None):
    """page.wait_for_function, failing with what was awaited and where the page stood."""
    try:
        pg.wait_for_function(js, arg=arg, timeout=WAIT_MS)
    except PlaywrightTimeout:
        state = pg.evaluate("() => { const a = document.querySelector('[data-testid=\"stApp\"]');"
                            " return a && a.getAttribute('data-test-script-state'); }")
        charts = pg.locator(CHART).count()
        pytest.fail(f"timed out after {WAIT_MS / 1000:.0f} s waiting for {what}; url {pg.url}, "
                    f"script state {state!r}, {charts} chart(s), JavaScript errors {pg.errors}", pytrace=False)


def wait_ready(pg, charts: int = 1):
    """The script run is over and (at least ``charts``) Plotly charts are drawn."""
    wait_for(pg, IDLE_JS, "the script run to end")
    if charts:
        wait_for(pg, CHARTS_READY_JS, f"{charts} Plotly chart(s) to be drawn", arg=charts)
    pg.wait_for_timeout(300)  # let late deltas land
    wait_for(pg, IDLE_JS, "the script run to end")


def assert_no_error(pg, where: str):
    boxes = pg.locator('[data-testid="stException"]')
    assert boxes.count() == 0, f"{where}: exception box: {boxes.all_inner_texts()}"
    errors = pg.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, f"{where}: st.error: {errors.all_inner_texts()}"
    assert not pg.errors, f"{where}: JavaScript errors: {pg.errors}"
    assert not pg.dialogs, f"{where}: a dialog opened: {pg.dialogs}"


def query_value(pg, key: str):
    return pg.evaluate("(k) => new URLSearchParams(location.search).get(k)", key)


def url_holds(pg, key: str, value) -> bool:
    """Whether the address carries ``value`` for ``key`` (absent when it is the control's default:
    Streamlit keeps a bound widget's default out of the URL)."""
    raw = query_value(pg, key)
    if raw is None:
        return value == CONTROLS[key].default
    parsed, warning = parse_value(CONTROLS[key], raw)
    return warning is None and parsed == value


def sliders(pg):
    """Slider thumbs (range inputs), the sidebar's first, with their control key (None if unknown)."""
    found = []
    for scope in ('[data-testid="stSidebar"]', '[data-testid="stMain"]'):
        thumbs = pg.locator(f'{scope} [data-testid="stSlider"] input[type="range"]')
        for i in range(thumbs.count()):
            thumb = thumbs.nth(i)
            found.append((thumb, LABEL_TO_KEY.get(thumb.get_attribute("aria-label") or "")))
    return found


def move_slider(pg, thumb, key, presses: int = 3) -> float:
    """Press ArrowRight (ArrowLeft at the top of the range) and wait for the rerun; the new value."""
    start = float(thumb.input_value())
    arrow = "ArrowLeft" if start >= float(thumb.get_attribute("max")) else "ArrowRight"
    thumb.focus()
    for _ in range(presses):
        pg.keyboard.press(arrow)
    new = float(thumb.input_value())
    assert new != start, f"{arrow} did not move the slider {key!r}"
    if key is not None:  # every control is bound to the URL (a default leaves it): the rerun has reached it
        default = float(CONTROLS[key].default)
        wait_for(pg, "([k, v, d]) => { const p = new URLSearchParams(location.search).get(k);"
                     " const x = p === null ? d : parseFloat(p);"
                     " return Math.abs(x - v) < 1e-9 * Math.max(1, Math.abs(v)); }",
                 f"the URL to carry {key}={new:g}", arg=[key, new, default])
    else:
        pg.wait_for_timeout(500)
    wait_ready(pg)
    return new


def charts_after(pg, before: list[str], timeout_s: float = 5.0) -> list[str]:
    """Chart data, polled until it differs from ``before`` (or the time is up)."""
    deadline = time.monotonic() + timeout_s
    after = pg.evaluate(CHART_DATA_JS)
    while after == before and time.monotonic() < deadline:
        pg.wait_for_timeout(100)
        after = pg.evaluate(CHART_DATA_JS)
    return after


def screenshot(pg, name: str):
    """The whole page: Streamlit scrolls inside its main block, so grow the viewport to fit it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = pg.viewport_size
    height = pg.evaluate("() => Math.max(...[...document.querySelectorAll("
                         "'[data-testid=\"stMain\"], [data-testid=\"stSidebarContent\"]')]"
                         ".map(e => e.scrollHeight), 0)")
    pg.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(height), 12_000))})
    pg.wait_for_timeout(500)
    pg.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    pg.set_viewport_size(size)
    pg.wait_for_timeout(200)


# --- tests -------------------------------------------------------------------------------------

def test_home(server, page):
    page.goto(server.url + "/")
    wait_ready(page, charts=0)
    page.get_by_role("heading", name="BPTT Lab").wait_for()
    assert_no_error(page, "home")
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
    for view in VIEWS:
        assert view.title in nav, f"{view.title!r} missing from the navigation"
    screenshot(page, "home")


@pytest.mark.parametrize("view", VIEWS, ids=[v.url_path for v in VIEWS])
def test_view(server, page, view):
    page.goto(f"{server.url}/{view.url_path}")
    wait_ready(page)
    assert_no_error(page, view.url_path)
    screenshot(page, view.url_path)

    before = page.evaluate(CHART_DATA_JS)
    tried = []
    for thumb, key in sliders(page):
        tried.append(key)
        move_slider(page, thumb, key)
        assert_no_error(page, f"{view.url_path} after moving {key}")
        after = charts_after(page, before)
        if after != before:
            break
        before = after  # this slider does not feed a chart here: try the next one
    else:
        pytest.fail(f"{view.url_path}: no chart changed after moving the sliders {tried}")
    assert len(after) >= 1


def test_values_survive_navigation(server, page):
    first, second = VIEWS[0], VIEWS[1]
    page.goto(f"{server.url}/{first.url_path}?T=77&rho=1.3")
    wait_ready(page)
    page.locator('[data-testid="stSidebarNav"] a', has_text=second.title).click()
    page.wait_for_url(f"**/{second.url_path}*")
    wait_ready(page)
    assert_no_error(page, second.url_path)
    assert query_value(page, "T") == "77" and query_value(page, "rho") == "1.3", page.url
    values = {key: float(thumb.input_value()) for thumb, key in sliders(page)}
    assert values.get("T") == 77 and values.get("rho") == pytest.approx(1.3), values


def test_hostile_link_runs_no_markup(server, page):
    page.goto(f"{server.url}/?T=abc&rho=nan&activation=%3Cscript%3Ealert(1)%3C/script%3E"
              f"&x=%3Cimg%20src%3Dx%20onerror%3Dalert(2)%3E")
    wait_ready(page, charts=0)
    page.wait_for_timeout(500)
    assert_no_error(page, "home with a hostile link")
    warnings = page.locator('[data-testid="stAlertContentWarning"]').all_inner_texts()
    assert len(warnings) >= 3, warnings
    assert not any("script" in w or "onerror" in w or "abc" in w for w in warnings), warnings


@pytest.mark.parametrize("scenario", HOME_SCENARIOS[:1], ids=[HOME_SCENARIOS[0].title])
def test_scenario_button(server, page, scenario):
    page.goto(server.url + "/")
    wait_ready(page, charts=0)
    page.locator('[data-testid="stMain"]').get_by_role("button", name=scenario.title).click()
    page.wait_for_url(f"**/{scenario.view}*")
    wait_ready(page)
    assert_no_error(page, f"scenario {scenario.title!r}")
    for key, value in scenario.values.items():
        assert url_holds(page, key, value), (key, page.url)


def test_deep_link_on_fresh_server_goes_through_app(browser):
    """The first request a server ever gets is a link into a view with a bad value.

    The view must still be wrapped by app.py: its navigation (titles from the registry, not file
    names) and its URL warnings. Streamlit would run a `pages/` folder as a v1 multipage app until
    st.navigation has been called once (why the views live in views/), so this needs a server
    nobody has visited.
    """
    srv = Server("fresh")
    try:
        context = browser.new_context()
        pg = context.new_page()
        pg.set_default_timeout(WAIT_MS)
        view = VIEWS[0]
        pg.goto(f"{srv.url}/{view.url_path}?T=abc")
        wait_ready(pg)
        nav = pg.locator('[data-testid="stSidebarNav"]').inner_text()
        assert view.title in nav, f"the navigation is not app.py's: {nav!r}"
        warnings = pg.locator('[data-testid="stAlertContentWarning"]').all_inner_texts()
        assert any("parameter T " in w for w in warnings), f"no URL warning on {view.url_path}: {warnings}"
        context.close()
    finally:
        srv.stop()



# --- the lecture hall ---------------------------------------------------------------------------


@pytest.mark.parametrize("view", VIEWS, ids=[v.url_path for v in VIEWS])
def test_presentation_mode_fits_a_projector(server, projector, view):
    """At 1280×720 with ?present=1 the view's first chart is entirely on screen, without scrolling."""
    pg = projector
    pg.goto(f"{server.url}/{view.url_path}?present=1")
    wait_ready(pg)
    assert_no_error(pg, f"{view.url_path} in presentation mode")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SCREENSHOTS / f"present-{view.url_path}.png"))  # what the room sees
    box = pg.locator(CHART).first.bounding_box()
    assert box is not None, f"{view.url_path}: the first chart has no box"
    scrolled = pg.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollTop")
    assert scrolled == 0, f"{view.url_path}: the page opened scrolled by {scrolled} px"
    inside = (box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= PROJECTOR["width"] + 0.5
              and box["y"] + box["height"] <= PROJECTOR["height"] + 0.5)
    assert inside, f"{view.url_path}: the first chart {box} does not fit {PROJECTOR}"


def test_a_slider_reruns_the_open_section_in_place(server, projector):
    """A sidebar slider reruns only the view's open section (a fragment, ui/sections.py): in
    presentation mode the redrawn chart stays on the first screen, nothing is drawn twice, and the
    URL and the share link carry the new value."""
    pg = projector
    pg.goto(f"{server.url}/scalar?present=1")
    wait_ready(pg)
    before = pg.evaluate(CHART_DATA_JS)
    thumb = next(t for t, key in sliders(pg) if key == "T")
    new = move_slider(pg, thumb, "T", presses=2)
    assert charts_after(pg, before) != before, "moving T did not redraw the chart"
    assert_no_error(pg, "scalar after moving T")
    main = pg.locator('[data-testid="stMain"]')
    assert main.locator("h1").count() == 1 and main.locator(CHART).count() == 1
    assert main.locator('[data-testid="stButtonGroup"]').count() == 1, "the tabs were drawn twice"
    box = main.locator(CHART).first.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= PROJECTOR["height"] + 0.5, \
        f"after the rerun the chart left the stage: {box}"
    pg.locator('[data-testid="stSidebar"]').get_by_role("button", name="Share this view").click()
    code = pg.locator('[data-testid="stPopoverBody"] code')
    code.wait_for()
    assert f"T={int(new)}&" in code.inner_text() + "&", code.inner_text()


def test_slider_moves_keep_the_address_through_full_runs_and_a_reload(server, page):
    """Every control is bound to the URL by Streamlit (ui/controls.py): a tab switch and a move to
    another view keep the slider's value in the address, Back does not step through slider positions,
    and a reload comes back with the values."""
    page.goto(f"{server.url}/truncation")
    wait_ready(page)
    entries = page.evaluate("history.length")
    moved = {}
    for thumb, key in sliders(page):
        if key in ("T", "tau"):
            moved[key] = move_slider(page, thumb, key, presses=2)
    assert set(moved) == {"T", "tau"}, moved
    assert page.evaluate("history.length") == entries, "slider moves added history entries"

    page.locator('[data-testid="stMain"] [data-testid="stButtonGroup"] button', has_text="Agreement").click()
    wait_for(page, "() => new URLSearchParams(location.search).get('truncation_tab') === 'Agreement'",
             "the tab in the URL")
    wait_ready(page)
    for key, value in moved.items():
        assert url_holds(page, key, int(value)), (key, page.url)

    page.reload()
    wait_ready(page)
    assert_no_error(page, "truncation after a reload")
    shown = {key: float(thumb.input_value()) for thumb, key in sliders(page) if key in moved}
    assert shown == moved, (shown, page.url)
    assert query_value(page, "truncation_tab") == "Agreement", page.url

    thumb = next(t for t, key in sliders(page) if key == "T")
    moved["T"] = move_slider(page, thumb, "T", presses=1)
    other = next(v for v in VIEWS if v.url_path == "scalar")
    page.locator('[data-testid="stSidebarNav"] a', has_text=other.title).click()
    page.wait_for_url(f"**/{other.url_path}*")
    wait_ready(page)
    assert url_holds(page, "T", int(moved["T"])), page.url
    assert {key: float(t.input_value()) for t, key in sliders(page) if key == "T"} == {"T": moved["T"]}


HOSTILE_LINKS = [
    "eigenvalues?rho=-inf&K=1e999&kind=%3Cscript%3Ealert(1)%3C/script%3E&present=maybe",
    "truncation?tau=NaN&pi=-0.5&samples=99999999999999999999&truncation_tab=%3Cimg%20src%3Dx%20onerror%3Dalert(3)%3E",
    "scalar?c=1e308&log_eps=abc&contrast=%22%3E%3Cb%3Ebold&zz%3Cscript%3E=1",
]


@pytest.mark.parametrize("link", HOSTILE_LINKS, ids=[link.split("?")[0] for link in HOSTILE_LINKS])
def test_hostile_link_into_a_view(server, page, link):
    page.goto(f"{server.url}/{link}")
    wait_ready(page)
    page.wait_for_timeout(300)
    assert_no_error(page, link)
    warnings = page.locator('[data-testid="stAlertContentWarning"]').all_inner_texts()
    assert len(warnings) >= 3, warnings
    for text in warnings:
        assert not any(bad in text for bad in ("<", "script", "onerror", "alert", "bold", "abc")), text
    assert page.locator(CHART).count() >= 1
