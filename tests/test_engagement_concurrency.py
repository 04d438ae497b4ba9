"""The reminder and stall jobs run by several instances at once, tick after tick, on a crowd of idle students.

On PostgreSQL the batches are claimed with SKIP LOCKED and the statements are run well past the five executions
after which PostgreSQL may switch to a generic plan; on SQLite the two instances take turns. Either way every
student gets each rung of the ladder once and is reported stalled once.
"""

import asyncio
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.app import App
from bot.db.models import Enrollment, Event, OutboxMessage, Student
from bot.db.uow import UnitOfWork
from journeys.events import EventType
from journeys.journey import EnrollmentStatus
from journeys.nudges import LADDER_GRACE

STUDENTS = 60
INSTANCES = 2
HOUR = timedelta(hours=1)


async def seed_idle(app: App) -> list[int]:
    """Active novices who started now and never progressed, their first reminder two days away."""
    now = app.clock.now()
    first_rung = app.journey.spec.nudges[0].after
    async with app.uow() as uow:
        ids = []
        for n in range(STUDENTS):
            student = await uow.students.add(
                Student(
                    telegram_id=70_000 + n,
                    first_name=f"S{n}",
                    # zones a day apart, so the quiet hours move each student's delivery differently
                    timezone=("Europe/Moscow", "Asia/Tokyo", "America/New_York")[n % 3],
                    created_at=now,
                    last_activity_at=now,
                )
            )
            ids.append(student.id)
            await uow.enrollments.add(
                Enrollment(
                    student_id=student.id,
                    journey_id=app.journey.id,
                    created_at=now,
                    status=EnrollmentStatus.ACTIVE,
                    track="novice",
                    answers={},
                    started_at=now,
                    next_nudge_at=now + first_rung,
                    stall_at=now + app.journey.spec.stall.idle,
                )
            )
        await uow.commit()
    return ids


async def run_as_instances(app: App, job_name: str) -> int:
    """The job run by INSTANCES units of work at once, as that many bot processes' tickers would."""

    async def one() -> int:
        async with app.uow() as uow:
            job = getattr(app.engagement, job_name)
            handled: int = await job(uow, app.clock.now())
            await uow.commit()
            return handled

    return sum(await asyncio.gather(*(one() for _ in range(INSTANCES))))


async def nudged_rungs(uow: UnitOfWork) -> Counter[tuple[int, int]]:
    events = await uow.session.scalars(select(Event).where(Event.type == EventType.NUDGED))
    return Counter((event.student_id or 0, event.data["rung"]) for event in events)


async def test_instances_ticking_together_nudge_each_student_once_per_rung_and_report_each_stall_once(
    app: App,
) -> None:
    ids = await seed_idle(app)
    start = app.clock.now()
    ladder = app.journey.spec.nudges
    handled = Counter[str]()
    # a tick every six hours through the ladder, the grace period and the stall deadline: about a hundred runs of each
    # statement, with every batch contended by both instances
    end = start + ladder[-1].after + LADDER_GRACE + app.journey.spec.stall.idle + 2 * HOUR
    moment: datetime = start
    while moment < end:
        moment += 6 * HOUR
        app.clock.set(moment)
        handled["nudges"] += await run_as_instances(app, "send_nudges")
        handled["stalls"] += await run_as_instances(app, "detect_stalls")

    async with app.uow() as uow:
        rungs = await nudged_rungs(uow)
        assert rungs == Counter({(student, rung): 1 for student in ids for rung in range(len(ladder))})
        keys = list(await uow.session.scalars(select(OutboxMessage.key).where(OutboxMessage.kind == "nudge")))
        assert len(keys) == len(set(keys)) == STUDENTS * len(ladder)
        stalled = Counter(
            event.student_id
            for event in await uow.session.scalars(select(Event).where(Event.type == EventType.STALLED))
        )
        assert stalled == Counter(dict.fromkeys(ids, 1))
        enrollments = list(await uow.session.scalars(select(Enrollment)))
        assert all(e.stalled_at is not None and e.next_nudge_at is None for e in enrollments)
    # each due student was handled by exactly one of the instances
    assert handled == {"nudges": STUDENTS * len(ladder), "stalls": STUDENTS}
