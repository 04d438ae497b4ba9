"""Segments: who a broadcast goes to. A filter over students and their enrollments, all conditions ANDed.

Students who blocked the bot are never included. Recipients are read in id order in batches, so a segment
of any size is queued with flat memory and a crash resumes after the last queued id.
"""

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Enrollment, Student
from journeys.journey import EnrollmentStatus


class SegmentStatus(StrEnum):
    ONBOARDING = "onboarding"
    WAITING = "waiting_start"
    ACTIVE = "active"
    STALLED = "stalled"  # active, and the stall detector flagged them
    COMPLETED = "completed"


class Segment(BaseModel):
    """Stored with the broadcast as JSON. An empty segment is every student who can be reached."""

    model_config = ConfigDict(extra="forbid")

    journeys: list[str] = Field(default_factory=list)
    tracks: list[str] = Field(default_factory=list)
    statuses: list[SegmentStatus] = Field(default_factory=list)
    cohort: datetime | None = None
    answers: dict[str, list[str]] = Field(default_factory=dict)
    idle_days: int | None = Field(default=None, ge=1)  # no activity for more than N days

    @property
    def is_everyone(self) -> bool:
        return self == Segment()

    def _enrollment_conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.journeys:
            conditions.append(Enrollment.journey_id.in_(self.journeys))
        if self.tracks:
            conditions.append(Enrollment.track.in_(self.tracks))
        if self.cohort is not None:
            conditions.append(Enrollment.cohort_start == self.cohort)
        if self.statuses:
            options = []
            for status in self.statuses:
                if status is SegmentStatus.STALLED:
                    options.append(
                        and_(Enrollment.status == EnrollmentStatus.ACTIVE, Enrollment.stalled_at.is_not(None))
                    )
                else:
                    options.append(Enrollment.status == EnrollmentStatus(status.value))
            conditions.append(or_(*options))
        for question, accepted in self.answers.items():
            conditions.append(Enrollment.answers[question].as_string().in_(accepted))
        return conditions

    def where(self, now: datetime) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [Student.blocked_at.is_(None)]
        if self.idle_days is not None:
            conditions.append(Student.last_activity_at < now - timedelta(days=self.idle_days))
        enrollment = self._enrollment_conditions()
        if enrollment:
            # EXISTS, not a join: a student with two matching enrollments is still one recipient
            conditions.append(exists().where(Enrollment.student_id == Student.id, *enrollment))
        return conditions


async def count(session: AsyncSession, segment: Segment, now: datetime) -> int:
    query = select(func.count()).select_from(Student).where(*segment.where(now))
    return int(await session.scalar(query) or 0)


async def batch_after(
    session: AsyncSession, segment: Segment, now: datetime, after_id: int, size: int
) -> list[tuple[int, int]]:
    """The next `size` recipients (student id, chat id) with ids above `after_id`."""
    query = (
        select(Student.id, Student.telegram_id)
        .where(*segment.where(now), Student.id > after_id)
        .order_by(Student.id)
        .limit(size)
    )
    rows = await session.execute(query)
    return [(student_id, chat_id) for student_id, chat_id in rows.all()]
