"""Neutralise untrusted text before it is displayed.

Customer messages, names, subjects, e-mail addresses and knowledge-base articles
are written by strangers. Terminals obey control characters and escape
sequences embedded in text (clear the screen, set the window title, write the
clipboard through OSC 52, make the terminal type an answer back into our input),
and invisible Unicode (bidi overrides, zero-width and tag characters) makes text
look different from what it is. Every untrusted string therefore goes through
:func:`sanitize` (or :func:`sanitize_line`) before display.

Policy: nothing is silently dropped. Each dangerous character becomes a visible
placeholder so the agent can see that something was there:

* C0 controls and DEL become their Unicode Control Pictures (ESC -> ``␛``,
  BEL -> ``␇``, NUL -> ``␀``, DEL -> ``␡``). ``\\n`` and ``\\t`` stay, ``\\r\\n``
  becomes ``\\n`` and a lone ``\\r`` becomes ``␍``. Escape sequences thereby lose
  their ESC and remain readable as inert text (``␛]52;c;SGVsbG8=␇``).
* C1 controls (U+0080-U+009F, e.g. the 8-bit CSI U+009B), bidi controls,
  zero-width and other invisible formatting characters, tag characters and
  noncharacters become ``⟨U+XXXX⟩``.
* U+2028/U+2029 (line/paragraph separator) become ``\\n``.
* Lone surrogates and undecodable bytes become U+FFFD.
* A ZERO WIDTH JOINER between two emoji is kept, so that emoji sequences such
  as a family or a profession emoji still display; anywhere else it is a
  placeholder.

Everything else (letters of any script, emoji, CJK, accents, private-use
characters) passes unchanged. Markup (``[b]``, ``[@click=...]``) is not touched
here: it is plain text, and the TUI must never parse it (see
``agent_console.tui.safe_text``).

This module is pure: standard library only, no I/O.
"""

from __future__ import annotations

import re

__all__ = ["DISPLAY_LIMIT", "clip", "is_clean", "sanitize", "sanitize_line"]

DISPLAY_LIMIT = 65536
"""How many characters of one text the UI shows before offering "show the rest"."""

_ZWJ = "\u200d"
_ZWJ_PLACEHOLDER = "⟨U+200D⟩"


def _placeholder(codepoint: int) -> str:
    return f"⟨U+{codepoint:04X}⟩"


def _build_table() -> dict[int, str]:
    table: dict[int, str] = {}
    # C0 controls -> Control Pictures (U+2400 + code). \t and \n are kept;
    # \r is only reached when it is not part of \r\n (those are folded first).
    for code in range(0x20):
        if code not in (0x09, 0x0A):
            table[code] = chr(0x2400 + code)
    table[0x7F] = "\u2421"  # ␡ SYMBOL FOR DELETE
    # C1 controls: 8-bit CSI/OSC/DCS/APC/PM/SOS/ST, NEL...
    for code in range(0x80, 0xA0):
        table[code] = _placeholder(code)
    invisible = [
        # bidi embeddings/overrides, isolates and marks
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
        0x200E,
        0x200F,
        0x061C,
        # zero-width and invisible formatting characters (ZWJ is handled apart)
        0x200B,
        0x200C,
        *range(0x2060, 0x2066),  # word joiner, invisible operators, U+2065
        *range(0x206A, 0x2070),  # deprecated format characters
        0xFEFF,
        0x180E,
        0x00AD,
        0x034F,
        0x115F,
        0x1160,
        0x3164,
        0xFFA0,
        0x17B4,
        0x17B5,
        *range(0xFFF9, 0xFFFC),  # interlinear annotation controls
        *range(0x1BCA0, 0x1BCA4),  # shorthand format controls
        *range(0x1D173, 0x1D17B),  # musical symbol format controls
        # tag characters: invisible, used to smuggle ASCII past a reader
        *range(0xE0000, 0xE0080),
        # noncharacters
        *range(0xFDD0, 0xFDF0),
        *(plane + low for plane in range(0, 0x110000, 0x10000) for low in (0xFFFE, 0xFFFF)),
    ]
    for code in invisible:
        table[code] = _placeholder(code)
    table[0x2028] = "\n"
    table[0x2029] = "\n"
    # lone surrogates cannot be encoded for the terminal
    for code in range(0xD800, 0xE000):
        table[code] = "\ufffd"
    return table


_TABLE: dict[int, str] = _build_table()
# ASCII-only input only ever needs these entries; a small table keeps the
# common case on CPython's fast path.
_ASCII_TABLE: dict[int, str] = {code: rep for code, rep in _TABLE.items() if code < 0x80}


def _char_class(codes: list[int]) -> str:
    """Regex character class matching exactly ``codes`` (collapsed into ranges)."""
    parts: list[str] = []
    codes = sorted(codes)
    start = prev = codes[0]
    for code in [*codes[1:], -1]:
        if code == prev + 1:
            prev = code
            continue
        first, last = re.escape(chr(start)), re.escape(chr(prev))
        parts.append(first if start == prev else f"{first}-{last}")
        start = prev = code
    return "[" + "".join(parts) + "]"


# Characters that may sit either side of a ZWJ in an emoji ZWJ sequence: the
# pictograph blocks (including skin tones and hair components), the arrows and
# dingbats used in sequences such as "head shaking" or "person walking right",
# and, before the ZWJ only, VS16. None of them is a letter, digit, space or mark.
_EMOJI = "\u2194-\u2199\u2600-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff"
# A ZWJ not between two emoji. Starts with the literal so the scan stays fast.
_STRAY_ZWJ_RE = re.compile(f"{_ZWJ}(?:(?<![{_EMOJI}\ufe0f]{_ZWJ})|(?![{_EMOJI}]))")
# One character class that finds every candidate sanitize() may change: the
# exact BMP entries of the table plus ZWJ, and a few coarse astral ranges (a
# long list of exact astral ranges makes the regex engine several times slower).
# A hit is only a candidate; the table and _STRAY_ZWJ_RE have the final word.
_SUSPECT_RE = re.compile(
    _char_class([code for code in _TABLE if code < 0x10000] + [ord(_ZWJ)])[:-1]
    + "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U0001fffe\U0001ffff"
    + "\U0002fffe-\U0010ffff]"
)


def sanitize(text: str | bytes | None) -> str:
    """Return ``text`` safe to display: no control, escape or invisible characters.

    Bytes are decoded as UTF-8 (invalid sequences, overlong forms and encoded
    surrogates become U+FFFD). ``None`` becomes ``""``. See the module
    docstring for the placeholder policy. Idempotent.
    """
    if text is None:
        return ""
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = bytes(text).decode("utf-8", errors="replace")
    elif not isinstance(text, str):
        raise TypeError(f"sanitize() expects str, bytes or None, not {type(text).__name__}")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if text.isascii():
        # CPython translates ASCII against a small table very quickly.
        return text.translate(_ASCII_TABLE)
    found = _SUSPECT_RE.search(text)
    if found is None:
        return text
    start = found.start()
    text = text[:start] + text[start:].translate(_TABLE)
    if _ZWJ in text:
        text = _STRAY_ZWJ_RE.sub(_ZWJ_PLACEHOLDER, text)
    return text


def sanitize_line(text: str | bytes | None) -> str:
    """Like :func:`sanitize`, for one-line fields (names, subjects, e-mails, previews).

    Newlines, tabs and any run of whitespace collapse to a single space and the
    result is stripped, so a field cannot push the layout onto extra lines or
    hide content behind a wall of blanks.
    """
    return " ".join(sanitize(text).split())


def clip(text: str, limit: int = DISPLAY_LIMIT) -> tuple[str, int]:
    """Return the first ``limit`` characters of ``text`` and how many were hidden.

    Rendering megabytes in a widget freezes the UI, so long texts are shown
    clipped with a "show the rest" key. The hidden count is 0 when nothing was
    cut. The cut never lands next to a ZERO WIDTH JOINER (it moves back a few
    characters instead), so an emoji sequence is not split into a stray,
    invisible joiner.
    """
    if limit < 0:
        raise ValueError("limit must be >= 0")
    if len(text) <= limit:
        return text, 0
    cut = limit
    floor = max(0, limit - 16)
    while cut > floor and (text[cut - 1] == _ZWJ or text[cut] == _ZWJ):
        cut -= 1
    return text[:cut], len(text) - cut


def is_clean(text: str) -> bool:
    """True when ``text`` contains nothing :func:`sanitize` would change."""
    for found in _SUSPECT_RE.finditer(text):
        char = found.group()
        if char == _ZWJ:
            if _STRAY_ZWJ_RE.match(text, found.start()):
                return False
        elif ord(char) in _TABLE:
            return False
    return True
