"""The Lumo Mobile demo help desk: load the bundled content and generate a busy inbox.

Lumo Mobile is a fictional travel eSIM carrier. The static material lives next to this
module and is read with `importlib.resources`, so it works from an installed wheel:

- ``people.toml``: agents and teams
- ``kb/<locale>-<slug>.md``: knowledge-base articles with a small front matter block
- ``canned.toml``: canned responses with ``{{placeholder}}`` fields
- ``phrases.toml``: customer messages, agent replies, bot lines and name pools

`build_dataset` turns that material into contacts and conversations spread over the
72 hours before ``now``. The same ``seed`` and ``now`` always give an equal dataset: all
randomness comes from one ``random.Random(seed)``. `random_inbound`, `random_follow_up`
and `random_impatient_ping` feed the traffic simulator with fresh customer messages.

Standard library only.
"""

from __future__ import annotations

import random
import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

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
from agent_console.demo.sla import fit_to_sla

__all__ = [
    "ALLOWED_PLACEHOLDERS",
    "CHANNELS",
    "MESSAGE_KINDS",
    "PRIORITIES",
    "STATUSES",
    "build_dataset",
    "canned_placeholders",
    "languages",
    "load_agents",
    "load_canned",
    "load_kb_articles",
    "load_teams",
    "parse_kb_article",
    "random_colleague_reply",
    "random_follow_up",
    "random_impatient_ping",
    "random_inbound",
    "random_urgent_line",
]

_PACKAGE = "agent_console.demo"

CHANNELS: tuple[str, ...] = ("web_chat", "email", "whatsapp", "sms", "social")
STATUSES: tuple[str, ...] = ("open", "pending", "snoozed", "resolved")
PRIORITIES: tuple[str, ...] = ("urgent", "high", "normal", "low")
MESSAGE_KINDS: tuple[str, ...] = ("incoming", "outgoing", "note", "bot", "activity")
ROLES: tuple[str, ...] = ("agent", "admin")

#: Placeholders a canned response may use. ``{{cursor}}`` (at most one per body) is not a
#: value but the spot where the agent's caret lands after inserting the response.
ALLOWED_PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "contact.first_name",
        "contact.name",
        "contact.email",
        "agent.name",
        "agent.first_name",
        "conversation.id",
        "cursor",
    }
)

_PLACEHOLDER_RE = re.compile(r"\{\{(.*?)\}\}")
_SHORTCODE_RE = re.compile(r"^[a-z0-9_-]+$")
_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_TAG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_LOCALE_RE = re.compile(r"^[a-z]{2}$")
_E164_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")
_KB_KEYS = ("title", "tags", "locale", "updated")

# How the generated inbox is shaped. Channel, status and priority use exact quotas
# (largest remainder), so every build has the same proportions whatever the seed.
_CHANNEL_WEIGHTS = {"web_chat": 34, "email": 24, "whatsapp": 20, "sms": 8, "social": 14}
_STATUS_WEIGHTS = {"open": 55, "pending": 15, "snoozed": 10, "resolved": 20}
_PRIORITY_WEIGHTS = {"urgent": 8, "high": 20, "normal": 52, "low": 20}
_INBOUND_CHANNEL_WEIGHTS = {"web_chat": 45, "whatsapp": 20, "email": 15, "social": 12, "sms": 8}
_WINDOW = timedelta(hours=72)
_UNASSIGNED_SHARE = 0.05  # of all conversations: open, nobody's yet, waiting on a first answer
_ANSWERED_SHARE = 0.85  # of the open ones someone has: the last word is the agent's
_SAYS_URGENT = 0.35  # of urgent and high ones: the customer wrote that it cannot wait
_MAX_MESSAGES = 8
_MIN_CONTACTS = 150
_EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example", "inbox.example")
_ANDROID_WORDS = ("android", "samsung", "galaxy", "pixel", "xiaomi", "motorola", "oneplus")
_GERMAN_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})


# --- static content -------------------------------------------------------------------


def _resource(*parts: str) -> Any:
    return resources.files(_PACKAGE).joinpath(*parts)


def _read_toml(name: str) -> dict[str, Any]:
    try:
        return tomllib.loads(_resource(name).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{name}: {exc}") from exc


def _require_str(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: '{key}' must be a non-empty string")
    return value


@cache
def load_teams() -> tuple[TeamSeed, ...]:
    """The support teams from ``people.toml``, in file order."""
    data = _read_toml("people.toml")
    teams: list[TeamSeed] = []
    for i, row in enumerate(data.get("team", [])):
        where = f"people.toml team #{i + 1}"
        teams.append(
            TeamSeed(
                name=_require_str(row, "name", where),
                description=_require_str(row, "description", where),
            )
        )
    names = [t.name for t in teams]
    if len(set(names)) != len(names):
        raise ValueError("people.toml: duplicate team name")
    return tuple(teams)


@cache
def load_agents() -> tuple[AgentSeed, ...]:
    """The agents from ``people.toml``, in file order. Each one's team must exist."""
    data = _read_toml("people.toml")
    team_names = {t.name for t in load_teams()}
    agents: list[AgentSeed] = []
    for i, row in enumerate(data.get("agent", [])):
        where = f"people.toml agent #{i + 1}"
        agent = AgentSeed(
            name=_require_str(row, "name", where),
            email=_require_str(row, "email", where),
            role=_require_str(row, "role", where),
            timezone=_require_str(row, "timezone", where),
            team=_require_str(row, "team", where),
        )
        if agent.role not in ROLES:
            raise ValueError(f"{where}: role must be one of {ROLES}, not {agent.role!r}")
        if agent.team not in team_names:
            raise ValueError(f"{where}: unknown team {agent.team!r}")
        if "@" not in agent.email:
            raise ValueError(f"{where}: bad email {agent.email!r}")
        agents.append(agent)
    emails = [a.email for a in agents]
    if len(set(emails)) != len(emails):
        raise ValueError("people.toml: duplicate agent email")
    return tuple(agents)


def parse_kb_article(filename: str, text: str) -> KbArticleSeed:
    """Parse one ``<locale>-<slug>.md`` file. Raise ValueError naming the file if it is bad.

    The file must open with a front matter block holding exactly the keys ``title``,
    ``tags`` (comma separated), ``locale`` and ``updated`` (YYYY-MM-DD), each once::

        ---
        title: Install your Lumo eSIM on an iPhone
        tags: esim, iphone, install
        locale: en
        updated: 2026-10-03
        ---
        Markdown body...
    """

    def bad(reason: str) -> ValueError:
        return ValueError(f"{filename}: {reason}")

    if not filename.endswith(".md"):
        raise bad("knowledge-base files must end in .md")
    lines = text.replace("\r\n", "\n").split("\n")
    if not lines or lines[0] != "---":
        raise bad("missing front matter: the first line must be '---'")
    try:
        end = lines.index("---", 1)
    except ValueError:
        raise bad("front matter is not closed with '---'") from None

    meta: dict[str, str] = {}
    for number, line in enumerate(lines[1:end], start=2):
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise bad(f"line {number}: expected 'key: value', got {line!r}")
        if key not in _KB_KEYS:
            raise bad(f"line {number}: unknown front matter key {key!r}")
        if key in meta:
            raise bad(f"line {number}: duplicate key {key!r}")
        if not value:
            raise bad(f"line {number}: {key!r} is empty")
        meta[key] = value
    missing = [k for k in _KB_KEYS if k not in meta]
    if missing:
        raise bad(f"front matter is missing {', '.join(missing)}")

    locale = meta["locale"]
    if not _LOCALE_RE.match(locale):
        raise bad(f"locale must be a two-letter code, not {locale!r}")
    stem = filename.rsplit("/", 1)[-1][: -len(".md")]
    prefix = f"{locale}-"
    if not stem.startswith(prefix):
        raise bad(f"file name must start with the locale prefix {prefix!r}")
    slug = stem[len(prefix) :]
    if not _SLUG_RE.match(slug):
        raise bad(f"slug {slug!r} must be lowercase words joined by '-'")

    tags = tuple(t.strip() for t in meta["tags"].split(","))
    for tag in tags:
        if not _TAG_RE.match(tag):
            raise bad(f"bad tag {tag!r}: use lowercase words joined by '-'")
    if len(set(tags)) != len(tags):
        raise bad("duplicate tag")

    try:
        day = date.fromisoformat(meta["updated"])
    except ValueError:
        raise bad(f"updated must be a YYYY-MM-DD date, not {meta['updated']!r}") from None
    if len(meta["updated"]) != 10:
        raise bad(f"updated must be a YYYY-MM-DD date, not {meta['updated']!r}")

    body = "\n".join(lines[end + 1 :]).strip()
    if not body:
        raise bad("the article body is empty")
    return KbArticleSeed(
        slug=slug,
        title=meta["title"],
        body=body + "\n",
        tags=tags,
        locale=locale,
        updated_at=datetime(day.year, day.month, day.day, tzinfo=UTC),
    )


@cache
def load_kb_articles() -> tuple[KbArticleSeed, ...]:
    """Every bundled knowledge-base article, ordered by file name."""
    folder = _resource("kb")
    entries = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".md")),
        key=lambda entry: entry.name,
    )
    articles = tuple(parse_kb_article(entry.name, entry.read_text(encoding="utf-8")) for entry in entries)
    seen: set[tuple[str, str]] = set()
    for article in articles:
        key = (article.locale, article.slug)
        if key in seen:
            raise ValueError(f"{article.locale}-{article.slug}.md: duplicate slug")
        seen.add(key)
    return articles


def canned_placeholders(body: str) -> list[str]:
    """The placeholder names in a canned body, in order, e.g. ``["contact.first_name"]``."""
    return [name.strip() for name in _PLACEHOLDER_RE.findall(body)]


@cache
def load_canned() -> tuple[CannedSeed, ...]:
    """The canned responses from ``canned.toml``, in file order, validated."""
    data = _read_toml("canned.toml")
    rows = data.get("response", [])
    result: list[CannedSeed] = []
    seen: set[tuple[str, str]] = set()
    for i, row in enumerate(rows):
        where = f"canned.toml response #{i + 1}"
        extra = set(row) - {"shortcode", "title", "locale", "body"}
        if extra:
            raise ValueError(f"{where}: unknown keys {sorted(extra)}")
        seed = CannedSeed(
            shortcode=_require_str(row, "shortcode", where),
            title=_require_str(row, "title", where),
            body=_require_str(row, "body", where).strip(),
            locale=_require_str(row, "locale", where),
        )
        where = f"canned.toml {seed.locale}/{seed.shortcode}"
        if not _SHORTCODE_RE.match(seed.shortcode):
            raise ValueError(f"{where}: shortcode must match [a-z0-9_-]+")
        if not _LOCALE_RE.match(seed.locale):
            raise ValueError(f"{where}: bad locale")
        if (seed.locale, seed.shortcode) in seen:
            raise ValueError(f"{where}: duplicate shortcode for this locale")
        seen.add((seed.locale, seed.shortcode))
        names = canned_placeholders(seed.body)
        unknown = sorted(set(names) - ALLOWED_PLACEHOLDERS)
        if unknown:
            raise ValueError(f"{where}: unknown placeholders {unknown}")
        if names.count("cursor") > 1:
            raise ValueError(f"{where}: more than one {{{{cursor}}}}")
        if not [n for n in names if n != "cursor"]:
            raise ValueError(f"{where}: uses no placeholder")
        result.append(seed)
    return tuple(result)


@cache
def _phrases() -> dict[str, Any]:
    data = _read_toml("phrases.toml")
    topics = data.get("topics", {})
    langs = data.get("lang", {})
    if "en" not in langs:
        raise ValueError("phrases.toml: English ([lang.en]) is required")
    team_names = {t.name for t in load_teams()}
    for key, topic in topics.items():
        if topic.get("team") not in team_names:
            raise ValueError(f"phrases.toml topics.{key}: unknown team {topic.get('team')!r}")
    for key in ("bot_greetings", "bot_follow_ups", "notes", "bug_notes"):
        if not data.get("agent", {}).get(key):
            raise ValueError(f"phrases.toml agent: '{key}' is missing or empty")
    for code, lang in langs.items():
        where = f"phrases.toml lang.{code}"
        for key in ("first_names", "last_names", "pings", "urgent", "thanks", "gave_up", "region", "topics"):
            if not lang.get(key):
                raise ValueError(f"{where}: '{key}' is missing or empty")
        for key in ("greetings", "asks", "working", "closings"):
            if not lang.get("agent", {}).get(key):
                raise ValueError(f"{where}.agent: '{key}' is missing or empty")
        for name, topic in lang["topics"].items():
            if name not in topics:
                raise ValueError(f"{where}.topics.{name}: not declared under [topics]")
            for key in ("openings", "follow_ups", "replies"):
                if not topic.get(key):
                    raise ValueError(f"{where}.topics.{name}: '{key}' is missing or empty")
            _require_str(topic, "subject", f"{where}.topics.{name}")
    return data


def languages() -> tuple[str, ...]:
    """Language codes customers write in (those with phrase material), English first."""
    return tuple(_phrases()["lang"])


# --- small helpers --------------------------------------------------------------------


def _weighted(rng: random.Random, weights: Mapping[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys], k=1)[0]


def _quota(rng: random.Random, n: int, weights: Mapping[str, float]) -> list[str]:
    """Exactly n labels in the given proportions (largest remainder), shuffled.

    Every label appears at least once when n allows it.
    """
    keys = list(weights)
    total = sum(weights.values())
    exact = {k: n * weights[k] / total for k in keys}
    counts = {k: int(exact[k]) for k in keys}
    by_remainder = sorted(keys, key=lambda k: (exact[k] - counts[k], weights[k]), reverse=True)
    for k in by_remainder[: n - sum(counts.values())]:
        counts[k] += 1
    if n >= len(keys):
        for k in keys:
            if counts[k] == 0:
                donor = max(keys, key=lambda d: counts[d])
                counts[donor] -= 1
                counts[k] += 1
    out = [k for k in keys for _ in range(counts[k])]
    rng.shuffle(out)
    return out


def _ascii(text: str, language: str) -> str:
    if language == "de":
        text = text.translate(_GERMAN_FOLD)
    text = text.replace("ß", "ss")
    folded = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in folded if ch.isascii() and (ch.isalnum() or ch in " -"))


def _fill(template: str, **values: str) -> str:
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


def _phone(rng: random.Random, pattern: str) -> str:
    digits = "".join(str(rng.randrange(10)) if ch == "#" else ch for ch in pattern)
    phone = digits.replace(" ", "")
    if not _E164_RE.match(phone):
        raise ValueError(f"phrases.toml: phone pattern {pattern!r} does not give E.164")
    return phone


def _first_name(agent: AgentSeed) -> str:
    return agent.name.split()[0]


@dataclass(frozen=True, slots=True)
class _Person:
    first: str
    last: str
    name: str
    email: str | None
    phone: str | None
    language: str
    timezone: str


def _make_person(
    rng: random.Random,
    language: str,
    *,
    want_email: bool,
    want_phone: bool,
    taken_names: set[str],
    taken_emails: set[str],
) -> _Person:
    lang = _phrases()["lang"][language]
    regions = lang["region"]
    region = regions[rng.choices(range(len(regions)), weights=[r.get("weight", 1) for r in regions])[0]]
    firsts = region.get("first_names") or lang["first_names"]
    lasts = region.get("last_names") or lang["last_names"]
    for _ in range(40):
        first, last = rng.choice(firsts), rng.choice(lasts)
        name = f"{first} {last}"
        if name not in taken_names:
            break
    taken_names.add(name)

    email = None
    if want_email:
        f = _ascii(first, language).lower().replace(" ", "")
        last_ascii = _ascii(last, language).lower().replace(" ", "").replace("-", "")
        local = rng.choice(
            [
                f"{f}.{last_ascii}",
                f"{f}{last_ascii}",
                f"{f[0]}{last_ascii}",
                f"{f}_{last_ascii}",
                f"{f}.{last_ascii}{rng.randint(2, 99)}",
                f"{last_ascii}.{f}",
            ]
        )
        domain = rng.choice(_EMAIL_DOMAINS)
        email = f"{local}@{domain}"
        while email in taken_emails:
            email = f"{local}{rng.randint(2, 999)}@{domain}"
        taken_emails.add(email)
    phone = _phone(rng, region["phone"]) if want_phone else None
    return _Person(first, last, name, email, phone, language, region["zone"])


def _signature(person: _Person) -> str:
    """How a customer signs an email: Japanese customers use the family name."""
    return f"{person.last} {person.first}" if person.language == "ja" else person.first


def _device_labels(text: str) -> list[str]:
    lower = text.lower()
    labels = []
    if "iphone" in lower or "ios" in lower.split():
        labels.append("ios")
    if any(word in lower for word in _ANDROID_WORDS):
        labels.append("android")
    return labels


# --- conversation generation ----------------------------------------------------------


@dataclass(slots=True)
class _Step:
    kind: str
    body: str
    author: str | None
    gap: float  # seconds after the previous message
    drop: int = 0  # > 0: may be left out to keep a thread short; higher goes first


@dataclass(slots=True)
class _Plan:
    index: int
    channel: str
    status: str
    priority: str
    topic: str
    assigned: bool
    created_at: datetime
    horizon: datetime  # every message must come strictly before this
    later: _Plan | None = None  # the same contact's next conversation
    earlier: _Plan | None = None
    contact_key: int = 0
    contact: _Person | None = None
    extras: dict[str, Any] = field(default_factory=dict)


class _Builder:
    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.phrases = _phrases()
        self.agents = load_agents()
        self.teams = load_teams()
        self.by_team: dict[str, list[AgentSeed]] = {}
        for agent in self.agents:
            self.by_team.setdefault(agent.team, []).append(agent)
        en_titles = {a.slug: a.title for a in load_kb_articles() if a.locale == "en"}
        self.kb_titles = {
            key: en_titles.get(topic.get("kb", ""), "Lumo Help Center")
            for key, topic in self.phrases["topics"].items()
        }
        self.taken_names: set[str] = set()
        self.taken_emails: set[str] = set()

    # -- plans ------------------------------------------------------------------------

    def plans(self, n: int) -> list[_Plan]:
        rng = self.rng
        channels = _quota(rng, n, _CHANNEL_WEIGHTS)
        statuses = _quota(rng, n, _STATUS_WEIGHTS)
        priorities = _quota(rng, n, _PRIORITY_WEIGHTS)
        topic_weights = {k: t.get("weight", 1) for k, t in self.phrases["topics"].items()}
        open_ids = [i for i in range(n) if statuses[i] == "open"]
        # A night desk that keeps up: a short unassigned queue, mostly email (an hour to answer);
        # a chat waits on a first answer for minutes at most before someone takes it.
        wanted = min(len(open_ids), round(n * _UNASSIGNED_SHARE))
        emails = [i for i in open_ids if channels[i] == "email"]
        chats = [i for i in open_ids if channels[i] != "email"]
        from_email = min(len(emails), round(wanted * 0.6))
        unassigned = set(rng.sample(emails, from_email))
        unassigned |= set(rng.sample(chats, min(len(chats), wanted - from_email)))

        window = _WINDOW.total_seconds()
        plans: list[_Plan] = []
        for i in range(n):
            status = statuses[i]
            if i in unassigned:
                # The queue of a desk that keeps up: mostly fresh (inside even the urgent target),
                # with a short tail that has waited hours, so the SLA column has something to say.
                age = rng.uniform(60, 40 * 60) if rng.random() < 0.85 else rng.uniform(40 * 60, 8 * 3600)
            elif status == "open" and rng.random() < 0.85:
                # Ongoing chats: most started within the last couple of hours.
                age = rng.uniform(1200, 2 * 3600)
            else:
                low = {"open": 1200, "pending": 3600, "snoozed": 3 * 3600, "resolved": 3600}
                age = rng.uniform(low[status], window - 60)
            created = self.now - timedelta(seconds=int(age))
            plans.append(
                _Plan(
                    index=i,
                    channel=channels[i],
                    status=status,
                    priority=priorities[i],
                    topic=_weighted(rng, topic_weights),
                    assigned=i not in unassigned,
                    created_at=created,
                    horizon=self.now,
                )
            )
        self._link_returning_contacts(plans)
        return plans

    def _link_returning_contacts(self, plans: list[_Plan]) -> None:
        """Give some contacts an earlier, resolved conversation before their latest one."""
        rng = self.rng
        resolved = sorted((p for p in plans if p.status == "resolved"), key=lambda p: p.created_at)
        wanted = min(len(plans) // 9, len(resolved) // 2)
        for early in resolved:
            if wanted == 0:
                break
            if early.later is not None:
                continue
            candidates = [
                p
                for p in plans
                if p.earlier is None
                and p is not early
                and p.created_at >= early.created_at + timedelta(hours=2)
            ]
            if not candidates:
                continue
            late = rng.choice(candidates)
            early.later, late.earlier = late, early
            early.horizon = late.created_at - timedelta(seconds=60)
            wanted -= 1

    # -- contacts ---------------------------------------------------------------------

    def contacts(self, plans: list[_Plan]) -> list[ContactSeed]:
        rng = self.rng
        lang_weights = {k: v.get("weight", 1) for k, v in self.phrases["lang"].items()}
        contacts: list[ContactSeed] = []
        for plan in plans:
            if plan.contact is not None:
                continue
            chain = [plan]
            while chain[0].earlier is not None:
                chain.insert(0, chain[0].earlier)
            while chain[-1].later is not None:
                chain.append(chain[-1].later)
            channels = {p.channel for p in chain}
            main = chain[-1].channel
            want_email = "email" in channels or rng.random() < {
                "web_chat": 0.8,
                "whatsapp": 0.5,
                "sms": 0.45,
                "social": 0.55,
            }.get(main, 1.0)
            want_phone = bool(channels & {"whatsapp", "sms"}) or rng.random() < 0.12
            person = _make_person(
                rng,
                _weighted(rng, lang_weights),
                want_email=want_email,
                want_phone=want_phone,
                taken_names=self.taken_names,
                taken_emails=self.taken_emails,
            )
            key = len(contacts) + 1
            contacts.append(self._contact_seed(key, person))
            vip = rng.random() < 0.07
            for p in chain:
                p.contact, p.contact_key = person, key
                p.extras["vip"] = vip
        # Past customers with nothing open right now: a desk knows more people than it
        # is talking to this week.
        while len(contacts) < _MIN_CONTACTS:
            person = _make_person(
                rng,
                _weighted(rng, lang_weights),
                want_email=rng.random() < 0.9,
                want_phone=rng.random() < 0.3,
                taken_names=self.taken_names,
                taken_emails=self.taken_emails,
            )
            contacts.append(self._contact_seed(len(contacts) + 1, person))
        return contacts

    @staticmethod
    def _contact_seed(key: int, person: _Person) -> ContactSeed:
        return ContactSeed(
            key=key,
            name=person.name,
            email=person.email,
            phone=person.phone,
            language=person.language,
            timezone=person.timezone,
        )

    # -- conversations ----------------------------------------------------------------

    def conversation(self, plan: _Plan) -> ConversationSeed:
        rng = self.rng
        person = plan.contact
        assert person is not None
        language = person.language if person.language in self.phrases["lang"] else "en"
        lang = self.phrases["lang"][language]
        topic_meta = self.phrases["topics"][plan.topic]
        topic = lang["topics"].get(plan.topic) or self.phrases["lang"]["en"]["topics"][plan.topic]

        team: str | None
        if plan.assigned:
            escalate = plan.priority == "urgent" or plan.extras.get("vip")
            team = "Escalations" if escalate and rng.random() < 0.5 else topic_meta["team"]
            pool = self.by_team.get(team) or list(self.agents)
            agent = rng.choice(pool)
        else:
            team = topic_meta["team"] if rng.random() < 0.5 else None
            agent = None

        opening = rng.choice(topic["openings"])
        labels: list[str] = []
        if plan.assigned or rng.random() < 0.4:
            labels += list(topic_meta.get("labels", []))
            labels += _device_labels(opening)
        if plan.extras.get("vip"):
            labels.append("vip")
        if plan.assigned and rng.random() < 0.06:
            labels.append("bug")
            plan.extras["bug"] = True
        labels = list(dict.fromkeys(labels))

        subject: str | None = None
        if plan.channel == "email" or (plan.channel == "web_chat" and rng.random() < 0.25):
            subject = topic["subject"]

        snoozed_until = None
        if plan.status == "snoozed":
            minutes = rng.randint(60, 36 * 60)
            until = self.now + timedelta(minutes=minutes)
            snoozed_until = until.replace(
                minute=until.minute - until.minute % 15, second=0, microsecond=0
            ) + timedelta(minutes=15)
            plan.extras["snoozed_until"] = snoozed_until

        steps = self._script(plan, lang, topic, opening, agent, team)
        messages = self._timed(plan, steps)
        return ConversationSeed(
            contact_key=plan.contact_key,
            channel=plan.channel,
            status=plan.status,
            priority=plan.priority,
            subject=subject,
            language=language,
            labels=tuple(labels),
            assignee=agent.email if agent else None,
            team=team,
            created_at=messages[0].at,
            snoozed_until=snoozed_until,
            messages=messages,
        )

    def _script(
        self,
        plan: _Plan,
        lang: Mapping[str, Any],
        topic: Mapping[str, Any],
        opening: str,
        agent: AgentSeed | None,
        team: str | None,
    ) -> list[_Step]:
        rng = self.rng
        person = plan.contact
        assert person is not None
        shared = self.phrases["agent"]
        agent_lines = lang["agent"]
        email = plan.channel == "email"
        steps: list[_Step] = []
        used: set[str] = set()

        def fresh(pool: Sequence[str]) -> str:
            """A line this thread has not used yet, when there is one."""
            unused = [line for line in pool if line not in used]
            line = rng.choice(unused or list(pool))
            used.add(line)
            return line

        def has_fresh(pool: Sequence[str]) -> bool:
            return any(line not in used for line in pool)

        def incoming(body: str, gap: float, drop: int = 0, sign: bool = True) -> None:
            if email and sign and rng.random() < 0.6:
                body = f"{body}\n\n{_signature(person)}"
            steps.append(_Step("incoming", body, None, gap, drop))

        def outgoing(who: AgentSeed, body: str, gap: float, drop: int = 0) -> None:
            body = _fill(body, first=person.first, last=person.last, agent=_first_name(who))
            if email:
                body = f"{body}\n\n{who.name}\nLumo Mobile Support"
            steps.append(_Step("outgoing", body, who.email, gap, drop))

        def note(who: AgentSeed, gap: float, drop: int = 3) -> None:
            topic_notes = shared.get("topic_notes", {}).get(plan.topic, [])
            pool = topic_notes if topic_notes and rng.random() < 0.7 else shared["notes"]
            others = [a for a in self.agents if a.email != who.email]
            body = _fill(rng.choice(pool), colleague=_first_name(rng.choice(others)))
            steps.append(_Step("note", body, who.email, gap, drop))

        def activity(body: str, gap: float, drop: int = 0) -> None:
            steps.append(_Step("activity", body, None, gap, drop))

        def minutes(low: float, high: float) -> float:
            return rng.uniform(low * 60, high * 60)

        incoming(opening, 0)
        if plan.priority in ("urgent", "high") and rng.random() < _SAYS_URGENT:
            incoming(fresh(lang["urgent"]), minutes(0.5, 4), sign=False)
        follow_up = plan.channel == "web_chat" or rng.random() < 0.45
        ping = rng.random() < 0.4
        if agent is None and team is not None and (follow_up or ping):
            # Routed by a rule, and the customer is still waiting for a person.
            activity(f"Assigned to team {team}", rng.uniform(1, 5))
        if plan.channel == "web_chat":
            greeting = _fill(rng.choice(shared["bot_greetings"]), article=self.kb_titles[plan.topic])
            steps.append(_Step("bot", greeting, None, rng.uniform(3, 20), drop=1))

        if agent is None:  # unassigned and open: still waiting for a first answer
            if follow_up:
                incoming(fresh(topic["follow_ups"]), minutes(1, 12))
            if ping:
                if plan.channel == "web_chat" and rng.random() < 0.5:
                    line = fresh(shared["bot_follow_ups"])
                    steps.append(_Step("bot", line, None, rng.uniform(3, 30), drop=1))
                incoming(fresh(lang["pings"]), minutes(3, 30), sign=False)
            return steps

        # Sometimes the first agent hands over at the end of a shift.
        first_agent = agent
        if rng.random() < 0.12:
            first_agent = rng.choice([a for a in self.agents if a.email != agent.email])
        activity(f"Assigned to {first_agent.name}", minutes(1, 40))
        if plan.priority == "urgent" and rng.random() < 0.5:
            activity("Priority changed to urgent", rng.uniform(5, 60), drop=5)
        answered = rng.random() < 0.5  # first reply has the fix, or asks for details
        first_reply = fresh(agent_lines["greetings"]) + "\n\n"
        first_reply += fresh(topic["replies"] if answered else agent_lines["asks"])
        outgoing(first_agent, first_reply, minutes(1, 20))

        if first_agent.email != agent.email:
            incoming(fresh(topic["follow_ups"]), minutes(2, 60), drop=2)
            note(first_agent, minutes(1, 10), drop=3)
            activity(f"Assigned to {agent.name}", rng.uniform(10, 120), drop=1)
        elif rng.random() < 0.35:
            note(agent, rng.uniform(20, 300))
        if plan.extras.get("bug"):
            bug_note = fresh(shared["bug_notes"])
            steps.append(_Step("note", bug_note, agent.email, rng.uniform(20, 300), drop=4))

        status = plan.status
        if status == "open" and rng.random() < _ANSWERED_SHARE:
            # Answered: the customer is trying what the agent said (only resolution counts).
            incoming(fresh(topic["follow_ups"]), minutes(2, 90), drop=1)
            pool = topic["replies"] if has_fresh(topic["replies"]) else agent_lines["working"]
            outgoing(agent, fresh(pool), minutes(1, 8))
        elif status == "open":
            incoming(fresh(topic["follow_ups"]), minutes(2, 90))
            if rng.random() < 0.5 and has_fresh(topic["replies"]):
                outgoing(agent, fresh(topic["replies"]), minutes(1, 25), drop=1)
                if rng.random() < 0.75:
                    if rng.random() < 0.6:
                        incoming(fresh(topic["follow_ups"]), minutes(2, 60))
                    else:
                        incoming(fresh(lang["pings"]), minutes(2, 60), sign=False)
            elif rng.random() < 0.3:
                incoming(fresh(lang["pings"]), minutes(3, 30), drop=1, sign=False)
        elif status == "pending":
            if rng.random() < 0.6:
                incoming(fresh(topic["follow_ups"]), minutes(2, 90), drop=1)
            outgoing(agent, fresh(agent_lines["asks"]), minutes(1, 25))
        elif status == "snoozed":
            incoming(fresh(topic["follow_ups"]), minutes(2, 90), drop=1)
            outgoing(agent, fresh(agent_lines["working"]), minutes(1, 25))
            if rng.random() < 0.5:
                note(agent, rng.uniform(20, 300))
            until = plan.extras["snoozed_until"].strftime("%a %d %b, %H:%M UTC")
            activity(f"Snoozed until {until} by {agent.name}", rng.uniform(5, 120))
        else:  # resolved
            if not answered or (rng.random() < 0.4 and has_fresh(topic["replies"])):
                # The fix has to arrive before the customer can thank anyone for it.
                keep = 0 if not answered else 2
                incoming(fresh(topic["follow_ups"]), minutes(2, 90), drop=keep)
                outgoing(agent, fresh(topic["replies"]), minutes(1, 25), drop=keep)
            if rng.random() < 0.8:
                incoming(fresh(lang["thanks"]), minutes(3, 120))
            ending = rng.random()
            if ending < 0.75:
                outgoing(agent, fresh(agent_lines["closings"]), minutes(1, 15))
            if ending >= 0.45 or steps[-1].kind != "outgoing":
                verb = rng.choice(["Resolved by", "Marked as resolved by"])
                activity(f"{verb} {agent.name}", rng.uniform(5, 600))
        return steps

    def _timed(self, plan: _Plan, steps: list[_Step]) -> tuple[MessageSeed, ...]:
        # Keep threads to 8 messages: leave out optional steps, most droppable first.
        while len(steps) > _MAX_MESSAGES:
            victim = max((s for s in steps[1:-1] if s.drop > 0), key=lambda s: s.drop, default=None)
            if victim is None:  # pragma: no cover - the scripts leave enough to drop
                victim = steps[-2]
            steps.remove(victim)

        # Squeeze the gaps if the thread would not finish before its horizon.
        room = (plan.horizon - plan.created_at).total_seconds() - 30
        total = sum(s.gap for s in steps[1:])
        scale = min(1.0, room / total) if total > 0 else 1.0
        at = plan.created_at
        messages: list[MessageSeed] = []
        for i, step in enumerate(steps):
            if i:
                at += timedelta(seconds=max(1, int(step.gap * scale)))
            messages.append(MessageSeed(step.kind, step.body, at, step.author))
        return tuple(messages)


def build_dataset(seed: int = 7, now: datetime | None = None, conversations: int = 240) -> DemoDataset:
    """A complete demo desk: agents, teams, KB, canned responses, contacts, conversations.

    Conversations are created within the 72 hours before ``now`` (default: the current
    time) and every message is strictly earlier than ``now``. The result depends only on
    ``seed``, ``now`` and ``conversations``.
    """
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        raise ValueError("now must be a tz-aware datetime")
    now = now.astimezone(UTC)
    if conversations < 0:
        raise ValueError("conversations must be zero or more")

    rng = random.Random(seed)
    builder = _Builder(rng, now)
    plans = builder.plans(conversations)
    contacts = builder.contacts(plans)
    seeds = [builder.conversation(plan) for plan in plans]
    # Its own random stream: the rest of the data set stays exactly as it was.
    seeds = fit_to_sla(seeds, now, random.Random(f"sla-{seed}"))
    seeds.sort(key=lambda c: (c.created_at, c.contact_key))
    return DemoDataset(
        agents=load_agents(),
        teams=load_teams(),
        contacts=tuple(contacts),
        conversations=tuple(seeds),
        kb_articles=load_kb_articles(),
        canned=load_canned(),
    )


# --- live traffic ---------------------------------------------------------------------


def _language_or_english(language: str | None) -> str:
    langs = _phrases()["lang"]
    return language if language in langs else "en"


def random_inbound(rng: random.Random, language: str | None = None) -> InboundSeed:
    """A new customer starting a conversation, for the traffic simulator.

    ``language`` picks the customer's language; None chooses one with the demo's usual
    mix. A language without phrase material falls back to English (and says so in
    ``InboundSeed.language``).
    """
    phrases = _phrases()
    if language is None:
        weights = {k: v.get("weight", 1) for k, v in phrases["lang"].items()}
        language = _weighted(rng, weights)
    language = _language_or_english(language)
    lang = phrases["lang"][language]
    channel = _weighted(rng, _INBOUND_CHANNEL_WEIGHTS)
    topic_weights = {k: t.get("weight", 1) for k, t in phrases["topics"].items() if k in lang["topics"]}
    topic = lang["topics"][_weighted(rng, topic_weights)]
    person = _make_person(
        rng,
        language,
        want_email=channel == "email" or (channel != "sms" and rng.random() < 0.6),
        want_phone=channel in ("whatsapp", "sms"),
        taken_names=set(),
        taken_emails=set(),
    )
    body = rng.choice(topic["openings"])
    subject = None
    if channel == "email":
        subject = topic["subject"]
        body = f"{body}\n\n{_signature(person)}"
    elif channel == "web_chat" and rng.random() < 0.25:
        subject = topic["subject"]
    return InboundSeed(
        channel=channel,
        contact_name=person.name,
        contact_email=person.email,
        contact_phone=person.phone,
        language=language,
        timezone=person.timezone,
        subject=subject,
        body=body,
    )


def random_follow_up(rng: random.Random, language: str) -> str:
    """Something a waiting customer adds to their conversation (English if unknown)."""
    lang = _phrases()["lang"][_language_or_english(language)]
    pool = [line for topic in lang["topics"].values() for line in topic["follow_ups"]]
    return rng.choice(pool)


def random_colleague_reply(rng: random.Random, language: str, *, customer: str, agent: str) -> str:
    """What a colleague answers a waiting customer, in the customer's language (English if
    unknown): a question back, or that they are on it. `customer` and `agent`: first names."""
    lines = _phrases()["lang"][_language_or_english(language)]["agent"]
    line = rng.choice(lines["asks"] if rng.random() < 0.5 else lines["working"])
    return _fill(line, first=customer, agent=agent)


def random_give_up(rng: random.Random, language: str) -> str:
    """A customer's last word before they stop waiting (English if unknown)."""
    return rng.choice(_phrases()["lang"][_language_or_english(language)]["gave_up"])


def random_urgent_line(rng: random.Random, language: str) -> str:
    """A customer saying it is urgent, in their language (English if unknown)."""
    return rng.choice(_phrases()["lang"][_language_or_english(language)]["urgent"])


def random_impatient_ping(rng: random.Random, language: str) -> str:
    """A "hello??" from a customer who has waited too long (English if unknown)."""
    lang = _phrases()["lang"][_language_or_english(language)]
    return rng.choice(lang["pings"])
