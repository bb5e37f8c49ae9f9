# Training lab: the book's character RNN trained on The Time Machine with each strategy, to test the
# section's closing claims (regular truncation works, randomized "does not work much better",
# clipping guards against huge gradients). Training runs only on "Run"; finished comparisons are
# kept per configuration for the whole server, so reopening one is instant.

import hashlib
import os
from collections import OrderedDict
from typing import NamedTuple

import numpy as np
import streamlit as st

from bptt_core import (TrainConfig, Trainer, fit_batch_size, make_corpus, matched_pi, random_batches,
                       sequential_batches, strategy_from_name)
from bptt_core.text import ENV_VAR, FALLBACK_TEXT, load_time_machine, preprocess
from charts.style import STRATEGIES
from charts.training import gradient_norm_figure, minibatch_figure, perplexity_figure
from ui.controls import shared_controls, value, widget
from ui.figures import show_chart
from ui.lecture import scenario_buttons
from ui.own_data import OWN_TEXT, own_input, own_text_panel
from ui.sections import open_tab_only, run_as_fragment
from ui.text import explain, plain_markdown

KEYS = ("full", "chunked", "sliding", "randomized")
WANTED_BATCH = 32          # the book's batch size, lowered for a short text
MIN_BATCHES = 4            # per epoch, at least
CHECKPOINTS = 20           # validation perplexity and a sample about this many times per run
MAX_FINISHED = 16          # finished comparisons kept for the whole server
SHOWN_BATCHES = 24         # minibatches in the partitioning chart (more would hide the pattern)
# Windows of each minibatch in that chart: all 32 of the book's batch were 1536 markers, which took
# Chromium about 60 ms to redraw at every slider move; eight streams spread over the text show the same.
SHOWN_WINDOWS = 8
PROGRESS_EVERY = 5         # updates between progress-bar refreshes (each is a message to the browser)
RESULTS = "training_results"  # session: (config key, {strategy: Trainer}, stopped) of the latest run


# --- cached adapters -------------------------------------------------------------------------

@st.cache_data(max_entries=4, show_spinner=False)
def corpus_text(env_value: str, cache_home: str) -> tuple[str, bool, str]:
    # (preprocessed text, is the book, where it came from); the arguments are the cache key only.
    try:
        loaded = load_time_machine()
    except (OSError, ValueError) as exc:
        return preprocess(FALLBACK_TEXT), False, f"{ENV_VAR} names a file that could not be used: {exc}"
    return preprocess(loaded.text), loaded.is_book, loaded.detail


@st.cache_resource(show_spinner=False, max_entries=4)  # users' texts too: a few MB each at most
def load_corpus(text: str):
    return make_corpus(text)


@st.cache_data(max_entries=16, show_spinner=False)
def partitions(text: str, batch_size: int, num_steps: int, seed: int):
    train = load_corpus(text).train
    return (sequential_batches(train, batch_size, num_steps, rng=seed).starts,
            random_batches(train, batch_size, num_steps, rng=seed).starts)


@st.cache_resource(show_spinner=False)
def finished_runs() -> OrderedDict:
    # config key → {strategy: History}: shared by every session, the oldest dropped first.
    return OrderedDict()


# --- the page --------------------------------------------------------------------------------

st.title("Training lab")
scenario_buttons("training")
explain(
    "The section closes with claims you can test: regular truncation works well in practice, randomized "
    "truncation *does not work much better*, and gradient clipping guards against the occasional huge "
    "gradient. Here the book's character-level RNN learns to predict the next character of *The Time "
    "Machine*, once per strategy, on the same minibatches from the same start; compare the perplexity "
    "they reach, how fast, and the gradient norms on the way.",
    r"\mathbf{h}_t = \phi(\mathbf{W}_{hx}\mathbf{x}_t + \mathbf{W}_{hh}\mathbf{h}_{t-1} + \mathbf{b}_h),\quad "
    r"\mathbf{o}_t = \mathbf{W}_{qh}\mathbf{h}_t + \mathbf{b}_q,\quad "
    r"L = -\frac{1}{TB}\sum_{t,b}\log\operatorname{softmax}(\mathbf{o}_t)_{y_t},\quad "
    r"\text{perplexity} = e^{L}",
    r"\mathbf{g} \leftarrow \min\Big(1, \frac{\theta}{\|\mathbf{g}\|}\Big)\mathbf{g}",
)


class RunSettings(NamedTuple):
    chosen: list        # the strategies to train, in KEYS order
    tau: int
    pi: float           # π = 1 − 1/τ when matched to τ
    theta: float | None  # None: no clipping
    lr: float
    optimizer: str
    epochs: int


def run_settings() -> RunSettings:
    """What to compare, as the panel's controls last set it (read, not drawn: see what_to_compare)."""
    tau = value("tau")
    pi = (matched_pi(tau) if tau >= 2 else 0.05) if value("match_pi") else value("pi")
    return RunSettings([key for key in KEYS if value(f"train_{key}")], tau, pi,
                       value("theta") if value("clip") else None, value("lr"), value("optimizer"), value("epochs"))


def what_to_compare():
    """The strategies and the run's settings, drawn above the body's fragment: they change no chart
    until a run, so a sidebar slider's rerun does not send their dozen widgets again (changing one
    reruns the page)."""
    st.subheader("What to compare")
    cols = st.columns(4)
    for key, col in zip(KEYS, cols):
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
    s = run_settings()
    if value("match_pi"):
        st.caption(f"Randomized truncation uses π = 1 − 1/τ = {s.pi:.3g}: a cut comes with probability 1 − π per "
                   f"step, so segments average 1/(1 − π) = τ = {s.tau} steps, as regular truncation's."
                   + (" (τ = 1 would need π = 0; π = 0.05 is used.)" if s.tau < 2 else ""))
    if "sliding" in s.chosen and s.tau > 1:
        st.caption(f"Sliding truncation carries τ = {s.tau} partial gradients back through every step: about "
                   f"{s.tau}× the backward work of the others.")


def training_body():
    """Everything the sidebar's model changes, and the run, as one fragment: a sidebar slider reruns
    this, not the title, the explanation, the equations and the run's settings above it."""
    T, h, activation, rho, seed = shared_controls()
    st.caption(f"From the sidebar: windows of T = {T} characters, h = {h} hidden units, φ = {activation}, "
               f"W_hh started at spectral radius ρ = {rho:g} (the other weights ~ N(0, 0.01²) as in the book), seed {seed}. "
               "The book uses T = 35, h = 512 and tanh."
               + (f" With φ = {activation} the state is unbounded (tanh keeps it within ±1), so expect spikes in the loss."
                  if activation in ("identity", "relu") else ""))

    text, is_book, source = corpus_text(os.environ.get(ENV_VAR, ""), os.environ.get("XDG_CACHE_HOME", ""))
    own, own_source = own_input(OWN_TEXT)  # the truncation view's text too: one text for the session
    if own is not None:
        text, is_book = own.processed, False
        st.info(f"Training on your own text ({len(text)} characters after preprocessing; "
                f"{plain_markdown(own_source)}).", icon=":material/description:")
    elif not is_book:
        st.info(f"Training on the project's own short text ({len(text)} characters), not the book: {source} "
                f"Set {ENV_VAR} to a copy of timemachine.txt to train on the novel.", icon=":material/menu_book:")
    text_id = hashlib.sha1(text.encode()).hexdigest()  # names the text in the run key, whatever its length
    corpus = load_corpus(text)

    chosen, tau, pi, theta_used, lr, optimizer, epochs = run_settings()

    B = fit_batch_size(corpus.train.size, T, WANTED_BATCH, MIN_BATCHES)
    if B == 0:
        st.warning(f"Windows of T = {T} characters are too long for this text ({corpus.train.size} training "
                   f"characters give fewer than {MIN_BATCHES} minibatches): lower T in the sidebar.",
                   icon=":material/straighten:")
        return

    seq_starts, rnd_starts = partitions(text, B, T, seed)
    n_updates = len(seq_starts) * epochs
    st.markdown(f"Each epoch: **{len(seq_starts)} minibatches** of B = {B} windows × T = {T} characters "
                f"(sequential partitioning: each window continues the previous one, the state carried over "
                f"and detached); {epochs} epoch{'s' if epochs > 1 else ''} → {n_updates} updates per strategy, "
                f"validation perplexity on the last 10 % of the text.")

    key = (text_id, T, h, activation, rho, seed, tuple(chosen), tau, round(pi, 6), theta_used, lr,
           optimizer, epochs, B)
    finished = finished_runs()


    def config_for(name: str) -> TrainConfig:
        return TrainConfig(strategy=strategy_from_name(name, tau, pi), hidden=h, num_steps=T, batch_size=B, lr=lr,
                           optimizer=optimizer, theta=theta_used, epochs=epochs, sequential=True, init_rho=rho,
                           activation=activation, valid_every=max(1, n_updates // CHECKPOINTS), seed=seed,
                           dtype="float32", prefix="time traveller" if is_book else " ".join(text.split()[:2]))


    def labels() -> dict:
        return {"full": f"Full (T = {T})", "chunked": f"Regular τ = {tau}", "sliding": f"Sliding τ = {tau}",
                "randomized": f"Randomized π = {pi:.2g}"}


    run_col, stop_col = st.columns(2)
    run = run_col.button("Run", type="primary", disabled=not chosen or key in finished, icon=":material/play_arrow:",
                         width="stretch", help="Train every chosen strategy with these settings.")
    stop_col.button("Stop", icon=":material/stop:", width="stretch",
                    help="Stop the run; what was trained so far stays on the page.")
    if not chosen:
        st.warning("Choose at least one strategy to train.", icon=":material/checklist:")

    if run:
        trainers = {}
        st.session_state[RESULTS] = (key, trainers, True)  # a Stop (a rerun) leaves these behind, marked stopped
        bar = st.progress(0.0, text="Starting…")
        live = st.empty()  # the curves so far and the latest sample, redrawn at every checkpoint
        done = 0
        for name in chosen:
            trainer = trainers[name] = Trainer(corpus, config_for(name))
            for update in trainer.updates():
                done += 1
                if update.index % PROGRESS_EVERY == 0 or update.valid_perplexity is not None:
                    shown = (f", validation perplexity {update.valid_perplexity:.2f}"
                             if update.valid_perplexity is not None else "")
                    bar.progress(min(done / (n_updates * len(chosen)), 1.0),
                                 text=f"{STRATEGIES[name]['name']}: update {update.index} of {n_updates}{shown}")
                if update.sample is not None:
                    with live.container():
                        so_far = {k: t.history() for k, t in trainers.items() if t.updates_done}
                        st.plotly_chart(perplexity_figure(so_far, x="updates", labels=labels(),
                                                          vocab_size=len(corpus.vocab)), width="stretch", theme=None)
                        st.caption(f"{labels()[name]}, update {update.index}: the prefix continued greedily.")
                        st.code(update.sample, language=None)
            done += n_updates - trainer.updates_done[-1].index  # a diverged run ends early
        finished[key] = {name: t.history() for name, t in trainers.items()}
        while len(finished) > MAX_FINISHED:
            finished.popitem(last=False)
        st.session_state[RESULTS] = (key, {}, False)
        bar.empty()
        live.empty()

    histories, stopped = None, False
    if key in finished:
        finished.move_to_end(key)
        histories = finished[key]
    elif RESULTS in st.session_state and st.session_state[RESULTS][0] == key and st.session_state[RESULTS][1]:
        _, trainers, stopped = st.session_state[RESULTS]
        histories = {name: t.history() for name, t in trainers.items() if t.updates_done}
    if histories is not None and stopped:
        st.info("The run was stopped: the curves show what was trained until then. Press Run to train again.",
                icon=":material/stop_circle:")


    def perplexity_tab():
        show_chart(perplexity_figure(histories, x="updates", labels=labels(), vocab_size=len(corpus.vocab)),
                   key="training_perplexity", caption=(
            "Validation perplexity (markers, on the held-out end of the text) and each window's training perplexity "
            f"(faint) against updates. Uniform guessing over the {len(corpus.vocab)} characters scores "
            f"{len(corpus.vocab)} (grey dotted)."))
        summary(histories)


    def time_tab():
        show_chart(perplexity_figure(histories, x="seconds", labels=labels(), vocab_size=len(corpus.vocab)),
                   key="training_perplexity_seconds", caption=(
            "The same curves against training wall-clock time (validation and sampling excluded): a strategy "
            "that is cheaper per update gets further in the same time."))


    def gradient_tab():
        show_chart(gradient_norm_figure(histories, theta=theta_used, labels=labels()), key="training_gradients",
                   caption=("‖g‖ over all parameters before clipping, every update"
                            + (f"; above the dashed line θ = {theta_used:g} the update was scaled down to θ."
                               if theta_used is not None else "; clipping is off.")))


    def text_tab():
        for name, hist in histories.items():
            st.markdown(f"**{labels()[name]}** — greedy continuation of the prefix at each checkpoint:")
            st.code("\n".join(f"update {i:>5}: {sample}" for i, sample in hist.samples) or "(no checkpoint reached)",
                    language=None)


    def summary(histories):
        cols = st.columns(len(histories))
        for col, (name, hist) in zip(cols, histories.items()):
            ppl = hist.final_valid_perplexity
            col.metric(labels()[name], "diverged" if hist.diverged else (f"{ppl:.2f}" if np.isfinite(ppl) else "—"),
                       help=f"{hist.index.size} updates, {hist.clipped.mean():.0%} clipped, "
                            f"{hist.seconds[-1] if hist.seconds.size else 0:.1f} s of training")


    if histories:
        open_tab_only("training", {
            "Perplexity": perplexity_tab,
            "Against time": time_tab,
            "Gradient norms": gradient_tab,
            "Generated text": text_tab,
        })
    else:
        st.markdown("Press **Run** to train the chosen strategies; until then, here is how the book cuts the text "
                    "into minibatches.")
    every = -(-B // SHOWN_WINDOWS)  # every k-th row: streams spread over the whole text
    shown = "the B windows" if every == 1 else f"one in {every} of the B = {B} windows"
    shown_rows = np.s_[:SHOWN_BATCHES, ::every]
    show_chart(minibatch_figure(seq_starts[shown_rows], rnd_starts[shown_rows], num_steps=T,
                                n_tokens=corpus.train.size), key="training_minibatches", caption=(
        f"Where {shown} of the first {min(SHOWN_BATCHES, len(seq_starts))} minibatches start in the training "
        "text. Sequential partitioning (circles) "
        "lays the text out as B streams read left to right, so a window continues where the same row of the "
        "previous minibatch stopped and the state can be carried over; random partitioning (crosses) scatters "
        "the windows, so the state starts from zero each time. The lab trains with the sequential one."))


own_text_panel()  # outside the fragment: a slider move does not send the text area and the uploader again
what_to_compare()
run_as_fragment(training_body, key="training_body")
