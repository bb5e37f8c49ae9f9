"""Where a page run spends its time on the server: py-spy samples of `streamlit run app.py` while a hall
of students runs the shared link (bench/load.py's students), grouped by what the time went to.

Two phases, each sampled on its own: *cold* (N students open the link within a few seconds: every
run is a session's first run of the page, with the server's shared caches warm from the lecturer's
visit) and *moves* (the same students each move a slider every 3 s). Each sample of a busy thread
goes to the innermost frame that names one of the groups below (so NumPy under the core counts as
the core, and JSON written for a chart counts as JSON); idle threads (waiting on a lock, a socket or
the event loop) are left out. Needs py-spy (requirements-bench.txt) and ptrace rights over the
server (root, or kernel.yama.ptrace_scope = 0).

    python bench/profile_runs.py                       # 40 students on /unrolled
    python bench/profile_runs.py --users 40 --link "eigenvalues?rho=1.1"
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import load  # noqa: E402  (bench/load.py: the students)
from tools.streamlit_server import StreamlitServer  # noqa: E402

# (group, substrings of a frame "function (file:line)"), tried from the innermost frame outwards.
GROUPS = (
    ("writing JSON (figures, frames)", ("json", "orjson")),
    ("the NumPy core (bptt_core)", ("bptt_core/",)),
    ("building charts (charts/, Plotly objects)", ("charts/", "plotly/", "_plotly_utils/")),
    ("st.cache lookups (hashing arguments, reading results)", ("streamlit/runtime/caching/",)),
    ("Streamlit elements (protobuf, widgets, components)", ("streamlit/elements/", "streamlit/delta_generator",
                                                           "streamlit/components/", "streamlit/proto",
                                                           "google/protobuf")),
    ("the lab's views and ui glue", ("ui/", "views/", "app.py")),
    ("Streamlit's script runner and session", ("streamlit/",)),
)
IDLE = ("wait (threading.py", "select (", "_run_once (", "poll (", "epoll", "acquire (", "sleep (",
        "_worker (concurrent/futures/thread.py")
RATE = 250  # samples a second


def group_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, marks in GROUPS:
            if any(m in frame for m in marks):
                return name
    return "other (Python, NumPy outside the core)"


def breakdown(raw: Path) -> tuple[collections.Counter, int]:
    """Samples per group from py-spy's raw (collapsed) output, busy threads only."""
    counts: collections.Counter = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        frames = stack.split(";")
        if any(mark in frames[-1] for mark in IDLE):
            continue
        counts[group_of(frames)] += int(n)
    return counts, sum(counts.values())


def sampled(pid: int, seconds: float, out: Path, hall) -> load.Stats:
    spy = subprocess.Popen([shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy")), "record",
                            "-p", str(pid), "-o", str(out), "--format", "raw", "-r", str(RATE), "--nonblocking",
                            "-d", f"{seconds:.0f}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)  # py-spy attaches
    stats = asyncio.run(hall)
    _, err = spy.communicate()
    if spy.returncode or not out.exists():
        raise SystemExit(f"py-spy failed ({spy.returncode}): {err.decode()[-400:]}")
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--link", default="unrolled")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the moves phase (default 20)")
    parser.add_argument("--raw", type=Path, help="keep py-spy's raw samples (cold.txt, moves.txt) in this folder")
    args = parser.parse_args()
    server = StreamlitServer("app.py", open(load.LOG, "w+b"))
    rows = []
    try:
        with tempfile.TemporaryDirectory() as scratch:
            tmp = args.raw or Path(scratch)
            tmp.mkdir(parents=True, exist_ok=True)
            asyncio.run(load.hall(server.url, args.link, 1, 3.0, -load.ARRIVAL, 30.0, 0))  # the lecturer's visit
            load.ARRIVAL = 4.0
            cold = sampled(server.proc.pid, load.ARRIVAL + 6, Path(tmp) / "cold.txt",
                           load.hall(server.url, args.link, args.users, 1e9, 0.0, 30.0, 1))
            rows.append(("cold", cold.first_runs, *breakdown(Path(tmp) / "cold.txt")))
            moves = sampled(server.proc.pid, load.ARRIVAL + args.seconds + 2, Path(tmp) / "moves.txt",
                            load.hall(server.url, args.link, args.users, 3.0, args.seconds, 30.0, 2))
            rows.append(("moves", moves.latencies, *breakdown(Path(tmp) / "moves.txt")))
    finally:
        server.stop()
    print(f"/{args.link}, {args.users} students; py-spy at {RATE} Hz on the server, busy threads only.\n")
    names = [name for name, _ in GROUPS] + ["other (Python, NumPy outside the core)"]
    print("| where the time goes | " + " | ".join(
        f"{phase}: {len(runs)} runs, p50 {statistics.median(runs):.0f} ms" for phase, runs, *_ in rows) + " |")
    print("|---|" + "---:|" * len(rows))
    for name in names:
        print(f"| {name} | " + " | ".join(f"{100 * counts[name] / max(total, 1):.0f} %"
                                          for _, _, counts, total in rows) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
