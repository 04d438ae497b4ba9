"""A paid broadcast of a few thousand rows through the real App with a short lease: every student gets one copy.

A 5-second lease renews claims every ~1.7 s while the group-committed start and sent marks write the same rows;
on PostgreSQL those writers once deadlocked, a row was dropped with its state unrecorded, its claim lapsed and
it went out again.
"""

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import insert, select

from bot.app import App
from bot.broadcasts.content import Step, content_of, set_content
from bot.db.migrations import upgrade
from bot.db.models import Broadcast, BroadcastStatus, Enrollment, Student
from bot.settings import Settings
from bot.standin import BotAPIStandIn
from journeys.clock import SystemClock
from journeys.journey import EnrollmentStatus
from tests.conftest import make_settings

CREATOR = 9001
FIRST = 1_000_000
STUDENTS = 3000


async def seed_students(app: App, standin: BotAPIStandIn | None, n: int) -> list[int]:
    """n active students in a few statements (and their chats in the stand-in when given)."""
    now = app.clock.now()
    chats = list(range(FIRST, FIRST + n))
    async with app.uow() as uow:
        for start in range(0, n, 2000):
            part = chats[start : start + 2000]
            await uow.session.execute(
                insert(Student),
                [
                    {"telegram_id": i, "first_name": "S", "timezone": "UTC", "created_at": now, "last_activity_at": now}
                    for i in part
                ],
            )
        ids = list(await uow.session.scalars(select(Student.id).order_by(Student.id)))
        for start in range(0, len(ids), 2000):
            await uow.session.execute(
                insert(Enrollment),
                [
                    {
                        "student_id": sid,
                        "journey_id": app.journey.id,
                        "status": EnrollmentStatus.ACTIVE,
                        "answers": {},
                        "track": "novice",
                        "created_at": now,
                    }
                    for sid in ids[start : start + 2000]
                ],
            )
        await uow.commit()
    if standin is not None:
        for chat in chats:
            standin.user(chat, "S")
    return chats


async def confirm_broadcast(app: App, source_message_id: int) -> int:
    """A broadcast to everyone, confirmed with Send now; the ticker queues it."""
    async with app.uow() as uow:
        draft = await app.broadcasts.new_draft(uow, CREATOR, CREATOR, "en")
        draft.segment = {}
        set_content(draft, content_of(draft).copying(source_message_id).at_step(Step.PREVIEW))
        await app.broadcasts.delivery.confirm(uow, draft, CREATOR)
        await uow.commit()
        return draft.id


async def finished(app: App, broadcast_id: int) -> bool:
    async with app.uow() as uow:
        broadcast = await uow.session.get(Broadcast, broadcast_id)
        return broadcast is not None and broadcast.status is BroadcastStatus.DONE


async def wait_until_finished(app: App, broadcast_id: int, within: float) -> None:
    """Queued and nothing left to send; a row dropped unrecorded would be claimed and sent again first."""
    deadline = time.monotonic() + within
    while not await finished(app, broadcast_id):  # the condition is in the database
        assert time.monotonic() < deadline, f"broadcast {broadcast_id} not done after {within} s"
        await asyncio.sleep(0.2)


def copies_per_chat(standin: BotAPIStandIn) -> Counter[int | str | None]:
    return Counter(c.chat_id for c in standin.calls if c.ok and c.method == "copyMessage" and c.chat_id != CREATOR)


@asynccontextmanager
async def delivering(settings: Settings) -> AsyncIterator[App]:
    """The App's ticker (queueing) and its one sender, on the real clock: leases expire in real time."""
    app = App(settings, clock=SystemClock())
    await upgrade(app.engine)
    stop = asyncio.Event()
    sender = asyncio.create_task(app.sender.run(stop))
    app.ticker.start()
    try:
        yield app
    finally:
        await app.ticker.stop()
        stop.set()
        await sender
        await app.close()


async def test_a_paid_broadcast_with_a_5_second_lease_sends_each_student_one_copy(
    database_url: str, standin: BotAPIStandIn
) -> None:
    settings = make_settings(
        database_url,
        standin,
        allow_paid_broadcast=True,
        broadcast_rate=1000,
        outbox_lease_seconds=5,
        scheduler_tick_seconds=0.5,
    )
    creator = standin.user(CREATOR, "Care", language_code="en")
    source = standin.push_message(creator, CREATOR, "Hello all")
    async with delivering(settings) as app:
        chats = await seed_students(app, standin, STUDENTS)
        broadcast_id = await confirm_broadcast(app, source["message_id"])
        await wait_until_finished(app, broadcast_id, within=240)
    copies = copies_per_chat(standin)
    assert set(copies) == set(chats)
    assert max(copies.values()) == 1, f"{sum(n - 1 for n in copies.values())} copies went out twice"
