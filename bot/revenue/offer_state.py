"""An enrollment as the pre-checkout rule sees it (journeys/offers.py `OfferState`), loaded in a few queries.

What the student holds comes from the ledger: every purchase not refunded whose period (if any) still runs, as
the product of the offer it names (the club for "club"). What was shown comes from the OFFER_SHOWN events.
"""

from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.db.models import Enrollment, Student
from bot.db.uow import UnitOfWork
from journeys.catalog import Catalog
from journeys.nudges import Delivery
from journeys.offers import OfferState, Product, product_of
from journeys.spec import GrantKind

CLUB_PRODUCT = "club"


class OfferStates(Protocol):
    async def load(self, uow: UnitOfWork, enrollment: Enrollment, student: Student, now: datetime) -> OfferState: ...


class StoredOfferStates:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    async def load(self, uow: UnitOfWork, enrollment: Enrollment, student: Student, now: datetime) -> OfferState:
        return OfferState(
            enrollment_id=enrollment.id,
            status=enrollment.status,
            track=enrollment.track,
            delivery=Delivery(ZoneInfo(student.timezone), None),
            completed=frozenset(await uow.enrollments.completed_steps(enrollment.id)),
            completed_at=enrollment.completed_at,
            answers=dict(enrollment.answers),
            shown=await uow.events.shown_offers(enrollment.id),
            bought=await self.bought(uow, student.id, now),
            blocked=student.blocked_at is not None,
        )

    async def bought(self, uow: UnitOfWork, student_id: int, now: datetime) -> frozenset[Product]:
        held: set[Product] = set()
        for purchase in await uow.purchases.of_student(student_id):
            if purchase.refunded_at is not None or (purchase.period_end is not None and purchase.period_end <= now):
                continue
            if purchase.product_id == CLUB_PRODUCT:
                held.add(Product(GrantKind.CLUB))
            elif (found := self.catalog.offer(purchase.offer_id or purchase.product_id)) is not None:
                product = product_of(found[1])
                if product is not None:
                    held.add(product)
        return frozenset(held)
