"""Email in and out with a real SMTP exchange: mail sent with smtplib to the desk's listener,
replies captured by an aiosmtpd sink standing in for the relay."""

from __future__ import annotations

import re
import smtplib
import ssl
import subprocess
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from aiosmtpd.smtp import AuthResult

from tests.conftest import ENGINES
from tests.mail_support import DESK_ADDRESS, MailDesk, RelaySink, customer_mail, start_mail_desk, wait_for

DESK_ENGINES = ENGINES  # the desk server on SQLite and on PostgreSQL

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def sink() -> Iterator[RelaySink]:
    relay = RelaySink(refuse=("gone@cust.test",))
    yield relay
    relay.stop()


@pytest.fixture
def mail(database: Path | str, sink: RelaySink) -> Iterator[MailDesk]:
    running = start_mail_desk(database, sink)
    yield running
    running.desk.server.stop()


def conversations(client: httpx.Client) -> list[dict]:
    return client.get("/conversations", params={"status": "all", "limit": 500}).json()["items"]


def by_contact(client: httpx.Client, address: str) -> list[dict]:
    return [c for c in conversations(client) if c["contact"]["email"] == address]


def messages(client: httpx.Client, conversation_id: int) -> list[dict]:
    return client.get(f"/conversations/{conversation_id}/messages").json()["items"]


def reply(client: httpx.Client, conversation_id: int, body: str) -> dict:
    answer = client.post(f"/conversations/{conversation_id}/messages", json={"body": body})
    assert answer.status_code == 201, answer.text
    return answer.json()


def ids(header: str | None) -> list[str]:
    return re.findall(r"<[^>]+>", header or "")


def first_conversation(mail: MailDesk, message: EmailMessage, address: str = "rita@cust.test") -> dict:
    assert mail.send(message) == {}
    found = by_contact(mail.desk.agent, address)
    assert len(found) == 1, found
    return found[0]


# --- mail in -------------------------------------------------------------------------------


def test_html_mail_with_attachments_opens_a_conversation_with_readable_text(mail: MailDesk) -> None:
    html = (
        "<html><head><style>p { color: red }</style><script>alert(1)</script></head><body>"
        "<p>Hello,</p><p>Where is <a href='https://shop.test/i/7'>my invoice</a>?</p>"
        "<ul><li>order 7</li><li>order 9</li></ul>"
        "<div class='gmail_quote'>On Mon, 5 Jan 2026, Support &lt;support@desk.test&gt; wrote:"
        "<blockquote>We sent it yesterday.</blockquote></div></body></html>"
    )
    message = customer_mail(text=None, html=html, message_id="<m1@cust.test>")
    message.add_attachment(b"%PDF-1.4 tiny", maintype="application", subtype="pdf", filename="invoice.pdf")
    hostile = "../../etc/cron.d/x\x1b]52;c;cm0gLXJmIH4=\x07[@click=app.quit]quit.sh"
    message.add_attachment(b"echo hi\n", maintype="text", subtype="x-sh", filename=hostile)
    message.add_attachment(b"x" * 5000, maintype="image", subtype="png", filename="big.png")

    conversation = first_conversation(mail, message)
    assert conversation["channel"] == "email"
    assert conversation["subject"] == "Invoice question"
    assert conversation["contact"]["name"] == "Rita Customer"

    [incoming] = messages(mail.desk.agent, conversation["id"])
    body = incoming["body"]
    assert "Hello," in body and "Where is my invoice (https://shop.test/i/7)?" in body
    assert "- order 7\n- order 9" in body
    for gone in ("<p>", "color: red", "alert(1)", "We sent it yesterday", "wrote:"):
        assert gone not in body, (gone, body)

    files = incoming["attachments"]
    assert [(f["filename"], f["content_type"], f["size"], f["stored"]) for f in files] == [
        ("invoice.pdf", "application/pdf", 13, True),
        (hostile, "text/x-sh", 8, True),
        ("big.png", "image/png", 5000, False),  # over the desk's 1000-byte limit: described only
    ]
    listed = mail.desk.agent.get(f"/conversations/{conversation['id']}/attachments").json()["items"]
    assert listed == files
    download = mail.desk.agent.get(f"/attachments/{files[0]['id']}/content")
    assert download.status_code == 200 and download.content == b"%PDF-1.4 tiny"
    assert download.headers["content-type"] == "application/octet-stream"
    assert "cron" not in download.headers["content-disposition"]
    too_big = mail.desk.agent.get(f"/attachments/{files[2]['id']}/content")
    assert too_big.status_code == 409 and "size limit" in too_big.json()["error"]["message"]


def test_mail_for_other_addresses_is_refused_and_the_desk_is_no_relay(mail: MailDesk) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        mail.send(customer_mail(to="someone@elsewhere.test"), to=["someone@elsewhere.test"])
    assert refused.value.recipients["someone@elsewhere.test"][0] == 550
    # Mixed recipients: only the desk's address takes it, and the mail is stored once.
    partly = mail.send(customer_mail(), to=["other@desk.test", "help@desk.test", "HELP+x@desk.test"])
    assert list(partly) == ["other@desk.test"]
    [conversation] = conversations(mail.desk.agent)
    assert conversation["message_count"] == 1


def _deep_mime(depth: int) -> bytes:
    head = "".join(f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n' for i in range(depth))
    tail = "".join(f"--b{i}--\r\n" for i in reversed(range(depth)))
    return (
        "From: rita@cust.test\r\nTo: support@desk.test\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
        f"{head}Content-Type: text/plain\r\n\r\nhello\r\n{tail}"
    ).encode()


def test_hostile_mail_is_refused_cleanly_and_the_listener_keeps_working(mail: MailDesk) -> None:
    with smtplib.SMTP("127.0.0.1", mail.smtp_port, timeout=60) as client:
        with pytest.raises(smtplib.SMTPDataError) as unreadable:
            client.sendmail("rita@cust.test", [DESK_ADDRESS], _deep_mime(3000))
        assert unreadable.value.smtp_code == 554  # permanent: the sender's server bounces it
        # Past 50 recipients the listener says "too many" (452), and the mail is stored once.
        recipients = [f"support+{n}@desk.test" for n in range(60)]
        refused = client.sendmail("rita@cust.test", recipients, customer_mail().as_bytes())
        assert sorted(refused) == sorted(recipients[50:])
        assert {code for code, _ in refused.values()} == {452}
    assert mail.send(customer_mail(subject="still here")) == {}
    assert sorted(c["message_count"] for c in conversations(mail.desk.agent)) == [1, 1]


def test_replies_thread_both_ways_and_a_new_subject_opens_a_new_conversation(
    mail: MailDesk, sink: RelaySink
) -> None:
    sink.start()
    agent = mail.desk.agent
    conversation = first_conversation(mail, customer_mail(message_id="<m1@cust.test>"))
    conv_id = conversation["id"]

    reply(agent, conv_id, "It is attached to your account page.")
    [sent] = wait_for(sink.messages, what="the reply at the relay")
    assert sent["To"] == "rita@cust.test"
    assert sent["From"].addresses[0].addr_spec == DESK_ADDRESS
    assert sent["Subject"] == "Re: Invoice question"
    assert ids(sent["In-Reply-To"]) == ["<m1@cust.test>"]
    assert "<m1@cust.test>" in ids(sent["References"])
    reply_to = sent["Reply-To"].addresses[0].addr_spec
    assert re.fullmatch(rf"support\+c{conv_id}-[0-9a-f]{{12}}@desk\.test", reply_to)
    assert sent.get_content().strip() == "It is attached to your account page."
    desk_id = sent["Message-ID"]

    assert agent.patch(f"/conversations/{conv_id}", json={"status": "resolved"}).status_code == 200
    # The customer answers the reply: threaded by In-Reply-To, and the conversation reopens.
    mail.send(
        customer_mail(
            subject="Re: Invoice question", in_reply_to=desk_id, references=f"<m1@cust.test> {desk_id}"
        )
    )
    assert agent.get(f"/conversations/{conv_id}").json()["status"] == "open"
    # A mailer that drops the headers still threads by the reply address's token.
    mail.send(customer_mail(subject="one more thing", to=reply_to), to=[reply_to])
    assert [m["kind"] for m in messages(agent, conv_id)].count("incoming") == 3

    # A new subject with no thread headers: a new conversation for the same contact.
    mail.send(customer_mail(subject="Change my address"))
    mine = by_contact(agent, "rita@cust.test")
    assert len(mine) == 2 and {c["contact"]["id"] for c in mine} == {conversation["contact"]["id"]}

    # A stranger who learns the Message-ID or the reply address cannot write into it.
    stranger = customer_mail(sender="mallory@evil.test", in_reply_to=desk_id, to=reply_to)
    mail.send(stranger, to=[reply_to])
    # Nor can a forged token, even from the right sender.
    forged = f"support+c{conv_id}-000000000000@desk.test"
    mail.send(customer_mail(subject="forged", to=forged), to=[forged])
    assert [m["kind"] for m in messages(agent, conv_id)].count("incoming") == 3
    assert len(by_contact(agent, "mallory@evil.test")) == 1
    assert len(by_contact(agent, "rita@cust.test")) == 3

    # The same mail delivered twice (one Message-ID) is one message.
    again = customer_mail(subject="Re: Invoice question", message_id="<dup@cust.test>", in_reply_to=desk_id)
    mail.send(again)
    mail.send(again)
    assert [m["kind"] for m in messages(agent, conv_id)].count("incoming") == 4


NOISE = {
    "auto-submitted": {"Auto-Submitted": "auto-replied"},
    "precedence bulk": {"Precedence": "bulk"},
    "precedence junk": {"Precedence": "junk"},
    "precedence list": {"Precedence": "list"},
    "x-autoreply": {"X-Autoreply": "yes"},
}


def _bounce(about: str) -> EmailMessage:
    dsn = EmailMessage()
    dsn["From"] = "Mail Delivery System <MAILER-DAEMON@mx.cust.test>"
    dsn["To"] = DESK_ADDRESS
    dsn["Subject"] = "Undelivered Mail Returned to Sender"
    dsn["In-Reply-To"] = about
    dsn.set_content("This is the mail system. Your message could not be delivered.")
    dsn.make_mixed()
    dsn.set_type("multipart/report")
    dsn.set_param("report-type", "delivery-status")
    return dsn


def test_auto_replies_bounces_and_own_mail_never_open_or_reopen_or_get_an_answer(
    mail: MailDesk, sink: RelaySink
) -> None:
    sink.start()
    agent = mail.desk.agent
    conv_id = first_conversation(mail, customer_mail(message_id="<m1@cust.test>"))["id"]
    reply(agent, conv_id, "Done.")
    [sent] = wait_for(sink.messages, what="the reply at the relay")
    desk_id = sent["Message-ID"]
    agent.patch(f"/conversations/{conv_id}", json={"status": "resolved"})
    before = agent.get(f"/conversations/{conv_id}").json()

    for headers in NOISE.values():
        # Each one answers our reply (it would reopen the conversation) ...
        assert (
            mail.send(customer_mail(subject="Re: Invoice question", in_reply_to=desk_id, headers=headers))
            == {}
        )
        # ... or is new (it would open one).
        assert (
            mail.send(customer_mail(sender="vacation@cust.test", subject="Out of office", headers=headers))
            == {}
        )
    assert mail.send(_bounce(desk_id), mail_from="") == {}
    assert mail.send(customer_mail(sender="postmaster@cust.test", subject="Delivery report")) == {}
    # A null return path (RFC 3834 auto-replies use it) with a person's From.
    assert mail.send(customer_mail(subject="Re: Invoice question", in_reply_to=desk_id), mail_from="") == {}
    # The desk's own address writing to itself: a loop, whatever the headers say.
    assert mail.send(customer_mail(sender=f"Support <{DESK_ADDRESS}>", subject="Re: Invoice question")) == {}
    assert mail.send(customer_mail(sender="Help <Help@Desk.test>", subject="hello")) == {}

    after = agent.get(f"/conversations/{conv_id}").json()
    assert after["status"] == "resolved"
    assert after["message_count"] == before["message_count"]
    assert [c["id"] for c in conversations(agent)] == [conv_id]
    # A person still gets through (the listener is not just dropping everything) ...
    mail.send(customer_mail(subject="Re: Invoice question", in_reply_to=desk_id))
    assert agent.get(f"/conversations/{conv_id}").json()["status"] == "open"
    # ... and nothing automatic was ever answered.
    assert len(sink.messages()) == 1


def delivery_report(returned_id: str, *, headers_only: bool = False) -> bytes:
    """A DSN (RFC 3464) as a receiving server sends one back for a reply it could not deliver."""
    kind = "text/rfc822-headers" if headers_only else "message/rfc822"
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.cust.test>\r\nTo: support@desk.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.cust.test\r\n\r\n"
        "Final-Recipient: rfc822; rita@cust.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 mailbox unavailable\r\n\r\n"
        f"--B\r\nContent-Type: {kind}\r\n\r\nFrom: support@desk.test\r\nTo: rita@cust.test\r\n"
        f"Subject: Re: Invoice question\r\nMessage-ID: {returned_id}\r\n\r\nDone.\r\n--B--\r\n"
    ).encode()


@pytest.mark.parametrize("headers_only", [False, True], ids=["whole-mail", "headers-only"])
def test_a_bounce_of_a_reply_is_a_note_for_the_agent_and_never_reopens(
    mail: MailDesk, sink: RelaySink, headers_only: bool
) -> None:
    sink.start()
    agent = mail.desk.agent
    conv_id = first_conversation(mail, customer_mail(message_id="<m1@cust.test>"))["id"]
    reply(agent, conv_id, "Done.")
    [sent] = wait_for(sink.messages, what="the reply at the relay")
    agent.patch(f"/conversations/{conv_id}", json={"status": "resolved"})
    with smtplib.SMTP("127.0.0.1", mail.smtp_port, timeout=30) as client:
        assert (
            client.sendmail(
                "", [DESK_ADDRESS], delivery_report(sent["Message-ID"], headers_only=headers_only)
            )
            == {}
        )
        # A report about a mail the desk never sent changes nothing.
        assert client.sendmail("", [DESK_ADDRESS], delivery_report("<stranger@cust.test>")) == {}
    [note] = [m for m in messages(agent, conv_id) if m["kind"] == "activity" and "undelivered" in m["body"]]
    assert (
        "rita@cust.test" in note["body"] and "5.1.1" in note["body"] and "mailbox unavailable" in note["body"]
    )
    assert agent.get(f"/conversations/{conv_id}").json()["status"] == "resolved"
    assert [c["id"] for c in conversations(agent)] == [conv_id]
    assert len(sink.messages()) == 1  # nothing answered the report


# --- mail out -------------------------------------------------------------------------------


def test_a_relay_outage_delays_a_reply_and_it_is_delivered_once_when_the_relay_returns(
    mail: MailDesk, sink: RelaySink
) -> None:
    agent = mail.desk.agent
    conv_id = first_conversation(mail, customer_mail())["id"]
    reply(agent, conv_id, "First answer, written while the relay is down.")
    wait_for(lambda: mail.outbox() and mail.outbox()[0]["attempts"] >= 2, what="two failed tries")
    assert mail.outbox()[0]["state"] == "pending" and sink.messages() == []

    sink.start()
    wait_for(lambda: mail.outbox()[0]["state"] == "sent", what="the reply sent after the outage")
    reply(agent, conv_id, "Second answer.")
    wait_for(lambda: len(sink.messages()) >= 2, what="the second reply")
    bodies = [m.get_content().strip() for m in sink.messages()]
    assert bodies == ["First answer, written while the relay is down.", "Second answer."]


def test_a_reply_queued_during_an_outage_survives_a_restart_and_goes_out_once(
    mail: MailDesk, sink: RelaySink
) -> None:
    conv_id = first_conversation(mail, customer_mail())["id"]
    reply(mail.desk.agent, conv_id, "Queued before the restart.")
    wait_for(lambda: mail.outbox() and mail.outbox()[0]["attempts"] >= 1, what="a failed try")

    mail.restart()
    sink.start()
    wait_for(lambda: mail.outbox()[0]["state"] == "sent", what="the reply sent after the restart")
    reply(mail.desk.agent, conv_id, "After the restart.")
    wait_for(lambda: len(sink.messages()) >= 2, what="the second reply")
    bodies = [m.get_content().strip() for m in sink.messages()]
    assert bodies == ["Queued before the restart.", "After the restart."]
    assert len({m["Message-ID"] for m in sink.messages()}) == 2


def test_a_refused_recipient_fails_the_reply_and_tells_the_agent(mail: MailDesk, sink: RelaySink) -> None:
    sink.start()
    conv_id = first_conversation(mail, customer_mail(sender="gone@cust.test"), "gone@cust.test")["id"]
    reply(mail.desk.agent, conv_id, "Hello?")
    note = wait_for(
        lambda: [m for m in messages(mail.desk.agent, conv_id) if m["kind"] == "activity"],
        what="the not-delivered note",
    )
    assert "not delivered" in note[0]["body"] and "550" in note[0]["body"]
    assert mail.outbox()[0]["state"] == "failed" and sink.messages() == []


def test_only_replies_to_mail_the_desk_received_are_mailed(mail: MailDesk, sink: RelaySink) -> None:
    """Not private notes, not other channels, not email conversations an integration posted."""
    sink.start()
    conv_id = first_conversation(mail, customer_mail())["id"]
    note = mail.desk.agent.post(
        f"/conversations/{conv_id}/messages", json={"body": "internal", "private": True}
    )
    assert note.status_code == 201
    chat = mail.desk.admin.post(
        "/inbound",
        json={"channel": "web_chat", "contact": {"name": "Web", "email": "web@cust.test"}, "body": "hi"},
    ).json()
    reply(mail.desk.agent, chat["conversation_id"], "chat answer")
    # An email-channel conversation an integration posted is answered by that integration.
    posted = mail.desk.admin.post(
        "/inbound",
        json={"channel": "email", "contact": {"name": "Gw", "email": "gw@cust.test"}, "body": "via gateway"},
    ).json()
    reply(mail.desk.agent, posted["conversation_id"], "gateway answer")
    reply(mail.desk.agent, conv_id, "the email answer")
    # A mail without a Message-ID (some scripts send them) is still answered.
    bare = customer_mail(sender="bare@cust.test", subject="no id")
    del bare["Message-ID"]
    bare_id = first_conversation(mail, bare, "bare@cust.test")["id"]
    reply(mail.desk.agent, bare_id, "answer without an id to answer")
    wait_for(lambda: len(sink.messages()) >= 2, what="the email replies")
    assert [m.get_content().strip() for m in sink.messages()] == [
        "the email answer",
        "answer without an id to answer",
    ]
    assert [m["To"] for m in sink.messages()] == ["rita@cust.test", "bare@cust.test"]
    assert len(mail.outbox()) == 2


# --- the relay's STARTTLS and login ----------------------------------------------------------


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1 (the openssl command line)."""
    cert, key = folder / "relay.pem", folder / "relay.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def test_replies_go_out_over_starttls_with_the_relay_login_and_the_password_stays_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):  # noqa: ANN001
        logins.append((auth_data.login, auth_data.password))
        ok = (auth_data.login, auth_data.password) == (b"desk-user", b"s3cret-pw")
        return AuthResult(success=ok, handled=False)  # the sink answers 235 or 535 itself

    sink = RelaySink(
        tls_context=context, require_starttls=True, authenticator=authenticator, auth_required=True
    )
    monkeypatch.setenv("AGENT_CONSOLE_SMTP_PASSWORD", "wrong-pw")
    relay_args = (
        "--smtp-relay-tls",
        "starttls",
        "--smtp-relay-ca",
        str(cert),
        "--smtp-relay-user",
        "desk-user",
    )
    mail = start_mail_desk(tmp_path / "desk.db", sink, relay_args=relay_args)
    try:
        sink.start()
        conv_id = first_conversation(mail, customer_mail())["id"]
        reply(mail.desk.agent, conv_id, "Over TLS.")
        # A wrong password: refused, kept, tried again; never delivered, never logged.
        wait_for(lambda: mail.outbox()[0]["attempts"] >= 2, what="tries with the wrong password")
        assert sink.messages() == [] and logins[0] == (b"desk-user", b"wrong-pw")
        assert mail.outbox()[0]["state"] == "pending"
        logged = list(mail.desk.server.stderr_lines)
        assert any("not sent" in line for line in logged), logged  # the failure is logged ...
        assert not any("wrong-pw" in line for line in logged)  # ... without the password
        monkeypatch.setenv("AGENT_CONSOLE_SMTP_PASSWORD", "s3cret-pw")
        mail.restart()  # the operator fixes the password and restarts: the reply goes out
        wait_for(lambda: mail.outbox()[0]["state"] == "sent", what="the reply after the fix")
        assert [m.get_content().strip() for m in sink.messages()] == ["Over TLS."]
        assert sink.sessions == [(True, True)] and logins[-1] == (b"desk-user", b"s3cret-pw")
        assert not any("s3cret-pw" in line for line in mail.desk.server.stderr_lines)
    finally:
        mail.desk.server.stop()
        sink.stop()


def test_replies_go_out_over_implicit_tls_and_never_to_a_relay_with_an_untrusted_certificate(
    tmp_path: Path,
) -> None:
    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    sink = RelaySink(ssl_context=context)
    # First without the CA: the relay's certificate is not trusted, so nothing goes out.
    mail = start_mail_desk(tmp_path / "desk.db", sink, relay_args=("--smtp-relay-tls", "tls"))
    try:
        sink.start()
        conv_id = first_conversation(mail, customer_mail())["id"]
        reply(mail.desk.agent, conv_id, "Over implicit TLS.")
        wait_for(lambda: mail.outbox()[0]["attempts"] >= 2, what="tries against the untrusted relay")
        assert "CERTIFICATE_VERIFY_FAILED" in mail.outbox()[0]["last_error"] and sink.messages() == []
        mail.args = (*mail.args, "--smtp-relay-ca", str(cert))
        mail.restart()
        wait_for(lambda: mail.outbox()[0]["state"] == "sent", what="the reply once the CA is given")
        assert [m.get_content().strip() for m in sink.messages()] == ["Over implicit TLS."]
        assert sink.sessions == [(True, False)]
    finally:
        mail.desk.server.stop()
        sink.stop()
