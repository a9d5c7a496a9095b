"""The Lumo Mobile demo data set: content volume, variety, validity and determinism."""

from __future__ import annotations

import ast
import random
import re
import sqlite3
import sys
import tomllib
import zoneinfo
from collections import Counter
from dataclasses import FrozenInstanceError, fields
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest

from agent_console.core.clock import to_iso
from agent_console.demo import dataset as demo
from agent_console.demo.dataset import (
    ALLOWED_PLACEHOLDERS,
    CHANNELS,
    MESSAGE_KINDS,
    PRIORITIES,
    STATUSES,
    build_dataset,
    canned_placeholders,
    languages,
    load_agents,
    load_canned,
    load_kb_articles,
    load_teams,
    parse_kb_article,
    random_follow_up,
    random_impatient_ping,
    random_inbound,
)
from agent_console.demo.seeds import (
    AgentSeed,
    CannedSeed,
    ContactSeed,
    ConversationSeed,
    DemoDataset,
    InboundSeed,
    KbArticleSeed,
    MessageSeed,
    TeamSeed,
)
from tests.conftest import ENGINES

DESK_ENGINES = ENGINES  # the seeded desk on SQLite and on PostgreSQL (tests taking `database`)

NOW = datetime(2026, 11, 24, 9, 30, 15, 250_000, tzinfo=UTC)
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# Same rule as the wire schema's Label: no whitespace, no commas.
LABEL = re.compile(r"^[^\s,]{1,50}$")
KNOWN_LABELS = {
    "account",
    "android",
    "billing",
    "bug",
    "esim",
    "hotspot",
    "ios",
    "refund",
    "roaming",
    "speed",
    "vip",
}

from tests.conftest import ENGINES  # noqa: E402

DESK_ENGINES = ENGINES  # the seeded desk on SQLite and on PostgreSQL (tests taking `database`)


@pytest.fixture(scope="module")
def data() -> DemoDataset:
    return build_dataset(seed=7, now=NOW)


@pytest.fixture(scope="module")
def phrases() -> dict:
    text = resources.files("agent_console.demo").joinpath("phrases.toml").read_text("utf-8")
    return tomllib.loads(text)


def _words(text: str) -> int:
    return len(re.findall(r"\w+", text))


def _zone_exists(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except zoneinfo.ZoneInfoNotFoundError:
        return False
    return True


# --- seeds interface ------------------------------------------------------------------


def test_seed_classes_are_frozen_and_slotted() -> None:
    classes = [
        AgentSeed,
        TeamSeed,
        KbArticleSeed,
        CannedSeed,
        ContactSeed,
        MessageSeed,
        ConversationSeed,
        DemoDataset,
        InboundSeed,
    ]
    for cls in classes:
        assert "__slots__" in vars(cls), cls
        assert cls.__dataclass_params__.frozen, cls
    team = TeamSeed(name="X", description="y")
    with pytest.raises(FrozenInstanceError):
        team.name = "Z"  # type: ignore[misc]
    assert [f.name for f in fields(ConversationSeed)] == [
        "contact_key",
        "channel",
        "status",
        "priority",
        "subject",
        "language",
        "labels",
        "assignee",
        "team",
        "created_at",
        "snoozed_until",
        "messages",
    ]


def test_demo_package_uses_only_the_standard_library() -> None:
    folder = Path(demo.__file__).parent
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module.startswith("agent_console.demo"):
                    continue
                roots = [node.module.split(".")[0]]
            else:
                continue
            for root in roots:
                assert root in sys.stdlib_module_names or root == "__future__", (path, root)


# --- knowledge base -------------------------------------------------------------------


def test_kb_has_enough_articles_in_each_locale() -> None:
    articles = load_kb_articles()
    by_locale = Counter(a.locale for a in articles)
    assert len(articles) >= 44
    assert by_locale["en"] >= 30
    assert by_locale["es"] >= 6
    assert by_locale["de"] >= 4
    assert by_locale["fr"] >= 4


def test_kb_articles_have_substance() -> None:
    for article in load_kb_articles():
        words = _words(article.body)
        assert 150 <= words <= 450, (article.slug, words)
        assert article.title.strip() and article.tags
        assert not article.body.startswith("---")
        assert "lorem" not in article.body.lower()
        assert article.updated_at.tzinfo is not None
        assert article.updated_at.utcoffset() == timedelta(0)


def test_kb_files_are_named_after_locale_and_slug() -> None:
    folder = resources.files("agent_console.demo").joinpath("kb")
    names = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".md"))
    articles = load_kb_articles()
    assert names == [f"{a.locale}-{a.slug}.md" for a in articles]
    assert len({a.slug for a in articles}) == len(articles)


def test_kb_front_matter_parses_the_documented_format() -> None:
    text = (
        "---\n"
        "title: Install your Lumo eSIM on an iPhone\n"
        "tags: esim, iphone, install\n"
        "locale: en\n"
        "updated: 2026-10-03\n"
        "---\n"
        "Markdown body...\n"
    )
    article = parse_kb_article("en-install-on-iphone.md", text)
    assert article == KbArticleSeed(
        slug="install-on-iphone",
        title="Install your Lumo eSIM on an iPhone",
        body="Markdown body...\n",
        tags=("esim", "iphone", "install"),
        locale="en",
        updated_at=datetime(2026, 10, 3, tzinfo=UTC),
    )


GOOD_HEADER = ["title: T", "tags: a, b", "locale: en", "updated: 2026-01-02"]


@pytest.mark.parametrize(
    ("name", "header", "body", "reason"),
    [
        ("en-x.md", None, "body", "missing front matter"),
        ("en-x.md", [*GOOD_HEADER, "author: me"], "body", "unknown"),
        ("en-x.md", GOOD_HEADER[:-1], "body", "missing updated"),
        ("en-x.md", [*GOOD_HEADER, "title: again"], "body", "duplicate"),
        ("en-x.md", ["title: T", "tags: a", "locale: en", "updated: 03/10/2026"], "b", "date"),
        ("en-x.md", ["title: T", "tags: a b", "locale: en", "updated: 2026-01-02"], "b", "tag"),
        ("en-x.md", ["title:", *GOOD_HEADER[1:]], "body", "empty"),
        ("en-x.md", ["just text", *GOOD_HEADER], "body", "key: value"),
        ("es-x.md", GOOD_HEADER, "body", "locale prefix"),
        ("en-x.md", GOOD_HEADER, "   \n", "body is empty"),
        ("en-Bad_Slug.md", GOOD_HEADER, "body", "slug"),
    ],
)
def test_kb_front_matter_is_strict(name: str, header: list[str] | None, body: str, reason: str) -> None:
    text = body if header is None else "---\n" + "\n".join(header) + "\n---\n" + body
    with pytest.raises(ValueError, match=re.escape(name)) as info:
        parse_kb_article(name, text)
    assert reason in str(info.value)


def test_kb_front_matter_must_be_closed() -> None:
    with pytest.raises(ValueError, match=r"en-open\.md: .*not closed"):
        parse_kb_article("en-open.md", "---\ntitle: T\nbody without a closing line\n")


def test_every_topic_links_to_an_english_article(phrases: dict) -> None:
    english = {a.slug for a in load_kb_articles() if a.locale == "en"}
    for key, topic in phrases["topics"].items():
        assert topic["kb"] in english, key


# --- canned responses -----------------------------------------------------------------


def test_canned_counts_by_locale() -> None:
    canned = load_canned()
    by_locale = Counter(c.locale for c in canned)
    assert len(canned) >= 24
    assert by_locale["en"] >= 14
    for locale in ("es", "de", "fr"):
        assert by_locale[locale] >= 3, locale


def test_canned_shortcodes_are_valid_and_unique_per_locale() -> None:
    canned = load_canned()
    keys = [(c.locale, c.shortcode) for c in canned]
    assert len(set(keys)) == len(keys)
    for c in canned:
        assert re.fullmatch(r"[a-z0-9_-]+", c.shortcode), c.shortcode
    english = {c.shortcode for c in canned if c.locale == "en"}
    assert {"greet", "refund-ok", "apn", "esim-iphone", "close", "escalate"} <= english


def test_canned_placeholders_come_from_the_allowed_set() -> None:
    assert ALLOWED_PLACEHOLDERS == {
        "contact.first_name",
        "contact.name",
        "contact.email",
        "agent.name",
        "agent.first_name",
        "conversation.id",
        "cursor",
    }
    for c in load_canned():
        names = canned_placeholders(c.body)
        assert set(names) <= ALLOWED_PLACEHOLDERS, (c.shortcode, names)
        assert names.count("cursor") <= 1, c.shortcode
        assert [n for n in names if n != "cursor"], f"{c.locale}/{c.shortcode} has no placeholder"
        # No single-brace or unbalanced leftovers that a renderer would show verbatim.
        stripped = re.sub(r"\{\{[^{}]*\}\}", "", c.body)
        assert "{" not in stripped and "}" not in stripped, c.shortcode
        assert c.body == c.body.strip()


# --- people ---------------------------------------------------------------------------


def test_agents_and_teams() -> None:
    agents, teams = load_agents(), load_teams()
    assert {t.name for t in teams} == {"Activation", "Billing", "Technical", "Escalations"}
    assert all(t.description for t in teams)
    assert len(agents) >= 7
    assert [a.role for a in agents].count("admin") == 1
    assert {a.role for a in agents} == {"agent", "admin"}
    assert len({a.email for a in agents}) == len(agents)
    assert all(a.email.endswith("@lumo.example") for a in agents)
    assert all(a.team in {t.name for t in teams} for a in agents)
    assert len({a.timezone for a in agents}) >= 4
    assert all(_zone_exists(a.timezone) for a in agents)
    # Every team has somebody on it.
    assert {a.team for a in agents} == {t.name for t in teams}


# --- phrases --------------------------------------------------------------------------


def test_phrases_cover_five_languages_and_ten_topics(phrases: dict) -> None:
    langs = phrases["lang"]
    assert {"en", "es", "de", "fr", "pt"} <= set(langs)
    assert set(languages()) == set(langs)
    for code, lang in langs.items():
        assert len(lang["topics"]) >= 10, code
        for key, topic in lang["topics"].items():
            assert topic["subject"].strip(), (code, key)
            assert 2 <= len(topic["openings"]) <= 3, (code, key)
            assert len(topic["follow_ups"]) >= 2, (code, key)
        assert len(lang["pings"]) >= 3, code
        assert len(lang["first_names"]) >= 10 and len(lang["last_names"]) >= 10, code
        for region in lang["region"]:
            assert _zone_exists(region["zone"]), region["zone"]
    agent = phrases["agent"]
    assert any("Lumo's assistant" in line for line in agent["bot_greetings"])
    assert len(agent["notes"]) >= 5


# --- generated dataset ----------------------------------------------------------------


def test_dataset_size_and_variety(data: DemoDataset) -> None:
    assert len(data.conversations) >= 200
    assert {c.channel for c in data.conversations} == set(CHANNELS)
    assert len(data.contacts) >= 150
    assert len({c.timezone for c in data.contacts}) >= 8
    assert len({c.language for c in data.contacts}) >= 4
    assert len({c.language for c in data.conversations}) >= 4
    assert len(data.kb_articles) >= 40
    assert len(data.canned) >= 20
    assert data.agents == load_agents() and data.teams == load_teams()
    assert all(_zone_exists(c.timezone) for c in data.contacts)


def test_status_priority_and_assignment_mix(data: DemoDataset) -> None:
    n = len(data.conversations)
    status = Counter(c.status for c in data.conversations)
    assert set(status) == set(STATUSES)
    assert 0.45 <= status["open"] / n <= 0.65
    assert 0.10 <= status["pending"] / n <= 0.20
    assert 0.05 <= status["snoozed"] / n <= 0.15
    assert 0.15 <= status["resolved"] / n <= 0.25
    priority = Counter(c.priority for c in data.conversations)
    assert set(priority) == set(PRIORITIES)
    assert 0.04 <= priority["urgent"] / n <= 0.12
    unassigned_open = [c for c in data.conversations if c.status == "open" and c.assignee is None]
    # A night desk that keeps up: a short unassigned queue, mostly email (an hour to answer).
    assert 0.03 <= len(unassigned_open) / n <= 0.08
    assert sum(c.channel == "email" for c in unassigned_open) > len(unassigned_open) / 2
    assert all(c.assignee for c in data.conversations if c.status != "open")


def test_contacts_are_plausible(data: DemoDataset, phrases: dict) -> None:
    keys = [c.key for c in data.contacts]
    assert keys == list(range(1, len(keys) + 1))
    assert sum(1 for c in data.contacts if c.email) / len(data.contacts) > 0.6
    assert len({c.email for c in data.contacts if c.email}) == sum(1 for c in data.contacts if c.email)
    for contact in data.contacts:
        assert contact.language in phrases["lang"]
        zones = {r["zone"] for r in phrases["lang"][contact.language]["region"]}
        assert contact.timezone in zones, contact
        if contact.phone is not None:
            assert E164.match(contact.phone), contact.phone
        if contact.email is not None:
            assert contact.email.isascii() and "@" in contact.email
    by_key = {c.key: c for c in data.contacts}
    for conv in data.conversations:
        contact = by_key[conv.contact_key]
        assert conv.language == contact.language
        if conv.channel in ("whatsapp", "sms"):
            assert contact.phone, conv
        if conv.channel == "email":
            assert contact.email, conv


def test_conversation_fields_are_valid(data: DemoDataset) -> None:
    agent_emails = {a.email for a in data.agents}
    team_names = {t.name for t in data.teams}
    for conv in data.conversations:
        assert conv.channel in CHANNELS
        assert conv.status in STATUSES
        assert conv.priority in PRIORITIES
        assert conv.assignee is None or conv.assignee in agent_emails
        assert conv.team is None or conv.team in team_names
        assert len(set(conv.labels)) == len(conv.labels)
        assert set(conv.labels) <= KNOWN_LABELS
        assert all(LABEL.match(label) for label in conv.labels)
        assert NOW - timedelta(hours=72) <= conv.created_at < NOW
        if conv.channel == "email":
            assert conv.subject
        if conv.status == "snoozed":
            assert conv.snoozed_until is not None and conv.snoozed_until > NOW
        else:
            assert conv.snoozed_until is None


def test_messages_are_in_order_and_before_now(data: DemoDataset) -> None:
    agent_emails = {a.email for a in data.agents}
    for conv in data.conversations:
        msgs = conv.messages
        assert 1 <= len(msgs) <= 8
        assert msgs[0].kind == "incoming"
        assert msgs[0].at == conv.created_at
        times = [m.at for m in msgs]
        assert all(a < b for a, b in zip(times, times[1:], strict=False)), conv
        assert times[-1] < NOW
        assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t in times)
        for m in msgs:
            assert m.kind in MESSAGE_KINDS
            assert m.body.strip()
            if m.kind in ("outgoing", "note"):
                assert m.author_agent in agent_emails
            else:
                assert m.author_agent is None
            assert "{" not in m.body or "{{" not in m.body  # no unfilled template tokens
            assert not re.search(r"\{(first|last|agent|colleague|article)\}", m.body)
        if conv.channel != "web_chat":
            assert all(m.kind != "bot" for m in msgs)


def test_threads_match_their_status(data: DemoDataset) -> None:
    convs = data.conversations
    for conv in convs:
        last = conv.messages[-1]
        kinds = [m.kind for m in conv.messages]
        if conv.status == "resolved":
            assert last.kind in ("outgoing", "activity")
        if conv.status == "pending":
            assert last.kind == "outgoing"
        if conv.status == "open" and conv.assignee is None:
            assert last.kind == "incoming"  # waiting on a first answer
            assert "outgoing" not in kinds
        if conv.assignee is not None:
            assert "outgoing" in kinds
            assert any(m.kind == "activity" and m.body.startswith("Assigned to") for m in conv.messages)
    # Most open threads were answered: they wait on the customer (only resolution counts).
    open_ = [c for c in convs if c.status == "open"]
    waiting = [c for c in open_ if c.messages[-1].kind == "incoming"]
    assert 0.1 * len(open_) <= len(waiting) <= 0.3 * len(open_)
    kinds = Counter(m.kind for c in convs for m in c.messages)
    assert set(kinds) == set(MESSAGE_KINDS)
    assert any(c.channel == "web_chat" and c.messages[1].kind == "bot" for c in convs)


def test_threads_open_in_the_contacts_language(data: DemoDataset, phrases: dict) -> None:
    for conv in data.conversations:
        lang = phrases["lang"][conv.language]
        openings = {o for t in lang["topics"].values() for o in t["openings"]}
        first = conv.messages[0].body
        assert any(first.startswith(o) for o in openings), (conv.language, first)


def test_replies_are_written_in_the_contacts_language(data: DemoDataset, phrases: dict) -> None:
    def templates(code: str) -> list[re.Pattern[str]]:
        lang = phrases["lang"][code]
        lines = [line for key in ("greetings", "asks", "working", "closings") for line in lang["agent"][key]]
        lines += [r for t in lang["topics"].values() for r in t["replies"]]
        patterns = []
        for line in lines:
            pattern = re.escape(line)
            for token in ("first", "last", "agent"):
                pattern = pattern.replace(re.escape("{" + token + "}"), ".+?")
            patterns.append(re.compile(pattern))
        return patterns

    by_language = {code: templates(code) for code in phrases["lang"]}
    checked = Counter()
    for conv in data.conversations:
        for m in conv.messages:
            if m.kind != "outgoing":
                continue
            opening_paragraph = m.body.split("\n\n")[0]
            assert any(p.fullmatch(opening_paragraph) for p in by_language[conv.language]), (
                conv.language,
                m.body,
            )
            checked[conv.language] += 1
    assert len(checked) >= 4


def test_agents_do_not_repeat_themselves_within_a_thread(data: DemoDataset) -> None:
    for conv in data.conversations:
        paragraphs = [
            p
            for m in conv.messages
            if m.kind == "outgoing"
            for p in m.body.split("\n\n")
            if "Lumo Mobile Support" not in p
        ]
        assert len(paragraphs) == len(set(paragraphs)), conv.messages


def test_returning_contacts_have_earlier_resolved_conversations(data: DemoDataset) -> None:
    keys = {c.key for c in data.contacts}
    by_contact: dict[int, list[ConversationSeed]] = {}
    for conv in data.conversations:
        assert conv.contact_key in keys
        by_contact.setdefault(conv.contact_key, []).append(conv)
    returning = {k: v for k, v in by_contact.items() if len(v) > 1}
    assert len(returning) >= 10
    for convs in returning.values():
        convs.sort(key=lambda c: c.created_at)
        for earlier, later in zip(convs, convs[1:], strict=False):
            assert earlier.status == "resolved"
            assert earlier.messages[-1].at < later.created_at


def test_build_is_deterministic(data: DemoDataset) -> None:
    again = build_dataset(seed=7, now=NOW)
    assert again == data
    other = build_dataset(seed=8, now=NOW)
    assert other != data
    assert other.conversations != data.conversations
    later = build_dataset(seed=7, now=NOW + timedelta(hours=1))
    assert later.conversations[0].created_at == data.conversations[0].created_at + timedelta(hours=1)


def test_build_does_not_touch_global_random() -> None:
    random.seed(1234)
    expected = random.random()
    random.seed(1234)
    build_dataset(seed=3, now=NOW, conversations=30)
    assert random.random() == expected


def test_build_scales_and_validates_arguments() -> None:
    small = build_dataset(seed=1, now=NOW, conversations=12)
    assert len(small.conversations) == 12
    assert {c.channel for c in small.conversations} == set(CHANNELS)
    assert len(small.contacts) >= 150
    assert build_dataset(seed=1, now=NOW, conversations=0).conversations == ()
    with pytest.raises(ValueError):
        build_dataset(now=datetime(2026, 11, 24, 9, 0))  # naive
    with pytest.raises(ValueError):
        build_dataset(now=NOW, conversations=-1)


def test_default_now_is_the_current_time() -> None:
    before = datetime.now(UTC)
    built = build_dataset(seed=2, conversations=20)
    after = datetime.now(UTC)
    newest = max(m.at for c in built.conversations for m in c.messages)
    assert before - timedelta(hours=72) <= min(c.created_at for c in built.conversations)
    assert newest < after


# --- live traffic ---------------------------------------------------------------------


def test_random_inbound_yields_valid_new_chats() -> None:
    rng = random.Random(99)
    seen_channels, seen_langs = set(), set()
    for _ in range(300):
        inbound = random_inbound(rng)
        assert isinstance(inbound, InboundSeed)
        assert inbound.channel in CHANNELS
        assert inbound.language in languages()
        assert inbound.body.strip() and inbound.contact_name.strip()
        assert _zone_exists(inbound.timezone)
        if inbound.channel == "email":
            assert inbound.subject and inbound.contact_email
        if inbound.channel in ("whatsapp", "sms"):
            assert inbound.contact_phone and E164.match(inbound.contact_phone)
        seen_channels.add(inbound.channel)
        seen_langs.add(inbound.language)
    assert seen_channels == set(CHANNELS)
    assert len(seen_langs) >= 4


def test_random_inbound_respects_language_and_is_reproducible() -> None:
    for code in languages():
        assert random_inbound(random.Random(5), code).language == code
    assert random_inbound(random.Random(5)) == random_inbound(random.Random(5))
    assert random_inbound(random.Random(5), "xx").language == "en"


def test_follow_ups_and_pings(phrases: dict) -> None:
    for code in languages():
        lang = phrases["lang"][code]
        follow_ups = {f for t in lang["topics"].values() for f in t["follow_ups"]}
        assert random_follow_up(random.Random(3), code) in follow_ups
        assert random_impatient_ping(random.Random(3), code) in lang["pings"]
        assert random_follow_up(random.Random(3), code) == random_follow_up(random.Random(3), code)
    assert random_impatient_ping(random.Random(3), "xx") in phrases["lang"]["en"]["pings"]


def test_every_language_has_a_customer_giving_up(phrases: dict) -> None:
    from agent_console.demo.dataset import random_give_up

    for code in languages():
        assert len(phrases["lang"][code]["gave_up"]) >= 2, code
        assert random_give_up(random.Random(3), code) in phrases["lang"][code]["gave_up"]
    assert random_give_up(random.Random(3), "xx") in phrases["lang"]["en"]["gave_up"]


def test_in_every_language_a_customer_can_say_it_is_urgent_and_be_heard(phrases: dict) -> None:
    """The simulator's "this is urgent" pings are what the server's rule recognizes."""
    from agent_console.core.urgency import says_urgent

    for code in languages():
        assert any(says_urgent(ping) for ping in phrases["lang"][code]["pings"]), code
        assert not any(says_urgent(line) for line in phrases["lang"][code]["thanks"]), code


# --- the seeded desk against the clock -----------------------------------------------------


def _seeded(database: Path | str, at: datetime) -> sqlite3.Connection:
    """The demo desk seeded as of `at`, on SQLite (a folder: its demo.db) or PostgreSQL (a URL)."""
    from agent_console.server import db
    from agent_console.server.seed import seed_demo

    conn = db.connect(database / "demo.db" if isinstance(database, Path) else database)
    seed_demo(conn, now=at)
    return conn


def _on_time(conn: sqlite3.Connection, now: datetime, unassigned: bool = False) -> tuple[int, int]:
    """(on time, waiting) among open conversations someone waits on."""
    where = "status = 'open' AND due_at IS NOT NULL" + (" AND assignee_id IS NULL" if unassigned else "")
    waiting = conn.execute(f"SELECT count(*) FROM conversations WHERE {where}").fetchone()[0]
    on_time = conn.execute(
        f"SELECT count(*) FROM conversations WHERE {where} AND due_at >= ?", (to_iso(now),)
    ).fetchone()[0]
    return on_time, waiting


def test_most_of_the_seeded_desk_is_on_time_at_start(database: Path | str) -> None:
    conn = _seeded(database if isinstance(database, str) else database.parent, NOW)
    on_time, waiting = _on_time(conn, NOW)
    # A desk that keeps up: at least three in four waiting customers inside their target.
    assert waiting > 100 and on_time >= waiting * 0.75, (on_time, waiting)
    on_time, waiting = _on_time(conn, NOW, unassigned=True)
    assert on_time >= waiting * 0.75, (on_time, waiting)  # the queue: mostly fresh, a late tail


def test_seeded_customers_who_say_it_is_urgent_are_at_least_high(tmp_path: Path) -> None:
    from agent_console.core.urgency import says_urgent

    conn = _seeded(tmp_path, NOW)
    rows = conn.execute(
        "SELECT c.id, c.priority, m.body FROM conversations c JOIN messages m ON m.conversation_id = c.id"
        " WHERE m.kind = 'incoming'"
    ).fetchall()
    urgent_words = [(cid, priority) for cid, priority, body in rows if says_urgent(body)]
    assert len(urgent_words) >= 5  # the demo's impatient customers do say so
    assert [(cid, p) for cid, p in urgent_words if p in ("normal", "low")] == []


def test_a_reused_demo_desk_is_moved_forward_to_look_as_it_was_left(database: Path | str) -> None:
    from agent_console.server.seed import rebase_demo

    conn = _seeded(database if isinstance(database, str) else database.parent, NOW - timedelta(days=3))
    before = conn.execute("SELECT id, body FROM messages ORDER BY id").fetchall()
    order = [row[0] for row in conn.execute("SELECT id FROM conversations ORDER BY queue_key, id")]
    as_left = _on_time(conn, NOW - timedelta(days=3))
    # Three days later, untouched: late, but for clocks that stood still over closed office hours.
    # (Billing works office hours: its 24-hour resolution clocks stand still at night and weekends.)
    assert _on_time(conn, NOW)[0] < as_left[0] // 4
    shift = rebase_demo(conn, now=NOW)
    # The off time, counted from the desk's last sign of life (its newest message here).
    assert timedelta(days=3) <= shift < timedelta(days=3, minutes=5)
    assert _on_time(conn, NOW) == as_left
    assert conn.execute("SELECT id, body FROM messages ORDER BY id").fetchall() == before
    assert [row[0] for row in conn.execute("SELECT id FROM conversations ORDER BY queue_key, id")] == order
    newest = conn.execute("SELECT max(created_at) FROM messages").fetchone()[0]
    assert newest <= to_iso(NOW)
    snoozed = conn.execute(
        "SELECT min(snoozed_until) FROM conversations WHERE status = 'snoozed'"
    ).fetchone()[0]
    assert snoozed > to_iso(NOW)  # still asleep, as when it was left
    assert rebase_demo(conn, now=NOW + timedelta(seconds=20)) == timedelta(0)  # used a moment ago


def test_a_real_desk_is_never_moved_even_when_served_with_demo(tmp_path: Path) -> None:
    from agent_console.server.run import prepare_database

    conn = _seeded(tmp_path, NOW - timedelta(days=3))
    conn.execute("UPDATE desk SET name = 'Acme Support'")  # not the demo's desk any more
    before = conn.execute("SELECT max(created_at) FROM messages").fetchone()[0]
    conn.close()
    prepare_database(tmp_path / "demo.db", demo=True, demo_now=NOW)
    conn = sqlite3.connect(tmp_path / "demo.db")
    assert conn.execute("SELECT max(created_at) FROM messages").fetchone()[0] == before
    conn.close()
