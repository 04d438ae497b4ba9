"""Claiming due outbox rows: UPDATE ... RETURNING, so that several senders never take the same row."""

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import OutboxMessage, OutboxStatus


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    worker: str,
    lease: timedelta,
    skip_chats: Collection[int] = (),
) -> list[OutboxMessage]:
    """Marks up to `limit` rows as being sent by `worker` and returns them; the caller commits.

    Rows stuck in `sending` longer than the lease belong to an instance that died: they are taken over first
    (at worst one of them is sent twice). Then due pending rows, by priority, due time and id.
    Each part is its own statement so that it reads its rows off ix_outbox_claim in that order and stops
    after `limit`: one statement with an OR of both had to sort the whole backlog on every claim.
    On PostgreSQL the inner SELECT locks with SKIP LOCKED, so concurrent claimers split the rows;
    SQLite runs one instance only and its transactions already hold the write lock (BEGIN IMMEDIATE).
    `skip_chats` leaves out chats the caller already holds enough rows for.
    """
    o = OutboxMessage
    expired = (o.status == OutboxStatus.SENDING, o.claimed_at < now - lease)
    due = (o.status == OutboxStatus.PENDING, o.due_at <= now)
    rows: list[OutboxMessage] = []
    for where in (expired, due):
        if len(rows) >= limit:
            break
        rows += await _claim(session, where, limit - len(rows), now, worker, skip_chats)
    rows.sort(key=lambda row: (row.priority, row.due_at, row.id))
    return rows


async def _claim(
    session: AsyncSession,
    where: tuple[Any, ...],
    limit: int,
    now: datetime,
    worker: str,
    skip_chats: Collection[int],
) -> list[OutboxMessage]:
    o = OutboxMessage
    ids = select(o.id).where(*where).order_by(o.priority, o.due_at, o.id).limit(limit)
    if skip_chats:
        ids = ids.where(o.chat_id.not_in(list(skip_chats)))
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    if dialect == "postgresql":
        ids = ids.with_for_update(skip_locked=True)
    statement = (
        update(o)
        .where(o.id.in_(ids.scalar_subquery()))
        .values(status=OutboxStatus.SENDING, claimed_at=now, claimed_by=worker)
        .returning(o)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return list((await session.scalars(statement)).all())


def locked_in_id_order(session: AsyncSession, *where: Any) -> Any:
    """`OutboxMessage.id IN (...)` for an UPDATE of several rows that, on PostgreSQL, first locks them in id order.

    Every writer of several outbox rows at once (claim renewals, the group-committed starts and sent marks,
    cancellations) takes its row locks in one order, so two of them can never wait for each other in a cycle:
    they once did (an UPDATE ... WHERE id IN (...) locks in whatever order its plan reads), PostgreSQL killed one
    as a deadlock, and a row whose state went unrecorded was sent again. SQLite has one writer at a time.
    """
    o = OutboxMessage
    ids = select(o.id).where(*where).order_by(o.id)
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    if dialect == "postgresql":
        ids = ids.with_for_update()
    return o.id.in_(ids.scalar_subquery())
