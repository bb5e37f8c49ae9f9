"""Every control of the lab, declared once, and the codec that checks the values a link brings.

A control's name, type, default and range live in ``CONTROLS`` and nowhere else: pages draw
widgets from this table, the URL codec validates against it, and the tests drive every control
to the ends of its range from it. Options and limits that the core defines (activations, matrix
kinds, optimizers, the largest hidden size) are imported from it, not typed again.

Every widget is bound to the URL by Streamlit itself (``bind="query-params"``: the address
follows each change in place, a value equal to the default leaves the address, and a link's
value seeds the widget) and keeps its value across pages (``persist_state="session"``).
What Streamlit does not do is say why a link's value was not used: ``read_link`` checks the
link once per session, before any widget exists, with this module's codec, and turns what it
rejects or clamps into short warnings that never repeat the offending text (it could be markup
or script).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, NamedTuple

import streamlit as st
from streamlit.errors import StreamlitAPIException

from bptt_core import ACTIVATIONS, MATRIX_KINDS, MAX_H, OPTIMIZERS, PIPELINES
from ui.registry import MODEL, VIEWS, tab_param

# The keep probability's floor: π = 0 would keep no gradient at all (and 1/π is infinite).
MIN_PI = 0.05


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
    # The shared model (sidebar, every view but the training lab): one RNN, one W_hh.
    Control("rho", "Spectral radius ρ(Wₕₕ)", "float", 0.9, 0.1, 3.0, 0.05, fmt="%.2f",
            help="Largest |eigenvalue| of Wₕₕ: below 1 gradients tend to vanish, above 1 to explode."),
    Control("activation", "Activation φ", "choice", "identity", options=ACTIVATIONS,
            help="The section's derivation uses the identity φ(x) = x."),
    Control("T", "Sequence length T", "int", 50, 2, 1000, 1, help="Number of time steps the RNN is unrolled for."),
    Control("h", "Hidden size h", "int", 16, 2, MAX_H, 1, help="Dimension of the hidden state hₜ."),
    Control("kind", "Kind of Wₕₕ", "choice", "symmetric", options=MATRIX_KINDS,
            help="Symmetric: real eigenvalues. Normal: rotations (complex pairs). Non-normal: the normal one's "
                 "eigenvalues with skewed eigenvectors. Gaussian: random entries, eigenvalues filling a disk."),
    Control("spread", "Spread of eigenvalues", "float", 0.5, 0.0, 1.0, 0.05, fmt="%.2f",
            help="Moduli of the eigenvalues range from ρ down to ρ(1 − spread)."),
    Control("nonnormality", "Non-normality", "float", 2.0, 0.0, 10.0, 0.1, fmt="%.1f",
            help="Strength of the upper-triangular part in the Schur form; the eigenvalues stay fixed."),
    Control("seed", "Random seed", "int", 0, 0, 9999, 1, help="Seeds the weights, the inputs and every random draw."),
    # Eigenvalues of W_hh.
    Control("K", "Powers k up to K", "int", 100, 1, 2000, 1, help="Largest power of Wₕₕ drawn."),
    # Truncation strategies.
    Control("tau", "Truncation length τ", "int", 4, 1, 200, 1, help="Regular truncation cuts every τ steps."),
    Control("pi", "Keep probability π", "float", 0.5, MIN_PI, 1.0, 0.05, fmt="%.2f",
            help="Randomized truncation keeps the flow with probability π and then scales it by 1/π."),
    Control("samples", "Monte-Carlo samples S", "int", 500, 10, 2000, 10, help="Number of randomized gradients drawn."),
    Control("book_draw", "The book's draw", "bool", True, help="Show the book's own randomized segments (29 characters) instead of a fresh draw."),
    # Scalar model.
    Control("c", "Multiplier c (mean of cₜ)", "float", 0.9, -3.0, 3.0, 0.05, fmt="%.2f",
            help="The scalar model's cₜ = ∂f/∂hₜ₋₁."),
    Control("c_noise", "Randomness of cₜ", "float", 0.0, 0.0, 1.0, 0.05, fmt="%.2f",
            help="cₜ is drawn uniformly from c ± this amount (0: constant)."),
    Control("log_eps", "Perturbation log₁₀ ε", "int", -8, -12, -1, 1, help="Size of the change to h₀ in the butterfly plot."),
    # Gates against vanishing.
    Control("b_f", "Forget-gate bias b_f (LSTM)", "float", 0.0, -4.0, 10.0, 0.25, fmt="%.2f",
            help="Added to every unit's forget gate: b_f = 1 is the classic initialisation; large b_f keeps Fₜ ≈ 1."),
    Control("b_z", "Update-gate bias b_z (GRU)", "float", 0.0, -4.0, 10.0, 0.25, fmt="%.2f",
            help="Added to every unit's update gate: large b_z keeps Zₜ ≈ 1, so Hₜ ≈ Hₜ₋₁."),
    # Training lab: its own network (a character RNN over the vocabulary, not the sidebar's model) ...
    Control("train_T", "Window T (characters)", "int", 35, 2, 200, 1,
            help="Characters per training window: the book's num_steps (35; 32 in d2l 1.0)."),
    Control("train_h", "Hidden units h", "int", 128, 8, 512, 8, help="The book uses 512 (32 in d2l 1.0)."),
    Control("train_activation", "Activation φ of the network", "choice", "tanh", options=ACTIVATIONS,
            help="The book's character RNN uses tanh."),
    Control("pipeline", "Data pipeline", "choice", "d2l-2nd", options=PIPELINES,
            help="d2l-2nd: the book's 2nd edition, the whole text in non-overlapping windows, the state carried "
                 "from window to window, the last 10 % held out. d2l-1.0: the book's 1.0 edition, overlapping windows "
                 "of the first 10,000 + 5,000 characters, 1024 shuffled windows per minibatch, each from h₀ = 0."),
    Control("init_at_rho", "Start Wₕₕ at a spectral radius", "bool", False,
            help="Off: the book's start, every weight ~ N(0, 0.01²). On: Wₕₕ random with spectral radius ρ₀."),
    Control("init_rho", "Initial spectral radius ρ₀", "float", 1.5, 0.1, 3.0, 0.05, fmt="%.2f",
            help="ρ(Wₕₕ) at the start of training, when the switch above is on."),
    # ... which cells and strategies to train (one toggle each: every chosen cell with every chosen strategy),
    # and the run's settings.
    Control("train_rnn", "RNN", "bool", True, help="The section's network: hₜ = φ(Wₕₓ xₜ + Wₕₕ hₜ₋₁ + b_h)."),
    Control("train_gru", "GRU", "bool", False, help="The book's gated recurrent unit (its GRU section, from scratch)."),
    Control("train_lstm", "LSTM", "bool", False, help="The book's long short-term memory (its LSTM section, from scratch)."),
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
    Control("optimizer", "Optimizer", "choice", "sgd", options=OPTIMIZERS,
            help="SGD: w ← w − η g. Adagrad: s ← s + g², w ← w − η g / √(s + ε)."),
    Control("epochs", "Epochs", "int", 8, 1, 100, 1, help="Passes over the training text."),
    # The lecture hall (sidebar, every page).
    Control("present", "Presentation mode", "bool", False,
            help="For a projector: large chart text, thick lines, explanations folded away, the main chart on one screen."),
    Control("contrast", "High contrast", "bool", False,
            help="Black on white, darker colours and gridlines; lines keep their dashes."),
]
CONTROLS: dict[str, Control] = {c.key: c for c in _CONTROLS}


class Model(NamedTuple):
    """The sidebar's model settings, shared by every view: one RNN and one W_hh for the same values."""

    T: int
    h: int
    activation: str
    rho: float
    kind: str
    spread: float
    nonnormality: float
    seed: int

    @property
    def s(self) -> float:
        """The non-normality the matrix uses: the other kinds ignore the slider."""
        return self.nonnormality if self.kind == "nonnormal" else 0.0

    def matrix_key(self) -> tuple:
        """What W_hh depends on (h, ρ, kind, spread, s, seed): equal keys, equal matrices, shared caches."""
        spread = 0.0 if self.kind == "gaussian" else self.spread
        return self.h, self.rho, self.kind, spread, self.s, self.seed

    def canonical(self) -> "Model":
        """The same model with the settings its kind ignores at fixed values (cache keys)."""
        h, rho, kind, spread, s, seed = self.matrix_key()
        return self._replace(spread=spread, nonnormality=s)


SHARED = Model._fields  # the sidebar's model controls
# Drawn in this order: the one a lecturer reaches for first at the top of the sidebar.
SIDEBAR_ORDER = ("rho", "activation", "T", "h", "kind", "spread", "nonnormality", "seed")



def view_controls(url_path: str) -> tuple[str, ...]:
    """The controls a view's charts depend on (the shared model spelled out)."""
    view = next(v for v in VIEWS if v.url_path == url_path)
    return tuple(k for key in view.controls for k in (SHARED if key == MODEL else (key,)))


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

_LINK_READ = "_link_read"        # set once the session's first link has been checked
_WARNINGS = "_url_warnings"      # its warnings, until shown


def read_link() -> None:
    """Check the link this session started from, once, before any widget is drawn (app.py).

    Every value the codec accepts or clamps goes to ``st.session_state``, so a control of a page
    not yet visited starts from it too. A value it rejects or clamps leaves the address first:
    Streamlit would otherwise seed the widget from the raw text by its own rules (it drops
    "T=5000" where the codec clamps it, and reads "T=2.5" as 2).
    """
    if st.session_state.get(_LINK_READ):
        return
    st.session_state[_LINK_READ] = True
    raw = {key: st.query_params.get_all(key) for key in st.query_params}
    values, warnings = parse_query(raw)
    for key, v in values.items():
        st.session_state[key] = v
        if parse_value(CONTROLS[key], raw[key])[1] is not None:
            del st.query_params[key]
    st.session_state[_WARNINGS] = warnings


_PAGE = "_control_page"  # the page the last run drew


def carry_over(url_path: str) -> None:
    """Give a page's controls the session's values when the page is entered (app.py, before it runs).

    Streamlit binds a widget drawn by a page's script to that page: on a move to another page its
    parameter leaves the address and the next page's widget of the same key starts from its default.
    There is no setting for a widget shared by several pages, so on entering a page every control it
    draws that holds a value other than its default is given that value again, in session state and in
    the address, before the page binds it (tests/test_browser.py test_values_survive_navigation).
    """
    if st.session_state.get(_PAGE) == url_path:
        return
    st.session_state[_PAGE] = url_path
    if url_path not in {v.url_path for v in VIEWS}:
        return
    for key in view_controls(url_path):
        if key in st.session_state and st.session_state[key] != CONTROLS[key].default:
            st.session_state[key] = st.session_state[key]
            try:
                st.query_params[key] = encode_value(st.session_state[key])
            except StreamlitAPIException:
                pass  # still bound to a widget of this page: Streamlit keeps it in the address itself


def url_warnings() -> list[str]:
    """Warnings from this session's link (shown once by the app)."""
    return st.session_state.pop(_WARNINGS, [])  # once: a later run would repeat stale news


def value(key: str):
    """The current value of a control, drawn on this page or not (its default until it is set)."""
    return st.session_state.get(key, CONTROLS[key].default)


def set_values(values: Mapping[str, Any]) -> None:
    """Set controls programmatically (a scenario, in a button's callback); the widgets and the
    address follow on the next run."""
    for key, v in values.items():
        parsed, warning = parse_value(CONTROLS[key], encode_value(v))
        if warning:
            raise ValueError(f"scenario value for {key!r} is invalid: {v!r}")
        st.session_state[key] = parsed


def widget(key: str, container=None):
    """Draw the control's widget, bound to the URL and kept for the session; returns its value."""
    control = CONTROLS[key]
    where = st if container is None else container
    bound = dict(key=key, help=control.help, bind="query-params", persist_state="session")
    if control.kind == "choice":
        return where.selectbox(control.label, control.options, index=control.options.index(control.default),
                               **bound)
    if control.kind == "bool":
        return where.toggle(control.label, value=control.default, **bound)
    if control.kind == "int":
        return where.slider(control.label, int(control.lo), int(control.hi), value=int(control.default),
                            step=int(control.step), **bound)
    return where.slider(control.label, float(control.lo), float(control.hi), value=float(control.default),
                        step=float(control.step), format=control.fmt, **bound)


def model_values() -> Model:
    """The shared model as the controls hold it now, drawn or not (a view's text, the share link)."""
    return Model(*(value(key) for key in SHARED))
