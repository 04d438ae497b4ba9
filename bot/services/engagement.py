"""Keeping students moving: cohort starts, the nudge ladder, rewards and stall detection.

Everything here is driven by stored columns (next_nudge_at, stall_at, cohort_start) that the ticker
finds with indexed queries, and every message goes through the outbox with an idempotency key.
"""

import logging
from datetime import datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from bot.db.models import Enrollment, OutboxMessage, OutboxStatus, Student
from bot.db.uow import UnitOfWork
from bot.i18n import Translations
from bot.outbox.payloads import CohortStartPayload, NudgePayload, RewardPayload
from bot.outbox.queue import WAITING, enqueue
from bot.render import Composer
from bot.services.student_path import StudentPath
from journeys.journey import EnrollmentStatus, Journey
from journeys.progress import Progress
from journeys.rewards import earned_rewards
from journeys.spec import Stall
from journeys.stalls import LADDER_GRACE, PaceState, stall_deadline, stall_reasons
from journeys.timing import QuietHours, deliver_at

log = logging.getLogger(__name__)

BATCH = 500  # rows a job handles per tick; the next tick takes the rest
CAPPED_KINDS = ("nudge",)  # the weekly cap limits automatic reminders, not rewards or the course itself
WEEK = timedelta(days=7)


class AlertDesk(Protocol):
    async def raise_alert(
        self, uow: UnitOfWork, student: Student, enrollment: Enrollment, reasons: dict[str, object], now: datetime
    ) -> bool: ...


class Engagement:
    def __init__(self, path: StudentPath, translations: Translations, desk: AlertDesk | None = None) -> None:
        self.path = path
        self.journey: Journey = path.journey
        self.translations = translations
        self.quiet = QuietHours.parse(self.journey.spec.schedule.quiet_hours)
        self.desk = desk  # None: no curator group, stalls raise no alert
        self.curator_on = desk is not None

    def composer(self, student: Student) -> Composer:
        return Composer(self.translations.get(student.language))

    # --- listeners: called by the student path inside its transaction ---------------------------

    async def on_start(self, uow: UnitOfWork, student: Student, enrollment: Enrollment, now: datetime) -> None:
        await self._new_idle_spell(uow, enrollment, now)

    async def on_progress(
        self, uow: UnitOfWork, student: Student, enrollment: Enrollment, step_id: str, now: datetime
    ) -> None:
        # a reminder still waiting for this student is moot now
        await uow.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.student_id == student.id,
                OutboxMessage.kind == "nudge",
                OutboxMessage.status.in_(WAITING),
            )
            .values(status=OutboxStatus.CANCELLED, last_error="the student made progress")
        )
        enrollment.stalled_at = None
        await self._new_idle_spell(uow, enrollment, now)
        await self._queue_rewards(uow, student, enrollment, now)

    async def _new_idle_spell(self, uow: UnitOfWork, enrollment: Enrollment, now: datetime) -> None:
        nudges = self.journey.spec.nudges
        done = enrollment.status is EnrollmentStatus.COMPLETED
        enrollment.nudge_rung = 0
        enrollment.next_nudge_at = None if done or enrollment.holdout or not nudges else now + nudges[0].after
        enrollment.stall_at = (
            None if done else stall_deadline(await self._pace(uow, enrollment), *self._thresholds(enrollment))
        )

    async def _queue_rewards(self, uow: UnitOfWork, student: Student, enrollment: Enrollment, now: datetime) -> None:
        if not self.journey.spec.rewards or enrollment.track is None:
            return
        completed = await uow.enrollments.completed_steps(enrollment.id)
        for reward in earned_rewards(self.journey, enrollment.track, completed):
            # the key makes each reward arrive once, whether the bot or the LMS counted the step, or both
            queued = await enqueue(
                uow.session,
                key=f"reward:{enrollment.id}:{reward.id}",
                payload=RewardPayload(messages=self.composer(student).reward(reward)),
                chat_id=student.telegram_id,
                student_id=student.id,
                due_at=now,
                now=now,
            )
            if queued:
                uow.events.record(
                    "reward_earned", now, student_id=student.id, enrollment_id=enrollment.id, reward=reward.id
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
                    due_at=deliver_at(now, ZoneInfo(student.timezone), self.quiet, None, None),
                    now=now,
                )
        return len(waiting)

    async def send_nudges(self, uow: UnitOfWork, now: datetime) -> int:
        nudges = self.journey.spec.nudges
        due = await self._due(
            uow,
            Enrollment.status == EnrollmentStatus.ACTIVE,
            Enrollment.next_nudge_at <= now,
            Enrollment.holdout.is_(False),
            order=Enrollment.next_nudge_at,
        )
        for enrollment, student in due:
            rung = enrollment.nudge_rung
            if student.blocked_at is not None or rung >= len(nudges):
                enrollment.next_nudge_at = None
                continue
            postponed = await self._over_weekly_cap(uow, student, now)
            if postponed is not None:
                enrollment.next_nudge_at = postponed
                continue
            await self._queue_nudge(uow, student, enrollment, rung, now)
        return len(due)

    async def _queue_nudge(
        self, uow: UnitOfWork, student: Student, enrollment: Enrollment, rung: int, now: datetime
    ) -> None:
        nudges = self.journey.spec.nudges
        assert enrollment.track is not None and enrollment.started_at is not None
        spell = enrollment.last_progress_at or enrollment.started_at
        completed = await uow.enrollments.completed_steps(enrollment.id)
        total = len(self.journey.track(enrollment.track).steps)
        progress = Progress(self.journey.done_count(enrollment.track, completed), total)
        next_step = self.journey.next_step(enrollment.track, completed)
        tz = ZoneInfo(student.timezone)
        when = deliver_at(now, tz, self.quiet, _days(enrollment.study_days), _time(enrollment.study_time))
        await enqueue(
            uow.session,
            key=f"nudge:{enrollment.id}:{int(spell.timestamp())}:{rung}",
            payload=NudgePayload(
                messages=self.composer(student).nudge(
                    nudges[rung], progress, next_step, enrollment.id, curator=self.curator_on
                )
            ),
            chat_id=student.telegram_id,
            student_id=student.id,
            due_at=when,
            now=now,
        )
        uow.events.record("nudged", now, student_id=student.id, enrollment_id=enrollment.id, rung=rung)
        enrollment.nudge_rung = rung + 1
        if rung + 1 < len(nudges):
            enrollment.next_nudge_at = spell + nudges[rung + 1].after
        else:
            enrollment.next_nudge_at = None
            # the ladder ran out: if the last reminder does not help, the curators hear of it
            last_chance = when + LADDER_GRACE
            enrollment.stall_at = min(enrollment.stall_at or last_chance, last_chance)

    async def _over_weekly_cap(self, uow: UnitOfWork, student: Student, now: datetime) -> datetime | None:
        """None when another reminder fits this week; otherwise when the oldest one leaves the window."""
        cap = self.journey.spec.schedule.weekly_cap
        if cap is None:
            return None
        window = await uow.session.execute(
            select(func.count(), func.min(OutboxMessage.due_at)).where(
                OutboxMessage.student_id == student.id,
                OutboxMessage.kind.in_(CAPPED_KINDS),
                OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.SENT)),
                OutboxMessage.due_at > now - WEEK,
            )
        )
        count, oldest = window.one()
        if count < cap:
            return None
        return oldest + WEEK

    async def detect_stalls(self, uow: UnitOfWork, now: datetime) -> int:
        due = await self._due(
            uow,
            Enrollment.status == EnrollmentStatus.ACTIVE,
            Enrollment.stall_at <= now,
            Enrollment.stalled_at.is_(None),
            order=Enrollment.stall_at,
        )
        for enrollment, student in due:
            reasons = await self.stall_reasons(uow, enrollment, now)
            enrollment.stalled_at = now
            enrollment.stall_at = None
            uow.events.record("stalled", now, student_id=student.id, enrollment_id=enrollment.id, **reasons)
            if self.desk is not None:
                await self.desk.raise_alert(uow, student, enrollment, reasons, now)
        return len(due)

    async def stall_reasons(self, uow: UnitOfWork, enrollment: Enrollment, now: datetime) -> dict[str, object]:
        """Why the student counts as stalled at `now` (idle days, steps behind, reminders used up)."""
        state = await self._pace(uow, enrollment)
        exhausted = bool(self.journey.spec.nudges) and enrollment.nudge_rung >= len(self.journey.spec.nudges)
        return stall_reasons(state, self.journey.spec.pace, now, ladder_exhausted=exhausted)

    # --- helpers ---------------------------------------------------------------------------------

    async def _due(self, uow: UnitOfWork, *conditions: object, order: object) -> list[tuple[Enrollment, Student]]:
        """A batch of due enrollments with their students, in one query (not one per student)."""
        # SKIP LOCKED lets several instances share the work on PostgreSQL; SQLite runs one instance
        query = (
            select(Enrollment, Student)
            .join(Student, Student.id == Enrollment.student_id)
            .where(Enrollment.journey_id == self.journey.id, *conditions)  # type: ignore[arg-type]
            .order_by(order)  # type: ignore[arg-type]
            .limit(BATCH)
            .with_for_update(skip_locked=True, of=Enrollment)
        )
        return [(enrollment, student) for enrollment, student in (await uow.session.execute(query)).all()]

    async def _pace(self, uow: UnitOfWork, enrollment: Enrollment) -> PaceState:
        assert enrollment.track is not None and enrollment.started_at is not None
        completed = await uow.enrollments.completed_steps(enrollment.id)
        return PaceState(
            started_at=enrollment.started_at,
            last_progress_at=enrollment.last_progress_at,
            done=self.journey.done_count(enrollment.track, completed),
            total=len(self.journey.track(enrollment.track).steps),
        )

    def _thresholds(self, enrollment: Enrollment) -> tuple[timedelta, Stall]:
        track = self.journey.track(enrollment.track) if enrollment.track else None
        return self.journey.spec.pace, (track.stall if track and track.stall else self.journey.spec.stall)


def _days(value: str | None) -> set[int] | None:
    return {int(day) for day in value.split(",")} if value else None


def _time(value: str | None) -> time | None:
    return time.fromisoformat(value) if value else None
