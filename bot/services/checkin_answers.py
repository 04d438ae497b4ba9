"""Answers to outcome check-ins: a press on a choice (or Skip), or the next message for a free-text question,
checked like the survey's text answers. Each answer is stored with the survey's in Enrollment.answers, recorded
(CHECKIN_ANSWERED), the next question queued, and the offers asked again (an offer may follow this answer)."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from bot.db.models import CheckinAsked, Enrollment, Student
from bot.db.uow import UnitOfWork, UnitOfWorkFactory
from bot.services.offers import Offers
from journeys.catalog import Catalog
from journeys.checkins import find_checkin, next_checkin_question
from journeys.clock import Clock
from journeys.events import EventType
from journeys.journey import TextCheck, check_text
from journeys.spec import Checkin, Question


class CheckinOutcome(StrEnum):
    RECORDED = "recorded"
    REJECTED = "rejected"  # free text that does not fit the question: asked again
    ALREADY = "already"  # this question has its answer
    NOT_YOURS = "not_yours"
    STALE = "stale"


@dataclass(frozen=True)
class CheckinReply:
    outcome: CheckinOutcome
    question: Question | None = None
    index: int = 0  # the question's position in its check-in, and how many it has
    total: int = 0
    shown: str | None = None  # the answer as the student gave it (None: skipped)
    problem: TextCheck | None = None
    finished: bool = False  # that was the check-in's last question


@dataclass(frozen=True)
class _Pending:
    student: Student
    enrollment: Enrollment
    checkin: Checkin
    asked: CheckinAsked
    question: Question


class CheckinAnswers:
    def __init__(self, uow_factory: UnitOfWorkFactory, catalog: Catalog, clock: Clock, offers: Offers) -> None:
        self._uow, self.catalog, self.clock, self.offers = uow_factory, catalog, clock, offers

    async def press(
        self, telegram_id: int, enrollment_id: int, at: int, index: int, option: int | None
    ) -> CheckinReply:
        """Option `option` (None: Skip) under question `index` of check-in number `at` of the journey."""
        async with self._uow() as uow:
            student = await uow.students.by_telegram_id(telegram_id)
            enrollment = await uow.enrollments.get(enrollment_id, for_update=True)
            if student is None or enrollment is None or enrollment.student_id != student.id:
                return CheckinReply(CheckinOutcome.NOT_YOURS)
            journey = self.catalog.get(enrollment.journey_id)
            if journey is None or at >= len(journey.spec.checkins):
                return CheckinReply(CheckinOutcome.STALE)
            checkin = journey.spec.checkins[at]
            pending = await self._pending_of(uow, student, enrollment, checkin)
            if index >= len(checkin.questions):
                return CheckinReply(CheckinOutcome.STALE)
            question = checkin.questions[index]
            if question.id in enrollment.answers:
                return CheckinReply(CheckinOutcome.ALREADY)
            if pending is None or pending.question != question or not question.is_choice:
                return CheckinReply(CheckinOutcome.STALE)
            if option is None:
                if question.required:
                    return CheckinReply(CheckinOutcome.STALE)
                return await self._record(uow, pending, None, None)
            if option >= len(question.options):
                return CheckinReply(CheckinOutcome.STALE)
            chosen = question.options[option]
            return await self._record(uow, pending, chosen.id, chosen.text)

    async def awaiting_text(self, telegram_id: int) -> bool:
        """The student's latest check-in waits for a free-text answer: their next message is it."""
        async with self._uow() as uow:
            return await self._waiting_text(uow, telegram_id) is not None

    async def text(self, telegram_id: int, text: str) -> CheckinReply:
        async with self._uow() as uow:
            pending = await self._waiting_text(uow, telegram_id, lock=True)
            if pending is None:
                return CheckinReply(CheckinOutcome.STALE)
            checked = check_text(pending.question, text)
            if not checked.ok:
                return CheckinReply(CheckinOutcome.REJECTED, pending.question, problem=checked)
            return await self._record(uow, pending, text.strip(), text.strip())

    async def _waiting_text(self, uow: UnitOfWork, telegram_id: int, *, lock: bool = False) -> _Pending | None:
        now = self.clock.now()
        query = (
            select(CheckinAsked, Enrollment, Student)
            .join(Enrollment, Enrollment.id == CheckinAsked.enrollment_id)
            .join(Student, Student.id == Enrollment.student_id)
            .where(
                Student.telegram_id == telegram_id,
                CheckinAsked.finished_at.is_(None),
                CheckinAsked.asked_at <= now,  # queued for after the quiet hours: not asked yet
            )
            .order_by(CheckinAsked.asked_at.desc(), CheckinAsked.id.desc())
            .limit(1)
        )
        if lock:
            query = query.with_for_update(of=Enrollment)
        found = (await uow.session.execute(query)).first()
        if found is None:
            return None
        asked, enrollment, student = found
        journey = self.catalog.get(enrollment.journey_id)
        checkin = find_checkin(journey, asked.checkin_id) if journey else None
        question = next_checkin_question(checkin, enrollment.answers) if checkin else None
        if checkin is None or question is None or question.is_choice:
            return None
        return _Pending(student, enrollment, checkin, asked, question)

    async def _pending_of(
        self, uow: UnitOfWork, student: Student, enrollment: Enrollment, checkin: Checkin
    ) -> _Pending | None:
        asked = await uow.session.scalar(
            select(CheckinAsked).where(
                CheckinAsked.enrollment_id == enrollment.id, CheckinAsked.checkin_id == checkin.id
            )
        )
        question = next_checkin_question(checkin, enrollment.answers)
        if asked is None or asked.finished_at is not None or question is None:
            return None
        return _Pending(student, enrollment, checkin, asked, question)

    async def _record(self, uow: UnitOfWork, pending: _Pending, value: Any, shown: str | None) -> CheckinReply:
        now = self.clock.now()
        enrollment, checkin, question = pending.enrollment, pending.checkin, pending.question
        enrollment.answers = {**enrollment.answers, question.id: value}  # a new dict: the JSON column sees the change
        uow.events.record(
            EventType.CHECKIN_ANSWERED,
            now,
            student_id=pending.student.id,
            enrollment_id=enrollment.id,
            checkin=checkin.id,
            question=question.id,
            answer=value,
        )
        finished = not await self.offers.ask_next(uow, pending.student, enrollment, checkin, now, now)
        if finished:
            pending.asked.finished_at = now
        await self.offers.on_answer(uow, pending.student, enrollment, now)
        await uow.commit()
        index = checkin.questions.index(question)
        return CheckinReply(CheckinOutcome.RECORDED, question, index, len(checkin.questions), shown, finished=finished)
