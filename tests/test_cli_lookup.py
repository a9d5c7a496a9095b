"""kb, canned, agents, teams, contacts and me, end to end against both help desks: the real desk
server and the Chatwoot emulator (`helpdesk`). What the CLI prints is checked against each help
desk's own answer (`truth`); locales are the desk server's own (Chatwoot's canned responses have none)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from agent_console.core.models import SNIPPET_CLOSE, SNIPPET_OPEN
from tests.backends import ChatwootHelpdesk, Helpdesk
from tests.cli_support import invoke, run_cli
from tests.conftest import Desk


@pytest.fixture
def env(helpdesk: Helpdesk, tmp_path: Path) -> dict[str, str | None]:
    return helpdesk.env(tmp_path)


def api(desk: Desk, path: str, **params: object) -> dict:
    response = desk.agent.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


class Truth:
    """What the help desk itself holds, in the CLI's terms (read without the adapter)."""

    def __init__(self, helpdesk: Helpdesk) -> None:
        self.helpdesk = helpdesk
        self.native = not isinstance(helpdesk, ChatwootHelpdesk)

    def _account(self):  # noqa: ANN202
        assert isinstance(self.helpdesk, ChatwootHelpdesk)
        return self.helpdesk.running.account

    def kb_hits(self, query: str) -> list[tuple[int, str]]:
        if self.native:
            return [(h["id"], h["title"]) for h in api(self.helpdesk.desk, "/kb/search", q=query)["items"]]
        words = query.lower().split()
        return [
            (a["id"], a["title"])
            for a in self._account().articles
            if all(w in (a["title"] + " " + a["content"]).lower() for w in words)
        ]

    def article(self, article_id: int) -> dict:
        if self.native:
            raw = api(self.helpdesk.desk, f"/kb/articles/{article_id}")
            return {k: raw[k] for k in ("id", "slug", "title", "body")}
        raw = next(a for a in self._account().articles if a["id"] == article_id)
        return {"id": raw["id"], "slug": raw["slug"], "title": raw["title"], "body": raw["content"]}

    def canned(self) -> list[tuple[str, str]]:  # shortcode, body, in the desk's order
        if self.native:
            return [
                (c["shortcode"], c["body"]) for c in api(self.helpdesk.desk, "/canned-responses")["items"]
            ]
        return [(c["short_code"], c["content"]) for c in self._account().canned]

    def agents(self) -> list[tuple[int, str, str]]:
        if self.native:
            return [(a["id"], a["name"], a["email"]) for a in api(self.helpdesk.desk, "/agents")["items"]]
        return [(u.id, u.name, u.email) for u in self._account().users.values()]

    def contacts(self) -> list[tuple[int, str]]:
        if self.native:
            return [(c["id"], c["name"]) for c in api(self.helpdesk.desk, "/contacts", limit=500)["items"]]
        return [(c.id, c.name) for c in self._account().contacts.values()]


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_kb_search(helpdesk: Helpdesk, env: dict) -> None:
    truth = Truth(helpdesk)
    query = helpdesk.kb_queries[0]
    expected = truth.kb_hits(query)
    assert expected
    ran = invoke("kb", "search", query, "-o", "json", env=env)
    assert ran.code == 0, ran
    wire = ran.json()
    assert [(h["id"], h["title"]) for h in wire] == expected
    if truth.native:  # the desk server's answer is the wire list itself
        assert wire == api(helpdesk.desk, "/kb/search", q=query)["items"]
    quiet = invoke("kb", "search", query, "-q", env=env)
    assert quiet.stdout.split() == [str(h["id"]) for h in wire]
    text = invoke("kb", "search", query, env=env).stdout
    assert text.startswith("ID") and wire[0]["title"][:20] in text
    assert SNIPPET_OPEN not in text and SNIPPET_CLOSE not in text  # markers are for machines
    table = rows(invoke("kb", "search", query, "-o", "csv", env=env).stdout)
    assert [int(r["id"]) for r in table] == [h["id"] for h in wire]
    if truth.native:  # articles in several languages: the desk server's seeded KB
        german = invoke("kb", "search", "esim", "--locale", "de", "-o", "json", env=env).json()
        assert german and {h["locale"] for h in german} == {"de"}
    assert invoke("kb", "search", "zzzqqqxxy", "-o", "json", env=env).json() == []
    assert invoke("kb", "search", "  ", env=env).code == 2


def test_kb_show(helpdesk: Helpdesk, env: dict) -> None:
    truth = Truth(helpdesk)
    hit_id = truth.kb_hits(helpdesk.kb_queries[1])[0][0]
    article = truth.article(hit_id)
    shown = invoke("kb", "show", str(hit_id), "-o", "json", env=env).json()
    assert {k: shown[k] for k in article} == article
    text = invoke("kb", "show", str(hit_id), env=env).stdout
    assert text.startswith(article["title"]) and article["body"].splitlines()[-1].strip() in text
    table = rows(invoke("kb", "show", str(hit_id), "-o", "csv", env=env).stdout)
    assert table[0]["slug"] == article["slug"] and table[0]["body"] == article["body"]
    missing = invoke("kb", "show", "999999", env=env)
    assert missing.code == 4 and missing.stderr.startswith("error: no knowledge-base article")
    assert invoke("kb", "show", "abc", env=env).code == 2


def test_canned(helpdesk: Helpdesk, env: dict) -> None:
    truth = Truth(helpdesk)
    listed = invoke("canned", "list", "-o", "json", env=env)
    wire = listed.json()
    assert [(c["shortcode"], c["body"]) for c in wire] == truth.canned()
    codes = [c["shortcode"] for c in wire]
    quiet = invoke("canned", "list", "-q", env=env).stdout.split()
    assert quiet == list(dict.fromkeys(codes))  # each shortcode once, in the server's order
    refund = invoke("canned", "list", "--query", "refund", "-o", "json", env=env).json()
    assert refund and len(refund) < len(wire)
    table = rows(invoke("canned", "list", "-o", "csv", env=env).stdout)
    assert [r["shortcode"] for r in table] == [c["shortcode"] for c in wire]

    code = helpdesk.greeting[0]
    greet = invoke("canned", "show", code, "-o", "json", env=env).json()
    assert greet["shortcode"] == code
    text = invoke("canned", "show", f"/{code}", env=env).stdout
    assert text.startswith(f"/{code}: ") and "{{contact." in text
    missing = invoke("canned", "show", "no-such-shortcode", env=env)
    assert missing.code == 4 and "no-such-shortcode" in missing.stderr
    if not truth.native:
        return
    # Locales: the desk server's canned responses come in several.
    assert len(codes) > len(set(codes))
    spanish = invoke("canned", "list", "--locale", "es", "-o", "json", env=env).json()
    assert spanish and {c["locale"] for c in spanish} == {"es"}
    assert greet["locale"] == "en"
    other = next((c for c in wire if c["locale"] != "en"), None)
    if other is not None:
        shown = invoke(
            "canned", "show", other["shortcode"], "--locale", other["locale"], "-o", "json", env=env
        )
        assert shown.json() == other


def test_agents_teams_contacts_me(helpdesk: Helpdesk, env: dict) -> None:
    truth = Truth(helpdesk)
    agents = invoke("agents", "-o", "json", env=env).json()
    assert [(a["id"], a["name"], a["email"]) for a in agents] == truth.agents()
    assert invoke("agents", "-q", env=env).stdout.split() == [str(a["id"]) for a in agents]
    table = rows(invoke("agents", "-o", "csv", env=env).stdout)
    assert [r["email"] for r in table] == [a["email"] for a in agents]
    assert helpdesk.me["email"] in invoke("agents", env=env).stdout

    teams = invoke("teams", "-o", "json", env=env).json()
    assert [{"id": t["id"], "name": t["name"]} for t in teams] == helpdesk.teams()
    assert "Billing" in invoke("teams", env=env).stdout
    assert rows(invoke("teams", "-o", "csv", env=env).stdout)[0]["name"] == teams[0]["name"]

    contacts = truth.contacts()
    someone = contacts[min(7, len(contacts) - 1)]
    found = invoke("contacts", "--search", someone[1], "-o", "json", env=env).json()
    assert someone in [(c["id"], c["name"]) for c in found]
    assert len(invoke("contacts", "--limit", "500", "-q", env=env).stdout.split()) == len(contacts)
    assert invoke("contacts", "--limit", "3", "-o", "csv", env=env).stdout.count("\n") >= 4
    assert invoke("contacts", "--limit", "0", env=env).code == 2

    me = invoke("me", "-o", "json", env=env).json()
    assert {k: me[k] for k in ("id", "name", "email")} == helpdesk.me
    assert invoke("me", "-q", env=env).stdout == f"{me['id']}\n"
    text = invoke("me", env=env).stdout
    assert text.startswith(helpdesk.me["name"]) and helpdesk.agent_zone in text


def test_lookups_in_a_child_process(helpdesk: Helpdesk, env: dict) -> None:
    query = helpdesk.kb_queries[0]
    ran = run_cli("kb", "search", query, "-o", "json", env=env)
    assert ran.code == 0, ran
    assert ran.json() == invoke("kb", "search", query, "-o", "json", env=env).json()
    assert [h["id"] for h in ran.json()] == [i for i, _ in Truth(helpdesk).kb_hits(query)]
