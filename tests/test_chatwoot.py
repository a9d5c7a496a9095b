"""The Chatwoot adapter against the emulator: reads, writes, quirks, limits (issue #11).

Every request the adapter makes and every answer it reads is judged by Chatwoot's published
OpenAPI document (the `chatwoot` fixture fails the test on any violation).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from agent_console.client.chatwoot.http import RateBudget
from agent_console.client.errors import Conflict, NotAuthenticated, NotAvailable
from agent_console.core.models import ConversationPatch


async def test_reads_map_chatwoot_onto_the_console_models(chatwoot) -> None:
    backend = chatwoot.backend()
    try:
        me = await backend.me()
        assert (me.id, me.name, me.role) == (chatwoot.agent.id, "Night Agent", "agent")
        desk = await backend.desk()
        assert desk.name == "Acme Support" and desk.id.endswith(":1")
        assert {a.name for a in await backend.agents()} == {"Ana Ruiz", "Night Agent", "Bo Chen"}
        assert [t.name for t in await backend.teams()] == ["Billing", "Tech"]

        page = await backend.conversations(view="all", statuses=("open", "pending", "snoozed"), limit=100)
        by_id = {c.id: c for c in page.items}
        assert set(by_id) == {1, 2, 3, 4, 5}  # #6 is resolved
        assert by_id[2].priority == "urgent" and by_id[2].assignee is not None
        assert by_id[2].assignee.name == "Night Agent"
        assert by_id[3].team is not None and by_id[3].team.name == "Billing"
        assert by_id[3].labels == ["billing", "plans"]
        assert by_id[4].status == "pending"
        assert by_id[5].status == "snoozed" and by_id[5].snoozed_until is not None
        assert by_id[1].contact.name == "Maya Patel" and by_id[1].channel == "email"
        assert by_id[1].subject == "My invoice shows the wrong VAT number"
        assert by_id[1].last_message is not None and by_id[1].last_message.kind == "incoming"
        assert page.counts.all == 5 and page.counts.mine == 1 and page.counts.urgent == 1

        mine = await backend.conversations(view="mine", statuses=("open",))
        assert [c.id for c in mine.items] == [2]
        resolved = await backend.conversations(view="all", statuses=("resolved",))
        assert [c.id for c in resolved.items] == [6]
        thread = await backend.messages(6)
        assert [m.kind for m in thread][:2] == ["incoming", "outgoing"]
        assert thread[1].author.type == "agent" and thread[1].author.name == "Ana Ruiz"
        assert thread[-1].kind == "activity"
        assert [c.id for c in (await backend.conversations(view="all", statuses=(), contact_id=2)).items] == [
            2
        ]
        assert (await backend.contact(1)).email == "maya@cust.example"
        assert [c.name for c in await backend.contacts(search="jonas")] == ["Jonas Berg"]
        assert [c.shortcode for c in await backend.canned_responses(query="spam")] == ["reset"]
        hits = await backend.kb_search("refund")
        assert [h.title for h in hits] == ["Refunds"] and "\ue000" in hits[0].snippet
        assert (await backend.kb_article(hits[0].id)).body.startswith("Refunds take")
    finally:
        await backend.aclose()


async def test_long_lists_and_threads_are_paged_to_the_end(chatwoot) -> None:
    """Chatwoot pages conversations 25 at a time and messages 20 back / 100 forward."""

    def grow() -> None:
        for n in range(40):
            contact = chatwoot.account.add_contact(f"Bulk {n}", f"bulk{n}@cust.example")
            chatwoot.account.open_conversation(contact, f"bulk question {n}")
        for n in range(130):
            chatwoot.account.customer_message(1, f"line {n}")

    chatwoot.emulator.call(grow)
    backend = chatwoot.backend()
    try:
        page = await backend.conversations(view="all", statuses=("open",), limit=500)
        assert len({c.id for c in page.items}) == 43 and page.next_cursor is None
        first = await backend.conversations(view="all", statuses=("open",), limit=30)
        rest = await backend.conversations(
            view="all", statuses=("open",), limit=500, cursor=first.next_cursor
        )
        assert {c.id for c in first.items} | {c.id for c in rest.items} == {c.id for c in page.items}
        thread = await backend.messages(1)
        assert [m.body for m in thread][-130:] == [f"line {n}" for n in range(130)]
        assert thread[0].body == "My invoice shows the wrong VAT number"
        after = await backend.messages(1, after=thread[10].id)
        assert [m.id for m in after] == [m.id for m in thread[11:]]
    finally:
        await backend.aclose()


async def test_actions_go_through_chatwoots_own_routes(chatwoot) -> None:
    backend = chatwoot.backend()
    row = chatwoot.account.conversations[1]
    try:
        await backend.conversation(1)
        done = await backend.update_conversation(
            1, ConversationPatch(status="pending", priority="high", assignee_id=chatwoot.agent.id, team_id=1)
        )
        assert (
            done.status,
            done.priority,
            done.assignee and done.assignee.id,
            done.team and done.team.id,
        ) == (
            "pending",
            "high",
            chatwoot.agent.id,
            1,
        )
        assert (row.status, row.priority, row.assignee_id, row.team_id) == (
            "pending",
            "high",
            chatwoot.agent.id,
            1,
        )
        wake = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
        snoozed = await backend.update_conversation(1, ConversationPatch(snoozed_until=wake))
        assert snoozed.status == "snoozed" and snoozed.snoozed_until == wake
        cleared = await backend.update_conversation(
            1, ConversationPatch(assignee_id=None, team_id=None, priority="normal", snoozed_until=None)
        )
        assert (cleared.assignee, cleared.team, cleared.priority, cleared.status) == (
            None,
            None,
            "normal",
            "open",
        )
        assert row.priority is None and row.assignee_id is None  # "normal" is Chatwoot's "none"
    finally:
        await backend.aclose()


async def test_labels_merge_with_a_colleagues_change_instead_of_overwriting_it(chatwoot) -> None:
    """Chatwoot's label POST replaces the whole list: the adapter merges its own change into
    what is there now, so a label a colleague added meanwhile survives."""
    backend = chatwoot.backend()
    try:
        seen = await backend.conversation(3)
        assert seen.labels == ["billing", "plans"]
        chatwoot.emulator.call(
            chatwoot.account.set_labels,
            chatwoot.account.conversations[3],
            chatwoot.admin,
            ["billing", "plans", "vip"],
        )
        # The agent removes "plans" and adds "refund" from the copy they saw (without "vip").
        done = await backend.update_conversation(3, ConversationPatch(labels=["billing", "refund"]))
        assert done.labels == ["billing", "vip", "refund"]
    finally:
        await backend.aclose()


async def test_429_waits_for_retry_after_and_the_budget_spaces_bursts(chatwoot) -> None:
    budget = RateBudget(rate=50.0, burst=3)
    backend = chatwoot.backend(budget=budget)
    try:
        chatwoot.emulator.throttle(2, retry_after="0")
        assert (await backend.me()).name == "Night Agent"
        assert backend.http.throttled == 2
        for _ in range(8):
            await backend.agents()
        assert budget.waited > 0  # the burst of 3 ran out and later calls waited their turn
        chatwoot.emulator.throttle(10, retry_after="0")
        with pytest.raises(Exception) as caught:
            await backend.teams()
        assert getattr(caught.value, "status", None) == 429  # retryable for the outbox
        chatwoot.emulator.throttle(0)
    finally:
        await backend.aclose()


async def test_what_chatwoot_lacks_is_said_plainly(chatwoot) -> None:
    backend = chatwoot.backend(portal=None)
    try:
        for call in (backend.labels(), backend.set_viewing(1, active=True), backend.set_presence("busy")):
            with pytest.raises(NotAvailable, match="not available on Chatwoot"):
                await call
        with pytest.raises(NotAvailable, match="portal"):
            await backend.kb_search("refund")
    finally:
        await backend.aclose()


async def test_a_reply_to_a_thread_that_moved_on_is_held_for_review(chatwoot) -> None:
    backend = chatwoot.backend()
    try:
        thread = await backend.messages(2)
        chatwoot.customer_says(2, "hello? anyone?")
        with pytest.raises(Conflict) as caught:
            await backend.send_message(2, "On it", last_seen_message_id=thread[-1].id)
        assert [m.body for m in caught.value.unseen] == ["hello? anyone?"]
        sent = await backend.send_message(2, "On it", last_seen_message_id=thread[-1].id, force=True)
        assert chatwoot.bodies(2).count("On it") == 1 and sent.kind == "outgoing"
        note = await backend.send_message(2, "customer is on the Pro plan", private=True)
        assert note.kind == "note"
    finally:
        await backend.aclose()


async def test_a_wrong_token_or_account_is_refused(chatwoot) -> None:
    from agent_console.client.chatwoot import ChatwootBackend

    wrong = ChatwootBackend(chatwoot.url, "not-a-token", account_id=1)
    other = ChatwootBackend(chatwoot.url, chatwoot.agent.token, account_id=99)
    try:
        with pytest.raises(NotAuthenticated):
            await wrong.me()
        with pytest.raises(NotAuthenticated, match="account 99"):
            await other.me()
    finally:
        await wrong.aclose()
        await other.aclose()


def test_the_emulator_refuses_what_the_document_does_not_allow(chatwoot) -> None:
    """The judge is real: an undocumented parameter, a body field or a route is a violation."""
    headers = {"api_access_token": chatwoot.agent.token}
    with httpx.Client(base_url=chatwoot.url, headers=headers) as client:
        assert client.get("/api/v1/accounts/1/conversations", params={"sort": "x"}).status_code == 404
        assert (
            client.post(
                "/api/v1/accounts/1/conversations/1/toggle_priority", json={"priority": "medium", "x": 1}
            ).status_code
            == 404
        )
        assert (
            client.post(
                "/api/v1/accounts/1/conversations/1/toggle_status", json={"status": "closed"}
            ).status_code
            == 404
        )
        assert client.get("/api/v1/accounts/1/conversations/1/notes").status_code == 404
    found = list(chatwoot.emulator.violations)
    chatwoot.emulator.violations.clear()
    assert len(found) == 4
    assert "'sort' is not in the document" in found[0]
    assert "does not name: ['x']" in found[1]
    assert "'closed' is not one of" in found[2]
    assert "no such operation" in found[3]


def test_a_chatwoot_profile_is_strict_toml_and_round_trips(tmp_path, monkeypatch) -> None:
    from agent_console.client.config import ConfigError, dump_config, parse_config

    text = (
        '[profiles.cw]\nserver = "https://chat.example.com"\nbackend = "chatwoot"\n'
        'account_id = 3\nportal = "help"\n'
    )
    config = parse_config(text)
    profile = config.profiles["cw"]
    assert (profile.backend, profile.account_id, profile.portal) == ("chatwoot", 3, "help")
    assert parse_config(dump_config(config)).profiles["cw"] == profile  # written back as it was read
    with pytest.raises(ConfigError, match="line 3"):
        parse_config(text.replace('"chatwoot"', '"zendesk"'))
    with pytest.raises(ConfigError, match="account_id"):
        parse_config(text.replace("account_id = 3", "account_id = 0"))
    with pytest.raises(ConfigError, match="account_id"):
        parse_config(text.replace("account_id = 3", 'account_id = "3"'))


async def test_read_marks_use_chatwoots_last_seen(chatwoot) -> None:
    backend = chatwoot.backend()
    try:
        chatwoot.customer_says(2, "still there?")
        assert (await backend.conversation(2)).unread_count >= 1
        read = await backend.mark_read(2, message_id=None)
        assert read.unread_count == 0 and read.agent_id == chatwoot.agent.id
        assert (await backend.conversation(2)).unread_count == 0
        again = await backend.mark_read(2, unread=True)
        assert again.unread_count >= 1
        newest_incoming = max(m.id for m in chatwoot.account.thread(2) if m.message_type == 0)
        assert again.last_read_message_id < newest_incoming
        with pytest.raises(NotAvailable, match="SLA policies"):
            await backend.sla_policies()
    finally:
        await backend.aclose()


async def test_attachments_are_listed_and_downloads_are_said_plainly(chatwoot) -> None:
    def attach() -> int:
        message = chatwoot.account.customer_message(1, "here is the invoice")
        message.attachments = [
            {
                "id": 77,
                "file_type": "file",
                "extension": "pdf",
                "data_url": "https://files.example/rails/active_storage/blobs/invoice-4411.pdf?sig=x",
                "file_size": 48213,
            }
        ]
        return message.id

    message_id = chatwoot.emulator.call(attach)
    backend = chatwoot.backend()
    try:
        listed = await backend.attachments(1)
        assert [(a.id, a.message_id, a.filename, a.size) for a in listed] == [
            (77, message_id, "invoice-4411.pdf", 48213)
        ]
        assert (await backend.attachment(77)).content_type == "file/pdf"
        with pytest.raises(NotAvailable, match="attachment"):
            await backend.attachment_content(77)
    finally:
        await backend.aclose()


def test_the_adapter_has_every_method_of_the_backend_protocol() -> None:
    """A method added to the protocol must be given to Chatwoot too (or raise NotAvailable)."""
    import inspect

    from agent_console.client.backend import Backend
    from agent_console.client.chatwoot import ChatwootBackend

    wanted = {name for name, _ in inspect.getmembers(Backend, inspect.isfunction) if not name.startswith("_")}
    assert wanted - set(dir(ChatwootBackend)) == set()
    for name in wanted:
        theirs = inspect.signature(getattr(Backend, name)).parameters
        ours = inspect.signature(getattr(ChatwootBackend, name)).parameters
        assert set(theirs) <= set(ours), f"{name}: {set(theirs) - set(ours)} missing"
