"""Both help desks behind one face, for tests that must pass on each: the desk server and the
Chatwoot emulator (`tests/chatwoot_emulator`).

`start_chatwoot()` runs an emulated Chatwoot account with realistic data; its `close()` fails
the test if any request or answer broke Chatwoot's published document.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
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
            "AGENT_CONSOLE_PORTAL": self.account.portal,
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

CUSTOMER_ZONE = "Asia/Tokyo"  # every new customer's time zone, shown in the contact panel


class Helpdesk:
    """What a backend-neutral test needs of a help desk: make a customer write, read the truth.

    `conversation()` and `messages()` read the help desk's own record (the desk server's REST,
    the emulator's rows), never through the adapter under test.
    """

    kind: str
    url: str
    me: dict[str, Any]  # the signed-in agent: id, name, email
    colleague: str  # another agent's name, as pickers show it
    colleague_email: str
    agent_zone: str  # the signed-in agent's time zone (CLI times like `tomorrow`)
    greeting: tuple[str, str]  # a canned response: what to type in the picker, its text's start
    max_body: int  # the longest message the help desk takes
    desk_name: str  # as the CLI names it in messages
    kb_queries: tuple[str, str]  # two searches that each find an article

    def backend(self, token: str | None = None): ...
    def env(self, tmp: Any) -> dict[str, str | None]: ...
    def new_customer(
        self,
        body: str = "My eSIM will not activate",
        *,
        name: str | None = None,
        subject: str | None = None,
        email: str | None = None,
    ) -> tuple[int, str]: ...
    def customer_says(self, conversation_id: int, text: str) -> None: ...
    def agent_writes(self, conversation_id: int, body: str, *, private: bool = False) -> int: ...
    def colleague_writes(self, conversation_id: int, body: str, *, private: bool = False) -> int: ...
    def messages(self, conversation_id: int) -> list[dict[str, Any]]:  # id, kind, body; oldest first
        ...
    def conversation(self, conversation_id: int) -> dict[str, Any]: ...
    def listed(self, status: str = "open", limit: int = 50) -> list[int]:  # view "all", the desk's order
        ...
    def kb_link(self, article_id: int) -> str:  # the article's public address, as a customer opens it
        ...
    def teams(self) -> list[dict[str, Any]]:  # id, name
        ...
    def set_labels(self, conversation_id: int, labels: list[str]) -> None:  # as a colleague would
        ...
    def assign_to_colleague(self, conversation_id: int) -> None:  # the colleague takes it
        ...
    def assign_to_me(self, conversation_id: int) -> None:  # setup: the signed-in agent's own
        ...
    def colleague_sets(
        self,
        conversation_id: int,
        *,
        status: str | None = None,
        priority: str | None = None,
        snoozed_until: datetime | None = None,
    ) -> None: ...
    def count(self, status: str) -> int:  # conversations with this status ("all": every one)
        ...
    def ensure_conversations(self, status: str, at_least: int) -> None:
        """At least this many conversations with this status, made by customers writing in."""
        assert status in ("open", "all"), "new customers open conversations"
        while self.count(status) < at_least:
            self.new_customer("Filling the desk for a longer list")

    def bodies(self, conversation_id: int, kind: str | None = None) -> list[str]:
        return [m["body"] for m in self.messages(conversation_id) if kind is None or m["kind"] == kind]


def _unique_name() -> str:
    import uuid

    return f"Zed{uuid.uuid4().hex[:6]} Quill"


def _email() -> str:
    import uuid

    return f"{uuid.uuid4().hex[:8]}@cust.example"


class NativeHelpdesk(Helpdesk):
    kind = "native"
    colleague = "Avery Admin"
    colleague_email = "admin@test.example"
    agent_zone = "Asia/Manila"
    # The seeded greeting: "Hi {{contact.first_name}}, ... I'm {{agent.first_name}} and ...".
    greeting = ("greet", "Hi {first}, thanks for contacting Lumo Mobile! I'm Sam and ")
    kb_queries = ("apn", "roaming")
    max_body = 200_000
    desk_name = "the desk server"

    def __init__(self, desk: Any) -> None:
        self.desk = desk
        self.url = desk.url
        self.me = {k: v for k, v in desk.agent.get("/me").json().items() if k in ("id", "name", "email")}

    def backend(self, token: str | None = None):
        from agent_console.client.native import NativeBackend

        return NativeBackend(self.desk.url, token or self.desk.agent_token)

    def env(self, tmp: Any) -> dict[str, str | None]:
        from tests.cli_support import base_env

        return base_env(tmp, AGENT_CONSOLE_SERVER=self.desk.url, AGENT_CONSOLE_TOKEN=self.desk.agent_token)

    def new_customer(
        self,
        body: str = "My eSIM will not activate",
        *,
        name: str | None = None,
        subject: str | None = None,
        email: str | None = None,
    ) -> tuple[int, str]:
        name = name or _unique_name()
        contact = {"name": name, "email": email or _email(), "timezone": CUSTOMER_ZONE, "language": "en"}
        payload: dict[str, Any] = {
            "channel": "email" if subject else "web_chat",
            "contact": contact,
            "body": body,
        }
        if subject:
            payload["subject"] = subject
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

    def agent_writes(self, conversation_id: int, body: str, *, private: bool = False) -> int:
        sent = self.desk.agent.post(
            f"/conversations/{conversation_id}/messages", json={"body": body, "private": private}
        )
        assert sent.status_code == 201, sent.text
        return sent.json()["id"]

    def colleague_writes(self, conversation_id: int, body: str, *, private: bool = False) -> int:
        sent = self.desk.admin.post(
            f"/conversations/{conversation_id}/messages", json={"body": body, "private": private}
        )
        assert sent.status_code == 201, sent.text
        return sent.json()["id"]

    def messages(self, conversation_id: int) -> list[dict[str, Any]]:
        items = self.desk.agent.get(f"/conversations/{conversation_id}/messages").json()["items"]
        return [{"id": m["id"], "kind": m["kind"], "body": m["body"]} for m in items]

    def conversation(self, conversation_id: int) -> dict[str, Any]:
        raw = self.desk.agent.get(f"/conversations/{conversation_id}").json()
        return {
            "status": raw["status"],
            "priority": raw["priority"],
            "labels": raw["labels"],
            "assignee": (raw["assignee"] or {}).get("name"),
            "assignee_id": (raw["assignee"] or {}).get("id"),
            "team": (raw["team"] or {}).get("name"),
            "snoozed": raw["snoozed_until"] is not None,
            "message_count": raw["message_count"],
        }

    def kb_link(self, article_id: int) -> str:
        from tests.conftest import PUBLIC_URL

        return f"{PUBLIC_URL}/kb/{article_id}"

    def listed(self, status: str = "open", limit: int = 50) -> list[int]:
        params = {"view": "all", "status": status, "limit": limit}
        return [c["id"] for c in self.desk.agent.get("/conversations", params=params).json()["items"]]

    def teams(self) -> list[dict[str, Any]]:
        return [{"id": t["id"], "name": t["name"]} for t in self.desk.agent.get("/teams").json()["items"]]

    def assign_to_me(self, conversation_id: int) -> None:
        response = self.desk.agent.patch(
            f"/conversations/{conversation_id}", json={"assignee_id": self.me["id"]}
        )
        assert response.is_success, response.text

    def assign_to_colleague(self, conversation_id: int) -> None:
        agents = self.desk.admin.get("/agents").json()["items"]
        colleague = next(a["id"] for a in agents if a["name"] == self.colleague)
        response = self.desk.admin.patch(f"/conversations/{conversation_id}", json={"assignee_id": colleague})
        assert response.is_success, response.text

    def colleague_sets(
        self,
        conversation_id: int,
        *,
        status: str | None = None,
        priority: str | None = None,
        snoozed_until: datetime | None = None,
    ) -> None:
        until = snoozed_until.isoformat() if snoozed_until else None
        changes = (("status", status), ("priority", priority), ("snoozed_until", until))
        patch = {k: v for k, v in changes if v is not None}
        response = self.desk.admin.patch(f"/conversations/{conversation_id}", json=patch)
        assert response.is_success, response.text

    def set_labels(self, conversation_id: int, labels: list[str]) -> None:
        response = self.desk.admin.patch(f"/conversations/{conversation_id}", json={"labels": labels})
        assert response.is_success, response.text

    def count(self, status: str) -> int:
        params = {"view": "all", "status": status, "limit": 1}
        return self.desk.agent.get("/conversations", params=params).json()["counts"]["all"]


class ChatwootHelpdesk(Helpdesk):
    kind = "chatwoot"
    colleague = "Ana Ruiz"
    colleague_email = "ana@acme.example"
    agent_zone = "UTC"  # Chatwoot keeps no per-agent time zone
    greeting = ("hello", "Hi {name}, thanks for reaching out!")  # "Hi {{contact.name}}, ..."
    kb_queries = ("refund", "plan")
    max_body = 150_000
    desk_name = "Chatwoot"

    def __init__(self, running: ChatwootDesk) -> None:
        self.running = running
        self.url = running.url
        agent = running.agent
        self.me = {"id": agent.id, "name": agent.name, "email": agent.email}

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return self.running.emulator.call(fn, *args, **kwargs)

    def backend(self, token: str | None = None):
        if token is None:
            return self.running.backend()
        from agent_console.client.chatwoot import ChatwootBackend

        return ChatwootBackend(self.url, token, account_id=self.running.account.id)

    def env(self, tmp: Any) -> dict[str, str | None]:
        from tests.cli_support import base_env

        return base_env(tmp, **self.running.env())

    def new_customer(
        self,
        body: str = "My eSIM will not activate",
        *,
        name: str | None = None,
        subject: str | None = None,
        email: str | None = None,
    ) -> tuple[int, str]:
        name = name or _unique_name()
        account = self.running.account

        def create() -> int:
            address = email or _email()
            contact = account.add_contact(name, address, timezone=CUSTOMER_ZONE, browser_language="en")
            inbox = "email" if subject else "web"
            return account.open_conversation(contact, body, inbox=inbox, subject=subject).display_id

        return self._call(create), name

    def customer_says(self, conversation_id: int, text: str) -> None:
        self.running.customer_says(conversation_id, text)

    def agent_writes(self, conversation_id: int, body: str, *, private: bool = False) -> int:
        account, agent = self.running.account, self.running.agent
        return self._call(lambda: account.agent_message(conversation_id, agent, body, private=private).id)

    def colleague_writes(self, conversation_id: int, body: str, *, private: bool = False) -> int:
        account, admin = self.running.account, self.running.admin
        return self._call(lambda: account.agent_message(conversation_id, admin, body, private=private).id)

    def messages(self, conversation_id: int) -> list[dict[str, Any]]:
        kinds = {0: "incoming", 1: "outgoing", 2: "activity"}

        def read() -> list[dict[str, Any]]:
            return [
                {"id": m.id, "kind": "note" if m.private else kinds[m.message_type], "body": m.content}
                for m in self.running.account.thread(conversation_id)
            ]

        return self._call(read)

    def conversation(self, conversation_id: int) -> dict[str, Any]:
        account = self.running.account

        def read() -> dict[str, Any]:
            row = account.conversations[conversation_id]
            return {
                "status": row.status,
                "priority": {None: "normal", "medium": "normal"}.get(row.priority, row.priority),
                "labels": list(row.labels),
                "assignee": account.users[row.assignee_id].name if row.assignee_id else None,
                "assignee_id": row.assignee_id,
                "team": account.teams[row.team_id]["name"] if row.team_id else None,
                "snoozed": row.snoozed_until is not None,
                "message_count": sum(1 for m in account.thread(conversation_id) if m.message_type != 2),
            }

        return self._call(read)

    def kb_link(self, article_id: int) -> str:
        account = self.running.account
        slug = next(a["slug"] for a in account.articles if a["id"] == article_id)
        return f"{self.url}/hc/{account.portal}/articles/{slug}"  # Chatwoot's public help center

    def listed(self, status: str = "open", limit: int = 50) -> list[int]:
        account, agent = self.running.account, self.running.agent

        def read() -> list[int]:
            rows = [r for r in account.conversations.values() if account.visible(r, agent, "all", status)]
            return [r.display_id for r in account.ordered(rows)][:limit]

        return self._call(read)

    def teams(self) -> list[dict[str, Any]]:
        return self._call(
            lambda: [{"id": t["id"], "name": t["name"]} for t in self.running.account.teams.values()]
        )

    def count(self, status: str) -> int:
        account = self.running.account
        return self._call(
            lambda: sum(1 for r in account.conversations.values() if status in ("all", r.status))
        )

    def set_labels(self, conversation_id: int, labels: list[str]) -> None:
        account, admin = self.running.account, self.running.admin
        self._call(lambda: account.set_labels(account.conversations[conversation_id], admin, labels))

    def assign_to_colleague(self, conversation_id: int) -> None:
        account, admin = self.running.account, self.running.admin
        self._call(lambda: account.assign(account.conversations[conversation_id], admin, admin.id))

    def colleague_sets(
        self,
        conversation_id: int,
        *,
        status: str | None = None,
        priority: str | None = None,
        snoozed_until: datetime | None = None,
    ) -> None:
        account, admin = self.running.account, self.running.admin

        def change() -> None:
            row = account.conversations[conversation_id]
            if snoozed_until is not None:
                account.set_status(row, admin, "snoozed", int(snoozed_until.timestamp()))
            if status is not None:
                account.set_status(row, admin, status, None)
            if priority is not None:
                account.set_priority(row, admin, None if priority == "normal" else priority)

        self._call(change)

    def assign_to_me(self, conversation_id: int) -> None:
        account, agent = self.running.account, self.running.agent
        self._call(lambda: account.assign(account.conversations[conversation_id], agent, agent.id))
