"""Broadcasts, as the wizard and the app see them: the drafts, and the delivery and progress that follow.

The draft (bot/broadcasts/drafts.py) is built step by step in the wizard; confirming it hands it to the
delivery (bot/broadcasts/delivery.py), which queues one outbox row per recipient; the progress message
(bot/broadcasts/progress.py) follows it to the report.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import Bot
from sqlalchemy import delete, select

from bot.broadcasts.content import DraftContent, Step
from bot.broadcasts.delivery import Delivery
from bot.broadcasts.progress import Progress
from bot.db.models import Broadcast, BroadcastStatus, Enrollment
from bot.db.uow import UnitOfWork, UnitOfWorkFactory
from bot.i18n import Translations
from bot.services import segments
from bot.services.segments import Segment
from journeys.clock import Clock
from journeys.journey import Journey


class BroadcastService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        bot: Bot,
        clock: Clock,
        translations: Translations,
        tz: ZoneInfo,
        journey: Journey,
        *,
        rate: float,
        paid: bool,
        progress_seconds: float = 3.0,
    ) -> None:
        self.clock, self.tz, self.journey, self.rate = clock, tz, journey, rate
        self.delivery = Delivery(uow_factory, clock, paid=paid)
        self.progress = Progress(uow_factory, bot, translations, self.delivery, rate=rate, every=progress_seconds)

    async def draft_of(self, uow: UnitOfWork, user_id: int) -> Broadcast | None:
        draft_id = await uow.session.scalar(
            select(Broadcast.id)
            .where(Broadcast.status == BroadcastStatus.DRAFT, Broadcast.created_by == user_id)
            .order_by(Broadcast.id.desc())
            .limit(1)
        )
        # locked: the parts of an album arrive as separate updates, possibly handled side by side
        return await self.get(uow, draft_id, lock=True) if draft_id is not None else None

    async def get(self, uow: UnitOfWork, broadcast_id: int, *, lock: bool = False) -> Broadcast | None:
        return await uow.session.get(Broadcast, broadcast_id, with_for_update=lock or None, populate_existing=lock)

    async def new_draft(self, uow: UnitOfWork, user_id: int, chat_id: int, language: str) -> Broadcast:
        """One draft per person: starting again drops the previous one."""
        await uow.session.execute(
            delete(Broadcast).where(Broadcast.status == BroadcastStatus.DRAFT, Broadcast.created_by == user_id)
        )
        draft = Broadcast(
            created_by=user_id,
            status=BroadcastStatus.DRAFT,
            segment={},
            content=DraftContent(step=Step.SEGMENT, chat_id=chat_id, lang=language).stored(),
            created_at=self.clock.now(),
            progress_chat_id=chat_id,
        )
        uow.session.add(draft)
        await uow.session.flush()
        return draft

    async def count(self, uow: UnitOfWork, segment: Segment) -> int:
        return await segments.count(uow.session, segment, self.clock.now())

    async def cohorts(self, uow: UnitOfWork, limit: int = 6) -> list[datetime]:
        rows = await uow.session.scalars(
            select(Enrollment.cohort_start)
            .where(Enrollment.cohort_start.is_not(None))
            .group_by(Enrollment.cohort_start)
            .order_by(Enrollment.cohort_start.desc())
            .limit(limit)
        )
        return [moment for moment in rows if moment is not None]

    def seconds_for(self, total: int) -> float:
        return total / self.rate
