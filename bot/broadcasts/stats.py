"""What became of a broadcast's messages, counted from its outbox rows; and the recent broadcasts with theirs."""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Broadcast, BroadcastStatus, OutboxMessage, OutboxStatus
from bot.telegram_failure import TelegramFailure


@dataclass
class Stats:
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    cancelled: int = 0
    waiting: int = 0  # pending or being sent
    reasons: list[tuple[str, int]] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.blocked


def blocked_error() -> Any:
    return OutboxMessage.failure.in_([kind for kind in TelegramFailure if kind.unreachable])


async def stats(session: AsyncSession, broadcast_id: int) -> Stats:
    blocked = case((blocked_error(), True), else_=False)
    rows = await session.execute(
        select(OutboxMessage.status, blocked, func.count())
        .where(OutboxMessage.broadcast_id == broadcast_id)
        .group_by(OutboxMessage.status, blocked)
    )
    counted = Stats()
    for status, is_blocked, n in rows.all():
        if status == OutboxStatus.SENT:
            counted.sent += n
        elif is_blocked and status in (OutboxStatus.FAILED, OutboxStatus.CANCELLED):
            counted.blocked += n
        elif status == OutboxStatus.FAILED:
            counted.failed += n
        elif status == OutboxStatus.CANCELLED:
            counted.cancelled += n
        else:
            counted.waiting += n
    if counted.failed:
        reasons = await session.execute(
            select(OutboxMessage.last_error, func.count())
            .where(
                OutboxMessage.broadcast_id == broadcast_id,
                OutboxMessage.status == OutboxStatus.FAILED,
                or_(OutboxMessage.failure.is_(None), ~blocked_error()),
            )
            .group_by(OutboxMessage.last_error)
            .order_by(func.count().desc())
            .limit(5)
        )
        counted.reasons = [(reason or "?", n) for reason, n in reasons.all()]
    return counted


async def history(session: AsyncSession, limit: int = 10) -> list[tuple[Broadcast, Stats]]:
    """The latest broadcasts past their draft, newest first."""
    rows = await session.scalars(
        select(Broadcast).where(Broadcast.status != BroadcastStatus.DRAFT).order_by(Broadcast.id.desc()).limit(limit)
    )
    return [(b, await stats(session, b.id)) for b in list(rows)]
