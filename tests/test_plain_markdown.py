"""KB text read as text: no Markdown marks reach a snippet line or a customer's reply."""

from __future__ import annotations

import pytest

from agent_console.core.plain_markdown import to_plain


@pytest.mark.parametrize(
    ("markdown", "plain"),
    [
        (
            "installierst du die eSIM **vor der Reise** zu Hause",
            "installierst du die eSIM vor der Reise zu Hause",
        ),
        ("Open __Settings__ then *Mobile data*", "Open Settings then Mobile data"),
        ("Tap _Add eSIM_.", "Tap Add eSIM."),
        ("Type `*#06#` to see the EID", "Type *#06# to see the EID"),
        (
            "See [the APN guide](https://help.example/kb/4) first",
            "See the APN guide (https://help.example/kb/4) first",
        ),
        ("## Before you travel\nCharge the phone", "Before you travel\nCharge the phone"),
        # Not emphasis: left as written.
        ("set apn_name and use 2*3*4 units", "set apn_name and use 2*3*4 units"),
        ("- one\n- two", "- one\n- two"),
        ("> quoted", "> quoted"),
        # A snippet cut in the middle of a mark.
        ("the eSIM **vor der…", "the eSIM vor der…"),
    ],
)
def test_inline_marks_are_taken_out(markdown: str, plain: str) -> None:
    assert to_plain(markdown) == plain


def test_a_snippet_line_keeps_the_link_text_only() -> None:
    assert to_plain("See [the APN guide](https://help.example/kb/4)", links=False) == "See the APN guide"


def test_highlight_markers_inside_a_mark_survive() -> None:
    # The server wraps search hits in private-use characters; they must stay where they were.
    assert to_plain("**vor der \ue000Reise\ue001**") == "vor der \ue000Reise\ue001"
