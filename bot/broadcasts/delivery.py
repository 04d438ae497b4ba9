"""Starting, stopping and queueing broadcasts: one outbox row per recipient, queued in batches by a Ticker job.

Queueing reads the segment in id order after `cursor` and commits rows and cursor together: a crash resumes
where it stopped, and the outbox keys (`broadcast:{id}:{student}`) make a repeat insert nothing. The one outbox
sender delivers the rows at Priority.BULK, after everything transactional.
"""

import asyncio
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select, update

from bot.broadcasts.content import content_of, set_content
from bot.broadcasts.drafts import outs, segment_of
from bot.db.models import AuditAction, Broadcast, BroadcastStatus, OutboxMessage, OutboxStatus, Priority
from bot.db.uow import UnitOfWork, UnitOfWorkFactory
from bot.outbox.claims import locked_in_id_order
from bot.outbox.payloads import BroadcastPayload
from bot.outbox.queue import WAITING, enqueue_many
from bot.services import segments
from journeys.clock import Clock

BATCH = 500  # recipients read and queued per statement
TIME_BOX = 2.0  # real seconds one tick may spend queueing
ACTIVE = (BroadcastStatus.QUEUEING, BroadcastStatus.SENDING)
CANCELLED_REASON = "broadcast cancelled"


class Delivery:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, *, paid: bool) -> None:
        self.uow, self.clock, self.paid = uow_factory, clock, paid
        self.batch, self.time_box = BATCH, TIME_BOX
        self._queueing = asyncio.Lock()
        self.on_queued: list[Callable[[], object]] = []  # after rows were queued (wake the sender)

    # ----- starting and stopping -------------------------------------------------------------------

    async def confirm(self, uow: UnitOfWork, draft: Broadcast, actor: int, *, at: datetime | None = None) -> int:
        """Send now (at=None) or at a time. Returns the recipient count right now."""
        now = self.clock.now()
        total = await segments.count(uow.session, segment_of(draft), now)
        draft.total = total
        set_content(draft, content_of(draft).at_step(None))
        uow.audit.record(
            AuditAction.BROADCAST_CREATED,
            now,
            actor_id=actor,
            target=f"broadcast:{draft.id}",
            segment=draft.segment,
            recipients=total,
            scheduled_at=at.isoformat() if at else None,
        )
        if at is None:
            self._start(uow, draft, now)
        else:
            draft.status, draft.scheduled_at = BroadcastStatus.SCHEDULED, at
        return total

    def _start(self, uow: UnitOfWork, broadcast: Broadcast, now: datetime) -> None:
        broadcast.status, broadcast.started_at = BroadcastStatus.QUEUEING, now
        uow.audit.record(
            AuditAction.BROADCAST_SENT, now, actor_id=broadcast.created_by, target=f"broadcast:{broadcast.id}"
        )

    async def cancel(self, uow: UnitOfWork, broadcast_id: int, actor: int) -> Broadcast | None:
        """What went out stays out; everything still waiting is cancelled. None when it had already ended."""
        broadcast = await _get(uow, broadcast_id)
        if broadcast is None or broadcast.status not in (BroadcastStatus.SCHEDULED, *ACTIVE):
            return None
        now = self.clock.now()
        broadcast.status, broadcast.cancelled_by, broadcast.finished_at = BroadcastStatus.CANCELLED, actor, now
        result = await uow.session.execute(
            update(OutboxMessage)
            .where(
                locked_in_id_order(
                    uow.session, OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.status.in_(WAITING)
                )
            )
            .values(status=OutboxStatus.CANCELLED, last_error=CANCELLED_REASON)
        )
        uow.audit.record(
            AuditAction.BROADCAST_CANCELLED,
            now,
            actor_id=actor,
            target=f"broadcast:{broadcast_id}",
            not_sent=int(result.rowcount),  # type: ignore[attr-defined]
        )
        return broadcast

    # ----- queueing (a Ticker job) -----------------------------------------------------------------

    async def tick(self, uow: UnitOfWork, now: datetime) -> None:
        """Starts scheduled broadcasts that are due, queues a time-boxed share of recipients, closes finished ones."""
        due = await uow.session.scalars(
            select(Broadcast)
            .where(Broadcast.status == BroadcastStatus.SCHEDULED, Broadcast.scheduled_at <= now)
            .with_for_update()
        )
        for broadcast in due:
            self._start(uow, broadcast, now)
        ids = list(await uow.session.scalars(select(Broadcast.id).where(Broadcast.status.in_(ACTIVE))))
        # queue() waits for Send now's queueing: waiting inside a transaction would hold SQLite's write lock,
        # which Send now needs to go on (a deadlock until the busy timeout)
        await uow.commit()
        deadline = time.monotonic() + self.time_box
        for broadcast_id in ids:
            await self.queue(uow, broadcast_id, deadline=deadline)
            await self.close_if_done(uow, broadcast_id)

    async def queue(
        self, uow: UnitOfWork, broadcast_id: int, *, deadline: float, max_batches: int | None = None
    ) -> int:
        """Queues recipients in batches until the segment ends or time is up; each batch commits with the cursor.

        `uow` must have no transaction open: this waits for any other queueing of this process first."""
        queued = batches = 0
        if uow.session.in_transaction():
            raise RuntimeError("queue() waits for a lock: commit before calling it, or it holds the database")
        async with self._queueing:
            while time.monotonic() < deadline and (max_batches is None or batches < max_batches):
                broadcast = await _get(uow, broadcast_id)
                if broadcast is None or broadcast.status is not BroadcastStatus.QUEUEING:
                    break
                assert broadcast.started_at is not None
                recipients = await segments.batch_after(
                    uow.session, segment_of(broadcast), broadcast.started_at, broadcast.cursor, self.batch
                )
                now = self.clock.now()
                inserted = await enqueue_many(
                    uow.session,
                    [(f"broadcast:{broadcast_id}:{student}", chat, student) for student, chat in recipients],
                    payload=BroadcastPayload(messages=outs(broadcast, paid=self.paid)),
                    due_at=now,
                    now=now,
                    priority=Priority.BULK,
                    broadcast_id=broadcast_id,
                )
                broadcast.queued += inserted
                if recipients:
                    broadcast.cursor = recipients[-1][0]
                if len(recipients) < self.batch:
                    broadcast.status, broadcast.total = BroadcastStatus.SENDING, broadcast.queued
                await uow.commit()
                queued += inserted
                batches += 1
                if inserted:
                    for callback in self.on_queued:
                        callback()
                if broadcast.status is not BroadcastStatus.QUEUEING:
                    break
        return queued

    async def queue_now(self, broadcast_id: int) -> None:
        """Send now does not wait for the next tick: the first share is queued at once."""
        async with self.uow() as uow:
            await self.queue(uow, broadcast_id, deadline=time.monotonic() + self.time_box)

    async def close_if_done(self, uow: UnitOfWork, broadcast_id: int) -> bool:
        """A broadcast all of whose rows were queued and none waits any more is done."""
        broadcast = await _get(uow, broadcast_id)
        if broadcast is None or broadcast.status is not BroadcastStatus.SENDING:
            return False
        waiting = await uow.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.broadcast_id == broadcast_id,
                OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
            )
        )
        if waiting:
            await uow.commit()
            return False
        broadcast.status, broadcast.finished_at = BroadcastStatus.DONE, self.clock.now()
        await uow.commit()
        return True


async def _get(uow: UnitOfWork, broadcast_id: int) -> Broadcast | None:
    return await uow.session.get(Broadcast, broadcast_id, with_for_update=True, populate_existing=True)
