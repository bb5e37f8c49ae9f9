# Training lab (the section's "Comparing Strategies" and its closing claims): the book's character RNN
# trained on The Time Machine with each strategy — regular truncation works, randomized "does not work
# much better", clipping guards against huge gradients. Runs train in a thread of their own
# (ui/training_run.py); the page watches them, and Stop stops them.

import numpy as np
import streamlit as st

from charts.findings import training_sentence
from charts.style import STRATEGIES
from charts.training import gradient_norm_figure, minibatch_figure, perplexity_figure
from ui.figures import show_chart
from ui.lecture import lecture_note, scenario_buttons
from ui.own_data import own_text_panel
from ui.sections import open_tab_only
from ui.text import explain
from ui.training_run import finished_runs, session_run, start_run, stop_run
from ui.training_settings import RunPlan, network_controls, partitions, run_plan, training_text, what_to_compare

SHOWN_BATCHES = 24   # minibatches in the partitioning chart (more would hide the pattern)
SHOWN_WINDOWS = 8    # streams of each minibatch drawn: 32 windows were 1536 markers, slow to redraw


def run_buttons(plan: RunPlan) -> None:
    run = session_run()
    running = run is not None and run.running
    run_col, stop_col = st.columns(2)
    run_col.button("Run", type="primary", disabled=not plan.configs or running, icon=":material/play_arrow:",
                   width="stretch", on_click=start_run, args=(plan.key, plan.corpus, plan.configs, plan.updates_each),
                   help="Train every chosen strategy with these settings, one after the other.")
    stop_col.button("Stop", icon=":material/stop:", width="stretch", disabled=not running, on_click=stop_run,
                    help="Stop the run after its current update; what was trained so far stays on the page.")
    if not plan.configs:
        st.warning("Choose at least one strategy to train.", icon=":material/checklist:")


def progress(plan: RunPlan) -> None:
    """The run in progress, redrawn every half second from its counters; the whole page once it ends."""
    run = session_run()
    if run is None or not run.running:
        st.rerun()  # the run ended since the last redraw: the results replace this panel
    name = STRATEGIES[run.current]["name"] if run.current else "Starting"
    st.progress(min(run.done / max(run.total, 1), 1.0),
                text=f"{name}: {run.done} of {run.total} updates, {run.seconds:.0f} s")
    so_far = run.histories()
    if so_far:
        show_chart(perplexity_figure(so_far, x="updates", labels=plan.labels, vocab_size=len(plan.corpus.vocab)),
                   key="training_live", caption="Validation perplexity so far (markers) and each window's training "
                                                "perplexity (faint).")
    sample = run.latest_sample()
    if sample is not None:
        st.caption(f"{plan.labels[sample[0]]}, update {sample[1]}: the prefix continued greedily.")
        st.code(sample[2], language=None)


def results(plan: RunPlan):
    """The comparison's curves: finished (this session's or the server's), or this session's stopped run."""
    run = session_run()
    finished = finished_runs()
    if run is not None and run.key == plan.key and run.status in ("stopped", "failed"):
        if run.status == "failed":
            st.error(f"The run failed: {run.error}", icon=":material/error:")
        else:
            st.info("The run was stopped: the curves show what was trained until then. Press Run to train again.",
                    icon=":material/stop_circle:")
        return run.histories()
    if plan.key in finished:
        finished.move_to_end(plan.key)
        if run is None or run.key != plan.key:
            st.caption("These curves were trained earlier on this server with exactly these settings (training is "
                       "deterministic for a seed; only the seconds differ). Run trains them again.")
        return finished[plan.key]
    return None


def tabs(plan: RunPlan, histories: dict) -> None:
    V = len(plan.corpus.vocab)

    def perplexity_tab():
        show_chart(perplexity_figure(histories, x="updates", labels=plan.labels, vocab_size=V),
                   key="training_perplexity", caption=(
            "Validation perplexity (markers, on the held-out end of the text) and each window's training perplexity "
            f"(faint) against updates. Uniform guessing over the {V} characters scores {V} (grey dotted)."))
        st.markdown(training_sentence(histories, plan.labels))
        for col, (name, hist) in zip(st.columns(len(histories)), histories.items()):
            ppl = hist.final_valid_perplexity
            col.metric(plan.labels[name], "diverged" if hist.diverged else (f"{ppl:.2f}" if np.isfinite(ppl) else "—"),
                       help=f"{hist.index.size} updates, {hist.clipped.mean():.0%} clipped, "
                            f"{hist.seconds[-1] if hist.seconds.size else 0:.1f} s of training")

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
            st.code("\n".join(f"update {i:>5}: {sample}" for i, sample in hist.samples) or "(no checkpoint reached)",
                    language=None)

    open_tab_only("training", {"Perplexity": perplexity_tab, "Against time": time_tab,
                               "Gradient norms": gradient_tab, "Generated text": text_tab}, note=False)


def partitioning(plan: RunPlan, text: str, seed: int, T: int) -> None:
    seq_starts, rnd_starts = partitions(text, plan.batch_size, T, seed)
    every = -(-plan.batch_size // SHOWN_WINDOWS)  # every k-th row: streams spread over the whole text
    shown = "the B windows" if every == 1 else f"one in {every} of the B = {plan.batch_size} windows"
    rows = np.s_[:SHOWN_BATCHES, ::every]
    show_chart(minibatch_figure(seq_starts[rows], rnd_starts[rows], num_steps=T, n_tokens=plan.corpus.train.size),
               key="training_minibatches", caption=(
        f"Where {shown} of the first {min(SHOWN_BATCHES, len(seq_starts))} minibatches start in the training text. "
        "Sequential partitioning (circles) lays the text out as B streams read left to right, so a window continues "
        "where the same row of the previous minibatch stopped and the state can be carried over; random "
        "partitioning (crosses) scatters the windows, so the state starts from zero each time. The lab trains with "
        "the sequential one."))


st.title("Training lab")
scenario_buttons("training")
lecture_note("training", st.container())  # the page reruns whole for every setting: no fragment to hold it
net = network_controls()
text, is_book = training_text()
what_to_compare()
plan = run_plan(net, text, is_book)
if plan is not None:
    st.caption(f"Each epoch: {plan.batches_per_epoch} minibatches of B = {plan.batch_size} windows × T = {net.T} "
               f"characters (the state carried from one window to the next and detached); "
               f"{plan.updates_each} updates per strategy, validation perplexity on the last 10 % of the text.")
    run_buttons(plan)
    current = session_run()
    if current is not None and current.running:
        st.fragment(lambda: progress(plan), run_every=0.5)()
    histories = results(plan)
    if histories:
        tabs(plan, histories)
    elif current is None or not current.running:
        st.markdown("Press **Run** to train the chosen strategies; until then, here is how the book cuts the text "
                    "into minibatches.")
    partitioning(plan, text, net.seed, net.T)
own_text_panel()
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
