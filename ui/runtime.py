"""Process-wide settings for serving many sessions on few cores."""

import numpy  # noqa: F401  (loads OpenBLAS first: threadpoolctl only limits libraries already loaded)
# Plotly imports pandas lazily and takes it from sys.modules as soon as it is there: when several
# sessions' first runs build figures at once, one of them gets a half-imported pandas
# ("partially initialized module 'pandas' has no attribute 'Series'"). Imported here, it is whole
# before any figure is built (bench/load.py with 30 sessions on a fresh server found this).
import pandas  # noqa: F401
import streamlit as st
from threadpoolctl import threadpool_limits


@st.cache_resource
def limit_blas_threads():
    """One BLAS thread per computation, set once per server process.

    Every session's core call already runs in its own thread; on a 2-core
    machine a multi-threaded BLAS under load only adds contention (measured
    5–10× slower log-space norms with the default threading).
    """
    return threadpool_limits(limits=1, user_api="blas")
