"""`make screenshots`: the whole gallery, every view × tab on the three screens of the layout checks.

Starts the lab (`streamlit run app.py` on a free loopback port, tools/streamlit_server.py), trains the
training lab's small comparison so that its result tabs exist, and writes, for every screen of
tests/browser_support.py SCREENS (1440×900, 1280×720 in presentation mode, 800×1000):

    artifacts/gallery/<screen>/<view>__<tab>.png        what the first screen shows
    artifacts/gallery/<screen>/<view>__<tab>__full.png  the whole page

with the home page as ``home__home``, and ``artifacts/gallery/index.html``, a grid of them (click a
picture for the whole page). Views come from ui/registry.py and tabs from each view's segmented
control in the page, so a new view or tab joins the gallery by itself. About five minutes here.

    .venv/bin/python tools/screenshots.py [--out DIR] [--screens 1440x900 ...] [--views unrolled ...]
"""

from __future__ import annotations

import argparse
import html
import os
import re
import sys
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script

from tests.browser_support import (CHARTS_DRAWN_JS, SCREENS, SMALL_RUN, LabServer, choose_tab, new_context, new_page,  # noqa: E402
                                   open_page, settle, tabs, train_small, view_url, warm_up)
from tools.streamlit_server import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from ui.registry import VIEWS  # noqa: E402

OUT = ROOT / "artifacts" / "gallery"
MAX_HEIGHT = 12_000  # px of a whole-page screenshot at most

_GREEK = {"ρ": "rho", "τ": "tau", "π": "pi", "σ": "sigma", "λ": "lambda", "φ": "phi", "θ": "theta", "∂": "d",
          "ξ": "xi", "γ": "gamma", "ε": "eps"}


def slug(text: str) -> str:
    """A file-name part for a view or tab label: "Sources of ∂L/∂W_hh" → "sources-of-dl-dw_hh"."""
    text = "".join(_GREEK.get(ch, ch) for ch in text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9_]+", "-", text.lower()).strip("-") or "tab"


def top_of_page(pg) -> None:
    pg.evaluate("""() => { window.scrollTo(0, 0);
        for (const el of document.querySelectorAll('[data-testid="stMain"]')) el.scrollTop = 0; }""")
    pg.wait_for_timeout(100)


def whole_page(pg, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main block, so grow the viewport to its height."""
    size = pg.viewport_size
    height = pg.evaluate("() => Math.max(...[...document.querySelectorAll("
                         "'[data-testid=\"stMain\"], [data-testid=\"stSidebarContent\"]')]"
                         ".map(e => e.scrollHeight), 0)")
    pg.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(height), MAX_HEIGHT))})
    pg.wait_for_timeout(300)
    pg.evaluate(CHARTS_DRAWN_JS)  # charts redraw for the new height
    pg.screenshot(path=str(path), full_page=True)
    pg.set_viewport_size(size)
    pg.wait_for_timeout(300)
    pg.evaluate(CHARTS_DRAWN_JS)


def shoot(pg, folder: Path, stem: str) -> tuple[str, str]:
    try:
        settle(pg)
    except AssertionError as exc:  # photograph it as it is
        print(f"    {stem}: {exc}", flush=True)
    top_of_page(pg)
    first, full = f"{stem}.png", f"{stem}__full.png"
    pg.screenshot(path=str(folder / first))
    whole_page(pg, folder / full)
    return first, full


def gallery_screen(browser, server: LabServer, screen, out: Path, views,
                   problems: list[str]) -> list[tuple[str, str, str, str]]:
    """Every view × tab on one screen; (view, tab, first-screen file, whole-page file) in page order.

    A page that does not come as expected (an error, no chart) is photographed as it is, and noted in
    ``problems``: the gallery shows what the lab shows."""
    name, viewport, presenting = screen
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    shots = []
    context = new_context(browser, viewport)
    try:
        pg = new_page(context)
        display = {"present": 1} if presenting else {}

        def attempt(what: str, action, *args, **kwargs) -> None:
            try:
                action(*args, **kwargs)
            except AssertionError as exc:
                problems.append(f"{name}: {what}: {exc}")
                print(f"  {name}: {what}: {exc}", flush=True)

        if "home" in views:
            attempt("home", open_page, pg, view_url(server.url, "", display))
            shots.append(("Home", "", *shoot(pg, folder, "home__home")))
            print(f"  {name}: home", flush=True)
        for view in VIEWS:
            if view.url_path not in views:
                continue
            query = {**(SMALL_RUN if view.url_path == "training" else {}), **display}
            attempt(view.url_path, open_page, pg, view_url(server.url, view.url_path, query), charts=1)
            labels = tabs(pg, view.url_path) or [None]
            used = set()
            for tab in labels:
                if tab is not None:
                    attempt(f"{view.url_path} / {tab}", choose_tab, pg, view.url_path, tab)
                part = slug(tab) if tab is not None else "page"
                while part in used:
                    part += "-"
                used.add(part)
                shots.append((view.title, tab or "", *shoot(pg, folder, f"{view.url_path}__{part}")))
            print(f"  {name}: {view.url_path} ({len(labels)} tab(s))", flush=True)
    finally:
        context.close()
    return shots


INDEX_CSS = """body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
h2 { margin-top: 2.5rem; } h3 { margin: 1.5rem 0 .5rem; }
.row { display: flex; flex-wrap: wrap; gap: 1rem; }
figure { margin: 0; width: 340px; } figure img { width: 100%; border: 1px solid #ccc; }
figcaption { font-size: .85rem; margin-top: .25rem; }"""


def write_index(out: Path, gallery: dict[str, list]) -> Path:
    parts = [f"<!doctype html><meta charset='utf-8'><title>BPTT Lab gallery</title><style>{INDEX_CSS}</style>",
             "<h1>BPTT Lab: every view × tab</h1>",
             "<p>First screen as the viewer sees it; click for the whole page. Made by "
             "<code>make screenshots</code> (tools/screenshots.py).</p>"]
    for screen, shots in gallery.items():
        parts.append(f"<h2>{html.escape(screen)}</h2>")
        by_view: dict[str, list] = {}
        for view, tab, first, full in shots:
            by_view.setdefault(view, []).append((tab, first, full))
        for view, cells in by_view.items():
            parts.append(f"<h3>{html.escape(view)}</h3><div class='row'>")
            for tab, first, full in cells:
                src, big = html.escape(f"{screen}/{first}"), html.escape(f"{screen}/{full}")
                parts.append(f"<figure><a href='{big}'><img src='{src}' loading='lazy' alt='{html.escape(tab)}'></a>"
                             f"<figcaption>{html.escape(tab or 'the page')}</figcaption></figure>")
            parts.append("</div>")
    index = out / "index.html"
    index.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return index


def main(argv=None) -> int:
    names = [s[0] for s in SCREENS]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder of the gallery (default {OUT})")
    parser.add_argument("--screens", nargs="+", choices=names, default=names)
    parser.add_argument("--views", nargs="+", choices=["home"] + [v.url_path for v in VIEWS],
                        default=["home"] + [v.url_path for v in VIEWS])
    args = parser.parse_args(argv)
    if not os.path.exists(CHROMIUM):
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    server = LabServer("screenshots")
    print(f"the lab at {server.url} (log {server.log_path})", flush=True)
    gallery, problems = {}, []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                warm_up(browser, server)
                if "training" in args.views:
                    context = new_context(browser)
                    try:
                        train_small(new_page(context), server.url, SMALL_RUN)
                    except AssertionError as exc:
                        print(f"  the training lab's small run did not finish, its tabs are missing: {exc}")
                        problems.append(f"training run: {exc}")
                    finally:
                        context.close()
                for screen in SCREENS:
                    if screen[0] in args.screens:
                        gallery[screen[0]] = gallery_screen(browser, server, screen, args.out, set(args.views),
                                                            problems)
            finally:
                browser.close()
    finally:
        server.stop()
    index = write_index(args.out, gallery)
    count = sum(len(s) for s in gallery.values())
    print(f"{count} view × tab × screen, {2 * count} pictures, index {index} "
          f"({time.monotonic() - started:.0f} s)")
    if problems:
        print(f"{len(problems)} page(s) did not come as expected (photographed as they were; server log "
              f"{server.log_path}):\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
