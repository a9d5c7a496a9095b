"""Triage that explains itself: suggested priority, topics and sentiment from rules in a data file.

The rules ship as agent_console/triage_rules.toml (read once, as package data); an admin's file of
the same shape extends them (see that file's header). Each rule that fires becomes a RuleHit with
the reason shown to the agent, e.g. "outage words: 'no signal', 'not working'". Pure: the caller
passes the customer's unanswered messages, the conversation's language and how long they waited.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

PRIORITY_RANK = {"urgent": 3, "high": 2, "normal": 1, "low": 0}
KINDS = ("words", "shouting", "pings", "waiting")
# Languages written without spaces between words: their words match anywhere in the text.
UNSPACED = frozenset({"ja", "zh", "th"})
ANY = "any"
_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_LANG = re.compile(r"^[a-z]{2,3}$")
_KEYS = {
    "kind",
    "reason",
    "priority",
    "topic",
    "upset",
    "words",
    "min_share",
    "min_letters",
    "min_count",
    "min_seconds",
}
# The most of a text the word rules read: a pasted log says nothing more after this.
MAX_TEXT = 5000
MAX_QUOTED = 3


class TriageRulesError(ValueError):
    """A rules file that cannot be used; the message names the file, line and key."""


@dataclass(frozen=True, slots=True)
class RuleHit:
    rule: str
    reason: str  # human text; quotes customer words, so render it as plain text


@dataclass(frozen=True, slots=True)
class Assessment:
    language: str | None
    priority: str | None
    topics: tuple[str, ...] = ()
    upset: bool = False
    urgent: bool = False
    rules: tuple[RuleHit, ...] = ()

    def explain(self) -> str:
        """One line for a queue row or a note: "high: outage words: 'down'; repeated pings: 4"."""
        reasons = "; ".join(hit.reason for hit in self.rules)
        return f"{self.priority}: {reasons}" if self.priority else reasons


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: str
    reason: str
    priority: str | None = None
    topic: str | None = None
    upset: bool = False
    words: dict[str, tuple[str, ...]] = field(default_factory=dict)
    min_share: float = 0.7
    min_letters: int = 12
    min_count: int = 3
    min_seconds: float = 1800.0


@dataclass(frozen=True, slots=True)
class Rules:
    rules: tuple[Rule, ...]

    def get(self, rule_id: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.id == rule_id), None)


def _fields(rule: Rule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in Rule.__slots__}


def fold(text: str) -> str:
    """Case and accents out ("Störung" and "stoerung" meet at "stoerung"; "señal" at "senal")."""
    text = text.casefold().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    text = text.replace("’", "'")
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


# --- reading a rules file ----------------------------------------------------------------


def _line_of(text: str, rule_id: str | None, key: str | None) -> int:
    """The line of `[rules.<id>]`'s `key` (or of the table, or 1) in the TOML text."""
    lines = text.splitlines()
    start = None
    if rule_id is not None:
        header = re.compile(rf"^\s*\[\s*rules\s*\.\s*\"?{re.escape(rule_id)}\"?\s*\]")
        start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        return 1
    if key:
        head = key.split(".")[0]
        pattern = re.compile(rf"^\s*\"?{re.escape(head)}\"?\s*[.=]")
        for i in range(start + 1, len(lines)):
            if lines[i].lstrip().startswith("["):
                break
            if pattern.match(lines[i]):
                return i + 1
    return start + 1


def parse_rules(text: str, source: str = "triage rules", *, base: Rules | None = None) -> Rules:
    """Rules from TOML text, added to `base` (an admin's file on the shipped rules): a new id is
    added; a known id gets the file's words added per language and keeps the keys the file leaves
    out. Anything wrong raises TriageRulesError naming the file, line and key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TriageRulesError(f"{source}: not valid TOML: {exc}") from exc

    def fail(rule_id: str | None, key: str | None, problem: str) -> TriageRulesError:
        where = f"{source}:{_line_of(text, rule_id, key)}"
        name = f"rules.{rule_id}" + (f".{key}" if key else "") if rule_id else (key or "")
        return TriageRulesError(f"{where}: {name}: {problem}")

    extra = set(data) - {"rules"}
    if extra:
        key = sorted(extra)[0]
        raise TriageRulesError(f"{source}:{_top_line(text, key)}: {key}: unknown table (only [rules.<id>])")
    table = data.get("rules", {})
    if not isinstance(table, dict):
        raise fail(None, "rules", "must be a table of [rules.<id>]")
    out: list[Rule] = []
    for rule_id, raw in table.items():
        if not _ID.match(rule_id):
            raise fail(rule_id, None, "id must be lower-case letters, digits and _ (up to 40)")
        if not isinstance(raw, dict):
            raise fail(rule_id, None, "must be a table")
        out.append(_parse_rule(rule_id, raw, fail, base.get(rule_id) if base else None))
    if base is None:
        return Rules(tuple(out))
    merged = {rule.id: rule for rule in base.rules} | {rule.id: rule for rule in out}
    return Rules(tuple(merged.values()))


def _top_line(text: str, key: str) -> int:
    for i, line in enumerate(text.splitlines()):
        if re.match(rf"^\s*\[?\s*{re.escape(key)}\b", line):
            return i + 1
    return 1


def _parse_rule(rule_id: str, raw: dict[str, Any], fail: Any, old: Rule | None) -> Rule:
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise fail(rule_id, unknown[0], f"unknown key (known: {', '.join(sorted(_KEYS))})")
    if old is not None:  # extending a known rule: what the file leaves out stays
        raw = {**{k: v for k, v in _fields(old).items() if k in _KEYS and k != "words"}, **raw}
    kind = raw.get("kind", "words")
    if kind not in KINDS:
        raise fail(rule_id, "kind", f"must be one of {', '.join(KINDS)}, not {kind!r}")
    reason = raw.get("reason", rule_id.replace("_", " "))
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 80:
        raise fail(rule_id, "reason", "must be a non-empty string of up to 80 characters")
    priority = raw.get("priority")
    if priority is not None and priority not in PRIORITY_RANK:
        raise fail(rule_id, "priority", f"must be one of {', '.join(PRIORITY_RANK)}, not {priority!r}")
    topic = raw.get("topic")
    if topic is not None and (not isinstance(topic, str) or not _ID.match(topic)):
        raise fail(rule_id, "topic", "must be lower-case letters, digits and _")
    upset = raw.get("upset", False)
    if not isinstance(upset, bool):
        raise fail(rule_id, "upset", "must be true or false")
    words: dict[str, tuple[str, ...]] = dict(old.words) if old is not None else {}
    raw_words = raw.get("words", {})
    if not isinstance(raw_words, dict):
        raise fail(rule_id, "words", "must be a table of language = [words]")
    for lang, items in raw_words.items():
        if lang != ANY and not _LANG.match(lang):
            raise fail(rule_id, f"words.{lang}", "language must be a 2-3 letter code or 'any'")
        if not isinstance(items, list) or not all(isinstance(w, str) and w.strip() for w in items):
            raise fail(rule_id, f"words.{lang}", "must be a list of non-empty strings")
        words[lang] = tuple(dict.fromkeys(words.get(lang, ()) + tuple(w.strip().lower() for w in items)))
    if kind == "words" and not words:
        raise fail(rule_id, "words", "a words rule needs words for at least one language")
    if kind != "words" and words:
        raise fail(rule_id, "words", f"a {kind} rule takes no words")
    numbers: dict[str, Any] = {}
    limits = {
        "min_share": (float, 0.0, 1.0),
        "min_letters": (int, 1, 10_000),
        "min_count": (int, 1, 1000),
        "min_seconds": (float, 1.0, 365 * 86400.0),
    }
    for key, (kind_type, low, high) in limits.items():
        if key not in raw:
            continue
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise fail(rule_id, key, f"must be a number from {low} to {high}")
        if kind_type is int and not isinstance(value, int):
            raise fail(rule_id, key, "must be a whole number")
        numbers[key] = kind_type(value)
    return Rule(
        id=rule_id,
        kind=kind,
        reason=reason.strip(),
        priority=priority,
        topic=topic,
        upset=upset,
        words=words,
        **numbers,
    )


@cache
def default_rules() -> Rules:
    """The rules shipped with agent-console."""
    text = resources.files("agent_console").joinpath("triage_rules.toml").read_text(encoding="utf-8")
    return parse_rules(text, "triage_rules.toml")


# --- assessing ---------------------------------------------------------------------------


@cache
def _matcher(words: tuple[str, ...], spaced: bool) -> tuple[re.Pattern[str], dict[str, str]]:
    """One regex for a rule's words in one language, and each folded word's spelling in the file."""
    spelling = {fold(w): w for w in words}
    alternatives = "|".join(re.escape(w) for w in sorted(spelling, key=len, reverse=True))
    if spaced:
        return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)"), spelling
    return re.compile(f"(?:{alternatives})"), spelling


def _word_hits(rule: Rule, folded: str, language: str | None) -> list[str]:
    if language is None:
        langs = list(rule.words)
    else:
        langs = [lang for lang in (language, ANY) if lang in rule.words]
    found: dict[str, None] = {}
    for lang in langs:
        pattern, spelling = _matcher(rule.words[lang], lang not in UNSPACED)
        for match in pattern.finditer(folded):
            found[spelling[match.group(0)]] = None
    return list(found)


def _shouting(rule: Rule, texts: list[str]) -> str | None:
    for text in texts:
        letters = [ch for ch in text[:MAX_TEXT] if ch.isalpha() and (ch.isupper() or ch.islower())]
        if len(letters) < rule.min_letters:
            continue
        share = sum(ch.isupper() for ch in letters) / len(letters)
        if share >= rule.min_share:
            return f"{round(share * 100)} % capitals"
    return None


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def assess(
    texts: list[str],
    language: str | None,
    *,
    waited_seconds: float = 0,
    rules: Rules | None = None,
) -> Assessment:
    """Triage the customer's unanswered messages (oldest first) in `language` (None: every language)."""
    rules = rules or default_rules()
    folded = fold("\n".join(text[:MAX_TEXT] for text in texts))
    hits: list[tuple[Rule, RuleHit]] = []
    for rule in rules.rules:
        detail: str | None = None
        if rule.kind == "words":
            words = _word_hits(rule, folded, language)
            if words:
                quoted = ", ".join(f"'{w}'" for w in words[:MAX_QUOTED])
                detail = quoted + (f" (+{len(words) - MAX_QUOTED})" if len(words) > MAX_QUOTED else "")
        elif rule.kind == "shouting":
            detail = _shouting(rule, texts)
        elif rule.kind == "pings":
            if len(texts) >= rule.min_count:
                detail = f"{len(texts)} messages without an answer"
        elif rule.kind == "waiting":
            if waited_seconds >= rule.min_seconds:
                detail = _duration(waited_seconds)
        if detail is not None:
            hits.append((rule, RuleHit(rule.id, f"{rule.reason}: {detail}")))
    priority = None
    for rule, _hit in hits:
        if rule.priority and (priority is None or PRIORITY_RANK[rule.priority] > PRIORITY_RANK[priority]):
            priority = rule.priority
    # Rules that set the suggested priority come first: they are the reason shown in a narrow row.
    ordered = sorted(hits, key=lambda pair: -PRIORITY_RANK.get(pair[0].priority or "", -1))
    return Assessment(
        language=language,
        priority=priority,
        topics=tuple(dict.fromkeys(rule.topic for rule, _ in hits if rule.topic)),
        upset=any(rule.upset for rule, _ in hits),
        urgent=priority == "urgent",
        rules=tuple(hit for _, hit in ordered),
    )
