"""A fast generator of desk-server databases for the benchmarks.

Rows go straight into a fresh SQLite file opened with `agent_console.server.db.connect`
(so the schema is the server's own, migrations and FTS triggers included), with
`executemany` in one transaction. Nothing here goes through the store or the HTTP API,
except the one admin agent whose token the benchmarks use (`ensure_agent`).

What the data looks like, and why:

- Every open conversation that "waits" (the customer wrote last; 85 % of them) has its
  `due_at`/`queue_key` computed from the desk's starting SLA policies as the store would, so a
  new customer message to it keeps its place in the queue: the benchmarks can aim
  messages at rows they know are on screen.
- Contact names are unique and at most 18 cells (the queue's name column), e.g.
  ``Maria Garcia 2bi1`` (a base-36 serial): finding one in the terminal's byte stream
  finds that row.
- About half the conversations have no subject (chat, WhatsApp, SMS), so the queue shows
  their last message: a marker at the start of a new message shows up in the row.
- KB articles are built from a Zipf-weighted vocabulary (real support words plus
  pronounceable filler), so FTS and LIKE queries meet realistic selectivity.

Deterministic for a given seed.
"""

from __future__ import annotations

import itertools
import json
import random
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

# Short names: "Omar Chen 2bi1" is at most 14 cells, the queue's narrowest name column.
FIRST = (
    "Ana Li Wei Omar Sara Yuki Ivan Lea Noah Emma Liam Mia Leo Zoe Ravi Aiko Jon Ines Paul Nora "
    "Ali Eva Max Ida Tom Kim Raj Amy Ben Lou Tara Hugo Nina Sven Lena Kai Rosa Jia Femi Olga"
).split()
LAST = (
    "Chen Berg Sato Park Wong Ali Kaur Lund Ito Cruz Diaz Rao Lee Kim Kaya Roth Funk Hahn Voss Abe "
    "Ono Li Wu Ng Moss Bell Ford Gray Hart Hill Holt Kent Lang Mack Nash Page Reid Rose Shaw West"
).split()
SUPPORT_WORDS = (
    "account password reset login refund invoice billing payment card charge subscription plan "
    "upgrade downgrade cancel renewal trial data roaming esim activation install profile qr code "
    "device iphone android settings network signal coverage speed hotspot apn carrier country "
    "travel trip top up balance credit voucher promo discount order delivery shipping tracking "
    "address email phone verification two factor security privacy delete export report bug crash "
    "app update version error message timeout connection wifi bluetooth battery sim number port "
    "transfer contract terms policy fee tax receipt currency exchange region europe asia america "
    "africa support agent chat ticket response waiting urgent priority escalate manager feedback "
    "rating review survey complaint compensation warranty replacement return exchange broken "
    "missing lost stolen block unlock pin puk code sms call voicemail international local plan"
).split()
SYLLABLES = "ka lo mi ra ne to su vi da pe ro lu sa fi no ti ma ze bo ku ri ga ho nu le".split()
CHANNELS = ("web_chat", "email", "whatsapp", "sms", "social")
SUBJECTLESS = {"web_chat", "whatsapp", "sms", "social"}
PRIORITIES = ("urgent", "high", "normal", "low")
PRIORITY_WEIGHTS = (0.05, 0.15, 0.65, 0.15)
LANGUAGES = ("en", "de", "fr", "es", "pt", "ja")
LANGUAGE_WEIGHTS = (0.6, 0.12, 0.1, 0.1, 0.05, 0.03)
LABELS = ("vip", "billing", "esim", "roaming", "refund", "bug", "churn-risk", "b2b")
KB_LOCALES = ("en", "de", "fr", "es")
KB_LOCALE_WEIGHTS = (0.7, 0.1, 0.1, 0.1)

ADMIN_EMAIL = "bench@bench.example"


def base36(number: int, width: int = 4) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out.rjust(width, "0")


def contact_name(index: int) -> str:
    """Unique and at most 14 cells: fits the queue's name column whole."""
    first = FIRST[index % len(FIRST)]
    last = LAST[(index // len(FIRST)) % len(LAST)]
    return f"{first} {last} {base36(index)}"


# Matches any generated contact name (for "which row is this" scans of terminal output).
NAME_PATTERN = rb"[A-Z][a-z]{1,3} [A-Z][a-z]{1,3} [0-9a-z]{4}"


@dataclass(frozen=True)
class Spec:
    open_conversations: int
    closed_conversations: int = 0
    # Total messages; every conversation gets at least one (its last message), the rest
    # are spread at random. `heavy_thread` puts that many into conversation 1 as well.
    messages: int = 0
    heavy_thread: int = 0
    kb_articles: int = 40
    waiting_fraction: float = 0.85
    subjectless_channels: bool = True
    agents: int = 12
    # Canned responses of 200-1,500 characters (P9); 0 keeps the two short ones.
    canned_responses: int = 0
    # Extra agents whose tokens the benchmark gets back (one live-feed socket each).
    feed_agents: int = 0
    seed: int = 7


@dataclass
class Generated:
    path: Path
    token: str
    admin_id: int
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    feed_tokens: list[str] = field(default_factory=list)


class Vocabulary:
    """Zipf-weighted words: a few very common, a long tail of rare ones."""

    def __init__(self, rng: random.Random, size: int = 6000) -> None:
        filler: list[str] = []
        seen = set(SUPPORT_WORDS)
        while len(filler) < size - len(SUPPORT_WORDS):
            word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
            if word not in seen:
                seen.add(word)
                filler.append(word)
        rng.shuffle(filler)
        # The head of the distribution is filler that works like stop words (in nearly
        # every text); the support vocabulary comes next (ranks ~100-330: each word in
        # roughly 10-30 % of the articles, as topical words of one product's help centre
        # are); the long tail is rare filler.
        self.words = filler[:100] + list(SUPPORT_WORDS) + filler[100:]
        self.cum_weights = list(itertools.accumulate(1.0 / (rank + 8) for rank in range(len(self.words))))
        self.rng = rng

    def sentence(self, low: int, high: int) -> str:
        words = self.rng.choices(self.words, cum_weights=self.cum_weights, k=self.rng.randint(low, high))
        return words[0].capitalize() + " " + " ".join(words[1:]) + "."

    def paragraph(self, sentences: int) -> str:
        return " ".join(self.sentence(6, 16) for _ in range(sentences))


def _default_targets(conn: sqlite3.Connection) -> dict[str, tuple[int | None, int | None]]:
    """(first response, next response) seconds by priority, from the 24/7 policies a new desk
    starts with (the migration seeds them): the one for the priority, else the default."""
    rows = conn.execute(
        "SELECT priorities, is_default, first_response_s, next_response_s FROM sla_policies ORDER BY position"
    ).fetchall()
    default = next((r[2], r[3]) for r in rows if r[1])
    targets = {name: default for name in PRIORITIES}
    for priorities, _, frt, nrt in reversed(rows):
        for name in json.loads(priorities):
            targets[name] = (frt, nrt)
    return targets


def _due(
    targets: dict[str, tuple[int | None, int | None]],
    status: str,
    priority: str,
    created: datetime,
    waiting_since: datetime | None,
    first_response: datetime | None,
) -> datetime | None:
    """The nearest due clock as the store sets it for those policies: the first response is
    due from creation, a next response from the oldest unanswered customer message."""
    if status != "open" or waiting_since is None:
        return None
    frt, nrt = targets[priority]
    if first_response is None:
        return None if frt is None else created + timedelta(seconds=frt)
    return None if nrt is None else waiting_since + timedelta(seconds=nrt)


def generate(path: Path, spec: Spec) -> Generated:
    """Create `path` (replacing it) and fill it as `spec` says."""
    from agent_console.core.clock import to_iso, utcnow
    from agent_console.server import db
    from agent_console.server.store import QUEUE_TAIL, Store, ensure_agent, hash_token, new_token

    started = time.perf_counter()
    for stale in path.parent.glob(f"{path.name}*"):
        stale.unlink()
    rng = random.Random(spec.seed)
    vocab = Vocabulary(rng)
    now = utcnow()
    conn = db.connect(path)
    try:
        admin, token = ensure_agent(
            Store(conn), email=ADMIN_EMAIL, name="Bench Admin", role="admin", timezone="UTC"
        )
        # Bulk load: a big page cache and no fsync (a benchmark database is disposable).
        conn.execute("PRAGMA cache_size = -262144")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO teams(name, description) VALUES (?, ?)",
            [("Tier 1", "first line"), ("Billing", "money matters"), ("Tech", "devices and networks")],
        )
        targets = _default_targets(conn)
        agent_ids = [admin.id]
        agent_names = {admin.id: admin.name}
        stamp = to_iso(now)
        for index in range(spec.agents):
            name = f"{FIRST[(index * 7) % len(FIRST)]} {LAST[(index * 3) % len(LAST)]}"
            cursor = conn.execute(
                "INSERT INTO agents(name, email, role, timezone, presence, token_hash, created_at)"
                " VALUES (?, ?, 'agent', 'UTC', ?, ?, ?)",
                (
                    name,
                    f"agent{index}@bench.example",
                    ("online", "away", "busy")[index % 3],
                    hash_token(f"nobody-knows-{index}-{rng.random()}"),
                    stamp,
                ),
            )
            agent_ids.append(cursor.lastrowid)
            agent_names[cursor.lastrowid] = name
        feed_tokens = [new_token() for _ in range(spec.feed_agents)]
        conn.executemany(
            "INSERT INTO agents(name, email, role, timezone, presence, token_hash, created_at)"
            " VALUES (?, ?, 'agent', 'UTC', 'offline', ?, ?)",
            [
                (f"Feed {i:03d}", f"feed{i}@bench.example", hash_token(t), stamp)
                for i, t in enumerate(feed_tokens)
            ],
        )

        total = spec.open_conversations + spec.closed_conversations
        contacts = []
        for index in range(1, total + 1):
            name = contact_name(index)
            contacts.append(
                (
                    index,
                    name,
                    f"{name.replace(' ', '.').lower()}@example.com",
                    f"+1555{index:07d}",
                    rng.choices(LANGUAGES, LANGUAGE_WEIGHTS)[0],
                    "Europe/Berlin",
                    stamp,
                )
            )
        conn.executemany(
            "INSERT INTO contacts(id, name, email, phone, language, timezone, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            contacts,
        )

        # How many messages each conversation gets (at least one).
        per_conversation = [1] * (total + 1)
        per_conversation[0] = 0
        extra = max(0, spec.messages - total - spec.heavy_thread)
        for _ in range(extra):
            per_conversation[rng.randint(1, total)] += 1
        if spec.heavy_thread and total:
            per_conversation[1] += spec.heavy_thread

        conversations = []
        messages = []
        message_id = 0
        for index in range(1, total + 1):
            is_open = index <= spec.open_conversations
            channel = rng.choice(CHANNELS)
            priority = rng.choices(PRIORITIES, PRIORITY_WEIGHTS)[0]
            waiting = is_open and rng.random() < spec.waiting_fraction
            count = per_conversation[index]
            # Spread over the last three days; microseconds make due times distinct.
            last_at = now - timedelta(seconds=rng.uniform(30, 3 * 86400), microseconds=index)
            created = last_at - timedelta(seconds=rng.uniform(60, 3600) * count)
            step = (last_at - created) / max(count, 1)
            first_response = None
            waiting_since = None
            unread = 0
            last_id = None
            author_agent = rng.choice(agent_ids)
            for k in range(count):
                at = created + step * (k + 1)
                # Alternate customer and agent; the last one is the customer when waiting.
                from_customer = (count - 1 - k) % 2 == 0 if waiting else (count - 1 - k) % 2 == 1
                if count == 1 and not waiting:
                    from_customer = False
                message_id += 1
                if from_customer:
                    kind, author = "incoming", ("contact", index, contacts[index - 1][1])
                    waiting_since = waiting_since or at
                    unread += 1
                else:
                    kind, author = "outgoing", ("agent", author_agent, agent_names[author_agent])
                    waiting_since = None
                    unread = 0
                    first_response = first_response or at
                body = vocab.paragraph(rng.randint(1, 3))
                messages.append((message_id, index, kind, body, *author, to_iso(at)))
                last_id = message_id
            status = "open" if is_open else rng.choice(("resolved", "resolved", "pending"))
            if status != "open":
                waiting_since = None
            due = _due(targets, status, priority, created, waiting_since, first_response)
            subject = None
            if channel not in SUBJECTLESS or not spec.subjectless_channels:
                subject = vocab.sentence(3, 7)[:-1]
            assignee = None if rng.random() < 0.35 else rng.choice(agent_ids)
            labels = json.dumps(rng.sample(LABELS, rng.choice((0, 0, 1, 2))))
            conversations.append(
                (
                    index,
                    channel,
                    status,
                    priority,
                    subject,
                    contacts[index - 1][4],
                    index,
                    assignee,
                    rng.choice((None, 1, 2, 3)),
                    labels,
                    to_iso(created),
                    to_iso(last_at),
                    to_iso(last_at),
                    None if first_response is None else to_iso(first_response),
                    None if waiting_since is None else to_iso(waiting_since),
                    None if due is None else to_iso(due),
                    QUEUE_TAIL if due is None else to_iso(due),
                    unread,
                    count,
                    last_id,
                )
            )
        conn.executemany(
            "INSERT INTO conversations(id, channel, status, priority, subject, language, contact_id,"
            " assignee_id, team_id, labels, created_at, updated_at, last_activity_at,"
            " first_response_at, waiting_since, due_at, queue_key, unread_count, message_count,"
            " last_message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            conversations,
        )
        for start in range(0, len(messages), 50_000):
            _insert_messages(conn, messages[start : start + 50_000])
        del messages

        articles = []
        for index in range(1, spec.kb_articles + 1):
            title = vocab.sentence(4, 8)[:-1]
            body = "\n\n".join(vocab.paragraph(rng.randint(2, 5)) for _ in range(rng.randint(2, 5)))
            tags = json.dumps(rng.sample(SUPPORT_WORDS, rng.randint(1, 3)))
            locale = rng.choices(KB_LOCALES, KB_LOCALE_WEIGHTS)[0]
            articles.append(
                (
                    index,
                    f"article-{index}",
                    title,
                    body,
                    tags,
                    locale,
                    to_iso(now - timedelta(days=rng.uniform(0, 400))),
                )
            )
        conn.executemany(
            "INSERT INTO kb_articles(id, slug, title, body, tags, locale, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            articles,
        )
        conn.executemany(
            "INSERT INTO canned_responses(shortcode, title, body, locale) VALUES (?, ?, ?, ?)",
            canned_rows(vocab, spec.canned_responses)
            if spec.canned_responses
            else [
                ("thanks", "Thanks", "Thanks for writing, {{contact.first_name}}!", "en"),
                ("refund", "Refund", "Your refund is on its way.", "en"),
            ],
        )
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            for table in ("conversations", "contacts", "messages", "kb_articles", "canned_responses")
        }
        counts["open"] = conn.execute("SELECT count(*) FROM conversations WHERE status = 'open'").fetchone()[
            0
        ]
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()
    return Generated(path, token, admin.id, counts, time.perf_counter() - started, feed_tokens)


CANNED_MIN, CANNED_MAX = 200, 1500


def canned_shortcode(index: int, word: str) -> str:
    """Unique, fixed-width (`c0042-refund`): no shortcode is the start of another."""
    return f"c{index:04d}-{word}"


def canned_rows(vocab: Vocabulary, count: int) -> list[tuple[str, str, str, str]]:
    """`count` canned responses as a desk's library has them: a shortcode and a title from
    the support words, a body of 200-1,500 characters (a greeting with a placeholder, then
    sentences of the KB vocabulary), most in English, the rest in the other KB locales."""
    rng = vocab.rng
    rows = []
    for index in range(1, count + 1):
        topic = rng.sample(SUPPORT_WORDS, 3)
        length = rng.randint(CANNED_MIN, CANNED_MAX)
        body = "Hi {{contact.first_name}}, " + " ".join(topic) + "."
        while len(body) < length:
            body += " " + vocab.sentence(6, 16)
        body = body[: length - 1].rstrip() + "."
        rows.append(
            (
                canned_shortcode(index, topic[0]),
                f"{topic[0].capitalize()} {topic[1]} {topic[2]}",
                body,
                rng.choices(KB_LOCALES, KB_LOCALE_WEIGHTS)[0],
            )
        )
    return rows


def _insert_messages(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    conn.executemany(
        "INSERT INTO messages(id, conversation_id, kind, body, author_type, author_id, author_name,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def kb_vocabulary(seed: int = 7) -> list[str]:
    """The vocabulary `generate` used for a seed (for building search queries)."""
    return Vocabulary(random.Random(seed)).words
