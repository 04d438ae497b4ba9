"""What offers and check-ins know of a batch of enrollments, loaded in a constant number of queries: the offers
shown (dismissed, reminded), the check-ins asked, the steps done, what each student bought (the ledger's
unrefunded purchases) and their capped sends of the week."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select

from bot.db.models import CheckinAsked, Enrollment, OfferShown, Purchase, Student
from bot.db.uow import UnitOfWork
from bot.revenue.products import CLUB
from bot.services.engagement import capped_sends
from journeys.catalog import Catalog
from journeys.checkins import CheckinState
from journeys.nudges import Delivery
from journeys.offers import OfferState, Product, product_of
from journeys.spec import GrantKind
from journeys.timing import QuietHours


@dataclass
class Loaded:
    shown: dict[int, dict[str, OfferShown]]  # enrollment → offer id → its row
    asked: dict[int, dict[str, CheckinAsked]]  # enrollment → check-in id → its row
    completed: dict[int, set[str]]  # enrollment → step ids
    bought: dict[int, frozenset[Product]]  # student → what they hold
    capped: dict[int, list[datetime]]  # student → due times of capped messages this week (grows as we queue)


class OfferStates:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.quiet = {journey.id: QuietHours.parse(journey.spec.schedule.quiet_hours) for journey in catalog}

    async def load(self, uow: UnitOfWork, batch: Sequence[tuple[Enrollment, Student]], now: datetime) -> Loaded:
        enrollment_ids = [enrollment.id for enrollment, _ in batch]
        student_ids = list({student.id for _, student in batch})
        shown: dict[int, dict[str, OfferShown]] = {}
        for row in await uow.session.scalars(select(OfferShown).where(OfferShown.enrollment_id.in_(enrollment_ids))):
            shown.setdefault(row.enrollment_id, {})[row.offer_id] = row
        asked: dict[int, dict[str, CheckinAsked]] = {}
        for ask in await uow.session.scalars(
            select(CheckinAsked).where(CheckinAsked.enrollment_id.in_(enrollment_ids))
        ):
            asked.setdefault(ask.enrollment_id, {})[ask.checkin_id] = ask
        return Loaded(
            shown=shown,
            asked=asked,
            completed=await uow.enrollments.completed_steps_of(enrollment_ids),
            bought=await self._bought(uow, student_ids, now),
            capped=await capped_sends(uow.session, student_ids, now),
        )

    async def _bought(
        self, uow: UnitOfWork, student_ids: Sequence[int], now: datetime
    ) -> dict[int, frozenset[Product]]:
        """What each student holds: purchases not refunded whose period (a club month, if any) still runs."""
        rows = await uow.session.execute(
            select(Purchase.student_id, Purchase.offer_id, Purchase.product_id).where(
                Purchase.student_id.in_(student_ids),
                Purchase.refunded_at.is_(None),
                or_(Purchase.period_end.is_(None), Purchase.period_end > now),
            )
        )
        held: dict[int, set[Product]] = {}
        for student_id, offer_id, product_id in rows.all():
            product = self.product(offer_id or product_id)
            if student_id is not None and product is not None:
                held.setdefault(student_id, set()).add(product)
        return {student_id: frozenset(products) for student_id, products in held.items()}

    def product(self, product_id: str) -> Product | None:
        """What a purchase of this product (or offer) id holds."""
        # the ledger's products are the club and the catalog's offers by offer id
        if product_id == CLUB.id:
            return Product(GrantKind.CLUB)
        found = self.catalog.offer(product_id)
        return product_of(found[1]) if found else None

    def delivery(self, enrollment: Enrollment, student: Student) -> Delivery:
        return Delivery(ZoneInfo(student.timezone), self.quiet[enrollment.journey_id])

    async def for_checkout(
        self, uow: UnitOfWork, enrollment: Enrollment, student: Student, now: datetime
    ) -> OfferState:
        """Only what the pre-checkout verdict reads (journeys/checkout.py: the offers shown, what the student
        holds, the track): two queries instead of a batch's five, since Telegram waits on the answer."""
        rows = await uow.session.execute(
            select(OfferShown.offer_id, OfferShown.shown_at).where(OfferShown.enrollment_id == enrollment.id)
        )
        return OfferState(
            enrollment_id=enrollment.id,
            status=enrollment.status,
            track=enrollment.track,
            delivery=self.delivery(enrollment, student),
            completed_at=enrollment.completed_at,
            shown=dict(rows.all()),
            bought=(await self._bought(uow, [student.id], now)).get(student.id, frozenset()),
            blocked=student.blocked_at is not None,
        )

    def offer_state(self, enrollment: Enrollment, student: Student, loaded: Loaded) -> OfferState:
        rows = loaded.shown.get(enrollment.id, {})
        return OfferState(
            enrollment_id=enrollment.id,
            status=enrollment.status,
            track=enrollment.track,
            delivery=self.delivery(enrollment, student),
            completed=frozenset(loaded.completed.get(enrollment.id, set())),
            completed_at=enrollment.completed_at,
            answers=dict(enrollment.answers),
            shown={offer_id: row.shown_at for offer_id, row in rows.items()},
            dismissed=frozenset(offer_id for offer_id, row in rows.items() if row.dismissed_at is not None),
            reminded=frozenset(offer_id for offer_id, row in rows.items() if row.reminded_at is not None),
            bought=loaded.bought.get(student.id, frozenset()),
            capped_sends=tuple(loaded.capped.get(student.id, ())),
            blocked=student.blocked_at is not None,
        )

    def checkin_state(self, enrollment: Enrollment, student: Student, loaded: Loaded) -> CheckinState:
        return CheckinState(
            status=enrollment.status,
            completed_at=enrollment.completed_at,
            delivery=self.delivery(enrollment, student),
            asked=frozenset(loaded.asked.get(enrollment.id, {})),
            blocked=student.blocked_at is not None,
        )
