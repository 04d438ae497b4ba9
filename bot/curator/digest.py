"""The daily curator digest: decided once a local day at DIGEST_TIME, queued only when there is news."""

import statistics
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.curator import cards
from bot.db.models import (
    Alert,
    AlertStatus,
    CuratorDigest,
    DigestDecision,
    OutboxMessage,
    OutboxStatus,
    Priority,
    Student,
)
from bot.db.uow import UnitOfWork
from bot.db.upsert import insert_ignore
from bot.i18n import Translator
from bot.outbox.kinds import OutboxKind
from bot.outbox.messages import Out
from bot.outbox.payloads import DigestPayload
from bot.outbox.queue import WAITING, enqueue
from bot.settings import Settings

OVERDUE = timedelta(hours=24)
DIGEST_WINDOW = timedelta(hours=1)  # a digest not decided (or not sent) this long after DIGEST_TIME is skipped


class Digest:
    def __init__(self, settings: Settings, t: Translator) -> None:
        self.chat_id, self.tz, self.t = settings.curator_chat_id, settings.tz, t
        self.digest_at = settings.digest_at
        # wide enough for two ticks, whatever the clock speed: a fast clock must not tick past the window
        ticks = timedelta(seconds=2 * settings.scheduler_tick_seconds * settings.clock_speed)
        self.digest_window = max(DIGEST_WINDOW, ticks)

    async def queue(self, uow: UnitOfWork, now: datetime) -> None:
        """At most one digest a local day: decided once, at the first tick in DIGEST_TIME's window."""
        if self.chat_id is None:
            return
        session = uow.session
        local = now.astimezone(self.tz)
        opens = datetime.combine(local.date(), self.digest_at, self.tz)
        # a digest the sender could not send within its window is not sent late
        await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.kind == OutboxKind.DIGEST,
                OutboxMessage.status.in_(WAITING),
                OutboxMessage.due_at < now - self.digest_window,
            )
            .values(status=OutboxStatus.CANCELLED, last_error="past its time window")
        )
        if local < opens:
            return
        decided = select(CuratorDigest.id).where(
            CuratorDigest.chat_id == self.chat_id, CuratorDigest.day == opens.date()
        )
        if await session.scalar(decided) is not None:
            return
        stats = None
        if now - opens >= self.digest_window:
            decision = DigestDecision.MISSED
        else:
            stats = await self._stats(session, now)
            decision = DigestDecision.QUEUED if stats.unresolved or stats.resolved_yesterday else DigestDecision.QUIET
        values = {"chat_id": self.chat_id, "day": opens.date(), "decision": decision.value, "decided_at": now}
        # of two instances ticking at once, one decides
        if not await insert_ignore(session, CuratorDigest.__table__, values, key=["chat_id", "day"]):  # type: ignore[arg-type]
            return
        if stats is None or decision is not DigestDecision.QUEUED:
            return
        await enqueue(
            session,
            key=f"digest:{opens.date().isoformat()}",
            payload=DigestPayload(messages=[Out.text(cards.digest_text(stats, self.t))]),
            chat_id=self.chat_id,
            due_at=now,
            now=now,
            priority=Priority.NORMAL,
        )

    async def _stats(self, session: AsyncSession, now: datetime) -> cards.DigestStats:
        local = now.astimezone(self.tz)
        today = local.replace(hour=0, minute=0, second=0, microsecond=0)
        yesterday = today - timedelta(days=1)

        async def count(*where: Any) -> int:
            return int(await session.scalar(select(func.count()).select_from(Alert).where(*where)) or 0)

        overdue = await session.scalars(
            select(Student)
            .join(Alert, Alert.student_id == Student.id)
            .where(Alert.status == AlertStatus.OPEN, Alert.opened_at < now - OVERDUE)
            .order_by(Alert.opened_at)
        )
        taken = await session.execute(
            select(Alert.opened_at, Alert.taken_at).where(Alert.taken_at >= now - timedelta(days=7))
        )
        hours = [(taken_at - opened).total_seconds() / 3600 for opened, taken_at in taken if taken_at]
        return cards.DigestStats(
            day=cards.day_label(now, self.t, self.tz),
            unresolved=await count(Alert.status != AlertStatus.RESOLVED),
            untaken=await count(Alert.status == AlertStatus.OPEN),
            overdue=[s.display_name for s in overdue],
            resolved_yesterday=await count(Alert.resolved_at >= yesterday, Alert.resolved_at < today),
            median_take_hours=statistics.median(hours) if hours else None,
        )
