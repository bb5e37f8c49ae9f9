"""The training lab's runs: trained in a thread of their own, watched by the page, stoppable.

A run trains the chosen strategies one after the other (``bptt_core.Trainer``) in a background
thread, so the page stays free: the progress panel is a fragment that redraws itself every half
second from the run's counters, and Stop only sets an event the thread checks after every
update (a button inside a running script could not interrupt it: Streamlit queues a fragment's
rerun behind the run in progress). Nothing here calls Streamlit from the thread.

Finished comparisons are kept for the whole server, per configuration (training is deterministic
for a seed, so a second visitor with the same settings sees the same curves at once); a session's
run, finished, stopped or failed, stays in its session.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import streamlit as st

from bptt_core import Corpus, History, TrainConfig, Trainer

MAX_FINISHED = 16   # finished comparisons kept for the whole server
RUN = "training_run"  # session key of the session's latest run


@dataclass(eq=False)
class Run:
    """One comparison: the strategies of ``configs`` trained in order on ``corpus``.

    status: "running", "finished", "stopped" or "failed" (``error`` says why); ``done`` counts the
    updates so far over all strategies, ``total`` is what a full run makes.
    """

    key: tuple
    corpus: Corpus
    configs: dict[str, TrainConfig]
    total: int
    trainers: dict[str, Trainer] = field(default_factory=dict)
    status: str = "running"
    error: str = ""
    current: str = ""
    done: int = 0
    started: float = field(default_factory=time.monotonic)
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def seconds(self) -> float:
        """Wall-clock seconds since the run started."""
        return time.monotonic() - self.started

    def histories(self) -> dict[str, History]:
        """The curves so far, per strategy (a snapshot: the thread may be adding to them)."""
        return {name: History.from_updates(list(t.updates_done), diverged=t.diverged, theta=t.config.theta,
                                           stopped_early=t.stopped_early)
                for name, t in list(self.trainers.items()) if t.updates_done}

    def latest_sample(self) -> tuple[str, int, str] | None:
        """(strategy, update, text) of the newest generated sample, if any."""
        for name, t in reversed(list(self.trainers.items())):
            for u in reversed(list(t.updates_done)):
                if u.sample is not None:
                    return name, u.index, u.sample
        return None


@st.cache_resource(show_spinner=False)
def finished_runs() -> OrderedDict:
    """config key → {strategy: History}: shared by every session, the oldest dropped first."""
    return OrderedDict()


def _train(run: Run) -> None:
    """The thread's body: every strategy in turn, checking Stop after each update."""
    try:
        for name, config in run.configs.items():
            run.current = name
            trainer = run.trainers[name] = Trainer(run.corpus, config)
            per_strategy = 0
            for _ in trainer.updates():
                run.done += 1
                per_strategy += 1
                if run.stop.is_set():
                    trainer.stopped_early = True
                    run.status = "stopped"
                    return
            run.done += run.total // len(run.configs) - per_strategy  # what a diverged run did not make
        store = finished_runs()
        store[run.key] = run.histories()
        while len(store) > MAX_FINISHED:
            store.popitem(last=False)
        run.status = "finished"
    except Exception as exc:  # noqa: BLE001 - the page says what went wrong instead of a dead thread
        run.error = f"{type(exc).__name__}: {exc}"
        run.status = "failed"


def start_run(key: tuple, corpus: Corpus, configs: dict[str, TrainConfig], updates_each: int) -> None:
    """Start training ``configs`` (a button's callback); a run in progress in this session is stopped first."""
    previous = st.session_state.get(RUN)
    if previous is not None and previous.running:
        previous.stop.set()
    run = Run(key, corpus, configs, total=updates_each * len(configs))
    st.session_state[RUN] = run
    threading.Thread(target=_train, args=(run,), name="bptt-training", daemon=True).start()


def stop_run() -> None:
    """Ask this session's run to stop after its current update (a button's callback)."""
    run = st.session_state.get(RUN)
    if run is not None:
        run.stop.set()


def session_run() -> Run | None:
    """This session's latest run, if any."""
    return st.session_state.get(RUN)
