"""Segments select the right students on both databases, and never those who blocked the bot."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.db.engine import create_engine, create_session_factory
from bot.db.migrations import upgrade
from bot.db.models import Enrollment, Student
from bot.db.uow import UnitOfWorkFactory
from bot.services.segments import Segment, SegmentStatus, batch_after, count
from journeys.journey import EnrollmentStatus

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
COHORT = datetime(2026, 12, 7, 7, tzinfo=UTC)


@pytest.fixture
async def uow_factory(database_url: str):  # type: ignore[no-untyped-def]
    engine = create_engine(database_url)
    await upgrade(engine)
    factory = UnitOfWorkFactory(create_session_factory(engine))
    async with factory() as uow:
        people = [
            # name, status, track, answers, stalled, blocked, idle days
            ("novice-active", EnrollmentStatus.ACTIVE, "novice", {"experience": "none"}, False, False, 1),
            ("novice-stalled", EnrollmentStatus.ACTIVE, "novice", {"experience": "none"}, True, False, 12),
            ("advanced-active", EnrollmentStatus.ACTIVE, "advanced", {"experience": "pro"}, False, False, 3),
            ("waiting", EnrollmentStatus.WAITING, "novice", {"experience": "some"}, False, False, 2),
            ("onboarding", EnrollmentStatus.ONBOARDING, None, {}, False, False, 0),
            ("graduate", EnrollmentStatus.COMPLETED, "advanced", {"experience": "pro"}, False, False, 30),
            ("blocked", EnrollmentStatus.ACTIVE, "novice", {"experience": "none"}, False, True, 20),
        ]
        for n, (name, status, track, answers, stalled, blocked, idle) in enumerate(people, start=1):
            student = await uow.students.add(
                Student(
                    telegram_id=1000 + n,
                    first_name=name,
                    timezone="Europe/Moscow",
                    created_at=NOW - timedelta(days=60),
                    last_activity_at=NOW - timedelta(days=idle),
                    blocked_at=NOW if blocked else None,
                )
            )
            await uow.enrollments.add(
                Enrollment(
                    student_id=student.id,
                    journey_id="python-basics",
                    status=status,
                    track=track,
                    answers=answers,
                    cohort_start=COHORT if status is EnrollmentStatus.WAITING else NOW - timedelta(days=30),
                    created_at=NOW - timedelta(days=60),
                    stalled_at=NOW if stalled else None,
                )
            )
        await uow.commit()
    yield factory
    await engine.dispose()


async def names(factory: UnitOfWorkFactory, segment: Segment) -> list[str]:
    async with factory() as uow:
        rows = await batch_after(uow.session, segment, NOW, 0, 100)
        students = [await uow.students.get(student_id) for student_id, _ in rows]
        assert await count(uow.session, segment, NOW) == len(rows)
        return [s.first_name for s in students if s]


async def test_everyone_means_everyone_who_can_be_reached(uow_factory: UnitOfWorkFactory) -> None:
    assert "blocked" not in await names(uow_factory, Segment())
    assert len(await names(uow_factory, Segment())) == 6


async def test_by_status_with_stalled_as_its_own_status(uow_factory: UnitOfWorkFactory) -> None:
    active = await names(uow_factory, Segment(statuses=[SegmentStatus.ACTIVE]))
    assert active == ["novice-active", "novice-stalled", "advanced-active"]
    assert await names(uow_factory, Segment(statuses=[SegmentStatus.STALLED])) == ["novice-stalled"]
    both = Segment(statuses=[SegmentStatus.WAITING, SegmentStatus.COMPLETED])
    assert await names(uow_factory, both) == ["waiting", "graduate"]


async def test_by_track_answer_cohort_and_idleness(uow_factory: UnitOfWorkFactory) -> None:
    assert await names(uow_factory, Segment(tracks=["advanced"])) == ["advanced-active", "graduate"]
    assert await names(uow_factory, Segment(answers={"experience": ["none", "some"]})) == [
        "novice-active",
        "novice-stalled",
        "waiting",
    ]
    assert await names(uow_factory, Segment(cohort=COHORT)) == ["waiting"]
    assert await names(uow_factory, Segment(idle_days=10)) == ["novice-stalled", "graduate"]


async def test_conditions_combine_with_and(uow_factory: UnitOfWorkFactory) -> None:
    segment = Segment(statuses=[SegmentStatus.ACTIVE], tracks=["novice"], idle_days=5)
    assert await names(uow_factory, segment) == ["novice-stalled"]
    assert await names(uow_factory, Segment(tracks=["advanced"], answers={"experience": ["none"]})) == []


async def test_batches_resume_after_the_last_id(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        first = await batch_after(uow.session, Segment(), NOW, 0, 4)
        rest = await batch_after(uow.session, Segment(), NOW, first[-1][0], 4)
    assert len(first) == 4 and len(rest) == 2
    assert {chat for _, chat in first}.isdisjoint({chat for _, chat in rest})
