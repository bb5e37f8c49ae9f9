"""The sidebar's model: the controls every view shares, and what the W_hh they make is.

Every view but the training lab draws these (from inside its open section's fragment, so a move
reruns that section only) and shows the same RNN; the caption under them reads ρ and
σ₁ = ‖W_hh‖₂ off the matrix itself, so a view's text and the sidebar never disagree about it.
"""

from __future__ import annotations

from typing import NamedTuple

import streamlit as st

from ui.compute import matrix_facts
from ui.controls import SIDEBAR_ORDER, Model, value, widget
from ui.text import presenting

# The controls each kind of W_hh ignores are not drawn (they keep their values for the session).
UNUSED_BY_KIND = {"gaussian": ("spread", "nonnormality"), "symmetric": ("nonnormality",), "normal": ("nonnormality",)}


def model_controls(row=None) -> Model:
    """Draw the sidebar's model controls and the facts of its W_hh; returns the model.

    ``row`` (the view's control row, from ``open_tab_only``) is not used: the model lives in the sidebar.
    """
    with st.sidebar:
        st.header("Model")
        drawn = {}
        for key in SIDEBAR_ORDER:
            unused = key in UNUSED_BY_KIND.get(drawn.get("kind"), ())
            drawn[key] = value(key) if unused else widget(key)
        model = Model(**drawn)
        st.caption(matrix_caption(model))
    return model


def view_settings(*keys):
    """A view's settings: (a NamedTuple ``Settings(model, *keys)``, and the function that draws them: the
    sidebar's model, and the view's own controls ``keys`` side by side in the row it is given)."""
    settings_type = NamedTuple("Settings", [("model", Model)] + [(key, object) for key in keys])

    def draw(row):
        if presenting():  # the lecturer's own sliders first in the sidebar, above the model's
            own = [view_widget(key) for key in keys]
            return settings_type(model_controls(), *own)
        return settings_type(model_controls(), *(widget(key, col) for key, col in zip(keys, row.columns(len(keys)))))

    return settings_type, draw


def view_widget(key: str, place=None):
    """A view's own control: in ``place`` (the page, by default) on a screen; in the sidebar, under the model,
    in presentation mode, where the projector's 720 px go to the chart."""
    return widget(key, st.sidebar if presenting() else place)


def matrix_caption(model: Model) -> str:
    """One line on the W_hh every view shows: its kind, h, ρ and σ₁, read off the matrix."""
    facts = matrix_facts(model.matrix_key())
    return (f"Wₕₕ: {model.kind}, h = {model.h}, ρ = {facts.rho:.3g}, σ₁ = ‖Wₕₕ‖₂ = {facts.sv[0]:.3g}"
            + (" (σ₁ > ρ: non-normal)" if facts.sv[0] > facts.rho * (1 + 1e-9) else "") + ".")
