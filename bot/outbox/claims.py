"""Claiming due outbox rows: one UPDATE ... RETURNING, so that several senders never take the same row."""

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
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

    Due pending rows come first by priority, then due time, then id. Rows stuck in `sending` longer than
    the lease belong to an instance that died: they are taken over (at worst one of them is sent twice).
    On PostgreSQL the inner SELECT locks with SKIP LOCKED, so concurrent claimers split the rows;
    SQLite runs one instance only and its transactions already hold the write lock (BEGIN IMMEDIATE).
    `skip_chats` leaves out chats the caller already holds enough rows for.
    """
    o = OutboxMessage
    due = or_(
        and_(o.status == OutboxStatus.PENDING, o.due_at <= now),
        and_(o.status == OutboxStatus.SENDING, o.claimed_at < now - lease),
    )
    ids = select(o.id).where(due).order_by(o.priority, o.due_at, o.id).limit(limit)
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
    rows = list((await session.scalars(statement)).all())
    rows.sort(key=lambda row: (row.priority, row.due_at, row.id))
    return rows
