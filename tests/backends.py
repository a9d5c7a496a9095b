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
