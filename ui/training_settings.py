"""The training lab's settings: the network (sidebar), the text, what to compare, and the plan they make.

``RunPlan`` is everything a comparison depends on, with the key under which its result is kept
(the same settings give the same curves: training is deterministic for a seed).
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import streamlit as st

from bptt_core import (STRATEGY_KEYS, Corpus, TrainConfig, fit_batch_size, make_corpus, matched_pi, random_batches,
                       sequential_batches, strategy_from_name)
from charts.style import STRATEGIES
from ui.compute import book_text
from ui.controls import MIN_PI, value, widget
from ui.own_data import OWN_TEXT, own_input
from ui.text import plain_markdown

WANTED_BATCH = 32          # the book's batch size, lowered for a short text
MIN_BATCHES = 4            # per epoch, at least
CHECKPOINTS = 20           # validation perplexity and a sample about this many times per run
NETWORK = ("train_T", "train_h", "train_activation", "seed", "init_at_rho", "init_rho")


class Network(NamedTuple):
    T: int
    h: int
    activation: str
    seed: int
    init_rho: float | None   # None: the book's N(0, 0.01²) start


class RunPlan(NamedTuple):
    key: tuple                      # names the comparison's result (text, network, settings)
    corpus: Corpus
    configs: dict                   # strategy → TrainConfig, in STRATEGY_KEYS order
    labels: dict                    # strategy → legend name
    batch_size: int
    updates_each: int               # updates per strategy
    batches_per_epoch: int
    theta: float | None


def network_controls() -> Network:
    """The character RNN's own settings, in the sidebar (the views' shared model does not apply here)."""
    with st.sidebar:
        st.header("Network")
        T, h, activation, seed, at_rho = (widget(k) for k in NETWORK[:5])
        rho = widget("init_rho") if at_rho else None
    return Network(T, h, activation, seed, rho)


@st.cache_resource(show_spinner=False, max_entries=4)  # users' texts too: a few MB each at most
def corpus_of(text: str) -> Corpus:
    return make_corpus(text)


@st.cache_data(max_entries=16, show_spinner=False)
def partitions(text: str, batch_size: int, num_steps: int, seed: int):
    """Where each window of every minibatch starts: (sequential (n, B), random (n, B)) partitionings."""
    train = corpus_of(text).train
    return (sequential_batches(train, batch_size, num_steps, rng=seed).starts,
            random_batches(train, batch_size, num_steps, rng=seed).starts)


def training_text() -> tuple[str, bool]:
    """(preprocessed text, is it the book), with a line on screen when it is not the book."""
    own, own_source = own_input(OWN_TEXT)  # the truncation view's text too: one text for the session
    if own is not None:
        st.info(f"Training on your own text ({len(own.processed)} characters after preprocessing; "
                f"{plain_markdown(own_source)}).", icon=":material/description:")
        return own.processed, False
    text, is_book, detail, problem = book_text()
    if not is_book:
        st.info(f"Training on the project's own short text ({len(text)} characters), not the book: "
                f"{problem or detail}", icon=":material/menu_book:")
    return text, is_book


def keep_probability(tau: int) -> float:
    """π of randomized truncation: matched to τ (segments of mean length τ) or the slider's."""
    if not value("match_pi"):
        return value("pi")
    return matched_pi(tau) if tau >= 2 else MIN_PI


def what_to_compare() -> None:
    """The strategies and the run's settings, in an expander whose label sums them up (outside any
    fragment: changing one reruns the page)."""
    chosen = [STRATEGIES[k]["short"].lower() for k in STRATEGY_KEYS if value(f"train_{k}")] or ["nothing yet"]
    clip = f"θ = {value('theta'):g}" if value("clip") else "no clipping"
    label = (f"What to compare: {', '.join(chosen)} · τ = {value('tau')} · {clip} · {value('optimizer')} "
             f"η = {value('lr'):g} · {value('epochs')} epochs")
    with st.expander(label, icon=":material/tune:"):
        _settings_panel()


def _settings_panel() -> None:
    for key, col in zip(STRATEGY_KEYS, st.columns(len(STRATEGY_KEYS))):
        widget(f"train_{key}", col)
    left, middle, right = st.columns(3)
    with left:
        widget("tau")
        if not widget("match_pi"):
            widget("pi")
    with middle:
        widget("clip")
        widget("theta")
        widget("optimizer")
    with right:
        widget("lr")
        widget("epochs")
    tau, pi = value("tau"), keep_probability(value("tau"))
    if value("match_pi"):
        st.caption(f"Randomized truncation uses π = 1 − 1/τ = {pi:.3g}: a cut comes with probability 1 − π per "
                   f"step, so segments average 1/(1 − π) = τ = {tau} steps, as regular truncation's."
                   + (f" (τ = 1 would need π = 0; π = {MIN_PI} is used.)" if tau < 2 else ""))
    if value("train_sliding") and tau > 1:
        st.caption(f"Sliding truncation carries τ = {tau} partial gradients back through every step: about "
                   f"{tau}× the backward work of the others.")


def run_plan(net: Network, text: str, is_book: bool) -> RunPlan | None:
    """The comparison the settings describe, or None (with a message) when the text is too short."""
    corpus = corpus_of(text)
    B = fit_batch_size(corpus.train.size, net.T, WANTED_BATCH, MIN_BATCHES)
    if B == 0:
        st.warning(f"Windows of T = {net.T} characters are too long for this text ({corpus.train.size} training "
                   f"characters give fewer than {MIN_BATCHES} minibatches): lower the window in the sidebar.",
                   icon=":material/straighten:")
        return None
    tau, epochs = value("tau"), value("epochs")
    pi = keep_probability(tau)
    theta = value("theta") if value("clip") else None
    per_epoch = len(partitions(text, B, net.T, net.seed)[0])
    chosen = [k for k in STRATEGY_KEYS if value(f"train_{k}")]
    n_updates = per_epoch * epochs
    configs = {k: TrainConfig(strategy=strategy_from_name(k, tau, pi), hidden=net.h, num_steps=net.T, batch_size=B, lr=value("lr"),
                              optimizer=value("optimizer"), theta=theta, epochs=epochs, sequential=True,
                              init_rho=net.init_rho, activation=net.activation,
                              valid_every=max(1, n_updates // CHECKPOINTS), seed=net.seed, dtype="float32",
                              prefix="time traveller" if is_book else " ".join(text.split()[:2]))
               for k in chosen}
    shown = {"T": f"{net.T}", "τ": f"{tau}", "π": f"{pi:.2g}"}  # each strategy's run named by its parameter
    labels = {k: f"{STRATEGIES[k]['short']} {STRATEGIES[k]['parameter']} = {shown[STRATEGIES[k]['parameter']]}"
              for k in STRATEGY_KEYS}
    text_id = hashlib.sha1(text.encode()).hexdigest()  # names the text in the key, whatever its length
    key = (text_id, net, tuple(chosen), tau, round(pi, 6), theta, value("lr"), value("optimizer"), epochs, B)
    return RunPlan(key, corpus, configs, labels, B, n_updates, per_epoch, theta)
