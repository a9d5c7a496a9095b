"""kb, canned, agents, teams, contacts and me, end to end against the real desk server."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from agent_console.core.models import SNIPPET_CLOSE, SNIPPET_OPEN
from tests.cli_support import base_env, invoke, run_cli
from tests.conftest import Desk


@pytest.fixture
def env(desk: Desk, tmp_path: Path) -> dict[str, str | None]:
    return base_env(tmp_path, AGENT_CONSOLE_SERVER=desk.url, AGENT_CONSOLE_TOKEN=desk.agent_token)


def api(desk: Desk, path: str, **params: object) -> dict:
    response = desk.agent.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_kb_search(desk: Desk, env: dict) -> None:
    wire = api(desk, "/kb/search", q="esim iphone")["items"]
    assert wire
    ran = invoke("kb", "search", "esim iphone", "-o", "json", env=env)
    assert ran.json() == wire
    quiet = invoke("kb", "search", "esim iphone", "-q", env=env)
    assert quiet.stdout.split() == [str(h["id"]) for h in wire]
    text = invoke("kb", "search", "esim iphone", env=env).stdout
    assert text.startswith("ID") and wire[0]["title"][:20] in text
    assert SNIPPET_OPEN not in text and SNIPPET_CLOSE not in text  # markers are for machines
    table = rows(invoke("kb", "search", "esim iphone", "-o", "csv", env=env).stdout)
    assert [int(r["id"]) for r in table] == [h["id"] for h in wire]
    german = invoke("kb", "search", "esim", "--locale", "de", "-o", "json", env=env).json()
    assert german and {h["locale"] for h in german} == {"de"}
    assert invoke("kb", "search", "zzzqqqxxy", "-o", "json", env=env).json() == []
    assert invoke("kb", "search", "  ", env=env).code == 2


def test_kb_show(desk: Desk, env: dict) -> None:
    hit = api(desk, "/kb/search", q="roaming")["items"][0]
    article = api(desk, f"/kb/articles/{hit['id']}")
    assert invoke("kb", "show", str(hit["id"]), "-o", "json", env=env).json() == article
    text = invoke("kb", "show", str(hit["id"]), env=env).stdout
    assert text.startswith(article["title"]) and article["body"].splitlines()[-1].strip() in text
    table = rows(invoke("kb", "show", str(hit["id"]), "-o", "csv", env=env).stdout)
    assert table[0]["slug"] == article["slug"] and table[0]["body"] == article["body"]
    missing = invoke("kb", "show", "999999", env=env)
    assert missing.code == 4 and missing.stderr.startswith("error: no knowledge-base article")
    assert invoke("kb", "show", "abc", env=env).code == 2


def test_canned(desk: Desk, env: dict) -> None:
    wire = api(desk, "/canned-responses")["items"]
    listed = invoke("canned", "list", "-o", "json", env=env)
    assert listed.json() == wire
    codes = [c["shortcode"] for c in wire]
    assert len(codes) > len(set(codes))  # the desk has shortcodes in several locales
    quiet = invoke("canned", "list", "-q", env=env).stdout.split()
    assert quiet == list(dict.fromkeys(codes))  # each shortcode once, in the server's order
    refund = invoke("canned", "list", "--query", "refund", "-o", "json", env=env).json()
    assert refund and len(refund) < len(wire)
    spanish = invoke("canned", "list", "--locale", "es", "-o", "json", env=env).json()
    assert spanish and {c["locale"] for c in spanish} == {"es"}
    table = rows(invoke("canned", "list", "-o", "csv", env=env).stdout)
    assert [r["shortcode"] for r in table] == [c["shortcode"] for c in wire]

    greet = invoke("canned", "show", "greet", "-o", "json", env=env).json()
    assert greet["shortcode"] == "greet" and greet["locale"] == "en"
    text = invoke("canned", "show", "/greet", env=env).stdout
    assert text.startswith("/greet: ") and "{{contact.first_name}}" in text
    other = next((c for c in wire if c["locale"] != "en"), None)
    if other is not None:
        shown = invoke(
            "canned", "show", other["shortcode"], "--locale", other["locale"], "-o", "json", env=env
        )
        assert shown.json() == other
    missing = invoke("canned", "show", "no-such-shortcode", env=env)
    assert missing.code == 4 and "no-such-shortcode" in missing.stderr


def test_agents_teams_contacts_me(desk: Desk, env: dict) -> None:
    agents = api(desk, "/agents")["items"]
    assert invoke("agents", "-o", "json", env=env).json() == agents
    assert invoke("agents", "-q", env=env).stdout.split() == [str(a["id"]) for a in agents]
    table = rows(invoke("agents", "-o", "csv", env=env).stdout)
    assert [r["email"] for r in table] == [a["email"] for a in agents]
    assert "sam@test.example" in invoke("agents", env=env).stdout

    teams = api(desk, "/teams")["items"]
    assert invoke("teams", "-o", "json", env=env).json() == teams
    assert "Billing" in invoke("teams", env=env).stdout
    assert rows(invoke("teams", "-o", "csv", env=env).stdout)[0]["name"] == teams[0]["name"]

    contacts = api(desk, "/contacts", limit=500)["items"]
    someone = contacts[7]
    found = invoke("contacts", "--search", someone["name"], "-o", "json", env=env).json()
    assert someone in found
    assert len(invoke("contacts", "--limit", "500", "-q", env=env).stdout.split()) == len(contacts)
    assert invoke("contacts", "--limit", "3", "-o", "csv", env=env).stdout.count("\n") >= 4
    assert invoke("contacts", "--limit", "0", env=env).code == 2

    me = api(desk, "/me")
    assert invoke("me", "-o", "json", env=env).json() == me
    assert invoke("me", "-q", env=env).stdout == f"{me['id']}\n"
    text = invoke("me", env=env).stdout
    assert text.startswith("Sam Agent") and "Asia/Manila" in text


def test_lookups_in_a_child_process(desk: Desk, env: dict) -> None:
    ran = run_cli("kb", "search", "refund", "-o", "json", env=env)
    assert ran.code == 0, ran
    assert ran.json() == api(desk, "/kb/search", q="refund")["items"]
