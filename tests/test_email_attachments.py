"""Attachments from the agent's side: the CLI lists and saves them, REST refuses bad asks with
the error shape, and the thread draws them as literal text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_support import base_env, invoke
from tests.mail_support import MailDesk, RelaySink, customer_mail, start_mail_desk

pytestmark = pytest.mark.timeout(180)

HOSTILE = "..\\..\\x\x1b[2J\x1b]8;;https://evil.test\x07[bold]click[/bold]\u202eexe.pdf"


@pytest.fixture(scope="module")
def mail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MailDesk, int, list[dict]]]:
    """One desk with one mail carrying three files (one over the limit), and another conversation."""
    running = start_mail_desk(tmp_path_factory.mktemp("mail") / "desk.db", RelaySink())
    message = customer_mail(message_id="<att@cust.test>")
    message.add_attachment(
        b"%PDF-1.4 the invoice", maintype="application", subtype="pdf", filename="invoice.pdf"
    )
    message.add_attachment(b"plain bytes", maintype="text", subtype="plain", filename=HOSTILE)
    message.add_attachment(b"y" * 4000, maintype="image", subtype="png", filename="big.png")
    assert running.send(message) == {}
    running.send(customer_mail(sender="other@cust.test", subject="other"))
    items = running.desk.agent.get("/conversations", params={"status": "all"}).json()["items"]
    conv_id = next(c["id"] for c in items if c["contact"]["email"] == "rita@cust.test")
    files = running.desk.agent.get(f"/conversations/{conv_id}/attachments").json()["items"]
    yield running, conv_id, files
    running.desk.server.stop()


@pytest.fixture
def env(mail: tuple[MailDesk, int, list[dict]], tmp_path: Path) -> dict[str, str | None]:
    desk = mail[0].desk
    return base_env(tmp_path, AGENT_CONSOLE_SERVER=desk.url, AGENT_CONSOLE_TOKEN=desk.agent_token)


def test_cli_lists_attachments_with_untrusted_names_made_safe(mail, env) -> None:
    _, conv_id, files = mail
    ran = invoke("conv", str(conv_id), "attachments", env=env)
    assert ran.code == 0, ran
    assert "invoice.pdf" in ran.stdout and "application/pdf" in ran.stdout and "big.png" in ran.stdout
    assert "\x1b" not in ran.stdout and "\u202e" not in ran.stdout and "\x07" not in ran.stdout
    as_json = invoke("conv", str(conv_id), "attachments", "-o", "json", env=env)
    assert as_json.json() == files  # JSON is the data, exactly as the server has it


def test_cli_saves_an_attachment_and_never_overwrites_without_force(mail, env, tmp_path: Path) -> None:
    _, conv_id, files = mail
    target = tmp_path / "saved.bin"
    hostile_id = files[1]["id"]
    ran = invoke("conv", str(conv_id), "attachment", str(hostile_id), "--save", str(target), env=env)
    assert ran.code == 0, ran
    assert target.read_bytes() == b"plain bytes"
    assert target.stat().st_mode & 0o077 == 0
    assert sorted(p.name for p in tmp_path.iterdir() if "x" in p.name.lower() and p != target) == []

    again = invoke("conv", str(conv_id), "attachment", str(files[0]["id"]), "--save", str(target), env=env)
    assert again.code == 1 and "--force" in again.stderr
    assert target.read_bytes() == b"plain bytes"
    forced = invoke(
        "conv", str(conv_id), "attachment", str(files[0]["id"]), "--save", str(target), "--force", env=env
    )
    assert forced.code == 0, forced
    assert target.read_bytes() == b"%PDF-1.4 the invoice"

    folder = invoke("conv", str(conv_id), "attachment", str(files[0]["id"]), "--save", str(tmp_path), env=env)
    assert folder.code == 2
    too_big = invoke(
        "conv", str(conv_id), "attachment", str(files[2]["id"]), "--save", str(tmp_path / "b"), env=env
    )
    assert too_big.code == 5 and "size limit" in too_big.stderr
    assert not (tmp_path / "b").exists()


def test_cli_refuses_an_attachment_of_another_conversation(mail, env, tmp_path: Path) -> None:
    desk, conv_id, files = mail
    items = desk.desk.agent.get("/conversations", params={"status": "all"}).json()["items"]
    other = next(c["id"] for c in items if c["id"] != conv_id)
    ran = invoke(
        "conv", str(other), "attachment", str(files[0]["id"]), "--save", str(tmp_path / "f"), env=env
    )
    assert ran.code == 4 and f"no attachment {files[0]['id']}" in ran.stderr
    assert not (tmp_path / "f").exists()


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/attachments/999999", 404),
        ("/attachments/999999/content", 404),
        ("/conversations/999999/attachments", 404),
        ("/attachments/0", 422),
        ("/attachments/abc", 404),
        ("/attachments/1?inline=1", 422),
    ],
)
def test_rest_refuses_bad_attachment_requests_with_the_error_shape(mail, path: str, status: int) -> None:
    answer = mail[0].desk.agent.get(path)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] and error["message"]


def test_rest_attachments_need_a_token_and_are_in_the_openapi_document(mail) -> None:
    desk = mail[0].desk
    assert desk.client().get(f"/attachments/{mail[2][0]['id']}/content").status_code == 401
    document = desk.agent.get("/openapi.json").json()
    for path in (
        "/api/v1/conversations/{conversation_id}/attachments",
        "/api/v1/attachments/{attachment_id}",
        "/api/v1/attachments/{attachment_id}/content",
    ):
        assert "get" in document["paths"][path]
    assert "409" in document["paths"]["/api/v1/attachments/{attachment_id}/content"]["get"]["responses"]
    message = document["components"]["schemas"]["Message"]
    assert "attachments" in message["properties"]


async def test_the_console_thread_shows_attachments_as_literal_text(mail, tmp_path: Path) -> None:
    from tests.test_tui_flows import WIDE, focus_conversation, make_app, ready
    from tests.tui_helpers import screen_text, wait_for

    running, conv_id, _ = mail
    app = make_app(running.desk, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await focus_conversation(pilot, conv_id, "Rita")
        await wait_for(pilot, lambda: "invoice.pdf" in screen_text(app), what="the attachment line")
        shown = screen_text(app)
        assert "application/pdf" in shown and "20 B" in shown
        assert "big.png" in shown and "not kept" in shown
        # The hostile name: brackets drawn as they are (never markup), controls as placeholders.
        assert "[bold]click" in shown and "␛]8;;https://evil.test␇" in shown
        assert "\x1b" not in shown and "\u202e" not in shown
