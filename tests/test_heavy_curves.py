"""At the heaviest settings a curve stops where a second of compute ends, and its caption says where.

bench/first_render.py measures the first render of every tab at these corners; here, that what the
page says matches what it drew: the powers of a non-normal W_hh (h = 256, K = 2000), the lag curves
and the every-pair heatmap (T = 1000, h = 256), and that nothing stops short at the defaults.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.page_charts import chart_specs, decode_typed_array
from tests.test_pages import assert_clean, open_view, view_by_url

HEAVY = {"T": "1000", "h": "256", "rho": "3.00", "K": "2000", "kind": "nonnormal", "spread": "0.00",
         "nonnormality": "10.0", "activation": "tanh"}


def values(spec) -> np.ndarray:
    return decode_typed_array(spec) if isinstance(spec, dict) else np.asarray(spec, dtype=float)


def captions(at) -> str:
    return " ".join(c.value for c in at.caption)


def chart(at, key: str) -> dict:
    return dict(chart_specs(at))[key]


@pytest.mark.parametrize("tab", ["Powers of Wₕₕ", "Animate ρ"])
def test_powers_stop_where_the_caption_says(tab):
    at = open_view(view_by_url("eigenvalues"), HEAVY, tab)
    assert_clean(at, f"eigenvalues ({tab}) at the heaviest settings")
    stop = re.search(r"It stops at k = (\d+) of the K = 2000 asked", captions(at))
    assert stop, captions(at)
    M = int(stop.group(1))
    assert 10 <= M < 2000
    assert f"k = 0 … {M} " in captions(at)
    if tab == "Powers of Wₕₕ":
        curve = chart(at, "eigenvalues_powers")["data"][0]
        assert values(curve["x"]).max() == M and values(curve["x"]).size == M + 1
        assert f"k = {M}, the last power drawn" in " ".join(m.value for m in at.markdown)


def test_lags_stop_where_the_caption_says():
    at = open_view(view_by_url("jacobians"), HEAVY, "Against the lag")
    assert_clean(at, "jacobians (lags) at the heaviest settings")
    stop = re.search(r"The lags stop at k = (\d+) of the T = 1000", captions(at))
    assert stop, captions(at)
    reach = int(stop.group(1))
    for trace in chart(at, "jacobians_lags")["data"]:
        assert values(trace["x"]).max() <= reach
    assert max(values(t["x"]).max() for t in chart(at, "jacobians_lags")["data"]) == reach


def test_heatmap_covers_the_steps_the_caption_says():
    at = open_view(view_by_url("jacobians"), HEAVY, "Every pair of steps")
    assert_clean(at, "jacobians (heatmap) at the heaviest settings", explained_gap=True)
    first = re.search(r"It covers the first (\d+) of the (\d+) steps", captions(at))
    assert first, captions(at)
    grid = values(chart(at, "jacobians_heatmap")["data"][0]["x"])
    assert grid.max() <= int(first.group(1)) < int(first.group(2))


@pytest.mark.parametrize("view, tab", [("eigenvalues", "Powers of Wₕₕ"), ("jacobians", "Against the lag"),
                                       ("jacobians", "Every pair of steps")])
def test_nothing_stops_short_at_the_defaults(view, tab):
    at = open_view(view_by_url(view), None, tab)
    text = captions(at)
    assert "stop at" not in text and "stops at" not in text and "covers the first" not in text
