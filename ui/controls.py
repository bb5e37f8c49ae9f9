"""Every control of the lab, declared once, and the codec that binds them to the URL.

A control's name, type, default and range live in ``CONTROLS`` and nowhere
else: pages draw widgets from this table, the URL codec validates against it,
and the tests drive every control to the ends of its range from it.

URL values are never trusted: a value that is not a number, NaN, ±inf, out of
range or not one of the options falls back to the default (numbers out of
range are clamped) and produces a short warning that never repeats the
offending text (it could be markup or script).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, NamedTuple

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from ui.address_bar import address_bar
from ui.registry import VIEWS, tab_param


@dataclass(frozen=True)
class Control:
    key: str
    label: str
    kind: str  # "int" | "float" | "choice" | "bool"
    default: Any
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    options: tuple = field(default_factory=tuple)
    help: str = ""
    fmt: str | None = None

    def clamp(self, value):
        return min(max(value, self.lo), self.hi)


_CONTROLS = [
    # Shared model controls (sidebar, every view).
    Control("T", "Sequence length T", "int", 50, 2, 1000, 1, help="Number of time steps the RNN is unrolled for."),
    Control("h", "Hidden size h", "int", 16, 2, 256, 1, help="Dimension of the hidden state h_t."),
    Control("activation", "Activation φ", "choice", "identity", options=("identity", "tanh", "sigmoid", "relu"),
            help="The section's derivation uses the identity φ(x) = x."),
    Control("rho", "Spectral radius ρ(W_hh)", "float", 0.9, 0.1, 3.0, 0.05, fmt="%.2f",
            help="Largest |eigenvalue| of W_hh: below 1 gradients tend to vanish, above 1 to explode."),
    Control("seed", "Random seed", "int", 0, 0, 9999, 1, help="Seeds the weights, the inputs and every random draw."),
    # Eigenvalues of W_hh.
    Control("kind", "Matrix kind", "choice", "symmetric", options=("symmetric", "normal", "nonnormal"),
            help="Symmetric: real eigenvalues. Normal: rotations (complex pairs). Non-normal: same eigenvalues, skewed eigenvectors."),
    Control("spread", "Spread of eigenvalues", "float", 0.5, 0.0, 1.0, 0.05, fmt="%.2f",
            help="Moduli of the eigenvalues range from ρ down to ρ(1 − spread)."),
    Control("nonnormality", "Non-normality", "float", 2.0, 0.0, 10.0, 0.1, fmt="%.1f",
            help="Strength of the upper-triangular part in the Schur form; the eigenvalues stay fixed."),
    Control("K", "Powers k up to K", "int", 100, 1, 2000, 1, help="Largest power of W_hh drawn."),
    # Truncation strategies.
    Control("tau", "Truncation length τ", "int", 4, 1, 200, 1, help="Regular truncation cuts every τ steps."),
    Control("pi", "Keep probability π", "float", 0.5, 0.05, 1.0, 0.05, fmt="%.2f",
            help="Randomized truncation keeps the flow with probability π and then scales it by 1/π."),
    Control("samples", "Monte-Carlo samples S", "int", 500, 10, 2000, 10, help="Number of randomized gradients drawn."),
    Control("book_draw", "The book's draw", "bool", True, help="Show the book's own randomized segments (29 characters) instead of a fresh draw."),
    # Scalar model.
    Control("c", "Multiplier c (mean of c_t)", "float", 0.9, -3.0, 3.0, 0.05, fmt="%.2f",
            help="The scalar model's c_t = ∂f/∂h_{t-1}."),
    Control("c_noise", "Randomness of c_t", "float", 0.0, 0.0, 1.0, 0.05, fmt="%.2f",
            help="c_t is drawn uniformly from c ± this amount (0: constant)."),
    Control("log_eps", "Perturbation log₁₀ ε", "int", -8, -12, -1, 1, help="Size of the change to h_0 in the butterfly plot."),
    # Training lab: which strategies to train (one toggle each), and the run's settings.
    Control("train_full", "Full BPTT", "bool", True, help="Backpropagate through the whole window of T steps."),
    Control("train_chunked", "Regular truncation (τ)", "bool", True,
            help="Cut the gradient every τ steps inside each window (the book's regular truncation)."),
    Control("train_sliding", "Sliding truncation (τ)", "bool", False,
            help="Each loss term reaches back τ steps; costs about τ times more per window."),
    Control("train_randomized", "Randomized truncation (π)", "bool", True,
            help="Keep each step's gradient flow with probability π and scale it by 1/π."),
    Control("match_pi", "Match π to τ", "bool", True,
            help="π = 1 − 1/τ: randomized segments then have the same expected length τ as regular truncation."),
    Control("clip", "Clip gradients", "bool", True, help="g ← min(1, θ/‖g‖) g over all parameters, before each step."),
    Control("theta", "Clipping threshold θ", "float", 1.0, 0.1, 10.0, 0.1, fmt="%.1f",
            help="Largest gradient norm an update may use."),
    Control("lr", "Learning rate η", "float", 1.0, 0.01, 5.0, 0.01, fmt="%.2f", help="Step size of SGD or Adagrad."),
    Control("optimizer", "Optimizer", "choice", "sgd", options=("sgd", "adagrad"),
            help="SGD: w ← w − η g. Adagrad: s ← s + g², w ← w − η g / √(s + ε)."),
    Control("epochs", "Epochs", "int", 2, 1, 50, 1, help="Passes over the training text."),
    # The lecture hall (sidebar, every page).
    Control("present", "Presentation mode", "bool", False,
            help="For a projector: large chart text, thick lines, explanations folded away, the main chart on one screen."),
    Control("contrast", "High contrast", "bool", False,
            help="Black on white, darker colours and gridlines; lines keep their dashes."),
]
CONTROLS: dict[str, Control] = {c.key: c for c in _CONTROLS}


class Model(NamedTuple):
    """The sidebar's model settings, shared by every view."""

    T: int
    h: int
    activation: str
    rho: float
    seed: int


SHARED = Model._fields  # the sidebar controls, in order

MAX_URL_VALUE_LENGTH = 64
# Each view's open tab: Streamlit binds and validates these itself (ui/sections.py).
TAB_PARAMS = frozenset(tab_param(view.url_path) for view in VIEWS)


def parse_value(control: Control, raw) -> tuple[Any, str | None]:
    """(value, warning) for one URL value; the warning is None when it was valid as given."""
    if isinstance(raw, (list, tuple)):
        raw = raw[-1] if raw else ""
    text = str(raw).strip()
    name = control.label[:1].lower() + control.label[1:]  # keep the symbols' case: "sequence length T"
    bad = f"URL parameter `{control.key}` was not a valid {name}; using the default."
    if len(text) > MAX_URL_VALUE_LENGTH:
        return control.default, bad
    if control.kind == "choice":
        return (text, None) if text in control.options else (control.default, bad)
    if control.kind == "bool":
        if text.lower() in ("1", "true", "yes", "on"):
            return True, None
        if text.lower() in ("0", "false", "no", "off"):
            return False, None
        return control.default, bad
    try:
        number = float(text)
    except ValueError:
        return control.default, bad
    if not math.isfinite(number):
        return control.default, bad
    if control.kind == "int":
        if number != int(number):
            return control.default, bad
        number = int(number)
    clamped = control.clamp(number)
    if clamped != number:
        return clamped, (f"URL parameter `{control.key}` was outside {control.lo:g} … {control.hi:g}; "
                         f"using {clamped:g}.")
    return number, None


def parse_query(params: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Validated values for the known keys present in ``params``, and warnings."""
    values, warnings = {}, []
    unknown = 0
    for key, raw in params.items():
        control = CONTROLS.get(key)
        if control is None:
            unknown += key not in TAB_PARAMS
            continue
        value, warning = parse_value(control, raw)
        values[key] = value
        if warning:
            warnings.append(warning)
    if unknown:
        warnings.append(f"Ignored {unknown} unknown URL parameter{'s' if unknown > 1 else ''}.")
    return values, warnings


def encode_value(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


# --- Streamlit binding -------------------------------------------------------

_STORE = "_control_values"  # survives page switches; widget state does not
_SEEDED = "_control_seeded"  # (page, keys whose widget this visit of the page has started from the store)
_URL_DRAWN = "_control_url_drawn"  # URL text of the controls this run drew, written once at its end


def _store() -> dict:
    if _STORE not in st.session_state:
        values, warnings = parse_query(st.query_params.to_dict())
        st.session_state[_STORE] = values
        st.session_state["_url_warnings"] = warnings
    return st.session_state[_STORE]


def url_warnings() -> list[str]:
    """Warnings from this session's first URL read (shown once by the app)."""
    _store()
    return st.session_state.pop("_url_warnings", [])  # once: a later run would repeat stale news


def value(key: str):
    """The current value of a control (URL, then session, then default)."""
    return _store().get(key, CONTROLS[key].default)


def set_values(values: Mapping[str, Any]) -> None:
    """Set controls programmatically (scenarios); takes effect on the next run."""
    store = _store()
    for key, v in values.items():
        control = CONTROLS[key]
        parsed, warning = parse_value(control, encode_value(v))
        if warning:
            raise ValueError(f"scenario value for {key!r} is invalid: {v!r}")
        store[key] = parsed
        st.session_state.pop(key, None)  # the widget re-reads the store on the next run
        st.query_params[key] = encode_value(parsed)


def enter_page(page: str) -> None:
    """Note the page about to run (app.py, every full run): a new page's widgets start from the store."""
    if st.session_state.get(_SEEDED, (None,))[0] != page:
        st.session_state[_SEEDED] = (page, set())


def widget(key: str, container=None):
    """Draw the control's widget, bound to the session and to the URL; returns its value.

    The URL is written at the end of the run (``write_url``), not here.
    """
    control = CONTROLS[key]
    store = _store()
    if key in st.session_state:
        store[key] = st.session_state[key]  # the widget's latest value
    _, seeded = st.session_state.setdefault(_SEEDED, (None, set()))
    if key not in st.session_state or key not in seeded:
        # A widget new to this visit of the page starts from the store. After a page switch the key still
        # holds the previous page's widget value, which Streamlit drops: assigning it carries it over.
        # Only then: a value assigned on every run counts as set by the script, and the browser
        # re-renders the widget for it.
        st.session_state[key] = store.get(key, control.default)
        seeded.add(key)
    where = st if container is None else container
    if control.kind == "choice":
        out = where.selectbox(control.label, control.options, key=key, help=control.help)
    elif control.kind == "bool":
        out = where.toggle(control.label, key=key, help=control.help)
    elif control.kind == "int":
        out = where.slider(control.label, int(control.lo), int(control.hi), step=int(control.step), key=key,
                           help=control.help)
    else:
        out = where.slider(control.label, float(control.lo), float(control.hi), step=float(control.step),
                           key=key, help=control.help, format=control.fmt)
    store[key] = out
    st.session_state.setdefault(_URL_DRAWN, {})[key] = encode_value(out)
    return out


def write_url(key: str = "app") -> None:
    """Put the values of the controls this run drew into the URL, once, at the end of the run.

    Called at the end of every full run (app.py) and of every fragment run (ui/sections.py, with
    the fragment's ``key``). A full run writes the values that changed through ``st.query_params``
    (one page-info message, sent last so that it joins the run's final render). A fragment rerun,
    which is what every slider move is, hands all of them to the browser's address instead
    (ui/address_bar.py): Streamlit re-renders the whole app for a page-info message. Until the
    next full run, ``st.query_params`` on the server keeps the query as Streamlit last wrote it;
    nothing reads it then (the store took the URL's values at the session's first run).
    """
    drawn = st.session_state.pop(_URL_DRAWN, None)
    if not drawn:
        return
    if _fragment_rerun():
        address_bar(drawn, key=f"{key}_address")
        return
    changed = {k: v for k, v in drawn.items() if st.query_params.get(k) != v}
    if changed:
        st.query_params.update(changed)


def _fragment_rerun() -> bool:
    """Whether this run reruns fragments only (a widget inside one changed), not the whole page.

    Streamlit has no public way to ask; its run context lists the fragments a run is for.
    """
    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.fragment_ids_this_run)


def shared_controls() -> Model:
    """Draw the sidebar's model controls (T, h, activation, ρ, seed); returns their values."""
    with st.sidebar:
        st.header("Model")
        return Model(*(widget(key) for key in SHARED))
