"""Running the desk from the CLI: `kb import` (idempotent, with progress, all or nothing on bad
files), `kb export` and the round trip, and the agent, team, label and canned verbs."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_console.core.kbdoc import parse_kb_file
from tests.cli_support import base_env, invoke, run_cli
from tests.conftest import Desk, start_desk

TOPICS = ["roaming", "billing", "esim", "signal", "hotspot", "refund", "travel", "device", "account", "speed"]


def make_folder(folder: Path, count: int = 50) -> Path:
    """`count` articles: English ones, and a German translation for every fifth."""
    folder.mkdir(parents=True, exist_ok=True)
    english = count - count // 5
    for n in range(english):
        topic = TOPICS[n % len(TOPICS)]
        (folder / f"en-{topic}-guide-{n}.md").write_text(
            f"---\ntitle: {topic.title()} guide number {n}\nlocale: en\ntags: {topic}, guide\n---\n"
            f"# {topic.title()}\n\nStep {n}: open **Settings** and check {topic}.\n"
        )
    for n in range(count // 5):
        topic = TOPICS[n % len(TOPICS)]
        (folder / f"de-{topic}-anleitung-{n}.md").write_text(
            f"---\ntitle: {topic.title()}-Anleitung {n}\nlocale: de\ntags: {topic}\n"
            f"translation: {topic}-guide-{n}\nstatus: draft\n---\nSchritt {n}: {topic} prüfen.\n"
        )
    return folder


def env_for(desk: Desk, tmp_path: Path, token: str | None = None) -> dict[str, str | None]:
    return base_env(tmp_path, AGENT_CONSOLE_SERVER=desk.url, AGENT_CONSOLE_TOKEN=token or desk.admin_token)


def articles(desk: Desk) -> list[dict]:
    return desk.admin.get("/kb/articles").json()["items"]


def head(desk: Desk) -> int:
    return desk.admin.get("/conversations", params={"limit": 1}).json()["head_seq"]


def docs(folder: Path) -> dict[str, tuple]:
    """The articles of a folder, by file name, as what matters (not the `updated` date)."""
    parsed = {p.name: parse_kb_file(p.name, p.read_text()) for p in sorted(folder.glob("*.md"))}
    return {
        name: (d.slug, d.locale, d.title, d.body, d.tags, d.status, d.translation_key or d.slug)
        for name, d in parsed.items()
    }


def test_kb_import_of_50_files_is_idempotent_with_progress(fresh_desk: Desk, tmp_path: Path) -> None:
    desk = fresh_desk
    folder = make_folder(tmp_path / "kb")
    env = env_for(desk, tmp_path)
    first = run_cli("kb", "import", str(folder), env=env, timeout=120)
    assert first.code == 0, first
    assert first.stdout == "50 file(s): 50 created, 0 updated, 0 unchanged, 0 failed\n"
    assert first.stderr.count("\n") == 50 and "[50/50] created" in first.stderr  # the progress, on stderr
    held = articles(desk)
    assert len(held) == 50
    german = [a for a in held if a["locale"] == "de"]
    assert len(german) == 10 and all(a["status"] == "draft" for a in german)
    assert {a["translation_key"] for a in german} <= {a["slug"] for a in held if a["locale"] == "en"}

    since = head(desk)
    again = run_cli("kb", "import", str(folder), env=env, timeout=120)
    assert again.code == 0, again
    assert again.stdout == "50 file(s): 0 created, 0 updated, 50 unchanged, 0 failed\n"
    assert articles(desk) == held and head(desk) == since  # nothing written, no event

    edited = folder / "en-billing-guide-1.md"
    edited.write_text(edited.read_text().replace("Step 1", "Step one"))
    third = invoke("kb", "import", str(folder), "-o", "json", env=env)
    assert third.code == 0, third
    outcomes = {r["file"]: r["outcome"] for r in third.json()}
    assert outcomes.pop("en-billing-guide-1.md") == "updated" and set(outcomes.values()) == {"unchanged"}
    target = next(a for a in articles(desk) if a["slug"] == "billing-guide-1")
    assert len(articles(desk)) == 50 and target["revision"] == 2 and "Step one" in target["body"]
    revisions = invoke("kb", "revisions", str(target["id"]), "-o", "json", env=env).json()
    assert [r["revision"] for r in revisions] == [2, 1] and "Step 1" in revisions[1]["body"]
    assert {r["author_name"] for r in revisions} == {"Avery Admin"}


def test_kb_import_checks_every_file_before_sending_any(fresh_desk: Desk, tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "kb", 10)
    (folder / "en-broken.md").write_text("no front matter here\n")
    (folder / "en-untitled.md").write_text("---\nlocale: en\ntags: x\n---\nbody\n")
    ran = invoke("kb", "import", str(folder), env=env_for(fresh_desk, tmp_path))
    assert ran.code == 2
    assert "2 bad file(s)" in ran.stderr and "en-broken.md" in ran.stderr and "en-untitled.md" in ran.stderr
    assert articles(fresh_desk) == []
    assert invoke("kb", "import", str(tmp_path / "missing"), env=env_for(fresh_desk, tmp_path)).code == 2


def test_export_then_import_round_trips(fresh_desk: Desk, tmp_path: Path) -> None:
    source = make_folder(tmp_path / "kb", 20)
    env = env_for(fresh_desk, tmp_path)
    assert invoke("kb", "import", str(source), env=env).code == 0
    exported = tmp_path / "exported"
    ran = invoke("kb", "export", str(exported), env=env)
    assert ran.code == 0 and ran.stdout == f"20 article(s) written to {exported}\n"
    # The same articles as the source, file for file (slugs come from the file names there).
    assert docs(exported) == docs(source)
    since = head(fresh_desk)
    again = invoke("kb", "import", str(exported), env=env)
    assert again.stdout == "20 file(s): 0 created, 0 updated, 20 unchanged, 0 failed\n"
    assert head(fresh_desk) == since
    # Into another desk and out again: the same files.
    other = start_desk(tmp_path / "other.db", demo=False)
    try:
        other_env = env_for(other, tmp_path)
        assert invoke("kb", "import", str(exported), env=other_env).code == 0
        assert invoke("kb", "export", str(tmp_path / "twice"), env=other_env).code == 0
    finally:
        other.server.stop()
    assert docs(tmp_path / "twice") == docs(exported)


def test_agent_team_label_and_canned_verbs(fresh_desk: Desk, tmp_path: Path) -> None:
    desk = fresh_desk
    env = env_for(desk, tmp_path)
    made = invoke(
        "agent",
        "new",
        "Kim Lee",
        "kim@cli.example",
        "--language",
        "de",
        "--timezone",
        "Europe/Berlin",
        env=env,
    )
    assert made.code == 0, made
    token = made.stdout.strip()
    assert made.stdout == token + "\n" and "shown this once" in made.stderr
    assert desk.client(token).get("/me").json()["languages"] == ["de"]

    team = invoke("team", "new", "Night shift", "--member", "kim@cli.example", "-o", "json", env=env)
    assert team.code == 0, team
    kim = desk.client(token).get("/me").json()["id"]
    assert team.json()["member_ids"] == [kim]
    sam = desk.agent.get("/me").json()["id"]
    members = invoke(
        "team",
        "members",
        "Night shift",
        "--add",
        str(sam),
        "--remove",
        "kim@cli.example",
        "-o",
        "json",
        env=env,
    )
    assert members.json()["member_ids"] == [sam]

    rotated = invoke("agent", "rotate-token", "kim@cli.example", env=env)
    assert rotated.code == 0 and rotated.stdout.strip() != token
    assert desk.client(token).get("/me").status_code == 401
    new_token = rotated.stdout.strip()
    off = invoke("agent", "deactivate", "kim@cli.example", env=env)
    assert off.code == 0 and "deactivated" in off.stdout
    assert desk.client(new_token).get("/me").status_code == 401
    listed = invoke("agents", "--all", "-o", "csv", env=env).stdout
    assert "kim@cli.example,agent,Europe/Berlin,de,,false" in listed
    assert "kim@cli.example" not in invoke("agents", "-o", "csv", env=env).stdout

    assert invoke("label", "new", "VIP", "--color", "#D4A017", env=env).code == 0
    assert "vip,#d4a017,0" in invoke("labels", "-o", "csv", env=env).stdout
    assert invoke("label", "new", "gold", "--color", "gold", env=env).code == 2
    assert invoke("label", "rename", "vip", "priority-customer", env=env).code == 0
    assert "priority-customer,#d4a017,0" in invoke("labels", "-o", "csv", env=env).stdout

    bad = invoke("canned", "new", "eta", "Hi {{customer.name}}", "--title", "ETA", env=env)
    assert bad.code == 1 and "{{customer.name}}" in bad.stderr
    assert invoke("canned", "list", "-q", env=env).stdout == ""  # nothing was written
    good = invoke("canned", "new", "eta", "Hi {{contact.first_name}}, soon.", "--title", "ETA", env=env)
    assert good.code == 0, good
    assert invoke("canned", "edit", "eta", "--title", "When", "-o", "json", env=env).json()["title"] == "When"
    assert invoke("canned", "delete", "eta", env=env).code == 0
    assert invoke("canned", "show", "eta", env=env).code == 4

    agent_env = env_for(desk, tmp_path, desk.agent_token)
    refused = invoke("agent", "new", "X Y", "x@cli.example", env=agent_env)
    assert refused.code == 3 and "admin" in refused.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("kb", "new", "Reset your PIN", "--body", "-", "--tags", "sim,pin"),
        ("kb", "new", "Reset your PIN", "--body", "-", "--tags", "sim,pin", "--publish"),
    ],
)
def test_kb_new_edit_publish(fresh_desk: Desk, tmp_path: Path, args: tuple[str, ...]) -> None:
    env = env_for(fresh_desk, tmp_path)
    ran = invoke(*args, "-o", "json", env=env, input="Type the **PUK**.\n")
    assert ran.code == 0, ran
    article = ran.json()
    assert article["slug"] == "reset-your-pin" and article["status"] == (
        "published" if "--publish" in args else "draft"
    )
    assert invoke("kb", "unpublish", str(article["id"]), env=env).code == 0
    assert invoke("kb", "list", "--status", "draft", "-q", env=env).stdout == f"{article['id']}\n"
    shown = invoke("kb", "publish", str(article["id"]), env=env)
    assert shown.code == 0 and "published" in shown.stdout
    assert (
        invoke(
            "kb", "edit", str(article["id"]), "--title", "Reset the SIM PIN", "-o", "json", env=env
        ).json()["title"]
        == "Reset the SIM PIN"
    )
