"""Both help desks behind one face, for tests that must pass on each: the desk server and the
Chatwoot emulator (`tests/chatwoot_emulator`).

`start_chatwoot()` runs an emulated Chatwoot account with realistic data; its `close()` fails
the test if any request or answer broke Chatwoot's published document.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from tests.chatwoot_emulator.server import Emulator
from tests.chatwoot_emulator.state import Account, User, demo_account

# Where this checkout finds shared/ (the contract): beside it by default, or named.
SHARED_ENV = "AGENT_CONSOLE_SHARED"


@dataclass
class ChatwootDesk:
    emulator: Emulator
    account: Account
    admin: User
    agent: User
    closed: bool = field(default=False)

    @property
    def url(self) -> str:
        return self.emulator.url

    @property
    def account_id(self) -> int:
        return self.account.id

    def backend(self, **options: Any):
        from agent_console.client.chatwoot import ChatwootBackend

        options.setdefault("portal", self.account.portal)
        return ChatwootBackend(self.url, self.agent.token, account_id=self.account.id, **options)

    def env(self, **extra: str | None) -> dict[str, str | None]:
        """The environment that points the CLI at this Chatwoot with no config file."""
        return {
            "AGENT_CONSOLE_BACKEND": "chatwoot",
            "AGENT_CONSOLE_SERVER": self.url,
            "AGENT_CONSOLE_ACCOUNT": str(self.account.id),
            "AGENT_CONSOLE_TOKEN": self.agent.token,
            **extra,
        }

    def customer_says(self, conversation_id: int, text: str) -> int:
        return self.emulator.call(self.account.customer_message, conversation_id, text).id

    def bodies(self, conversation_id: int) -> list[str]:
        return self.emulator.call(lambda: [m.content for m in self.account.thread(conversation_id)])

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.emulator.stop()
        violations = list(self.emulator.violations)
        assert not violations, "the Chatwoot emulator saw contract violations:\n" + "\n".join(violations)


def start_chatwoot(*, ping_interval: float = 0.5) -> ChatwootDesk:
    account, admin, agent = demo_account()
    emulator = Emulator(account, ping_interval=ping_interval).start()
    return ChatwootDesk(emulator, account, admin, agent)


def shared_dir_known() -> bool:
    return bool(os.environ.get(SHARED_ENV))


# --- one face for both help desks, for the tests parametrised over them --------------------------


class Helpdesk:
    """What a backend-neutral test needs of a help desk: make a customer write, read the truth."""

    kind: str
    url: str
    colleague: str  # another agent's name, as pickers show it

    def backend(self): ...
    def env(self, tmp: Any) -> dict[str, str | None]: ...
    def new_customer(self, body: str) -> tuple[int, str]: ...
    def customer_says(self, conversation_id: int, text: str) -> None: ...
    def messages(self, conversation_id: int) -> list[tuple[str, str]]:  # (kind, body), oldest first
        ...
    def conversation(self, conversation_id: int) -> dict[str, Any]: ...


class NativeHelpdesk(Helpdesk):
    kind = "native"
    colleague = "Avery Admin"

    def __init__(self, desk: Any) -> None:
        self.desk = desk
        self.url = desk.url

    def backend(self):
        from agent_console.client.native import NativeBackend

        return NativeBackend(self.desk.url, self.desk.agent_token)

    def env(self, tmp: Any) -> dict[str, str | None]:
        from tests.cli_support import base_env

        return base_env(tmp, AGENT_CONSOLE_SERVER=self.desk.url, AGENT_CONSOLE_TOKEN=self.desk.agent_token)

    def new_customer(self, body: str) -> tuple[int, str]:
        import uuid

        name = f"Zed{uuid.uuid4().hex[:6]} Quill"
        payload = {
            "channel": "web_chat",
            "contact": {"name": name, "email": f"{uuid.uuid4().hex[:8]}@cust.example"},
            "body": body,
        }
        response = self.desk.admin.post("/inbound", json=payload)
        assert response.status_code == 201, response.text
        return response.json()["conversation_id"], name

    def customer_says(self, conversation_id: int, text: str) -> None:
        payload = {
            "channel": "web_chat",
            "conversation_id": conversation_id,
            "contact": {"name": "Same Customer"},
            "body": text,
        }
        response = self.desk.admin.post("/inbound", json=payload)
        assert response.status_code in (200, 201), response.text

    def messages(self, conversation_id: int) -> list[tuple[str, str]]:
        items = self.desk.agent.get(f"/conversations/{conversation_id}/messages").json()["items"]
        return [(m["kind"], m["body"]) for m in items]

    def conversation(self, conversation_id: int) -> dict[str, Any]:
        raw = self.desk.agent.get(f"/conversations/{conversation_id}").json()
        return {
            "status": raw["status"],
            "priority": raw["priority"],
            "labels": raw["labels"],
            "assignee": (raw["assignee"] or {}).get("name"),
            "team": (raw["team"] or {}).get("name"),
            "snoozed": raw["snoozed_until"] is not None,
        }


class ChatwootHelpdesk(Helpdesk):
    kind = "chatwoot"
    colleague = "Ana Ruiz"

    def __init__(self, running: ChatwootDesk) -> None:
        self.running = running
        self.url = running.url

    def backend(self):
        return self.running.backend()

    def env(self, tmp: Any) -> dict[str, str | None]:
        from tests.cli_support import base_env

        return base_env(tmp, **self.running.env())

    def new_customer(self, body: str) -> tuple[int, str]:
        import uuid

        name = f"Zed{uuid.uuid4().hex[:6]} Quill"
        account = self.running.account

        def create() -> int:
            contact = account.add_contact(name, f"{uuid.uuid4().hex[:8]}@cust.example")
            return account.open_conversation(contact, body).display_id

        return self.running.emulator.call(create), name

    def customer_says(self, conversation_id: int, text: str) -> None:
        self.running.customer_says(conversation_id, text)

    def messages(self, conversation_id: int) -> list[tuple[str, str]]:
        kinds = {0: "incoming", 1: "outgoing", 2: "activity"}

        def read() -> list[tuple[str, str]]:
            return [
                ("note" if m.private else kinds[m.message_type], m.content)
                for m in self.running.account.thread(conversation_id)
            ]

        return self.running.emulator.call(read)

    def conversation(self, conversation_id: int) -> dict[str, Any]:
        account = self.running.account

        def read() -> dict[str, Any]:
            row = account.conversations[conversation_id]
            return {
                "status": row.status,
                "priority": {None: "normal", "medium": "normal"}.get(row.priority, row.priority),
                "labels": list(row.labels),
                "assignee": account.users[row.assignee_id].name if row.assignee_id else None,
                "team": account.teams[row.team_id]["name"] if row.team_id else None,
                "snoozed": row.snoozed_until is not None,
            }

        return self.running.emulator.call(read)
