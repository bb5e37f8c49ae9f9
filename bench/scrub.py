"""Drag and see: the in-chart sliders, measured in Chromium, beside today's release-and-rerun.

What it measures
----------------
1. **Pointer move → chart repainted** (every chart of ``ui.registry.DRAGGED``, at the defaults): a real
   drag, mouse down and ``--moves`` moves over two seconds across the slider on the chart, then up. In
   the page, every ``input`` event of the slider is stamped with its event time; each redraw
   (from the frame, in an animation frame's callbacks, marked on the chart: its lines alone where the
   frame moves nothing else, else ``Plotly.react``; the table counts both) queues a
   task, which runs once the browser has painted that frame: its time is the repaint.
   A move's latency is its repaint minus its event time (moves that one redraw serves share it).
   WebSocket messages the page sends during the drag are counted: the target is none.
2. **The same change today**: a key press on the control's own widget (the sidebar or the view's row),
   which sends the value and reruns the script, until every chart has re-rendered (bench/latency.py's
   measurement), on the same page in the same run.
3. **Building a drag's frames** (Python, caches cleared): the grid from the core (the parameter on an
   array axis, computed with the first frame's figure: ``ui.drag.lazily``) and the figures of every frame, at the defaults and at the heaviest settings a view
   offers (T = 1000, h = 256, ρ = 3; K = 2000 for the powers), with the number of frames.

Targets (PASS/MISS, exit status 0 either way): repaint median ≤ 16 ms and p95 ≤ 33 ms with no message
sent; grid ≤ 150 ms at the defaults and frames ≤ 1.5 s at the heaviest settings.

Run from the repository root: ``.venv/bin/python bench/scrub.py`` (about three minutes),
``--builds-only`` for part 3 alone, ``--pages unrolled,scalar`` for some views.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

REPAINT_MEDIAN_MS, REPAINT_P95_MS = 16.0, 33.0
GRID_DEFAULT_MS, FRAMES_HEAVY_S = 150.0, 1.5

SCRUB_JS = """
window.__scrub = {
  arm(index) {
    const input = document.querySelectorAll('[data-testid="bpttScrub"] input[type=range]')[index];
    const gd = input.closest('[data-testid="bpttLiveChart"]').querySelector('.bptt-plot');
    const s = {pending: [], latencies: [], frames: new Set(), lines: new Set()};
    s.onInput = (e) => s.pending.push(e.timeStamp);
    input.addEventListener('input', s.onInput);
    // The chart draws a frame inside an animation frame's callbacks; the browser paints right after them,
    // so a task queued then runs once the frame is on screen.
    s.observer = new MutationObserver(() => {
      const served = s.pending.splice(0);
      s.frames.add(gd.getAttribute('data-frame'));
      if (gd.__lines) s.lines.add(gd.getAttribute('data-frame'));   // drawn by its lines alone (drawLines)
      setTimeout(() => { const t = performance.now(); for (const t0 of served) s.latencies.push(t - t0); }, 0);
    });
    s.observer.observe(gd, {attributes: true, attributeFilter: ['data-frame']});
    s.input = input;
    window.__scrubState = s;
  },
  done() {
    const s = window.__scrubState;
    s.observer.disconnect();
    s.input.removeEventListener('input', s.onInput);
    return {latencies: s.latencies, frames: s.frames.size, lines: s.lines.size};
  },
};
"""


def pct(samples, q):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def drag(page, index: int, moves: int) -> dict:
    """One two-second drag on the chart's ``index``-th slider: latencies (ms), frames drawn, messages sent."""
    sent = page.__dict__.setdefault("_sent", [])
    slider = page.locator('[data-testid="bpttScrub"] input[type=range]').nth(index)
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    x0, x1 = box["x"] + 0.05 * box["width"], box["x"] + 0.95 * box["width"]
    page.evaluate("(i) => window.__scrub.arm(i)", index)
    page.mouse.move(x0, y)
    page.mouse.down()
    before = len(sent)
    start = time.monotonic()
    for k in range(1, moves + 1):
        page.mouse.move(x0 + (x1 - x0) * k / moves, y)
        wait = start + 2.0 * k / moves - time.monotonic()
        if wait > 0:
            page.wait_for_timeout(wait * 1000)
    messages = len(sent) - before
    result = page.evaluate("() => window.__scrub.done()")
    page.mouse.up()
    return dict(latencies=result["latencies"], frames=result["frames"], lines=result["lines"], messages=messages)


def rerun_presses(page, key: str, presses: int, quiet_ms: int = 150) -> list[float]:
    """``presses`` key presses on the control's own widget, each until every chart re-rendered (ms)."""
    from latency import IDLE_JS, press

    from ui.controls import CONTROLS
    thumb = page.locator(f'[data-testid="stSlider"] input[type="range"][aria-label="{CONTROLS[key].label}"]').first
    out = []
    for _ in range(presses):
        r = press(page, thumb, 60_000, quiet_ms)
        if r["status"] == "ok" and r["ms"] is not None:
            out.append(r["ms"])
        page.wait_for_function(IDLE_JS, timeout=60_000)
    return out


def browser_part(pages: set | None, moves: int, presses: int) -> list[dict]:
    from latency import MEASURE_JS, App, wait_ready
    from playwright.sync_api import sync_playwright

    from tests.browser_support import view_url
    from tools.streamlit_server import CHROMIUM, CHROMIUM_ARGS
    from ui.registry import DRAGGED, tab_param

    rows = []
    server = App("app.py")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            for url_path, tab, keys in DRAGGED:
                if pages and url_path not in pages:
                    continue
                context = browser.new_context(viewport={"width": 1440, "height": 900})
                page = context.new_page()
                page.set_default_timeout(60_000)
                page.add_init_script(MEASURE_JS + SCRUB_JS)
                page._sent = []
                page.on("websocket", lambda ws, p=page: ws.on("framesent", lambda _: p._sent.append(1)))
                page.goto(view_url(server.url, url_path, {tab_param(url_path): tab}))
                wait_ready(page)
                page.wait_for_selector('[data-testid="bpttScrub"] input[type=range]')
                for index, key in enumerate(keys):
                    drag(page, index, moves)  # warm-up: plotly's first draws of each trace are slower
                    page.wait_for_timeout(1500)
                    wait_ready(page)
                    d = drag(page, index, moves)
                    page.wait_for_timeout(1500)
                    wait_ready(page)
                    today = rerun_presses(page, key, presses)
                    rows.append(dict(view=f"{url_path} · {tab}", key=key, n=len(d["latencies"]),
                                     median=statistics.median(d["latencies"]) if d["latencies"] else float("nan"),
                                     p95=pct(d["latencies"], 0.95), frames=d["frames"], lines=d["lines"],
                                     messages=d["messages"],
                                     today=statistics.median(today) if today else float("nan")))
                    print(_browser_line(rows[-1]), flush=True)
                context.close()
            browser.close()
    finally:
        server.stop()
    return rows


def _browser_line(r: dict) -> str:
    ok = r["median"] <= REPAINT_MEDIAN_MS and r["p95"] <= REPAINT_P95_MS and r["messages"] == 0
    return (f"| {r['view']} | {r['key']} | {r['median']:.1f} | {r['p95']:.1f} | {r['frames']} | {r['lines']} "
            f"| {r['messages']} | "
            f"{r['today']:.0f} | {'PASS' if ok else 'MISS'} |")


# --- part 3: building the frames ---------------------------------------------------------------

HEAVY = dict(T=1000, h=256, rho=3.0)


def build_part() -> list[dict]:
    """Every drag builder of ui/drags.py at the defaults and at the heaviest settings, caches cleared."""
    import streamlit as st

    from ui import compute, drag as drag_module, drags
    from ui.controls import CONTROLS, SHARED, Model

    def model(**over) -> Model:
        return Model(**{k: over.get(k, CONTROLS[k].default) for k in SHARED})

    def cases(m: Model, K: int):
        cmp = compute.strategy_comparison(m, CONTROLS["tau"].default, CONTROLS["pi"].default)
        return {
            "unrolled · Graph (T = 3)": lambda: (drags.graph_drag(m), ""),
            "unrolled · Gradient over time": lambda: drags.over_time_drag(m)[::2],
            "eigenvalues · Eigenvalues": lambda: drags.matrix_drag(m, drags.plane_chart),
            "eigenvalues · Singular values (non-normal)": lambda: drags.matrix_drag(m._replace(kind="nonnormal"), drags.singular_chart),
            "eigenvalues · Powers (non-normal)": lambda: drags.powers_drag(m._replace(kind="nonnormal"), K),
            "jacobians · Against the lag": lambda: drags.lags_drag(m, ("identity", "tanh", "sigmoid")),
            "truncation · Per-step gradients": lambda: drags.per_step_drags(m, CONTROLS["tau"].default,
                                                                            CONTROLS["pi"].default, cmp),
            "scalar · Terms": lambda: (drags.c_drag(m.T, 0.0, m.seed), ""),
        }

    rows = []
    for setting, m, K in (("defaults", model(), CONTROLS["K"].default),
                          ("heaviest", model(**HEAVY), CONTROLS["K"].hi)):
        for name, make in cases(m, K).items():
            st.cache_data.clear()
            t0 = time.perf_counter()
            built, note = make()
            for d in built:   # a drag's grid is computed on its first frame (ui.drag.lazily): that frame's figure too
                d.build(d.values[0])
            t1 = time.perf_counter()
            frames = 0
            for d in built:
                drag_module.frames_of(d, lambda f: f, (False, False))
                frames += len(d.values)
            t2 = time.perf_counter()
            rows.append(dict(setting=setting, chart=name, grid=(t1 - t0) * 1e3, frames_s=t2 - t0, n=frames,
                             note="drag off: " + note.strip() if not built else ""))
            print(_build_line(rows[-1]), flush=True)
    return rows


def _build_line(r: dict) -> str:
    target = r["grid"] <= GRID_DEFAULT_MS if r["setting"] == "defaults" else r["frames_s"] <= FRAMES_HEAVY_S
    return (f"| {r['setting']} | {r['chart']} | {r['grid']:.0f} | {r['frames_s']:.2f} | {r['n']} | "
            f"{'PASS' if target else 'MISS'} | {r['note']} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--moves", type=int, default=60, help="pointer moves in the two-second drag")
    ap.add_argument("--presses", type=int, default=5, help="key presses on the widget, for today's way")
    ap.add_argument("--pages", default="", help="comma-separated views (url paths)")
    ap.add_argument("--builds-only", action="store_true")
    args = ap.parse_args()
    print("## Building a drag's frames (Python, caches cleared)\n")
    print("| settings | chart | grid (ms) | grid + frames (s) | frames | target | |\n|---|---|---:|---:|---:|:---:|---|")
    build_part()
    if args.builds_only:
        return 0
    print("\n## Pointer move → chart repainted, in Chromium (1440×900)\n")
    print("| chart | dragged | median (ms) | p95 (ms) | frames drawn | of them in place | messages sent "
          "| today: press → rerun drawn (ms, median) | target |\n|---|---|---:|---:|---:|---:|---:|---:|:---:|")
    browser_part({p for p in args.pages.split(",") if p} or None, args.moves, args.presses)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
