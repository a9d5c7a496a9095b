"""The desk server's log: no token in any line at any level, no query strings, no floods.

Every handler the server logs through carries two filters:
- Redact: bearer tokens (`acd_…`), `Authorization`/`Bearer` values and `token=`-style
  parameters become `[redacted]`, in the message, its arguments and any traceback. At
  `--log-level debug` the websocket library logs every handshake header through uvicorn's
  logger; those lines pass the same filter.
- Query strings are cut from access-log and websocket lines (`GET /api/v1/kb/search` and
  not what was searched or a token someone put in the URL).
- RateLimit: one kind of warning or error (the same logger and message template) at most
  `burst` times a minute; the rest are counted and the count is reported with the next line let through.
  Anyone can send a request that is refused, so a refusal must not cost a disk.
"""

from __future__ import annotations

import copy
import logging
import re
import time
from typing import Any

from uvicorn.config import LOGGING_CONFIG

REDACTED = "[redacted]"
_SECRETS = [
    re.compile(r"acd_[A-Za-z0-9_\-]+"),
    re.compile(r"(?i)(bearer\s+)[^\s'\",;]+"),
    re.compile(r"(?i)(authorization\s*[:=]\s*)(?!bearer\b)[^\s'\",;]+"),
    re.compile(r"(?i)((?:api_access_|access_|auth_|id_)?token=)[^&\s'\"]+"),
]
# `"GET /path?query HTTP/1.1"` in access lines, `"WebSocket /path?query"` in websocket lines.
_QUERY = re.compile(r"(\"(?:[A-Z]+|WebSocket) /[^\s?\"]*)\?[^\s\"]*")


def redact(text: str) -> str:
    for pattern in _SECRETS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
    return _QUERY.sub(r"\1", text)


class RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            # The access formatter takes its fields from args: redact them in place.
            client, method, path, version, status = record.args
            record.args = (client, method, redact(str(path).partition("?")[0]), version, status)
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format must still not leak its arguments
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info:
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RateLimitFilter(logging.Filter):
    """At most `burst` lines of one kind per `window` seconds; the rest are counted."""

    def __init__(self, burst: int = 10, window: float = 60.0) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self.kinds: dict[tuple[str, str], list[float]] = {}  # kind -> [window start, count, dropped]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True  # access and debug lines are what the operator asked for
        kind = (record.name, str(record.msg)[:120])
        now = time.monotonic()
        state = self.kinds.get(kind)
        if state is None or now - state[0] >= self.window:
            dropped = int(state[2]) if state else 0
            if len(self.kinds) > 1000:
                self.kinds.clear()  # many kinds at once: forget old counts rather than grow
            self.kinds[kind] = [now, 1, 0]
            if dropped:
                record.msg = f"{record.msg} ({dropped} more like this in the last minute were not logged)"
            return True
        if state[1] < self.burst:
            state[1] += 1
            return True
        state[2] += 1
        return False


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging setup with the two filters on every handler, and the server's own
    logger (`agent_console.server`) going to the same place."""
    config = copy.deepcopy(LOGGING_CONFIG)
    # The rate limit runs first and sees the template (record.msg before formatting), so
    # every request's line of one kind counts as the same kind.
    config["filters"] = {
        "ratelimit": {"()": "agent_console.server.logs.RateLimitFilter"},
        "redact": {"()": "agent_console.server.logs.RedactFilter"},
    }
    for handler in config["handlers"].values():
        handler["filters"] = ["ratelimit", "redact"]
    # Whatever else logs (asyncio, the framework) goes through the same filters.
    config["root"] = {"handlers": ["default"], "level": "WARNING"}
    config["loggers"]["agent_console.server"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    return config
