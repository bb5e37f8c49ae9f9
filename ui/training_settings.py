"""The training lab's settings: the network (sidebar), the text, what to compare, and the plan they make.

``RunPlan`` is everything a comparison depends on, with the key under which its result is kept
(the same settings give the same curves: training is deterministic for a seed).
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import numpy as np
import streamlit as st

from bptt_core import (D2L_1_0, STRATEGY_KEYS, Corpus, TrainConfig, WindowedText, d2l_1_0_config, d2l_time_machine,
                       fit_batch_size, make_corpus, matched_pi, random_batches, sequential_batches, strategy_from_name)
from charts.style import STRATEGIES
from charts.training import CELL_NAMES, run_key
from ui.compute import book_text
from ui.controls import MIN_PI, value, widget
from ui.own_data import OWN_TEXT, own_input
from ui.text import plain_markdown

WANTED_BATCH = 32          # the book's batch size, lowered for a short text
MIN_BATCHES = 4            # per epoch, at least
CHECKPOINTS = 20           # validation perplexity and a sample about this many times per run
SETTINGS_OPEN = "training_settings_open"  # the settings expander's open state
NETWORK = ("pipeline", "train_T", "train_h", "train_activation", "seed", "init_at_rho", "init_rho")
CELL_KEYS = tuple(CELL_NAMES)  # "rnn", "gru", "lstm": the cells the lab trains (bptt_core.TrainConfig.cell)


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
    pipeline: str                   # "d2l-2nd" or "d2l-1.0" (bptt_core.PIPELINES)
    vocab_size: int                 # the characters (and <unk> in d2l 1.0) a prediction chooses from


def network_controls() -> Network:
    """The character RNN's own settings, in the sidebar (the views' shared model does not apply here)."""
    with st.sidebar:
        st.header("Network")
        widget("pipeline")
        T, h, activation, seed, at_rho = (widget(k) for k in NETWORK[1:6])
        rho = widget("init_rho") if at_rho else None
    return Network(T, h, activation, seed, rho)


@st.cache_resource(show_spinner=False, max_entries=4)  # users' texts too: a few MB each at most
def corpus_of(text: str) -> Corpus:
    return make_corpus(text)


@st.cache_resource(show_spinner=False, max_entries=4)
def book_windows(text: str, num_steps: int) -> WindowedText:
    """The book's 1.0 windows over ``text`` (``bptt_core.d2l_time_machine``; ValueError when too short)."""
    return d2l_time_machine(text, num_steps)


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
    text, is_book, _, _ = book_text()  # when it is not the book, ``book_notice`` above the lab says why
    return text, is_book


def keep_probability(tau: int) -> float:
    """π of randomized truncation: matched to τ (segments of mean length τ) or the slider's."""
    if not value("match_pi"):
        return value("pi")
    return matched_pi(tau) if tau >= 2 else MIN_PI


@st.cache_data(max_entries=8, show_spinner=False)
def book_starts(text: str, num_steps: int, seed: int):
    """(n, 1024): where the windows of the first epoch's full minibatches start, under the book's 1.0 loader."""
    batches = book_windows(text, num_steps).batches(D2L_1_0["batch_size"], train=True, rng=seed)
    return np.stack([b.starts for b in batches if b.starts.size == D2L_1_0["batch_size"]])


def what_to_compare(plan_caption: str = "") -> None:
    """The strategies and the run's settings, in an expander whose label sums them up (outside any
    fragment: changing one reruns the page)."""
    chosen = [STRATEGIES[k]["short"].lower() for k in STRATEGY_KEYS if value(f"train_{k}")] or ["nothing yet"]
    chosen = [CELL_NAMES[c] for c in CELL_KEYS if value(f"train_{c}")] + chosen
    clip = f"θ = {value('theta'):g}" if value("clip") else "no clipping"
    label = (f"What to compare: {', '.join(chosen)} · τ = {value('tau')} · {clip} · {value('optimizer')} "
             f"η = {value('lr'):g} · {value('epochs')} epoch{'s' if value('epochs') != 1 else ''}")
    # Its label follows the settings, which makes it a new element after every change: it opens as the
    # last one was left (its state, tracked under the key).
    with st.expander(label, icon=":material/tune:", expanded=bool(st.session_state.get(SETTINGS_OPEN)),
                     key=SETTINGS_OPEN, on_change="rerun"):
        _settings_panel()
        if plan_caption:
            st.caption(plan_caption)


def _settings_panel() -> None:
    for key, col in zip(CELL_KEYS, st.columns(len(STRATEGY_KEYS))):
        widget(f"train_{key}", col)
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


def _batching(net: Network, text: str, pipeline: str) -> tuple[int, int, int] | None:
    """(B, minibatches per epoch, vocabulary size) of the pipeline over ``text``, or None with a message."""
    if pipeline == "d2l-1.0":
        try:
            windows = book_windows(text, net.T)
        except ValueError:
            st.warning(f"The book's 1.0 pipeline takes {D2L_1_0['num_train']:,} + {D2L_1_0['num_val']:,} windows of "
                       f"T + 1 = {net.T + 1} characters, more than this text has: it needs The Time Machine or a "
                       "text of your own that long.", icon=":material/straighten:")
            return None
        B = D2L_1_0["batch_size"]
        return B, -(-windows.num_train // B), len(windows.vocab)
    corpus = corpus_of(text)
    B = fit_batch_size(corpus.train.size, net.T, WANTED_BATCH, MIN_BATCHES)
    if B == 0:
        st.warning(f"Windows of T = {net.T} characters are too long for this text ({corpus.train.size} training "
                   f"characters give fewer than {MIN_BATCHES} minibatches): lower the window in the sidebar.",
                   icon=":material/straighten:")
        return None
    return B, len(partitions(text, B, net.T, net.seed)[0]), len(corpus.vocab)


def run_plan(net: Network, text: str, is_book: bool) -> RunPlan | None:
    """The comparison the settings describe, or None (with a message) when the text is too short for it."""
    pipeline = value("pipeline")
    batching = _batching(net, text, pipeline)
    if batching is None:
        return None
    B, per_epoch, vocab_size = batching
    tau, epochs = value("tau"), value("epochs")
    pi = keep_probability(tau)
    theta = value("theta") if value("clip") else None
    chosen = [k for k in STRATEGY_KEYS if value(f"train_{k}")]
    cells = [c for c in CELL_KEYS if value(f"train_{c}")]
    n_updates = per_epoch * epochs
    common = dict(hidden=net.h, num_steps=net.T, lr=value("lr"), optimizer=value("optimizer"), theta=theta,
                  epochs=epochs, init_rho=net.init_rho, activation=net.activation, seed=net.seed, dtype="float32",
                  valid_every=max(1, n_updates // CHECKPOINTS))
    runs = [(c, k) for c in cells for k in chosen]
    if pipeline == "d2l-1.0":
        configs = {run_key(c, k): d2l_1_0_config(strategy=strategy_from_name(k, tau, pi), cell=c, **common)
                   for c, k in runs}
    else:
        prefix = "time traveller" if is_book else " ".join(text.split()[:2])
        configs = {run_key(c, k): TrainConfig(strategy=strategy_from_name(k, tau, pi), batch_size=B, sequential=True,
                                              prefix=prefix, cell=c, **common) for c, k in runs}
    shown = {"T": f"{net.T}", "τ": f"{tau}", "π": f"{pi:.2g}"}  # each strategy's run named by its parameter
    named = {k: f"{STRATEGIES[k]['short']} {STRATEGIES[k]['parameter']} = {shown[STRATEGIES[k]['parameter']]}"
             for k in STRATEGY_KEYS}
    labels = {run_key(c, k): named[k] if len(cells) < 2 and c == "rnn" else f"{CELL_NAMES[c]} · {named[k]}"
              for c in CELL_KEYS for k in STRATEGY_KEYS}
    text_id = hashlib.sha1(text.encode()).hexdigest()  # names the text in the key, whatever its length
    key = (text_id, pipeline, net, tuple(cells), tuple(chosen), tau, round(pi, 6), theta, value("lr"),
           value("optimizer"), epochs, B)
    return RunPlan(key, corpus_of(text), configs, labels, B, n_updates, per_epoch, theta, pipeline, vocab_size)


def book_setting(plan: RunPlan) -> bool:
    """Whether every config of the plan is the book's 1.0 setting (its figure then stands beside the run's)."""
    shaping = {k: v for k, v in D2L_1_0.items() if k not in ("valid_every", "prefix", "sample_length")}
    return plan.pipeline == "d2l-1.0" and bool(plan.configs) and all(
        c.cell == "rnn" and getattr(c, field) == v for c in plan.configs.values() for field, v in shaping.items())


def held_out(plan: RunPlan) -> str:
    """Where the validation perplexity is measured, in words."""
    return (f"the {D2L_1_0['num_val']:,} validation windows" if plan.pipeline == "d2l-1.0"
            else "the held-out last 10 % of the text")


def plan_caption(plan: RunPlan, T: int) -> str:
    """How the text becomes minibatches under the plan's pipeline, and how many updates each strategy makes."""
    if plan.pipeline == "d2l-1.0":
        return (f"The book's 1.0 pipeline: {D2L_1_0['num_train']:,} overlapping windows of T + 1 = {T + 1} characters "
                f"to train, the next {D2L_1_0['num_val']:,} to validate; each epoch {plan.batches_per_epoch} shuffled "
                f"minibatches of up to B = {plan.batch_size} windows, each from h₀ = 0; {plan.updates_each} updates "
                "per strategy.")
    return (f"Each epoch: {plan.batches_per_epoch} minibatches of B = {plan.batch_size} windows × T = {T} characters "
            f"(the state carried from one window to the next and detached); {plan.updates_each} updates per "
            f"strategy, validation perplexity on {held_out(plan)}.")
