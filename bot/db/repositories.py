"""Data access. Repositories add, query and flush; only the unit of work commits."""

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    AuditAction,
    AuditEntry,
    Checkout,
    Enrollment,
    Event,
    ExternalIdentity,
    Grant,
    LmsEvent,
    Purchase,
    StaffMember,
    StepCompletion,
    Student,
)
from bot.db.upsert import insert_ignore
from journeys.events import EventType
from journeys.journey import EnrollmentStatus
from journeys.purchases import PaymentSource


class StudentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_telegram_id(self, telegram_id: int) -> Student | None:
        return await self.session.scalar(select(Student).where(Student.telegram_id == telegram_id))

    async def get(self, student_id: int) -> Student | None:
        return await self.session.get(Student, student_id)

    async def add(self, student: Student) -> Student:
        self.session.add(student)
        await self.session.flush()
        return student


class EnrollmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, enrollment_id: int, *, for_update: bool = False) -> Enrollment | None:
        # FOR UPDATE serialises two presses on the same enrollment on PostgreSQL (SQLite locks up front)
        return await self.session.get(Enrollment, enrollment_id, with_for_update=for_update or None)

    async def current(self, student_id: int, journey_id: str, *, for_update: bool = False) -> Enrollment | None:
        """The student's latest enrollment in the journey that was not dropped."""
        query = (
            select(Enrollment)
            .where(
                Enrollment.student_id == student_id,
                Enrollment.journey_id == journey_id,
                Enrollment.status != EnrollmentStatus.DROPPED,
            )
            .order_by(Enrollment.id.desc())
            .limit(1)
        )
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def latest(self, student_id: int, journey_ids: Collection[str]) -> Enrollment | None:
        """The student's latest enrollment not dropped, in any of these journeys."""
        query = (
            select(Enrollment)
            .where(
                Enrollment.student_id == student_id,
                Enrollment.journey_id.in_(journey_ids),
                Enrollment.status != EnrollmentStatus.DROPPED,
            )
            .order_by(Enrollment.id.desc())
            .limit(1)
        )
        return (await self.session.scalars(query)).first()

    async def chosen(self, student: Student, journey_ids: Collection[str]) -> Enrollment | None:
        """The enrollment the student works on: in the journey they chose last, else their latest one."""
        if student.current_journey_id is not None and student.current_journey_id in journey_ids:
            enrollment = await self.current(student.id, student.current_journey_id)
            if enrollment is not None:
                return enrollment
        return await self.latest(student.id, journey_ids)

    async def of_student(self, student_id: int) -> list[Enrollment]:
        """Every enrollment of the student that was not dropped, oldest first."""
        query = (
            select(Enrollment)
            .where(Enrollment.student_id == student_id, Enrollment.status != EnrollmentStatus.DROPPED)
            .order_by(Enrollment.id)
        )
        return list(await self.session.scalars(query))

    async def add(self, enrollment: Enrollment) -> Enrollment:
        self.session.add(enrollment)
        await self.session.flush()
        return enrollment

    async def completed_steps(self, enrollment_id: int) -> set[str]:
        rows = await self.session.scalars(
            select(StepCompletion.step_id).where(StepCompletion.enrollment_id == enrollment_id)
        )
        return set(rows)

    async def completed_steps_of(self, enrollment_ids: Collection[int]) -> dict[int, set[str]]:
        """The completed steps of a batch of enrollments, in one query (every id gets a set, maybe empty)."""
        completed: dict[int, set[str]] = {enrollment_id: set() for enrollment_id in enrollment_ids}
        if completed:
            rows = await self.session.execute(
                select(StepCompletion.enrollment_id, StepCompletion.step_id).where(
                    StepCompletion.enrollment_id.in_(completed)
                )
            )
            for enrollment_id, step_id in rows.all():
                completed[enrollment_id].add(step_id)
        return completed

    async def record_completion(self, enrollment_id: int, step_id: str, source: str, at: datetime) -> bool:
        """True when this is the first completion of the step: double presses and LMS repeats count once."""
        return await insert_ignore(
            self.session,
            StepCompletion.__table__,  # type: ignore[arg-type]
            {"enrollment_id": enrollment_id, "step_id": step_id, "source": source, "completed_at": at},
            key=["enrollment_id", "step_id"],
        )


class EventLog:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def record(
        self,
        type_: EventType,
        at: datetime,
        *,
        student_id: int | None = None,
        enrollment_id: int | None = None,
        **data: Any,
    ) -> None:
        self.session.add(
            Event(type=type_, occurred_at=at, student_id=student_id, enrollment_id=enrollment_id, data=data)
        )

    async def count(self, type_: EventType, *, enrollment_id: int | None = None) -> int:
        query = select(func.count()).select_from(Event).where(Event.type == type_)
        if enrollment_id is not None:
            query = query.where(Event.enrollment_id == enrollment_id)
        return int(await self.session.scalar(query) or 0)


class IdentityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_external_id(
        self, external_id: str, journey_id: str, source: str = "lms", *, for_update: bool = False
    ) -> ExternalIdentity | None:
        query = select(ExternalIdentity).where(
            ExternalIdentity.source == source,
            ExternalIdentity.external_id == external_id,
            ExternalIdentity.journey_id == journey_id,
        )
        return await self.session.scalar(query.with_for_update() if for_update else query)

    async def all_by_external_id(
        self, external_id: str, source: str = "lms", *, for_update: bool = False
    ) -> list[ExternalIdentity]:
        """The school's student in every journey it enrolled them in (one identity each)."""
        query = (
            select(ExternalIdentity)
            .where(ExternalIdentity.source == source, ExternalIdentity.external_id == external_id)
            .order_by(ExternalIdentity.id)
        )
        return list(await self.session.scalars(query.with_for_update() if for_update else query))

    async def by_code(self, code: str, *, for_update: bool = False) -> ExternalIdentity | None:
        # locked when binding: two people opening one link at once must not both get it
        query = select(ExternalIdentity).where(ExternalIdentity.start_code == code)
        return await self.session.scalar(query.with_for_update() if for_update else query)

    async def for_student(self, student_id: int) -> list[ExternalIdentity]:
        rows = await self.session.scalars(select(ExternalIdentity).where(ExternalIdentity.student_id == student_id))
        return list(rows)

    async def add(self, identity: ExternalIdentity) -> ExternalIdentity:
        self.session.add(identity)
        await self.session.flush()
        return identity

    async def record_event(self, values: dict[str, Any]) -> bool:
        """Stores an LMS event once per event_id; False for a repeat."""
        return await insert_ignore(
            self.session,
            LmsEvent.__table__,  # type: ignore[arg-type]
            values,
            key=["event_id"],
        )

    async def event(self, event_id: str) -> LmsEvent | None:
        return await self.session.scalar(select(LmsEvent).where(LmsEvent.event_id == event_id))

    async def pending_events(self, identity_id: int) -> list[LmsEvent]:
        rows = await self.session.scalars(
            select(LmsEvent)
            .where(LmsEvent.identity_id == identity_id, LmsEvent.applied_at.is_(None))
            .order_by(LmsEvent.id)
        )
        return list(rows)


class StaffRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, telegram_id: int) -> StaffMember | None:
        return await self.session.scalar(select(StaffMember).where(StaffMember.telegram_id == telegram_id))

    async def all(self) -> list[StaffMember]:
        return list(await self.session.scalars(select(StaffMember).order_by(StaffMember.role, StaffMember.id)))

    async def add(self, member: StaffMember) -> StaffMember:
        self.session.add(member)
        await self.session.flush()
        return member

    async def remove(self, member: StaffMember) -> None:
        await self.session.delete(member)
        await self.session.flush()


class AuditLog:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def record(
        self, action: AuditAction, at: datetime, *, actor_id: int | None, target: str | None = None, **data: Any
    ) -> None:
        self.session.add(AuditEntry(action=action, at=at, actor_id=actor_id, target=target, data=data))


class PurchaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_once(self, values: dict[str, Any]) -> bool:
        """Inserts the purchase unless its (source, payment_id) is recorded; True when this call inserted it."""
        return await insert_ignore(
            self.session,
            Purchase.__table__,  # type: ignore[arg-type]
            values,
            key=["source", "payment_id"],
        )

    async def by_payment_id(
        self, source: PaymentSource, payment_id: str, *, for_update: bool = False
    ) -> Purchase | None:
        query = select(Purchase).where(Purchase.source == source, Purchase.payment_id == payment_id)
        if for_update:
            query = query.with_for_update()
        # populate_existing: a row this session loaded before the other transaction changed it is read anew
        return await self.session.scalar(query.execution_options(populate_existing=True))

    async def with_payment_id(self, payment_id: str) -> list[Purchase]:
        """The purchases of any source with this id (an admin may not say which source a charge id is from)."""
        rows = await self.session.scalars(
            select(Purchase).where(Purchase.payment_id == payment_id).order_by(Purchase.source)
        )
        return list(rows)

    async def by_refund_id(self, source: PaymentSource, refund_id: str) -> Purchase | None:
        return await self.session.scalar(
            select(Purchase).where(Purchase.source == source, Purchase.refund_id == refund_id)
        )

    async def of_student(self, student_id: int) -> list[Purchase]:
        rows = await self.session.scalars(
            select(Purchase).where(Purchase.student_id == student_id).order_by(Purchase.paid_at, Purchase.id)
        )
        return list(rows)

    async def waiting_for(self, identity_id: int) -> list[Purchase]:
        """The purchases kept for an LMS identity that had no student yet, oldest first."""
        rows = await self.session.scalars(
            select(Purchase)
            .where(Purchase.identity_id == identity_id, Purchase.applied_at.is_(None), Purchase.student_id.is_(None))
            .order_by(Purchase.id)
            .with_for_update()
        )
        return list(rows)

    async def paid_by(self, student_ids: Collection[int] | None = None) -> list[tuple[int, str, int]]:
        """(student, currency, amount) summed over the purchases not refunded: lifetime value in minor units."""
        query = (
            select(Purchase.student_id, Purchase.currency, func.sum(Purchase.amount))
            .where(Purchase.student_id.is_not(None), Purchase.refunded_at.is_(None))
            .group_by(Purchase.student_id, Purchase.currency)
            .order_by(Purchase.student_id, Purchase.currency)
        )
        if student_ids is not None:
            query = query.where(Purchase.student_id.in_(student_ids))
        rows = await self.session.execute(query)
        return [(int(student or 0), str(currency), int(total or 0)) for student, currency, total in rows.all()]


class CheckoutRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, checkout: Checkout) -> Checkout:
        self.session.add(checkout)
        await self.session.flush()
        return checkout

    async def get(self, checkout_id: int, *, for_update: bool = False) -> Checkout | None:
        return await self.session.get(Checkout, checkout_id, with_for_update=for_update or None)


class GrantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_once(self, values: dict[str, Any]) -> bool:
        """Inserts the grant unless its purchase has one; True when this call inserted it."""
        return await insert_ignore(self.session, Grant.__table__, values, key=["purchase_id"])  # type: ignore[arg-type]

    async def of_purchase(self, purchase_id: int, *, for_update: bool = False) -> Grant | None:
        query = select(Grant).where(Grant.purchase_id == purchase_id)
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query.execution_options(populate_existing=True))

    async def of_student(self, student_id: int) -> list[Grant]:
        rows = await self.session.scalars(select(Grant).where(Grant.student_id == student_id).order_by(Grant.id))
        return list(rows)
