"""The lab's views in the order of the section: one table read by app.py and the tests."""

from __future__ import annotations

from dataclasses import dataclass


# The scripts live in views/, not pages/: Streamlit 1.67 runs a pages/ folder beside the entry
# point as an old-style multipage app until st.navigation has run once on the server, so the
# first deep link after a restart would run a view without app.py (no navigation titles, no URL
# validation warnings).


# What a view reads: "model" stands for the sidebar's shared model controls (ui/controls.py SHARED).
MODEL = "model"


@dataclass(frozen=True)
class View:
    path: str        # script under views/, relative to the repository root
    title: str
    icon: str
    url_path: str
    summary: str     # one line for the home page's map
    controls: tuple  # the controls its charts depend on: a scenario sets every one of them


VIEWS = (
    View("views/unrolled.py", "The unrolled network", ":material/account_tree:", "unrolled",
         "The computational graph for T = 3, ‖∂L/∂hₜ‖ over time, and the recursion against the book's expanded sum.",
         (MODEL,)),
    View("views/eigenvalues.py", "Eigenvalues of Wₕₕ", ":material/blur_circular:", "eigenvalues",
         "Eigenvalues in the complex plane, ‖(Wₕₕᵀ)ᵏ‖ against ρᵏ, singular values, and the section's exercise 1.",
         (MODEL, "K")),
    View("views/jacobians.py", "Products of Jacobians", ":material/grid_on:", "jacobians",
         "‖Π ∂hₜ/∂hₜ₋₁‖ against the lag for identity, tanh and sigmoid, with the σ₁γ bound, as a line and a heatmap.",
         (MODEL,)),
    View("views/truncation.py", "Truncation strategies", ":material/content_cut:", "truncation",
         "The book's figure over The Time Machine; full, chunked, sliding and randomized gradients; Monte-Carlo.",
         (MODEL, "tau", "pi", "samples", "book_draw")),
    View("views/scalar.py", "The scalar model", ":material/functions:", "scalar",
         "aₜ = bₜ + cₜ aₜ₋₁: the terms Π cⱼ bᵢ vanish or explode, and the butterfly effect.",
         (MODEL, "c", "c_noise", "log_eps")),
    View("views/gates.py", "Gates against vanishing", ":material/door_open:", "gates",
         "The plain RNN beside a GRU and an LSTM on the same sequence: ‖∂L/∂hₜ‖, the lag curves, and the gates.",
         (MODEL, "b_f", "b_z")),
    View("views/training.py", "Training lab", ":material/model_training:", "training",
         "A character RNN trained on The Time Machine with each strategy: perplexity, gradient norms, clipping.",
         ("train_T", "train_h", "train_activation", "seed", "pipeline", "init_at_rho", "init_rho", "train_rnn",
          "train_gru", "train_lstm", "train_full",
          "train_chunked",
          "train_sliding", "train_randomized", "match_pi", "tau", "pi", "clip", "theta", "lr", "optimizer", "epochs")),
)


def tab_param(url_path: str) -> str:
    """The URL parameter (and widget key) that holds a view's open tab (ui/sections.py)."""
    return f"{url_path}_tab"


@dataclass(frozen=True)
class Scenario:
    """A one-click setting of a view's controls (and its open tab) that shows one idea.

    ``values`` are the controls it changes; every other control of its view goes back to its
    default, so a scenario is one exact setting and what it says can be checked against the data
    at that setting (tests/test_claims.py does, for every scenario and tour step). ``label`` and
    ``caption`` are ``str.format`` templates over ``values``: every number a reader sees comes from
    the values, so the two can never disagree (tests/test_scenarios.py checks it).
    """

    label: str
    caption: str
    values: dict
    view: str                # url_path of the view it belongs to
    tab: str | None = None   # the view's tab to open (a label given to ui.sections.open_tab_only)

    @property
    def title(self) -> str:
        return self.label.format(**self.values)

    @property
    def text(self) -> str:
        return self.caption.format(**self.values)


def _scenarios(view: str, *rows) -> tuple[Scenario, ...]:
    return tuple(Scenario(label, caption, values, view, tab) for label, caption, values, tab in rows)


# Per view, in the order they are drawn under the view's title. What a caption states is checked against
# the data at the scenario's setting by tests/test_claims.py.
# The charts whose key parameter is dragged on the chart itself (ui/drags.py): (view, tab label, the
# controls dragged, in the order their sliders stand above the chart). Read by the browser test and
# bench/scrub.py.
DRAGGED = (
    ("unrolled", "Graph (T = 3)", ("rho",)),
    ("unrolled", "Gradient over time", ("rho",)),
    ("eigenvalues", "Eigenvalues", ("rho",)),
    ("eigenvalues", "Singular values", ("rho",)),
    ("eigenvalues", "Powers of Wₕₕ", ("rho",)),
    ("jacobians", "Against the lag", ("rho",)),
    ("truncation", "The book's figure", ("tau",)),
    ("truncation", "Per-step gradients", ("tau", "pi")),
    ("scalar", "Terms", ("c",)),
    ("scalar", "Recursion = sum", ("c",)),
    ("gates", "Against the lag", ("b_f",)),
    ("gates", "Gradient over time", ("b_f",)),
)


SCENARIOS = {
    "unrolled": _scenarios(
        "unrolled",
        ("Vanishing, ρ = {rho:g}", "{activation} φ, ρ = {rho:g}, T = {T}: the term a loss adds to ∂L/∂h₁ shrinks "
         "by a factor ρ for every step it travels back", dict(activation="identity", rho=0.8, T=100), "Recursion = sum"),
        ("Edge, ρ = {rho:g}", "{activation} φ, ρ = {rho:g}, T = {T}: the farthest loss adds about as much to ∂L/∂h₁ "
         "as the nearest one", dict(activation="identity", rho=1.0, T=100), "Recursion = sum"),
        ("Exploding, ρ = {rho:g}", "{activation} φ, ρ = {rho:g}, T = {T}: ‖∂L/∂hₜ‖ grows by about a factor ρ per "
         "step back, all the way to the first step", dict(activation="identity", rho=1.2, T=100), "Gradient over time"),
        ("tanh saturation, ρ = {rho:g}", "{activation} φ, ρ = {rho:g}, T = {T}: saturated units keep ‖∂L/∂hₜ‖ "
         "within two orders of magnitude of its size at T, where the identity would grow it like ρᵀ⁻ᵗ",
         dict(activation="tanh", rho=2.5, T=100), "Gradient over time"),
        ("Where ∂L/∂Wₕₕ comes from, ρ = {rho:g}", "{activation} φ, ρ = {rho:g}, T = {T}: every step's share is within "
         "an order of magnitude of the others, since δₜ grows going back as fast as the states shrink",
         dict(activation="identity", rho=1.1, T=100), "Sources of ∂L/∂Wₕₕ"),
    ),
    "eigenvalues": _scenarios(
        "eigenvalues",
        ("Normal, ρ = {rho:g}", "{kind} Wₕₕ, ρ = {rho:g}, K = {K}: ‖Wₕₕᵏ‖ is exactly ρᵏ",
         dict(kind="normal", rho=0.9, K=200), "Powers of Wₕₕ"),
        ("Non-normal transient growth", "{kind} Wₕₕ, ρ = {rho:g}, non-normality {nonnormality:g}, K = {K}: the "
         "powers grow for a while although every eigenvalue is inside the unit circle",
         dict(kind="nonnormal", rho=0.9, nonnormality=5.0, K=200), "Powers of Wₕₕ"),
        ("σ₁ above ρ", "{kind} Wₕₕ, ρ = {rho:g}, non-normality {nonnormality:g}: the normal Wₕₕ's eigenvalues, "
         "and a top singular value σ₁ several times ρ", dict(kind="nonnormal", rho=0.9, nonnormality=5.0),
         "Singular values"),
        ("Exploding, ρ = {rho:g}", "{kind} Wₕₕ, ρ = {rho:g}: the largest eigenvalues lie outside the unit circle",
         dict(kind="normal", rho=1.2), "Eigenvalues"),
        ("Power iteration", "{kind} Wₕₕ, spread {spread:g}, K = {K}: Mᵏ x turns towards the top eigenvector",
         dict(kind="symmetric", spread=0.5, K=100), "Exercise 1"),
    ),
    "jacobians": _scenarios(
        "jacobians",
        ("Vanishing, ρ = {rho:g}", "ρ = {rho:g}, T = {T}: every activation's product shrinks with every step of lag",
         dict(rho=0.8, T=100), "Against the lag"),
        ("Sigmoid's ¼, ρ = {rho:g}", "ρ = {rho:g}, T = {T}: identity explodes, sigmoid (γ = ¼) still vanishes",
         dict(rho=2.0, T=100), "Against the lag"),
        ("tanh saturation, ρ = {rho:g}", "{activation} φ, ρ = {rho:g}: most φ'(aₜ) sit below half their largest "
         "value γ", dict(activation="tanh", rho=2.5), "Saturation"),
        ("Exploding, every pair", "{activation} φ, ρ = {rho:g}, T = {T}: ‖∂hₜ/∂hₛ‖ grows with the distance t − s",
         dict(activation="identity", rho=1.2, T=100), "Every pair of steps"),
    ),
    "truncation": _scenarios(
        "truncation",
        ("The book's figure", "τ = {tau}: regular cuts every τ characters, randomized ones where a draw stops the flow",
         dict(tau=4, book_draw=True), "The book's figure"),
        ("Short truncation, τ = {tau}", "{activation} φ, τ = {tau}, ρ = {rho:g}: sliding truncation's ∂L/∂hₜ only "
         "hears the losses of the next τ steps, so it falls short of full BPTT's",
         dict(tau=5, rho=1.0, activation="identity"), "Per-step gradients"),
        ("Exploding, ρ = {rho:g}", "{activation} φ, ρ = {rho:g}, τ = {tau}: regular and sliding truncation point "
         "roughly the right way but miss most of the gradient's size",
         dict(rho=1.2, tau=10, activation="identity"), "Agreement"),
        ("Unbiased but noisy, π = {pi:g}", "π = {pi:g}, S = {samples}: right on average, yet one draw's exact "
         "standard deviation dwarfs the gradient itself", dict(pi=0.2, samples=1000), "Monte-Carlo"),
        ("The price of π", "π = {pi:g}: the smaller π, the larger the exact variance of one draw", dict(pi=0.5),
         "Variance against π"),
    ),
    "scalar": _scenarios(
        "scalar",
        ("Vanishing, c = {c:g}", "cₜ = {c:g} ± {c_noise:g}: old terms shrink geometrically",
         dict(c=0.8, c_noise=0.0), "Terms"),
        ("Edge, c = {c:g}", "cₜ = {c:g} ± {c_noise:g}: every term keeps the size of its bᵢ, however old",
         dict(c=1.0, c_noise=0.0), "Terms"),
        ("Exploding, c = {c:g}", "cₜ = {c:g} ± {c_noise:g}: the oldest inputs dominate",
         dict(c=1.2, c_noise=0.0), "Terms"),
        ("Random cₜ, c = {c:g} ± {c_noise:g}", "cₜ drawn from {c:g} ± {c_noise:g}: the geometric mean of the "
         "drawn |cₜ| sets the trend, not c", dict(c=1.0, c_noise=0.5), "Terms"),
        ("Butterfly, ρ = {rho:g}", "{activation} φ, ρ = {rho:g}, log₁₀ ε = {log_eps}: the two runs part like ρᵗ",
         dict(activation="identity", rho=1.2, log_eps=-8), "Butterfly effect"),
    ),
    "gates": _scenarios(
        "gates",
        ("Half shut, b_f = {b_f:g}", "{activation} φ, ρ = {rho:g}, T = {T}: with b_f = {b_f:g} the LSTM's "
         "forget gates sit near ½, and a change of its state fades over the T steps faster than the RNN's",
         dict(activation="identity", rho=0.9, T=50, b_f=0.0), "Against the lag"),
        ("Open, b_f = {b_f:g}", "{activation} φ, ρ = {rho:g}, T = {T}: with b_f = {b_f:g} the forget gates "
         "open, and the LSTM keeps more of a change of its state across all T steps than the RNN",
         dict(activation="identity", rho=0.9, T=50, b_f=3.0), "Against the lag"),
        ("Carousel, b_f = {b_f:g}", "{activation} φ, ρ = {rho:g}, T = {T}: the RNN loses a change of "
         "its state by tens of orders of magnitude over T steps; with b_f = {b_f:g} the forget gates are all but "
         "open and the LSTM keeps all of it", dict(activation="tanh", rho=0.9, T=100, b_f=6.0), "Against the lag"),
        ("GRU copies, b_z = {b_z:g}", "{activation} φ, ρ = {rho:g}, T = {T}: with b_z = {b_z:g} the GRU's update "
         "gates are nearly one, Hₜ ≈ Hₜ₋₁, and its lag curve stays within an order of magnitude of one",
         dict(activation="identity", rho=0.9, T=50, b_z=6.0), "Against the lag"),
        ("Gate heatmap, b_f = {b_f:g}", "b_f = {b_f:g}: nearly every Fₜ is above nine tenths, the cell's memory "
         "path open at every step", dict(b_f=6.0), "The gates"),
    ),
    "training": _scenarios(
        "training",
        ("Regular vs random, τ = {tau}", "{train_activation} φ, τ = {tau}, π matched to τ: the two "
         "truncations side by side, full BPTT for reference", dict(train_activation="tanh", tau=5), "Perplexity"),
        ("ρ₀ = {init_rho:g}, no clipping", "{train_activation} φ, Wₕₕ started at spectral radius "
         "ρ₀ = {init_rho:g}, clipping off: watch ‖g‖", dict(train_activation="tanh", init_at_rho=True, init_rho=3.0, clip=False,
         train_chunked=False, train_randomized=False), "Gradient norms"),
        ("ρ₀ = {init_rho:g}, clipped at θ = {theta:g}", "{train_activation} φ, Wₕₕ started at spectral radius "
         "ρ₀ = {init_rho:g}, clipped at θ = {theta:g}", dict(train_activation="tanh", init_at_rho=True, init_rho=3.0, clip=True, theta=1.0,
         train_chunked=False, train_randomized=False), "Gradient norms"),
        ("Book: GRU, LSTM", "the book's {pipeline} pipeline with its GRU and LSTM sections' setting: "
         "h = {train_h}, windows of T = {train_T}, θ = {theta:g}, η = {lr:g}, {epochs} epochs, full BPTT, the two "
         "cells' perplexity on the same data", dict(pipeline="d2l-1.0", train_rnn=False, train_gru=True,
         train_lstm=True, train_h=32, train_T=32, theta=1.0, lr=4.0, epochs=50, train_chunked=False,
         train_randomized=False), "Perplexity"),
        ("Book: {pipeline}", "the book's {pipeline} pipeline and setting: {train_activation} φ, h = {train_h}, "
         "windows of T = {train_T}, θ = {theta:g}, η = {lr:g}, {epochs} epochs, full BPTT; the perplexity it reaches is "
         "shown beside the book's own", dict(pipeline="d2l-1.0", train_activation="tanh", train_h=32, train_T=32,
         theta=1.0, lr=1.0, epochs=100, train_chunked=False, train_randomized=False), "Perplexity"),
    ),
}

# The home page's three: vanishing, edge, exploding on the unrolled network.
HOME_SCENARIOS = SCENARIOS["unrolled"][:3]


@dataclass(frozen=True)
class TourStep:
    """One step of the guided tour: a scenario to set and what to look at (a template over its values)."""

    scenario: Scenario
    text: str

    @property
    def says(self) -> str:
        return self.text.format(**self.scenario.values)


def _step(view: str, label: str, text: str) -> TourStep:
    return TourStep(next(s for s in SCENARIOS[view] if s.label == label), text)


# Through the views in the order of the section (VIEWS), two steps each. What a step says is checked
# against the data at its scenario's setting by tests/test_claims.py.
TOUR = (
    _step("unrolled", "Vanishing, ρ = {rho:g}",
          "Each loss sends its gradient back through $W_{{hh}}^\\top$ once per step. With ρ = {rho:g} the term a "
          "loss adds shrinks by a factor ρ per step: see how fast the second chart falls with the distance."),
    _step("unrolled", "Exploding, ρ = {rho:g}",
          "Same network, ρ = {rho:g}: now the earliest steps get the largest gradients. The curve climbs as steeply "
          "as the dashed ρᵀ⁻ᵗ line, all the way to the first step."),
    _step("eigenvalues", "Non-normal transient growth",
          "Every eigenvalue is inside the unit circle (ρ = {rho:g}), yet ‖Wₕₕᵏ‖ first climbs far above one: "
          "watch the black curve rise, then fall parallel to the dashed ρᵏ line, far above it."),
    _step("eigenvalues", "Power iteration",
          "The section's exercise: repeated multiplication turns any vector towards the top eigenvector of M. "
          "The cosine climbs to one."),
    _step("jacobians", "Sigmoid's ¼, ρ = {rho:g}",
          "With ρ = {rho:g} the identity's product explodes, while the sigmoid (γ = ¼) still vanishes: its "
          "dashed bound, with σ₁γ below one, falls too."),
    _step("jacobians", "tanh saturation, ρ = {rho:g}",
          "tanh at the same large weights: most units saturate, so most φ'(aₜ) sit far below γ. Look at where "
          "the bars pile up: this is why tanh's product grows so much less than the identity's."),
    _step("truncation", "The book's figure",
          "The book's three ways to cut the sequence: randomized segments on top, regular ones of τ = {tau} "
          "characters in the middle, full BPTT below."),
    _step("truncation", "Unbiased but noisy, π = {pi:g}",
          "Randomized truncation is right on average, but at π = {pi:g} one draw's variance is enormous: "
          "every kept step is scaled up by the reciprocal of π, so the second moment grows along every unbroken run. The σ that S = {samples} draws estimate "
          "for themselves is orders of magnitude too small, and its band misses the running mean for most n."),
    _step("scalar", "Exploding, c = {c:g}",
          "The section's scalar model: with c = {c:g} every step back multiplies a term by c, so the oldest "
          "terms are the tallest bars."),
    _step("scalar", "Butterfly, ρ = {rho:g}",
          "The same in the forward pass: a change of h₀ by ε grows like ρᵗ. This is why long products are "
          "fragile, and why the book truncates."),
    _step("gates", "Carousel, b_f = {b_f:g}",
          "Gated cells: the same weights in an LSTM, with its forget-gate bias at b_f = {b_f:g}. The RNN's curve "
          "falls by tens of orders of magnitude; the LSTM's stays level, since along its cell the step Jacobian "
          "is diag(Fₜ) ≈ I. Drag b_f on the chart down to zero and watch it fall too."),
    _step("training", "Regular vs random, τ = {tau}",
          "Now train: press Run and compare the perplexity regular truncation (τ = {tau}) and randomized "
          "truncation of the same expected length reach. The section says randomized does not work much better."),
    _step("training", "ρ₀ = {init_rho:g}, no clipping",
          "Wₕₕ starts at spectral radius ρ₀ = {init_rho:g} and clipping is off: press Run and watch ‖g‖ spike far "
          "above θ. Then the next scenario button turns clipping on: run again and compare."),
)
