"""Safe defaults in .streamlit/config.toml, read as Streamlit reads it."""

from __future__ import annotations

import tomllib
from pathlib import Path

from bptt_core import MAX_MATRIX_BYTES, MAX_TEXT_BYTES

CONFIG = Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml"


def test_config_has_safe_defaults():
    config = tomllib.loads(CONFIG.read_text())
    server, browser, client = config["server"], config["browser"], config["client"]
    assert server["enableXsrfProtection"] is True
    assert server["enableStaticServing"] is False
    assert server.get("enableCORS", True) is True  # CORS off is allowed only with XSRF off, and XSRF is on
    assert 1 <= server["maxUploadSize"] <= 10      # megabytes; Streamlit's default is 200
    assert server["maxUploadSize"] * 10**6 >= max(MAX_MATRIX_BYTES, MAX_TEXT_BYTES)  # the parsers' caps fit
    assert client["toolbarMode"] == "viewer"
    assert client["showErrorDetails"] in ("none", False)
    assert browser["gatherUsageStats"] is False
    assert "cookieSecret" not in server            # a secret is passed per deployment (deploy/), never committed
