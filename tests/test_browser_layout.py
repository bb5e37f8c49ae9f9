"""Layout in Chromium: every view × tab on three screens, as a lecturer and a student see them.

Screens (tests/browser_support.py SCREENS): 1440×900, 1280×720 with presentation mode on (``?present=1``)
and 800×1000. For every tab of every view (read from the view's segmented control in the page; the
training lab after a small run, so that its result tabs exist):

(a) the page's main chart starts on the first screen: at least 200 px of it (or all of a smaller chart)
    are visible without scrolling. The main chart is the page's first chart that belongs to the open
    tab: a chart that every tab of the view shows (the training lab's partitioning chart under its
    tabs) does not, and a tab that draws none (the training lab's generated text) has none;
(b) inside every chart, no text box overlaps another by more than 1.5 px: titles, legend texts, axis
    titles and annotations among themselves and against the tick labels, and level tick labels among
    themselves;
(c) the plot area (the union of the subplots' drag rectangles, projected onto the x axis: side-by-side
    subplots add up) is at least 60 % of the chart's width;
(d) in presentation mode, every text of a chart is drawn at 18 px or more.

A test is one view on one screen; it checks every tab and fails with every problem it found, each named
by view, tab, screen and the texts involved. Geometry in tests/layout_geometry.py.
"""

from __future__ import annotations

import pytest

from tests.browser_support import (SCREENS, SMALL_RUN, choose_tab, new_context, new_page, open_page, tabs,
                                   train_small, view_url, require_browser)
from tests.layout_geometry import Box, horizontal_coverage, overlapping_pairs, visible_height
from tests.page_charts import CHART, PLOT
from ui.registry import VIEWS

require_browser()
pytestmark = pytest.mark.browser

FIRST_SCREEN_PX = 200     # (a) this much of the main chart on the first screen
TOLERANCE_PX = 1.5        # (b) a glyph box's slack
PLOT_SHARE = 0.60         # (c)
PROJECTED_FONT_PX = 18    # (d)

# Every chart of the page in page order: its holder's box, its width, the boxes of its texts by kind, its
# subplots' drag rectangles and the font size of every text it draws.
MEASURE_JS = """([chartSel, plotSel]) => {
  const main = document.querySelector('[data-testid="stMain"]');
  const rect = (el, label) => { const r = el.getBoundingClientRect();
                                return {x: r.x, y: r.y, width: r.width, height: r.height, label}; };
  const shown = el => { const s = getComputedStyle(el);
                        return s.display !== 'none' && s.visibility !== 'hidden' && parseFloat(s.opacity || '1') > 0
                               && el.getClientRects().length > 0; };
  const words = el => (el.textContent || '').replace(/\\s+/g, ' ').trim();
  const holders = [...main.querySelectorAll(chartSel)];
  return [...main.querySelectorAll(plotSel)].map((gd, index) => {
    const holder = gd.closest(chartSel) || gd;
    const texts = [...gd.querySelectorAll('.main-svg text')].filter(t => !t.closest('.hoverlayer') && words(t) && shown(t));
    const kind = t => {
      const c = t.getAttribute('class') || '';
      if (/^gtitle/.test(c)) return 'title';
      if (/legendtitletext/.test(c)) return 'legend title';
      if (/legendtext/.test(c)) return 'legend';
      if (/^[xy]\\d*title$/.test(c)) return 'axis title';
      if (/annotation-text/.test(c)) return 'annotation';
      if (/cbtitle/.test(c) || t.closest('.cbtitle')) return 'colour bar title';
      if (t.closest('g[class$="tick"]') || t.closest('.cbaxis')) return 'tick';
      return 'other';
    };
    const labelled = texts.map(t => ({el: t, kind: kind(t), label: kind(t) + ' ' + JSON.stringify(words(t).slice(0, 50))}));
    const title = labelled.find(t => t.kind === 'title');
    const container = holder.closest('[data-testid="stElementContainer"]');
    const key = container ? [...container.classList].find(c => c.startsWith('st-key-')) : undefined;
    return {
      index,
      id: key || (title ? 'title: ' + words(title.el) : 'chart ' + (index + 1)),
      name: title ? words(title.el).slice(0, 60) : (key ? key.slice(7) : 'chart ' + (index + 1)),
      holder: rect(holder, 'chart'),
      width: gd.getBoundingClientRect().width,
      boxes: labelled.filter(t => !['tick', 'other'].includes(t.kind)).map(t => rect(t.el, t.label)),
      ticks: labelled.filter(t => t.kind === 'tick').map(t => ({...rect(t.el, t.label),
                                                                 rotated: /rotate/.test(t.el.getAttribute('transform') || '')})),
      plots: [...gd.querySelectorAll('.nsewdrag')].filter(shown).map(r => rect(r, 'plot')),
      fonts: labelled.map(t => ({label: t.label, px: parseFloat(getComputedStyle(t.el).fontSize)})),
    };
  });
}"""

SCROLL_TOP_JS = """() => { window.scrollTo(0, 0);
  for (const el of document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppScrollToBottomContainer"]'))
    el.scrollTop = 0; }"""


def measure(pg) -> list[dict]:
    pg.evaluate(SCROLL_TOP_JS)
    pg.wait_for_timeout(100)
    return pg.evaluate(MEASURE_JS, [CHART, PLOT])


def main_chart(charts: list[dict], shared: frozenset = frozenset()) -> dict | None:
    """The page's main chart: its first chart that is the open tab's own (not one of ``shared``, the
    charts every tab of the view shows, like the training lab's partitioning chart under its tabs)."""
    return next((c for c in charts if c["id"] not in shared), None)


def layout_problems(charts: list[dict], viewport: dict, presenting: bool, shared: frozenset = frozenset(),
                    checked: set | None = None) -> list[str]:
    """Every way the charts of one page break (a)–(d); empty when they do not.

    (a) looks at the main chart (none for a tab that draws no chart of its own, a text tab); (b)–(d) at
    every chart not in ``checked`` (the ids of charts already checked on another tab), which they add to.
    """
    found = []
    checked = set() if checked is None else checked
    main = main_chart(charts, shared)
    if main is not None:
        box = Box.from_dict(main["holder"])
        need = min(FIRST_SCREEN_PX, box.height)
        seen = visible_height(box, viewport["height"])
        if seen < need - 0.5:
            found.append(f"(a) the main chart ({main['name']!r}) starts at y = {box.y:.0f} px: {seen:.0f} px of it "
                         f"on a {viewport['height']} px screen, not {need:.0f}")
    charts = [c for c in charts if c["id"] not in checked]
    checked.update(c["id"] for c in charts)
    for chart in charts:
        name = f"chart {chart['name']!r}"
        boxes = [Box.from_dict(b) for b in chart["boxes"]]
        ticks = [Box.from_dict(b) for b in chart["ticks"]]
        for a, b in overlapping_pairs(boxes, TOLERANCE_PX, others=ticks):
            found.append(f"(b) {name}: {a.label} overlaps {b.label} "
                         f"({a.x:.0f},{a.y:.0f} {a.width:.0f}×{a.height:.0f} and {b.x:.0f},{b.y:.0f} {b.width:.0f}×{b.height:.0f})")
        # Tick labels among themselves, where they are level (a rotated label's box is not its glyphs').
        level = [Box.from_dict(b) for b in chart["ticks"] if not b.get("rotated")]
        crowded = overlapping_pairs(level, TOLERANCE_PX)
        if crowded:
            listed = ", ".join(f"{a.label.removeprefix('tick ')}/{b.label.removeprefix('tick ')}" for a, b in crowded[:6])
            found.append(f"(b) {name}: {len(crowded)} pair(s) of tick labels overlap: {listed}"
                         + (" …" if len(crowded) > 6 else ""))
        plots = [Box.from_dict(b) for b in chart["plots"]]
        if plots and chart["width"] > 0:
            share = horizontal_coverage(plots) / chart["width"]
            if share < PLOT_SHARE:
                found.append(f"(c) {name}: the plot area is {share:.0%} of the chart's {chart['width']:.0f} px "
                             f"({len(plots)} subplot(s)), under {PLOT_SHARE:.0%}")
        if presenting:
            small = [f for f in chart["fonts"] if f["px"] < PROJECTED_FONT_PX - 0.01]
            if small:
                listed = ", ".join(f"{f['label']} {f['px']:g}px" for f in small[:8])
                found.append(f"(d) {name}: {len(small)} text(s) under {PROJECTED_FONT_PX} px: {listed}"
                             + (" …" if len(small) > 8 else ""))
    return found


@pytest.fixture(scope="module")
def contexts(browser):
    made = {}

    def get(screen):
        name, viewport, _ = screen
        if name not in made:
            made[name] = new_context(browser, viewport)
        return made[name]

    yield get
    for ctx in made.values():
        ctx.close()


@pytest.fixture(scope="module")
def trained(lab_server, browser):
    """The query of a finished small comparison on the server (its result tabs exist), or of the
    training lab as it is when the run does not finish (the walk reports why)."""
    ctx = new_context(browser)
    try:
        train_small(new_page(ctx), lab_server.url, SMALL_RUN)
    except AssertionError:
        pass
    finally:
        ctx.close()
    return SMALL_RUN


@pytest.mark.parametrize("view", VIEWS, ids=[v.url_path for v in VIEWS])
@pytest.mark.parametrize("screen", SCREENS, ids=[s[0] for s in SCREENS])
def test_layout(lab_server, contexts, trained, screen, view):
    name, viewport, presenting = screen
    query = dict(trained) if view.url_path == "training" else {}
    if presenting:
        query["present"] = 1
    pg = new_page(contexts(screen))
    problems, measured = [], {}
    try:
        open_page(pg, view_url(lab_server.url, view.url_path, query), charts=1)
        for tab in tabs(pg, view.url_path) or [None]:
            where = f"{view.url_path} / {'(no tabs)' if tab is None else repr(tab)} @ {name}"
            try:
                if tab is not None:
                    choose_tab(pg, view.url_path, tab)
                measured[where] = measure(pg)
            except AssertionError as exc:
                problems.append(f"{where}: {exc}")
    finally:
        pg.close()
    pages = list(measured.values())
    shared = frozenset.intersection(*(frozenset(c["id"] for c in p) for p in pages)) if len(pages) > 1 else frozenset()
    checked = set()
    for where, charts in measured.items():
        problems += [f"{where}: {p}" for p in layout_problems(charts, viewport, presenting, shared, checked)]
    assert not problems, f"{len(problems)} layout problem(s):\n" + "\n".join(problems)


def test_layout_problems_names_what_breaks():
    """The checks on made-up measurements: each of (a)–(d) fires, and a clean page passes."""
    def chart(**over):
        c = {"id": "st-key-t", "name": "T", "holder": {"x": 0, "y": 100, "width": 1000, "height": 400}, "width": 1000,
             "boxes": [{"x": 100, "y": 110, "width": 200, "height": 20, "label": "title 'T'"},
                       {"x": 800, "y": 150, "width": 100, "height": 15, "label": "legend 'a'"}],
             "ticks": [{"x": 90, "y": 480, "width": 20, "height": 12, "label": "tick '0'"}],
             "plots": [{"x": 80, "y": 140, "width": 700, "height": 300}],
             "fonts": [{"label": "title 'T'", "px": 24}, {"label": "tick '0'", "px": 20}]}
        c.update(over)
        return c

    screen = {"width": 1440, "height": 900}
    assert layout_problems([chart()], screen, presenting=True) == []
    low = layout_problems([chart(holder={"x": 0, "y": 800, "width": 1000, "height": 400})], screen, False)
    assert len(low) == 1 and low[0].startswith("(a)") and "100 px" in low[0]
    crossing = chart(boxes=chart()["boxes"] + [{"x": 250, "y": 115, "width": 100, "height": 20, "label": "annotation 'x'"}])
    assert [p[:3] for p in layout_problems([crossing], screen, False)] == ["(b)"]
    crowded = chart(ticks=[{"x": 90, "y": 480, "width": 20, "height": 12, "label": "tick '80'"},
                           {"x": 90, "y": 472, "width": 20, "height": 12, "label": "tick '70'"},
                           {"x": 90, "y": 400, "width": 20, "height": 12, "label": "tick '9'", "rotated": True},
                           {"x": 90, "y": 404, "width": 20, "height": 12, "label": "tick '10'", "rotated": True}])
    assert layout_problems([crowded], screen, False) == ["(b) chart 'T': 1 pair(s) of tick labels overlap: '80'/'70'"]
    narrow = chart(plots=[{"x": 80, "y": 140, "width": 300, "height": 300}, {"x": 500, "y": 140, "width": 250, "height": 300}])
    assert [p[:3] for p in layout_problems([narrow], screen, False)] == ["(c)"]
    small = chart(fonts=[{"label": "tick '0'", "px": 12}])
    assert layout_problems([small], screen, presenting=False) == []
    assert [p[:3] for p in layout_problems([small], screen, presenting=True)] == ["(d)"]
    assert layout_problems([], screen, False) == []  # a tab without charts (a text tab)
    # A chart every tab shows is not a tab's main chart, and a chart is checked once per view.
    below = chart(id="st-key-shared", holder={"x": 0, "y": 2000, "width": 1000, "height": 400})
    assert layout_problems([below], screen, False, shared=frozenset({"st-key-shared"})) == []
    checked = set()
    assert len(layout_problems([small], screen, True, checked=checked)) == 1
    assert layout_problems([small], screen, True, checked=checked) == [] and checked == {"st-key-t"}
