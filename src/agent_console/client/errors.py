"""Errors every backend adapter raises, whatever help desk is behind it.

Each carries the CLI exit code it maps to, so front ends never inspect HTTP statuses.
"""

from __future__ import annotations

from agent_console.core.models import Message


class BackendError(Exception):
    exit_code = 1

    def __init__(
        self, message: str, *, code: str = "error", status: int | None = None, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.field = field


class InvalidRequest(BackendError):
    exit_code = 1


class NotAuthenticated(BackendError):
    exit_code = 3


class Forbidden(BackendError):
    exit_code = 3


class NotFound(BackendError):
    exit_code = 4


class Conflict(BackendError):
    """Someone wrote since the agent last looked; `unseen` holds what they wrote."""

    exit_code = 5

    def __init__(self, message: str, *, unseen: list[Message] | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.unseen = unseen or []


class Unreachable(BackendError):
    exit_code = 6


class ResyncRequired(Exception):
    """The feed cannot replay from where we were; re-read a snapshot, then resume at `seq`."""

    def __init__(self, seq: int) -> None:
        super().__init__(f"resync required at seq {seq}")
        self.seq = seq


class NotAvailable(BackendError):
    """The help desk behind this profile has no such feature (e.g. Chatwoot has no viewing
    signal). Front ends show the message as it is: nothing failed, it just is not there."""

    exit_code = 1
