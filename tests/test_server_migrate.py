"""`agent-console server migrate`: run the schema migrations explicitly, check for pending ones
without changing anything (deploy scripts), and refuse a database from a newer release unchanged."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from agent_console.server.db import MIGRATIONS, SCHEMA_VERSION, _split, connect
from tests.cli_support import base_env, invoke, run_cli


def _migrate(tmp_path: Path, db: Path | str, *extra: str):
    return invoke("server", "migrate", "--db", str(db), *extra, env=base_env(tmp_path))


def _folder(tmp_path: Path) -> Path:
    """A folder of the database's own, so its listing shows only what the command made there."""
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


def _state(db: Path) -> tuple[bytes, int, list[str]]:
    """What "unchanged" means: the file's bytes, its mtime, and the files beside it."""
    return db.read_bytes(), db.stat().st_mtime_ns, sorted(os.listdir(db.parent))


def _old_database(db: Path, version: int) -> None:
    """A database as a release `version` migrations long left it, with a customer and an article."""
    raw = sqlite3.connect(db, isolation_level=None)
    for number in range(version):
        for statement in _split(MIGRATIONS[number]):
            raw.execute(statement)
    raw.execute(f"PRAGMA user_version = {version}")
    raw.execute(
        "INSERT INTO contacts(name, email, language, created_at)"
        " VALUES ('Mara Quist', 'mara@example.com', 'en', '2026-11-01T00:00:00.000000Z')"
    )
    raw.execute(
        "INSERT INTO kb_articles(slug, title, body, tags, locale, updated_at) VALUES"
        " ('roaming', 'Roaming abroad', 'Turn on data roaming before you travel.', '[]', 'en',"
        " '2026-11-01T00:00:00.000000Z')"
    )
    raw.close()


def test_a_new_path_gets_every_migration_then_is_up_to_date(tmp_path: Path) -> None:
    db = tmp_path / "new" / "desk.db"
    ran = _migrate(tmp_path, db)
    assert ran.code == 0, ran
    assert ran.stdout.strip() == f"schema version 0 -> {SCHEMA_VERSION} ({SCHEMA_VERSION} migrations applied)"
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"conversations", "messages", "events"} <= tables
    conn.close()

    again = _migrate(tmp_path, db)
    assert again.code == 0, again
    assert again.stdout.strip() == f"schema version {SCHEMA_VERSION}: up to date"
    checked = _migrate(tmp_path, db, "--check")
    assert checked.code == 0, checked
    assert checked.stdout.strip() == f"schema version {SCHEMA_VERSION}: up to date"


def test_check_on_an_up_to_date_database_touches_nothing(tmp_path: Path) -> None:
    db = _folder(tmp_path) / "desk.db"
    connect(db).close()
    before = _state(db)
    ran = _migrate(tmp_path, db, "--check")
    assert ran.code == 0, ran
    assert _state(db) == before  # not even the `-wal`/`-shm` files a reader could leave


def test_check_on_a_missing_path_says_all_are_pending_and_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "nowhere" / "desk.db"
    ran = _migrate(tmp_path, db, "--check")
    assert ran.code == 1, ran
    assert ran.stdout.strip() == (
        f"no database at {db}: {SCHEMA_VERSION} migrations pending (run without --check to create it)"
    )
    assert ran.stderr == ""  # pending is an answer, not a failure
    assert not db.parent.exists()


def test_an_old_database_is_checked_then_upgraded_with_its_data(tmp_path: Path) -> None:
    from agent_console.server.store import Store

    db = _folder(tmp_path) / "desk.db"
    _old_database(db, 1)
    before = _state(db)
    pending = SCHEMA_VERSION - 1

    checked = _migrate(tmp_path, db, "--check")
    assert checked.code == 1, checked
    assert checked.stdout.strip() == (
        f"schema version 1: {pending} migrations pending (this release is at {SCHEMA_VERSION})"
    )
    assert _state(db) == before

    ran = _migrate(tmp_path, db)
    assert ran.code == 0, ran
    assert ran.stdout.strip() == f"schema version 1 -> {SCHEMA_VERSION} ({pending} migrations applied)"
    store = Store(connect(db))
    try:
        assert store.list_contacts("mara", 10)[0].email == "mara@example.com"
        assert [hit.title for hit in store.kb_search("roam", locale=None, limit=10)] == ["Roaming abroad"]
    finally:
        store.conn.close()
    assert _migrate(tmp_path, db, "--check").code == 0


def test_a_database_from_a_newer_release_is_refused_unchanged(tmp_path: Path) -> None:
    db = _folder(tmp_path) / "desk.db"
    connect(db).close()
    raw = sqlite3.connect(db)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.commit()
    raw.close()
    before = _state(db)
    for extra in ((), ("--check",)):
        ran = _migrate(tmp_path, db, *extra)
        assert ran.code == 2, ran
        assert f"schema is version {SCHEMA_VERSION + 1}" in ran.stderr
        assert "Upgrade agent-console" in ran.stderr
        assert ran.stdout == ""
        assert _state(db) == before


def test_serve_refuses_a_newer_database_unchanged_too(tmp_path: Path) -> None:
    db = _folder(tmp_path) / "desk.db"
    connect(db).close()
    raw = sqlite3.connect(db)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.commit()
    raw.close()
    before = _state(db)
    ran = run_cli("serve", "--port", "0", "--db", str(db), env=base_env(tmp_path))
    assert ran.code == 1, ran  # serve's own code for it since before `server migrate`
    assert "Upgrade agent-console" in ran.stderr
    assert _state(db) == before


def test_a_file_that_is_not_a_database_is_refused_unchanged(tmp_path: Path) -> None:
    db = _folder(tmp_path) / "notes.txt"
    db.write_text("not a database, just notes\n" * 10)
    before = _state(db)
    ran = _migrate(tmp_path, db)
    assert ran.code == 2, ran
    assert "is not a desk database" in ran.stderr
    assert _state(db) == before


# --- PostgreSQL ---------------------------------------------------------------------------


def test_postgres_check_then_migrate_then_up_to_date_and_newer_refused(tmp_path: Path, pg_cluster) -> None:
    """The same command, messages and exit codes on a PostgreSQL URL; a password never shows."""
    import psycopg

    from agent_console.server.pg_schema import SCHEMA_VERSION as PG_VERSION

    url = pg_cluster.new_database()
    pending = _migrate(tmp_path, url, "--check")
    assert pending.code == 1, pending.stdout
    assert f"schema version 0: {PG_VERSION} migration" in pending.stdout
    with psycopg.connect(url) as pg:  # --check wrote nothing
        assert pg.execute("SELECT to_regclass('agents')").fetchone()[0] is None
    applied = _migrate(tmp_path, url)
    assert applied.code == 0, applied.stdout
    assert f"schema version 0 -> {PG_VERSION}" in applied.stdout
    again = _migrate(tmp_path, url, "--check")
    assert again.code == 0 and f"schema version {PG_VERSION}: up to date" in again.stdout
    with psycopg.connect(url) as pg:
        pg.execute("UPDATE desk_schema SET version = version + 1")
    newer = _migrate(tmp_path, url)
    assert newer.code == 2, newer
    assert "Upgrade agent-console" in newer.stderr
    # A wrong password: refused, exit 2, and the password is not in what is printed.
    unreachable = _migrate(tmp_path, "postgresql://agent:hunter2secret@127.0.0.1:1/nowhere")
    assert unreachable.code == 2, unreachable
    said = unreachable.stdout + unreachable.stderr
    assert "hunter2secret" not in said and "cannot connect to postgresql://agent:***@127.0.0.1:1" in said


def test_serve_and_add_agent_say_which_database_they_cannot_reach(tmp_path: Path) -> None:
    """A PostgreSQL URL that does not answer: exit 1 and one line naming it, password hidden."""
    url = "postgresql://desk:hunter2secret@127.0.0.1:1/desk"
    for args in (
        ("serve", "--db", url, "--port", "0"),
        ("server", "add-agent", "--name", "A", "--email", "a@b.c"),
    ):
        env = {**base_env(tmp_path), "AGENT_CONSOLE_DB": url}
        ran = run_cli(*args, env=env)
        assert ran.code == 1, ran
        assert "cannot connect to postgresql://desk:***@127.0.0.1:1/desk" in ran.stderr
        assert "hunter2secret" not in ran.stdout + ran.stderr


def test_a_write_limit_that_is_not_a_number_is_named_not_a_traceback(tmp_path: Path, pg_cluster) -> None:
    url = pg_cluster.new_database()
    env = {**base_env(tmp_path), "AGENT_CONSOLE_DB": url, "AGENT_CONSOLE_WRITE_HOLD_LIMIT": "soon"}
    ran = run_cli("serve", "--port", "0", env=env)
    assert ran.code == 1, ran
    assert "AGENT_CONSOLE_WRITE_HOLD_LIMIT must be a number of seconds" in ran.stderr
    assert "Traceback" not in ran.stderr
