"""The layers import one way: ``bptt_core`` is NumPy only, ``charts`` never loads Streamlit.

Checked in a fresh interpreter, so nothing imported by other tests can hide a stray import.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def modules_of(package: str) -> list[str]:
    return [f"{package}.{m.name}" for m in pkgutil.iter_modules([str(ROOT / package)])]


def loaded_after_importing(modules: list[str]) -> set[str]:
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"importing {modules} failed:\n{out.stderr}"
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def top_level(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_there_is_something_to_check():
    assert modules_of("bptt_core") and modules_of("charts")


def test_core_and_charts_do_not_load_streamlit():
    wanted = ["bptt_core", *modules_of("bptt_core"), "charts", *modules_of("charts")]
    loaded = top_level(loaded_after_importing(wanted))
    assert "streamlit" not in loaded


def test_core_loads_neither_streamlit_nor_plotly():
    loaded = top_level(loaded_after_importing(["bptt_core", *modules_of("bptt_core")]))
    assert "streamlit" not in loaded
    assert "plotly" not in loaded
    assert "ui" not in loaded and "charts" not in loaded and "pandas" not in loaded


@pytest.mark.parametrize("module", modules_of("charts"))
def test_each_chart_module_alone(module):
    # One interpreter per module, so a module that only works after another one was imported shows up.
    loaded = top_level(loaded_after_importing([module]))
    assert "streamlit" not in loaded and "ui" not in loaded
