"""Fixtures shared by test modules."""

import os

import pytest

# Tests never touch the internet: no page, AppTest or server started by a test downloads the book
# (tests/test_text.py serves its downloads on loopback and lifts this for them).
os.environ["BPTT_OFFLINE"] = "1"


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for every browser test of the session.

    Playwright's sync API allows one instance per thread: two modules each starting their own
    would fail with "using Playwright Sync API inside the asyncio loop". Only browser tests ask
    for it, and tests/test_browser.py skips (or fails in CI) when Playwright or Chromium is missing.
    """
    from playwright.sync_api import sync_playwright

    from tools.streamlit_server import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def lab_server(browser):
    """One `streamlit run app.py` for the walk and the layout checks (tests/browser_support.py), its
    output in artifacts/logs/streamlit-lab.log."""
    from tests.browser_support import LabServer, warm_up

    try:
        server = LabServer("lab")
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        warm_up(browser, server)
        yield server
    finally:
        server.stop()
