"""The student's answers to an offer: Not now, Talk to a curator (a sales lead), the fit check's free
consultation, and Learn more's click. Button data is forgeable: a press on another student's enrollment, on an
offer they were never shown, or on one they dismissed changes nothing and gets a polite answer."""

from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy import select, update

from bot.db.models import Enrollment, OfferShown, OutboxMessage, OutboxStatus, Student
from bot.db.uow import UnitOfWork, UnitOfWorkFactory
from bot.offer_links import Click
from bot.outbox.queue import WAITING
from journeys.catalog import Catalog
from journeys.clock import Clock
from journeys.events import EventType
from journeys.journey import EnrollmentStatus
from journeys.offers import find_offer


class PressOutcome(StrEnum):
    DISMISSED = "dismissed"
    LEAD_TO_CURATORS = "lead_to_curators"  # a curator will write here
    LEAD_RECORDED = "lead_recorded"  # no curator chat: the school will contact the student
    LEAD_ALREADY = "lead_already"
    NOT_YOURS = "not_yours"
    STALE = "stale"


class LeadDesk(Protocol):
    async def raise_lead(
        self, uow: UnitOfWork, student: Student, enrollment: Enrollment, offer_id: str | None, now: datetime
    ) -> bool: ...


class OfferPresses:
    def __init__(self, uow_factory: UnitOfWorkFactory, catalog: Catalog, clock: Clock, desk: LeadDesk | None) -> None:
        self._uow, self.catalog, self.clock = uow_factory, catalog, clock
        self.desk = desk  # None: no curator chat; leads are still recorded

    async def dismiss(self, telegram_id: int, enrollment_id: int, offer_id: str) -> PressOutcome:
        async with self._uow() as uow:
            now = self.clock.now()
            found = await self._shown(uow, telegram_id, enrollment_id, offer_id)
            if isinstance(found, PressOutcome):
                return found
            _, enrollment, row = found
            row.dismissed_at = now
            await uow.session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.key == f"offer-reminder:{enrollment.id}:{offer_id}",
                    OutboxMessage.status.in_(WAITING),
                )
                .values(status=OutboxStatus.CANCELLED, last_error="the student dismissed the offer")
            )
            uow.events.record(
                EventType.OFFER_DISMISSED,
                now,
                student_id=enrollment.student_id,
                enrollment_id=enrollment.id,
                offer=offer_id,
            )
            await uow.commit()
            return PressOutcome.DISMISSED

    async def lead(self, telegram_id: int, enrollment_id: int, offer_id: str) -> PressOutcome:
        async with self._uow() as uow:
            now = self.clock.now()
            found = await self._shown(uow, telegram_id, enrollment_id, offer_id)
            if isinstance(found, PressOutcome):
                return found
            student, enrollment, row = found
            offer = find_offer(self.catalog[enrollment.journey_id], offer_id)
            if offer is None or not offer.lead:
                return PressOutcome.STALE
            if row.lead_at is not None:
                return PressOutcome.LEAD_ALREADY
            row.lead_at = now
            outcome = await self._raise(uow, student, enrollment, offer_id, now)
            await uow.commit()
            return outcome

    async def consult(self, telegram_id: int, enrollment_id: int) -> PressOutcome:
        """The fit check's free consultation: a lead without an offer."""
        async with self._uow() as uow:
            now = self.clock.now()
            owned = await self._owned(uow, telegram_id, enrollment_id)
            if isinstance(owned, PressOutcome):
                return owned
            student, enrollment = owned
            if enrollment.status is not EnrollmentStatus.NOT_A_FIT:
                return PressOutcome.STALE
            if await uow.events.count(EventType.OFFER_LEAD, enrollment_id=enrollment.id):
                return PressOutcome.LEAD_ALREADY
            outcome = await self._raise(uow, student, enrollment, None, now)
            await uow.commit()
            return outcome

    async def click(self, click: Click) -> str | None:
        """Learn more, through the signed redirect: the link to send the browser to (None: no such offer link).
        The first click of an enrollment's offer is recorded; the rest only redirect."""
        async with self._uow() as uow:
            enrollment = await uow.enrollments.get(click.enrollment_id)
            journey = self.catalog.get(enrollment.journey_id) if enrollment else None
            offer = find_offer(journey, click.offer_id) if journey else None
            if enrollment is None or offer is None or offer.link is None:
                return None
            row = await uow.session.scalar(
                select(OfferShown)
                .where(OfferShown.enrollment_id == enrollment.id, OfferShown.offer_id == offer.id)
                .with_for_update()
            )
            if row is not None and row.clicked_at is None:
                now = self.clock.now()
                row.clicked_at = now
                uow.events.record(
                    EventType.OFFER_CLICKED,
                    now,
                    student_id=enrollment.student_id,
                    enrollment_id=enrollment.id,
                    offer=offer.id,
                )
                await uow.commit()
            return offer.link.url

    async def _raise(
        self, uow: UnitOfWork, student: Student, enrollment: Enrollment, offer_id: str | None, now: datetime
    ) -> PressOutcome:
        uow.events.record(EventType.OFFER_LEAD, now, student_id=student.id, enrollment_id=enrollment.id, offer=offer_id)
        if self.desk is None:
            return PressOutcome.LEAD_RECORDED
        await self.desk.raise_lead(uow, student, enrollment, offer_id, now)  # False: one is open already
        return PressOutcome.LEAD_TO_CURATORS

    async def _owned(
        self, uow: UnitOfWork, telegram_id: int, enrollment_id: int
    ) -> tuple[Student, Enrollment] | PressOutcome:
        student = await uow.students.by_telegram_id(telegram_id)
        enrollment = await uow.enrollments.get(enrollment_id, for_update=True)
        if student is None or enrollment is None or enrollment.student_id != student.id:
            return PressOutcome.NOT_YOURS
        if enrollment.journey_id not in self.catalog:
            return PressOutcome.STALE
        return student, enrollment

    async def _shown(
        self, uow: UnitOfWork, telegram_id: int, enrollment_id: int, offer_id: str
    ) -> tuple[Student, Enrollment, OfferShown] | PressOutcome:
        """The press's offer as the student was shown it and has not dismissed."""
        owned = await self._owned(uow, telegram_id, enrollment_id)
        if isinstance(owned, PressOutcome):
            return owned
        student, enrollment = owned
        row = await uow.session.scalar(
            select(OfferShown)
            .where(OfferShown.enrollment_id == enrollment.id, OfferShown.offer_id == offer_id)
            .with_for_update()
        )
        if row is None or row.dismissed_at is not None or row.shown_at > self.clock.now():
            return PressOutcome.STALE  # never shown (or not yet), or dismissed
        return student, enrollment, row
