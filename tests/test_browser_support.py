"""The pure parts of tests/browser_support.py: what counts as a problem in the server's log, and which
addresses stay on the machine (no browser needed)."""

import pytest

from tests.browser_support import is_local, log_problems

LOG = """\
2026-12-07 01:36:00.031 Uvicorn server started on 127.0.0.1:53089

  You can now view your Streamlit app in your browser.

2026-12-07 01:36:03.186 Uncaught app execution
Traceback (most recent call last):
  File "/work/main/app.py", line 48, in <module>
    navigation.run()
  File "/work/main/views/training.py", line 14, in <module>
    from bptt_core import TrainConfig
ImportError: cannot import name 'TrainConfig' from 'bptt_core'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "x.py", line 1, in <module>
streamlit.errors.FragmentHandledException: A fragment tried to write
  to a container created outside it.
2026-12-07 01:37:00.000 Thread 'MainThread': missing ScriptRunContext! This warning can be ignored.
2026-12-07 01:38:00.000 Error while serving /media/abc.png
Traceback (most recent call last):
  File "y.py", line 2, in <module>
"""


def test_log_problems_name_each_traceback_by_its_exception():
    assert log_problems(LOG) == [
        "traceback ending in ImportError: cannot import name 'TrainConfig' from 'bptt_core'",
        "traceback ending in streamlit.errors.FragmentHandledException: A fragment tried to write",
        "2026-12-07 01:38:00.000 Error while serving /media/abc.png",
        "a traceback (cut off)",
    ]


def test_a_quiet_log_has_no_problems():
    assert log_problems("  You can now view your Streamlit app in your browser.\n  URL: http://127.0.0.1:1\n") == []


@pytest.mark.parametrize("url, local", [
    ("http://127.0.0.1:8501/unrolled?T=5", True),
    ("ws://127.0.0.1:8501/_stcore/stream", True),
    ("http://localhost:8501/media/favicon.png", True),
    ("blob:http://127.0.0.1:8501/3c3f15aa-09f9", True),
    ("data:image/png;base64,iVBOR", True),
    ("https://fonts.gstatic.com/s/i/short-term/release/materialsymbolsrounded/timeline/default/24px.svg", False),
    ("https://cdn.plot.ly/plotly-2.35.2.min.js", False),
    ("http://127.0.0.2:8501/", False),
])
def test_is_local(url, local):
    assert is_local(url) is local
