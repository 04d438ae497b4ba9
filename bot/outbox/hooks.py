"""What the sender calls back, per kind of row: before a row goes out, once it is sent, once it is given up.

Each hook gets the row and its payload, parsed as its kind's type, so a hook reads attributes, not JSON keys.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import OutboxMessage
from bot.outbox.payloads import Payload
from bot.telegram_failure import TelegramFailure

P = TypeVar("P", bound=Payload)


@dataclass(frozen=True)
class Failure:
    """Why a row was given up: Telegram's words, and what kind of failure the classifier saw."""

    reason: str
    kind: TelegramFailure

    @property
    def unreachable(self) -> bool:
        return self.kind.unreachable


# may return a message_thread_id to send into
BeforeHook = Callable[[AsyncSession, OutboxMessage, P], Awaitable[int | None]]
# runs in the transaction that marks the row sent, with the ids of the messages that went out
AfterHook = Callable[[AsyncSession, OutboxMessage, P, list[int]], Awaitable[None]]
# runs once the row is given up (not on a retry), after its failure is recorded
FailedHook = Callable[[AsyncSession, OutboxMessage, P, Failure], Awaitable[None]]


@dataclass(frozen=True)
class Hooks(Generic[P]):
    before: BeforeHook[P] | None = None
    after: AfterHook[P] | None = None
    failed: FailedHook[P] | None = None


NO_HOOKS: Hooks[Any] = Hooks()
