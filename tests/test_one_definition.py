"""A range or option lives in one place: a copy of one, typed again elsewhere, fails here.

The option tuples (activations, kinds of W_hh, optimizers, the four strategies) are defined in the
core and imported everywhere else; the lab's largest hidden size and π's floor are named constants.
The source of the app (core, charts, ui, views, app.py) is read as Python: any tuple, list or set
literal, or dict literal's keys, holding all the members of one of the option sets outside the module
that defines it, is a copy; so is the number itself in a place that should name the constant.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bptt_core import ACTIVATIONS, MATRIX_KINDS, MAX_H, OPTIMIZERS, STRATEGY_KEYS
from bptt_core.spectral import KINDS
from ui.controls import MIN_PI

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for d in ("bptt_core", "charts", "ui", "views") for p in (ROOT / d).glob("*.py")) + [ROOT / "app.py"]

# option set → the one module allowed to spell it out
OPTION_SETS = {
    frozenset(ACTIVATIONS): "bptt_core/activations.py",
    frozenset(KINDS): "bptt_core/spectral.py",
    frozenset(MATRIX_KINDS): "bptt_core/problems.py",
    frozenset(OPTIMIZERS): "bptt_core/train.py",
    frozenset(STRATEGY_KEYS): "bptt_core/bptt.py",
}
# constant → (where it is defined, the folders and modules where the bare number would be a copy of it)
NUMBERS = {
    MAX_H: ("bptt_core/problems.py", ("ui/", "views/", "bptt_core/uploads.py", "app.py")),
    MIN_PI: ("ui/controls.py", ("ui/", "views/")),
}


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def literal_sets(tree: ast.AST):
    """(line, set of string constants) for every tuple/list/set literal and every dict literal's keys."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            items = node.elts
        elif isinstance(node, ast.Dict):
            items = [k for k in node.keys if k is not None]
        else:
            continue
        strings = {e.value for e in items if isinstance(e, ast.Constant) and isinstance(e.value, str)}
        if strings:
            yield node.lineno, strings


@pytest.mark.parametrize("path", SOURCES, ids=relative)
def test_no_copy_of_an_option_set(path):
    tree = ast.parse(path.read_text())
    for line, strings in literal_sets(tree):
        for options, home in OPTION_SETS.items():
            if options <= strings and relative(path) != home:
                pytest.fail(f"{relative(path)}:{line} spells out {sorted(options)}; import it from {home}")


@pytest.mark.parametrize("path", SOURCES, ids=relative)
def test_no_copy_of_a_named_limit(path):
    tree = ast.parse(path.read_text())
    name = relative(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            for number, (home, scope) in NUMBERS.items():
                watched = name != home and any(name.startswith(place) for place in scope)
                if watched and node.value == number and type(node.value) is type(number):
                    pytest.fail(f"{name}:{node.lineno} writes {number!r}; name the constant from {home}")


def test_the_checks_find_a_copy():
    copy = ast.parse('KINDS = ("sgd", "adagrad")\nd = {"full": 1, "chunked": 2, "sliding": 3, "randomized": 4}\nx = 256')
    found = [s for _, s in literal_sets(copy)]
    assert frozenset(OPTIMIZERS) <= found[0] and frozenset(STRATEGY_KEYS) <= found[1]
    assert any(isinstance(n, ast.Constant) and n.value == MAX_H for n in ast.walk(copy))


@pytest.mark.parametrize("kind", MATRIX_KINDS)
def test_the_views_model_is_lab_problem(kind):
    """One model: the views' cached problem (its W_hh shared across T and φ) is ``lab_problem``'s, exactly."""
    import numpy as np

    from bptt_core import lab_problem, lab_w_hh
    from ui.compute import problem, w_hh
    from ui.controls import Model

    model = Model(T=7, h=9, activation="tanh", rho=1.3, kind=kind, spread=0.4, nonnormality=2.0, seed=3)
    want = lab_problem(*model)
    got = problem(model)
    for a, b in zip((*want[0].params, want[1], want[2]), (*got[0].params, got[1], got[2])):
        assert np.array_equal(a, b)
    assert got[0].activation == "tanh"
    assert np.array_equal(w_hh(model.matrix_key()), lab_w_hh(*model.matrix_key()))
