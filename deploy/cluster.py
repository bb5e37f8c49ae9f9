"""K replicas of the lab behind nginx on loopback, with sticky sessions and one shared cookie secret.

    python deploy/cluster.py start --replicas 2 --port 8080   # prints the URL and the process ids
    python deploy/cluster.py stop                             # stops nginx and the replicas it started
    python deploy/cluster.py render --replicas 2              # prints the nginx configuration

Each replica is `streamlit run app.py` on its own free loopback port, started in its own process
group with its output in the run directory (default ``deploy/.run``). Every replica gets the same
``server.cookieSecret`` (through the environment, not the command line, so ``ps`` does not show
it): taken from ``$BPTT_COOKIE_SECRET`` or generated once and kept in ``<run dir>/cookie_secret``
(mode 0600). nginx runs with a configuration rendered from ``deploy/nginx.conf.template`` into the
run directory (its pid file, logs and temporary files live there too), and needs the Debian
package ``nginx``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.streamlit_server import free_port, wait_healthy  # noqa: E402

TEMPLATE = Path(__file__).with_name("nginx.conf.template")
DEFAULT_RUN_DIR = Path(__file__).with_name(".run")
REPLICAS_FILE = "replicas"         # one "pid port" line per replica
SECRET_FILE = "cookie_secret"
HEALTH_TIMEOUT = 90.0              # seconds for a replica (or nginx) to answer /_stcore/health


def render_config(replica_ports: list[int], listen_port: int, run_dir: Path,
                  listen_address: str = "127.0.0.1", template: str | None = None) -> str:
    """The nginx configuration for replicas on ``replica_ports`` (loopback) behind ``listen_address:listen_port``."""
    text = TEMPLATE.read_text() if template is None else template
    values = {
        "replicas": str(len(replica_ports)),
        "run_dir": str(Path(run_dir).resolve()),
        "listen_address": listen_address,
        "listen_port": str(int(listen_port)),
        "upstream_servers": "\n".join(f"        server 127.0.0.1:{int(p)} max_fails=0;" for p in replica_ports),
    }
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    if "{{" in text:
        raise ValueError(f"{TEMPLATE.name}: unknown placeholder near {text[text.index('{{'):][:40]!r}")
    return text


def cookie_secret(run_dir: Path) -> str:
    """``$BPTT_COOKIE_SECRET``, else the run directory's secret, created once (mode 0600)."""
    if os.environ.get("BPTT_COOKIE_SECRET"):
        return os.environ["BPTT_COOKIE_SECRET"]
    path = run_dir / SECRET_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        raise SystemExit("nginx is not installed: apt-get install nginx")
    return found


def start(replicas: int, port: int, run_dir: Path) -> None:
    nginx = nginx_binary()
    run_dir.mkdir(parents=True, exist_ok=True)
    if (run_dir / REPLICAS_FILE).exists():
        raise SystemExit(f"{run_dir / REPLICAS_FILE} exists: run `deploy/cluster.py stop` first")
    env = dict(os.environ, STREAMLIT_SERVER_COOKIE_SECRET=cookie_secret(run_dir))
    procs = []
    for i in range(replicas):
        p = free_port()
        log = open(run_dir / f"replica-{i}.log", "wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(p),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        procs.append((proc, p))
        with open(run_dir / REPLICAS_FILE, "a") as f:
            f.write(f"{proc.pid} {p}\n")
    try:
        for i, (proc, p) in enumerate(procs):
            wait_healthy(f"http://127.0.0.1:{p}", proc, f"replica {i} (see {run_dir}/replica-{i}.log)", HEALTH_TIMEOUT)
        conf = run_dir / "nginx.conf"
        conf.write_text(render_config([p for _, p in procs], port, run_dir))
        subprocess.run([nginx, "-t", "-q", "-c", str(conf), "-p", str(run_dir)], check=True)
        subprocess.run([nginx, "-c", str(conf), "-p", str(run_dir)], check=True)  # daemonises
        wait_healthy(f"http://127.0.0.1:{port}", None, "nginx", HEALTH_TIMEOUT)
    except BaseException:
        stop(run_dir)
        raise
    print(f"http://127.0.0.1:{port}")
    print("replica pids:", " ".join(str(proc.pid) for proc, _ in procs))


def _is_ours(pid: int) -> bool:
    """True if ``pid`` is still a streamlit process (a pid file can outlive its process)."""
    try:
        return b"streamlit" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def stop(run_dir: Path) -> None:
    conf, nginx_pid = run_dir / "nginx.conf", run_dir / "nginx.pid"
    if nginx_pid.exists() and conf.exists():
        subprocess.run([nginx_binary(), "-s", "quit", "-c", str(conf), "-p", str(run_dir)], check=False)
        deadline = time.monotonic() + 10
        while nginx_pid.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    replicas = run_dir / REPLICAS_FILE
    if replicas.exists():
        pids = [int(line.split()[0]) for line in replicas.read_text().split("\n") if line.strip()]
        for pid in pids:
            if _is_ours(pid):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for pid in pids:
            while _is_ours(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _is_ours(pid):
                os.kill(pid, signal.SIGKILL)
        replicas.unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("start", "stop", "render"))
    parser.add_argument("--replicas", type=int, default=2, help="number of app replicas K (default 2)")
    parser.add_argument("--port", type=int, default=8080, help="nginx's loopback port (default 8080)")
    parser.add_argument("--run-dir", type=Path, default=DEFAULT_RUN_DIR, help="pid files, logs, rendered config")
    args = parser.parse_args()
    run_dir = args.run_dir.resolve()
    if args.command == "render":
        print(render_config([8501 + i for i in range(args.replicas)], args.port, run_dir))
    elif args.command == "start":
        if args.replicas < 1:
            parser.error("--replicas must be at least 1")
        start(args.replicas, args.port, run_dir)
    else:
        stop(run_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
