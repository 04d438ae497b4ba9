"""Whether a student can be written to: every path that learns it (a send, a reply, my_chat_member) records it here."""

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Event, Student
from bot.db.uow import UnitOfWorkFactory
from bot.db.upsert import insert_ignore
from bot.outbox.queue import cancel_pending
from bot.telegram_failure import TelegramFailure
from journeys.clock import Clock
from journeys.events import EventType


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


class Reachability:
    """What the bot learns from Telegram itself, outside the sender: a my_chat_member update, a failed reply."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow_factory
        self.clock = clock

    async def chat_member(self, telegram_id: int, update_id: int, *, blocked: bool) -> bool:
        """The student blocked (or unblocked) the bot. Applied once per update: False for a repeat or a stranger."""
        async with self._uow() as uow:
            student = await uow.students.by_telegram_id(telegram_id)
            if student is None:
                return False
            now = self.clock.now()
            event: dict[str, object] = {
                "type": EventType.BOT_BLOCKED if blocked else EventType.BOT_UNBLOCKED,
                "occurred_at": now,
                "student_id": student.id,
                "data": {},
                "update_id": update_id,
            }
            if not await insert_ignore(uow.session, Event.__table__, event, key=["update_id"]):  # type: ignore[arg-type]
                return False
            if blocked:
                await mark_unreachable(uow.session, student.id, now, TelegramFailure.BLOCKED, "blocked the bot")
            else:
                await mark_reachable(uow.session, student.id)
            await uow.commit()
            return True

    async def reply_failed(self, chat_id: int, failure: TelegramFailure, reason: str) -> bool:
        """A direct reply to this private chat failed as unreachable; True when the chat is a student's."""
        async with self._uow() as uow:
            student = await uow.students.by_telegram_id(chat_id)
            if student is None:
                return False
            await mark_unreachable(uow.session, student.id, self.clock.now(), failure, reason)
            await uow.commit()
            return True
