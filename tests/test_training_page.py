"""The training lab page with AppTest: a tiny run on the project's short text trains every chosen
strategy (in its own thread, which the page watches), draws its curves and samples, and a second visit
to the same configuration is served from the cache, saying so, with Run still there to train again.
Stop stops a run of several strategies part-way (the browser walk in tests/test_browser_walk.py does the
same through the real page)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from bptt_core.text import ENV_VAR
from tests.page_charts import chart_specs, decode_typed_array
from ui.registry import VIEWS

ROOT = Path(__file__).resolve().parents[1]
VIEW = next(v for v in VIEWS if v.url_path == "training")
TINY = {"train_T": 10, "train_h": 8, "epochs": 1, "tau": 3, "train_sliding": True}


@pytest.fixture(autouse=True)
def short_text(monkeypatch, tmp_path):
    """No copy of the book: the page must say so and train on the project's own text."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def open_page(values: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page(VIEW.path)
    at.run()
    for key, value in (values or {}).items():
        widget = next(w for w in at if getattr(w, "key", None) == key)
        widget.set_value(value)
    return at.run()


def finish_run(at: AppTest, timeout: float = 60.0) -> AppTest:
    """Wait for the session's training thread to end, then rerun the page as its watcher would."""
    deadline = time.monotonic() + timeout
    run = at.session_state["training_run"]
    while run.running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not run.running, "the run did not finish in time"
    return at.run()


def charts(at: AppTest) -> list[str]:
    return [key for key, _ in chart_specs(at)]


def test_page_before_a_run_shows_the_partitioning_and_the_fallback():
    at = open_page()
    assert not at.exception and not at.error
    assert any("project's own short text" in i.value for i in at.info)
    assert charts(at) == ["training_minibatches"]
    assert [b.label for b in at.button if b.label in ("Run", "Stop")] == ["Run", "Stop"]


def test_a_tiny_run_trains_every_strategy_and_is_cached():
    at = open_page(TINY)
    run = next(b for b in at.button if b.label == "Run")
    run.click()
    at.run()
    finish_run(at)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    assert "training_perplexity" in charts(at) and "training_minibatches" in charts(at)
    metrics = {m.label: m.value for m in at.metric}
    assert set(metrics) == {f"{run}: perplexity" for run in ("Full T = 10", "Regular τ = 3", "Sliding τ = 3", "Randomized π = 0.67")}
    assert all(v == "diverged" or float(v) > 1.0 for v in metrics.values())
    # The same configuration again, in a new session: served from the server-wide cache.
    again = open_page(TINY)
    assert "training_perplexity" in charts(again)
    assert not next(b for b in again.button if b.label == "Run").disabled, "Run trains again"
    assert any("trained earlier on this server" in c.value for c in again.caption), "says where the curves come from"
    started = time.perf_counter()
    again.run()
    assert time.perf_counter() - started < 5.0
    # The other tabs of the finished run.
    for tab in ("Against time", "Gradient norms", "Generated text"):
        again.query_params["training_tab"] = tab
        at2 = open_page(TINY)
        at2.session_state["training_tab"] = tab
        at2.run()
        assert not at2.exception and not at2.error, tab
    text_page = at2
    assert any("update" in c.value for c in text_page.code)


def test_no_strategy_chosen_is_a_warning_not_an_error():
    at = open_page({"train_full": False, "train_chunked": False, "train_randomized": False})
    assert not at.exception and not at.error
    assert any("at least one cell and one strategy" in w.value for w in at.warning)
    assert next(b for b in at.button if b.label == "Run").disabled
    at = open_page({"train_rnn": False})
    assert not at.exception and any("at least one cell" in w.value for w in at.warning)


def test_a_window_too_long_for_the_text_is_explained():
    at = open_page({"train_T": 200, "train_h": 8})
    at.text_area(key="own_text_paste").input("a short text of a few words, far too short for long windows " * 8).run()
    assert not at.exception and not at.error
    assert any("too long for this text" in w.value for w in at.warning)


def test_own_text_is_trained_on_and_shown_inertly():
    text = ("<b>It was</b> the best of times, it was the worst of times; " * 40).strip()
    at = open_page(TINY)
    at.text_area(key="own_text_paste").input(text).run()
    assert not at.exception and not at.error
    assert any("your own text" in i.value for i in at.info)
    assert not any("project's own short text" in i.value for i in at.info)
    assert any("<b>It was</b>" in t.value for t in at.text), "the raw text is echoed as plain text"
    next(b for b in at.button if b.label == "Run").click()
    at.run()
    finish_run(at)
    assert not at.exception and not at.error
    assert "training_perplexity" in charts(at)
    at.session_state["training_tab"] = "Generated text"
    at.run()
    assert any(c.value.startswith("update") and ": b it" in c.value for c in at.code), "samples start from the text's first words"
    # A text empty after the book's preprocessing: one error, and the previous text stays in use.
    at.text_area(key="own_text_paste").input("1234 !!! 5678").run()
    assert len(at.error) == 1 and any("your own text" in i.value for i in at.info)


def test_the_partitioning_chart_shows_a_few_streams_of_a_long_text():
    # A text as long as a short novel's chapters fits the book's B = 32: the chart shows one window in
    # four (1536 markers took Chromium about 60 ms a slider move), eight streams spread over the text.
    words = " ".join(f"w{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}" for i in range(12_000))
    at = open_page({"train_T": 20})
    at.text_area(key="own_text_paste").input(words).run()
    assert not at.exception and not at.error
    assert any("B = 32 windows" in c.value and "one in 4" in c.value for c in at.caption)
    fig = dict(chart_specs(at))["training_minibatches"]
    (sx, sy), (rx, ry) = [(decode_typed_array(t["x"]), decode_typed_array(t["y"])) for t in fig["data"]]
    assert sx.size == sy.size == rx.size == ry.size == 24 * 8
    first = np.sort(sy[sx == 1])
    assert first.size == 8 and first[-1] > 0.8 * sy.max(), "the eight streams run through the whole text"


def test_stop_ends_a_run_of_several_strategies_part_way():
    at = open_page({**TINY, "train_h": 64, "epochs": 100})
    next(b for b in at.button if b.label == "Run").click()
    at.run()
    run = at.session_state["training_run"]
    assert run.running and not next(b for b in at.button if b.label == "Stop").disabled
    deadline = time.monotonic() + 10
    while run.done == 0 and time.monotonic() < deadline:  # a few updates into the first strategy
        time.sleep(0.01)
    next(b for b in at.button if b.label == "Stop").click()
    at.run()
    finish_run(at, timeout=10)
    assert run.status == "stopped" and run.done < run.total
    assert len(run.trainers) < len(run.configs), "the strategies after the stopped one never started"
    assert any("The run was stopped" in i.value for i in at.info)
    assert "training_perplexity" in charts(at)


def test_the_books_1_0_pipeline_needs_a_long_text_and_trains_on_the_book(monkeypatch):
    at = open_page({"pipeline": "d2l-1.0"})
    assert not at.exception and not at.error
    assert any("more than this text has" in w.value for w in at.warning), "the short text cannot fill 15,000 windows"
    book = Path(__file__).resolve().parents[2] / "shared" / "data" / "timemachine.txt"
    if not book.is_file():
        pytest.skip("the book's text is not beside the repository")
    monkeypatch.setenv(ENV_VAR, str(book))
    at = open_page({"pipeline": "d2l-1.0", "epochs": 1, "train_chunked": False, "train_randomized": False})
    assert any("The book's 1.0 pipeline: 10,000 overlapping windows" in c.value for c in at.caption)
    next(b for b in at.button if b.label == "Run").click()
    at.run()
    finish_run(at)
    assert not at.exception and not at.error
    assert any("Uniform guessing over the 28 tokens" in c.value for c in at.caption), "the vocabulary has <unk>"
    assert not any(m.label.startswith("The book's own code") for m in at.metric), "one epoch is not the book's setting"


def test_a_tiny_run_compares_the_three_cells():
    at = open_page({**TINY, "train_sliding": False, "train_chunked": False, "train_randomized": False,
                    "train_gru": True, "train_lstm": True})
    next(b for b in at.button if b.label == "Run").click()
    at.run()
    finish_run(at)
    assert not at.exception and not at.error, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert set(metrics) == {f"{cell} · Full T = 10: perplexity" for cell in ("RNN", "GRU", "LSTM")}
    assert all(float(v) > 1.0 for v in metrics.values())
    fig = dict(chart_specs(at))["training_perplexity"]
    names = [t["name"] for t in fig["data"] if t.get("meta") == "validation"]
    assert names == ["RNN · Full T = 10", "GRU · Full T = 10", "LSTM · Full T = 10"]
