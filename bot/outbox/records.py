"""What becomes of a row a sender holds, written to the database: started, a part sent, sent, retried, given up.

Each write must land: it is retried until it does, while the row stays held and its claim renewed (dropping
it would let the claim lapse and the message go out again). The two writes every row needs, its start and
its sent mark, are group-committed: the chats that reach them at the same moment share one transaction.
"""

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import OutboxMessage, OutboxStatus
from bot.db.uow import UnitOfWorkFactory
from bot.failure_streak import FailureStreak
from bot.outbox.claims import locked_in_id_order
from bot.outbox.group_commit import GroupCommit
from bot.outbox.hooks import AfterHook
from bot.outbox.payloads import Payload
from bot.services.reachability import mark_unreachable
from bot.telegram_errors import TelegramFailure
from journeys.clock import Clock

log = logging.getLogger(__name__)

T = TypeVar("T")


class RowRecords:
    """The state writes of one sender (`worker`), each only on rows it still holds."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, worker: str) -> None:
        self.uow, self.clock, self.worker = uow_factory, clock, worker
        # one log line when state writes start failing (the database is down), one when they work again
        self._writes = FailureStreak(log, "recording outbox state")
        self._starts = GroupCommit(uow_factory, self._write_starts)
        self._sents = GroupCommit(uow_factory, self._write_sent)

    @property
    def transactions(self) -> int:
        """Transactions that recorded rows starting and being sent (group-committed, so fewer than rows)."""
        return self._starts.transactions + self._sents.transactions

    def cancel(self) -> None:
        """The sender was killed: the group commits waiting to go are dropped."""
        self._starts.cancel()
        self._sents.cancel()

    async def _durably(self, write: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        for attempt in itertools.count():
            try:
                result = await write(*args, **kwargs)
            except Exception:
                self._writes.failed()
                await asyncio.sleep(min(0.05 * 2**attempt, 2.0))
            else:
                self._writes.succeeded()
                return result
        raise AssertionError("unreachable")

    # ----- what the sender records -----------------------------------------------------------------

    async def start(self, row: OutboxMessage) -> bool:
        """Still ours and still wanted? A row cancelled while it waited here is not sent."""
        if await self._durably(self._starts.submit, row):
            return True
        log.info("outbox row %s was cancelled or taken over before it went out", row.id)
        return False

    async def part_sent(self, row: OutboxMessage, payload: Payload) -> None:
        """A part of several went out: a restart resumes after it."""
        await self._durably(self._record, row, payload=payload.stored())
        row.payload = payload.stored()

    async def sent(self, row: OutboxMessage, payload: Payload, after: AfterHook[Any] | None) -> None:
        """Every part went out; `after` runs in the same transaction (its failure does not undo the mark)."""
        await self._durably(self._mark_sent, row, payload, after)

    async def retry_at(self, row: OutboxMessage, due_at: datetime, attempts: int, error: str) -> None:
        """Back to the queue, due again at `due_at`."""
        values = {"status": OutboxStatus.PENDING, "attempts": attempts, "last_error": error, "due_at": due_at}
        await self._durably(self._record, row, **values, claimed_at=None, claimed_by=None)

    async def given_up(self, row: OutboxMessage, error: str, failure: TelegramFailure, attempts: int | None) -> None:
        changes: dict[str, Any] = {"status": OutboxStatus.FAILED, "last_error": error[:500], "failure": failure}
        if attempts is not None:
            changes["attempts"] = attempts
        await self._durably(self._record, row, **changes)

    async def unreachable(
        self, row: OutboxMessage, others: Callable[[], list[int]], error: str, failure: TelegramFailure
    ) -> None:
        """Blocked, kicked, deactivated or gone: the row fails, and so does everything else for this chat,
        the `others` held here as well as what waits in the table for the student."""
        await self._durably(self._unreachable, row, others, error, failure)

    # ----- the writes ------------------------------------------------------------------------------

    def _mine(self, row: OutboxMessage, *, sending: bool = True) -> Any:
        """An update of a row this sender holds; `sending`: unless it was cancelled meanwhile."""
        statement = update(OutboxMessage).where(OutboxMessage.id == row.id, OutboxMessage.claimed_by == self.worker)
        return statement.where(OutboxMessage.status == OutboxStatus.SENDING) if sending else statement

    async def _write_starts(self, session: AsyncSession, rows: list[OutboxMessage]) -> list[bool]:
        result = await session.execute(
            update(OutboxMessage)
            .where(
                locked_in_id_order(
                    session,
                    OutboxMessage.id.in_([row.id for row in rows]),
                    OutboxMessage.claimed_by == self.worker,
                    OutboxMessage.status == OutboxStatus.SENDING,
                )
            )
            .values(claimed_at=self.clock.now())
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        )
        still_ours = set(result.scalars())
        return [row.id in still_ours for row in rows]

    async def _record(self, row: OutboxMessage, **values: Any) -> None:
        async with self.uow() as uow:
            await self._apply(uow.session, row, values)
            await uow.commit()

    async def _apply(
        self, session: AsyncSession, row: OutboxMessage, values: dict[str, Any], *, sending: bool = True
    ) -> bool:
        result = await session.execute(self._mine(row, sending=sending).values(**values))
        if not result.rowcount:  # type: ignore[attr-defined]
            log.warning("outbox row %s was cancelled or taken over by another sender", row.id)
            return False
        return True

    async def _mark_sent(self, row: OutboxMessage, payload: Payload, after: AfterHook[Any] | None) -> None:
        ids = list(payload.message_ids)
        values = {
            "status": OutboxStatus.SENT,
            "sent_at": self.clock.now(),
            "telegram_message_id": ids[-1] if ids else None,
            "payload": payload.stored(),
        }
        if after is None:
            await self._sents.submit((row.id, values))
            return
        async with self.uow() as uow:
            # sent is sent, even if the row was cancelled while the message was on its way
            if await self._apply(uow.session, row, values, sending=False):
                try:
                    await after(uow.session, row, payload, ids)
                except Exception:
                    log.exception("outbox row %s: the after-send hook failed", row.id)
                    await uow.rollback()
                    await self._apply(uow.session, row, values, sending=False)
            await uow.commit()

    async def _write_sent(self, session: AsyncSession, items: list[tuple[int, dict[str, Any]]]) -> list[None]:
        # sent is sent, even if the row was cancelled while the message was on its way
        table = OutboxMessage.__table__.c
        statement = (
            update(OutboxMessage.__table__)  # type: ignore[arg-type]
            .where(table.id == bindparam("row_id"), table.claimed_by == self.worker)
            .values(
                status=OutboxStatus.SENT,
                sent_at=bindparam("row_sent_at", type_=table.sent_at.type),
                telegram_message_id=bindparam("row_message_id", type_=table.telegram_message_id.type),
                payload=bindparam("row_payload", type_=table.payload.type),
            )
        )
        await session.execute(
            statement,
            [
                {
                    "row_id": row_id,
                    "row_sent_at": values["sent_at"],
                    "row_message_id": values["telegram_message_id"],
                    "row_payload": values["payload"],
                }
                # one row per statement, in id order: the same lock order as every other writer
                for row_id, values in sorted(items, key=lambda item: item[0])
            ],
        )
        return [None] * len(items)

    async def _unreachable(
        self, row: OutboxMessage, others: Callable[[], list[int]], text: str, failure: TelegramFailure
    ) -> None:
        held = others()
        now = self.clock.now()
        cancelled = 0
        async with self.uow() as uow:
            await self._apply(uow.session, row, {"status": OutboxStatus.FAILED, "last_error": text, "failure": failure})
            reason = f"chat unreachable: {text}"[:500]
            if held:
                await uow.session.execute(
                    update(OutboxMessage)
                    .where(
                        locked_in_id_order(
                            uow.session, OutboxMessage.id.in_(held), OutboxMessage.claimed_by == self.worker
                        )
                    )
                    .values(status=OutboxStatus.CANCELLED, last_error=reason, failure=failure)
                    .execution_options(synchronize_session=False)
                )
            if row.student_id is not None:
                cancelled = await mark_unreachable(uow.session, row.student_id, now, failure, reason)
            await uow.commit()
        log.info(
            "chat %s unreachable (%s): row %s failed, student %s marked blocked, %d waiting rows cancelled",
            row.chat_id,
            text,
            row.id,
            row.student_id,
            cancelled + len(held),
        )
