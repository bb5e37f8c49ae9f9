"""A full lecture hall: N concurrent sessions moving sliders, against `streamlit run app.py` on loopback.

What it measures
----------------
Each session speaks Streamlit's own WebSocket protocol (the protobuf ``BackMsg`` / ``ForwardMsg``
that the browser sends and receives on ``/_stcore/stream``), so the machine's two cores go to the
server, not to N browsers drawing charts. A session first fetches the page over HTTP (as a
browser does: that is where a load balancer's sticky cookie comes from), opens the WebSocket,
runs one view (sessions are spread over every view of ``ui.registry.VIEWS``), then every 2–4 s
(uniformly random) moves one of the page's sliders (random among those the page shows, 1–3
steps up or down, inside its range) and sends the rerun exactly as the browser does: every
slider's value, the page, the URL's query string, and the fragment the slider lives in.

Rerun latency = from sending the rerun to receiving ``script_finished``: by then the server has
computed and sent every element the run changed (the charts' figures included), and the session
is idle again. The browser's own drawing time is not included (see bench/latency.py for that, on
one page in real Chromium). Errors: a script run that ends with an exception element or a
compile error, a closed connection, or no ``script_finished`` within ``--timeout`` seconds.

Server memory: VmRSS of the server's process tree (``/proc/<pid>/status``), before the sessions
connect and at the end; "per session" is the growth divided by N. The machine is shared with other
work, so the 1-minute load average is printed before and after each run.

Target (PASS/MISS, exit status 0 either way): p95 ≤ 1 s at N = 30 with zero errors.

Run
---
From the repository root::

    python bench/load.py                      # N = 1, 10, 30, 60 s each (about 4 minutes)
    python bench/load.py --sessions 30 --duration 20
    python bench/load.py --url http://127.0.0.1:8080 --pid 1234 --pid 1235   # e.g. deploy/ behind nginx
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import statistics
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402  (a dependency of Streamlit itself)
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from tools.streamlit_server import StreamlitServer  # noqa: E402
from ui.registry import VIEWS  # noqa: E402

TARGET_P95_MS = 1000.0
TARGET_N = 30
FINISHED_OK = (0, 3)
LOG = ROOT / "bench" / "out" / "load-server.log"  # the server's output: the tracebacks behind "exception"  # FINISHED_SUCCESSFULLY, FINISHED_FRAGMENT_RUN_SUCCESSFULLY


@dataclass
class Slider:
    id: str
    lo: float
    hi: float
    step: float
    value: float
    fragment_id: str


@dataclass
class Stats:
    latencies: list = field(default_factory=list)   # ms, slider reruns
    first_runs: list = field(default_factory=list)  # ms, the page's first run
    errors: list = field(default_factory=list)      # short descriptions


class Session:
    """One browser tab's worth of protocol: a page, its sliders, its query string."""

    def __init__(self, base: str, page: str, timeout: float, stats: Stats, rng: random.Random):
        self.base, self.page, self.timeout, self.stats, self.rng = base, page, timeout, stats, rng
        self.sliders: dict[str, Slider] = {}
        self.query = ""
        self.page_hash = ""

    async def open(self):
        cookies = await asyncio.to_thread(self._fetch_page)
        ws_url = self.base.replace("http://", "ws://", 1).rstrip("/") + "/_stcore/stream"
        headers = {"Cookie": cookies} if cookies else None
        self.ws = await websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None,
                                           additional_headers=headers, open_timeout=self.timeout)

    def _fetch_page(self) -> str:
        """GET the page like a browser; returns the cookies it set (name=value; …)."""
        with urllib.request.urlopen(f"{self.base.rstrip('/')}/{self.page}", timeout=self.timeout) as r:
            r.read()
            return "; ".join(c.split(";", 1)[0] for c in r.headers.get_all("Set-Cookie") or [])

    async def run(self, fragment_id: str = "") -> float | None:
        """Send one rerun with the current slider values; ms until script_finished, or None on an error."""
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query
        state.page_name = self.page
        state.page_script_hash = self.page_hash
        state.fragment_id = fragment_id
        for s in self.sliders.values():
            w = state.widget_states.widgets.add()
            w.id = s.id
            w.double_array_value.data.append(s.value)
        start = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        error = None
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    fwd = ForwardMsg()
                    fwd.ParseFromString(await self.ws.recv())
                    kind = fwd.WhichOneof("type")
                    if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                        element = fwd.delta.new_element
                        which = element.WhichOneof("type")
                        if which == "slider":
                            sl = element.slider
                            value = sl.value[0] if sl.value else sl.default[0]
                            self.sliders[sl.id] = Slider(sl.id, sl.min, sl.max, sl.step, value, fwd.delta.fragment_id)
                        elif which == "exception" and error is None:
                            exc = element.exception
                            error = f"{self.page}: exception {exc.type}: {exc.message[:120]}"
                    elif kind == "page_info_changed":
                        self.query = fwd.page_info_changed.query_string
                    elif kind == "navigation":
                        self.page_hash = fwd.navigation.page_script_hash
                    elif kind == "script_finished":
                        if fwd.script_finished not in FINISHED_OK and error is None:
                            error = f"{self.page}: script finished with status {fwd.script_finished}"
                        break
        except TimeoutError:
            error = f"{self.page}: no script_finished within {self.timeout:g} s"
        except websockets.ConnectionClosed as exc:
            error = f"{self.page}: connection closed ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
        if error:
            self.stats.errors.append(error)
            return None
        return 1000.0 * (time.perf_counter() - start)

    def move(self) -> Slider:
        """Move one random slider 1–3 steps, staying in range; returns it."""
        s = self.rng.choice(list(self.sliders.values()))
        steps = self.rng.randint(1, 3) * self.rng.choice((-1, 1))
        value = s.value + steps * s.step
        if not s.lo <= value <= s.hi:
            value = s.value - steps * s.step
        s.value = round(min(max(value, s.lo), s.hi), 10)
        return s


async def student(base: str, page: str, duration: float, timeout: float, stats: Stats, seed: int):
    rng = random.Random(seed)
    session = Session(base, page, timeout, stats, rng)
    try:
        await session.open()
    except Exception as exc:  # noqa: BLE001 - any failure to connect is a counted error
        stats.errors.append(f"{page}: could not connect ({type(exc).__name__}: {exc})")
        return
    try:
        first = await session.run()
        if first is None:
            return
        stats.first_runs.append(first)
        end = time.monotonic() + duration
        while session.sliders:
            pause = rng.uniform(2.0, 4.0)
            if time.monotonic() + pause > end:
                break
            await asyncio.sleep(pause)
            slider = session.move()
            ms = await session.run(slider.fragment_id)
            if ms is None:
                return
            stats.latencies.append(ms)
    finally:
        await session.ws.close()


def tree_rss_kb(pids: list[int]) -> int | None:
    """Sum of VmRSS (kB) over ``pids`` and all their descendants; None when unreadable."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo, seen = 0, list(pids), set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            if pid in pids:
                return None
        todo += children.get(pid, [])
    return total


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


async def load(base: str, n: int, duration: float, timeout: float, seed: int) -> Stats:
    stats = Stats()
    pages = [v.url_path for v in VIEWS]
    tasks = []
    for i in range(n):
        tasks.append(asyncio.create_task(student(base, pages[i % len(pages)], duration, timeout, stats, seed + i)))
        await asyncio.sleep(1.0 / max(n, 1))  # the hall arrives within a second
    await asyncio.gather(*tasks)
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", default="1,10,30", help="comma-separated N (default 1,10,30)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of slider moves per N (default 60)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before a rerun counts as failed")
    parser.add_argument("--url", default="", help="a running app (default: start `streamlit run app.py`)")
    parser.add_argument("--pid", type=int, action="append", default=[],
                        help="server process id(s) for memory, with --url (repeatable)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sessions.split(",") if s]

    server = None
    if args.url:
        base, pids = args.url, args.pid
    else:
        LOG.parent.mkdir(parents=True, exist_ok=True)
        server = StreamlitServer("app.py", open(LOG, "w+b"))
        base, pids = server.url, [server.proc.pid]
    rows = []
    try:
        asyncio.run(load(base, 1, 0.0, args.timeout, args.seed))  # warm the server's imports and caches
        for n in sizes:
            before_rss = tree_rss_kb(pids) if pids else None
            load_before = os.getloadavg()[0]
            started = time.monotonic()
            stats = asyncio.run(load(base, n, args.duration, args.timeout, args.seed + 1000 * n))
            wall = time.monotonic() - started
            after_rss = tree_rss_kb(pids) if pids else None
            rows.append((n, stats, before_rss, after_rss, load_before, os.getloadavg()[0], wall))
    finally:
        if server is not None:
            server.stop()

    print(f"{base}: {len(VIEWS)} views, sessions spread over them, a slider move every 2–4 s for "
          f"{args.duration:g} s; rerun = send → script_finished (ms). CPU cores: {os.cpu_count()}.\n")
    print("| N | reruns | p50 ms | p95 ms | max ms | first run p95 ms | errors | server RSS MB (before → after) "
          "| MB per session | load avg 1 min (before → after) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|---:|---|")
    verdict = "n/a"
    for n, stats, before, after, l0, l1, _ in rows:
        lat = stats.latencies
        p50, p95, mx = (f"{statistics.median(lat):.0f}", f"{pct(lat, 0.95):.0f}", f"{max(lat):.0f}") if lat \
            else ("n/a",) * 3
        first = f"{pct(stats.first_runs, 0.95):.0f}" if stats.first_runs else "n/a"
        rss = f"{before / 1024:.0f} → {after / 1024:.0f}" if before and after else "n/a"
        per = f"{(after - before) / 1024 / n:.1f}" if before and after else "n/a"
        print(f"| {n} | {len(lat)} | {p50} | {p95} | {mx} | {first} | {len(stats.errors)} | {rss} | {per} "
              f"| {l0:.2f} → {l1:.2f} |")
        if n == TARGET_N:
            ok = lat and pct(lat, 0.95) <= TARGET_P95_MS and not stats.errors
            verdict = "PASS" if ok else "MISS"
    print(f"\nTarget p95 ≤ {TARGET_P95_MS:.0f} ms with zero errors at N = {TARGET_N}: {verdict}")
    for n, stats, *_ in rows:
        for error in sorted(set(stats.errors))[:5]:
            print(f"- N = {n}: {error} (×{stats.errors.count(error)})")
    if server is not None and any(stats.errors for _, stats, *_ in rows):
        print(f"\nThe server's output (tracebacks of the exceptions) is in {LOG.relative_to(ROOT)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
