"""Tests for the untrusted-text sanitizer and the TUI's safe renderable builders."""

from __future__ import annotations

import io
import time
import unicodedata
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.style import Style as RichStyle
from rich.text import Text
from textual.app import App, ComposeResult
from textual.content import Content
from textual.widgets import Label, Static

from agent_console.core.sanitize import DISPLAY_LIMIT, clip, is_clean, sanitize, sanitize_line
from agent_console.tui.safe_text import untrusted, untrusted_content, untrusted_line
from tests.injection import Vector, load_vectors

ESC = "\x1b"
ZWJ = "\u200d"
BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
INVISIBLE = frozenset(
    "\u200b\u200c\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\u00ad\u034f\u115f\u1160\u3164\uffa0"
)


def forbidden_char(char: str) -> bool:
    """Characters that must never survive sanitize(), defined independently of it."""
    code = ord(char)
    return (
        (code < 0x20 and char not in "\n\t")
        or 0x7F <= code <= 0x9F
        or char in BIDI
        or char in INVISIBLE
        or char in "\u2028\u2029\ufffe\uffff"
        or 0xE0000 <= code <= 0xE007F
        or 0xD800 <= code <= 0xDFFF
    )


def assert_safe(out: str) -> None:
    bad = sorted({f"U+{ord(c):04X}" for c in out if forbidden_char(c)})
    assert not bad, f"forbidden characters survived: {bad}"
    # A ZWJ may only survive inside an emoji sequence: never next to ASCII, a
    # letter, digit, space, mark or control (VS16 before it is fine).
    index = out.find(ZWJ)
    while index != -1:
        before = out[index - 1] if index else ""
        after = out[index + 1] if index + 1 < len(out) else ""
        assert before and after, f"ZWJ at an edge in {out!r}"
        neighbours = [after] if before == "\ufe0f" else [before, after]
        for neighbour in neighbours:
            category = unicodedata.category(neighbour)
            assert not neighbour.isascii(), out
            assert category[0] not in "LNZMC" or category in ("No", "Cn"), out
        index = out.find(ZWJ, index + 1)


VECTORS = load_vectors()
SMALL_VECTORS = [v for v in VECTORS if v.category != "huge"]


def by_name(vectors: list[Vector]) -> dict:
    return {"argvalues": vectors, "ids": [v.name for v in vectors]}


# --- the corpus --------------------------------------------------------------


def test_corpus_is_big_and_covers_every_category() -> None:
    assert len(VECTORS) >= 45
    counts = Counter(v.category for v in VECTORS)
    required = {
        "csi", "osc", "dcs", "apc", "pm", "sos", "c1_8bit", "c0", "del", "bidi",
        "zero_width", "textual_markup", "rich_markup", "huge", "invalid_utf8", "mixed",
        "line_separators",
    }  # fmt: skip
    assert required <= counts.keys()
    assert any(isinstance(v.raw, bytes) for v in VECTORS)
    huge = next(v for v in VECTORS if v.name == "huge_line")
    assert len(huge.raw) == 5_000_000 + len("\x1b[2J") and "\n" not in huge.raw


@pytest.mark.parametrize("vector", **by_name(VECTORS))
def test_vector_is_neutralised(vector: Vector) -> None:
    out = sanitize(vector.raw)
    for needle in vector.forbidden:
        assert needle not in out, f"forbidden {needle!r} survived"
    assert ESC not in out
    assert_safe(out)
    assert is_clean(out)
    assert sanitize(out) == out
    for needle in vector.expect:
        assert needle in out, f"expected {needle!r} to be shown literally"
    if vector.raw and not isinstance(vector.raw, bytes):
        assert out, "placeholders must keep something visible"


@pytest.mark.parametrize("vector", **by_name(VECTORS))
def test_vector_through_untrusted_builders(vector: Vector) -> None:
    text = untrusted(vector.raw)
    assert text.plain == sanitize(vector.raw)
    assert text.spans == []
    content = untrusted_content(vector.raw)
    assert content.plain == sanitize(vector.raw)
    assert list(content.spans) == []
    line = untrusted_line(vector.raw)
    assert "\n" not in line.plain and "\t" not in line.plain
    assert_safe(line.plain)


def render_rich(renderable: object) -> str:
    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor", width=100)
    console.print(renderable)
    return console.file.getvalue()


@pytest.mark.parametrize("vector", **by_name(SMALL_VECTORS))
def test_vector_rendered_terminal_output(vector: Vector) -> None:
    """The bytes Rich writes for the vector hold no payload sequence and no link."""
    for renderable in (untrusted(vector.raw), untrusted_content(vector.raw)):
        output = render_rich(renderable)
        for needle in vector.forbidden:
            assert needle not in output
        assert "\x1b]" not in output  # no OSC at all: no title, link or clipboard
        assert not any(0x80 <= ord(c) <= 0x9F for c in output)
        assert not any(c in BIDI for c in output)


# --- placeholder policy ------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\x1b", "␛"),
        ("\x07", "␇"),
        ("\x00", "␀"),
        ("\x7f", "␡"),
        ("\x08", "␈"),
        ("\x0c", "␌"),
        ("a\rb", "a␍b"),
        ("a\r\nb", "a\nb"),
        ("\r\r\n", "␍\n"),
        ("\u009b", "⟨U+009B⟩"),
        ("\u009d", "⟨U+009D⟩"),
        ("\u0085", "⟨U+0085⟩"),
        ("\u202e", "⟨U+202E⟩"),
        ("\u200b", "⟨U+200B⟩"),
        ("\ufeff", "⟨U+FEFF⟩"),
        ("\U000e0041", "⟨U+E0041⟩"),
        ("\uffff", "⟨U+FFFF⟩"),
        ("a\u2028b\u2029c", "a\nb\nc"),
        ("\ud800", "\ufffd"),
        ("\x1b]52;c;SGVsbG8=\x07", "␛]52;c;SGVsbG8=␇"),
        ("\x1b[2J", "␛[2J"),
        ("\x1bP$qm\x1b\\", "␛P$qm␛\\"),
        ("https://lumo.example/\u202egpj.exe", "https://lumo.example/⟨U+202E⟩gpj.exe"),
    ],
)
def test_placeholders(raw: str, expected: str) -> None:
    assert sanitize(raw) == expected


CONTROLS = (
    [chr(c) for c in range(0x20) if chr(c) not in "\n\t\r"]
    + ["\x7f", "\r"]
    + [chr(c) for c in range(0x80, 0xA0)]
    + sorted(BIDI | INVISIBLE)
    + ["\U000e0001", "\U000e007f", "\ufffe"]
)


@pytest.mark.parametrize("char", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
def test_every_control_becomes_a_visible_placeholder(char: str) -> None:
    out = sanitize(char)
    assert out and out.isprintable() and not out.isspace()
    assert sanitize(char * 3) == out * 3


def test_bytes_are_decoded_with_replacement() -> None:
    assert sanitize(b"caf\xc3\xa9") == "café"
    assert sanitize(b"\xff\xfe") == "\ufffd\ufffd"
    assert ESC not in sanitize(b"\xc0\x9b[2J")  # overlong ESC
    assert sanitize(b"\xed\xa0\x80") == "\ufffd" * 3  # encoded surrogate
    assert sanitize(b"\xc2\x9b") == "⟨U+009B⟩"  # C1 control, validly encoded
    assert sanitize(bytearray(b"\x1b[0m")) == "␛[0m"
    assert sanitize(memoryview(b"ok")) == "ok"


def test_none_and_wrong_types() -> None:
    assert sanitize(None) == "" and sanitize_line(None) == ""
    with pytest.raises(TypeError):
        sanitize(42)  # type: ignore[arg-type]


def test_newlines_and_tabs() -> None:
    text = "Dear team,\n\n\tline one\n\tline two\r\n"
    assert sanitize(text) == "Dear team,\n\n\tline one\n\tline two\n"
    assert sanitize_line(text) == "Dear team, line one line two"
    assert sanitize_line("  Ada \t\n Lovelace\u2028\u3000 ") == "Ada Lovelace"
    assert sanitize_line("a\x1b[2Jb\r\nc") == "a␛[2Jb c"
    assert sanitize_line("\u200b") == "⟨U+200B⟩"


@pytest.mark.parametrize(
    "text",
    [
        "Thanks! 👍🏽 🎉 😀",
        "👨\u200d👩\u200d👧\u200d👦 🏳️\u200d🌈 ❤️\u200d🔥 🧑🏽\u200d💻 🐈\u200d⬛ 🙂\u200d↔️",
        "🇫🇷 🇯🇵 1️⃣ ✈️ ©️",
        "注文番号が届きません。至急確認してください。",
        "我的订单还没有到。",
        "주문이 아직 도착하지 않았습니다.",
        "مرحبا، لم يصل طلبي بعد",
        "שלום, ההזמנה שלי לא הגיעה",
        "Crème brûlée, naïve, Ångström, Łódź, İstanbul, ß",
        "Cafe\u0301 (combining acute)",
        "नमस्ते, मेरा ऑर्डर नहीं आया",
        "สวัสดีครับ",
        "Привет, где мой заказ?",
        "Ω≈ç√∫ ¥€£ — “quotes” ‘single’ …",
        "\ue000 private use",
        "[b]not markup here[/b] :warning: $name",
    ],
)
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert sanitize(text) == text
    assert is_clean(text)


@pytest.mark.parametrize(
    "text", ["a\u200db", "\u200d👍", "👍\u200d", "👍\u200d\u200d👍", "x\u200d😀", "😀\u200dx"]
)
def test_zwj_outside_emoji_is_a_placeholder(text: str) -> None:
    out = sanitize(text)
    assert "⟨U+200D⟩" in out
    assert_safe(out)


def test_is_clean() -> None:
    assert is_clean("")
    assert is_clean("plain ascii\n\twith tabs")
    for char in CONTROLS + ["\ud800", "\u2028", "a\u200db"]:
        assert not is_clean(char), repr(char)


def test_huge_line_is_sanitized_to_its_end() -> None:
    # How fast this is belongs in bench/ (never a timed assertion here).
    for clean, tail in (("A" * 5_000_000, "\x1b]52;c;aGk=\x07"), ("日本語テキスト" * 700_000, "\x1b[2J")):
        out = sanitize(clean + tail)
        assert ESC not in out
        assert out == clean + sanitize(tail) and sanitize(tail) != tail


# --- clip ----------------------------------------------------------------------


def test_clip() -> None:
    assert DISPLAY_LIMIT == 65536
    assert clip("") == ("", 0)
    assert clip("abc", 3) == ("abc", 0)
    assert clip("abcdef", 4) == ("abcd", 2)
    assert clip("abc", 0) == ("", 3)
    text = "x" * (DISPLAY_LIMIT + 10)
    shown, hidden = clip(text)
    assert len(shown) == DISPLAY_LIMIT and hidden == 10
    with pytest.raises(ValueError):
        clip("abc", -1)


def test_clip_does_not_split_at_a_zwj() -> None:
    family = "👨\u200d👩\u200d👧"
    for limit in range(1, len(family)):
        shown, hidden = clip(family, limit)
        assert shown + family[len(shown) :] == family
        assert hidden == len(family) - len(shown)
        assert not shown.endswith(ZWJ) and not family[len(shown) :].startswith(ZWJ)
        assert is_clean(shown)


# --- Rich Text / Textual Content builders ---------------------------------------

CLICK = "[@click=app.quit]x[/]"


def segment_styles(renderable: object) -> list:
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    return [seg.style for seg in console.render(renderable) if seg.style is not None]


def test_untrusted_text_is_literal() -> None:
    text = untrusted(CLICK)
    assert isinstance(text, Text)
    assert text.plain == CLICK
    assert text.spans == [] and text.style == ""
    for style in segment_styles(text):
        assert not style.meta and style.link is None
    # the same string as markup would have become a click action
    assert Text.from_markup(CLICK).spans[0].style.meta == {"@click": ("app.quit", ())}


def test_untrusted_text_style_applies_to_whole_text() -> None:
    text = untrusted("[link=https://evil.example]bank[/link]", style="bold red")
    assert text.plain == "[link=https://evil.example]bank[/link]"
    assert text.spans == [] and text.style == "bold red"
    output = render_rich(text)
    assert "\x1b]8;" not in output
    assert "[link=https://evil.example]bank[/link]" in output


def test_untrusted_line() -> None:
    text = untrusted_line("  [b]Ada[/b]\n\tLovelace\x1b]0;x\x07 ", style="italic")
    assert text.plain == "[b]Ada[/b] Lovelace␛]0;x␇"
    assert text.spans == [] and text.style == "italic"


def test_untrusted_content_is_literal() -> None:
    content = untrusted_content(CLICK)
    assert isinstance(content, Content)
    assert content.plain == CLICK
    assert list(content.spans) == []
    for segment in content.render_segments():
        assert segment.style is None or (not segment.style.meta and not segment.style.link)
    styled = untrusted_content(":warning: [on red]x", style="bold")
    assert styled.plain == ":warning: [on red]x"
    assert [(s.start, s.end, s.style) for s in styled.spans] == [(0, len(styled.plain), "bold")]
    assert untrusted_content(None).plain == ""
    rich_styled = untrusted_content("[b]x", style=RichStyle(bold=True))
    assert rich_styled.plain == "[b]x" and len(rich_styled.spans) == 1
    assert rich_styled.spans[0].style.bold


class Probe(App[None]):
    """Shows one untrusted payload three ways next to a markup-parsing control."""

    PAYLOAD = "[@click=app.record('pwned')]CLICK-ME[/]"

    def __init__(self) -> None:
        super().__init__()
        self.recorded: list[str] = []

    def action_record(self, value: str) -> None:
        self.recorded.append(value)

    def compose(self) -> ComposeResult:
        yield Static(untrusted_content(self.PAYLOAD), id="content")
        yield Label(untrusted(self.PAYLOAD), id="text")
        yield Label(untrusted_line(self.PAYLOAD), id="line")
        yield Static(self.PAYLOAD, id="control")  # a raw str: parsed as markup


async def test_textual_widgets_do_not_run_actions_from_untrusted_text() -> None:
    app = Probe()
    async with app.run_test(size=(80, 10)) as pilot:
        for widget_id in ("content", "text", "line"):
            widget = app.query_one(f"#{widget_id}", Static)
            assert str(widget.render()) == Probe.PAYLOAD
            await pilot.click(f"#{widget_id}", offset=(1, 0))
        # The control proves the probe notices a parsed action; clicked last, so once its action
        # has run, any action from the clicks before it would have run too.
        await pilot.click("#control", offset=(1, 0))
        deadline = time.monotonic() + 10
        while not app.recorded and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert app.recorded == ["pwned"]


# --- properties ----------------------------------------------------------------

DANGEROUS = (
    [chr(c) for c in range(0x20)]
    + [chr(c) for c in range(0x7F, 0xA0)]
    + sorted(BIDI | INVISIBLE)
    + ["\u200d", "\u2028", "\u2029", "\ufffe", "\uffff", "\U000e0041", "\U000e007f", "\ud800"]
    + ["\udfff", "\ufe0f", "👍", "🏽", "⬛", "e\u0301", "[", "]", "@click=", "\r\n", " "]
)
# Multi-character pieces (CRLF, a decomposed letter, a markup fragment) are
# allowed, so build the text from a list rather than with st.text(alphabet=...).
any_text = st.lists(
    st.one_of(
        st.characters(exclude_categories=()),
        st.characters(categories=["Cs"]),
        st.sampled_from(DANGEROUS),
    )
).map("".join)


@settings(max_examples=500, deadline=None)
@given(any_text)
def test_property_sanitize_output_is_safe(text: str) -> None:
    out = sanitize(text)
    assert_safe(out)
    assert is_clean(out)
    assert sanitize(out) == out
    assert is_clean(text) == (out == text)
    line = sanitize_line(text)
    assert_safe(line)
    assert line == line.strip() and "  " not in line
    assert not any(c in "\n\t\r" for c in line)


@settings(max_examples=300, deadline=None)
@given(st.binary())
def test_property_bytes_are_safe(raw: bytes) -> None:
    out = sanitize(raw)
    assert_safe(out)
    assert is_clean(out)
    out.encode("utf-8")  # always encodable: no surrogates left


@settings(max_examples=200, deadline=None)
@given(any_text, st.integers(min_value=0, max_value=40))
def test_property_clip(text: str, limit: int) -> None:
    shown, hidden = clip(text, limit)
    assert text.startswith(shown)
    assert len(shown) <= limit
    assert hidden == len(text) - len(shown)
    assert (hidden == 0) == (len(text) <= limit)
