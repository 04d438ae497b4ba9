"""The curator desk through the real bot and the stand-in: alerts, their buttons and who may press them."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.db.models import Alert, AlertStatus, Enrollment, OutboxStatus, Role
from bot.standin import BotAPIStandIn
from journeys.clock import ManualClock
from tests.conftest import make_settings, running_bot
from tests.curator_world import (
    ADMIN,
    BOB,
    CAROL_CURATOR,
    DAY,
    GROUP,
    OUTSIDER,
    Desk,
    alert_message,
    alerts,
    data,
    desk_world,
    enrollment_of,
    onboard,
    outbox_rows,
    raise_alert,
    stall_at_once,
    stalled,
)


@pytest.fixture
async def desk(database_url: str, standin: BotAPIStandIn, clock: ManualClock) -> AsyncIterator[Desk]:
    async for world in desk_world(database_url, standin, clock, forum=False):
        yield world


# ----- alerts ------------------------------------------------------------------------------------


async def test_one_alert_per_enrollment_even_when_raised_concurrently(desk: Desk) -> None:
    enrollment_id = await stalled(desk, desk.student())
    results = await asyncio.gather(raise_alert(desk, enrollment_id), raise_alert(desk, enrollment_id))
    assert sorted(results) == [False, True]
    assert not await raise_alert(desk, enrollment_id)  # still unresolved: no second alert
    assert len(await alerts(desk)) == 1

    await desk.drain()
    [message] = desk.group_messages()
    text = message.text or ""
    assert "Alice Smith @alice" in text
    assert "Track: Step by step" in text
    assert "Step 1 of" in text and "▓" in text and "░" in text
    assert "Idle: 9.5 days" in text and "Behind the pace: 3 steps" in text
    assert "experience → Never" in text and "level → Beginner" in text
    assert message.buttons[0] == ["🙋 Take", "✍️ Write to student"]
    [row] = await outbox_rows(desk, "alert")
    assert row.key == f"alert:{(await alerts(desk))[0].id}" and row.priority == 0


async def test_take_by_a_curator_edits_the_alert_with_their_name(desk: Desk) -> None:
    await raise_alert(desk, await stalled(desk, desk.student()))
    await desk.drain()
    [alert] = await alerts(desk)
    message = await alert_message(desk)

    assert await desk.press(desk.bob, message, data(alert, "take")) == "Taken ✓ The student is yours."
    assert "Taken by Bob" in (message.text or "")
    assert "🙋 Take" not in [b for row in message.buttons for b in row]
    [alert] = await alerts(desk)
    assert (alert.status, alert.taken_by, alert.taken_by_name) == (AlertStatus.TAKEN, BOB, "Bob")

    # pressed again: the same answer, nothing changes
    edits = len(message.edits)
    assert await desk.press(desk.bob, message, data(alert, "take")) == "You have already taken it."
    assert len(message.edits) == edits


async def test_a_curator_with_the_longest_telegram_name_can_take_an_alert(desk: Desk) -> None:
    await raise_alert(desk, await stalled(desk, desk.student()))
    await desk.drain()
    [alert] = await alerts(desk)
    # 64 + 64 characters and the space: one over the 128 the alert keeps of the taker's name
    long = desk.standin.user(5005, "Б" * 64, last_name="Ж" * 64, language_code="en")
    desk.standin.set_member(GROUP, long.id)
    assert await desk.press(long, await alert_message(desk), data(alert, "take")) == "Taken ✓ The student is yours."
    [alert] = await alerts(desk)
    assert alert.taken_by == long.id and alert.taken_by_name == "Б" * 64 + " " + "Ж" * 62 + "…"


async def test_non_curators_are_not_allowed_and_nothing_changes(desk: Desk) -> None:
    await raise_alert(desk, await stalled(desk, desk.student()))
    await desk.drain()
    [alert] = await alerts(desk)
    message = await alert_message(desk)

    assert await desk.press(desk.outsider, message, data(alert, "take")) == "Only curators can use these buttons."
    assert await desk.press(desk.outsider, message, data(alert, "done")) == "Only curators can use these buttons."
    assert message.edits == []
    assert (await alerts(desk))[0].status is AlertStatus.OPEN

    # an admin from ADMIN_IDS may act without being in the group
    admin = desk.standin.user(ADMIN, "Dana", language_code="en")
    assert await desk.press(admin, message, data(alert, "take")) == "Taken ✓ The student is yours."


async def test_two_curators_taking_at_once_one_wins_and_the_other_is_told(desk: Desk) -> None:
    await raise_alert(desk, await stalled(desk, desk.student()))
    await desk.drain()
    [alert] = await alerts(desk)
    message = await alert_message(desk)
    t = desk.app.translations.get("en")

    def take(user_id: int, name: str):  # type: ignore[no-untyped-def]
        return desk.app.desk.press(
            alert_id=alert.id, act="take", chat_id=GROUP, message_id=message.message_id,
            user_id=user_id, user_name=name, t=t,
        )  # fmt: skip

    first, second = await asyncio.gather(take(BOB, "Bob"), take(CAROL_CURATOR, "Carol"))
    winners = [o for o in (first, second) if o.text is not None]
    assert len(winners) == 1
    [alert] = await alerts(desk)
    loser = second if winners[0] is first else first
    assert loser.answer == f"{alert.taken_by_name} has already taken it."

    # through Telegram: the curator who lost is told who has it
    other = desk.carol if alert.taken_by == BOB else desk.bob
    assert await desk.press(other, message, data(alert, "take")) == f"{alert.taken_by_name} has already taken it."


async def test_a_forged_press_on_another_message_is_refused(desk: Desk) -> None:
    await raise_alert(desk, await stalled(desk, desk.student()))
    await raise_alert(desk, await stalled(desk, desk.student(1002, "Carl", username="carl")))
    await desk.drain()
    alice_alert, carl_alert = await alerts(desk)
    carl_message = await alert_message(desk, carl_alert)

    # valid data for Alice's alert, pressed on Carl's alert message
    answer = await desk.press(desk.bob, carl_message, data(alice_alert, "done"))
    assert answer == "This button is no longer active."
    assert [a.status for a in await alerts(desk)] == [AlertStatus.OPEN, AlertStatus.OPEN]
    assert carl_message.edits == [] and (await alert_message(desk, alice_alert)).edits == []


async def test_resolved_by_a_curator_and_a_stale_press_after_it(desk: Desk) -> None:
    await raise_alert(desk, await stalled(desk, desk.student()))
    await desk.drain()
    [alert] = await alerts(desk)
    message = await alert_message(desk)

    assert await desk.press(desk.carol, message, data(alert, "done")) == "Resolved ✓"
    assert "Resolved by Carol" in (message.text or "") and message.buttons == []
    # an old copy of the keyboard pressed later: polite, and nothing changes
    assert await desk.press(desk.bob, message, data(alert, "take")) == "This alert is already resolved."
    [alert] = await alerts(desk)
    assert alert.status is AlertStatus.RESOLVED and alert.resolved_by == CAROL_CURATOR and alert.taken_by is None


async def test_snoozed_alert_returns_after_a_day_while_still_stalled(desk: Desk) -> None:
    await raise_alert(desk, await stalled(desk, desk.student()))
    await desk.drain()
    [alert] = await alerts(desk)
    message = await alert_message(desk)

    assert (await desk.press(desk.bob, message, data(alert, "s1")) or "").startswith("Snoozed until")
    assert "Snoozed until" in (message.text or "") and message.buttons == []

    desk.clock.advance(timedelta(hours=23))
    await desk.job("return_snoozed")
    await desk.drain()
    assert len(desk.group_messages()) == 1 and (await alerts(desk))[0].status is AlertStatus.SNOOZED

    desk.clock.advance(timedelta(hours=2))
    await desk.job("return_snoozed")
    await desk.drain()
    first, back = desk.group_messages()
    [alert] = await alerts(desk)
    assert alert.status is AlertStatus.OPEN and alert.message_id == back.message_id
    assert "Alice Smith" in (back.text or "") and back.buttons[0][0] == "🙋 Take"
    # the old message's buttons are no longer the alert's
    assert await desk.press(desk.bob, first, data(alert, "take")) == "This button is no longer active."


async def test_a_returning_snoozed_alert_shows_the_idle_time_and_reasons_as_of_its_return(desk: Desk) -> None:
    alice = desk.student()
    await onboard(alice)
    enrollment_id = await enrollment_of(desk, alice)
    desk.clock.advance(3 * DAY)
    await stall_at_once(desk, [enrollment_id])
    await desk.app.ticker.tick()
    await desk.drain()
    [alert] = await alerts(desk)
    assert alert.reasons["idle_days"] == 3.0
    first = await alert_message(desk)
    assert "Idle: 3.0 days" in (first.text or "")
    await desk.press(desk.bob, first, data(alert, "s1"))

    desk.clock.advance(DAY + timedelta(hours=1))
    await desk.job("return_snoozed")
    await desk.drain()
    back = await alert_message(desk)
    assert back.message_id != first.message_id
    assert "Idle: 4.0 days" in (back.text or "") and "Idle: 3.0" not in (back.text or "")
    [alert] = await alerts(desk)
    assert alert.reasons["idle_days"] == 4.0  # what the group sees is what is stored


async def test_snoozed_alert_does_not_return_when_the_student_progressed(desk: Desk) -> None:
    alice = desk.student()
    await raise_alert(desk, await stalled(desk, alice))
    await desk.drain()
    [alert] = await alerts(desk)
    message = await alert_message(desk)
    await desk.press(desk.bob, message, data(alert, "s3"))

    await alice.click("Done")  # the student moves on: the alert resolves by itself
    desk.clock.advance(4 * DAY)
    await desk.job("return_snoozed")
    await desk.drain()
    assert len(desk.group_messages()) == 1
    [alert] = await alerts(desk)
    assert alert.status is AlertStatus.RESOLVED and alert.resolved_by is None
    assert "the student moved on" in (message.text or "")


async def test_progress_resolves_the_alert_and_edits_its_message(desk: Desk) -> None:
    alice = desk.student()
    await raise_alert(desk, await stalled(desk, alice))
    await desk.drain()
    message = await alert_message(desk)

    await alice.click("Done")
    [edit] = await outbox_rows(desk, "alert_edit")
    assert edit.status is OutboxStatus.PENDING and edit.priority == 0
    await desk.drain()
    assert "✅ Resolved: the student moved on" in (message.text or "") and message.buttons == []
    [alert] = await alerts(desk)
    assert alert.status is AlertStatus.RESOLVED and alert.resolved_by is None

    # stalled again later: a new alert may be raised
    async with desk.app.uow() as uow:
        enrollment = await uow.session.get(Enrollment, alert.enrollment_id)
        assert enrollment is not None
        enrollment.stalled_at = desk.clock.now()
        await uow.commit()
    assert await raise_alert(desk, alert.enrollment_id)


async def test_progress_before_the_alert_went_out_cancels_it(desk: Desk) -> None:
    alice = desk.student()
    await raise_alert(desk, await stalled(desk, alice))
    await alice.click("Done")
    [row] = await outbox_rows(desk, "alert")
    assert row.status is OutboxStatus.CANCELLED
    await desk.drain()
    assert desk.group_messages() == []


# ----- settings and permissions --------------------------------------------------------------------


async def test_curator_features_are_off_without_a_curator_chat(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    async with running_bot(make_settings(database_url, standin), clock) as app:
        world = Desk(app, standin, clock, *(standin.user(i, n) for i, n in ((BOB, "Bob"), (2, "C"), (3, "E"))))
        alice = world.student()
        enrollment_id = await stalled(world, alice)
        assert not await raise_alert(world, enrollment_id)
        await alice.send("/curator")
        assert "no curator chat yet" in (alice.last.text or "")  # type: ignore[union-attr]
        await alice.send("hello?")
        assert "no curator chat" not in (alice.last.text or "")  # type: ignore[union-attr]
        async with app.uow() as uow:
            assert await uow.session.scalar(select(func.count()).select_from(Alert)) == 0


async def test_take_pressed_before_the_sender_recorded_the_post_counts(desk: Desk) -> None:
    """Telegram shows the alert before the sender has stored its message id; a quick curator still takes it."""
    enrollment_id = await stalled(desk, desk.student())
    assert await raise_alert(desk, enrollment_id)
    [alert] = await alerts(desk)
    assert alert.message_id is None  # queued, and (as far as the database knows) not posted yet
    post = desk.standin.push_message(desk.carol, GROUP, "the alert, as the group sees it")
    message = desk.standin.message(GROUP, post["message_id"])
    assert message is not None
    assert await desk.press(desk.bob, message, data(alert, "take")) != "This button is no longer active."
    [taken] = await alerts(desk)
    assert taken.status is AlertStatus.TAKEN and taken.taken_by == BOB
    assert (taken.chat_id, taken.message_id) == (GROUP, message.message_id)


async def test_a_staff_curator_outside_the_group_may_take_alerts(desk: Desk) -> None:
    await raise_alert(desk, await stalled(desk, desk.student()))
    await desk.drain()
    message = await alert_message(desk)
    [alert] = await alerts(desk)
    async with desk.app.uow() as uow:
        await desk.app.staff.set_role(uow, OUTSIDER, Role.CURATOR, actor_id=ADMIN, now=desk.clock.now())
        await uow.commit()
    assert await desk.press(desk.outsider, message, data(alert, "take")) != "Only curators can use these buttons."
    [taken] = await alerts(desk)
    assert taken.taken_by == OUTSIDER


async def test_many_students_stalling_in_one_tick_each_get_an_alert_and_later_ticks_keep_working(desk: Desk) -> None:
    # more inserts over one pooled connection than asyncpg's and PostgreSQL's plan-caching thresholds (5)
    students = [desk.student(5000 + i, f"Student{i}", username=f"s{i}") for i in range(36)]
    enrollments = []
    for student in students:
        await onboard(student)
        enrollments.append(await enrollment_of(desk, student))

    await stall_at_once(desk, enrollments[:30])
    await desk.app.ticker.tick()
    assert len(await alerts(desk)) == 30
    for later in (enrollments[30:33], enrollments[33:]):
        desk.clock.advance(timedelta(minutes=1))
        await stall_at_once(desk, later)
        await desk.app.ticker.tick()
    assert len(await alerts(desk)) == 36
    await desk.drain()
    posted = [m for m in desk.group_messages() if "Student stalled" in (m.text or "")]
    assert len(posted) == 36
