"""The staff's view of the club: members now, joins and leaves this month, monthly recurring revenue, churn."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select

from bot.db.models import ClubMembership, Event, Purchase
from bot.db.uow import UnitOfWork
from journeys.club import MONTH, ClubStatus
from journeys.events import EventType


@dataclass(frozen=True)
class ClubStats:
    members: int  # active now, those in their grace included
    in_grace: int
    joined: int  # join requests approved this month
    left: int  # removed from the group this month
    mrr: dict[str, int]  # a month's worth of the current periods, per currency, in minor units (Stars whole)
    churn: float | None  # left this month / members at its start; None when there were none


def month_start(now: datetime, tz: ZoneInfo) -> datetime:
    local = now.astimezone(tz)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def club_stats(uow: UnitOfWork, now: datetime, tz: ZoneInfo) -> ClubStats:
    since = month_start(now, tz)
    active = ClubMembership.status == ClubStatus.ACTIVE
    members = int(await uow.session.scalar(select(func.count()).where(active)) or 0)
    in_grace = int(
        await uow.session.scalar(select(func.count()).where(active, ClubMembership.access_until <= now)) or 0
    )

    async def events(type_: EventType) -> int:
        query = select(func.count()).where(Event.type == type_, Event.occurred_at >= since)
        return int(await uow.session.scalar(query) or 0)

    at_start = int(
        await uow.session.scalar(
            select(func.count()).where(
                ClubMembership.granted_at < since,
                or_(active, ClubMembership.removed_at >= since),
            )
        )
        or 0
    )
    mrr: dict[str, int] = defaultdict(int)
    paying = await uow.session.execute(
        select(Purchase.amount, Purchase.currency, Purchase.paid_at, Purchase.period_start, Purchase.period_end)
        .join(ClubMembership, ClubMembership.purchase_id == Purchase.id)
        .where(active, Purchase.refunded_at.is_(None))
    )
    for amount, currency, paid_at, start, end in paying.all():
        # a period other than a month counts pro rata (a year paid at once is a twelfth a month)
        length = (end - (start or paid_at)) if end is not None else MONTH
        mrr[currency] += round(amount * (MONTH / length)) if length.total_seconds() > 0 else amount
    left = await events(EventType.CLUB_REMOVED)
    return ClubStats(
        members=members,
        in_grace=in_grace,
        joined=await events(EventType.CLUB_JOINED),
        left=left,
        mrr=dict(sorted(mrr.items())),
        churn=left / at_start if at_start else None,
    )
