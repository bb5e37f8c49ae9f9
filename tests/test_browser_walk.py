"""The walk: every view, every tab, every button, in Debian's Chromium, with a watcher on the page.

On the home page and on every view of ``ui.registry.VIEWS``: every tab of the view's segmented control
(read from the page), every other button the tab draws (Resample on the truncation view's book's
figure), every scenario under the title (``ui.registry.SCENARIOS``), one Download popover's CSV (the
download arrives) and the sidebar's Share popover (it shows the page's link). The guided tour from its
start through every step of ``ui.registry.TOUR``, Back and End. The training lab: a small run chosen
with the widgets, Run, its result tabs; a longer run stopped mid-way (the page says so within a few
seconds and the progress stops), and Run again.

After every press the test waits for the script run to end and the charts to be drawn, then the
watcher (tests/browser_support.py) must have seen nothing: no uncaught page error, no console error,
no request to a host other than the lab's own server (a lecture hall without internet must lose
nothing), no error or exception box, no traceback, exception or error in the server's log. A test
walks on after a problem and fails at the end with every problem it saw, each named by view, tab
and button.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlparse

import pytest

from tests.browser_support import (MAIN, RUN, RUN_WAIT_MS, STOP, TRAINING_OVER_JS, Watcher, button, buttons, choose_tab,
                                   click, is_local, new_context, new_page, open_page, open_tab, press_slider, runs,
                                   settle, slider_value, tabs, view_url, wait_js, press_run, require_browser)
from ui.registry import HOME_SCENARIOS, SCENARIOS, TOUR, VIEWS

require_browser()
pytestmark = pytest.mark.browser

SHARE = "Share this view"   # the popover with the page's link (ui/lecture.py)
DOWNLOAD = "Download"       # under every chart (ui/downloads.py)
TOUR_START = re.compile(r"start.*tour", re.I)
NEXT, BACK, END = "Next", "Back", "End"  # the tour's buttons (ui/lecture.py)
APP = '[data-testid="stApp"]'
MAX_FAILED = 3               # a test gives up after this many presses that could not be made
STOP_WITHIN_S = 5.0          # a Stop must end the run within this many seconds
# Buttons the walk must find on a view, whatever else it presses there (the issue names them).
EXPECTED = {"truncation": ["Resample"]}
# Not pressed by the walk itself: the training lab's Run and Stop (their own tests), a file uploader's
# button (it opens a file chooser), popovers (their own steps), tabs and scenarios (their own loops),
# Plotly's toolbar.
SKIP_WITHIN = ("stButtonGroup", "stFileUploader", "stFileUploaderDropzone", "stPopover", "stPopoverBody",
               "stDownloadButton", "stCodeCopyButton")


@pytest.fixture(scope="module")
def context(browser):
    ctx = new_context(browser, {"width": 1440, "height": 900}, accept_downloads=True)
    yield ctx
    ctx.close()


@pytest.fixture
def walk(lab_server, context):
    pg = new_page(context)
    watcher = Watcher(pg, lab_server)
    yield pg, watcher
    pg.close()


def finish(watcher: Watcher) -> None:
    if watcher.problems:
        pytest.fail(f"{len(watcher.problems)} problem(s):\n{watcher.report()}", pytrace=False)


def step(watcher: Watcher, where: str, action, *args, **kwargs) -> bool:
    """Do ``action``, note it if it fails, then check the page; whether the action went through.

    After ``MAX_FAILED`` actions that failed (a button not there, a page that never came), the test
    stops with what it saw: each would otherwise wait a minute for a page that is not coming.
    """
    try:
        action(*args, **kwargs)
        ok = True
    except AssertionError as exc:
        watcher.note(where, str(exc))
        ok = False
    except Exception as exc:  # a Playwright timeout: the button was not there to press
        watcher.note(where, f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
        ok = False
    watcher.check(where)
    if not ok:
        watcher.failed = getattr(watcher, "failed", 0) + 1
        if watcher.failed >= MAX_FAILED:
            watcher.note(where, f"the walk gave up after {MAX_FAILED} presses that could not be made")
            finish(watcher)
    return ok


def other_buttons(pg, url_path: str) -> list[str]:
    """The buttons of the open tab that no other step of the walk presses (Resample, say)."""
    scenario_titles = {s.title for s in SCENARIOS.get(url_path, ())}
    labels = []
    for b in buttons(pg, MAIN):
        if not b["testid"].startswith("stBaseButton") or not b["label"] or b["disabled"]:
            continue
        if b["label"] in scenario_titles or b["label"] in (RUN, STOP):
            continue
        if any(w in SKIP_WITHIN or w.startswith("stPopover") for w in b["within"]):
            continue
        if "modebar" in " ".join(b["within"]):
            continue
        labels.append(b["label"])
    return list(dict.fromkeys(labels))


def download_csv(pg, lab_url: str) -> str:
    """Open the first Download popover of the page and download its CSV; the file's suggested name."""
    click(pg, DOWNLOAD)
    body = pg.locator('[data-testid="stPopoverBody"]')
    body.locator('[data-testid="stDownloadButton"]').first.wait_for()
    csv = body.locator('[data-testid="stDownloadButton"] button').filter(has_text=re.compile("CSV")).first
    with pg.expect_download() as info:
        csv.click()
    name = info.value.suggested_filename
    assert name.endswith(".csv"), f"the CSV download is named {name!r}"
    assert info.value.failure() is None, f"the CSV download failed: {info.value.failure()}"
    close_popover(pg)
    return name


def close_popover(pg) -> None:
    before = runs(pg)
    pg.keyboard.press("Escape")
    settle(pg, before)
    assert pg.locator('[data-testid="stPopoverBody"]').count() == 0, "Escape did not close the popover"


def share_link(pg, lab_url: str, url_path: str) -> str:
    """Open the Share popover; the link it shows (which must be this page's)."""
    click(pg, SHARE, APP)
    code = pg.locator('[data-testid="stPopoverBody"] code').first
    code.wait_for()
    link = code.inner_text().strip()
    got, want = urlparse(link), urlparse(f"{lab_url}/{url_path}")
    assert (got.scheme, got.netloc, got.path.rstrip("/")) == (want.scheme, want.netloc, want.path.rstrip("/")), \
        f"the share link {link!r} is not this page's ({pg.url})"
    close_popover(pg)
    return link


def walk_view(pg, watcher: Watcher, lab_url: str, url_path: str) -> list[str]:
    """A download (first, while the view is as it opens: a scenario may leave it without a chart),
    every tab with its buttons, every scenario, the share link; the buttons pressed."""
    pressed = []
    step(watcher, f"{url_path} / tab {open_tab(pg, url_path)!r}: Download → CSV", download_csv, pg, lab_url)
    for tab in tabs(pg, url_path) or [None]:
        where = url_path if tab is None else f"{url_path} / tab {tab!r}"
        if tab is not None:
            step(watcher, f"{where}: open the tab", choose_tab, pg, url_path, tab)
        for label in other_buttons(pg, url_path):
            step(watcher, f"{where}: press {label!r}", click, pg, label)
            pressed.append(label)
    for scenario in SCENARIOS.get(url_path, ()):
        where = f"{url_path}: scenario {scenario.title!r}"
        step(watcher, where, click, pg, scenario.title)
        # (a view without tabs yet, the training lab before a run, has no tab to open)
        if scenario.tab is not None and tabs(pg, url_path) and open_tab(pg, url_path) != scenario.tab:
            watcher.note(where, f"opened the tab {open_tab(pg, url_path)!r}, not {scenario.tab!r}")
    step(watcher, f"{url_path}: Share", share_link, pg, lab_url, url_path)
    for label in EXPECTED.get(url_path, ()):
        if label not in pressed:
            watcher.note(url_path, f"the walk found no {label!r} button on any tab (pressed: {pressed})")
    return pressed


# --- home and the views ------------------------------------------------------------------------

def test_home(lab_server, walk):
    pg, watcher = walk
    home = lab_server.url + "/"
    step(watcher, "home", open_page, pg, home)
    icon = pg.evaluate("() => [...document.querySelectorAll('link[rel~=\"icon\"]')].map(l => l.href)")
    if not icon or not all(is_local(href) for href in icon):
        watcher.note("home", f"the favicon is not the lab's own: {icon}")
    for scenario in HOME_SCENARIOS:
        where = f"home: scenario {scenario.title!r}"
        step(watcher, where, click, pg, scenario.title)
        if f"/{scenario.view}" not in pg.url:
            watcher.note(where, f"landed on {pg.url}, not on /{scenario.view}")
        step(watcher, "home", open_page, pg, home)
    step(watcher, "home: Share", share_link, pg, lab_server.url, "")
    finish(watcher)


@pytest.mark.parametrize("view", VIEWS, ids=[v.url_path for v in VIEWS])
def test_view(lab_server, walk, view):
    pg, watcher = walk
    step(watcher, f"{view.url_path}: open", open_page, pg, view_url(lab_server.url, view.url_path), 1)
    walk_view(pg, watcher, lab_server.url, view.url_path)
    finish(watcher)


def test_guided_tour(lab_server, walk):
    """Start, every step with Next (each on its view, naming its scenario, its tab open), Back, End. The
    tour's buttons are looked for on the whole page (sidebar or main), wherever the lab draws them."""
    pg, watcher = walk
    step(watcher, "home", open_page, pg, lab_server.url + "/")
    start = next((b["label"] for b in buttons(pg, APP) if TOUR_START.search(b["label"])), None)
    assert start is not None, f"no button to start the guided tour: {[b['label'] for b in buttons(pg, APP)]}"
    step(watcher, f"tour: {start!r}", click, pg, start, APP)

    def at(i: int):
        s = TOUR[i].scenario
        wait_js(pg, "(p) => location.pathname.endsWith('/' + p)", f"the page /{s.view}", arg=s.view)
        settle(pg)
        assert s.title in pg.locator(APP).inner_text(), f"the page does not name the step's scenario {s.title!r}"
        if s.tab is not None and tabs(pg, s.view):
            assert open_tab(pg, s.view) == s.tab, f"the tab {open_tab(pg, s.view)!r} is open, not {s.tab!r}"

    for i in range(len(TOUR)):
        where = f"tour step {i + 1}/{len(TOUR)} ({TOUR[i].scenario.view}, {TOUR[i].scenario.title!r})"
        step(watcher, where, at, i)
        if i < len(TOUR) - 1:
            # Each step starts where the one before left off: stop at the first one that fails.
            if not step(watcher, f"{where}: Next", click, pg, NEXT, APP):
                finish(watcher)
    last = {b["label"]: b for b in buttons(pg, APP)}
    if NEXT in last and not last[NEXT]["disabled"]:
        watcher.note("tour: last step", f"{NEXT} is still enabled")
    step(watcher, "tour: Back", click, pg, BACK, APP)
    step(watcher, "tour: after Back", at, len(TOUR) - 2)
    step(watcher, "tour: End", click, pg, END, APP)
    if not any(TOUR_START.search(b["label"]) for b in buttons(pg, APP)):
        watcher.note("tour: End", "the tour did not end (no button to start it again)")
    finish(watcher)


# --- the training lab ----------------------------------------------------------------------------

def progress(pg) -> str | None:
    """The progress bar's text and value, None without one."""
    return pg.evaluate("""() => { const p = document.querySelector('[data-testid="stProgress"]');
        if (!p) return null;
        const bar = p.querySelector('[role="progressbar"]');
        return p.innerText.trim() + ' @' + (bar ? bar.getAttribute('aria-valuenow') : '?'); }""")


# The page says the run was stopped (a message box that speaks of stopping), and no script runs.
STOPPED_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return app.getAttribute('data-test-script-state') === 'notRunning'
      && [...document.querySelectorAll('[data-testid^="stAlertContent"]')].some(a => /stopp/i.test(a.innerText));
}"""


def fresh_settings(pg, epochs_keys: tuple[str, ...]) -> None:
    """Set the epochs with the slider, then nudge the learning rate until Run is enabled (a comparison the
    server has finished already keeps it disabled)."""
    press_slider(pg, "epochs", *epochs_keys)
    for _ in range(8):
        run = next((b for b in buttons(pg) if b["label"] == RUN), None)
        assert run is not None, f"no {RUN} button on the training lab: {[b['label'] for b in buttons(pg)]}"
        if not run["disabled"]:
            return
        press_slider(pg, "lr", "ArrowRight")
    raise AssertionError("Run stayed disabled after eight changes of the learning rate")


def run_small(pg, watcher: Watcher, where: str) -> None:
    step(watcher, f"{where}: a small run (epochs at the slider's start)", fresh_settings, pg, ("Home",))
    step(watcher, f"{where}: Run", press_run, pg)
    shown = tabs(pg, "training")
    if not shown:
        watcher.note(f"{where}: after Run", "no result tabs on the page")
    for tab in shown:
        step(watcher, f"{where}: result tab {tab!r}", choose_tab, pg, "training", tab)


def test_training_run(lab_server, walk):
    pg, watcher = walk
    step(watcher, "training: open", open_page, pg, view_url(lab_server.url, "training"), 1)
    run_small(pg, watcher, "training")
    finish(watcher)


def test_training_stop_mid_run_and_run_again(lab_server, walk):
    pg, watcher = walk
    step(watcher, "training: open", open_page, pg, view_url(lab_server.url, "training"), 1)
    epochs = ("End",)  # the most epochs the slider offers: a run that lasts well beyond the Stop
    step(watcher, "training: a long run", fresh_settings, pg, epochs)
    where = f"training: Run with {slider_value(pg, 'epochs'):g} epochs"
    button(pg, RUN).click()
    try:
        wait_js(pg, """() => { const b = document.querySelector('[data-testid="stProgress"] [role="progressbar"]');
                               return b !== null && parseFloat(b.getAttribute('aria-valuenow')) > 0; }""",
                "the progress bar to move", RUN_WAIT_MS)
    except AssertionError as exc:
        watcher.note(where, str(exc))
    watcher.check(where)

    before = progress(pg)
    if pg.evaluate(STOPPED_JS):
        watcher.note(where, "the page said the run was stopped before Stop was pressed")
    stop_at = time.monotonic()
    step(watcher, f"{where}: press Stop", lambda: button(pg, STOP).click())
    stopped = None
    while time.monotonic() - stop_at < STOP_WITHIN_S:
        if pg.evaluate(STOPPED_JS):
            stopped = time.monotonic() - stop_at
            break
        pg.wait_for_timeout(200)
    after = progress(pg)
    pg.wait_for_timeout(1500)
    later = progress(pg)
    if stopped is None:
        watcher.note(f"{where}: Stop", f"the run was not stopped within {STOP_WITHIN_S:g} s (the page does not "
                                       f"say it stopped); progress at Stop {before!r}, then {after!r}, then {later!r}")
    elif later is not None and later != after:
        watcher.note(f"{where}: Stop", f"the progress went on after Stop: {after!r} → {later!r}")
    # A run that did not stop finishes by itself: let it, so that the next steps see an idle page.
    pg.evaluate("() => { window.__bpttOverSince = null; }")
    step(watcher, f"{where}: after Stop", wait_js, pg, TRAINING_OVER_JS, "the training to end", RUN_WAIT_MS)
    run_small(pg, watcher, "training, Run again")
    finish(watcher)
