"""SQLite connection and versioned schema for the desk server.

WAL lets `server add-agent` (another process) write while the server runs; the
busy timeout makes the two wait for each other instead of failing.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from agent_console.private_files import private_file

# Each entry moves the schema one version up. Never edit a shipped entry: add one.
MIGRATIONS: tuple[str, ...] = (
    # 1: the whole first schema
    """
    CREATE TABLE teams (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        description TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE agents (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        role TEXT NOT NULL CHECK (role IN ('agent', 'admin', 'integration')),
        timezone TEXT NOT NULL,
        presence TEXT NOT NULL DEFAULT 'offline',
        token_hash TEXT UNIQUE,
        created_at TEXT NOT NULL
    );
    CREATE TABLE agent_teams (
        agent_id INTEGER NOT NULL REFERENCES agents(id),
        team_id INTEGER NOT NULL REFERENCES teams(id),
        PRIMARY KEY (agent_id, team_id)
    );
    CREATE TABLE contacts (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        email TEXT UNIQUE COLLATE NOCASE,
        phone TEXT,
        language TEXT NOT NULL DEFAULT 'en',
        timezone TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX contacts_phone ON contacts(phone);
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        status TEXT NOT NULL,
        priority TEXT NOT NULL,
        subject TEXT,
        language TEXT NOT NULL,
        contact_id INTEGER NOT NULL REFERENCES contacts(id),
        assignee_id INTEGER REFERENCES agents(id),
        team_id INTEGER REFERENCES teams(id),
        labels TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        last_activity_at TEXT NOT NULL,
        first_response_at TEXT,
        waiting_since TEXT,
        snoozed_until TEXT,
        due_at TEXT,
        -- due_at, or a far-future sentinel: the queue's order, so one index serves it.
        queue_key TEXT NOT NULL,
        unread_count INTEGER NOT NULL DEFAULT 0,
        message_count INTEGER NOT NULL DEFAULT 0,
        last_message_id INTEGER,
        seq INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX conv_status_queue ON conversations(status, queue_key, id);
    CREATE INDEX conv_assignee_queue ON conversations(assignee_id, status, queue_key, id);
    CREATE INDEX conv_priority_queue ON conversations(priority, status, queue_key, id);
    CREATE INDEX conv_contact ON conversations(contact_id, created_at);
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        kind TEXT NOT NULL,
        body TEXT NOT NULL,
        author_type TEXT NOT NULL,
        author_id INTEGER,
        author_name TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    );
    CREATE INDEX messages_conversation ON messages(conversation_id, id);
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        body, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, body) VALUES (new.id, new.body);
    END;
    CREATE TABLE canned_responses (
        id INTEGER PRIMARY KEY,
        shortcode TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        locale TEXT NOT NULL,
        UNIQUE (shortcode, locale)
    );
    CREATE TABLE kb_articles (
        id INTEGER PRIMARY KEY,
        slug TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '[]',
        locale TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (slug, locale)
    );
    CREATE VIRTUAL TABLE kb_fts USING fts5(
        title, body, tags, content='kb_articles', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER kb_fts_insert AFTER INSERT ON kb_articles BEGIN
        INSERT INTO kb_fts(rowid, title, body, tags) VALUES (new.id, new.title, new.body, new.tags);
    END;
    CREATE TRIGGER kb_fts_delete AFTER DELETE ON kb_articles BEGIN
        INSERT INTO kb_fts(kb_fts, rowid, title, body, tags)
        VALUES ('delete', old.id, old.title, old.body, old.tags);
    END;
    CREATE TRIGGER kb_fts_update AFTER UPDATE ON kb_articles BEGIN
        INSERT INTO kb_fts(kb_fts, rowid, title, body, tags)
        VALUES ('delete', old.id, old.title, old.body, old.tags);
        INSERT INTO kb_fts(rowid, title, body, tags) VALUES (new.id, new.title, new.body, new.tags);
    END;
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        type TEXT NOT NULL,
        at TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE TABLE idempotency (
        principal_id INTEGER NOT NULL,
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        status INTEGER NOT NULL,
        response BLOB NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (principal_id, key)
    );
    """,
    # 2: the desk's own identity, made once: clients key their local state (drafts, outbox)
    # by it instead of by a URL that changes (the demo's random port, a new host name).
    """
    CREATE TABLE desk (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        id TEXT NOT NULL,
        name TEXT NOT NULL,
        public_url TEXT
    );
    INSERT INTO desk(singleton, id, name) VALUES (1, lower(hex(randomblob(16))), 'Help desk');
    """,
    # KB search as you type asks for prefixes ("password r" is "password"* "r"*): without
    # prefix indexes FTS5 walks every term that starts so (p95 12.7 ms over 10,000 articles;
    # 5 ms with them). The triggers write to the table by name, so they carry over.
    """
    DROP TABLE kb_fts;
    CREATE VIRTUAL TABLE kb_fts USING fts5(
        title, body, tags, content='kb_articles', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2', prefix='1 2 3'
    );
    INSERT INTO kb_fts(kb_fts) VALUES ('rebuild');
    """,
    # SLA policies, each conversation's clocks, the durable warning/breach schedule and the
    # breach record. The four policies carry the targets the desk used before policies existed.
    """
    CREATE TABLE sla_policies (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        position INTEGER NOT NULL,
        is_default INTEGER NOT NULL DEFAULT 0,
        priorities TEXT NOT NULL DEFAULT '[]',
        channels TEXT NOT NULL DEFAULT '[]',
        team_ids TEXT NOT NULL DEFAULT '[]',
        first_response_s INTEGER,
        next_response_s INTEGER,
        resolution_s INTEGER,
        warn_share REAL NOT NULL DEFAULT 0.25,
        business_hours TEXT
    );
    CREATE UNIQUE INDEX sla_policies_one_default ON sla_policies(is_default) WHERE is_default = 1;
    INSERT INTO sla_policies(name, position, is_default, priorities, first_response_s, next_response_s)
    VALUES ('Urgent', 10, 0, '["urgent"]', 900, 900),
           ('High', 20, 0, '["high"]', 3600, 3600),
           ('Low', 30, 0, '["low"]', 86400, 28800),
           ('Standard', 1000, 1, '[]', 14400, 7200);
    ALTER TABLE conversations ADD COLUMN sla_policy_id INTEGER;
    ALTER TABLE conversations ADD COLUMN sla_paused_since TEXT;
    ALTER TABLE conversations ADD COLUMN sla TEXT;
    CREATE TABLE sla_clocks (
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        clock TEXT NOT NULL CHECK (clock IN ('frt', 'nrt', 'rt')),
        started_at TEXT NOT NULL,
        paused_s REAL NOT NULL DEFAULT 0,
        stopped_at TEXT,
        missed_at TEXT,
        PRIMARY KEY (conversation_id, clock)
    );
    CREATE TABLE sla_schedule (
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        clock TEXT NOT NULL,
        started_at TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('warning', 'breach')),
        fire_at TEXT NOT NULL,
        fired_at TEXT,
        PRIMARY KEY (conversation_id, clock, started_at, kind)
    );
    -- The background task's one question: what is due and not yet fired.
    CREATE INDEX sla_schedule_due ON sla_schedule(fire_at) WHERE fired_at IS NULL;
    CREATE TABLE sla_breaches (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        clock TEXT NOT NULL,
        started_at TEXT NOT NULL,
        policy_id INTEGER,
        policy TEXT NOT NULL,
        due_at TEXT NOT NULL,
        breached_at TEXT NOT NULL,
        breached_by_s INTEGER NOT NULL,
        UNIQUE (conversation_id, clock, started_at)
    );
    """,
    # read marks: each agent's newest read message per conversation (server/reads.py). An
    # agent's horizon is the newest message when they joined: what was there counts as read.
    """
    CREATE TABLE read_marks (
        agent_id INTEGER NOT NULL REFERENCES agents(id),
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        message_id INTEGER NOT NULL,
        seq INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (agent_id, conversation_id)
    );
    ALTER TABLE agents ADD COLUMN read_horizon INTEGER NOT NULL DEFAULT 0;
    UPDATE agents SET read_horizon = (SELECT coalesce(max(id), 0) FROM messages);
    CREATE TRIGGER agents_read_horizon AFTER INSERT ON agents BEGIN
        UPDATE agents SET read_horizon = (SELECT coalesce(max(id), 0) FROM messages) WHERE id = new.id;
    END;
    """,
    # Running the desk (issue 18): deactivated agents and their languages, managed labels,
    # article state with translation groups and revisions, and the KB gap log. A gap's
    # `source` says who found no answer ('search' now; the bot's hand-offs later).
    """
    ALTER TABLE agents ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE agents ADD COLUMN languages TEXT NOT NULL DEFAULT '[]';
    CREATE TABLE labels (
        name TEXT PRIMARY KEY,
        color TEXT NOT NULL
    );
    ALTER TABLE kb_articles ADD COLUMN status TEXT NOT NULL DEFAULT 'published';
    ALTER TABLE kb_articles ADD COLUMN translation_key TEXT NOT NULL DEFAULT '';
    ALTER TABLE kb_articles ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE kb_articles ADD COLUMN updated_by TEXT;
    UPDATE kb_articles SET translation_key = slug WHERE translation_key = '';
    CREATE INDEX kb_articles_translation ON kb_articles(translation_key, locale);
    CREATE TABLE kb_revisions (
        article_id INTEGER NOT NULL REFERENCES kb_articles(id),
        revision INTEGER NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        tags TEXT NOT NULL,
        status TEXT NOT NULL,
        author_id INTEGER,
        author_name TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (article_id, revision)
    );
    INSERT INTO kb_revisions(article_id, revision, title, body, tags, status, author_id, author_name, at)
        SELECT id, 1, title, body, tags, status, NULL, '', updated_at FROM kb_articles;
    CREATE TABLE kb_gaps (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        query TEXT NOT NULL,
        norm TEXT NOT NULL,
        locale TEXT NOT NULL DEFAULT '',
        best_score REAL,
        agent_id INTEGER,
        at TEXT NOT NULL
    );
    CREATE INDEX kb_gaps_at ON kb_gaps(at);
    CREATE INDEX kb_gaps_agent ON kb_gaps(agent_id, at);
    """,
    # The web chat widget: site keys with the origins allowed to embed it, visitors (a
    # contact and the hash of its browser's token) and the customers' CSAT ratings.
    """
    CREATE TABLE widget_site_keys (
        key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        origins TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL
    );
    CREATE TABLE widget_visitors (
        contact_id INTEGER PRIMARY KEY REFERENCES contacts(id),
        token_hash TEXT NOT NULL UNIQUE,
        site_key TEXT NOT NULL REFERENCES widget_site_keys(key),
        follow_up_email TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE csat_ratings (
        conversation_id INTEGER PRIMARY KEY REFERENCES conversations(id),
        rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
        comment TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    );
    """,
    # Email in and out (server/email_*.py): attachments, the Message-IDs that thread mail
    # into conversations, the durable queue of replies for the SMTP relay, the desk's addresses.
    """
    CREATE TABLE attachments (
        id INTEGER PRIMARY KEY,
        message_id INTEGER NOT NULL REFERENCES messages(id),
        filename TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        -- NULL when the file was over the size limit: only its description is kept.
        content BLOB
    );
    CREATE INDEX attachments_message ON attachments(message_id, id);
    CREATE TABLE email_threads (
        header_id TEXT PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        message_id INTEGER REFERENCES messages(id),
        direction TEXT NOT NULL CHECK (direction IN ('in', 'out'))
    );
    CREATE INDEX email_threads_conversation ON email_threads(conversation_id);
    CREATE TABLE email_outbox (
        id INTEGER PRIMARY KEY,
        message_id INTEGER NOT NULL UNIQUE REFERENCES messages(id),
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        recipient TEXT NOT NULL,
        subject TEXT NOT NULL,
        header_id TEXT NOT NULL,
        in_reply_to TEXT,
        refs TEXT NOT NULL DEFAULT '',
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        sent_at TEXT
    );
    CREATE INDEX email_outbox_due ON email_outbox(state, next_attempt_at);
    CREATE TABLE mail_addresses (
        address TEXT PRIMARY KEY COLLATE NOCASE,
        position INTEGER NOT NULL
    );
    CREATE TABLE mail_secret (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        secret TEXT NOT NULL
    );
    INSERT INTO mail_secret(singleton, secret) VALUES (1, lower(hex(randomblob(32))));
    """,
    # Triage (server/triage_store.py): where the conversation's language came from (the
    # contact, the text, an agent), the rules' suggested priority and the whole assessment
    # (topics, sentiment, the rules that fired with their reasons) as JSON.
    """
    ALTER TABLE conversations ADD COLUMN language_source TEXT NOT NULL DEFAULT 'contact';
    ALTER TABLE conversations ADD COLUMN triage_priority TEXT;
    ALTER TABLE conversations ADD COLUMN triage TEXT;
    """,
    # Listing recorded SLA breaches newest first, and from a time on (`GET /sla/breaches`,
    # the kpis counts): the columns stay as they were.
    """
    CREATE INDEX sla_breaches_time ON sla_breaches(breached_at, id);
    """,
    # KPIs (server/stats_store.py). `resolved_at` is kept by a trigger on the status, so every
    # writer (agents, the bot, the widget) keeps it without knowing; backfilled from the
    # resolution clock, the "resolved" activity note, or the last activity. SLA clock cycles
    # are mirrored into `sla_cycles` (sla_clocks keeps only the latest cycle of each clock),
    # and bot outcomes are copied out of the event log, which is pruned.
    """
    ALTER TABLE conversations ADD COLUMN resolved_at TEXT;
    UPDATE conversations SET resolved_at = coalesce(
        (SELECT stopped_at FROM sla_clocks k WHERE k.conversation_id = conversations.id AND k.clock = 'rt'),
        (SELECT max(created_at) FROM messages m WHERE m.conversation_id = conversations.id
            AND m.kind = 'activity' AND m.body LIKE '% resolved the conversation'),
        last_activity_at
    ) WHERE status = 'resolved';
    CREATE TRIGGER conv_resolved_at AFTER UPDATE OF status ON conversations
    WHEN new.status IS NOT old.status BEGIN
        UPDATE conversations SET resolved_at = CASE WHEN new.status = 'resolved'
            THEN strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z' ELSE NULL END
        WHERE id = new.id;
    END;
    -- Covering: a period's conversations are read from the index alone, never the table.
    CREATE INDEX conv_created ON conversations(created_at, team_id, assignee_id, first_response_at);
    CREATE INDEX conv_resolved ON conversations(resolved_at, created_at, team_id, assignee_id)
        WHERE resolved_at IS NOT NULL;
    CREATE INDEX conv_team_created ON conversations(team_id, created_at, assignee_id, first_response_at);
    CREATE INDEX conv_assignee_created ON conversations(assignee_id, created_at, team_id, first_response_at);
    CREATE INDEX conv_backlog ON conversations(status, priority, team_id, assignee_id);
    CREATE TABLE sla_cycles (
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        clock TEXT NOT NULL,
        started_at TEXT NOT NULL,
        stopped_at TEXT,
        missed_at TEXT,
        -- the conversation's policy, kept in step by the triggers below (whether a cycle
        -- counts depends on it; looking it up per cycle was most of the SLA query's time)
        policy_id INTEGER,
        PRIMARY KEY (conversation_id, clock, started_at)
    );
    CREATE INDEX sla_cycles_started ON sla_cycles(clock, started_at, policy_id, stopped_at, missed_at);
    INSERT OR IGNORE INTO sla_cycles(conversation_id, clock, started_at, stopped_at, missed_at)
        SELECT conversation_id, clock, started_at, stopped_at, missed_at FROM sla_clocks;
    INSERT OR IGNORE INTO sla_cycles(conversation_id, clock, started_at, stopped_at, missed_at)
        SELECT conversation_id, clock, started_at, breached_at, breached_at FROM sla_breaches;
    UPDATE sla_cycles SET policy_id =
        (SELECT sla_policy_id FROM conversations c WHERE c.id = sla_cycles.conversation_id);
    CREATE TRIGGER sla_cycles_insert AFTER INSERT ON sla_clocks BEGIN
        INSERT OR REPLACE INTO sla_cycles
            (conversation_id, clock, started_at, stopped_at, missed_at, policy_id)
        VALUES (new.conversation_id, new.clock, new.started_at, new.stopped_at, new.missed_at,
                (SELECT sla_policy_id FROM conversations WHERE id = new.conversation_id));
    END;
    -- A clock moved in time (the demo's re-base) moves its cycles itself.
    CREATE TRIGGER sla_cycles_update AFTER UPDATE ON sla_clocks
    WHEN new.started_at IS old.started_at BEGIN
        INSERT OR REPLACE INTO sla_cycles
            (conversation_id, clock, started_at, stopped_at, missed_at, policy_id)
        VALUES (new.conversation_id, new.clock, new.started_at, new.stopped_at, new.missed_at,
                (SELECT sla_policy_id FROM conversations WHERE id = new.conversation_id));
    END;
    CREATE TRIGGER sla_cycles_policy AFTER UPDATE OF sla_policy_id ON conversations
    WHEN new.sla_policy_id IS NOT old.sla_policy_id BEGIN
        UPDATE sla_cycles SET policy_id = new.sla_policy_id WHERE conversation_id = new.id;
    END;
    CREATE TABLE bot_outcomes (
        seq INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('resolved', 'handoff')),
        at TEXT NOT NULL
    );
    CREATE INDEX bot_outcomes_at ON bot_outcomes(at, conversation_id);
    INSERT INTO bot_outcomes(seq, conversation_id, outcome, at)
        SELECT seq,
               coalesce(json_extract(data, '$.conversation_id'), json_extract(data, '$.conversation.id')),
               CASE type WHEN 'conversation.bot_resolved' THEN 'resolved' ELSE 'handoff' END, at
        FROM events
        WHERE type IN ('conversation.bot_resolved', 'conversation.bot_handoff')
          AND coalesce(json_extract(data, '$.conversation_id'), json_extract(data, '$.conversation.id'))
              IS NOT NULL;
    CREATE TRIGGER bot_outcomes_copy AFTER INSERT ON events
    WHEN new.type IN ('conversation.bot_resolved', 'conversation.bot_handoff')
        AND coalesce(json_extract(new.data, '$.conversation_id'), json_extract(new.data, '$.conversation.id'))
            IS NOT NULL
    BEGIN
        INSERT OR IGNORE INTO bot_outcomes(seq, conversation_id, outcome, at) VALUES (
            new.seq,
            coalesce(
                json_extract(new.data, '$.conversation_id'), json_extract(new.data, '$.conversation.id')
            ),
            CASE new.type WHEN 'conversation.bot_resolved' THEN 'resolved' ELSE 'handoff' END,
            new.at
        );
    END;
    """,
    # Shifts (issue 12): agents' weekly patterns and exceptions, teams' coverage windows, the
    # last shift end already acted on (presence goes offline once per end, across restarts),
    # handoffs with their per-conversation notes, and routing's memory (who was routed to
    # last, which conversations wait and why).
    """
    CREATE TABLE agent_schedules (
        agent_id INTEGER PRIMARY KEY REFERENCES agents(id),
        hours TEXT NOT NULL DEFAULT '[]',
        exceptions TEXT NOT NULL DEFAULT '[]',
        last_end_applied TEXT,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE team_coverage (
        team_id INTEGER PRIMARY KEY REFERENCES teams(id),
        zone TEXT NOT NULL,
        hours TEXT NOT NULL,
        min_agents INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE handoffs (
        id INTEGER PRIMARY KEY,
        from_agent_id INTEGER NOT NULL REFERENCES agents(id),
        to_team_id INTEGER REFERENCES teams(id),
        to_agent_ids TEXT NOT NULL DEFAULT '[]',
        note TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    );
    CREATE TABLE handoff_items (
        handoff_id INTEGER NOT NULL REFERENCES handoffs(id),
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        note TEXT NOT NULL DEFAULT '',
        to_agent_id INTEGER REFERENCES agents(id),
        to_team_id INTEGER REFERENCES teams(id),
        PRIMARY KEY (handoff_id, conversation_id)
    );
    CREATE INDEX handoff_items_conversation ON handoff_items(conversation_id, handoff_id);
    CREATE INDEX handoff_items_agent ON handoff_items(to_agent_id, handoff_id);
    CREATE TABLE routing_agents (
        agent_id INTEGER PRIMARY KEY REFERENCES agents(id),
        last_routed_at TEXT NOT NULL
    );
    CREATE TABLE routing_waits (
        conversation_id INTEGER PRIMARY KEY REFERENCES conversations(id),
        team_id INTEGER,
        outcome TEXT NOT NULL,
        reason TEXT NOT NULL,
        since TEXT NOT NULL
    );
    """,
    # The FAQ bot (server/bot.py): which channels it greets, and its state per conversation.
    """
    CREATE TABLE bot_channels (
        channel TEXT PRIMARY KEY,
        enabled INTEGER NOT NULL DEFAULT 0
    );
    ALTER TABLE conversations ADD COLUMN bot_status TEXT
        CHECK (bot_status IN ('active', 'handed_off', 'resolved', 'stopped'));
    ALTER TABLE conversations ADD COLUMN bot_reason TEXT;
    ALTER TABLE conversations ADD COLUMN bot_reason_text TEXT;
    CREATE TABLE bot_sessions (
        conversation_id INTEGER PRIMARY KEY REFERENCES conversations(id),
        unhelpful INTEGER NOT NULL DEFAULT 0,
        answered TEXT NOT NULL DEFAULT '[]',
        awaiting INTEGER NOT NULL DEFAULT 0
    );
    """,
    # KB search ranks every article that matches, and each one is checked for status and locale:
    # from this small index instead of the article row (half the search's time at 10,000).
    """
    CREATE INDEX IF NOT EXISTS kb_articles_live ON kb_articles(id, status, locale);
    """,
    # The queue's preview is the last message the customer saw: a private note or a handoff
    # note after it must not blank the row (last_message_id counts notes, for unread marks).
    """
    ALTER TABLE conversations ADD COLUMN last_visible_message_id INTEGER;
    UPDATE conversations SET last_visible_message_id = (
        SELECT max(m.id) FROM messages m
        WHERE m.conversation_id = conversations.id AND m.kind IN ('incoming', 'outgoing', 'bot')
    );
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNew(RuntimeError):
    pass


class DatabaseUnreachable(RuntimeError):
    """The PostgreSQL server named by `--db` cannot be reached (the message says which, without
    its password, and why)."""


class DatabaseSettingInvalid(ValueError):
    """A setting of the database connection (an AGENT_CONSOLE_* variable) cannot be used."""


class SqliteConnection(sqlite3.Connection):
    """The SQLite connection, with the few questions the store asks either engine
    (server/pg_connection.py is the PostgreSQL twin)."""

    dialect = "sqlite"
    rowid = "rowid"  # a row's own address, for tables without an id (PostgreSQL: ctid)

    def head_seq(self) -> int:
        """The newest event's seq (the log's AUTOINCREMENT counter, kept through pruning)."""
        row = self.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        return row[0] if row else 0

    def announce(self, seq: int) -> None:
        """Nothing to wake: one process owns a SQLite desk and publishes its own commits."""

    @staticmethod
    def json_values(expr: str, alias: str = "j") -> str:
        """A FROM item listing the JSON array `expr` as rows of one column, `alias`.value."""
        return f"json_each({expr}) AS {alias}"


def connect(target: str | Path) -> Any:
    """Open and migrate the desk database: a SQLite file (created if needed, owner-only) or,
    for a `postgresql://` URL, a PostgreSQL database (server/pg_connection.py)."""
    if is_postgres_url(target):
        import psycopg

        from agent_console.server import pg_schema
        from agent_console.server.pg_connection import PgConnection

        try:
            pg = PgConnection(str(target))
        except psycopg.OperationalError as exc:
            reason = " ".join(str(exc).split())
            raise DatabaseUnreachable(f"cannot connect to {describe(target)}: {reason}") from None
        pg_schema.migrate(pg)
        return pg
    conn = open_unmigrated(target)
    migrate(conn)
    return conn


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def target(value: str | Path) -> str | Path:
    """What `--db` names: a PostgreSQL URL as it is, anything else a SQLite file's path."""
    return str(value) if is_postgres_url(str(value)) else Path(value).expanduser()


def describe(target: str | Path) -> str:
    """The database for messages and logs: a PostgreSQL URL without its password."""
    if not is_postgres_url(target):
        return str(target)
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(str(target))
    if parts.password is None:
        return str(target)
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def open_unmigrated(path: str | Path) -> SqliteConnection:
    """Open (creating if needed, owner-only) the database at `path`, its schema as it is."""
    if str(path) != ":memory:":
        private_file(Path(path))
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, factory=SqliteConnection)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to SCHEMA_VERSION, one transaction per step."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    refuse_newer(version)
    for number in range(version, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # executescript would commit on its own; run statements one by one instead.
            for statement in _split(MIGRATIONS[number]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION


def _split(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


def refuse_newer(version: int) -> None:
    """SchemaTooNew when `version` is past what this program knows: never run on a schema a
    newer release wrote (its tables may mean things this code would break)."""
    refuse_newer_than(version, SCHEMA_VERSION)


def refuse_newer_than(version: int, known: int) -> None:
    if version > known:
        raise SchemaTooNew(
            f"database schema is version {version}; this agent-console knows up to "
            f"{known}. Upgrade agent-console."
        )


def peek_version(path: Path) -> int | None:
    """The schema version of the database at `path`, read without creating, migrating or
    writing anything (a read-only connection); None when there is no file.
    sqlite3.DatabaseError when the file is not a SQLite database."""
    if not path.is_file():
        return None
    # A read-only connection to a WAL database leaves `-wal` and `-shm` files behind. Without a
    # `-wal` file the main file holds every commit, so read it as immutable: nothing is created.
    wal = path.with_name(path.name + "-wal").exists()
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro{'' if wal else '&immutable=1'}", uri=True)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()
