"""Slider-to-chart latency of every page, in real Chromium, against a trivial Streamlit + Plotly app.

What it measures
----------------
For the lab's home page links (every view of ``ui.registry.VIEWS``) and for ``bench/trivial_app.py``
(one ``st.slider`` feeding one Plotly line chart): the time from a key press on a slider thumb
(ArrowRight; ArrowLeft at the top of the range) to the moment every Plotly chart that the move
changes has finished re-rendering. In the page, a keydown listener (capture phase) stamps
``performance.now()``; a MutationObserver stamps every DOM change inside a chart whose figure was
replaced (``gd.data`` is a new object, or the chart element itself is new); the measurement ends
when the script run is over (``data-test-script-state="notRunning"``) and no chart has changed for
``--quiet`` ms. The latency is the last chart change minus the key press.

Each page uses the slider that changes the most charts there (found by one probe press per slider
before timing). Every press moves the slider one step further, so the page's caches do not hide
the computation. Median and 90th percentile over ``--repeats`` presses (15; 5 with ``--quick``),
taken in three interleaved rounds: every page (the trivial app first) is open in its own browser
context for the whole run and gets a third of its presses in each round, so load from the other
tenants of this shared machine falls on all pages alike rather than on whichever came at the time.
``bench/trivial_live_app.py``, the same app with its chart drawn as the lab draws its charts
(``ui.live_chart``), is measured too and shown beside it: how much of a view's time is its chart's
redraw, and how much the rest of the page.

Target (PASS/MISS, exit status 0 either way): a page's median at most 1.5× the trivial app's.

Run
---
From the repository root::

    python bench/latency.py            # about two minutes
    python bench/latency.py --quick    # fewer presses
    python bench/latency.py --pages unrolled,scalar

The truncation view and the training lab draw on The Time Machine when ``BPTT_TIME_MACHINE`` names
a copy (or the cache holds one), else on the project's short text; the training lab's charts are
larger with the book, so the header says which text the run had.

Chromium is Debian's ``/usr/bin/chromium`` (Playwright's own download does not work here).
Each app is started with ``streamlit run`` on a free loopback port and stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from bptt_core.text import load_time_machine  # noqa: E402
from tools.streamlit_server import CHROMIUM, CHROMIUM_ARGS, StreamlitServer  # noqa: E402
from ui.registry import VIEWS  # noqa: E402

TARGET_RATIO = 1.5
ROUNDS = 3  # interleaved rounds of presses over all pages
WARM_UP = 3  # untimed presses per page first (a tab's first redraws are slower)
WAIT_MS = 60_000
# A chart's holder: Streamlit's own st.plotly_chart (the trivial app) or the lab's live chart.
CHART_HOLDERS = '[data-testid="stPlotlyChart"], [data-testid="bpttLiveChart"]'

IDLE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return app !== null && app.getAttribute('data-test-script-state') === 'notRunning'
      && document.querySelector('[data-testid="stStatusWidgetRunningIcon"]') === null;
}"""

CHARTS_READY_JS = """() => {
  const holders = [...document.querySelectorAll(CHART_HOLDERS)];
  return holders.length > 0 && holders.every(h => {
    const gd = h.querySelector('.js-plotly-plot'); return gd && gd.data && gd._fullLayout; });
}""".replace("CHART_HOLDERS", json.dumps(CHART_HOLDERS))

# arm(): remember every chart's figure and start listening; then a key press; then wait().
# Charts are tracked by their element (a rerun may add, remove or replace some).
MEASURE_JS = """
window.__latency = {
  arm() {
    const holders = () => [...document.querySelectorAll(CHART_HOLDERS)];
    const state = () => { const a = document.querySelector('[data-testid="stApp"]');
                          return a ? a.getAttribute('data-test-script-state') : null; };
    const s = {t0: null, sawRunning: false, idleAt: null, last: new Map(), before: new Map(), holders, state};
    for (const h of holders()) {
      const gd = h.querySelector('.js-plotly-plot');
      s.before.set(h, {gd, data: gd ? gd.data : null});
    }
    const changed = (h) => {
      const gd = h.querySelector('.js-plotly-plot'), was = s.before.get(h);
      return !!gd && (!was || gd !== was.gd || gd.data !== was.data);
    };
    s.onKey = () => { if (s.t0 === null) s.t0 = performance.now(); };
    document.addEventListener('keydown', s.onKey, {capture: true});
    s.observer = new MutationObserver((records) => {
      const now = performance.now();
      if (s.t0 === null) return;
      const st = state();
      if (st !== 'notRunning') { s.sawRunning = true; s.idleAt = null; }
      else if (s.sawRunning && s.idleAt === null) s.idleAt = now;
      for (const r of records) {
        const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
        const h = el && el.closest(CHART_HOLDERS);
        if (h && changed(h)) s.last.set(h, now);
      }
    });
    s.observer.observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
    window.__latencyState = s;
  },
  wait(timeoutMs, quietMs) {
    const s = window.__latencyState;
    return new Promise((resolve) => {
      const started = performance.now();
      const lastChange = () => {
        const live = [...s.last.entries()].filter(([h]) => h.isConnected).map(([, t]) => t);
        return {n: live.length, t: live.length ? Math.max(...live) : null};
      };
      const finish = (status) => {
        clearInterval(timer); s.observer.disconnect();
        document.removeEventListener('keydown', s.onKey, {capture: true});
        const {n, t} = lastChange();
        resolve({status, ms: (t !== null && s.t0 !== null) ? t - s.t0 : null,
                 script_ms: (s.idleAt !== null && s.t0 !== null) ? s.idleAt - s.t0 : null,
                 changed: n, charts: s.holders().length});
      };
      const timer = setInterval(() => {
        const now = performance.now();
        const idle = s.state() === 'notRunning';
        if (!idle) { s.sawRunning = true; s.idleAt = null; }
        else if (s.sawRunning && s.idleAt === null) s.idleAt = now;
        const {t} = lastChange();
        const begun = s.sawRunning || t !== null;
        const since = t !== null ? now - t : now - (s.t0 === null ? started : s.t0);
        if (idle && begun && since >= quietMs) finish('ok');
        else if (now - started > timeoutMs) finish('timeout');
      }, 10);
    });
  },
};
""".replace("CHART_HOLDERS", json.dumps(CHART_HOLDERS))


def App(script: str) -> StreamlitServer:
    """`streamlit run <script>`; exits the benchmark with the server's output if it does not start."""
    try:
        return StreamlitServer(script, tempfile.TemporaryFile())
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None


def wait_ready(page):
    page.wait_for_function(IDLE_JS, timeout=WAIT_MS)
    page.wait_for_function(CHARTS_READY_JS, timeout=WAIT_MS)
    page.wait_for_timeout(500)
    page.wait_for_function(IDLE_JS, timeout=WAIT_MS)


def thumbs(page):
    out = []
    for scope in ('[data-testid="stSidebar"]', '[data-testid="stMain"]'):
        loc = page.locator(f'{scope} [data-testid="stSlider"] input[type="range"]')
        out += [loc.nth(i) for i in range(loc.count())]
    return out


def press(page, thumb, timeout_ms: int, quiet_ms: int) -> dict:
    """One timed key press on ``thumb``: {'status', 'ms', 'changed', 'charts', 'label'}."""
    at_top = float(thumb.input_value()) >= float(thumb.get_attribute("max"))
    thumb.focus()
    page.evaluate("() => window.__latency.arm()")
    page.keyboard.press("ArrowLeft" if at_top else "ArrowRight")
    result = page.evaluate("([t, q]) => window.__latency.wait(t, q)", [timeout_ms, quiet_ms])
    result["label"] = thumb.get_attribute("aria-label")
    page.wait_for_function(IDLE_JS, timeout=WAIT_MS)
    return result


def open_session(browser, url: str, name: str, quiet_ms: int, timeout_ms: int) -> dict:
    """``url`` opened in a fresh browser context and ready to time: the slider that changes the most
    charts, found by one probe press per slider, then ``WARM_UP`` untimed presses on it. Samples and notes
    gather in the returned dict (see ``time_presses`` and ``close_session``)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    session = dict(name=name, context=context, page=page, errors=[], slider=None, probes=[],
                   samples=[], script=[], changed=[], charts=0, label="", timeouts=0)
    page.on("pageerror", lambda exc: session["errors"].append(str(exc)))
    page.add_init_script(MEASURE_JS)
    page.goto(url)
    wait_ready(page)
    best_changed = 0
    for i, thumb in enumerate(thumbs(page)):
        r = press(page, thumb, timeout_ms, quiet_ms)
        session["probes"].append(f"{r['label']}:{r['changed']}/{r['charts']}")
        if r["changed"] > best_changed:
            session["slider"], best_changed = i, r["changed"]
    for _ in range(WARM_UP if session["slider"] is not None else 0):
        press(page, thumbs(page)[session["slider"]], timeout_ms, quiet_ms)
    return session


def time_presses(session: dict, n: int, quiet_ms: int, timeout_ms: int) -> list[float]:
    """``n`` timed presses on the session's slider; returns this batch's latencies (ms) and keeps them."""
    page, batch = session["page"], []
    for _ in range(n if session["slider"] is not None else 0):
        r = press(page, thumbs(page)[session["slider"]], timeout_ms, quiet_ms)
        session["label"], session["charts"] = r["label"], r["charts"]
        if r["status"] != "ok" or r["ms"] is None:
            session["timeouts"] += 1
            continue
        batch.append(r["ms"])
        session["changed"].append(r["changed"])
        if r["script_ms"] is not None:
            session["script"].append(r["script_ms"])
    session["samples"] += batch
    return batch


def close_session(session: dict) -> dict:
    """{'name', 'samples', 'note'}: the latencies, and which slider, how many charts, what went wrong."""
    if session["slider"] is None:
        note = "no slider changed a chart (" + ", ".join(session["probes"]) + ")"
    else:
        changed = session["changed"]
        note = (f"slider “{session['label']}”, {min(changed, default=0)}–{max(changed, default=0)} of "
                f"{session['charts']} charts change")
        if session["script"]:
            note += f"; the script run ends {statistics.median(session['script']):.0f} ms after the key press (median)"
        if session["timeouts"]:
            note += f", {session['timeouts']} press(es) timed out"
    if session["errors"]:
        note += f", JavaScript errors: {session['errors'][:2]}"
    if session["page"].locator('[data-testid="stException"]').count():
        note += ", an exception box is shown"
    session["context"].close()
    return dict(name=session["name"], samples=session["samples"], note=note)


def measure(browser, url: str, name: str, repeats: int, quiet_ms: int, timeout_ms: int) -> dict:
    """One page on its own: ``repeats`` timed presses; {'name', 'samples', 'note'}."""
    session = open_session(browser, url, name, quiet_ms, timeout_ms)
    time_presses(session, repeats, quiet_ms, timeout_ms)
    return close_session(session)


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def text_in_use() -> str:
    """Which text the truncation and training views draw on in this run (the server inherits our environment)."""
    try:
        loaded = load_time_machine()
    except (OSError, ValueError) as exc:
        return f"the project's short text ({exc})"
    return "The Time Machine" if loaded.source != "fallback" else "the project's short text (no copy of the book)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 presses per page instead of 15")
    parser.add_argument("--repeats", type=int, default=None, help="presses per page, over three rounds (default 15, 5 with --quick)")
    parser.add_argument("--pages", default="", help="comma-separated url paths (default: every view)")
    parser.add_argument("--quiet", type=int, default=400, help="ms without chart changes that end a press")
    parser.add_argument("--timeout", type=int, default=30_000, help="ms before a press is given up")
    args = parser.parse_args()
    repeats = args.repeats or (5 if args.quick else 15)
    wanted = [p for p in args.pages.split(",") if p]
    views = [v for v in VIEWS if not wanted or v.url_path in wanted]
    missing = [v.path for v in views if not (ROOT / v.path).is_file()]

    lab, trivial, live = App("app.py"), App("bench/trivial_app.py"), App("bench/trivial_live_app.py")
    per_round = -(-repeats // ROUNDS)
    trivial_rounds = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            sessions = [open_session(browser, trivial.url, "trivial app", args.quiet, args.timeout),
                        open_session(browser, live.url, "trivial app, live chart", args.quiet, args.timeout)]
            sessions += [open_session(browser, f"{lab.url}/{view.url_path}", view.url_path, args.quiet, args.timeout)
                         for view in views if view.path not in missing]
            # Rounds: every page pressed in turn, so a burst of load on this shared machine falls on
            # all of them instead of on whichever page happened to be measured at the time.
            for _ in range(ROUNDS):
                for session in sessions:
                    batch = time_presses(session, per_round, args.quiet, args.timeout)
                    if session is sessions[0] and batch:
                        trivial_rounds.append(statistics.median(batch))
            base_result, live_result, *results = [close_session(s) for s in sessions]
            browser.close()
    finally:
        lab.stop()
        trivial.stop()
        live.stop()
    measured = iter(results)
    results = [dict(name=v.url_path, samples=[], note=f"{v.path} does not exist") if v.path in missing
               else next(measured) for v in views]

    base_samples = base_result["samples"]
    if not base_samples:
        print("The trivial app could not be measured:", base_result["note"])
        return 1
    base = statistics.median(base_samples)

    print(f"Slider → every chart re-rendered, Chromium {CHROMIUM}, {per_round * ROUNDS} presses per page in "
          f"{ROUNDS} interleaved rounds (median, 90th percentile), the views' text: {text_in_use()}. "
          f"Trivial app: {base_result['note']}; its median per round "
          + ", ".join(f"{m:.0f}" for m in trivial_rounds) + " ms.\n")
    print("| page | median ms | p90 ms | × trivial | target ≤ 1.5× |")
    print("|---|---:|---:|---:|---|")
    print(f"| trivial app | {base:.0f} | {pct(base_samples, 0.9):.0f} | 1.00 | — |")
    for r in [live_result] + results:
        if not r["samples"]:
            print(f"| {r['name']} | n/a | n/a | n/a | MISS ({r['note']}) |")
            continue
        med = statistics.median(r["samples"])
        ratio = med / base
        verdict = "(its chart as the views draw theirs)" if r is live_result else \
            "PASS" if ratio <= TARGET_RATIO else "MISS"
        print(f"| {r['name']} | {med:.0f} | {pct(r['samples'], 0.9):.0f} | {ratio:.2f} | {verdict} |")
    print()
    for r in results:
        print(f"- {r['name']}: {r['note']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
