"""Putting proactive messages into the outbox. The key makes every intent queue at most once."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import OutboxMessage, OutboxStatus, Priority
from bot.db.upsert import insert_ignore
from bot.outbox.messages import Out


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    chat_id: int,
    messages: Sequence[Out],
    due_at: datetime,
    now: datetime,
    student_id: int | None = None,
    priority: int = Priority.NORMAL,
    broadcast_id: int | None = None,
    extra: dict[str, object] | None = None,
) -> bool:
    """Queues the messages as one row; False when a row with this key exists already."""
    payload: dict[str, object] = {"messages": [m.to_json() for m in messages], "sent_parts": 0}
    if extra:
        payload.update(extra)
    return await insert_ignore(
        session,
        OutboxMessage.__table__,  # type: ignore[arg-type]
        {
            "key": key[:160],
            "kind": kind,
            "chat_id": chat_id,
            "student_id": student_id,
            "priority": int(priority),
            "payload": payload,
            "status": OutboxStatus.PENDING.value,
            "due_at": due_at,
            "created_at": now,
            "attempts": 0,
            "broadcast_id": broadcast_id,
        },
        key=["key"],
    )


async def enqueue_many(
    session: AsyncSession,
    recipients: Sequence[tuple[str, int, int | None]],
    *,
    kind: str,
    messages: Sequence[Out],
    due_at: datetime,
    now: datetime,
    priority: int = Priority.NORMAL,
    broadcast_id: int | None = None,
) -> int:
    """`enqueue` for many chats in one statement: (key, chat id, student id) each; returns how many were new."""
    if not recipients:
        return 0
    payload = {"messages": [m.to_json() for m in messages], "sent_parts": 0}
    values = [
        {
            "key": key[:160],
            "kind": kind,
            "chat_id": chat_id,
            "student_id": student_id,
            "priority": int(priority),
            "payload": payload,
            "status": OutboxStatus.PENDING.value,
            "due_at": due_at,
            "created_at": now,
            "attempts": 0,
            "broadcast_id": broadcast_id,
        }
        for key, chat_id, student_id in recipients
    ]
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    module = postgresql if dialect == "postgresql" else sqlite
    table = OutboxMessage.__table__
    result = await session.execute(module.insert(table).values(values).on_conflict_do_nothing(index_elements=["key"]))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def cancel_pending(session: AsyncSession, *, student_id: int, reason: str) -> int:
    """Cancels what is still waiting for a student (they blocked the bot, or left)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.student_id == student_id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.CANCELLED, last_error=reason)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
