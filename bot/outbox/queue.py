"""Putting proactive messages into the outbox. The key makes every intent queue at most once."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import OutboxMessage, OutboxStatus, Priority
from bot.db.upsert import insert_ignore_many
from bot.outbox.claims import locked_in_id_order
from bot.outbox.payloads import Payload, stored_form
from bot.telegram_failure import TelegramFailure

# Not sent yet. A sender holding a row re-checks its status right before sending, so cancelling a
# `sending` row is safe: at worst the one message already on its way still goes out.
WAITING = (OutboxStatus.PENDING, OutboxStatus.SENDING)


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    payload: Payload,
    chat_id: int,
    due_at: datetime,
    now: datetime,
    student_id: int | None = None,
    priority: int = Priority.NORMAL,
    broadcast_id: int | None = None,
) -> bool:
    """Queues the payload as one row of its kind; False when a row with this key exists already."""
    queued = await enqueue_many(
        session,
        [(key, chat_id, student_id)],
        payload=payload,
        due_at=due_at,
        now=now,
        priority=priority,
        broadcast_id=broadcast_id,
    )
    return queued == 1


async def enqueue_many(
    session: AsyncSession,
    recipients: Sequence[tuple[str, int, int | None]],
    *,
    payload: Payload,
    due_at: datetime,
    now: datetime,
    priority: int = Priority.NORMAL,
    broadcast_id: int | None = None,
) -> int:
    """The same payload to many chats in one statement: (key, chat id, student id) each; returns how many were new.

    A payload that would not parse back as its kind when sent is refused here (TypeError, ValidationError)."""
    stored = stored_form(payload)
    rows = [
        {
            "key": key[:160],
            "kind": payload.kind.value,
            "chat_id": chat_id,
            "student_id": student_id,
            "priority": int(priority),
            "payload": stored,
            "status": OutboxStatus.PENDING.value,
            "due_at": due_at,
            "created_at": now,
            "attempts": 0,
            "broadcast_id": broadcast_id,
        }
        for key, chat_id, student_id in recipients
    ]
    return await insert_ignore_many(session, OutboxMessage.__table__, rows, key=["key"])  # type: ignore[arg-type]


async def cancel_pending(
    session: AsyncSession, *, student_id: int, reason: str, failure: TelegramFailure | None = None
) -> int:
    """Cancels what is still waiting for a student (they blocked the bot, or left)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(locked_in_id_order(session, OutboxMessage.student_id == student_id, OutboxMessage.status.in_(WAITING)))
        .values(status=OutboxStatus.CANCELLED, last_error=reason, failure=failure)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
