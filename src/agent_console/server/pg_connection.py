"""The desk server's connection to PostgreSQL, with the face the store programs against.

The store's domains are written once, in SQL both engines run (`INSERT ... ON CONFLICT`,
`RETURNING id`), against the small part of Python's sqlite3 connection they use: `execute`,
`executemany`, rows read by index or by column name, `BEGIN IMMEDIATE` ... `COMMIT`. This
class gives a psycopg 3 connection that face, so one store serves both engines and only the
few statements that truly differ (search, JSON lists, date arithmetic) ask `conn.dialect`.

What it changes on the way through, once per distinct statement (cached):
- `?` placeholders become psycopg's `%s` (and a literal `%` becomes `%%`);
- `LIKE ?` becomes `ILIKE ? ESCAPE ''`: SQLite's LIKE ignores ASCII case and has no escape
  character, PostgreSQL's LIKE is case-sensitive and takes backslash as one;
- `? IS NULL` casts the parameter to text: PostgreSQL cannot type a bare parameter there;
- `a IS ?` is `a IS NOT DISTINCT FROM ?`; `x IN ()` (an empty list) is FALSE;
- `:name` placeholders (a dict of parameters) become `%(name)s`;
- `INSERT OR IGNORE` / `INSERT OR REPLACE` become `ON CONFLICT DO NOTHING` / `DO UPDATE`.

`BEGIN IMMEDIATE` (SQLite: one writer at a time) becomes `BEGIN` plus a transaction-scoped
advisory lock held to commit: the desk's writes are one at a time across every server
process, as on SQLite. Each write transaction is short (no network I/O inside), so this costs
little, and it is what keeps the live feed's promise: a write's events take their seqs and
commit under the lock, so seqs commit in order and no reader skips one that commits later.
A process that freezes while holding the lock (SIGSTOP, a paused VM, a swap storm) must not
freeze the desk with it: PostgreSQL ends a write session idle inside a transaction for longer
than WRITE_HOLD_LIMIT seconds (its lock goes with it and its write fails as a whole), and a
write that waits longer than WRITE_WAIT_LIMIT seconds for the lock is a 503 `unavailable`.

Types: a NUL character in text is dropped (PostgreSQL's text cannot hold one); Python
booleans are stored as 0/1 (the schema's flags are integers, as on SQLite); `numeric` results
(PostgreSQL's sum and avg of integers) come back as int or float, never Decimal; integrity
violations raise sqlite3.IntegrityError, the store's one exception type.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.adapt import Dumper, Loader

from agent_console.server.db import DatabaseSettingInvalid
from agent_console.server.store_base import Unavailable

log = logging.getLogger("agent_console.server")

# "agentdsk": the advisory lock every write transaction holds (see the module docstring).
WRITE_LOCK = 0x6167656E7464736B - (1 << 63)
# Several processes starting at once must not run the same migration twice.
MIGRATION_LOCK = WRITE_LOCK + 1
# Seconds a write session may sit idle inside a transaction (a healthy process never does for
# more than milliseconds: store writes run without I/O between statements), and seconds a write
# may wait for the lock. The first must be well under the second, so a frozen holder is ended
# before the writers behind it give up. 0 turns a limit off.
WRITE_HOLD_LIMIT_ENV = "AGENT_CONSOLE_WRITE_HOLD_LIMIT"
WRITE_WAIT_LIMIT_ENV = "AGENT_CONSOLE_WRITE_WAIT_LIMIT"
WRITE_HOLD_LIMIT = 10.0
WRITE_WAIT_LIMIT = 20.0


def _limit(name: str, default: float) -> float:
    text = os.environ.get(name, "")
    try:
        value = float(text) if text.strip() else default
    except ValueError:
        value = -1.0
    if not value >= 0:  # also NaN
        raise DatabaseSettingInvalid(f"{name} must be a number of seconds (0 turns it off), not {text!r}")
    return value


_OR_IGNORE = re.compile(r"^\s*INSERT OR IGNORE INTO\b", re.IGNORECASE)
_OR_REPLACE = re.compile(r"^\s*INSERT OR REPLACE INTO\s+(\w+)\s*\(([^)]*)\)", re.IGNORECASE)
_RETURNING = re.compile(r"\sRETURNING\s", re.IGNORECASE)
# The conflict target of each table the store writes with INSERT OR REPLACE (its primary key).
_PRIMARY_KEYS = {
    "agent_schedules": ("agent_id",),
    "team_coverage": ("team_id",),
}
_LIKE = re.compile(r"\bLIKE (%s)", re.IGNORECASE)
# An empty list: SQLite takes `x IN ()` (false), PostgreSQL has no such syntax.
_EMPTY_IN = re.compile(r"[\w.]+ (NOT )?IN \(\)", re.IGNORECASE)
# SQLite's `a IS ?` / `a IS NOT ?` compare values with NULL as a value; PostgreSQL says DISTINCT.
_IS_VALUE = re.compile(r" IS (NOT )?(%s|%\(\w+\)s)", re.IGNORECASE)
_IS_NULL = re.compile(r"(?<![\w)])%s( IS (?:NOT )?NULL)\b", re.IGNORECASE)


# A quoted literal (kept as it is), a `?` placeholder, a `:name` placeholder (not a `::` cast), a `%`.
_TOKEN = re.compile(r"'(?:[^']|'')*'|\?|(?<!:):([A-Za-z_]\w*)|%")


@lru_cache(maxsize=2048)
def translate(sql: str) -> str:
    """The statement in psycopg's placeholder style, with the few rewrites above."""

    def token(match: re.Match[str]) -> str:
        text = match.group(0)
        if text == "?":
            return "%s"
        if text == "%":
            return "%%"
        if match.group(1):
            return f"%({match.group(1)})s"
        return text.replace("%", "%%")  # a literal: psycopg reads `%` there too

    text = _upsert(_TOKEN.sub(token, sql))
    text = _LIKE.sub(r"ILIKE \1 ESCAPE ''", text)
    text = _EMPTY_IN.sub(lambda m: "TRUE" if m.group(1) else "FALSE", text)
    text = _IS_VALUE.sub(lambda m: f" IS {'' if m.group(1) else 'NOT '}DISTINCT FROM {m.group(2)}", text)
    return _IS_NULL.sub(r"CAST(%s AS TEXT)\1", text)


def _upsert(text: str) -> str:
    """SQLite's INSERT OR IGNORE / OR REPLACE as PostgreSQL's ON CONFLICT."""
    if _OR_IGNORE.match(text):
        return _on_conflict(_OR_IGNORE.sub("INSERT INTO", text, count=1), "ON CONFLICT DO NOTHING")
    replace = _OR_REPLACE.match(text)
    if replace is None:
        return text
    table, columns = replace.group(1), [c.strip() for c in replace.group(2).split(",")]
    key = _PRIMARY_KEYS[table]  # KeyError: a new INSERT OR REPLACE needs its table's key here
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    text = text.replace("INSERT OR REPLACE INTO", "INSERT INTO", 1)
    return _on_conflict(text, f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}")


def _on_conflict(text: str, clause: str) -> str:
    text = text.rstrip().rstrip(";")
    returning = _RETURNING.search(text)
    if returning is None:
        return f"{text} {clause}"
    return f"{text[: returning.start()]} {clause}{text[returning.start() :]}"


class Row(tuple):  # noqa: SLOT001 - the subclasses made per column list carry the index
    """A result row read like sqlite3.Row: by position, by column name, `keys()`, `dict(row)`."""

    __slots__ = ()
    _index: dict[str, int] = {}

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


@lru_cache(maxsize=1024)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    return type("Row", (Row,), {"__slots__": (), "_index": {n: i for i, n in enumerate(names)}})


def _row_factory(cursor: Any) -> Any:
    names = tuple(c.name for c in cursor.description or ())
    cls = _row_class(names)
    return lambda values: cls(values)


class _BoolAsInt(Dumper):
    """Flags are integer columns (as on SQLite): True is stored as 1."""

    oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj: bool) -> bytes:
        return b"1" if obj else b"0"


class _NumericAsNumber(Loader):
    """sum() and avg() of integers are numeric on PostgreSQL: int when whole, else float."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        return float(text) if "." in text or "e" in text.lower() or text in ("NaN", "Infinity") else int(text)


def _configure(raw: psycopg.Connection[Any]) -> None:
    """Every session of the desk's: rows read like sqlite3.Row, the types as the store expects."""
    raw.row_factory = _row_factory
    raw.adapters.register_dumper(bool, _BoolAsInt)
    raw.adapters.register_loader("numeric", _NumericAsNumber)
    raw.execute("SET TIME ZONE 'UTC'")


def _values(params: Sequence[Any] | dict[str, Any] | None) -> tuple[Any, ...] | dict[str, Any]:
    """The parameters as psycopg takes them. PostgreSQL's text cannot hold a NUL character
    (SQLite's can): it is dropped, as the console's sanitizer drops it on screen anyway."""
    if isinstance(params, dict):
        return {k: v.replace("\0", "") if isinstance(v, str) and "\0" in v else v for k, v in params.items()}
    return tuple(v.replace("\0", "") if isinstance(v, str) and "\0" in v else v for v in params or ())


def _integrity(exc: psycopg.errors.IntegrityError) -> sqlite3.IntegrityError:
    error = sqlite3.IntegrityError(str(exc).splitlines()[0])
    error.__cause__ = exc
    return error


class PgConnection:
    """A psycopg connection behind the sqlite3-like face the store uses."""

    dialect = "postgresql"
    rowid = "ctid"  # a row's address within one transaction (seed.rebase_demo's single pass)

    def __init__(
        self, dsn: str, *, application_name: str = "agent-console", raw: psycopg.Connection[Any] | None = None
    ) -> None:
        self.dsn = dsn
        self.application_name = application_name
        self.raw = raw if raw is not None else self._connect()
        self._readers: Any = None
        self._readers_made = threading.Lock()  # reports start in worker threads

    def _connect(self) -> psycopg.Connection[Any]:
        raw = psycopg.connect(
            self.dsn,
            autocommit=True,  # statements outside BEGIN ... COMMIT commit on their own, as on SQLite
            application_name=self.application_name,
            connect_timeout=5,
        )
        _configure(raw)
        # Only the writing session: a report's snapshot (the reader pool) may think for a while.
        self.wait_limit = _limit(WRITE_WAIT_LIMIT_ENV, WRITE_WAIT_LIMIT)
        hold = _limit(WRITE_HOLD_LIMIT_ENV, WRITE_HOLD_LIMIT)
        raw.execute(f"SET idle_in_transaction_session_timeout = {int(hold * 1000)}")
        raw.execute(f"SET lock_timeout = {int(self.wait_limit * 1000)}")
        return raw

    @contextmanager
    def snapshot(self) -> Iterator[PgConnection]:
        """A read-only connection seeing one snapshot, from a small pool (a dashboard report
        reads for a while in a worker thread, beside this connection's writes)."""
        with self._readers_made:
            if self._readers is None:
                from psycopg_pool import ConnectionPool

                self._readers = ConnectionPool(
                    self.dsn,
                    min_size=0,
                    max_size=4,
                    kwargs={"autocommit": True, "application_name": f"{self.application_name} reader"},
                    configure=_configure,
                    open=True,
                )
        with self._readers.connection() as raw:
            raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield PgConnection(self.dsn, application_name=self.application_name, raw=raw)
            finally:
                raw.execute("ROLLBACK")

    def _reconnect(self) -> None:
        """A new session after the old one died (PostgreSQL restarted, a failover, the network):
        one try; while the database stays away each request says so (503) instead of a process
        stuck on a dead connection for good."""
        try:
            self.raw.close()
        except psycopg.Error:
            pass
        try:
            self.raw = self._connect()
        except psycopg.OperationalError as exc:
            raise Unavailable(f"the database is unavailable: {str(exc).strip().splitlines()[0]}") from exc
        log.warning("database connection lost; reconnected")

    # --- the sqlite3 face -------------------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] | None = ()) -> Any:
        upper = sql.lstrip()[:16].upper()
        if self.raw.broken or self.raw.closed:
            if upper.startswith("ROLLBACK"):
                return None  # the dead session's transaction died with it (the next statement reconnects)
            self._reconnect()
        if upper.startswith("BEGIN"):
            # Nothing is done yet: a session found dead here (PostgreSQL restarted since this
            # one was last used) is replaced and the write goes on.
            cursor = self._run("BEGIN", (), retry=True)
            if "IMMEDIATE" in upper:
                try:
                    self._run("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                except psycopg.errors.LockNotAvailable as exc:
                    self.raw.execute("ROLLBACK")
                    raise Unavailable(
                        f"the desk's write lock was not free for {self.wait_limit:g} s"
                        " (another server process is stalled inside a write); try again"
                    ) from exc
            return cursor
        return self._run(translate(sql), _values(params), retry=not self.in_transaction)

    def _run(self, sql: str, params: Any, *, retry: bool = False) -> psycopg.Cursor[Any]:
        try:
            return self.raw.execute(sql, params)
        except psycopg.errors.IntegrityError as exc:
            raise _integrity(exc) from exc
        except psycopg.Error as exc:
            # The session died: the server went, or it ended us (idle too long inside a write).
            if not self.raw.broken:
                raise
            # Outside a transaction a statement may go again on a new session; inside one, the
            # transaction is lost: the caller's write fails as a whole (and is not half done).
            if retry:
                self._reconnect()
                return self._run(sql, params)
            raise Unavailable(
                f"the database connection was lost: {str(exc).strip().splitlines()[0]}"
            ) from exc

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> psycopg.Cursor[Any]:
        cursor = self.raw.cursor()
        try:
            cursor.executemany(translate(sql), [_values(r) for r in rows])
        except psycopg.errors.IntegrityError as exc:
            raise _integrity(exc) from exc
        return cursor

    def close(self) -> None:
        if self._readers is not None:
            self._readers.close()
        self.raw.close()

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    # --- what differs between the engines ------------------------------------------------------

    def head_seq(self) -> int:
        """The newest event's seq (read under the write lock when a transaction appends)."""
        return self.raw.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]

    @staticmethod
    def json_values(expr: str, alias: str = "j") -> str:
        """A FROM item listing the JSON array `expr` as rows of one column, `alias`.value (text)."""
        return f"jsonb_array_elements_text(CAST({expr} AS jsonb)) AS {alias}(value)"

    def announce(self, seq: int) -> None:
        """Wake every process's feed (server/pg_feed.py) at commit: the log grew to `seq`."""
        from agent_console.server.pg_eventlog import FEED_CHANNEL

        self.raw.execute("SELECT pg_notify(%s, %s)", (FEED_CHANNEL, str(seq)))
