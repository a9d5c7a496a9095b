"""Output rendering details: Rich on a terminal (sanitized, colour rules), the TUI entry."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent_console.cli import conv_output, output
from agent_console.cli.options import Settings
from agent_console.core.models import (
    AgentRef,
    Contact,
    Conversation,
    KbHit,
    MessagePreview,
)
from tests.cli_support import base_env, invoke
from tests.conftest import Desk

EVIL = "Eve\x1b]8;;http://evil.example\x07click\x1b]8;;\x07\x1b[31m[bold red]x[/]\u202e"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def conversation(**changes: object) -> Conversation:
    now = datetime.now(UTC)
    fields: dict[str, object] = dict(
        id=7,
        channel="email",
        status="open",
        priority="urgent",
        subject=EVIL,
        language="en",
        contact=Contact(id=3, name=EVIL, email="eve@example.com"),
        assignee=AgentRef(id=1, name="Ana"),
        team=None,
        labels=["vip", "billing"],
        created_at=now,
        updated_at=now,
        last_activity_at=now,
        first_response_at=None,
        waiting_since=now,
        snoozed_until=None,
        due_at=now - timedelta(minutes=5),
        unread_count=1,
        message_count=1,
        last_message=MessagePreview(id=9, kind="incoming", body=EVIL, created_at=now),
        seq=4,
    )
    fields.update(changes)
    return Conversation(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("no_color", [False, True])
def test_rich_table_on_a_terminal_is_sanitized(no_color: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("COLUMNS", "400")  # wide enough to show every cell in full
    stream = Terminal()
    out = output.Out(Settings(no_color=no_color), stream=stream)
    output.show_list(out, [conversation()], conv_output.CONVERSATIONS)
    text = stream.getvalue()
    assert "ID" in text and "urgent" in text and "5m late" in text and "billing" in text
    assert "]8;;" not in text.replace("␛]8;;", "")  # no live hyperlink escape
    assert "\x07" not in text and "\u202e" not in text
    assert "[bold red]x[/]" in text  # markup stays plain text, never parsed
    has_sgr = "\x1b[" in text
    assert has_sgr is (not no_color)  # colour only when allowed, and only our own


def test_narrow_terminal_drops_minor_columns_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    stream = Terminal()
    output.show_list(
        output.Out(Settings(no_color=True), stream=stream), [conversation()], conv_output.CONVERSATIONS
    )
    header = stream.getvalue().splitlines()[0].split()
    assert header[:4] == ["ID", "STATUS", "PRIORITY", "DUE"] and header[-1] == "SUMMARY"
    assert "CHANNEL" not in header and "TEAM" not in header
    assert all(len(line) <= 80 for line in stream.getvalue().splitlines())


def test_no_color_env_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    stream = Terminal()
    output.show_list(output.Out(Settings(), stream=stream), [conversation()], conv_output.CONVERSATIONS)
    assert "\x1b[" not in stream.getvalue()


def test_record_and_transcript_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    stream = Terminal()
    out = output.Out(Settings(), stream=stream)
    output.show_one(out, conversation(), conv_output.CONVERSATIONS)
    assert "Conversation 7" in stream.getvalue() and "\x1b" not in stream.getvalue()


def test_kb_snippets_lose_their_markers_in_text_and_csv_keeps_data() -> None:
    hit = KbHit(
        id=1,
        title="T",
        locale="en",
        tags=["a"],
        snippet="x \ue000esim\ue001 y",
        score=1.0,
        updated_at=datetime.now(UTC),
    )
    stream = io.StringIO()
    output.show_list(output.Out(Settings(), stream=stream), [hit], output.KB_HITS)
    assert "x esim y" in stream.getvalue()
    stream = io.StringIO()
    output.show_list(output.Out(Settings(output="csv"), stream=stream), [hit], output.KB_HITS)
    assert "\ue000esim\ue001" in stream.getvalue()  # piped CSV is data


def test_csv_to_a_terminal_is_sanitized() -> None:
    stream = Terminal()
    out = output.Out(Settings(output="csv"), stream=stream)
    output.show_list(out, [conversation()], conv_output.CONVERSATIONS)
    assert "\x1b" not in stream.getvalue() and "␛" in stream.getvalue()


def test_a_note_not_looked_up_is_never_shown_as_the_summary() -> None:
    now = datetime.now(UTC)
    chat = conversation(
        subject=None, last_message=MessagePreview(id=10, kind="note", body="PRIVATE", created_at=now)
    )
    for fmt in ("text", "csv"):
        stream = io.StringIO()
        output.show_list(output.Out(Settings(output=fmt), stream=stream), [chat], conv_output.CONVERSATIONS)
        assert "PRIVATE" not in stream.getvalue()
    visible = MessagePreview(id=8, kind="bot", body="Hello from the bot", created_at=now)
    stream = io.StringIO()
    spec = conv_output.conversation_spec({chat.id: visible})
    output.show_list(output.Out(Settings(output="csv"), stream=stream), [chat], spec)
    assert "Hello from the bot" in stream.getvalue() and "PRIVATE" not in stream.getvalue()


def test_relative_times() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert output.relative(now + timedelta(seconds=30), now) == "in 30s"
    assert output.relative(now - timedelta(hours=2, minutes=5), now) == "2h 5m late"
    assert output.relative(now + timedelta(days=3, hours=1), now) == "in 3d 1h"
    assert output.relative(None, now) == ""


def test_bare_command_opens_the_console(desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agent_console.tui import app as tui_app

    calls: list[dict] = []

    def fake_run_console(**kwargs: object) -> int:
        calls.append(kwargs)
        return 0

    monkeypatch.setattr(tui_app, "run_console", fake_run_console)
    env = base_env(tmp_path, AGENT_CONSOLE_SERVER=desk.url + "/", AGENT_CONSOLE_TOKEN=desk.agent_token)
    ran = invoke(env=env)
    assert ran.code == 0, ran
    expected = {
        "server": desk.url,
        "token": desk.agent_token,
        "verify": True,
        "theme": None,
        "keymap": {},
        "low_bandwidth": None,
    }
    assert len(calls) == 1 and {k: calls[0].get(k) for k in expected} == expected


def test_bare_command_passes_theme_and_keys_from_config(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_console.tui import app as tui_app

    calls: list[dict] = []
    monkeypatch.setattr(tui_app, "run_console", lambda **kwargs: calls.append(kwargs) or 0)
    env = base_env(tmp_path, AGENT_CONSOLE_SERVER=desk.url, AGENT_CONSOLE_TOKEN=desk.agent_token)
    Path(env["AGENT_CONSOLE_CONFIG"]).write_text(
        '[tui]\ntheme = "day-shift"\nlow_bandwidth = true\n[keys]\n"conv.resolve" = "ctrl+r"\n'
    )
    assert invoke(env=env).code == 0
    assert calls[0]["theme"] == "day-shift" and calls[0]["low_bandwidth"] is True
    assert calls[0]["keymap"] == {"conv.resolve": "ctrl+r"}
    assert invoke("--theme", "high-contrast", env=env).code == 0
    assert calls[1]["theme"] == "high-contrast"
