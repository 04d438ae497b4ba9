"""Keeping students moving: cohort starts, the nudge ladder, rewards and stall detection.

Load → decide → store: the decisions are journeys/nudges.py (the ladder and the weekly cap),
journeys/rewards.py and journeys/stalls.py; this service loads their plain state a batch at a time and
applies what they return. Everything is driven by stored columns (next_nudge_at, stall_at, cohort_start)
that the ticker finds with indexed queries, and every message goes through the outbox with an idempotency key.
"""

import logging
from collections.abc import Sequence
from datetime import datetime, time
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Enrollment, OutboxMessage, OutboxStatus, Student
from bot.db.uow import UnitOfWork
from bot.i18n import Translations
from bot.outbox.kinds import OutboxKind
from bot.outbox.payloads import CohortStartPayload, NudgePayload, RewardPayload
from bot.outbox.queue import WAITING, enqueue
from bot.render import Composer
from bot.services.student_path import StudentPath
from journeys.catalog import Catalog
from journeys.events import EventType
from journeys.journey import EnrollmentStatus, Journey
from journeys.nudges import (
    WEEK,
    Delivery,
    LadderDone,
    LadderExhausted,
    LadderState,
    NextRung,
    NudgeDue,
    NudgePostponed,
    decide_nudge,
    ladder_exhausted,
    new_idle_spell,
    nudge_message,
)
from journeys.rewards import earned_rewards
from journeys.spec import Stall
from journeys.stalls import PaceState, Stalled, StallReasons, check_stall, stall_reasons
from journeys.timing import QuietHours, deliver_at

log = logging.getLogger(__name__)

BATCH = 500  # rows a job handles per tick; the next tick takes the rest
# the weekly cap limits automatic reminders and offers, not rewards, check-ins or the course itself
CAPPED_KINDS = (OutboxKind.NUDGE, OutboxKind.OFFER, OutboxKind.OFFER_REMINDER)
CAPPED_STATUSES = (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.SENT)


class AlertDesk(Protocol):
    async def raise_alert(
        self, uow: UnitOfWork, student: Student, enrollment: Enrollment, reasons: StallReasons, now: datetime
    ) -> bool: ...


class Engagement:
    def __init__(self, path: StudentPath, translations: Translations, desk: AlertDesk | None = None) -> None:
        self.path = path
        self.catalog: Catalog = path.catalog
        self.translations = translations
        # each journey keeps its own quiet hours, cap, ladder and pace; an enrollment follows its journey's
        self.quiet = {journey.id: QuietHours.parse(journey.spec.schedule.quiet_hours) for journey in self.catalog}
        self.desk = desk  # None: no curator group, stalls raise no alert
        self.curator_on = desk is not None

    def composer(self, student: Student) -> Composer:
        return Composer(self.translations.get(student.language))

    # --- listeners: called by the student path inside its transaction ---------------------------

    async def on_start(self, uow: UnitOfWork, student: Student, enrollment: Enrollment, now: datetime) -> None:
        self._new_idle_spell(enrollment, await uow.enrollments.completed_steps(enrollment.id), now)

    async def on_progress(
        self, uow: UnitOfWork, student: Student, enrollment: Enrollment, step_id: str, now: datetime
    ) -> None:
        # a reminder still waiting for this student is moot now
        await uow.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.student_id == student.id,
                OutboxMessage.kind == OutboxKind.NUDGE,
                OutboxMessage.status.in_(WAITING),
            )
            .values(status=OutboxStatus.CANCELLED, last_error="the student made progress")
        )
        enrollment.stalled_at = None
        completed = await uow.enrollments.completed_steps(enrollment.id)
        self._new_idle_spell(enrollment, completed, now)
        await self._queue_rewards(uow, student, enrollment, completed, now)

    def _journey(self, enrollment: Enrollment) -> Journey:
        return self.catalog[enrollment.journey_id]  # the jobs load only enrollments of the catalog's journeys

    def _new_idle_spell(self, enrollment: Enrollment, completed: set[str], now: datetime) -> None:
        done = enrollment.status is EnrollmentStatus.COMPLETED
        pace = None if done else self._pace_of(enrollment, completed)
        journey = self._journey(enrollment)
        spell = new_idle_spell(
            now,
            journey.spec.nudges,
            holdout=enrollment.holdout,
            pace=pace,
            every=journey.spec.pace,
            stall=self._stall(enrollment),
        )
        enrollment.nudge_rung = spell.rung
        enrollment.next_nudge_at = spell.next_nudge_at
        enrollment.stall_at = spell.stall_at

    async def _queue_rewards(
        self, uow: UnitOfWork, student: Student, enrollment: Enrollment, completed: set[str], now: datetime
    ) -> None:
        journey = self._journey(enrollment)
        if not journey.spec.rewards or enrollment.track is None:
            return
        for earned in earned_rewards(journey, enrollment.track, completed):
            # the key makes each reward arrive once, whether the bot or the LMS counted the step, or both
            queued = await enqueue(
                uow.session,
                key=f"reward:{enrollment.id}:{earned.reward.id}",
                payload=RewardPayload(messages=self.composer(student).compose([earned])),
                chat_id=student.telegram_id,
                student_id=student.id,
                due_at=now,
                now=now,
            )
            if queued:
                uow.events.record(
                    EventType.REWARD_EARNED,
                    now,
                    student_id=student.id,
                    enrollment_id=enrollment.id,
                    reward=earned.reward.id,
                )

    # --- ticker jobs -----------------------------------------------------------------------------

    async def start_cohorts(self, uow: UnitOfWork, now: datetime) -> int:
        waiting = await self._due(
            uow,
            Enrollment.status == EnrollmentStatus.WAITING,
            Enrollment.cohort_start <= now,
            order=Enrollment.cohort_start,
        )
        for enrollment, student in waiting:
            decisions = await self.path.start_if_due(uow, enrollment)
            if decisions and student.blocked_at is None:
                await enqueue(
                    uow.session,
                    key=f"cohort_start:{enrollment.id}",
                    payload=CohortStartPayload(messages=self.composer(student).compose(decisions)),
                    chat_id=student.telegram_id,
                    student_id=student.id,
                    due_at=deliver_at(now, ZoneInfo(student.timezone), self.quiet[enrollment.journey_id], None, None),
                    now=now,
                )
        return len(waiting)

    async def send_nudges(self, uow: UnitOfWork, now: datetime) -> int:
        due = await self._due(
            uow,
            Enrollment.status == EnrollmentStatus.ACTIVE,
            Enrollment.next_nudge_at <= now,
            Enrollment.holdout.is_(False),
            order=Enrollment.next_nudge_at,
        )
        completed = await uow.enrollments.completed_steps_of([enrollment.id for enrollment, _ in due])
        capping = any(journey.spec.schedule.weekly_cap for journey in self.catalog)
        capped = await capped_sends(uow.session, [student.id for _, student in due], now) if capping else {}
        for enrollment, student in due:
            sends = capped.setdefault(student.id, [])
            journey = self._journey(enrollment)
            cap = journey.spec.schedule.weekly_cap
            decision = decide_nudge(
                journey.spec.nudges,
                self._ladder(enrollment, student),
                now,
                self._delivery(enrollment, student),
                cap=cap,
                capped_sends=sends,
            )
            match decision:
                case LadderDone():
                    enrollment.next_nudge_at = None
                case NudgePostponed(until=until):
                    enrollment.next_nudge_at = until
                case NudgeDue():
                    if await self._queue_nudge(uow, student, enrollment, decision, completed[enrollment.id], now):
                        sends.append(decision.at)  # counts for the cap if the student comes up again
        return len(due)

    async def _queue_nudge(
        self,
        uow: UnitOfWork,
        student: Student,
        enrollment: Enrollment,
        due: NudgeDue,
        completed: set[str],
        now: datetime,
    ) -> bool:
        """Queues the reminder and moves the ladder on; False when the outbox already had it."""
        assert enrollment.track is not None and enrollment.started_at is not None
        spell = enrollment.last_progress_at or enrollment.started_at
        show = nudge_message(
            self._journey(enrollment), enrollment.track, completed, due.rung, enrollment.id, curators=self.curator_on
        )
        queued = await enqueue(
            uow.session,
            key=f"nudge:{enrollment.id}:{int(spell.timestamp())}:{due.rung}",
            payload=NudgePayload(messages=self.composer(student).compose([show])),
            chat_id=student.telegram_id,
            student_id=student.id,
            due_at=due.at,
            now=now,
        )
        uow.events.record(EventType.NUDGED, now, student_id=student.id, enrollment_id=enrollment.id, rung=due.rung)
        enrollment.nudge_rung = due.rung + 1
        match due.then:
            case NextRung(at=at):
                enrollment.next_nudge_at = at
            case LadderExhausted(stall_by=stall_by):
                enrollment.next_nudge_at = None
                enrollment.stall_at = stall_by
        return queued

    async def detect_stalls(self, uow: UnitOfWork, now: datetime) -> int:
        due = await self._due(
            uow,
            Enrollment.status == EnrollmentStatus.ACTIVE,
            Enrollment.stall_at <= now,
            Enrollment.stalled_at.is_(None),
            order=Enrollment.stall_at,
        )
        completed = await uow.enrollments.completed_steps_of([enrollment.id for enrollment, _ in due])
        for enrollment, student in due:
            journey = self._journey(enrollment)
            stalled = check_stall(
                enrollment.stall_at,
                self._pace_of(enrollment, completed[enrollment.id]),
                journey.spec.pace,
                now,
                ladder_exhausted=ladder_exhausted(journey.spec.nudges, enrollment.nudge_rung),
            )
            if stalled is not None:
                await self._stalled(uow, student, enrollment, stalled, now)
        return len(due)

    async def _stalled(
        self, uow: UnitOfWork, student: Student, enrollment: Enrollment, stalled: Stalled, now: datetime
    ) -> None:
        enrollment.stalled_at = now
        enrollment.stall_at = None
        reasons = stalled.reasons
        uow.events.record(
            EventType.STALLED, now, student_id=student.id, enrollment_id=enrollment.id, **reasons.to_json()
        )
        if self.desk is not None:
            await self.desk.raise_alert(uow, student, enrollment, reasons, now)

    async def stall_reasons(self, uow: UnitOfWork, enrollment: Enrollment, now: datetime) -> StallReasons:
        """Why the student counts as stalled at `now` (idle days, steps behind, reminders used up)."""
        journey = self._journey(enrollment)
        exhausted = ladder_exhausted(journey.spec.nudges, enrollment.nudge_rung)
        return stall_reasons(await self._pace(uow, enrollment), journey.spec.pace, now, ladder_exhausted=exhausted)

    # --- loading plain state ---------------------------------------------------------------------

    async def _due(self, uow: UnitOfWork, *conditions: object, order: object) -> list[tuple[Enrollment, Student]]:
        """A batch of due enrollments with their students, in one query (not one per student)."""
        # SKIP LOCKED lets several instances share the work on PostgreSQL; SQLite runs one instance
        query = (
            select(Enrollment, Student)
            .join(Student, Student.id == Enrollment.student_id)
            .where(Enrollment.journey_id.in_(self.catalog.ids), *conditions)  # type: ignore[arg-type]
            .order_by(order)  # type: ignore[arg-type]
            .limit(BATCH)
            .with_for_update(skip_locked=True, of=Enrollment)
        )
        return [(enrollment, student) for enrollment, student in (await uow.session.execute(query)).all()]

    async def _pace(self, uow: UnitOfWork, enrollment: Enrollment) -> PaceState:
        return self._pace_of(enrollment, await uow.enrollments.completed_steps(enrollment.id))

    def _pace_of(self, enrollment: Enrollment, completed: set[str]) -> PaceState:
        assert enrollment.track is not None and enrollment.started_at is not None
        return PaceState(
            started_at=enrollment.started_at,
            last_progress_at=enrollment.last_progress_at,
            done=self._journey(enrollment).done_count(enrollment.track, completed),
            total=len(self._journey(enrollment).track(enrollment.track).steps),
        )

    def _ladder(self, enrollment: Enrollment, student: Student) -> LadderState:
        assert enrollment.started_at is not None
        return LadderState(
            rung=enrollment.nudge_rung,
            spell_start=enrollment.last_progress_at or enrollment.started_at,
            next_at=enrollment.next_nudge_at,
            stall_at=enrollment.stall_at,
            holdout=enrollment.holdout,
            blocked=student.blocked_at is not None,
        )

    def _delivery(self, enrollment: Enrollment, student: Student) -> Delivery:
        return Delivery(
            ZoneInfo(student.timezone),
            self.quiet[enrollment.journey_id],
            _days(enrollment.study_days),
            _time(enrollment.study_time),
        )

    def _stall(self, enrollment: Enrollment) -> Stall:
        journey = self._journey(enrollment)
        track = journey.track(enrollment.track) if enrollment.track else None
        return track.stall if track and track.stall else journey.spec.stall


async def capped_sends(session: AsyncSession, student_ids: Sequence[int], now: datetime) -> dict[int, list[datetime]]:
    """Due times of each student's capped messages in the cap's window (queued or sent), in one query."""
    rows = await session.execute(
        select(OutboxMessage.student_id, OutboxMessage.due_at).where(
            OutboxMessage.student_id.in_(set(student_ids)),
            OutboxMessage.kind.in_(CAPPED_KINDS),
            OutboxMessage.status.in_(CAPPED_STATUSES),
            OutboxMessage.due_at > now - WEEK,
        )
    )
    sends: dict[int, list[datetime]] = {}
    for student_id, due_at in rows.all():
        if student_id is not None:
            sends.setdefault(student_id, []).append(due_at)
    return sends


def _days(value: str | None) -> frozenset[int] | None:
    return frozenset(int(day) for day in value.split(",")) if value else None


def _time(value: str | None) -> time | None:
    return time.fromisoformat(value) if value else None
