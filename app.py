"""BPTT Lab: the entry point. Builds the navigation from the view registry."""

import streamlit as st

from ui.controls import carry_over, read_link, url_warnings
from ui.lecture import classroom_sidebar, go_to, share_box
from ui.registry import HOME_SCENARIOS, VIEWS
from ui.runtime import limit_blas_threads

st.set_page_config(page_title="BPTT Lab", page_icon="assets/favicon.png", layout="wide")
limit_blas_threads()
# On a tablet (800 px) Streamlit's 300 px sidebar leaves the charts too little room. Streamlit has no
# setting for its width by screen size, so a fixed rule of ours narrows it there (checked by
# tests/test_browser_layout.py at 800 px). There the displayed formulas are set smaller (KaTeX's 1.21 em
# ran off a tablet's column), and one still wider than the column scrolls sideways within itself.
st.html("<style>@media (max-width: 960px) { section[data-testid='stSidebar'] "
        "{ width: 232px !important; min-width: 232px !important; } .katex-display > .katex { font-size: 0.9em; } } "
        ".katex-display { overflow-x: auto; overflow-y: hidden; }</style>")
read_link()  # before any widget: the link's values, checked


def home():
    st.title("BPTT Lab")
    st.markdown(
        "An interactive laboratory for **backpropagation through time**, following the section "
        "*Backpropagation Through Time* of Dive into Deep Learning. A recurrent network applies the same "
        "weights at every step, so the gradient of an early step is a product of many Jacobians "
        "∂hₜ/∂hₜ₋₁: it shrinks or grows geometrically with the eigenvalues of Wₕₕ. "
        "Move a slider and watch gradients vanish or explode, then see what full, truncated and "
        "randomized-truncation BPTT do about it."
    )
    st.latex(r"\mathbf{h}_t = \phi(\mathbf{W}_{hx}\mathbf{x}_t + \mathbf{W}_{hh}\mathbf{h}_{t-1}),\quad "
             r"\mathbf{o}_t = \mathbf{W}_{qh}\mathbf{h}_t")
    st.latex(r"\frac{\partial L}{\partial \mathbf{h}_t} = \sum_{i=t}^{T} "
             r"\left(\mathbf{W}_{hh}^\top\right)^{T-i}\mathbf{W}_{qh}^\top \frac{\partial L}{\partial \mathbf{o}_{T+t-i}}")
    st.subheader("Scenarios")
    cols = st.columns(len(HOME_SCENARIOS))
    for col, scenario in zip(cols, HOME_SCENARIOS):
        with col:
            st.caption(scenario.text)
            if st.button(scenario.title, key=f"home_{scenario.view}_{scenario.label}", width="stretch"):
                go_to(scenario)
    st.subheader("The views, in the order of the section")
    for view in VIEWS:
        st.page_link(view.path, label=view.title, icon=view.icon)
        st.caption(view.summary)


pages = [st.Page(home, title="Home", icon=":material/home:", default=True)]
pages += [st.Page(v.path, title=v.title, icon=v.icon, url_path=v.url_path) for v in VIEWS]
navigation = st.navigation(pages)
carry_over(navigation.url_path)
for warning in url_warnings():
    st.warning(warning, icon=":material/link_off:")
navigation.run()
classroom_sidebar()
share_box(navigation.url_path or None)
