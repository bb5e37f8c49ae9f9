# Training lab (the section's "Comparing Strategies" and its closing claims): the book's character RNN
# trained on The Time Machine with each strategy — regular truncation works, randomized "does not work
# much better", clipping guards against huge gradients. Runs train in a thread of their own
# (ui/training_run.py); the page watches them, and Stop stops them.

import numpy as np
import streamlit as st

from bptt_core import BOOK_VALID_PERPLEXITY, D2L_1_0

from charts.findings import training_sentence
from charts.training import gradient_norm_figure, minibatch_figure, perplexity_figure
from ui.book_source import STAND_IN, book_notice
from ui.figures import show_chart
from ui.lecture import lecture_note, scenario_buttons
from ui.own_data import OWN_TEXT, own_input, own_text_panel
from ui.sections import open_tab_only
from ui.text import explain, presenting
from ui.training_panels import EARLIER, progress, results, run_buttons
from ui.training_run import session_run
from ui.training_settings import (RunPlan, book_setting, book_starts, held_out, network_controls, partitions, plan_caption,
                                  run_plan,
                                  training_text, what_to_compare)

SHOWN_BATCHES = 24   # minibatches in the partitioning chart (more would hide the pattern)
SHOWN_WINDOWS = 8    # streams of each minibatch drawn: 32 windows were 1536 markers, slow to redraw


def tabs(plan: RunPlan, histories: dict) -> None:
    V = plan.vocab_size

    def perplexity_tab():
        show_chart(perplexity_figure(histories, x="updates", labels=plan.labels, vocab_size=V),
                   key="training_perplexity", caption=(
            f"Validation perplexity (markers, on {held_out(plan)}) and each window's training perplexity (faint) "
            f"against updates. Uniform guessing over the {V} tokens scores {V} (grey dotted)."))
        st.markdown(training_sentence(histories, plan.labels))
        book = book_setting(plan)
        cols = st.columns(len(histories) + book)
        for col, (name, hist) in zip(cols, histories.items()):
            ppl = hist.final_valid_perplexity
            col.metric(f"{plan.labels[name]}: perplexity", "diverged" if hist.diverged else (f"{ppl:.2f}" if np.isfinite(ppl) else "—"),
                       help=f"{hist.index.size} updates, {hist.clipped.mean():.0%} clipped, "
                            f"{hist.seconds[-1] if hist.seconds.size else 0:.1f} s of training")
        if book:
            mean, spread = BOOK_VALID_PERPLEXITY["d2l-1.0"]
            cols[-1].metric("The book's own code: perplexity", f"{mean:.2f} ± {spread:.2f}",
                            help="d2l 1.0's PyTorch code with this setting, two seeds: the final validation "
                                 "perplexity, mean ± standard deviation. bench/d2l.py runs the lab's side over seeds.")

    def time_tab():
        show_chart(perplexity_figure(histories, x="seconds", labels=plan.labels, vocab_size=V),
                   key="training_perplexity_seconds", caption=(
            "The same curves against training wall-clock time (validation and sampling excluded)."))

    def gradient_tab():
        show_chart(gradient_norm_figure(histories, theta=plan.theta, labels=plan.labels), key="training_gradients",
                   caption=("‖g‖ over all parameters before clipping, every update"
                            + (f"; above the dashed line θ = {plan.theta:g} the update was scaled down to θ."
                               if plan.theta is not None else "; clipping is off.")))

    def text_tab():
        for name, hist in histories.items():
            st.markdown(f"**{plan.labels[name]}**: greedy continuation of the prefix at each checkpoint")
            st.code("\n".join(f"update {i:>5}: {shown_sample(sample)}" for i, sample in hist.samples)
                    or "(no checkpoint reached)", language=None)

    open_tab_only("training", {"Perplexity": perplexity_tab, "Against time": time_tab,
                               "Gradient norms": gradient_tab, "Generated text": text_tab}, note=False)


def shown_sample(sample: str) -> str:
    """A generated sample as it reads, its trailing spaces made visible (an early model predicts spaces)."""
    text = sample.rstrip(" ")
    spaces = len(sample) - len(text)
    return text + (f" … then {spaces} spaces" if spaces > 1 else "")


def partitioning(plan: RunPlan, text: str, seed: int, T: int) -> None:
    every = -(-plan.batch_size // SHOWN_WINDOWS)  # every k-th row: streams spread over the whole text
    shown = "the B windows" if every == 1 else f"one in {every} of the B = {plan.batch_size} windows"
    rows = np.s_[:SHOWN_BATCHES, ::every]
    if plan.pipeline == "d2l-1.0":
        starts = book_starts(text, T, seed)
        used = D2L_1_0["num_train"] + D2L_1_0["num_val"] + T  # the characters the 1.0 pipeline reads
        show_chart(minibatch_figure(None, starts[rows], num_steps=T, n_tokens=used,
                                    random_name="shuffled overlapping windows"),
                   key="training_minibatches", caption=(
            f"Where {shown} of the first {len(starts)} minibatches of an epoch start in the text: the book's 1.0 "
            "loader shuffles the overlapping windows of the opening characters afresh every epoch, and every window "
            "starts from h₀ = 0."))
        return
    seq_starts, rnd_starts = partitions(text, plan.batch_size, T, seed)
    show_chart(minibatch_figure(seq_starts[rows], rnd_starts[rows], num_steps=T, n_tokens=plan.corpus.train.size),
               key="training_minibatches", caption=(
        f"Where {shown} of the first {min(SHOWN_BATCHES, len(seq_starts))} minibatches start in the training text. "
        "Sequential partitioning (circles) lays the text out as B streams read left to right, so a window continues "
        "where the same row of the previous minibatch stopped and the state can be carried over; random "
        "partitioning (crosses) scatters the windows, so the state starts from zero each time. The lab trains with "
        "the sequential one."))


def body(note) -> None:
    """Everything a setting changes, as one fragment: a setting's rerun leaves the title, the scenarios, the
    text input and the explanation be. The scenario's sentence goes into ``note``, checked on every run."""
    net = network_controls()
    lecture_note("training", note)
    text, is_book = training_text()
    plan = run_plan(net, text, is_book)
    settings_col, run_col, stop_col = st.columns([4, 1, 1])
    with settings_col:
        what_to_compare(plan_caption(plan, net.T) if plan is not None else "")
    if plan is None:
        return
    run_buttons(plan, run_col, stop_col)
    current = session_run()
    if current is not None and current.running:
        st.fragment(lambda: progress(plan), run_every=0.5)()
    histories, earlier = results(plan)
    if histories:
        tabs(plan, histories)
        if earlier:
            st.caption(EARLIER)
    elif (current is None or not current.running) and not presenting():  # the projector keeps the chart on screen
        st.markdown("Press **Run** to train the chosen strategies; until then, here is how the book cuts the text "
                    "into minibatches.")
    partitioning(plan, text, net.seed, net.T)


st.title("Training lab")
scenario_buttons("training")
if own_input(OWN_TEXT)[0] is None:
    book_notice(f"the lab trains on {STAND_IN} instead")
note = st.container()
st.fragment(lambda: body(note), key="training_body")()
own_text_panel()
explain(
    "The section closes with claims you can test: regular truncation works well in practice, randomized "
    "truncation *does not work much better*, and gradient clipping guards against the occasional huge "
    "gradient. Here the book's character-level RNN learns to predict the next character of *The Time "
    "Machine*, once per strategy, on the same minibatches from the same start; compare the perplexity "
    "they reach, how fast, and the gradient norms on the way. The book's GRU and LSTM (the chapter after "
    "the section) can train beside it, each with every chosen strategy: their gates let a gradient travel "
    "further back (see *Gates against vanishing*).",
    r"\mathbf{h}_t = \phi(\mathbf{W}_{hx}\mathbf{x}_t + \mathbf{W}_{hh}\mathbf{h}_{t-1} + \mathbf{b}_h),\quad "
    r"\mathbf{o}_t = \mathbf{W}_{qh}\mathbf{h}_t + \mathbf{b}_q",
    r"L = -\frac{1}{TB}\sum_{t,b}\log\operatorname{softmax}(\mathbf{o}_t)_{y_t},\quad "
    r"\text{perplexity} = e^{L}",
    r"\mathbf{g} \leftarrow \min\Big(1, \frac{\theta}{\|\mathbf{g}\|}\Big)\mathbf{g}",
)
