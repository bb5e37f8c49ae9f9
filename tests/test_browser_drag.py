"""Drag and see, in Debian's Chromium: a real drag (mouse down, moves, up) on every in-chart slider.

During the drag the chart is redrawn from its frames at least 10 times, each a new picture, while no
WebSocket message leaves the page (the browser does it alone); a frame drawn by its lines alone is the
picture Plotly draws of it; after the release the control's widget, the address and
the share link hold the value the chart shows, and the watcher (tests/browser_support.py) saw no error.
"""

from __future__ import annotations

import time

import pytest

from tests.browser_support import (Watcher, new_context, new_page, open_page, settle, slider_value, view_url,
                                   require_browser)
from ui.controls import CONTROLS, encode_value
from charts.style import DETAIL, DETAIL_MIN_PX
from ui.registry import DRAGGED, tab_param

require_browser()
pytestmark = pytest.mark.browser

SCRUB = '[data-testid="bpttScrub"] input[type=range]'
# Each redraw, what it drew: the frame's name and the chart's SVG as it then is (a redraw that left the
# picture as it was does not count).
WATCH_FRAMES_JS = """() => { window.__frames = [];
  const gd = document.querySelector('[data-testid=bpttScrub]').parentElement.querySelector('.bptt-plot');
  new MutationObserver(() => window.__frames.push(gd.getAttribute('data-frame') + '|'
                                                  + [...gd.querySelectorAll('svg.main-svg')].map((e) => e.innerHTML).join('')))
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


# Draw frame i of the chart's first slider as a drag does (the slider's input event), then as Plotly.react
# draws the same frame; return what each drew (every scatter trace's line vertices and style, its markers'
# positions, paths and fills and its texts, the bars' corners, the shapes' paths, styles and clips, in
# pixels, and the legend's texts and marker fills), and whether the first was drawn outside Plotly.react
# (drawLines).
LINES_AGAINST_PLOTLY_JS = """async (i) => {
  const gd = document.querySelector('[data-testid=bpttScrub]').parentElement.querySelector('.bptt-plot');
  const input = document.querySelector('[data-testid=bpttScrub] input[type=range]');
  const numbers = (text) => (text.match(/-?[0-9.]+(e[-+]?[0-9]+)?/g) || []).map(Number);
  const style = (el, keys) => keys.map((k) => el.style.getPropertyValue(k)).join(';');
  const drawn = () => [...gd.querySelectorAll('g.trace.scatter')].map((g) => ({
      index: g.__data__[0].trace.index,
      lines: [...g.querySelectorAll('path.js-line')].map((p) =>
          (p.getAttribute('d') || '').split(/(?=[ML])/).filter((c) => c).map((c) => numbers(c.slice(1)))),
      looks: [...g.querySelectorAll('path.js-line')].map((p) => style(p, ['stroke', 'stroke-opacity', 'stroke-width'])),
      points: [...g.querySelectorAll('g.points path.point')].map((p) => numbers(p.getAttribute('transform') || '')),
      paths: [...g.querySelectorAll('g.points path.point')].map((p) => numbers(p.getAttribute('d') || '')),
      fills: [...g.querySelectorAll('g.points path.point')].map((p) => style(p, ['fill', 'fill-opacity'])),
      texts: [...g.querySelectorAll('g.textpoint text')].map((t) => t.textContent + '@' + t.getAttribute('x') + ','
                                                               + t.getAttribute('y'))}))
    .concat([...gd.querySelectorAll('g.trace.bars')].map((g) => ({
      index: g.__data__[0].trace.index, lines: [], looks: [], paths: [], fills: [], texts: [],
      points: [...g.querySelectorAll('g.point path')].map((p) => numbers(p.getAttribute('d') || ''))})))
    .sort((a, b) => a.index - b.index);
  const shapes = () => [...gd.querySelectorAll('g.shape-group')].map((g) => ({
      clip: g.getAttribute('clip-path'), d: numbers(g.querySelector('path').getAttribute('d') || ''),
      look: g.querySelector('path').getAttribute('style')}));
  const legend = () => [...gd.querySelectorAll('g.legend g.traces')].map((g) => g.querySelector('text.legendtext').textContent
      + '|' + [...g.querySelectorAll('path.scatterpts')].map((p) => style(p, ['fill', 'fill-opacity'])).join(','));
  const picture = () => ({traces: drawn(), shapes: shapes(), legend: legend()});
  const painted = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  input.value = String(i);
  input.dispatchEvent(new Event('input', {bubbles: true}));
  await painted();
  const lines = gd.__lines !== null && gd.__lines !== undefined;
  const ours = picture();
  await gd.__plotly.redraw(gd);             // Plotly's own redraw (as a resize or a legend click makes one)
  await painted();
  const again = picture();
  const scrub = window.__bpttFrames[Object.keys(window.__bpttFrames).find((k) => window.__bpttFrames[k].scrubs
      .some((s) => s.key === input.getAttribute('data-key')))].scrubs.find((s) => s.key === input.getAttribute('data-key'));
  const frame = scrub.frames[i], base = gd.__base;
  const data = base.data.map((b, j) => Object.assign({}, b, frame.data[j] || {}));
  // As ui/live_chart.py's drawFrame lays it out: the frame's layout, the axes the drag holds at the ranges drawn.
  const layout = Object.assign({}, gd.layout, {datarevision: Math.random()});
  for (const [key, value] of Object.entries(frame.layout || {})) {
    if (value === null) delete layout[key];
    else layout[key] = value;
  }
  for (const name of Object.keys(frame.spans || {})) {
    layout[name] = Object.assign({}, layout[name], {range: gd._fullLayout[name].range.slice(), autorange: false});
  }
  gd.__lines = null;                        // as ui/live_chart.py's drawFrame before its Plotly.react
  await gd.__plotly.react(gd, data, layout, gd.__config);
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  return {lines, ours, again, plotly: picture(), width: xa._length, height: ya._length};
}"""

MOVED_ALONE = [("unrolled", "Graph (T = 3)"), ("unrolled", "Gradient over time"), ("eigenvalues", "Eigenvalues"),
               ("eigenvalues", "Singular values"), ("eigenvalues", "Powers of Wₕₕ"), ("jacobians", "Against the lag"),
               ("truncation", "The book's figure"), ("truncation", "Per-step gradients"), ("scalar", "Terms"),
               ("scalar", "Recursion = sum"), ("gates", "Gradient over time")]


def close(p, q, tol=0.06) -> bool:
    return len(p) == len(q) and all(abs(a - b) <= tol for a, b in zip(p, q))


@pytest.mark.parametrize("url_path, tab", MOVED_ALONE, ids=[f"{v}-{t}" for v, t in MOVED_ALONE])
def test_frames_drawn_outside_plotly_are_plotlys_picture(browser, lab_server, url_path, tab):
    """A frame that moves only lines, points and bars is drawn outside Plotly.react (ui/live_chart.py,
    drawLines): every vertex of a line Plotly draws of the same frame, inside the plot, is one of ours,
    every marker and every bar's corner is where Plotly puts it (to 0.06 px), and the legend reads the same; a redraw of Plotly's own (a
    resize, a legend click) draws the frame again."""
    context = new_context(browser)
    pg = new_page(context)
    watcher = Watcher(pg, lab_server)
    try:
        open_page(pg, view_url(lab_server.url, url_path, {tab_param(url_path): tab}), charts=1)
        settle(pg)
        slider = pg.locator(SCRUB).first
        last, now = int(slider.get_attribute("max")), int(slider.input_value())
        outside = 0
        # Next to the value at rest (within the ranges drawn: drawn outside Plotly), then the far ends.
        for i in sorted({min(max(now + d, 0), last) for d in (-2, -1, 1, 2)}) + [0, last]:
            got = pg.evaluate(LINES_AGAINST_PLOTLY_JS, i)
            if not got["lines"]:
                continue    # drawn by Plotly.react itself
            outside += 1
            ours, theirs = got["ours"], got["plotly"]
            assert got["again"] == ours, f"{url_path}/{tab}: a redraw of Plotly's own lost frame {i} drawn in place"
            assert ours["legend"] == theirs["legend"], (url_path, tab, i)
            assert [t["index"] for t in ours["traces"]] == [t["index"] for t in theirs["traces"]]
            assert len(ours["shapes"]) == len(theirs["shapes"]), (url_path, tab, i)
            for mine, plotly in zip(ours["shapes"], theirs["shapes"]):
                assert (mine["clip"], mine["look"]) == (plotly["clip"], plotly["look"]), (url_path, tab, i)
                assert close(mine["d"], plotly["d"]), (url_path, tab, i, mine["d"], plotly["d"])
            for mine, plotly in zip(ours["traces"], theirs["traces"]):
                where = (url_path, tab, i, mine["index"])
                assert len(mine["points"]) == len(plotly["points"]), where
                for p, q in zip(mine["points"], plotly["points"]):   # a marker's position, a bar's corners
                    assert close(p, q), (*where, p, q)
                assert len(mine["paths"]) == len(plotly["paths"]), where
                for p, q in zip(mine["paths"], plotly["paths"]):     # a marker's shape at its size
                    assert close(p, q), (*where, p, q)
                assert (mine["fills"], mine["looks"], mine["texts"]) == (plotly["fills"], plotly["looks"], plotly["texts"]), where
                assert len(mine["lines"]) == len(plotly["lines"])
                for line, their_line in zip(mine["lines"], plotly["lines"]):
                    at = {}
                    for x, y in line:
                        at.setdefault(round(x, 1), []).append(y)
                    for x, y in their_line:
                        if not (1 < x < got["width"] - 1 and 1 < y < got["height"] - 1):
                            continue    # where Plotly clips a line at the plot's edge
                        near = [v for k in (round(x, 1), round(x - 0.1, 1), round(x + 0.1, 1)) for v in at.get(k, [])]
                        assert near and min(abs(v - y) for v in near) <= 0.06, (url_path, tab, i, x, y, near[:3])
        assert outside >= 2, f"{url_path}/{tab}: {outside} frames were drawn outside Plotly.react"
        assert not watcher.check(f"{url_path}/{tab}/drawn outside Plotly"), watcher.report()
    finally:
        context.close()


DETAIL_SHOWN_JS = """() => { const gd = document.querySelector('[data-testid=bpttScrub]').parentElement.querySelector('.bptt-plot');
  return {width: gd.clientWidth, shown: gd.data.filter((t) => t.meta === 'DETAIL').map((t) => t.visible !== false),
          numbers: gd.querySelectorAll('g.textpoint').length}; }""".replace("DETAIL", DETAIL)


def test_a_narrow_graph_leaves_its_detail_numbers_out(browser, lab_server):
    """Narrower than DETAIL_MIN_PX the unrolled graph's numbers on the edges into parameters and inputs would lie
    on the boxes (tests/test_charts_unrolled.py): the browser leaves them out, a drag's frames too, and the chart
    has them back once it is wide again."""
    context = new_context(browser, viewport={"width": 800, "height": 1000})
    pg = new_page(context)
    watcher = Watcher(pg, lab_server)
    try:
        open_page(pg, view_url(lab_server.url, "unrolled", {tab_param("unrolled"): "Graph (T = 3)"}), charts=1)
        settle(pg)
        narrow = pg.evaluate(DETAIL_SHOWN_JS)
        assert narrow["width"] < DETAIL_MIN_PX and narrow["shown"] == [False], narrow
        slider = pg.locator(SCRUB).first
        last = int(slider.get_attribute("max"))
        for i in (last, 0, last // 2):   # far frames (drawn by Plotly.react) and one near (drawn in place)
            slider.evaluate("(el, i) => { el.value = String(i); el.dispatchEvent(new Event('input', {bubbles: true})); }", i)
            pg.wait_for_timeout(100)
            assert pg.evaluate(DETAIL_SHOWN_JS)["shown"] == [False], f"frame {i} drew the detail numbers"
        pg.set_viewport_size({"width": 1600, "height": 1000})
        pg.wait_for_function(DETAIL_SHOWN_JS.replace("return {", "const r = {").replace("}; }", "}; return r.shown[0] === true; }"))
        wide = pg.evaluate(DETAIL_SHOWN_JS)
        assert wide["width"] >= DETAIL_MIN_PX and wide["numbers"] > narrow["numbers"], (narrow, wide)
        assert not watcher.check("unrolled/narrow graph"), watcher.report()
    finally:
        context.close()
