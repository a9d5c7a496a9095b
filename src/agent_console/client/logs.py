"""Logging that never writes a token.

The console's tokens start with `acd_`; other help desks send theirs in an
`Authorization: Bearer ...` header (or Chatwoot's `api_access_token`). httpx, httpcore and
websockets log request headers at debug level, and an exception can quote anything, so
redaction happens on every record that reaches our handlers: the message (after `%`
formatting of its args), the formatted traceback and the stack info. `setup_logging`
also redacts the final formatted line, so a custom formatter cannot reintroduce one.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

REDACTED = "[redacted]"

_PATTERNS = (
    # Our own tokens, wherever they appear (a header, a repr of bytes, a URL, an error).
    re.compile(r"acd_[A-Za-z0-9_\-]+"),
    # Any bearer credential: `Authorization: Bearer x`, `'authorization': 'Bearer x'`,
    # `(b'Authorization', b'Bearer x')`.
    re.compile(r"(?i)(\bbearer\s+)(?!\[redacted\])[^\s'\",;)\]}]+"),
    # Chatwoot-style header or parameter.
    re.compile(r"(?i)(api[_-]access[_-]token['\"]?\s*[:=,]\s*b?['\"]?)(?!\[redacted\])[^\s'\",;)\]}]+"),
)


def redact(text: str) -> str:
    """`text` with every token-looking value replaced by `[redacted]`."""
    if not text:
        return text
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record so nothing token-like survives in it. Attach it to handlers
    (a handler filter sees the records of every logger below the one it is on)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what we can, redacted
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RedactingFormatter(logging.Formatter):
    """A formatter whose output is redacted once more, whatever went into it."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(path: Path | str, level: int | str = logging.INFO) -> logging.Handler:
    """Send all logging (ours, httpx, websockets, ...) to `path`, redacted.

    Returns the handler; remove it with `teardown_logging(handler)`.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(target, encoding="utf-8")
    handler.setLevel(level)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(RedactingFormatter(FORMAT))
    root = logging.getLogger()
    handler._previous_level = root.level  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def teardown_logging(handler: logging.Handler) -> None:
    """Undo `setup_logging`: remove the handler, restore the root level."""
    root = logging.getLogger()
    root.removeHandler(handler)
    root.setLevel(getattr(handler, "_previous_level", root.level))
    handler.close()
