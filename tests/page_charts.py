"""The charts a page drew, as the tests see them: through AppTest, and by selector in Chromium.

Every chart of a view is a live chart (``ui.live_chart``), an element of Streamlit's
``st.components.v2`` whose proto carries the figure's JSON (read here, in the tests: the app never
reads its own protos); a plain ``st.plotly_chart`` would be returned too, after them.
"""

from __future__ import annotations

import base64
import json
import math

import numpy as np

from ui.live_chart import COMPONENT, TEST_ID

# In the browser: the holder of every chart, and the Plotly graph div inside it.
CHART = f'[data-testid="{TEST_ID}"], [data-testid="stPlotlyChart"]'
PLOT = f'[data-testid="{TEST_ID}"] .js-plotly-plot, [data-testid="stPlotlyChart"] .js-plotly-plot'


def chart_figure(element) -> dict:
    """The figure dict a live chart element carries (its proto's bytes)."""
    return json.loads(element.proto.bytes)["figure"]


def chart_specs(at) -> list[tuple[str, dict]]:
    """(key, figure dict) for every chart on the page.

    AppTest has no typed element for either kind: each is an UnknownElement whose ``proto`` is the
    BidiComponent message (the figure inside its bytes) or the PlotlyChart message (``spec``).
    """
    live = [(el.key or el.proto.id, chart_figure(el)) for el in at.get("bidi_component")
            if el.proto.component_name == COMPONENT]
    plain = [(el.key or el.proto.id, json.loads(el.proto.spec)) for el in at.get("plotly_chart")]
    return live + plain


def decode_typed_array(spec: dict) -> np.ndarray:
    """Plotly ≥ 6 writes numpy arrays as {"dtype": "f8", "bdata": base64, "shape": "r, c"}."""
    dtype = spec["dtype"]
    dtype = np.dtype(dtype if dtype[0] in "<>|=" else "<" + dtype)
    array = np.frombuffer(base64.b64decode(spec["bdata"]), dtype=dtype)
    shape = spec.get("shape")
    if shape:
        array = array.reshape([int(n) for n in str(shape).split(",")])
    return array


def nonfinite_values(fig) -> int:
    """inf/NaN values in any numeric field of any trace of ``fig`` (None is a deliberate gap)."""
    bad = 0
    for trace in fig.to_plotly_json()["data"]:
        for field in ("x", "y", "z", "customdata"):
            values = trace.get(field)
            if values is None:
                continue
            for v in np.asarray(values, dtype=object).ravel():
                if isinstance(v, (int, float, np.integer, np.floating)) and not math.isfinite(float(v)):
                    bad += 1
    return bad
