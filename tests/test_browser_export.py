"""Browser tests of the animations and the downloads, in Debian's Chromium through Playwright.

- An animation tab, opened by its link, plays when its Plotly play button is pressed: the drawn
  data changes frame after frame while the browser sends nothing to the server (no message on
  Streamlit's WebSocket, no script run).
- A chart's Download popover gives its CSV and its HTML page; Plotly's toolbar keeps the PNG camera.
- An exported HTML page renders in Chromium with the network off (every request but file:// aborted),
  and its animation plays there too.
"""

from __future__ import annotations

import io
import json
import time
from urllib.parse import quote

import numpy as np
import pandas as pd
import pytest

from charts.animation import sweep_animation
from charts.export import figure_html
from tests.gallery import BUILDERS
from tests.page_charts import CHART, PLOT
from tests.test_browser import WAIT_MS, Server, assert_no_error, wait_for, wait_ready
from ui.registry import tab_param

pytestmark = pytest.mark.browser

ANIMATIONS = [("eigenvalues", "Animate ρ"), ("truncation", "Animate τ and π")]

# The animated chart's drawn data (its traces' x and y), and where its slider stands.
ANIMATED_JS = """() => {
  const gd = [...document.querySelectorAll(%s)]
      .find(g => g._fullLayout && g._fullLayout.sliders && g._fullLayout.sliders.length);
  if (!gd) return null;
  return {data: JSON.stringify(gd._fullData.map(t => [Array.from(t.x || []), Array.from(t.y || [])])),
          active: gd._fullLayout.sliders[0].active};
}""" % json.dumps(PLOT)


@pytest.fixture(scope="module")
def server(browser):
    srv = Server("export")
    yield srv
    srv.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(WAIT_MS)
    pg.errors, pg.dialogs, pg.sent = [], [], []
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
    # Every message the browser sends to the server (Streamlit's BackMsg: reruns, widget values, …).
    pg.on("websocket", lambda ws: ws.on("framesent", lambda payload: pg.sent.append(time.monotonic())))
    yield pg
    context.close()


@pytest.mark.parametrize("url_path, tab", ANIMATIONS, ids=[a[0] for a in ANIMATIONS])
def test_animation_plays_without_the_server(server, page, url_path, tab):
    page.goto(f"{server.url}/{url_path}?{tab_param(url_path)}={quote(tab)}")
    wait_ready(page)
    wait_for(page, f"() => ({ANIMATED_JS})() !== null", "the animated chart")
    assert_no_error(page, f"{url_path} ({tab})")
    page.wait_for_timeout(500)  # let the opening run's last messages go out
    sent_before = len(page.sent)
    first = page.evaluate(ANIMATED_JS)
    assert first["active"] == 0

    page.locator(".js-plotly-plot .updatemenu-button", has_text="Play").first.click()
    seen, states = {first["data"]}, []
    deadline = time.monotonic() + 4.0
    while time.monotonic() < deadline:
        page.wait_for_timeout(150)
        now = page.evaluate(ANIMATED_JS)
        seen.add(now["data"])
        states.append(page.evaluate("() => document.querySelector('[data-testid=\"stApp\"]')"
                                    ".getAttribute('data-test-script-state')"))
    last = page.evaluate(ANIMATED_JS)
    assert len(seen) >= 4, f"{url_path}: the drawn data took only {len(seen)} distinct states while playing"
    assert last["active"] >= 4, f"{url_path}: the slider stands at frame {last['active']} after 4 s"
    assert len(page.sent) == sent_before, f"{url_path}: {len(page.sent) - sent_before} message(s) sent while playing"
    assert "running" not in states, f"{url_path}: a script run happened while playing"
    assert_no_error(page, f"{url_path} ({tab}) after playing")


def test_downloads_and_png_camera(server, page):
    page.goto(f"{server.url}/eigenvalues")
    wait_ready(page)
    chart = page.locator(CHART).first
    chart.hover()
    camera = chart.locator('.modebar-btn[data-title^="Download plot"]')
    assert camera.count() == 1, "Plotly's toolbar lost its PNG camera"
    assert "Produced with Plotly" not in chart.inner_html()  # displaylogo off

    page.locator(".st-key-eigenvalues_plane_downloads button").click()  # the chart's Download popover
    sent_before = len(page.sent)
    with page.expect_download() as info:
        page.get_by_role("button", name="Data (CSV)").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    table = pd.read_csv(io.BytesIO(open(download.path(), "rb").read()), encoding="utf-8-sig")
    assert list(table.columns[:3]) == ["trace", "Re λ", "Im λ"] and len(table) > 10
    assert np.isfinite(table["Re λ"]).all()
    with page.expect_download() as info:
        page.get_by_role("button", name="Figure (HTML)").click()
    html = open(info.value.path(), encoding="utf-8").read()
    assert info.value.suggested_filename.endswith(".html") and "plotly" in html.lower() and len(html) > 1_000_000
    page.wait_for_timeout(500)
    wait_ready(page)
    assert_no_error(page, "eigenvalues after downloading")
    assert len(page.sent) - sent_before <= 2, "a download re-ran the page"  # the deferred-file requests only


def offline_page(browser, path):
    """Chromium with the network off: offline, and every request that is not file:// aborted."""
    context = browser.new_context(offline=True, viewport={"width": 1200, "height": 800})
    blocked = []

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    pg = context.new_page()
    pg.errors = []
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
    pg.goto(path.as_uri())
    return context, pg, blocked


@pytest.mark.parametrize("name", ["power_norms", "jacobian_heatmap", "agreement", "truncation_figure"])
def test_exported_html_renders_offline(browser, tmp_path, name):
    path = tmp_path / f"{name}.html"
    path.write_text(figure_html(BUILDERS[name]()), encoding="utf-8")
    context, pg, blocked = offline_page(browser, path)
    try:
        pg.wait_for_selector(".plotly .main-svg", timeout=WAIT_MS)
        # Lines, markers, text and bars are drawn as .trace groups, a heatmap as an .hm image.
        traces = pg.evaluate("() => document.querySelectorAll('.plotly .main-svg .trace, .plotly .main-svg .hm image')"
                             ".length")
        assert traces >= 1, f"{name}: no trace drawn"
        assert pg.evaluate("() => typeof Plotly") == "object"
        assert not pg.errors, f"{name}: JavaScript errors {pg.errors}"
        assert not blocked, f"{name}: the page asked the network for {blocked}"
    finally:
        context.close()


def test_exported_animation_plays_offline(browser, tmp_path):
    T = 30
    xi = np.ones((5, T))
    for f in range(5):
        xi[f, f + 1::f + 2] = 0.0
    fig = sweep_animation(np.zeros(T), -np.arange(5)[:, None] * np.ones(T), xi, [1, 2, 3, 4, 5],
                          key="chunked", symbol="τ")
    path = tmp_path / "animation.html"
    path.write_text(figure_html(fig), encoding="utf-8")
    context, pg, blocked = offline_page(browser, path)
    try:
        pg.wait_for_selector(".plotly .main-svg", timeout=WAIT_MS)
        state = "() => document.querySelector('.js-plotly-plot')._fullLayout.sliders[0].active"
        pg.wait_for_timeout(600)
        assert pg.evaluate(state) == 0, "the exported animation started by itself"
        pg.locator(".updatemenu-button", has_text="Play").click()
        pg.wait_for_function(f"() => ({state})() === 4", timeout=10_000)
        assert not pg.errors and not blocked
    finally:
        context.close()
