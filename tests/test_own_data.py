"""ui/own_data.py in AppTest: a valid paste is kept, an invalid one shows one escaped error and
keeps the previous value, "use the built …" goes back, and a user's text is shown as plain text."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from ui.text import plain_markdown


def matrix_script():
    import streamlit as st

    from ui.own_data import own_matrix

    W, source = own_matrix()
    st.write("built" if W is None else f"own {W.shape[0]} {float(W.sum()):g} from {source}")


def text_script():
    import streamlit as st

    from ui.own_data import own_text, show_text_preview

    text, _ = own_text()
    if text is not None:
        show_text_preview(text)
    st.write("book" if text is None else f"own {len(text.processed)}")


def last_line(at: AppTest) -> str:
    return at.markdown[-1].value


def test_valid_then_invalid_paste_keeps_the_valid_matrix_and_shows_one_error():
    at = AppTest.from_function(matrix_script).run()
    assert last_line(at) == "built" and not at.error
    at.text_area(key="own_w_hh_paste").input("1 2\n3 4").run()
    assert last_line(at) == "own 2 10 from Pasted text" and not at.error
    at.text_area(key="own_w_hh_paste").input("1 2\n3 [x](javascript:alert(1))").run()
    assert last_line(at) == "own 2 10 from Pasted text"
    assert len(at.error) == 1
    body = at.error[0].value
    assert "Row 2, column 2" in body and "keeps the previous one" in body
    assert "[x](" not in body and r"\[x\]\(javascript" in body  # escaped: markdown shows it literally
    at.button(key="own_w_hh_back").click().run()
    assert last_line(at) == "built" and not at.error
    assert at.text_area(key="own_w_hh_paste").value == ""


def test_invalid_first_paste_says_so_and_the_built_matrix_stays():
    at = AppTest.from_function(matrix_script).run()
    at.text_area(key="own_w_hh_paste").input("1 2 3\n4 5 6").run()
    assert last_line(at) == "built"
    assert [e.value for e in at.error] == [r"Pasted text\: The matrix is 2×3; it must be square \(h×h\)\."]


def test_own_text_is_shown_as_plain_text():
    at = AppTest.from_function(text_script).run()
    assert last_line(at) == "book"
    at.text_area(key="own_text_paste").input("<script>alert('hi')</script> **bold** Hello").run()
    assert not at.error
    assert at.text[0].value.startswith("<script>alert('hi')</script> **bold**")  # st.text: never markup
    assert at.code[0].value == "script alert hi script bold hello"
    assert all("<script" not in m.value for m in at.markdown)
    at.text_area(key="own_text_paste").input("12345 !!!").run()
    assert len(at.error) == 1 and "Nothing is left" in at.error[0].value
    assert last_line(at) == f"own {len('script alert hi script bold hello')}"


def test_plain_markdown_escapes_what_markdown_would_read():
    assert plain_markdown("a_b *c* `d` $x$ :red[e] <i> &lt;, 'q'") == \
        r"a\_b \*c\* \`d\` \$x\$ \:red\[e\] \<i\> \&lt;, 'q'"


# --- on the views ------------------------------------------------------------------------------

import json  # noqa: E402
from pathlib import Path  # noqa: E402

from tests.page_charts import chart_specs  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def open_view(path: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page(path)
    return at.run()


def charts(at: AppTest) -> list[str]:
    return [json.dumps(spec["data"], sort_keys=True) for _, spec in chart_specs(at)]


def test_own_w_hh_replaces_the_built_one_and_bad_input_keeps_it():
    at = open_view("views/eigenvalues.py")
    assert not at.exception and not at.error
    built = charts(at)
    at.text_area(key="own_w_hh_paste").input("2 0 0\n0 0.5 0\n0 0 -0.25").run()
    assert not at.exception and not at.error
    assert any("h = 3, ρ = 2," in info.value for info in at.info)
    own = charts(at)
    assert own and own != built
    at.text_area(key="own_w_hh_paste").input("2 0 0\n0 0.5\n0 0 -0.25").run()
    assert not at.exception
    assert [e.value for e in at.error] == [r"Pasted text\: Row 2 has 2 values, expected 3 \(as in row 1\)\. "
                                           "The page keeps the previous one."]
    assert charts(at) == own and any("h = 3, ρ = 2," in info.value for info in at.info)
    at.button(key="own_w_hh_back").click().run()
    assert charts(at) == built and not at.error


def test_every_eigenvalue_tab_draws_a_nilpotent_own_matrix():
    at = open_view("views/eigenvalues.py")
    at.text_area(key="own_w_hh_paste").input("0 1\n0 0").run()
    seen = []
    for label in at.segmented_control(key="eigenvalues_tab").options:
        at.segmented_control(key="eigenvalues_tab").set_value(label).run()
        assert not at.exception and not at.error, label
        seen += [info.value for info in at.info]
    assert any("no ρ to scale" in text for text in seen)  # the animation tab ran, on this matrix


def test_own_text_replaces_the_time_machine_in_the_books_figure_and_stays_inert():
    at = open_view("views/truncation.py")
    assert not at.exception and not at.error
    book = charts(at)
    script = "<script>alert('x')</script> <b>Bold</b> & an ordinary sentence of some length."
    at.text_area(key="own_text_paste").input(script).run()
    assert not at.exception and not at.error
    assert at.text[0].value == script                      # echoed as plain text
    assert all("<script" not in m.value and "<b>" not in m.value for m in at.markdown)
    own = charts(at)
    assert own != book
    figure = chart_specs(at)[0][1]
    assert "".join(figure["data"][0]["text"]) == "script␣alert␣x␣script␣b␣bold␣"  # the first 29 characters
    at.text_area(key="own_text_paste").input("!!! 42").run()  # nothing left after preprocessing
    assert len(at.error) == 1 and "Nothing is left" in at.error[0].value
    assert charts(at) == own
    at.text_area(key="own_text_paste").input("Hi there").run()  # shorter than the book's draw
    assert not at.exception and not at.error
    assert "".join(chart_specs(at)[0][1]["data"][0]["text"]) == "hi␣there"
