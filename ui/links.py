"""The share link of a view: every experiment control's value and the open tab, as URL text.

No Streamlit calls (plain functions of their arguments): the sidebar's share box (ui/lecture.py)
fills in the page's address and the current values. Display settings (presentation mode, contrast) stay out of the link: a student who
opens a course page's link gets the experiment, not the lecture hall's screen.
"""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import quote, urlencode

from ui.controls import encode_value

DISPLAY_KEYS = ("present", "contrast")


def link_query(values: Mapping[str, Any], *, tab_key: str | None = None, tab: str | None = None) -> dict[str, str]:
    """{URL parameter: text} for ``values`` (control key → value, encoded as the URL codec writes them)
    and, when given, the open tab under ``tab_key``."""
    query = {key: encode_value(v) for key, v in values.items() if key not in DISPLAY_KEYS}
    if tab_key is not None and tab:
        query[tab_key] = str(tab)
    return query


def share_link(page_url: str, query: Mapping[str, str]) -> str:
    """``page_url`` (scheme, host, path; any query or fragment it carries is dropped) with ``query``,
    every value percent-encoded (a tab label like "Variance against π" or "Recursion = sum" survives)."""
    base = page_url.split("#", 1)[0].split("?", 1)[0]
    return f"{base}?{urlencode(dict(query), quote_via=quote)}" if query else base
