"""The FAQ bot on the desk server's store (a real SQLite database seeded with the demo desk):
each hand-off trigger in several languages, bot-resolved conversations, the honest "when will
a person answer", sending a conversation back to the bot, and the events agents receive.

The HTTP side (routes, the widget customer end to end, hostile input) is in test_bot_api.py."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent_console.core.models import (
    ConversationPatch,
    InboundContact,
    InboundMessage,
    SlaBusinessHours,
    SlaHoursRange,
    SlaPolicyInput,
)
from agent_console.server import bot_text, db
from agent_console.server.seed import seed_demo
from agent_console.server.store import Conflict, PendingEvent, Store

DEMO_NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bot") / "demo.db"
    conn = db.connect(path)
    seed_demo(conn, now=DEMO_NOW)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path


@pytest.fixture
def store(template: Path, tmp_path: Path) -> Iterator[Store]:
    path = tmp_path / "desk.db"
    shutil.copy(template, path)
    events: list[PendingEvent] = []
    running = Store(db.connect(path), listener=events.extend)
    running.events_seen = events  # type: ignore[attr-defined]
    running.set_bot_channel("web_chat", True)
    yield running
    running.conn.close()


class Customer:
    """One customer writing on the web chat channel (the inbound path every channel takes)."""

    def __init__(self, store: Store, language: str, name: str = "Cass") -> None:
        self.store = store
        self.language = language
        self.email = f"{name.lower()}-{language}-{id(self)}@customers.example"
        self.name = name
        self.conversation_id: int | None = None

    def say(self, text: str) -> list[dict]:
        """Send `text`; return what the conversation got after it (the bot's lines and notes)."""
        result = self.store.inbound(
            InboundMessage(
                channel="web_chat",
                contact=InboundContact(name=self.name, email=self.email, language=self.language),
                body=text,
                conversation_id=self.conversation_id,
            )
        )
        self.conversation_id = result.conversation_id
        rows = self.store.conn.execute(
            "SELECT kind, author_type, body FROM messages WHERE conversation_id = ? AND id > ? ORDER BY id",
            (result.conversation_id, result.message.id),
        ).fetchall()
        return [dict(r) for r in rows]

    @property
    def conversation(self):  # noqa: ANN201 - a Conversation
        assert self.conversation_id is not None
        return self.store.get_conversation(self.conversation_id)


def bot_lines(after: list[dict]) -> list[str]:
    return [m["body"] for m in after if m["kind"] == "bot"]


def assert_handed_off(customer: Customer, after: list[dict], code: str) -> None:
    conversation = customer.conversation
    assert (conversation.status, conversation.bot_status, conversation.bot_reason) == (
        "open",
        "handed_off",
        code,
    ), after
    # The customer is told, in their language; the agents get a private note with the reason
    # and the transcript, written by the bot.
    said = bot_lines(after)
    assert said and said[0].startswith(bot_text.say(customer.language, "handoff")), said
    notes = [m for m in after if m["kind"] == "note"]
    assert len(notes) == 1 and notes[0]["author_type"] == "bot"
    assert f"[{code}]" in notes[0]["body"] and "Transcript:" in notes[0]["body"]
    assert conversation.bot_reason_text and conversation.bot_reason_text in notes[0]["body"]


# --- answering -------------------------------------------------------------------------------


def test_a_new_web_chat_starts_with_the_bot_and_gets_an_article_in_its_language(store: Store) -> None:
    customer = Customer(store, "es")
    after = customer.say("¿Cómo instalo la eSIM en mi iPhone?")
    conversation = customer.conversation
    assert (conversation.status, conversation.bot_status) == ("pending", "active")
    [answer] = bot_lines(after)
    article = store.conn.execute(
        "SELECT id, title FROM kb_articles WHERE slug = 'instalar-esim-iphone' AND locale = 'es'"
    ).fetchone()
    assert answer.startswith(bot_text.say("es", "answer"))
    assert article["title"] in answer and f"/kb/{article['id']}" in answer
    assert "**" not in answer  # quoted as plain text, not Markdown
    assert answer.endswith(bot_text.say("es", "ask"))


def test_channels_without_the_bot_go_straight_to_people(store: Store) -> None:
    result = store.inbound(
        InboundMessage(
            channel="email",
            contact=InboundContact(name="Mail", email="mail@customers.example"),
            body="How do I install the eSIM on my iPhone?",
        )
    )
    conversation = store.get_conversation(result.conversation_id)
    assert (conversation.status, conversation.bot_status) == ("open", None)
    assert (
        store.conn.execute(
            "SELECT count(*) FROM messages WHERE conversation_id = ? AND kind = 'bot'", (conversation.id,)
        ).fetchone()[0]
        == 0
    )


# --- hand-offs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "My courier lost the parcel with my new SIM card"),
        ("es", "Mi pedido tiene el nombre mal escrito"),
        ("de", "Wo finde ich meine Rechnung für die Steuer?"),
        ("fr", "Je n'ai plus de données en Espagne"),
        ("ja", "iPhoneにeSIMをインストールする方法を教えてください"),
    ],
)
def test_low_confidence_hands_off(store: Store, language: str, text: str) -> None:
    customer = Customer(store, language)
    after = customer.say(text)
    assert_handed_off(customer, after, "low_confidence")


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "can you get me a real person"),
        ("es", "quiero hablar con un humano ya"),
        ("de", "Ich will mit einem Mitarbeiter sprechen"),
        ("fr", "je veux parler à un conseiller"),
        ("pt", "quero falar com um atendente"),
        ("ja", "人間と話したいです"),
    ],
)
def test_asking_for_a_person_hands_off_at_once(store: Store, language: str, text: str) -> None:
    customer = Customer(store, language)
    after = customer.say(text)
    assert_handed_off(customer, after, "asked_for_human")


@pytest.mark.parametrize(
    "text",
    [
        "My operator at home blocks roaming, what APN settings should I use?",
        "Mi operador no me deja usar datos en el extranjero",
        "Mon opérateur bloque les données à l'étranger",
        "Meu operador não funciona no exterior",
    ],
)
def test_a_carrier_is_not_a_request_for_a_person(text: str) -> None:
    assert bot_text.asks_for_person(text) is None


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "This is ridiculous, my eSIM install failed three times"),
        ("es", "Es una vergüenza, la eSIM no se instala en mi iPhone"),
        ("de", "Das ist eine Frechheit, die eSIM auf meinem iPhone funktioniert nicht"),
        ("fr", "C'est scandaleux, l'eSIM ne s'installe pas sur mon Android"),
        ("pt", "Isso é um absurdo, o eSIM não instala no meu iPhone"),
        ("en", "WHY DOES MY ESIM NOT WORK ON MY IPHONE"),
    ],
)
def test_an_upset_customer_is_handed_off(store: Store, language: str, text: str) -> None:
    """Upset words or shouting (core/triage's rules): a person, not an article, even when an
    article would match."""
    customer = Customer(store, language)
    after = customer.say(text)
    assert_handed_off(customer, after, "upset")
    assert "upset" in (customer.conversation.bot_reason_text or "")


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "My account was hacked and someone else logged in"),
        ("es", "Me hackearon la cuenta y no puedo entrar"),
        ("de", "Mein Konto wurde gehackt, ich komme nicht mehr rein"),
        ("fr", "Mon compte a été piraté, je ne peux plus me connecter"),
    ],
)
def test_an_urgent_case_is_handed_off(store: Store, language: str, text: str) -> None:
    customer = Customer(store, language)
    after = customer.say(text)
    assert_handed_off(customer, after, "urgent")
    assert "security words" in (customer.conversation.bot_reason_text or "")


@pytest.mark.parametrize(
    ("language", "first", "second", "third"),
    [
        ("en", "How do I install the eSIM on my iPhone?", "No. How do I top up more data?", "no"),
        (
            "es",
            "¿Cómo instalo la eSIM en mi iPhone?",
            "No. ¿Cómo puedo recargar más datos en mi plan activo?",
            "no",
        ),
        (
            "de",
            "Wie installiere ich die eSIM auf meinem iPhone?",
            "Nein. Mir wurde doppelt abgebucht",
            "nein",
        ),
        (
            "fr",
            "Comment installer l'eSIM sur mon téléphone Android ?",
            "Non. Quand expire mon forfait ?",
            "non",
        ),
    ],
)
def test_two_unhelpful_answers_hand_off(
    store: Store, language: str, first: str, second: str, third: str
) -> None:
    customer = Customer(store, language)
    assert len(bot_lines(customer.say(first))) == 1
    assert len(bot_lines(customer.say(second))) == 1  # one unhelpful answer: it tries again
    assert customer.conversation.bot_status == "active"
    after = customer.say(third)
    assert_handed_off(customer, after, "unhelpful")


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "How do I install the eSIM on my iPhone?"),
        ("es", "¿Cómo instalo la eSIM en mi iPhone?"),
        ("de", "Wie installiere ich die eSIM auf meinem iPhone?"),
        ("fr", "Comment installer l'eSIM sur mon téléphone Android ?"),
    ],
)
def test_an_error_in_the_bot_hands_off_and_keeps_the_message(store: Store, language: str, text: str) -> None:
    def broken(_text: str) -> None:
        raise RuntimeError("the knowledge base is on fire")

    store.bot_fault = broken
    customer = Customer(store, language)
    after = customer.say(text)
    assert_handed_off(customer, after, "error")
    assert "RuntimeError" in (customer.conversation.bot_reason_text or "")
    kinds = [
        r[0]
        for r in store.conn.execute(
            "SELECT kind FROM messages WHERE conversation_id = ? ORDER BY id", (customer.conversation_id,)
        )
    ]
    assert kinds.count("incoming") == 1  # the customer's message is kept whatever the bot did


def test_an_error_midway_takes_back_what_the_bot_had_written(store: Store) -> None:
    """A failure after the bot wrote part of its turn: that part is rolled back, not half-sent."""
    calls = {"n": 0}
    real = Store._bot_answer

    def half(self: Store, tx, conversation_id, best, language) -> None:  # noqa: ANN001
        real(self, tx, conversation_id, best, language)
        calls["n"] += 1
        raise OSError("disk hiccup after the answer was written")

    store._bot_answer = half.__get__(store)  # type: ignore[method-assign]
    customer = Customer(store, "en")
    after = customer.say("How do I install the eSIM on my iPhone?")
    assert calls["n"] == 1
    assert_handed_off(customer, after, "error")
    assert not any("help center" in line for line in bot_lines(after))
    seqs = [e.seq for e in store.events_seen]  # type: ignore[attr-defined]
    assert seqs == sorted(set(seqs)) and seqs == list(range(seqs[0], seqs[0] + len(seqs)))


# --- solved ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "question", "yes"),
    [
        ("en", "How do I install the eSIM on my iPhone?", "Yes, that solved it"),
        ("es", "¿Cómo instalo la eSIM en mi iPhone?", "sí, gracias"),
        ("de", "Wie installiere ich die eSIM auf meinem iPhone?", "Ja, danke!"),
        ("fr", "Le QR code dit qu'il a déjà été utilisé", "oui merci"),
        ("pt", "Como instalo o eSIM no meu iPhone?", "Sim, resolvido"),
    ],
)
def test_yes_resolves_as_bot_resolved(store: Store, language: str, question: str, yes: str) -> None:
    customer = Customer(store, language)
    customer.say(question)
    before = len(store.events_seen)  # type: ignore[attr-defined]
    after = customer.say(yes)
    conversation = customer.conversation
    assert (conversation.status, conversation.bot_status) == ("resolved", "resolved")
    assert bot_lines(after) == [bot_text.say(language, "solved")]
    events = store.events_seen[before:]  # type: ignore[attr-defined]
    resolved = [json.loads(e.data) for e in events if e.type == "conversation.bot_resolved"]
    assert [r["conversation_id"] for r in resolved] == [conversation.id]


def test_the_widget_button_text_counts_as_yes_in_every_language() -> None:
    for language in bot_text.LANGUAGES:
        assert bot_text.says_solved(bot_text.say(language, "yes")), language


@pytest.mark.parametrize(
    "text", ["yes but it still does not work", "no", "thanks, but no", "いいえ、まだです", "Ja, aber nicht"]
)
def test_a_yes_with_a_but_is_not_solved(text: str) -> None:
    assert not bot_text.says_solved(text)


def test_yes_before_any_answer_is_not_a_resolution(store: Store) -> None:
    customer = Customer(store, "en")
    after = customer.say("yes")
    assert_handed_off(customer, after, "low_confidence")


# --- nobody online ---------------------------------------------------------------------------


def test_nobody_online_says_when_the_desk_opens_in_the_customers_language(tmp_path: Path) -> None:
    """Saturday 03:00 UTC, nobody online, web chat policy open Mon-Fri 09:00-17:00 in Madrid:
    the bot tells a German customer in Berlin that people answer from Monday 09:00."""
    store = Store(db.connect(tmp_path / "empty.db"))
    store.set_bot_channel("web_chat", True)
    store.create_agent(name="Off Duty", email="off@desk.example")
    store.create_sla_policy(
        SlaPolicyInput(
            name="Web chat, office hours",
            position=1,
            channels=["web_chat"],
            first_response_s=3600,
            business_hours=SlaBusinessHours(
                zone="Europe/Madrid",
                hours=[
                    SlaHoursRange(day=d, start="09:00", end="17:00")
                    for d in ("mon", "tue", "wed", "thu", "fri")
                ],
            ),
        )
    )
    store.bot_clock = lambda: datetime(2026, 11, 28, 3, 0, tzinfo=UTC)  # a Saturday
    result = store.inbound(
        InboundMessage(
            channel="web_chat",
            contact=InboundContact(
                name="Bea", email="bea@customers.example", language="de", timezone="Europe/Berlin"
            ),
            body="Ich möchte mit einem Menschen sprechen",
        )
    )
    [said] = [
        r[0]
        for r in store.conn.execute(
            "SELECT body FROM messages WHERE conversation_id = ? AND kind = 'bot'", (result.conversation_id,)
        )
    ]
    assert "Gerade ist niemand aus dem Team online" in said
    assert "Montag 30.11. 09:00 (Europe/Berlin)" in said  # 09:00 Madrid is 09:00 Berlin

    # Someone comes online: the next customer hears "shortly" instead.
    agent = store.find_agent_by_email("off@desk.example")
    assert agent is not None
    store.set_presence(agent.id, "online")
    second = store.inbound(
        InboundMessage(
            channel="web_chat",
            contact=InboundContact(name="Ana", email="ana@customers.example", language="es"),
            body="quiero hablar con una persona",
        )
    )
    [said] = [
        r[0]
        for r in store.conn.execute(
            "SELECT body FROM messages WHERE conversation_id = ? AND kind = 'bot'", (second.conversation_id,)
        )
    ]
    assert said.endswith(bot_text.say("es", "soon"))
    store.conn.close()


# --- agents and the bot ----------------------------------------------------------------------


def test_handoff_event_carries_reason_code_and_text(store: Store) -> None:
    customer = Customer(store, "fr")
    before = len(store.events_seen)  # type: ignore[attr-defined]
    customer.say("Passez-moi une vraie personne s'il vous plaît")
    events = store.events_seen[before:]  # type: ignore[attr-defined]
    types = [e.type for e in events]
    assert "conversation.bot_handoff" in types and "conversation.updated" in types
    handoff = json.loads(next(e.data for e in events if e.type == "conversation.bot_handoff"))
    assert handoff["reason"] == "asked_for_human" and "vraie personne" in handoff["text"]
    assert handoff["conversation"]["status"] == "open"
    # The conversation never showed as open to agents before the hand-off (no flash in the queue).
    created = [json.loads(e.data) for e in events if e.type == "conversation.created"]
    assert all(c["conversation"]["status"] == "pending" for c in created)


def test_sending_back_to_the_bot_and_an_agent_taking_over(store: Store) -> None:
    customer = Customer(store, "en")
    customer.say("I want to talk to a human please")
    agent = store.list_agents()[0]
    back = store.patch_conversation(
        customer.conversation_id, ConversationPatch(status="pending", bot=True), agent
    )
    assert (back.status, back.bot_status, back.bot_reason) == ("pending", "active", None)
    # The bot answers the next message again.
    after = customer.say("How do I install the eSIM on my iPhone?")
    assert len(bot_lines(after)) == 1 and customer.conversation.bot_status == "active"
    # An agent opening it (status open) stops the bot: the customer's next message is theirs.
    stopped = store.patch_conversation(customer.conversation_id, ConversationPatch(status="open"), agent)
    assert stopped.bot_status == "stopped"
    assert bot_lines(customer.say("hello?")) == []
    with pytest.raises(Conflict):
        store.patch_conversation(
            customer.conversation_id, ConversationPatch(status="resolved", bot=True), agent
        )
    assert customer.conversation.bot_status == "stopped"


def test_an_email_conversation_cannot_go_to_the_bot(store: Store) -> None:
    """The relay mails agents' replies only: a bot on email would talk to nobody."""
    result = store.inbound(
        InboundMessage(
            channel="email",
            contact=InboundContact(name="Mail", email="mail2@customers.example"),
            body="How do I install the eSIM on my iPhone?",
        )
    )
    agent = store.list_agents()[0]
    with pytest.raises(Conflict):
        store.patch_conversation(result.conversation_id, ConversationPatch(status="pending", bot=True), agent)
    with pytest.raises(Conflict):
        store.set_bot_channel("email", True)
    assert store.get_conversation(result.conversation_id).bot_status is None


def test_a_customer_writing_again_does_not_reopen_a_bot_conversation(store: Store) -> None:
    customer = Customer(store, "en")
    customer.say("How do I install the eSIM on my iPhone?")
    customer.say("No. How do I top up more data?")
    assert customer.conversation.status == "pending"
