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
the computation. Median and 90th percentile over ``--repeats`` presses (15; 5 with ``--quick``).
The trivial app is measured before and after the pages, in the same run, with the same browser.
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

from tools.streamlit_server import CHROMIUM, CHROMIUM_ARGS, StreamlitServer  # noqa: E402
from ui.registry import VIEWS  # noqa: E402

TARGET_RATIO = 1.5
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


def measure(browser, url: str, name: str, repeats: int, quiet_ms: int, timeout_ms: int) -> dict:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.add_init_script(MEASURE_JS)
    page.goto(url)
    wait_ready(page)

    # Probe: one press per slider; keep the one that changes the most charts.
    best, best_changed, probes = None, 0, []
    for i, thumb in enumerate(thumbs(page)):
        r = press(page, thumb, timeout_ms, quiet_ms)
        probes.append(f"{r['label']}:{r['changed']}/{r['charts']}")
        if r["changed"] > best_changed:
            best, best_changed = i, r["changed"]
    if best is None:
        context.close()
        return dict(name=name, samples=[], note="no slider changed a chart (" + ", ".join(probes) + ")")

    press(page, thumbs(page)[best], timeout_ms, quiet_ms)  # warm-up
    samples, script, changed, charts, label, timeouts = [], [], [], 0, "", 0
    for _ in range(repeats):
        r = press(page, thumbs(page)[best], timeout_ms, quiet_ms)
        label, charts = r["label"], r["charts"]
        if r["status"] != "ok" or r["ms"] is None:
            timeouts += 1
            continue
        samples.append(r["ms"])
        changed.append(r["changed"])
        if r["script_ms"] is not None:
            script.append(r["script_ms"])
    note = f"slider “{label}”, {min(changed, default=0)}–{max(changed, default=0)} of {charts} charts change"
    if script:
        note += f"; the script run ends {statistics.median(script):.0f} ms after the key press (median)"
    if timeouts:
        note += f", {timeouts} press(es) timed out"
    if errors:
        note += f", JavaScript errors: {errors[:2]}"
    if page.locator('[data-testid="stException"]').count():
        note += ", an exception box is shown"
    context.close()
    return dict(name=name, samples=samples, note=note)


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 presses per page instead of 15")
    parser.add_argument("--repeats", type=int, default=None, help="presses per page (default 15, 5 with --quick)")
    parser.add_argument("--pages", default="", help="comma-separated url paths (default: every view)")
    parser.add_argument("--quiet", type=int, default=400, help="ms without chart changes that end a press")
    parser.add_argument("--timeout", type=int, default=30_000, help="ms before a press is given up")
    args = parser.parse_args()
    repeats = args.repeats or (5 if args.quick else 15)
    wanted = [p for p in args.pages.split(",") if p]
    views = [v for v in VIEWS if not wanted or v.url_path in wanted]
    missing = [v.path for v in views if not (ROOT / v.path).is_file()]

    lab, trivial, live = App("app.py"), App("bench/trivial_app.py"), App("bench/trivial_live_app.py")
    results = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            first = measure(browser, trivial.url, "trivial app", repeats, args.quiet, args.timeout)
            live_result = measure(browser, live.url, "trivial app, live chart", repeats, args.quiet, args.timeout)
            for view in views:
                if view.path in missing:
                    results.append(dict(name=view.url_path, samples=[], note=f"{view.path} does not exist"))
                    continue
                results.append(measure(browser, f"{lab.url}/{view.url_path}", view.url_path, repeats,
                                       args.quiet, args.timeout))
            second = measure(browser, trivial.url, "trivial app", repeats, args.quiet, args.timeout)
            browser.close()
    finally:
        lab.stop()
        trivial.stop()
        live.stop()

    base_samples = first["samples"] + second["samples"]
    if not base_samples:
        print("The trivial app could not be measured:", first["note"], second["note"])
        return 1
    base = statistics.median(base_samples)

    print(f"Slider → every chart re-rendered, Chromium {CHROMIUM}, {repeats} presses per page "
          f"(median, 90th percentile). Trivial app: {first['note']}; before the pages "
          f"{statistics.median(first['samples']):.0f} ms, after {statistics.median(second['samples']):.0f} ms.\n")
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
