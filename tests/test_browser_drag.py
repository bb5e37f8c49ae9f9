"""Drag and see, in Debian's Chromium: a real drag (mouse down, moves, up) on every in-chart slider.

During the drag the chart is redrawn from its frames at least 10 times while no WebSocket message
leaves the page (the browser does it alone); after the release the control's widget, the address and
the share link hold the value the chart shows, and the watcher (tests/browser_support.py) saw no error.
"""

from __future__ import annotations

import time

import pytest

from tests.browser_support import (Watcher, new_context, new_page, open_page, settle, slider_value, view_url,
                                   require_browser)
from ui.controls import CONTROLS, encode_value
from ui.registry import DRAGGED, tab_param

require_browser()
pytestmark = pytest.mark.browser

SCRUB = '[data-testid="bpttScrub"] input[type=range]'
WATCH_FRAMES_JS = """() => { window.__frames = [];
  const gd = document.querySelector('[data-testid=bpttScrub]').parentElement.querySelector('.bptt-plot');
  new MutationObserver(() => window.__frames.push(gd.getAttribute('data-frame')))
    .observe(gd, {attributes: true, attributeFilter: ['data-frame']}); }"""


@pytest.mark.parametrize("url_path, tab, keys", DRAGGED, ids=[f"{v}-{t}" for v, t, _ in DRAGGED])
def test_a_drag_redraws_in_the_browser_and_its_release_sets_the_control(browser, lab_server, url_path, tab, keys):
    context = new_context(browser)
    pg = new_page(context)
    watcher = Watcher(pg, lab_server)
    sent: list[float] = []
    pg.on("websocket", lambda ws: ws.on("framesent", lambda _: sent.append(time.monotonic())))
    try:
        open_page(pg, view_url(lab_server.url, url_path, {tab_param(url_path): tab}), charts=1)
        assert pg.locator(SCRUB).count() == len(keys), f"{url_path}/{tab}: expected sliders for {keys} on the chart"
        for k, key in enumerate(keys):
            slider = pg.locator(SCRUB).nth(k)
            assert slider.get_attribute("data-key") == key
            box = slider.bounding_box()
            pg.evaluate(WATCH_FRAMES_JS)
            y, x0 = box["y"] + box["height"] / 2, box["x"] + 0.15 * box["width"]
            pg.mouse.move(x0, y)
            pg.mouse.down()
            before = len(sent)
            for step in range(30):
                pg.mouse.move(x0 + step * 0.02 * box["width"], y)
                pg.wait_for_timeout(25)
            during = len(sent) - before
            drawn = len(set(pg.evaluate("window.__frames")))
            shown = pg.locator('[data-testid="bpttScrub"] output').nth(k).inner_text()
            pg.mouse.up()
            assert during == 0, f"{url_path}/{key}: {during} WebSocket message(s) left the page during the drag"
            assert drawn >= 10, f"{url_path}/{key}: the chart was redrawn {drawn} times during the drag"
            settle(pg)
            control = CONTROLS[key]
            assert slider_value(pg, key) == pytest.approx(float(shown)), f"the {key} widget does not show {shown}"
            value = round(float(shown)) if control.kind == "int" else float(shown)
            search = pg.evaluate("location.search")
            assert f"{key}={encode_value(value)}" in search, f"the address {search} lacks {key}={shown}"
            pg.locator('[data-testid="stSidebar"]').get_by_role("button", name="Share this view").click()
            code = pg.locator('[data-testid="stPopoverBody"] code')
            code.wait_for()
            assert f"{key}={encode_value(value)}" in code.inner_text(), code.inner_text()
            pg.keyboard.press("Escape")
            assert not watcher.check(f"{url_path}/{tab}/{key}"), watcher.report()
    finally:
        context.close()


def test_arrow_keys_on_the_chart_slider_set_the_control(browser, lab_server):
    """The in-chart slider is an <input type=range>: an arrow key moves it one step and sets the control."""
    context = new_context(browser)
    pg = new_page(context)
    watcher = Watcher(pg, lab_server)
    try:
        open_page(pg, view_url(lab_server.url, "scalar"), charts=1)
        slider = pg.locator(SCRUB).first
        slider.focus()
        pg.keyboard.press("ArrowRight")
        settle(pg)
        step = CONTROLS["c"].step
        assert slider_value(pg, "c") == pytest.approx(CONTROLS["c"].default + step)
        assert "c=" in pg.evaluate("location.search")
        assert not watcher.check("scalar/arrow key"), watcher.report()
    finally:
        context.close()
