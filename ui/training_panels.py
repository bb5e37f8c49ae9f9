"""The training lab's run panels: Run and Stop, the progress of a run in its thread, and the results to show.

The page reruns whole for every setting; while a run trains, ``progress`` is a fragment that redraws
itself every half second from the run's counters (ui/training_run.py) and reruns the page once the run
has ended, so its curves replace the panel.
"""

from __future__ import annotations

import streamlit as st

from charts.training import perplexity_figure, run_name
from ui.figures import show_chart
from ui.training_run import finished_runs, session_run, start_run, stop_run
from ui.training_settings import RunPlan


def run_buttons(plan: RunPlan, run_col, stop_col) -> None:
    """Run and Stop, in the two places given (beside the settings: the results stay on the first screen)."""
    run = session_run()
    running = run is not None and run.running
    run_col.button("Run", type="primary", disabled=not plan.configs or running, icon=":material/play_arrow:",
                   width="stretch", on_click=start_run, args=(plan.key, plan.corpus, plan.configs, plan.updates_each),
                   help="Train every chosen cell with every chosen strategy, one after the other.")
    stop_col.button("Stop", icon=":material/stop:", width="stretch", disabled=not running, on_click=stop_run,
                    help="Stop the run after its current update; what was trained so far stays on the page.")
    if not plan.configs:
        st.warning("Choose at least one cell and one strategy to train.", icon=":material/checklist:")  # under the row


def progress(plan: RunPlan) -> None:
    """The run in progress, redrawn every half second from its counters; the whole page once it ends."""
    run = session_run()
    if run is None or not run.running:
        st.rerun()  # the run ended since the last redraw: the results replace this panel
    name = run_name(run.current) if run.current else "Starting"
    st.progress(min(run.done / max(run.total, 1), 1.0),
                text=f"{name}: {run.done} of {run.total} updates, {run.seconds:.0f} s")
    so_far = run.histories()
    if so_far:
        show_chart(perplexity_figure(so_far, x="updates", labels=plan.labels, vocab_size=plan.vocab_size),
                   key="training_live", caption="Validation perplexity so far (markers) and each window's training "
                                                "perplexity (faint).")
    sample = run.latest_sample()
    if sample is not None:
        st.caption(f"{plan.labels[sample[0]]}, update {sample[1]}: the prefix continued greedily.")
        st.code(sample[2], language=None)


EARLIER = ("These curves were trained earlier on this server with exactly these settings (training is deterministic "
           "for a seed; only the seconds differ). Run trains them again.")


def results(plan: RunPlan) -> tuple[dict | None, bool]:
    """(the comparison's curves: finished, this session's or the server's, or this session's stopped run;
    whether they come from another session's run, which the page then says under them)."""
    run = session_run()
    finished = finished_runs()
    if run is not None and run.key == plan.key and run.status in ("stopped", "failed"):
        if run.status == "failed":
            st.error(f"The run failed: {run.error}", icon=":material/error:")
        else:
            st.info("The run was stopped: the curves show what was trained until then. Press Run to train again.",
                    icon=":material/stop_circle:")
        return run.histories(), False
    if plan.key in finished:
        finished.move_to_end(plan.key)
        return finished[plan.key], run is None or run.key != plan.key
    return None, False
