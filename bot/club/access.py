"""Club access from the ledger: a purchase of the club grants or extends it, its refund revokes it.

Both run inside the ledger's unit of work (once per purchase); nothing here talks to Telegram: the invite link,
the removal and every message are the lifecycle's, due at once through the row's next_check_at.
"""

from datetime import datetime

from sqlalchemy import select

from bot.club.lifecycle import ClubLifecycle
from bot.db.models import ClubMembership, Purchase, Student
from bot.db.uow import UnitOfWork
from bot.revenue.products import CLUB
from journeys.catalog import Catalog
from journeys.club import ClubSource, ClubStatus, period_end
from journeys.purchases import PaymentSource


def grants_club(catalog: Catalog, purchase: Purchase) -> bool:
    """The product "club", or an offer whose grant is the club."""
    if purchase.product_id == CLUB.id:
        return True
    found = catalog.offer(purchase.offer_id or purchase.product_id)
    return found is not None and found[1].grants is not None and found[1].grants.club is True


def source_of(purchase: Purchase) -> ClubSource:
    if purchase.source is PaymentSource.STARS:
        # a Stars payment with a period is a subscription's (subscription_expiration_date)
        return ClubSource.STARS_SUBSCRIPTION if purchase.period_end is not None else ClubSource.STARS
    return ClubSource.SCHOOL


async def membership_of(uow: UnitOfWork, student_id: int, *, for_update: bool = False) -> ClubMembership | None:
    query = select(ClubMembership).where(ClubMembership.student_id == student_id)
    return await uow.session.scalar(query.with_for_update() if for_update else query)


class ClubAccess:
    """The ledger's purchase and refund listener for the club."""

    def __init__(self, catalog: Catalog, lifecycle: ClubLifecycle) -> None:
        self.catalog, self.lifecycle = catalog, lifecycle

    async def on_purchase(self, uow: UnitOfWork, purchase: Purchase, student: Student, now: datetime) -> None:
        if not grants_club(self.catalog, purchase):
            return
        until = period_end(purchase.paid_at, purchase.period_end)
        source = source_of(purchase)
        membership = await membership_of(uow, student.id, for_update=True)
        if membership is None:
            membership = ClubMembership(student_id=student.id, granted_at=now, auto_renew=False)
            uow.session.add(membership)
        elif membership.status is not ClubStatus.ACTIVE:
            # a new spell: a new personal link, a new reminder, a win-back again some day
            membership.granted_at, membership.invite_link, membership.invited_at = now, None, None
            membership.removed_at = membership.winback_sent_at = membership.reminded_for = None
        elif membership.access_until > until:
            until = membership.access_until  # an earlier period bought late never shortens access
        membership.status, membership.access_until, membership.source = ClubStatus.ACTIVE, until, source
        membership.purchase_id = purchase.id
        membership.auto_renew = source is ClubSource.STARS_SUBSCRIPTION
        membership.charge_id = purchase.payment_id if membership.auto_renew else None
        await uow.session.flush()
        self.lifecycle.reschedule(membership, now)

    async def on_refund(self, uow: UnitOfWork, purchase: Purchase, student: Student, now: datetime) -> None:
        if not grants_club(self.catalog, purchase):
            return
        membership = await membership_of(uow, student.id, for_update=True)
        # only the purchase paying for the current period ends access; an old period's refund changes nothing now
        if membership is None or membership.status is not ClubStatus.ACTIVE or membership.purchase_id != purchase.id:
            return
        membership.status, membership.access_until, membership.auto_renew = ClubStatus.REVOKED, now, False
        self.lifecycle.reschedule(membership, now)
