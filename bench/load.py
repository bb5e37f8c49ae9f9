"""A lecture hall on one link: N students against the lab, one process and K replicas behind nginx, in one run.

What it measures
----------------
Each student speaks Streamlit's own WebSocket protocol (the protobuf ``BackMsg`` / ``ForwardMsg``
that the browser sends and receives on ``/_stcore/stream``), so the machine's two cores go to the
server, not to N browsers drawing charts (the students' own CPU, a share of one core, is reported). A student fetches the shared link over HTTP (as a browser
does: that is where a load balancer's sticky cookie comes from), opens the WebSocket and runs the
page with the link's query string; then, after each think time (uniform in 0.5–1.5 × the model's
think), moves one of the page's sliders (random among those the page shows, 1–3 steps up or down,
inside its range) and sends the rerun exactly as the browser does: every slider's value, the page,
the URL's query string, and the fragment the slider lives in. It waits for that run to finish
before thinking again.

Two student models (``--models``):

- *burst*: the N students open the same link within 30 s (uniform arrivals), then each moves a
  slider every 10 s;
- *busy*: the same arrivals, then a slider every 3 s.

Both run for ``--duration`` seconds after the last arrival, against one ``streamlit run app.py``
and against ``deploy/cluster.py`` with K replicas behind nginx (``--replicas 1,2``: K = 1 is the
plain process, no nginx), each on a fresh server.

A run's latency = from sending it to receiving ``script_finished``: by then the server has
computed and sent every element the run changed (the charts' figures included). The first run of
a student is the page's cold run for that session (the shared caches warm after the first
student); the browser's own drawing time is not included (see bench/latency.py). Errors: a run
that ends with an exception element or a compile error, a closed connection, a failed connect, or
no ``script_finished`` within ``--timeout`` seconds.

Server memory: VmRSS of the server's process tree (``/proc/<pid>/status``) after the lecturer has
opened the link (two sessions per replica, before the students: the imports are done) and at the end; "per session" is the growth divided by N. The students' own process
shares the two cores with the server (its protobuf parsing is part of what a real hall would not
cost the server); the 1-minute load average is printed before and after each run.

Targets (PASS/MISS, exit status 0 either way): p95 of all runs ≤ 0.5 s (burst) and ≤ 2 s (busy)
with zero errors, at N = 200.

Run
---
From the repository root::

    python bench/load.py                                   # N = 200, both models, K = 1 and 2 (~8 minutes)
    python bench/load.py --users 50 --models busy --replicas 1 --duration 20
    python bench/load.py --link "eigenvalues?rho=1.1"      # another shared link
    python bench/load.py --url http://127.0.0.1:8080 --pid 1234 --pid 1235   # a running deployment
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

from deploy import cluster  # noqa: E402
from tools.streamlit_server import StreamlitServer, free_port  # noqa: E402

MODELS = {"burst": 10.0, "busy": 3.0}                # think time, s
TARGET_P95_MS = {"burst": 500.0, "busy": 2000.0}
TARGET_N = 200
ARRIVAL = 30.0                                       # s over which the students open the link
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

    def __init__(self, base: str, link: str, timeout: float, stats: Stats, rng: random.Random):
        self.page, _, self.query = link.partition("?")
        self.base, self.timeout, self.stats, self.rng = base, timeout, stats, rng
        self.sliders: dict[str, Slider] = {}
        self.page_hash = ""

    async def open(self):
        cookies = await asyncio.to_thread(self._fetch_page)
        ws_url = self.base.replace("http://", "ws://", 1).rstrip("/") + "/_stcore/stream"
        headers = {"Cookie": cookies} if cookies else None
        self.ws = await websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None,
                                           additional_headers=headers, open_timeout=self.timeout)

    def _fetch_page(self) -> str:
        """GET the page like a browser; returns the cookies it set (name=value; …)."""
        link = f"{self.base.rstrip('/')}/{self.page}" + (f"?{self.query}" if self.query else "")
        with urllib.request.urlopen(link, timeout=self.timeout) as r:
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


async def student(base: str, link: str, arrive: float, end: float, think: float, timeout: float,
                  stats: Stats, seed: int):
    """One student: arrives at ``arrive`` (monotonic time), runs the link, then moves a slider after
    every think (uniform 0.5–1.5 × ``think``) until ``end``."""
    rng = random.Random(seed)
    await asyncio.sleep(max(0.0, arrive - time.monotonic()))
    session = Session(base, link, timeout, stats, rng)
    try:
        await session.open()
    except Exception as exc:  # noqa: BLE001 - any failure to connect is a counted error
        stats.errors.append(f"{session.page}: could not connect ({type(exc).__name__}: {exc})")
        return
    try:
        first = await session.run()
        if first is None:
            return
        stats.first_runs.append(first)
        while session.sliders:
            pause = rng.uniform(0.5, 1.5) * think
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


async def hall(base: str, link: str, n: int, think: float, duration: float, timeout: float, seed: int) -> Stats:
    """N students on ``link``: arrivals uniform over ``ARRIVAL`` s (the first at once), then ``duration`` s more."""
    stats = Stats()
    rng = random.Random(seed)
    now = time.monotonic()
    arrivals = sorted([0.0] + [rng.uniform(0.0, ARRIVAL) for _ in range(n - 1)])[:n]
    end = now + ARRIVAL + duration
    await asyncio.gather(*(student(base, link, now + a, end, think, timeout, stats, seed + i)
                           for i, a in enumerate(arrivals)))
    return stats


class Deployment:
    """K = 1: `streamlit run app.py`; K ≥ 2: deploy/cluster.py's K replicas behind nginx. ``url``, ``pids``."""

    def __init__(self, replicas: int):
        self.replicas = replicas
        LOG.parent.mkdir(parents=True, exist_ok=True)
        if replicas == 1:
            self.server = StreamlitServer("app.py", open(LOG, "w+b"))
            self.url, self.pids = self.server.url, [self.server.proc.pid]
            return
        self.run_dir = LOG.parent / f"cluster-{replicas}"
        cluster.stop(self.run_dir)  # anything a killed run left
        port = free_port()
        cluster.start(replicas, port, self.run_dir)
        self.url = f"http://127.0.0.1:{port}"
        self.pids = [int(line.split()[0]) for line in (self.run_dir / cluster.REPLICAS_FILE).read_text().splitlines()
                     if line.strip()]

    def stop(self) -> None:
        if self.replicas == 1:
            self.server.stop()
        else:
            cluster.stop(self.run_dir)

    @property
    def where(self) -> str:
        return "one process" if self.replicas == 1 else f"{self.replicas} replicas + nginx"


def measure(base: str, pids: list[int], link: str, n: int, think: float, duration: float, timeout: float,
            seed: int) -> dict:
    # The lecturer opens the link before putting it on the screen (a few times, so that every replica
    # has run it once, most likely): the imports are then done and memory per session is the sessions'.
    asyncio.run(hall(base, link, 2 * max(len(pids), 1), think, -ARRIVAL, timeout, seed + 10**6))
    before_rss = tree_rss_kb(pids) if pids else None
    load_before = os.getloadavg()[0]
    cpu, wall = time.process_time(), time.monotonic()
    stats = asyncio.run(hall(base, link, n, think, duration, timeout, seed))
    students_cpu = (time.process_time() - cpu) / (time.monotonic() - wall)
    after_rss = tree_rss_kb(pids) if pids else None
    return {"stats": stats, "rss": (before_rss, after_rss), "load": (load_before, os.getloadavg()[0]),
            "students_cpu": students_cpu}


def row(where: str, model: str, n: int, result: dict) -> tuple[str, bool]:
    stats = result["stats"]
    runs = stats.first_runs + stats.latencies

    def summary(samples):
        return (f"{statistics.median(samples):.0f} | {pct(samples, 0.95):.0f} | {max(samples):.0f}" if samples
                else "n/a | n/a | n/a")

    before, after = result["rss"]
    rss = f"{before / 1024:.0f} → {after / 1024:.0f}" if before and after else "n/a"
    per = f"{(after - before) / 1024 / n:.2f}" if before and after else "n/a"
    l0, l1 = result["load"]
    ok = bool(runs) and pct(runs, 0.95) <= TARGET_P95_MS[model] and not stats.errors
    return (f"| {where} | {model} | {n} | {len(runs)} | {summary(runs)} | {summary(stats.first_runs)} "
            f"| {len(stats.errors)} | {rss} | {per} | {100 * result['students_cpu']:.0f} % | {l0:.2f} → {l1:.2f} |"), ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=TARGET_N, help=f"students N (default {TARGET_N})")
    parser.add_argument("--models", default="burst,busy", help="comma-separated student models: burst, busy")
    parser.add_argument("--replicas", default="1,2", help="comma-separated K (default 1,2; 1 = one process)")
    parser.add_argument("--link", default="unrolled", help="the shared link: a page and its query (default unrolled)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds after the last arrival (default 60)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before a run counts as failed")
    parser.add_argument("--url", default="", help="a running deployment instead (with --pid for its memory)")
    parser.add_argument("--pid", type=int, action="append", default=[],
                        help="server process id(s) for memory, with --url (repeatable)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    models = [m for m in args.models.split(",") if m]
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        parser.error(f"unknown model(s) {unknown}: choose from {sorted(MODELS)}")
    deployments = [0] if args.url else [int(k) for k in args.replicas.split(",") if k]

    lines, verdicts, errors = [], [], []
    for k in deployments:
        for model in models:
            # A fresh server for each model: the first runs are cold for the first student, as in a lecture.
            deployment = None if args.url else Deployment(k)
            base, pids = (args.url, args.pid) if deployment is None else (deployment.url, deployment.pids)
            where = "given URL" if deployment is None else deployment.where
            try:
                print(f"{where}, {model}: {args.users} students on /{args.link} …", flush=True)
                result = measure(base, pids, args.link, args.users, MODELS[model], args.duration, args.timeout,
                                 args.seed)
            finally:
                if deployment is not None:
                    deployment.stop()
            line, ok = row(where, model, args.users, result)
            lines.append(line)
            if args.users == TARGET_N:
                verdicts.append(f"{where}, {model}: p95 ≤ {TARGET_P95_MS[model] / 1000:g} s with 0 errors: "
                                f"{'PASS' if ok else 'MISS'}")
            errors += [(where, model, e) for e in result["stats"].errors]

    print(f"\nThe shared link /{args.link}; arrivals within {ARRIVAL:g} s, then {args.duration:g} s; think time "
          f"0.5–1.5 × {', '.join(f'{MODELS[m]:g} s ({m})' for m in models)}; a run = send → script_finished (ms). "
          f"CPU cores: {os.cpu_count()}.\n")
    print("| server | model | N | runs | p50 ms | p95 ms | max ms | first run p50 | p95 | max | errors "
          "| server RSS MB (before → after) | MB per session | students' CPU (of one core) "
          "| load avg 1 min (before → after) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|")
    print("\n".join(lines))
    if verdicts:
        print("\n" + "\n".join(verdicts))
    seen = {}
    for where, model, e in errors:
        seen[(where, model, e)] = seen.get((where, model, e), 0) + 1
    for (where, model, e), count in list(seen.items())[:10]:
        print(f"- {where}, {model}: {e} (×{count})")
    if errors and not args.url:
        print(f"\nThe servers' output (tracebacks of the exceptions) is in {LOG.parent.relative_to(ROOT)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
