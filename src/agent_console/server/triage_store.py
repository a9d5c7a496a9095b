"""Triage on the server: each customer message updates the conversation's language (detected
from the text unless an agent set it) and the rules' suggestion (core/triage.py), stored on the
conversation and announced as `conversation.triaged`. A mixin of the store: same connection,
same transactions; store.inbound calls `_triage_incoming` and `_announce_triage`.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from agent_console.core import language as langid
from agent_console.core.clock import from_iso, parse_optional, to_iso
from agent_console.core.models import (
    Agent,
    Author,
    Conversation,
    LanguageUpdate,
    SuggestionList,
    Triage,
    TriageHit,
)
from agent_console.core.triage import (
    Assessment,
    Rules,
    TriageRulesError,
    assess,
    default_rules,
    parse_rules,
)
from agent_console.server.store_base import NotFound
from agent_console.server.suggest import Suggester

if TYPE_CHECKING:
    from agent_console.server.store_base import Transaction

# The customer's unanswered messages the rules read: the newest this many (pings need a few).
UNANSWERED = 20
# An answer from the desk (a person or the bot) ends the run of unanswered messages.
_ANSWERS = "('outgoing', 'bot')"


def load_rules(path: Path | None) -> Rules:
    """The shipped rules, extended by an admin's file; a bad file raises TriageRulesError."""
    rules = default_rules()
    if path is None:
        return rules
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TriageRulesError(f"{path}: cannot read: {exc}") from None
    return parse_rules(text, str(path), base=rules)


def warm_up() -> None:
    """Load the language model off the event loop, so the first customer does not wait for it."""
    threading.Thread(target=langid.detect_language, args=("warm up the language model",), daemon=True).start()


def decode_triage(text: str | None) -> Triage | None:
    return msgspec.json.decode(text, type=Triage) if text else None


def _wire(result: Assessment, at: str) -> Triage:
    return Triage(
        priority=result.priority,  # type: ignore[arg-type]
        topics=list(result.topics),
        upset=result.upset,
        urgent=result.urgent,
        rules=[TriageHit(rule=hit.rule, reason=hit.reason) for hit in result.rules],
        at=from_iso(at),
    )


class TriageStoreMixin:
    conn: sqlite3.Connection
    # Set by create_app from `serve --triage-rules`; None: the shipped rules.
    triage_rules: Rules | None = None

    def _unanswered(self, conn: sqlite3.Connection, conversation_id: int) -> list[str]:
        rows = conn.execute(
            "SELECT body FROM messages WHERE conversation_id = :c AND kind = 'incoming' AND id >"
            f" coalesce((SELECT max(id) FROM messages WHERE conversation_id = :c AND kind IN {_ANSWERS}), 0)"
            " ORDER BY id DESC LIMIT :n",
            {"c": conversation_id, "n": UNANSWERED},
        ).fetchall()
        return [row[0] for row in reversed(rows)]

    def _triage(self, tx: Transaction, conversation_id: int, row: Any = None) -> tuple[str, str, Triage]:
        """Language and assessment for the conversation now; writes them and returns them.
        `row`: its language, language_source and waiting_since, when the caller has read them."""
        if row is None:
            row = tx.conn.execute(
                "SELECT language, language_source, waiting_since FROM conversations WHERE id = ?",
                (conversation_id,),
            ).fetchone()
        texts = self._unanswered(tx.conn, conversation_id)
        language, source = row["language"], row["language_source"]
        if source != "agent":
            detected = langid.detect_language("\n".join(texts)[-langid.MAX_CHARS :])
            if detected is not None:
                language, source = detected, "detected"
        waiting_since = parse_optional(row["waiting_since"])
        waited = (tx.now - waiting_since).total_seconds() if waiting_since else 0.0
        # A language only the contact's profile claims is not trusted to pick the rules' words.
        result = assess(
            texts,
            language if source != "contact" else None,
            waited_seconds=max(waited, 0.0),
            rules=self.triage_rules,
        )
        triage = _wire(result, to_iso(tx.now))
        tx.conn.execute(
            "UPDATE conversations SET language = ?, language_source = ?, triage_priority = ?, triage = ?"
            " WHERE id = ?",
            (language, source, result.priority, msgspec.json.encode(triage).decode(), conversation_id),
        )
        return language, source, triage

    def _triage_incoming(self, tx: Transaction, conversation_id: int) -> bool:
        """After a customer message: re-triage; True when the language or the suggestion changed
        (then `conversation.triaged` is due; a message that says nothing new makes no event)."""
        before = tx.conn.execute(
            "SELECT language, language_source, waiting_since, triage FROM conversations WHERE id = ?",
            (conversation_id,),
        ).fetchone()
        language, source, triage = self._triage(tx, conversation_id, before)
        old = decode_triage(before["triage"])
        old_key = (old.priority, old.topics, old.upset, old.rules) if old else (None, [], False, [])
        return (before["language"], before["language_source"], old_key) != (
            language,
            source,
            (triage.priority, triage.topics, triage.upset, triage.rules),
        )

    def _announce_triage(self, tx: Transaction, conversation_id: int) -> None:
        conversation = self._stamp(tx, conversation_id)  # type: ignore[attr-defined]
        tx.emit("conversation.triaged", {"conversation": conversation, "triage": conversation.triage})

    def set_language(self, conversation_id: int, update: LanguageUpdate, actor: Agent) -> Conversation:
        """An agent's correction: kept from now on (detection leaves it alone), and triage re-run."""
        with self._write() as tx:  # type: ignore[attr-defined]
            row = tx.conn.execute(
                "SELECT language, language_source FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            if row is None:
                raise NotFound(f"no conversation with id {conversation_id}")
            if (row["language"], row["language_source"]) == (update.language, "agent"):
                return self.get_conversation(conversation_id)  # type: ignore[attr-defined]
            tx.conn.execute(
                "UPDATE conversations SET language = ?, language_source = 'agent' WHERE id = ?",
                (update.language, conversation_id),
            )
            self._triage(tx, conversation_id)
            note = self._insert_message(  # type: ignore[attr-defined]
                tx,
                conversation_id,
                kind="activity",
                body=f"{actor.name} set the language to {update.language} (was {row['language']})",
                author=Author(type="system", name=""),
            )
            stamped = self._stamp(tx, conversation_id)  # type: ignore[attr-defined]
            tx.emit("message.created", {"message": note, "conversation": stamped})
            conversation = self._stamp(tx, conversation_id)  # type: ignore[attr-defined]
            tx.emit("conversation.updated", {"conversation": conversation, "changed": ["language", "triage"]})
            return conversation

    def suggestions(self, conversation_id: int) -> SuggestionList:
        row = self.conn.execute(
            "SELECT language FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no conversation with id {conversation_id}")
        suggester = self.__dict__.setdefault("_suggester", Suggester())  # holds the tokenized library
        return suggester.suggest(self.conn, conversation_id, row["language"])
