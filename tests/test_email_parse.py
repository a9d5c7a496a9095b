"""The inbound mail reader on bytes: text preferred over HTML, HTML made readable, quoted
history trimmed, noise recognised, attachments kept within the limit; and the thread's
attachment lines, which draw untrusted names as literal text."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from agent_console.core.models import Attachment, Author, Message
from agent_console.server.email_parse import html_to_text, message_ids, parse, trim_quoted
from agent_console.tui.attachments import attachments_text, human_size


def mail(**headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = headers.pop("From", "Rita <Rita@Cust.test>")
    message["To"] = "support@desk.test"
    message["Subject"] = headers.pop("Subject", "Hello")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    return message


def test_text_is_preferred_over_html() -> None:
    message = mail()
    message.set_content("the plain words")
    message.add_alternative("<p>the <b>html</b> words</p>", subtype="html")
    parsed = parse(message.as_bytes(), max_attachment=100)
    assert parsed.text == "the plain words"
    assert parsed.sender == "rita@cust.test" and parsed.sender_name == "Rita"


def test_html_becomes_readable_text() -> None:
    text = html_to_text(
        "<style>.x{}</style><h1>Order</h1><p>Line one<br>line two</p><ul><li>a</li><li>b</li></ul>"
        "<p>See <a href='https://x.test/a'>the page</a> or <a href='https://x.test/b'>https://x.test/b</a>"
        "</p><table><tr><td>qty</td><td>2</td></tr></table><p>&lt;not a tag&gt; &amp; caf&eacute;</p>"
    )
    assert text == (
        "Order\n\nLine one\nline two\n\n- a\n- b\n\nSee the page (https://x.test/a) or https://x.test/b\n\n"
        "qty 2\n\n<not a tag> & café"
    )


@pytest.mark.parametrize(
    "quote",
    [
        "On Mon, 5 Jan 2026 at 10:00, Support <support@desk.test> wrote:\n> old text",
        "On Mon, 5 Jan 2026 at 10:00, Support <support@desk.test>\nwrote:\n> old text",
        "-----Original Message-----\nFrom: Support\nold text",
        "Le lun. 5 janv. 2026, Support a écrit :\n> old text",
        "________________________________\nFrom: Support\nSent: Monday\nold text",
        "> old text\n> more old text",
    ],
)
def test_quoted_history_is_trimmed(quote: str) -> None:
    assert trim_quoted(f"New answer here.\nSecond line.\n\n{quote}\n") == "New answer here.\nSecond line."


def test_a_mail_that_is_only_quote_keeps_its_text() -> None:
    assert trim_quoted("> everything quoted") == "> everything quoted"


@pytest.mark.parametrize(
    ("headers", "noise"),
    [
        ({"Auto_Submitted": "auto-replied"}, "auto-submitted (auto-replied)"),
        ({"Auto_Submitted": "no"}, None),
        ({"Precedence": "Bulk"}, "precedence bulk"),
        ({"Precedence": "list"}, "precedence list"),
        ({"X_Autoreply": "yes"}, "x-autoreply header"),
        ({"From": "MAILER-DAEMON@mx.test"}, "sent by mailer-daemon"),
        ({}, None),
    ],
)
def test_noise_is_recognised(headers: dict[str, str], noise: str | None) -> None:
    message = mail(**headers)
    message.set_content("hi")
    assert parse(message.as_bytes(), max_attachment=100).noise == noise


def test_threading_headers_and_attachments() -> None:
    message = mail(Message_ID="<a@x.test>", In_Reply_To="<b@desk.test>", References="<c@x> <b@desk.test>")
    message.set_content("see files")
    message.add_attachment(b"12345", maintype="application", subtype="octet-stream", filename="small.bin")
    message.add_attachment(b"1234567", maintype="application", subtype="zip", filename="large.zip")
    parsed = parse(message.as_bytes(), max_attachment=6)
    assert (parsed.header_id, parsed.in_reply_to, parsed.references) == (
        "a@x.test",
        ["b@desk.test"],
        ["c@x", "b@desk.test"],
    )
    assert [(a.filename, a.size, a.content) for a in parsed.attachments] == [
        ("small.bin", 5, b"12345"),
        ("large.zip", 7, None),
    ]
    assert message_ids("bare@id.test") == ["bare@id.test"]


def test_broken_mail_still_parses() -> None:
    raw = (
        b"From: =?bogus?q?x?= <x@y.test>\r\nSubject: \xff\xfe\r\n"
        b"Content-Type: text/plain; charset=klingon\r\n\r\nhi \xff\r\n"
    )
    parsed = parse(raw, max_attachment=10)
    assert parsed.sender == "x@y.test" and "hi" in parsed.text


def test_attachment_lines_are_literal_and_safe() -> None:
    hostile = "[@click=app.quit]evil\x1b]52;c;Zm9v\x07\u202egpj.exe"
    message = Message(
        id=1,
        conversation_id=1,
        kind="incoming",
        body="x",
        author=Author(type="contact", name="R"),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        attachments=[
            Attachment(id=7, message_id=1, filename=hostile, content_type="text/html\nX: y", size=2048),
            Attachment(
                id=8,
                message_id=1,
                filename="big.iso",
                content_type="application/x-iso",
                size=3 << 20,
                stored=False,
            ),
        ],
    )
    text = attachments_text(message)
    assert text is not None
    plain = text.plain
    assert "[@click=app.quit]evil" in plain  # brackets stay brackets: never markup
    assert "\x1b" not in plain and "\x07" not in plain and "\u202e" not in plain
    lines = plain.split("\n")
    assert len(lines) == 2 and "2.0 KB" in lines[0] and "#7" in lines[0]
    assert "3.0 MB" in lines[1] and "not kept" in lines[1]
    assert (
        attachments_text(
            Message(**{**{f: getattr(message, f) for f in message.__struct_fields__}, "attachments": []})
        )
        is None
    )
    assert human_size(1023) == "1023 B"
