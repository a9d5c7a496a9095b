"""`convs` and `conv ID VERB` end to end against both help desks: the real desk server and the
Chatwoot emulator (the `helpdesk` fixture, tests/backends.py), each run checked against the help
desk's own record.

Most runs are in-process (typer's CliRunner through the same root group that maps errors
to exit codes); a few run the real `python -m agent_console` child to prove it matches.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest

from agent_console.core.models import Conversation
from tests.backends import Helpdesk
from tests.cli_support import base_env, invoke, run_cli
from tests.conftest import Desk


@pytest.fixture
def env(helpdesk: Helpdesk, tmp_path: Path) -> dict[str, str | None]:
    return helpdesk.env(tmp_path)


def new_conversation(
    helpdesk: Helpdesk, body: str = "My eSIM will not activate", name: str = "Cli Customer"
) -> int:
    """An email from a customer, with a subject."""
    return helpdesk.new_customer(body, name=name, subject=f"CLI test {uuid.uuid4().hex[:6]}")[0]


# --- convs ----------------------------------------------------------------------------------


def test_convs_json_is_the_wire_list(helpdesk: Helpdesk, env: dict) -> None:
    ran = invoke("convs", "--output", "json", "--limit", "20", env=env)
    assert ran.code == 0, ran
    items = ran.json()
    assert [c["id"] for c in items] == helpdesk.listed("open", 20)  # the help desk's own order
    wire = {field.encode_name for field in msgspec.structs.fields(Conversation)}
    assert set(items[0]) == wire  # the wire object, every field


def test_convs_filters_and_paging(helpdesk: Helpdesk, env: dict) -> None:
    helpdesk.ensure_conversations("all", 60)  # more than one page of 50
    everything = invoke("convs", "--status", "all", "--all-pages", "-q", env=env)
    assert everything.code == 0, everything
    ids = [int(line) for line in everything.stdout.split()]
    assert len(ids) == len(set(ids)) == helpdesk.count("all") > 50  # beyond one 50-item page
    limited = invoke("convs", "--status", "all", "--limit", "120", "-q", env=env)
    assert [int(x) for x in limited.stdout.split()] == ids[:120]

    pending = invoke("convs", "--status", "pending,snoozed", "-o", "json", "--all-pages", env=env)
    assert {c["status"] for c in pending.json()} == {"pending", "snoozed"}
    repeated = invoke("convs", "--status", "pending", "--status", "snoozed", "-q", "--all-pages", env=env)
    assert repeated.stdout.split() == [str(c["id"]) for c in pending.json()]

    unassigned = invoke("convs", "--view", "unassigned", "-o", "json", "--all-pages", env=env)
    assert unassigned.json() and all(c["assignee"] is None for c in unassigned.json())
    urgent = invoke("convs", "--view", "urgent", "-o", "json", env=env)
    # Urgent priority, or due within the urgent window (15 minutes), late ones included.
    horizon = datetime.now(UTC) + timedelta(minutes=16)
    assert all(
        c["priority"] == "urgent" or (c["due_at"] and datetime.fromisoformat(c["due_at"]) <= horizon)
        for c in urgent.json()
    )

    label = next(c["labels"][0] for c in pending.json() + unassigned.json() if c["labels"])
    labelled = invoke("convs", "--status", "all", "--label", label, "-o", "json", env=env)
    assert labelled.json() and all(label in c["labels"] for c in labelled.json())

    marker = uuid.uuid4().hex[:10]
    conv_id = new_conversation(helpdesk, body=f"zebra {marker} refund")
    found = invoke("convs", "--query", marker, "-q", env=env)
    assert found.stdout.split() == [str(conv_id)]


def test_convs_text_and_csv(helpdesk: Helpdesk, env: dict) -> None:
    helpdesk.ensure_conversations("open", 5)
    text = invoke("convs", "--limit", "5", env=env)
    assert text.code == 0
    lines = text.stdout.splitlines()
    assert lines[0].split()[:4] == ["ID", "STATUS", "PRIORITY", "DUE"]
    assert len(lines) == 6
    assert "\x1b" not in text.stdout  # plain when piped

    out = invoke("convs", "--limit", "5", "-o", "csv", env=env)
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert len(rows) == 5
    assert {"id", "status", "contact_name", "assignee_id", "labels", "due_at"} <= set(rows[0])
    wire = invoke("convs", "--limit", "5", "-o", "json", env=env).json()
    assert [int(r["id"]) for r in rows] == [c["id"] for c in wire]
    assert rows[0]["contact_name"] == wire[0]["contact"]["name"]


def new_chat_with_a_note_last(helpdesk: Helpdesk) -> tuple[int, str, str, str]:
    """A chat (no subject): the customer writes, the agent replies, then adds a private note."""
    marker = uuid.uuid4().hex[:10]
    conv_id, _ = helpdesk.new_customer(f"my roaming {marker} stopped", name="Chat Customer")
    reply, note = f"Restart the phone please {marker}", f"PRIVATE suspect fraud {marker}"
    helpdesk.agent_writes(conv_id, reply)
    helpdesk.agent_writes(conv_id, note, private=True)
    return conv_id, marker, reply, note


def test_chat_rows_show_the_last_visible_message_never_a_note(helpdesk: Helpdesk, env: dict) -> None:
    conv_id, marker, reply, note = new_chat_with_a_note_last(helpdesk)
    wire = invoke("convs", "--query", marker, "-o", "json", env=env).json()
    assert [c["id"] for c in wire] == [conv_id]
    assert wire[0]["subject"] is None and wire[0]["last_message"]["body"] == note  # JSON: the wire

    text = invoke("convs", "--query", marker, env=env)
    assert text.code == 0, text
    header, row = text.stdout.splitlines()
    assert header.split()[-1] == "SUMMARY"
    assert row.endswith(reply) and "PRIVATE" not in text.stdout

    rows = list(csv.DictReader(io.StringIO(invoke("convs", "--query", marker, "-o", "csv", env=env).stdout)))
    assert len(rows) == 1 and "PRIVATE" not in str(rows)
    assert rows[0]["subject"] == "" and rows[0]["summary"] == reply
    assert (rows[0]["last_message_kind"], rows[0]["last_message"]) == ("outgoing", reply)
    assert int(rows[0]["last_message_id"]) < wire[0]["last_message"]["id"]

    detail = invoke("conv", str(conv_id), env=env).stdout
    assert f"[outgoing] {reply}" in detail and "PRIVATE" not in detail
    one = list(csv.DictReader(io.StringIO(invoke("conv", str(conv_id), "-o", "csv", env=env).stdout)))
    assert one[0]["last_message"] == reply and one[0]["summary"] == reply
    written = invoke("conv", str(conv_id), "priority", "high", "-o", "csv", env=env).stdout
    assert reply in written and "PRIVATE" not in written
    assert invoke("conv", str(conv_id), "-o", "json", env=env).json()["last_message"]["body"] == note


def test_convs_csv_last_message_is_data_when_piped(helpdesk: Helpdesk, env: dict) -> None:
    marker = uuid.uuid4().hex[:10]
    body = f"line one {marker}\nline two \x1b[31mred"
    conv_id = new_conversation(helpdesk, body=body)
    rows = list(csv.DictReader(io.StringIO(invoke("convs", "--query", marker, "-o", "csv", env=env).stdout)))
    assert [r["id"] for r in rows] == [str(conv_id)]
    assert rows[0]["last_message"] == body and rows[0]["last_message_kind"] == "incoming"
    assert rows[0]["summary"] == rows[0]["subject"] != ""  # an email: its subject


def test_convs_bad_input_is_usage(env: dict) -> None:
    for args in (["--status", "closed"], ["--view", "everyone"], ["--limit", "0"], ["--output", "xml"]):
        ran = invoke("convs", *args, env=env)
        assert ran.code == 2, (args, ran)
        assert ran.stderr.startswith("error: ") and len(ran.stderr.strip().splitlines()) == 1


def test_convs_in_a_child_process_matches(helpdesk: Helpdesk, env: dict) -> None:
    child = run_cli("convs", "--output", "json", "--limit", "7", env=env)
    assert child.code == 0, child
    assert child.json() == invoke("convs", "--output", "json", "--limit", "7", env=env).json()


# --- conv ID: reading --------------------------------------------------------------------------


def test_conv_view_every_format(helpdesk: Helpdesk, env: dict) -> None:
    conv_id = new_conversation(helpdesk)
    helpdesk.agent_writes(conv_id, "a note", private=True)
    wire = invoke("conv", str(conv_id), "-o", "json", env=env).json()
    truth = helpdesk.conversation(conv_id)
    assert (wire["id"], wire["status"], wire["priority"], wire["labels"]) == (
        conv_id,
        truth["status"],
        truth["priority"],
        truth["labels"],
    )
    assert wire["contact"]["name"] == "Cli Customer" and wire["subject"].startswith("CLI test ")
    assert set(wire) == {field.encode_name for field in msgspec.structs.fields(Conversation)}
    assert invoke("conv", str(conv_id), "view", "-o", "json", env=env).json() == wire
    text = invoke("conv", str(conv_id), env=env)
    assert text.code == 0
    assert f"Conversation {conv_id}" in text.stdout and "Cli Customer" in text.stdout
    assert invoke("conv", str(conv_id), "-q", env=env).stdout == f"{conv_id}\n"
    rows = list(csv.DictReader(io.StringIO(invoke("conv", str(conv_id), "-o", "csv", env=env).stdout)))
    assert len(rows) == 1 and rows[0]["id"] == str(conv_id)


def test_conv_unknown_id_is_4(env: dict) -> None:
    for args in (
        ["conv", "99999999"],
        ["conv", "99999999", "messages"],
        ["conv", "99999999", "resolve", "-o", "json"],
        ["conv", "99999999", "reply", "x"],
    ):
        ran = invoke(*args, env=env)
        assert ran.code == 4, (args, ran)
        assert ran.stderr == "error: no conversation with id 99999999\n"
        assert ran.stdout == ""


def test_conv_id_must_come_first_and_be_a_number(env: dict) -> None:
    assert invoke("conv", "abc", env=env).code == 2
    assert invoke("conv", "0", "resolve", env=env).code == 2
    missing = invoke("conv", "resolve", env=env)
    assert missing.code == 2 and "conversation ID" in missing.stderr
    unknown = invoke("conv", "5", "frobnicate", env=env)
    assert unknown.code == 2 and unknown.stdout == ""
    assert unknown.stderr.startswith("error: 'frobnicate' is not a conv verb (verbs: view, messages,")
    assert "snooze" in unknown.stderr and "label" in unknown.stderr
    assert len(unknown.stderr.splitlines()) == 1
    typo = invoke("conv", "5", "resolv", env=env)
    assert typo.code == 2 and "did you mean 'resolve'?" in typo.stderr


def test_conv_messages(helpdesk: Helpdesk, env: dict) -> None:
    conv_id = new_conversation(helpdesk, body="first line\nsecond line")
    helpdesk.agent_writes(conv_id, "on it")
    wire = invoke("conv", str(conv_id), "messages", "-o", "json", env=env).json()
    assert [(m["id"], m["kind"], m["body"]) for m in wire] == [
        (m["id"], m["kind"], m["body"]) for m in helpdesk.messages(conv_id)
    ]
    text = invoke("conv", str(conv_id), "messages", env=env).stdout
    assert "    first line\n    second line" in text
    quiet = invoke("conv", str(conv_id), "messages", "-q", env=env).stdout.split()
    assert quiet == [str(m["id"]) for m in wire]
    rows = list(
        csv.DictReader(io.StringIO(invoke("conv", str(conv_id), "messages", "-o", "csv", env=env).stdout))
    )
    assert rows[0]["body"] == "first line\nsecond line" and rows[0]["author_type"] == "contact"
    after = invoke("conv", str(conv_id), "messages", "--after", str(wire[-1]["id"]), "-o", "json", env=env)
    assert after.json() == []


# --- conv ID: writing ----------------------------------------------------------------------------


def test_reply_and_note(helpdesk: Helpdesk, env: dict) -> None:
    conv_id = new_conversation(helpdesk)
    sent = invoke("conv", str(conv_id), "reply", "Thanks, looking now", "-o", "json", env=env)
    assert sent.code == 0, sent
    assert sent.json()["kind"] == "outgoing" and sent.json()["body"] == "Thanks, looking now"
    piped = invoke("conv", str(conv_id), "note", "-", env=env, input="from\nstdin\n")
    assert piped.code == 0 and piped.stdout.startswith("sent note #")
    messages = helpdesk.messages(conv_id)
    assert messages[-1]["kind"] == "note" and messages[-1]["body"] == "from\nstdin\n"
    quiet = invoke("conv", str(conv_id), "reply", "again", "-q", env=env)
    assert quiet.stdout.strip().isdigit()
    assert invoke("conv", str(conv_id), "reply", "   ", env=env).code == 2
    assert invoke("conv", str(conv_id), "note", "-", env=env, input="").code == 2


def test_too_long_a_reply_is_refused_before_sending(helpdesk: Helpdesk, env: dict) -> None:
    conv_id = new_conversation(helpdesk)
    before = helpdesk.conversation(conv_id)["message_count"]
    most = helpdesk.max_body
    for verb in ("reply", "note"):
        ran = invoke("conv", str(conv_id), verb, "-", input="x" * (most + 1), env=env)
        assert ran.code == 2, ran
        assert (
            f"the {verb} is {most + 1:,} characters; {helpdesk.desk_name} takes at most {most:,}"
            in ran.stderr
        )
        assert len(ran.stderr.splitlines()) == 1
    assert helpdesk.conversation(conv_id)["message_count"] == before  # nothing sent
    fits = invoke("conv", str(conv_id), "note", "-", "-q", input="x" * most, env=env)
    assert fits.code == 0, fits


def test_a_413_shows_the_servers_message(desk: Desk, tmp_path: Path) -> None:
    # Desk server only: its request size limit (Chatwoot's answer to a body too large is not
    # in its document, and the adapter refuses a long message before sending: test above).
    env = base_env(tmp_path, AGENT_CONSOLE_SERVER=desk.url, AGENT_CONSOLE_TOKEN=desk.agent_token)
    conv_id = desk.admin.post(
        "/inbound", json={"channel": "web_chat", "contact": {"name": "Big Body"}, "body": "hi"}
    ).json()["conversation_id"]
    # Under the character limit, but each control character is six bytes of JSON (\u0001):
    # over the server's request size limit.
    body = "\x01" * 190_000
    raw = desk.agent.post(f"/conversations/{conv_id}/messages", json={"body": body})
    assert raw.status_code == 413
    message = raw.json()["error"]["message"]
    assert "limit" in message  # the server says what the limit is
    ran = invoke("conv", str(conv_id), "reply", "-", input=body, env=env)
    assert ran.code == 1, ran
    assert ran.stderr == f"error: {message}\n"


def test_a_413_from_a_proxy_says_what_was_too_large(tmp_path: Path) -> None:
    """A proxy in front of the desk answers 413 with its own page, not the error shape."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Proxy(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            page = b"<html><body><h1>413 Request Entity Too Large</h1></body></html>"
            self.send_response(413)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        env = base_env(
            tmp_path,
            AGENT_CONSOLE_SERVER=f"http://127.0.0.1:{proxy.server_port}",
            AGENT_CONSOLE_TOKEN="acd_x",
        )
        ran = invoke("conv", "1", "reply", "a long story", env=env)
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert ran.code == 1, ran
    assert ran.stderr == "error: the reply is too large for the desk server or a proxy in front of it\n"


def test_reply_conflict_is_5_then_force_sends(helpdesk: Helpdesk, env: dict) -> None:
    conv_id = new_conversation(helpdesk)
    seen = helpdesk.messages(conv_id)[-1]["id"]
    helpdesk.customer_says(conv_id, "are you there?")
    stale = invoke("conv", str(conv_id), "reply", "--last-seen", str(seen), "Done!", env=env)
    assert stale.code == 5, stale
    assert "not seen" in stale.stderr and "--force" in stale.stderr
    forced = invoke(
        "conv", str(conv_id), "reply", "--last-seen", str(seen), "--force", "Done!", "-o", "json", env=env
    )
    assert forced.code == 0 and forced.json()["body"] == "Done!"


def test_idempotency_key_never_sends_twice(helpdesk: Helpdesk, env: dict) -> None:
    conv_id = new_conversation(helpdesk)
    key = uuid.uuid4().hex
    first = invoke("conv", str(conv_id), "reply", "once", "--idempotency-key", key, "-q", env=env)
    second = invoke("conv", str(conv_id), "reply", "once", "--idempotency-key", key, "-q", env=env)
    assert first.stdout == second.stdout
    assert helpdesk.bodies(conv_id).count("once") == 1


def test_status_verbs(helpdesk: Helpdesk, env: dict) -> None:
    conv_id = new_conversation(helpdesk)
    for verb, status in (("resolve", "resolved"), ("open", "open"), ("pending", "pending")):
        ran = invoke("conv", str(conv_id), verb, "-o", "json", env=env)
        assert ran.code == 0 and ran.json()["status"] == status
    text = invoke("conv", str(conv_id), "resolve", env=env)
    assert text.stdout.startswith(f"conversation {conv_id}: resolved")
    assert invoke("conv", str(conv_id), "open", "-q", env=env).stdout == f"{conv_id}\n"


def test_snooze_times(helpdesk: Helpdesk, env: dict) -> None:
    conv_id = new_conversation(helpdesk)

    def snooze(until: str) -> datetime:
        ran = invoke("conv", str(conv_id), "snooze", "--until", until, "-o", "json", env=env)
        assert ran.code == 0, ran
        assert ran.json()["status"] == "snoozed"
        return datetime.fromisoformat(ran.json()["snoozed_until"].replace("Z", "+00:00"))

    before = datetime.now(UTC)
    for text, span in (
        ("4h", timedelta(hours=4)),
        ("30m", timedelta(minutes=30)),
        ("2d", timedelta(days=2)),
        ("1h30m", timedelta(minutes=90)),
    ):
        moment = snooze(text)
        assert before + span - timedelta(seconds=1) <= moment <= datetime.now(UTC) + span
    # `tomorrow` and local ISO times are in the agent's own zone (Sam Agent: Asia/Manila; on
    # Chatwoot, which keeps no zone per agent, UTC).
    manila = ZoneInfo(helpdesk.agent_zone)
    tomorrow = snooze("tomorrow").astimezone(manila)
    assert (tomorrow.hour, tomorrow.minute) == (9, 0)
    assert tomorrow.date() == datetime.now(manila).date() + timedelta(days=1)
    day = (datetime.now(UTC) + timedelta(days=200)).date()  # within the year a snooze may span
    assert snooze(f"{day}T09:00") == datetime(day.year, day.month, day.day, 9, 0, tzinfo=manila)
    assert snooze(f"{day}T09:00+02:00") == datetime(day.year, day.month, day.day, 7, 0, tzinfo=UTC)
    for bad in ("4x", "soon", "0m", "2001-01-01T09:00", "tomorrow 25:00"):
        ran = invoke("conv", str(conv_id), "snooze", "--until", bad, env=env)
        assert ran.code == 2, (bad, ran)
        assert "--until" in ran.stderr
    assert invoke("conv", str(conv_id), "snooze", env=env).code == 2  # --until is required


def test_snooze_is_bounded_to_a_year(helpdesk: Helpdesk, env: dict) -> None:
    conv_id = new_conversation(helpdesk)
    before = helpdesk.conversation(conv_id)
    far = (datetime.now(UTC) + timedelta(days=400)).date()
    for too_far in (
        "9999d",
        "366d",
        "53w",
        "8761h",
        "99999999999999999999w",
        f"{far}T09:00",
        f"{far}",
        "9999-12-31T23:59",
        "9999-12-31T23:59+05:00",
    ):
        ran = invoke("conv", str(conv_id), "snooze", "--until", too_far, env=env)
        assert ran.code == 2, (too_far, ran)
        assert "too far ahead: at most 365 days (a year) from now" in ran.stderr, ran.stderr
        assert "--until" in ran.stderr and len(ran.stderr.splitlines()) == 1
    assert helpdesk.conversation(conv_id) == before  # nothing was sent
    year = invoke("conv", str(conv_id), "snooze", "--until", "365d", "-o", "json", env=env)
    assert year.code == 0 and year.json()["status"] == "snoozed"


def test_assign_and_unassign(helpdesk: Helpdesk, env: dict) -> None:
    conv_id = new_conversation(helpdesk)
    me = helpdesk.me
    assigned = invoke("conv", str(conv_id), "assign", "--agent", "me", "-o", "json", env=env)
    assert assigned.json()["assignee"]["id"] == me["id"]
    assert helpdesk.conversation(conv_id)["assignee_id"] == me["id"]

    by_name = invoke(
        "conv", str(conv_id), "assign", "--agent", helpdesk.colleague.lower(), "-o", "json", env=env
    )
    assert by_name.json()["assignee"]["name"] == helpdesk.colleague
    assert helpdesk.conversation(conv_id)["assignee"] == helpdesk.colleague
    other = by_name.json()["assignee"]
    by_id = invoke("conv", str(conv_id), "assign", "--agent", str(me["id"]), "-o", "json", env=env)
    assert by_id.json()["assignee"]["id"] == me["id"]

    team = helpdesk.teams()[0]
    by_team = invoke("conv", str(conv_id), "assign", "--team", team["name"].upper(), "-o", "json", env=env)
    assert by_team.json()["team"]["id"] == team["id"]
    both = invoke(
        "conv",
        str(conv_id),
        "assign",
        "--agent",
        helpdesk.colleague_email,
        "--team",
        str(team["id"]),
        "-o",
        "json",
        env=env,
    )
    assert both.json()["assignee"]["id"] == other["id"] and both.json()["team"]["id"] == team["id"]

    assert invoke("conv", str(conv_id), "assign", "--agent", "Nobody Atall", env=env).code == 4
    assert invoke("conv", str(conv_id), "assign", "--agent", "99999", env=env).code == 4
    assert invoke("conv", str(conv_id), "assign", "--team", "No Such Team", env=env).code == 4
    assert invoke("conv", str(conv_id), "assign", env=env).code == 2

    assert helpdesk.conversation(conv_id)["team"] == team["name"]
    unassigned = invoke("conv", str(conv_id), "unassign", "-o", "json", env=env).json()
    assert unassigned["assignee"] is None and unassigned["team"]["id"] == team["id"]
    cleared = invoke("conv", str(conv_id), "unassign", "--team", "-o", "json", env=env).json()
    assert cleared["team"] is None
    assert (helpdesk.conversation(conv_id)["assignee"], helpdesk.conversation(conv_id)["team"]) == (
        None,
        None,
    )


def test_priority(helpdesk: Helpdesk, env: dict) -> None:
    conv_id = new_conversation(helpdesk)
    for level in ("urgent", "high", "normal", "low"):
        ran = invoke("conv", str(conv_id), "priority", level, "-o", "json", env=env)
        assert ran.json()["priority"] == level
        assert helpdesk.conversation(conv_id)["priority"] == level
    bad = invoke("conv", str(conv_id), "priority", "critical", env=env)
    assert bad.code == 2 and bad.stderr.startswith("error: ")
    assert invoke("conv", str(conv_id), "priority", env=env).code == 2


def test_labels(helpdesk: Helpdesk, env: dict) -> None:
    conv_id = new_conversation(helpdesk)

    def labels(*args: str) -> list[str]:
        ran = invoke("conv", str(conv_id), "label", *args, "-o", "json", env=env)
        assert ran.code == 0, ran
        return ran.json()["labels"]

    assert labels("billing,refund") == ["billing", "refund"]
    assert labels("--add", "vip,refund") == ["billing", "refund", "vip"]
    assert labels("--remove", "billing", "--add", "esim") == ["refund", "vip", "esim"]
    assert labels("--clear") == []
    for bad in (["has space"], ["--add", "a b"], [], ["x", "--clear"], [","], ["x" * 51]):
        assert invoke("conv", str(conv_id), "label", *bad, env=env).code == 2, bad
    # Labels are one form whatever the case typed (the desk folds them): VIP is vip.
    assert labels("VIP,Billing,vip") == ["vip", "billing"]
    assert labels("--add", "Refund,VIP") == ["vip", "billing", "refund"]
    assert labels("--remove", "BILLING,Vip") == ["refund"]
    assert helpdesk.conversation(conv_id)["labels"] == ["refund"]
    spaced = invoke("conv", str(conv_id), "label", "--add", "two words", env=env)
    assert "'two words' is not a label: a label is one word" in spaced.stderr


def test_untrusted_text_is_sanitized_in_text_output_only(helpdesk: Helpdesk, env: dict) -> None:
    evil = "Mallory\x1b]52;c;SGVsbG8=\x07\u202e"
    marker = uuid.uuid4().hex[:10]
    conv_id = new_conversation(helpdesk, body=f"hi \x1b[2J there {marker}", name=evil)
    for args in (["conv", str(conv_id)], ["conv", str(conv_id), "messages"], ["convs", "--query", marker]):
        ran = invoke(*args, env=env)
        assert ran.code == 0
        assert "\x1b" not in ran.stdout and "\x07" not in ran.stdout and "\u202e" not in ran.stdout
        assert "␛" in ran.stdout
    wire = invoke("conv", str(conv_id), "-o", "json", env=env).json()
    assert wire["contact"]["name"] == evil  # JSON is data: exact, and valid JSON
