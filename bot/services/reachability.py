"""Whether a student can be written to: every path that learns it (a send, a reply, my_chat_member) records it here."""

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Student
from bot.outbox.queue import cancel_pending
from bot.telegram_failure import TelegramFailure


async def mark_unreachable(
    session: AsyncSession, student_id: int, now: datetime, failure: TelegramFailure, reason: str
) -> int:
    """Marks the student blocked (once) and cancels what waits for them; returns how many rows were cancelled."""
    await session.execute(
        update(Student).where(Student.id == student_id, Student.blocked_at.is_(None)).values(blocked_at=now)
    )
    return await cancel_pending(session, student_id=student_id, reason=reason[:500], failure=failure)


async def mark_reachable(session: AsyncSession, student_id: int) -> None:
    """They wrote to us or unblocked the bot: segments and reminders count them again."""
    await session.execute(
        update(Student).where(Student.id == student_id, Student.blocked_at.is_not(None)).values(blocked_at=None)
    )
