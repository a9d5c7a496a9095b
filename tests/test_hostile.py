"""What an attacker (or an unlucky script) sends to the desk server, and what must come back.

Every case runs against the real server (a child process on a loopback port, a seeded
database) and asserts a clear 4xx in the error shape {"error": {"code", "message"}} -- never
a 500 -- and a database that did not change: the whole SQL dump is compared before and after
each group. The classes: Litestar's docs pages without a token, ids that are not ASCII digits
or not in SQLite's range, integers written loosely, search text that looks like a number,
forged cursors, nesting past the decoder's depth, dates with no UTC form, oversized bodies,
half-sent requests (slowloris) and slow bodies, a log flood, tokens in logs.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import sqlite3
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from agent_console.server.process import ServerProcess
from tests.conftest import ENGINES, Desk, add_agent

DESK_ENGINES = ENGINES  # the desk server on SQLite and on PostgreSQL

# Short limits so the slowloris cases take seconds (the defaults are 10 s and 30 s).
LIMITS = {
    "AGENT_CONSOLE_HEADER_TIMEOUT": "1",
    "AGENT_CONSOLE_BODY_TIMEOUT": "1",
    "AGENT_CONSOLE_MAX_CONNECTIONS": "40",
}


class LoggedServer(ServerProcess):
    """A desk server whose stdout (uvicorn's access log) is kept for the test to read."""

    stdout_lines: list[str]

    def _drain_stdout(self) -> None:
        self.stdout_lines = []
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.stdout_lines.append(line)


def start(db: Path, *, env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> Desk:
    # Seeded as of now with the SLA schedule held: the dumps compare what requests did, not
    # what the clock did (a breach firing mid-test is a change, but not the request's).
    held = ("--demo-now", datetime.now(UTC).isoformat())
    server = LoggedServer(db, demo=True, env=env, extra_args=(*held, *args))
    server.start()
    admin = add_agent(db, name="Hostile Admin", email="admin@hostile.example", role="admin")
    agent = add_agent(db, name="Hostile Agent", email="agent@hostile.example")
    return Desk(server.url, db, admin, agent, server)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    desk = start(tmp_path_factory.mktemp("hostile") / "desk.db", env=LIMITS)
    yield desk
    desk.server.stop()
    # Nothing in this module may have reached the error handler's "unhandled" path.
    log = "".join(desk.server.stderr_lines)
    assert "Traceback" not in log and "unhandled error" not in log, log[-3000:]


def dump(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


class Unchanged:
    """`with Unchanged(desk):` -- the database's full dump is the same afterwards."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def __enter__(self) -> None:
        self.before = dump(self.desk.db)

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            assert dump(self.desk.db) == self.before, "a refused request changed the database"


def refused(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.request.url, response.status_code, response.text)
    error = response.json()["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    if code:
        assert error["code"] == code, error
    return error


def address(desk: Desk) -> tuple[str, int]:
    host, port = desk.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def raw(desk: Desk, data: bytes, *, wait: float = 10.0) -> bytes:
    """Send bytes as they are, read until the server closes or stops talking."""
    with socket.create_connection(address(desk), timeout=wait) as sock:
        sock.sendall(data)
        return read_all(sock, wait)


def read_all(sock: socket.socket, wait: float) -> bytes:
    sock.settimeout(wait)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return received


# --- routes nobody asked for -------------------------------------------------------------

DOCS = [
    "/api/v1/docs",
    "/api/v1/docs/",
    "/api/v1/docs/swagger",
    "/api/v1/docs/redoc",
    "/api/v1/docs/elements",
    "/api/v1/docs/rapidoc",
    "/api/v1/docs/openapi.yaml",
    "/api/v1/docs/openapi.yml",
    "/api/v1/docs/openapi.json",
    "/api/v1/docs/oauth2-redirect.html",
    "/api/v1/docs/anything/else",
    "/docs/swagger",
    "/redoc",
    "/elements",
    "/rapidoc",
    "/openapi.yaml",
    "/openapi.yml",
    "/schema",
]


def test_docs_pages_without_a_token_are_a_clean_404(hostile: Desk) -> None:
    anonymous = httpx.Client(base_url=hostile.url, timeout=10)
    with Unchanged(hostile):
        for path in DOCS:
            refused(anonymous.get(path), 404, "not_found")
            refused(hostile.client(hostile.admin_token).get(hostile.url + path), 404, "not_found")
    # The document itself is where the README says it is.
    assert anonymous.get("/api/v1/openapi.json").json()["openapi"].startswith("3.")


# --- ids -----------------------------------------------------------------------------------

NOT_IDS = [
    "١",  # Arabic-Indic one: int() reads it as 1
    "%EF%BC%91",  # fullwidth one, percent-encoded
    "１",
    "1_0",  # int() reads it as 10
    "+1",
    "-1",
    "1.0",
    "0x1",
    "9223372036854775808",  # 2^63: past SQLite's integers
    "99999999999999999999999",
    "9" * 5000,
]


def test_ids_are_ascii_digits_in_range_or_nothing(hostile: Desk) -> None:
    anonymous = httpx.Client(base_url=hostile.url, timeout=10)
    with Unchanged(hostile):
        for text in NOT_IDS:
            for path in (
                f"/conversations/{text}",
                f"/conversations/{text}/messages",
                f"/contacts/{text}",
                f"/kb/articles/{text}",
            ):
                response = hostile.agent.get(path)
                assert response.status_code in (404, 422), (path, response.status_code)
                refused(response, response.status_code)
            # The public help-center page, without a token.
            response = anonymous.get(f"/kb/{text}")
            assert response.status_code == 404, (text, response.status_code, response.text[:200])
            # Writes refuse the same way and store nothing.
            response = hostile.agent.post(f"/conversations/{text}/messages", json={"body": "x"})
            refused(response, response.status_code)
            assert response.status_code in (404, 422)
    # The same ids in plain digits work (the rule refuses forms, not conversations).
    assert hostile.agent.get("/conversations/1").status_code == 200
    assert hostile.agent.get("/conversations/01").json()["id"] == 1


LOOSE_INTEGERS = ["١", "1_0", "1.0", "+1", " 1", "1 ", "0x10", "1e2", "", "9" * 30, "-" + "9" * 30]


def test_integer_query_parameters_take_ascii_digits_only(hostile: Desk) -> None:
    with Unchanged(hostile):
        for value in LOOSE_INTEGERS:
            for name, path in (
                ("limit", "/conversations"),
                ("contact_id", "/conversations"),
                ("limit", "/contacts"),
                ("after", "/conversations/1/messages"),
                ("limit", "/kb/search?q=refund&"),
            ):
                joiner = "" if path.endswith("&") else "?"
                response = hostile.agent.get(f"{path}{joiner}{name}={quote(value)}")
                error = refused(response, 422, "validation_failed")
                assert error.get("field") == name, (name, value, error)
        refused(hostile.agent.get("/conversations/1/messages?after=-1"), 422)


def test_search_text_that_looks_like_a_number_is_just_text(hostile: Desk) -> None:
    with Unchanged(hostile):
        for text in ("²", "①", "١", "１", "1" * 20, "9" * 25, "9223372036854775808", "-1", "1_0"):
            response = hostile.agent.get("/conversations", params={"q": text, "status": "all"})
            assert response.status_code == 200, (text, response.text)
            assert isinstance(response.json()["items"], list)
    # A real id still finds its conversation (among the pages of everything else matching "1").
    found: list[int] = []
    params = {"q": "1", "status": "all", "limit": 200}
    while True:
        page = hostile.agent.get("/conversations", params=params).json()
        found += [c["id"] for c in page["items"]]
        if 1 in found or not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    assert 1 in found


def test_forged_cursors_are_refused(hostile: Desk) -> None:
    forged = [
        base64.urlsafe_b64encode(b"2026-01-01T00:00:00.000000Z|9223372036854775808").decode(),
        base64.urlsafe_b64encode(b"x|\xd9\xa1".decode("latin-1").encode()).decode(),
        "00000000000000000000-99999999999999999",  # an id past 16 digits
        "0000000000000000000-1",
        "00000000000000000000-",
        "00000000000000000000-١",
        "garbage!",
        "00000000000000000000-1\n",
    ]
    with Unchanged(hostile):
        for cursor in forged:
            refused(hostile.agent.get("/conversations", params={"cursor": cursor}), 422, "validation_failed")
    # What the server issues still pages.
    page = hostile.agent.get("/conversations", params={"status": "all", "limit": 5}).json()
    following = hostile.agent.get(
        "/conversations", params={"status": "all", "limit": 5, "cursor": page["next_cursor"]}
    )
    assert following.status_code == 200 and following.json()["items"]


# --- bodies --------------------------------------------------------------------------------


def test_deep_nesting_is_a_400_not_a_crash(hostile: Desk) -> None:
    with Unchanged(hostile):
        for depth in (1000, 5000, 100_000):
            for body in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
                response = hostile.agent.patch(
                    "/me", content=body, headers={"content-type": "application/json"}
                )
                refused(response, 400, "too_deep")
        # Shallow enough to decode: an ordinary schema refusal.
        refused(hostile.agent.patch("/me", content="[" * 100 + "]" * 100), 422)


def test_numbers_outside_what_an_id_can_be_are_refused(hostile: Desk) -> None:
    with Unchanged(hostile):
        # Past what a float can hold: not a number this JSON decoder carries.
        content = '{"body": "x", "last_seen_message_id": 1e400}'
        response = hostile.agent.post(
            "/conversations/1/messages", content=content, headers={"content-type": "application/json"}
        )
        refused(response, 400, "malformed_json")
        for value in ("-1", "0", "1.5", '"1"', "true", str(2**63), str(2**64 + 1), "1e300"):
            content = f'{{"body": "x", "last_seen_message_id": {value}}}'
            response = hostile.agent.post(
                "/conversations/1/messages", content=content, headers={"content-type": "application/json"}
            )
            refused(response, 422, "validation_failed")
            content = f'{{"conversation_id": {value}, "active": true}}'
            response = hostile.admin.post(
                "/inbound/typing", content=content, headers={"content-type": "application/json"}
            )
            refused(response, 422, "validation_failed")
    # A whole number written as a float is that number (JSON Schema says so).
    response = hostile.admin.post("/inbound/typing", json={"conversation_id": 1.0, "active": False})
    assert response.status_code == 204


OUT_OF_RANGE_DATES = [
    "9999-12-31T23:59:59-23:59",  # past year 9999 in UTC
    "0001-01-01T00:00:00+23:59",  # before year 1 in UTC
    "9999-12-31T23:59:59.999999-00:01",
    "10000-01-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-01-01T24:00:00Z",
    "2026-01-01T00:00:00",  # no time zone
    "",
]


def test_dates_without_a_utc_form_are_refused(hostile: Desk) -> None:
    with Unchanged(hostile):
        for moment in OUT_OF_RANGE_DATES:
            response = hostile.agent.patch("/conversations/2", json={"snoozed_until": moment})
            error = refused(response, 422, "validation_failed")
            assert "snoozed_until" in (error.get("field") or "") + error["message"], (moment, error)


def test_a_body_over_the_limit_says_its_size_and_the_limit(hostile: Desk) -> None:
    with Unchanged(hostile):
        big = {"body": "x" * (1100 * 1024)}
        error = refused(hostile.agent.post("/conversations/1/messages", json=big), 413, "payload_too_large")
        assert "the limit is 1,024 KB" in error["message"] and "1,048,576 bytes" in error["message"], error
        assert "1,101 KB" in error["message"], error  # the size sent, rounded up

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            for _ in range(20):
                yield b"x" * 65536

        error = refused(
            hostile.agent.post("/conversations/1/messages", content=chunks()), 413, "payload_too_large"
        )
        assert "the limit is 1,024 KB" in error["message"]


def test_malformed_json_and_wrong_shapes(hostile: Desk) -> None:
    with Unchanged(hostile):
        for content in ("{", "nul", '{"presence": "online"', "\xff", '{"presence": "online"} x'):
            refused(hostile.agent.patch("/me", content=content), 400, "malformed_json")
        for body in ([], "online", {"presence": None}, {"presence": "online", "extra": 1}):
            refused(hostile.agent.patch("/me", json=body), 422, "validation_failed")


def test_options_lists_every_method_of_the_path(hostile: Desk) -> None:
    for path, methods in (
        ("/me", {"GET", "PATCH", "OPTIONS"}),
        ("/conversations/1", {"GET", "PATCH", "OPTIONS"}),
        ("/conversations/1/messages", {"GET", "POST", "OPTIONS"}),
        ("/inbound", {"POST", "OPTIONS"}),
    ):
        response = hostile.agent.options(path)
        assert response.status_code == 204
        assert {m.strip() for m in response.headers["allow"].split(",")} == methods, path
        refused(hostile.agent.delete(path), 405, "method_not_allowed")


def test_the_feed_handshake_takes_ascii_digits_only(hostile: Desk) -> None:
    url = hostile.url.replace("http://", "ws://") + "/api/v1/events?since="
    for since in ("1_0", quote("١"), quote("１"), "0x10", "1.0", "+1", "9" * 100):
        with pytest.raises(InvalidStatus) as caught:
            connect(url + since, additional_headers={"Authorization": f"Bearer {hostile.agent_token}"})
        assert caught.value.response.status_code == 400, since


# --- connections -----------------------------------------------------------------------------


def test_half_sent_requests_time_out_and_the_server_keeps_answering(hostile: Desk) -> None:
    """Slowloris: more half-open connections than the cap (40 here), each with a request
    head that never ends. The server answers others throughout and sheds the half-open ones:
    408 for those that started a request once the (1 s) deadline passes, or closed when a
    newcomer needs the room."""
    held: list[socket.socket] = []
    auth = {"Authorization": f"Bearer {hostile.agent_token}"}

    def answers_me() -> int:  # another client, on a connection of its own each time
        return httpx.get(f"{hostile.api}/me", headers=auth, timeout=10).status_code

    try:
        for _ in range(60):
            sock = socket.create_connection(address(hostile), timeout=10)
            sock.sendall(b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            held.append(sock)
            assert answers_me() == 200
        deadline = time.monotonic() + 15  # a bound on the wait, not a speed check
        answers = [read_all(sock, max(0.1, deadline - time.monotonic())) for sock in held]
    finally:
        for sock in held:
            sock.close()
    for answer in answers:
        # Evicted (closed, nothing owed) or timed out with a 408 in the error shape.
        assert answer == b"" or answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        if answer:
            assert b'"code":"request_timeout"' in answer
    assert any(answers), "no half-open connection was ever timed out"
    assert answers_me() == 200


def test_a_silent_connection_is_closed_and_a_slow_body_gets_408(hostile: Desk) -> None:
    with Unchanged(hostile):
        # Connected, sent nothing: closed after the head deadline, nothing owed.
        assert raw(hostile, b"") == b""
        # A body promised and not sent.
        head = (
            f"PATCH /api/v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {hostile.agent_token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        ).encode()
        answer = raw(hostile, head)
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        assert b'"code":"request_timeout"' in answer


def test_garbage_requests_do_not_flood_the_log(hostile: Desk) -> None:
    before = len(hostile.server.stderr_lines)
    for _ in range(60):
        answer = raw(hostile, b"\x16\x03\x01 this is not HTTP\r\n\r\n", wait=5)
        assert answer.startswith(b"HTTP/1.1 400 ") and b'"code":"bad_request"' in answer, answer[:200]
    assert hostile.agent.get("/me").status_code == 200
    deadline = time.monotonic() + 10
    lines: list[str] = []
    while time.monotonic() < deadline:
        lines = [line for line in hostile.server.stderr_lines[before:] if "Invalid HTTP request" in line]
        if lines:
            break
        time.sleep(0.1)
    assert 1 <= len(lines) <= 10, lines  # a burst of ten a minute at most, then counted


# --- logs, files, restarts ------------------------------------------------------------------


def test_tokens_and_query_strings_never_reach_the_log(tmp_path: Path) -> None:
    desk = start(tmp_path / "desk.db", args=("--log-level", "debug"))
    try:
        assert desk.agent.get("/me", params={"token": "acd_in_the_query"}).status_code == 422
        assert desk.agent.get("/kb/search", params={"q": "secret-search-words"}).status_code == 200
        with connect(
            desk.url.replace("http://", "ws://") + "/api/v1/events?since=0&x=acd_query_token",
            additional_headers={"Authorization": f"Bearer {desk.agent_token}"},
        ) as feed:
            feed.recv(timeout=10)
        refused(desk.client("acd_not_a_real_token").get("/me"), 401)
    finally:
        desk.server.stop()
    access = "".join(desk.server.stdout_lines)
    log = "".join(desk.server.stderr_lines) + access
    assert "authorization: Bearer [redacted]" in log  # the debug lines are there, redacted
    assert '"GET /api/v1/kb/search HTTP/1.1" 200' in access  # the access line, without its query
    for secret in (
        desk.agent_token,
        desk.admin_token,
        "acd_in_the_query",
        "acd_query_token",
        "acd_not_a_real_token",
        "secret-search-words",
    ):
        assert secret not in log, secret


def test_database_files_are_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    from agent_console.client.localdb import open_local

    old = os.umask(0o022)
    try:
        db = tmp_path / "new" / "deeper" / "desk.db"
        server = ServerProcess(db, demo=True)
        server.start()
        try:
            add_agent(db, name="Mode Check", email="mode@hostile.example")
            local = open_local(tmp_path / "console" / "local.db")
            local.execute("CREATE TABLE t (x)")
            local.execute("INSERT INTO t VALUES (1)")
            for path in (
                db,
                Path(f"{db}-wal"),
                Path(f"{db}-shm"),
                tmp_path / "console" / "local.db",
                tmp_path / "console" / "local.db-wal",
                tmp_path / "console" / "local.db-shm",
            ):
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
            for folder in (tmp_path / "new", tmp_path / "new" / "deeper", tmp_path / "console"):
                assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
            local.close()
        finally:
            server.stop()
        # An existing world-readable database is tightened when the server opens it.
        os.chmod(db, 0o644)
        with ServerProcess(db, demo=False):
            assert stat.S_IMODE(db.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_presence_is_offline_after_a_crash(tmp_path: Path) -> None:
    desk = start(tmp_path / "desk.db")
    try:
        assert desk.agent.patch("/me", json={"presence": "busy"}).json()["presence"] == "busy"
        assert desk.server.proc is not None
        os.kill(desk.server.proc.pid, signal.SIGKILL)  # no clean shutdown, no disconnects
        desk.server.proc.wait(10)
        conn = sqlite3.connect(desk.db)
        assert (
            conn.execute("SELECT presence FROM agents WHERE email = 'agent@hostile.example'").fetchone()[0]
            == "busy"
        )
        conn.close()
        desk.server.start()
        agents = httpx.get(
            f"{desk.server.url}/api/v1/agents", headers={"Authorization": f"Bearer {desk.admin_token}"}
        ).json()["items"]
        assert {a["email"]: a["presence"] for a in agents}["agent@hostile.example"] == "offline"
        assert all(a["presence"] == "offline" for a in agents)
    finally:
        desk.server.stop()
