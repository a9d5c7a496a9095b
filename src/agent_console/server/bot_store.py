"""The FAQ bot on the desk server: a store mixin that takes each customer message of a
conversation the bot handles and answers it from the knowledge base, or hands it to people.

Per channel (table `bot_channels`; web chat is on in the demo, every channel is off on a new
desk) a new conversation starts with the bot, in status `pending`, so it is not in the
humans' queue while the bot handles it. Each customer message then gets one turn
(`_bot_turn`, in the same transaction as the message, so the answer reaches the customer's
feed with it):

- "yes, that solved it" after an answer: resolved by the bot (`conversation.bot_resolved`);
- a request for a person, upset or urgent words (core/triage), a second unhelpful answer, a
  question without a confident article, or any error: handed off (status `open`,
  `conversation.bot_handoff` with the reason's code and text, a private note with the
  reason and the transcript, and an honest line to the customer on when a person answers);
- otherwise: the article quoted as plain text, its public link, and "did that solve it?".

An agent who changes the conversation's status or takes it stops the bot; `bot: true` in a
conversation patch sends it back to the bot.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, get_args
from zoneinfo import ZoneInfo

import msgspec

from agent_console.core import sla
from agent_console.core.clock import utcnow
from agent_console.core.models import Author, BotChannel, Channel, Conversation, ConversationPatch, Message
from agent_console.server import bot, bot_text
from agent_console.server.store_base import Conflict
from agent_console.server.triage_store import decode_triage

if TYPE_CHECKING:
    from agent_console.server.store import Store
    from agent_console.server.store_base import Transaction

log = logging.getLogger(__name__)

BOT_AUTHOR = Author(type="bot", name=bot_text.BOT_NAME)
CHANNELS: tuple[str, ...] = get_args(Channel)
UNHELPFUL_LIMIT = 2
TRANSCRIPT_CHARS = 4000


class BotStoreMixin:
    """Mixed into `Store`: uses its `conn`, `_write`, `_insert_message`, `_stamp`, `_refresh_due`."""

    # The bot's clock for "when will a person answer" (tests set a fixed one).
    bot_clock: Callable[[], datetime] | None = None
    # Called at the start of every bot turn; tests set one that raises, to prove the error hand-off.
    bot_fault: Callable[[str], None] | None = None

    # --- the per-channel setting ---------------------------------------------------------------

    def bot_channels(self: Store) -> list[BotChannel]:
        enabled = {r[0] for r in self.conn.execute("SELECT channel FROM bot_channels WHERE enabled = 1")}
        return [BotChannel(channel=c, enabled=c in enabled) for c in CHANNELS]  # type: ignore[arg-type]

    def set_bot_channel(self: Store, channel: str, enabled: bool) -> BotChannel:
        if enabled and channel == "email":
            # Its replies are `bot` messages, and the mail relay sends agents' replies only: on
            # email the customer would never read the bot. Refused rather than silently unread.
            raise Conflict("the bot cannot answer by email yet (its replies are not mailed)", field="channel")
        with self._write() as tx:
            tx.conn.execute(
                "INSERT INTO bot_channels(channel, enabled) VALUES (?, ?)"
                " ON CONFLICT(channel) DO UPDATE SET enabled = excluded.enabled",
                (channel, int(enabled)),
            )
        return BotChannel(channel=channel, enabled=enabled)  # type: ignore[arg-type]

    # --- hooks called by the store --------------------------------------------------------------

    def _bot_claim(self: Store, tx: Transaction, conversation_id: int, channel: str) -> None:
        """A new conversation on a channel with the bot on starts with the bot (status pending)."""
        on = tx.conn.execute("SELECT enabled FROM bot_channels WHERE channel = ?", (channel,)).fetchone()
        if not on or not on[0]:
            return
        row = tx.conn.execute(
            "SELECT bot_status, (SELECT count(*) FROM messages WHERE conversation_id = c.id"
            " AND kind = 'incoming') AS asked FROM conversations c WHERE id = ?",
            (conversation_id,),
        ).fetchone()
        if row["bot_status"] is not None or row["asked"]:
            return
        tx.conn.execute(
            "UPDATE conversations SET status = 'pending', bot_status = 'active' WHERE id = ?",
            (conversation_id,),
        )
        tx.conn.execute("INSERT OR IGNORE INTO bot_sessions(conversation_id) VALUES (?)", (conversation_id,))

    def _bot_holds(self: Store, tx: Transaction, conversation_id: int) -> bool:
        """True while the bot handles the conversation (a customer message does not reopen it)."""
        row = tx.conn.execute(
            "SELECT bot_status, status FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        return row is not None and row["bot_status"] == "active" and row["status"] == "pending"

    def _bot_turn(self: Store, tx: Transaction, conversation_id: int, message: Message) -> None:
        """The bot's answer to one customer message, if it handles the conversation."""
        if message.kind != "incoming" or not self._bot_holds(tx, conversation_id):
            return
        events, next_seq = len(tx.events), tx.next_seq
        tx.conn.execute("SAVEPOINT bot_turn")
        try:
            if self.bot_fault is not None:
                self.bot_fault(message.body)
            self._bot_decide(tx, conversation_id, message)
            tx.conn.execute("RELEASE bot_turn")
        except Exception as exc:  # noqa: BLE001 - any failure of the bot hands off to people
            # Take back what the failed turn wrote, keep the customer's message, hand off.
            tx.conn.execute("ROLLBACK TO bot_turn")
            tx.conn.execute("RELEASE bot_turn")
            del tx.events[events:]
            tx.next_seq = next_seq
            log.exception("bot turn failed in conversation %s", conversation_id)
            self._bot_handoff(
                tx,
                conversation_id,
                "error",
                f"the bot failed ({type(exc).__name__}); a person should answer",
                language=tx.conn.execute(
                    "SELECT language FROM conversations WHERE id = ?", (conversation_id,)
                ).fetchone()[0],
            )

    def _bot_back_status(self: Store, current: Conversation, patch: ConversationPatch) -> str:
        """The status a conversation sent back to the bot takes: pending, whatever else is asked."""
        if current.channel == "email":
            raise Conflict("the bot cannot answer by email yet (its replies are not mailed)", field="bot")

        if patch.status is not msgspec.UNSET and patch.status != "pending":
            raise Conflict(
                f"a conversation sent back to the bot is pending, not {patch.status}", field="status"
            )
        if patch.snoozed_until is not msgspec.UNSET and patch.snoozed_until is not None:
            raise Conflict("a conversation sent back to the bot cannot be snoozed", field="snoozed_until")
        return "pending"

    def _bot_patch(
        self: Store,
        tx: Transaction,
        current: Conversation,
        patch: ConversationPatch,
        changed: list[str],
        notes: list[str],
        actor_name: str,
    ) -> None:
        """A conversation patch: `bot: true` sends it back to the bot; an agent's change of
        status or assignee stops a bot that handles it."""
        if patch.bot is True:
            tx.conn.execute(
                "UPDATE conversations SET bot_status = 'active', bot_reason = NULL, bot_reason_text = NULL"
                " WHERE id = ?",
                (current.id,),
            )
            tx.conn.execute(
                "INSERT INTO bot_sessions(conversation_id) VALUES (?) ON CONFLICT(conversation_id)"
                " DO UPDATE SET unhelpful = 0, answered = '[]', awaiting = 0",
                (current.id,),
            )
            if current.bot_status != "active" or "status" in changed:
                changed.append("bot")
                notes.append(f"{actor_name} sent the conversation back to the bot")
        elif current.bot_status == "active" and {"status", "assignee"} & set(changed):
            tx.conn.execute("UPDATE conversations SET bot_status = 'stopped' WHERE id = ?", (current.id,))
            changed.append("bot")

    # --- one turn ---------------------------------------------------------------------------------

    def _bot_decide(self: Store, tx: Transaction, conversation_id: int, message: Message) -> None:
        # The triage of this message ran first (store.inbound): the conversation's language is
        # the detected one (core/language.py) and its assessment is core/triage.assess's, with
        # the desk's own rules file.
        conv = tx.conn.execute(
            "SELECT c.language, c.triage, s.unhelpful, s.answered, s.awaiting FROM conversations c"
            " LEFT JOIN bot_sessions s ON s.conversation_id = c.id WHERE c.id = ?",
            (conversation_id,),
        ).fetchone()
        text = message.body
        language = conv["language"]
        awaiting = bool(conv["awaiting"])
        unhelpful = conv["unhelpful"] or 0
        answered: list[int] = json.loads(conv["answered"] or "[]")

        if awaiting and bot_text.says_solved(text):
            self._bot_resolve(tx, conversation_id, language)
            return
        if asked := bot_text.asks_for_person(text):
            self._bot_handoff(
                tx,
                conversation_id,
                "asked_for_human",
                f"the customer asked for a person ({asked!r})",
                language=language,
            )
            return
        triage = decode_triage(conv["triage"])
        if triage is not None and (triage.upset or triage.urgent):
            code = "urgent" if triage.urgent else "upset"
            reasons = "; ".join(hit.reason for hit in triage.rules) or code
            self._bot_handoff(
                tx, conversation_id, code, f"the customer is {code}: {reasons}", language=language
            )
            return
        if awaiting:
            unhelpful += 1  # an answer was followed by something other than "yes, solved"
            if unhelpful >= UNHELPFUL_LIMIT:
                self._bot_handoff(
                    tx,
                    conversation_id,
                    "unhelpful",
                    f"{unhelpful} answers did not help the customer",
                    language=language,
                )
                return
        verdict = bot.match(tx.conn, text, language)
        if not verdict.confident or verdict.best is None or verdict.best.article_id in answered:
            why = verdict.why
            if verdict.best is not None and verdict.best.article_id in answered:
                why = f"the best match {verdict.best.title!r} was already given and did not help"
            self._bot_handoff(tx, conversation_id, "low_confidence", why, language=language)
            return
        self._bot_answer(tx, conversation_id, verdict.best, language)
        tx.conn.execute(
            "UPDATE bot_sessions SET unhelpful = ?, answered = ?, awaiting = 1 WHERE conversation_id = ?",
            (unhelpful, json.dumps([*answered, verdict.best.article_id]), conversation_id),
        )

    def _bot_say(self: Store, tx: Transaction, conversation_id: int, body: str, *, kind: str = "bot") -> None:
        said = self._insert_message(tx, conversation_id, kind=kind, body=body, author=BOT_AUTHOR)
        tx.emit("message.created", {"message": said, "conversation": self._stamp(tx, conversation_id)})

    def _bot_answer(
        self: Store, tx: Transaction, conversation_id: int, best: bot.Candidate, language: str | None
    ) -> None:
        body = tx.conn.execute("SELECT body FROM kb_articles WHERE id = ?", (best.article_id,)).fetchone()[0]
        base = self.desk().public_url or ""
        text = "\n\n".join(
            (
                bot_text.say(language, "answer"),
                f"{best.title}\n{bot.quote(body)}",
                bot_text.say(language, "link", url=f"{base}/kb/{best.article_id}"),
                bot_text.say(language, "ask"),
            )
        )
        self._bot_say(tx, conversation_id, text)

    def _bot_resolve(self: Store, tx: Transaction, conversation_id: int, language: str | None) -> None:
        self._bot_say(tx, conversation_id, bot_text.say(language, "solved"))
        tx.conn.execute(
            "UPDATE conversations SET status = 'resolved', bot_status = 'resolved', waiting_since = NULL"
            " WHERE id = ?",
            (conversation_id,),
        )
        tx.conn.execute("UPDATE bot_sessions SET awaiting = 0 WHERE conversation_id = ?", (conversation_id,))
        self._refresh_due(tx, conversation_id)
        self._bot_activity(
            tx, conversation_id, "The bot resolved the conversation: the customer said it helped"
        )
        conversation = self._stamp(tx, conversation_id)
        tx.emit("conversation.updated", {"conversation": conversation, "changed": ["status", "bot"]})
        tx.emit(
            "conversation.bot_resolved", {"conversation_id": conversation_id, "conversation": conversation}
        )

    def _bot_handoff(
        self: Store, tx: Transaction, conversation_id: int, code: str, why: str, *, language: str | None
    ) -> None:
        self._bot_say(
            tx,
            conversation_id,
            bot_text.say(language, "handoff") + " " + self._bot_when(tx, conversation_id, language),
        )
        tx.conn.execute(
            "UPDATE conversations SET status = 'open', bot_status = 'handed_off', bot_reason = ?,"
            " bot_reason_text = ? WHERE id = ?",
            (code, why, conversation_id),
        )
        tx.conn.execute("UPDATE bot_sessions SET awaiting = 0 WHERE conversation_id = ?", (conversation_id,))
        self._refresh_due(tx, conversation_id)
        self._bot_say(tx, conversation_id, self._bot_transcript(tx, conversation_id, code, why), kind="note")
        conversation = self._stamp(tx, conversation_id)
        tx.emit("conversation.updated", {"conversation": conversation, "changed": ["status", "bot"]})
        tx.emit(
            "conversation.bot_handoff",
            {"conversation_id": conversation_id, "reason": code, "text": why, "conversation": conversation},
        )

    def _bot_activity(self: Store, tx: Transaction, conversation_id: int, text: str) -> None:
        self._bot_say(tx, conversation_id, text, kind="activity")

    # --- what a turn reads ------------------------------------------------------------------------

    def _bot_transcript(self: Store, tx: Transaction, conversation_id: int, code: str, why: str) -> str:
        rows = tx.conn.execute(
            "SELECT author_type, body FROM messages WHERE conversation_id = ? AND kind IN ('incoming', 'bot')"
            " ORDER BY id",
            (conversation_id,),
        ).fetchall()
        lines = [f"Handed off by bot: {why} [{code}]", "", "Transcript:"]
        for author, body in rows:
            who = "Customer" if author == "contact" else "Bot"
            said = [line for line in body.strip().splitlines() if line.strip()]
            # The bot's answers by their opening and the article's title; the customer in full.
            lines.append(f"{who}: {' '.join(said[:2]) if author != 'contact' else body.strip()}")
        text = "\n".join(lines)
        return text if len(text) <= TRANSCRIPT_CHARS else text[: TRANSCRIPT_CHARS - 1] + "…"

    def _bot_when(self: Store, tx: Transaction, conversation_id: int, language: str | None) -> str:
        """When a person will answer, honestly: soon if someone is online; otherwise from the
        business hours of the conversation's SLA policy (next opening), or "when someone is back"."""
        online = tx.conn.execute(
            "SELECT count(*) FROM agents WHERE role != 'integration' AND active = 1"
            " AND presence IN ('online', 'busy')"
        ).fetchone()[0]
        if online:
            return bot_text.say(language, "soon")
        row = tx.conn.execute(
            "SELECT c.priority, c.channel, c.team_id, ct.timezone FROM conversations c"
            " JOIN contacts ct ON ct.id = c.contact_id WHERE c.id = ?",
            (conversation_id,),
        ).fetchone()
        policy = sla.choose(
            self.list_sla_policies(), priority=row["priority"], channel=row["channel"], team_id=row["team_id"]
        )
        now = (self.bot_clock or utcnow)()
        if policy is None or policy.business_hours is None:
            return bot_text.say(language, "nobody")
        calendar = sla.calendar_of(policy)
        if calendar.is_open(now):
            return bot_text.say(language, "nobody")
        opens = next((opened for opened, _ in calendar.open_intervals(now)), None)
        if opens is None:
            return bot_text.say(language, "nobody")
        zone = _zone(row["timezone"]) or ZoneInfo(policy.business_hours.zone)
        return bot_text.say(language, "closed", when=bot_text.when(opens, zone, language))


def _zone(name: Any) -> ZoneInfo | None:
    from agent_console.core.business_hours import CalendarError, load_zone

    if not name:
        return None
    try:
        return load_zone(str(name), "timezone")
    except CalendarError:
        return None
