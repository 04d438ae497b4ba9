"""The bot acting on its own: cohort starts, the nudge ladder, rewards and stalls, under a ManualClock."""

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import event, select, update
from sqlalchemy.orm import ORMExecuteState

from bot.db.models import Enrollment, Event, ExternalIdentity, OutboxMessage, OutboxStatus, StepCompletion
from bot.db.uow import UnitOfWork
from bot.standin import BotAPIStandIn, FakeUser
from journeys.clock import ManualClock
from tests.conftest import EXAMPLE_JOURNEY, World, make_settings, running_bot

MSK = ZoneInfo("Europe/Moscow")
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


async def onboard(student: FakeUser, *, advanced: bool = False) -> None:
    await student.send("/start")
    await student.click("Yes, it is my job" if advanced else "Never")
    await student.click("Advanced" if advanced else "Beginner")
    await student.click("Skip")
    await student.click("Yes, I know the format")


async def outbox(world: World, kind: str | None = None) -> list[OutboxMessage]:
    async with world.app.uow() as uow:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        return list(await uow.session.scalars(query))


async def enrollment_of(world: World, student: FakeUser) -> Enrollment:
    async with world.app.uow() as uow:
        record = await uow.students.by_telegram_id(student.id)
        return await uow.enrollments.current(record.id, world.app.journey.id)


async def later(world: World, delta: timedelta) -> None:
    world.clock.advance(delta)
    await world.app.ticker.tick()


def texts(rows: list[OutboxMessage]) -> list[str]:
    return [row.payload["messages"][-1]["text"] for row in rows]


async def test_idle_student_gets_the_ladder_in_order(world: World) -> None:
    alice = world.student()
    await onboard(alice)
    await later(world, DAY)
    assert await outbox(world, "nudge") == []

    await later(world, DAY)
    first = await outbox(world, "nudge")
    assert texts(first) == [texts(first)[0]]
    assert "How is the current step going?" in texts(first)[0]
    assert "Done 0 of 5" in texts(first)[0]

    await later(world, DAY)
    assert len(await outbox(world, "nudge")) == 1  # each rung once per idle spell

    await later(world, 2 * DAY)
    rows = await outbox(world, "nudge")
    assert len(rows) == 2
    assert "A curator can help" in texts(rows)[1]
    buttons = [b["text"] for row in rows[1].payload["messages"][-1]["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == ["▶️ Continue"]  # no curator chat configured: no curator button


async def test_a_nudge_due_in_quiet_hours_waits_for_the_morning(world: World) -> None:
    world.clock.set(datetime(2026, 11, 20, 23, 30, tzinfo=MSK))
    alice = world.student()
    await onboard(alice)
    await later(world, 2 * DAY)
    [nudge] = await outbox(world, "nudge")
    assert nudge.due_at.astimezone(MSK) == datetime(2026, 11, 23, 9, 0, tzinfo=MSK)


async def test_a_student_who_resumes_gets_no_more_nudges(world: World) -> None:
    alice = world.student()
    await onboard(alice)
    world.clock.set(world.clock.now().replace(hour=20))  # 23:00 in Moscow: the nudge waits for morning
    await later(world, 2 * DAY)
    [pending] = await outbox(world, "nudge")
    assert pending.status is OutboxStatus.PENDING

    await alice.click("✅ Done")
    [cancelled] = await outbox(world, "nudge")
    assert cancelled.status is OutboxStatus.CANCELLED
    enrollment = await enrollment_of(world, alice)
    assert enrollment.nudge_rung == 0
    assert enrollment.next_nudge_at == world.clock.now() + 2 * DAY


async def test_milestone_reward_arrives_once(world: World) -> None:
    alice = world.student()
    await onboard(alice)
    intro = alice.last
    assert intro is not None and "How this course works" in intro.text
    await alice.click("✅ Done")
    setup_step = alice.last
    assert "Install Python" in setup_step.text
    data = setup_step.button("✅ Done")["callback_data"]
    for _ in range(2):  # a double tap on the step that earns the reward
        world.standin.push_callback(alice, setup_step.message_id, alice.id, data)
    await world.standin.settle()
    rewards = await outbox(world, "reward")
    assert [row.key.rsplit(":", 1)[1] for row in rewards] == ["first-step"]

    await alice.click("✅ Done")  # 3 of 5 done: past half way
    rewards = await outbox(world, "reward")
    assert [row.key.rsplit(":", 1)[1] for row in rewards] == ["first-step", "halfway", "basics-done"]
    assert "From your curator" in texts(rewards)[1]


async def test_idle_student_becomes_stalled_once(world: World) -> None:
    alice = world.student()
    await onboard(alice)
    await later(world, 2 * DAY)
    await later(world, 3 * DAY)  # both rungs of the ladder are out
    enrollment = await enrollment_of(world, alice)
    assert enrollment.stalled_at is None

    await later(world, DAY + timedelta(hours=1))  # a day of grace after the last reminder
    enrollment = await enrollment_of(world, alice)
    assert enrollment.stalled_at is not None
    await later(world, DAY)
    async with world.app.uow() as uow:
        stalls = list(await uow.session.scalars(select(Event).where(Event.type == "stalled")))
    assert len(stalls) == 1
    assert stalls[0].data["ladder_exhausted"] is True
    assert stalls[0].data["idle_days"] >= 6

    await alice.click("✅ Done")
    enrollment = await enrollment_of(world, alice)
    assert enrollment.stalled_at is None and enrollment.stall_at is not None


async def test_waiting_students_get_their_first_step_when_the_cohort_starts(default_world: World) -> None:
    world = default_world
    anna = world.student(501, "Анна", language="ru")
    await anna.send("/start")
    for answer in ("Нет опыта", "Новичок", "Запустить первый магазин", "Впервые учусь онлайн", "По будням"):
        await anna.click(answer)
    await anna.click("Вечером, в 19:00")
    await anna.click("Екатеринбург (UTC+5)")
    await anna.click("Пропустить")
    # the group starts at 10:00 in Moscow: she chose Yekaterinburg, so she is told 12:00
    assert "Ваш поток стартует 7 декабря, 12:00." in anna.last.text

    await later(world, 10 * DAY)
    assert await outbox(world, "cohort_start") == []
    world.clock.set(datetime(2026, 12, 7, 10, 0, tzinfo=MSK))
    await world.app.ticker.tick()
    [start] = await outbox(world, "cohort_start")
    assert start.chat_id == anna.id
    assert "Как устроен курс" in start.payload["messages"][-1]["text"]
    assert start.payload["messages"][0]["method"] == "send_video"

    # her plan: weekdays at 19:00 on her own clock in Yekaterinburg (17:00 in Moscow)
    await later(world, 3 * DAY)
    [nudge] = await outbox(world, "nudge")
    local = nudge.due_at.astimezone(ZoneInfo("Asia/Yekaterinburg"))
    assert (local.isoweekday(), local.hour) == (4, 19)  # Thursday 10 December, 19:00
    assert nudge.due_at.astimezone(MSK).hour == 17


@asynccontextmanager
async def world_with(schedule: dict, database_url: str, standin: BotAPIStandIn, clock: ManualClock, tmp: Path):
    """The example journey with other schedule settings."""
    document = yaml.safe_load(EXAMPLE_JOURNEY.read_text())
    document["schedule"].update(schedule)
    journey = tmp / "journey.yaml"
    journey.write_text(yaml.safe_dump(document, allow_unicode=True))
    async with running_bot(make_settings(database_url, standin, journey_file=journey), clock) as app:
        yield World(app, standin, clock)


async def test_holdout_student_gets_no_nudges_and_is_recorded(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock, tmp_path: Path
) -> None:
    async with world_with({"holdout_percent": 100}, database_url, standin, clock, tmp_path) as world:
        alice = world.student()
        await onboard(alice)
        await later(world, 3 * DAY)
        assert await outbox(world, "nudge") == []
        enrollment = await enrollment_of(world, alice)
        assert enrollment.holdout is True
        async with world.app.uow() as uow:
            enrolled = await uow.session.scalar(select(Event).where(Event.type == "enrolled"))
        assert enrolled.data == {"holdout": True, "journey": "python-basics"}


async def test_weekly_cap_postpones_reminders(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock, tmp_path: Path
) -> None:
    async with world_with({"weekly_cap": 1}, database_url, standin, clock, tmp_path) as world:
        alice = world.student()
        await onboard(alice)
        await later(world, 2 * DAY)
        [first] = await outbox(world, "nudge")
        async with world.app.uow() as uow:  # as the sender would: it reached her
            await uow.session.execute(update(OutboxMessage).values(status=OutboxStatus.SENT))
            await uow.commit()

        await alice.click("✅ Done")  # a new idle spell
        await later(world, 2 * DAY)
        assert len(await outbox(world, "nudge")) == 1  # the week's one reminder is used up
        enrollment = await enrollment_of(world, alice)
        assert enrollment.next_nudge_at == first.due_at + timedelta(days=7)

        await later(world, 5 * DAY + timedelta(hours=1))  # a week after the first one
        assert len(await outbox(world, "nudge")) == 2


async def test_a_step_counted_by_the_bot_and_the_lms_at_once_rewards_once(world: World) -> None:
    async with world.app.uow() as uow:
        await uow.identities.add(
            ExternalIdentity(
                external_id="lms-7",
                name="Alice",
                journey_id=world.app.journey.id,
                start_code="code7",
                created_at=world.clock.now(),
            )
        )
        await uow.commit()
    alice = world.student()
    await alice.send("/start code7")
    await alice.click("Never")
    await alice.click("Beginner")
    await alice.click("Skip")
    await alice.click("Yes, I know the format")
    await alice.click("✅ Done")  # step 1; step 2 ("setup") earns the reward

    async def lms_reports_setup() -> None:
        async with world.app.uow() as uow:
            linked = await uow.identities.by_external_id("lms-7", world.app.journey.id, for_update=True)
            assert linked is not None
            await uow.identities.record_event(
                {
                    "event_id": "e-1",
                    "identity_id": linked.id,
                    "type": "step_completed",
                    "step_id": "setup",
                    "payload": {},
                    "received_at": world.clock.now(),
                }
            )
            await world.app.path.apply_lms_progress(uow, linked)
            await uow.commit()

    await asyncio.gather(lms_reports_setup(), alice.click("✅ Done"))
    rewards = await outbox(world, "reward")
    assert [row.key.rsplit(":", 1)[1] for row in rewards] == ["first-step"]
    async with world.app.uow() as uow:
        completions = await uow.session.scalars(select(StepCompletion).where(StepCompletion.step_id == "setup"))
        assert len(list(completions)) == 1


async def reads_during(world: World, job: Callable[[UnitOfWork, datetime], Awaitable[int]]) -> tuple[int, int]:
    """(rows the job handled, SELECTs it ran): the job runs in its own unit of work, as the ticker runs it."""
    reads: list[ORMExecuteState] = []
    async with world.app.uow() as uow:
        listen = lambda state: reads.append(state) if state.is_select else None  # noqa: E731
        event.listen(uow.session.sync_session, "do_orm_execute", listen)
        handled = await job(uow, world.clock.now())
        await uow.commit()
    return handled, len(reads)


async def test_reminders_and_stalls_read_as_much_for_two_students_as_for_one(world: World) -> None:
    """The ticker loads a batch's state in a fixed number of queries, not one more per student."""
    start = world.clock.now()
    await onboard(world.student(1001, "Alice"))
    world.clock.set(start + HOUR)
    await onboard(world.student(1002, "Bob"))
    await onboard(world.student(1003, "Carol"))
    engagement = world.app.engagement
    # the example's two rungs, then a day of grace: Alice's turn comes alone, an hour later Bob's and Carol's
    for job, moment in [
        (engagement.send_nudges, 2 * DAY),
        (engagement.send_nudges, 5 * DAY),
        (engagement.detect_stalls, 6 * DAY),
    ]:
        world.clock.set(start + moment)
        one = await reads_during(world, job)
        world.clock.set(start + moment + HOUR)
        two = await reads_during(world, job)
        assert (one[0], two[0]) == (1, 2)
        assert one[1] == two[1]
    assert len(await outbox(world, "nudge")) == 6
