"""deploy/: the nginx configuration renders for K replicas and, where nginx is installed, `nginx -t` accepts it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy"))

from cluster import render_config  # noqa: E402

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def test_config_routes_sticky_websockets_to_every_replica(tmp_path):
    text = render_config([9001, 9002], 8088, tmp_path)
    assert "{{" not in text
    assert "server 127.0.0.1:9001 max_fails=0;" in text and "server 127.0.0.1:9002 max_fails=0;" in text
    assert "listen 127.0.0.1:8088;" in text
    assert "hash $replica_key consistent;" in text and not re.search(r"^\s*ip_hash;", text, re.MULTILINE)
    assert "location = /_stcore/stream" in text
    assert "proxy_set_header Upgrade $http_upgrade;" in text and "proxy_read_timeout 86400s;" in text
    assert f"pid {tmp_path.resolve()}/nginx.pid;" in text


def test_unknown_placeholder_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="unknown placeholder"):
        render_config([9001], 8088, tmp_path, template="listen {{listen_port}}; {{nope}}")


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx)")
@pytest.mark.parametrize("replicas", [1, 3])
def test_nginx_accepts_the_rendered_config(tmp_path, replicas):
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_config([9001 + i for i in range(replicas)], 8088, tmp_path))
    out = subprocess.run([NGINX, "-t", "-c", str(conf), "-p", str(tmp_path)], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
