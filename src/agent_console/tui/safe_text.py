"""The only way the TUI turns untrusted strings into renderables.

Text from customers and the knowledge base must reach the screen as literal
characters. Two things stand in the way, and this module handles both:

* Control characters and escape sequences. Rich ``Text`` and Textual
  ``Content`` only strip BEL, BS, VT, FF and CR; ESC, C1 controls (8-bit CSI
  U+009B) and bidi overrides are written to the terminal as they are. So the
  text goes through :func:`agent_console.core.sanitize.sanitize` first.
* Markup. A ``str`` handed to ``Static``, ``Label``, ``Text.from_markup``,
  ``Content.from_markup``, ``Content.from_text`` or ``Content.from_rich_text``
  is parsed as markup: ``[@click=app.quit]`` becomes a clickable action,
  ``[link=...]`` an OSC 8 hyperlink, ``:warning:`` an emoji, and an unbalanced
  ``[/]`` raises ``MarkupError``. The builders here construct ``Text`` and
  ``Content`` straight from the plain string, so brackets stay brackets.

Pass the results to widgets as they are (a ``Text`` or ``Content`` is never
re-parsed); never pass the untrusted ``str`` itself. ``style`` is applied to the
whole text and must come from our code, never from untrusted data.
"""

from __future__ import annotations

from rich.style import Style as RichStyle
from rich.text import Text
from textual.content import Content
from textual.style import Style as TextualStyle

from agent_console.core.sanitize import sanitize, sanitize_line

__all__ = ["untrusted", "untrusted_content", "untrusted_line"]


def untrusted(text: str | bytes | None, style: str | RichStyle = "") -> Text:
    """Sanitized, unparsed Rich ``Text`` for a multi-line untrusted string."""
    return Text(sanitize(text), style=style)


def untrusted_line(text: str | bytes | None, style: str | RichStyle = "") -> Text:
    """Sanitized, unparsed Rich ``Text`` for a one-line field (name, subject, e-mail)."""
    return Text(sanitize_line(text), style=style)


def untrusted_content(text: str | bytes | None, style: str | TextualStyle | RichStyle = "") -> Content:
    """Sanitized, unparsed Textual ``Content`` for a multi-line untrusted string."""
    if isinstance(style, RichStyle):
        style = TextualStyle.from_rich_style(style)
    return Content.styled(sanitize(text), style)
