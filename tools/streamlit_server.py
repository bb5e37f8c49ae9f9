"""`streamlit run` on a free loopback port, and the Chromium settings that work here.

Shared by tests/test_browser.py and bench/latency.py. Playwright drives Debian's
Chromium (Playwright's own browser download cannot work on these machines); the
flags keep it from reaching for the network, which is closed.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen | None, what: str, timeout: float) -> None:
    """Poll ``url``/_stcore/health (Streamlit's, and nginx's proxy of it) until it answers 200.

    RuntimeError when ``proc`` exits first or ``timeout`` seconds pass.
    """
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not answer {url}/_stcore/health within {timeout:g} s")
        time.sleep(0.25)


class StreamlitServer:
    """`streamlit run <script>` from the repository root on a free loopback port.

    Waits up to ``timeout`` seconds for /_stcore/health; raises RuntimeError with
    the server's output if it exits or never becomes healthy. ``log`` is a
    writable binary file for the server's output.
    """

    def __init__(self, script: str, log, timeout: float = 60.0):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_healthy(self.url, self.proc, script, timeout)
        except RuntimeError as exc:
            output = self.output()
            self.stop()
            raise RuntimeError(f"{exc}:\n{output}") from None

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
