"""Input rules every part of the desk server shares: what an integer, an id and a date may be.

Python's `int()` reads `١`, `１`, `1_0` and ` 1`, and SQLite refuses integers past 2^63; a
timestamp with an offset near the year 9999 overflows when turned into UTC. Each rule lives
here once, so the REST layer, the cursors and the live feed's handshake refuse the same
things the same way (a 4xx, never an exception that reaches the error handler as a 500).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import msgspec

SQLITE_MAX = 2**63 - 1
SQLITE_MIN = -(2**63)
# The widest id a JSON client can hold without losing digits (the wire schema's `Id`).
MAX_ID = 2**53
_INTEGER = re.compile(r"-?[0-9]{1,19}")
_DIGITS = re.compile(r"-?[0-9]+")


# The shape the body decoder takes for a date-time, with the time zone a stored instant needs.
DATE_TIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:?[0-9]{2})$"
)


class BadInput(ValueError):
    """A value that breaks one of the rules; the message says which, for the client."""


def parse_int(
    text: str, *, name: str, low: int = SQLITE_MIN, high: int = SQLITE_MAX, clamp: bool = False
) -> int:
    """ASCII digits with an optional minus, within [low, high] (never wider than SQLite's).

    With `clamp`, a well-formed number out of range becomes the nearest bound instead."""
    if not _DIGITS.fullmatch(text) or len(text) > 64:
        raise BadInput(f"{name} must be an integer written in ASCII digits (at most 64)")
    low, high = max(low, SQLITE_MIN), min(high, SQLITE_MAX)
    if len(text.lstrip("-")) > 20:  # no int() of a 5,000-digit string
        value = low - 1 if text.startswith("-") else high + 1
    else:
        value = int(text)
    if not low <= value <= high:
        if clamp:
            return min(max(value, low), high)
        raise BadInput(f"{name} must be between {low} and {high}")
    return value


def is_id_text(text: str) -> bool:
    """True for an id as it may appear in a path or a search box: ASCII digits, in range."""
    return bool(_INTEGER.fullmatch(text)) and not text.startswith("-") and 1 <= int(text) <= MAX_ID


def check_dates(value: Any, path: str = "") -> None:
    """Every datetime inside a decoded body must have a UTC form (years 1 to 9999)."""
    if isinstance(value, datetime):
        try:
            value.astimezone(UTC)
        except (OverflowError, ValueError):
            raise BadInput(
                f"{path or 'date'}: out of range (it must fall within years 1-9999 in UTC)"
            ) from None
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            check_dates(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_dates(item, f"{path}[{index}]")


def error_body(code: str, message: str) -> bytes:
    """The protocol's error shape as bytes, for the answers written below Litestar (the feed's
    handshake, the connection guard)."""
    return json.dumps({"error": {"code": code, "message": message}}, separators=(",", ":")).encode()
