"""What the walk, the layout checks and the screenshot gallery share: the server, the page watcher,
waiting for Streamlit, and finding the lab's tabs, buttons and sliders in the page.

Used by tests/test_browser_walk.py, tests/test_browser_layout.py (through the fixtures in
tests/conftest.py) and tools/screenshots.py. No pytest at import time: the gallery runs without it.

Nothing here names today's labels of a view: views, their tab parameter and their scenarios come from
``ui.registry``, controls from ``ui.controls.CONTROLS``, and a view's tabs are read from its segmented
control in the page. The only labels written here are the training lab's Run and Stop, the Download
and Share popovers and the tour's buttons, which the README names as the lab's interface.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import quote, urlparse

from tests.page_charts import CHART, PLOT
from tools.streamlit_server import CHROMIUM, StreamlitServer
from ui.controls import CONTROLS
from ui.registry import tab_param

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "artifacts" / "logs"
WAIT_MS = 60_000
RUN_WAIT_MS = 180_000  # a training run

# The three screens of the layout checks and the gallery: (name, viewport, presentation mode).
SCREENS = (
    ("1440x900", {"width": 1440, "height": 900}, False),
    ("1280x720-present", {"width": 1280, "height": 720}, True),
    ("800x1000", {"width": 800, "height": 1000}, False),
)
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def require_browser() -> None:
    """Skip the calling test module when Playwright or Chromium is missing; in CI (CI=true), fail."""
    import pytest

    try:
        import playwright.sync_api  # noqa: F401
        why = None if os.path.exists(CHROMIUM) else f"{CHROMIUM} is missing"
    except ImportError:
        why = "playwright is not installed"
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run in CI, but {why}", pytrace=False)
        pytest.skip(f"browser tests skipped: {why}", allow_module_level=True)


# --- the server --------------------------------------------------------------------------------

class LabServer(StreamlitServer):
    """`streamlit run app.py`, its output in artifacts/logs/streamlit-<name>.log, read piece by piece."""

    def __init__(self, name: str):
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log_path = LOGS / f"streamlit-{name}.log"
        super().__init__("app.py", open(self.log_path, "w+b"))
        self._read = 0

    def new_output(self) -> str:
        """What the server wrote since the last call."""
        self.log.flush()
        with open(self.log_path, "rb") as f:
            f.seek(self._read)
            data = f.read()
        self._read += len(data)
        return data.decode(errors="replace")

    def stop(self):
        super().stop()
        self.log.close()


LOG_PROBLEM = re.compile(r"Traceback|Exception|Error")


def log_problems(text: str) -> list[str]:
    """The server's reports of a traceback, an exception or an error in ``text``: for a traceback, the
    exception it ends with (its first line); any other line that names an Exception or an Error as is."""
    found, in_traceback = [], False
    for line in text.splitlines():
        if line.startswith("Traceback"):
            in_traceback = True
            continue
        if in_traceback:
            if not line.strip() or line[:1].isspace():
                continue  # the frames
            found.append(f"traceback ending in {line.strip()}")
            in_traceback = False
            continue
        if LOG_PROBLEM.search(line):
            found.append(line.strip())
    if in_traceback:
        found.append("a traceback (cut off)")
    return found


# --- the page ----------------------------------------------------------------------------------

IDLE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return app !== null && app.getAttribute('data-test-script-state') === 'notRunning'
      && document.querySelector('[data-testid="stStatusWidgetRunningIcon"]') === null;
}"""

CHARTS_READY_JS = """() => [...document.querySelectorAll(%s)].every(h => {
  const gd = h.querySelector('.js-plotly-plot');
  return gd && gd.data && gd._fullLayout; })""" % json.dumps(CHART)

# Live charts draw through a promise chain (ui/live_chart.py): wait for every pending Plotly.react.
CHARTS_DRAWN_JS = """async () => {
  await Promise.all([...document.querySelectorAll(%s)].map(gd => gd.__drawing || null));
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
}""" % json.dumps(PLOT)

# Counts the script runs the page sees start (full runs and fragment runs alike), so that a click can
# wait for the run it caused rather than find the page idle before that run has begun.
RUN_COUNTER_JS = """(() => {
  window.__bpttRuns = 0;
  new MutationObserver(changes => {
    for (const c of changes)
      if (c.target.getAttribute('data-test-script-state') === 'running') window.__bpttRuns++;
  }).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-test-script-state']});
})();"""

# Every box on the page that says something went wrong: uncaught exceptions (stException, with the
# redacted "This app has encountered an error" text under client.showErrorDetails = "none"), st.error
# and frontend element errors (alerts of the error kind), connection or app error dialogs, and a live
# chart that could not be drawn.
ERROR_BOXES_JS = """() => {
  const text = el => el.innerText.replace(/\\s+/g, ' ').trim().slice(0, 160);
  const out = [];
  for (const el of document.querySelectorAll('[data-testid="stException"]')) out.push('exception box: ' + text(el));
  for (const el of document.querySelectorAll('[data-testid="stAlertContentError"]'))
    if (!el.closest('[data-testid="stException"]')) out.push('error box: ' + text(el));
  for (const el of document.querySelectorAll('[role="dialog"], [data-testid="stDialog"]'))
    if (/error|exception/i.test(el.innerText)) out.push('dialog: ' + text(el));
  for (const el of document.querySelectorAll('[data-testid="%s"] > p')) out.push('chart: ' + text(el));
  if (!out.length && document.body.innerText.includes('This app has encountered an error'))
    out.push('page says: This app has encountered an error');
  return out;
}""" % CHART.split('"')[1]

# Streamlit's frontend probes a deep link's path for its endpoints before the root (/<page>/_stcore/
# health, host-config): those 404s are how it finds the server, not a fault of the lab.
_PROBE = re.compile(r"/_stcore/(health|host-config)$")


def is_local(url: str) -> bool:
    """Whether ``url`` stays on this machine: the lab's loopback server, or the page's own blob: and
    data: URLs."""
    parsed = urlparse(url)
    if parsed.scheme in ("blob", "data", "about", "chrome-error"):
        return True
    return parsed.hostname in LOCAL_HOSTS


class Watcher:
    """Records what goes wrong on a page: uncaught errors, console errors, requests that leave the
    machine, dialogs, error boxes in the page, and tracebacks or errors in the server's output.

    ``check(where)`` looks at all of them, notes every problem with ``where`` (the view, tab and button
    just pressed), and clears them; ``problems`` keeps the notes for one failure at the end.
    """

    def __init__(self, page, server: LabServer | None = None):
        self.page, self.server = page, server
        self.errors: list[str] = []      # uncaught JavaScript errors
        self.console: list[str] = []     # console.error messages
        self.external: list[str] = []    # requests to another host
        self.dialogs: list[str] = []     # alert()/confirm()
        self.problems: list[str] = []
        self.external_seen: set[str] = set()
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", self._on_console)
        page.on("request", self._on_request)
        page.on("websocket", lambda ws: self._on_request(ws))
        page.on("dialog", self._on_dialog)
        if server is not None:
            server.new_output()  # what came before this page is someone else's

    def _on_console(self, msg):
        if msg.type != "error":
            return
        where = (msg.location or {}).get("url", "")
        if msg.text.startswith("Failed to load resource: the server responded with a status of 404") \
                and _PROBE.search(urlparse(where).path) and is_local(where):
            return
        self.console.append(f"{msg.text} ({where})" if where else msg.text)

    def _on_request(self, request):
        if not is_local(request.url):
            self.external.append(request.url)
            self.external_seen.add(request.url)

    def _on_dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def check(self, where: str) -> list[str]:
        """Note (and return) every problem since the last check, each prefixed by ``where``."""
        found = [f"uncaught page error: {e}" for e in self.errors]
        found += [f"console error: {c}" for c in self.console]
        found += [f"request to another host: {u}" for u in dict.fromkeys(self.external)]
        found += [f"dialog: {d}" for d in self.dialogs]
        try:
            found += self.page.evaluate(ERROR_BOXES_JS)
        except Exception as exc:  # the page navigated while we looked: look again
            found.append(f"could not read the page: {exc}")
        if self.server is not None:
            found += [f"server log: {line[:200]}" for line in log_problems(self.server.new_output())]
        self.errors.clear(), self.console.clear(), self.external.clear(), self.dialogs.clear()
        counts = {}
        for p in found:
            counts[p] = counts.get(p, 0) + 1
        found = [f"{where}: {p}" + (f" (×{n})" if n > 1 else "") for p, n in counts.items()]
        self.problems += found
        return found

    def note(self, where: str, problem: str) -> None:
        self.problems.append(f"{where}: {problem}")

    def report(self, limit: int = 60) -> str:
        shown = self.problems[:limit]
        more = len(self.problems) - len(shown)
        return "\n".join(shown) + (f"\n… and {more} more" if more > 0 else "")


def new_page(context):
    pg = context.new_page()
    pg.set_default_timeout(WAIT_MS)
    return pg


def script_state(pg) -> str | None:
    return pg.evaluate("() => { const a = document.querySelector('[data-testid=\"stApp\"]');"
                       " return a && a.getAttribute('data-test-script-state'); }")


def runs(pg) -> int:
    return pg.evaluate("() => window.__bpttRuns || 0")


def wait_js(pg, js: str, what: str, timeout_ms: int = WAIT_MS, arg=None) -> None:
    """page.wait_for_function, raising AssertionError with what was awaited and where the page stood."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        pg.wait_for_function(js, arg=arg, timeout=timeout_ms)
    except PlaywrightTimeout:
        raise AssertionError(f"timed out after {timeout_ms / 1000:.0f} s waiting for {what}; url {pg.url}, "
                             f"script state {script_state(pg)!r}") from None


def settle(pg, runs_before: int | None = None, timeout_ms: int = WAIT_MS, start_ms: int = 2_000) -> None:
    """Wait for the script run a click caused (if ``runs_before`` is given and one starts within
    ``start_ms``) to end, and for every chart on the page to be drawn."""
    if runs_before is not None:
        try:
            pg.wait_for_function("(n) => (window.__bpttRuns || 0) > n", arg=runs_before, timeout=start_ms)
        except Exception:
            pass  # no run (a download, a popover drawn by the browser alone), or it was over before we looked
    wait_js(pg, IDLE_JS, "the script run to end", timeout_ms)
    wait_js(pg, CHARTS_READY_JS, "the charts to be drawn")
    pg.evaluate(CHARTS_DRAWN_JS)
    pg.wait_for_timeout(250)  # late deltas
    wait_js(pg, IDLE_JS, "the script run to end", timeout_ms)
    pg.evaluate(CHARTS_DRAWN_JS)


def open_page(pg, url: str, charts: int = 0) -> None:
    """Go to ``url`` and wait for its first script run to end and for (at least ``charts``) charts."""
    pg.goto(url, timeout=WAIT_MS)
    try:  # the page is idle before its first run has begun: wait for that run
        pg.wait_for_function("() => (window.__bpttRuns || 0) > 0", timeout=10_000)
    except Exception:
        pass
    settle(pg)
    if charts:  # a page that shows an error box instead of its charts fails at once
        wait_js(pg, "(n) => document.querySelectorAll(%s).length >= n || (%s)().length > 0"
                % (json.dumps(PLOT), ERROR_BOXES_JS), f"{charts} chart(s) on the page", arg=charts)
        if pg.evaluate("() => document.querySelectorAll(%s).length" % json.dumps(PLOT)) < charts:
            raise AssertionError(f"no chart on {pg.url}: " + "; ".join(pg.evaluate(ERROR_BOXES_JS)))
        settle(pg)


def view_url(base: str, url_path: str, query: dict | None = None) -> str:
    query = {k: v for k, v in (query or {}).items() if v is not None}
    text = "&".join(f"{quote(str(k))}={quote(str(v))}" for k, v in query.items())
    return f"{base}/{url_path}" + (f"?{text}" if text else "")


# --- what is on the page -----------------------------------------------------------------------

# Visible buttons under ``scope`` (a CSS selector), with their label: the text of the button's markdown
# label when it has one (an icon's ligature name stays out of it), else its text.
BUTTONS_JS = """(scope) => {
  const root = document.querySelector(scope);
  if (!root) return [];
  return [...root.querySelectorAll('button')].filter(b => b.getClientRects().length > 0).map((b, i) => {
    const md = b.querySelector('[data-testid="stMarkdownContainer"]');
    const label = (md ? md.innerText : b.innerText).replace(/\\s+/g, ' ').trim();
    return {label, testid: b.getAttribute('data-testid') || '', disabled: b.disabled,
            checked: b.getAttribute('aria-checked'), aria: b.getAttribute('aria-label') || '',
            within: [...new Set([...(function* () { for (let e = b.parentElement; e && e !== root; e = e.parentElement)
                       { const t = e.getAttribute('data-testid'); if (t) yield t;
                         for (const c of e.classList) if (c.startsWith('st-key-')) yield c; } })()])]};
  });
}"""

MARK_BUTTON_JS = """([scope, label, nth]) => {
  document.querySelectorAll('[data-bptt-target]').forEach(e => e.removeAttribute('data-bptt-target'));
  const root = document.querySelector(scope);
  if (!root) return false;
  const found = [...root.querySelectorAll('button')].filter(b => b.getClientRects().length > 0).filter(b => {
    const md = b.querySelector('[data-testid="stMarkdownContainer"]');
    return (md ? md.innerText : b.innerText).replace(/\\s+/g, ' ').trim() === label;
  });
  if (found.length <= nth) return false;
  found[nth].setAttribute('data-bptt-target', '1');
  return true;
}"""

MAIN = '[data-testid="stMain"]'
SIDEBAR = '[data-testid="stSidebar"]'


def buttons(pg, scope: str = MAIN) -> list[dict]:
    return pg.evaluate(BUTTONS_JS, scope)


def button(pg, label: str, scope: str = MAIN, nth: int = 0):
    """The visible button of ``scope`` whose label is exactly ``label``; AssertionError when there is none."""
    if not pg.evaluate(MARK_BUTTON_JS, [scope, label, nth]):
        shown = sorted({b["label"] for b in buttons(pg, scope) if b["label"]})
        raise AssertionError(f"no button {label!r} on {pg.url} (buttons: {shown})")
    return pg.locator('[data-bptt-target="1"]')


def click(pg, label: str, scope: str = MAIN, timeout_ms: int = WAIT_MS, nth: int = 0) -> None:
    """Press the button and wait for the script run it causes, and the charts."""
    before = runs(pg)
    button(pg, label, scope, nth).click()
    settle(pg, before, timeout_ms)


def tab_scope(url_path: str) -> str:
    return f'{MAIN} [class~="st-key-{tab_param(url_path)}"]'


def tabs(pg, url_path: str) -> list[str]:
    """The view's tabs, as its segmented control (ui/sections.py) offers them in the page."""
    return [b["label"] for b in buttons(pg, tab_scope(url_path)) if b["label"]]


def open_tab(pg, url_path: str) -> str | None:
    """The label of the view's open tab (the one checked), None without tabs."""
    for b in buttons(pg, tab_scope(url_path)):
        if b["checked"] == "true" or "Active" in b["testid"]:
            return b["label"]
    return None


def choose_tab(pg, url_path: str, label: str) -> None:
    if open_tab(pg, url_path) == label:
        return
    click(pg, label, tab_scope(url_path))
    wait_js(pg, "([k, v]) => new URLSearchParams(location.search).get(k) === v",
            f"the URL to carry the tab {label!r}", arg=[tab_param(url_path), label])


def slider_thumb(pg, key: str):
    """The slider of control ``key`` (found by its label in ui.controls.CONTROLS)."""
    return pg.locator(f'[data-testid="stSlider"] input[type="range"][aria-label="{CONTROLS[key].label}"], '
                      f'[data-testid="stSlider"] [role="slider"][aria-label="{CONTROLS[key].label}"]').first


def slider_value(pg, key: str) -> float:
    thumb = slider_thumb(pg, key)
    return float(thumb.get_attribute("aria-valuenow") or thumb.input_value())


REVEAL_JS = """(el) => { const d = el.closest('details');
  if (d && !d.open) { d.querySelector('summary').click(); return true; } return false; }"""


def press_slider(pg, key: str, *keys: str) -> float:
    """Press ``keys`` on the slider of ``key`` (opening the expander it is folded in, as a user would),
    wait for the rerun; its new value."""
    thumb = slider_thumb(pg, key)
    if not thumb.is_visible() and pg.evaluate(REVEAL_JS, thumb.element_handle()):
        thumb.wait_for(state="visible")
    thumb.focus()
    before = runs(pg)
    for k in keys:
        pg.keyboard.press(k)
    settle(pg, before)
    return slider_value(pg, key)


# --- the training lab's results ----------------------------------------------------------------

RUN, STOP = "Run", "Stop"  # the training lab's buttons (README: "progress bar and Stop")
SMALL_RUN = {"epochs": 1}  # a link to a comparison that trains in a few seconds


TRAINING_OVER_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const idle = app !== null && app.getAttribute('data-test-script-state') === 'notRunning';
  const now = idle && document.querySelector('[data-testid="stProgress"]') === null;
  // Over when it has looked over twice, half a second apart (the page may redraw its progress panel
  // in short runs of its own while the training goes on).
  if (!now) { window.__bpttOverSince = null; return false; }
  window.__bpttOverSince = window.__bpttOverSince || performance.now();
  return performance.now() - window.__bpttOverSince > 500;
}"""


def press_run(pg, timeout_ms: int = RUN_WAIT_MS) -> None:
    """Press Run and wait for the training to be over: its progress bar came (or the results, for a run
    too short to see it) and went, and the page is idle."""
    before = runs(pg)
    button(pg, RUN).click()
    started = """(n) => (window.__bpttRuns || 0) > n
        && (document.querySelector('[data-testid="stProgress"]') !== null || %s)""" % (
        "document.querySelector(%s) !== null" % json.dumps(tab_scope("training")))
    wait_js(pg, started, "the training to start (a progress bar or its results)", timeout_ms, arg=before)
    pg.evaluate("() => { window.__bpttOverSince = null; }")
    wait_js(pg, TRAINING_OVER_JS, "the training to end (its progress bar gone)", timeout_ms)
    settle(pg, None, timeout_ms)


def train_small(pg, base: str, query: dict | None = None) -> None:
    """Open the training lab with ``query`` (the small run by default) and make sure its comparison has
    finished: press Run unless the server has it already (a finished comparison is kept per
    configuration for the whole server), and wait for the tabs of its results."""
    url_path = "training"
    open_page(pg, view_url(base, url_path, query or SMALL_RUN), charts=1)
    if not tabs(pg, url_path):
        run = next((b for b in buttons(pg) if b["label"] == RUN), None)
        assert run is not None and not run["disabled"], f"the training lab offers no Run button to press: {pg.url}"
        press_run(pg)
    wait_js(pg, f"() => document.querySelector({json.dumps(tab_scope(url_path))}) !== null",
            "the training lab's result tabs", RUN_WAIT_MS)


def new_context(browser, viewport: dict | None = None, **kwargs):
    """A browser context whose pages count their script runs (``runs``, ``settle``)."""
    context = browser.new_context(viewport=viewport or {"width": 1440, "height": 900}, **kwargs)
    context.add_init_script(RUN_COUNTER_JS)
    return context


def warm_up(browser, server: LabServer) -> None:
    """Open the home page once, so that st.navigation has run on the server before any deep link."""
    context = new_context(browser)
    try:
        open_page(new_page(context), server.url + "/")
    finally:
        context.close()
