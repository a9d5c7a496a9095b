"""`agent-console conv ID read|unread`: the agent's read mark on the server, from the shell."""

from __future__ import annotations

from pathlib import Path

from tests.cli_support import base_env, invoke
from tests.conftest import Desk
from tests.test_tui_flows import new_customer
from tests.test_tui_views import customer_writes


def test_conv_read_and_unread_move_the_mark_on_the_server(desk: Desk, tmp_path: Path) -> None:
    env = base_env(tmp_path, AGENT_CONSOLE_SERVER=desk.url, AGENT_CONSOLE_TOKEN=desk.agent_token)
    cid, name = new_customer(desk, body="Is anyone there?")
    customer_writes(desk, cid, name, "Hello??")

    def unread() -> int:
        return desk.agent.get(f"/conversations/{cid}").json()["unread_count"]

    assert unread() == 2
    ran = invoke("conv", str(cid), "read", env=env)
    assert ran.code == 0, ran
    assert f"conversation {cid}: marked read, 0 unread for you" in ran.stdout
    assert unread() == 0
    ran = invoke("conv", str(cid), "unread", "-o", "json", env=env)
    assert ran.code == 0, ran
    assert ran.json()["unread_count"] == 1 and unread() == 1
    missing = invoke("conv", "99999999", "unread", env=env)
    assert missing.code != 0 and "99999999" in missing.stderr
