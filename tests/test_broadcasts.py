"""Broadcasts through the stand-in on both databases: the wizard, delivery through the one sender, crashes."""

import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.app import App
from bot.broadcasts.callbacks import WizardAction, WizardButton
from bot.db.models import (
    AuditEntry,
    Broadcast,
    BroadcastStatus,
    Enrollment,
    OutboxMessage,
    OutboxStatus,
    Priority,
    Student,
)
from bot.outbox.claims import claim_due
from bot.outbox.messages import Out
from bot.outbox.payloads import NudgePayload
from bot.outbox.queue import enqueue
from bot.standin import BotAPIStandIn, FakeUser
from journeys.clock import ManualClock
from journeys.journey import EnrollmentStatus
from tests.conftest import make_settings, running_bot

ADMIN = 9001
CARE = 9002
BOLD = [{"type": "bold", "offset": 6, "length": 3}]


@pytest.fixture
async def app(database_url: str, standin: BotAPIStandIn, clock: ManualClock) -> AsyncIterator[App]:
    """The bot running with ADMIN as an admin."""
    async with running_bot(make_settings(database_url, standin, admin_ids=str(ADMIN)), clock) as app:
        yield app


@pytest.fixture
def admin(standin: BotAPIStandIn) -> FakeUser:
    return standin.user(ADMIN, "Ada", language_code="en")


async def seed(app: App, standin: BotAPIStandIn, n: int, *, first: int = 2001, **enrollment: object) -> list[int]:
    """n students with an active enrollment, each with a chat in the stand-in; returns their chat ids."""
    now = app.clock.now()
    async with app.uow() as uow:
        for telegram_id in range(first, first + n):
            standin.user(telegram_id, f"S{telegram_id}", language_code="en")
            student = await uow.students.add(
                Student(
                    telegram_id=telegram_id,
                    first_name=f"S{telegram_id}",
                    timezone="Europe/Moscow",
                    created_at=now,
                    last_activity_at=now,
                )
            )
            values = {"status": EnrollmentStatus.ACTIVE, "track": "novice", "answers": {}} | enrollment
            await uow.enrollments.add(
                Enrollment(student_id=student.id, journey_id=app.journey.id, created_at=now, **values)
            )
        await uow.commit()
    return list(range(first, first + n))


async def add_care(app: App, telegram_id: int) -> None:
    from bot.db.models import Role

    async with app.uow() as uow:
        await app.staff.set_role(uow, telegram_id, Role.CARE, actor_id=None, now=app.clock.now(), name="Carl")
        await uow.commit()


async def wizard(staffer: FakeUser, text: str = "Hello all", *, buttons: str | None = None) -> None:
    """From /broadcast to the preview: everyone, a bold text, optional link buttons."""
    await staffer.send("/broadcast")
    await staffer.click("Next ➡")
    assert "Now send the message" in staffer.last.text
    await staffer.send(text, entities=BOLD)
    assert "Add link buttons" in staffer.last.text
    if buttons:
        await staffer.send(buttons)
    else:
        await staffer.click("No buttons")
    assert "exactly what students will see" in staffer.last.text


async def drain(app: App) -> None:
    while await app.sender.drain_once():
        pass


def copies(standin: BotAPIStandIn, chat_id: int) -> list[object]:
    return [c for c in standin.calls if c.ok and c.chat_id == chat_id and c.method in ("copyMessage", "sendMediaGroup")]


async def broadcasts(app: App) -> list[Broadcast]:
    async with app.uow() as uow:
        return list(await uow.session.scalars(select(Broadcast).order_by(Broadcast.id)))


async def audit_actions(app: App) -> list[str]:
    async with app.uow() as uow:
        return [e.action for e in await uow.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def progress_of(staffer: FakeUser) -> str:
    found = [m for m in staffer.messages if "Broadcast #" in (m.text or "") and "scheduled" not in m.text]
    return found[-1].text or ""


async def test_wizard_end_to_end_delivers_one_copy_each_with_formatting_and_buttons(
    app: App, standin: BotAPIStandIn, clock: ManualClock, admin: FakeUser
) -> None:
    chats = await seed(app, standin, 5)
    waiting = await seed(app, standin, 2, first=3001, status=EnrollmentStatus.WAITING)
    async with app.uow() as uow:  # blocked the bot long ago: never a recipient
        student = await uow.students.by_telegram_id(chats[0])
        assert student is not None
        student.blocked_at = clock.now()
        await uow.commit()
    await admin.send("/broadcast")
    assert "Recipients: 6" in admin.last.text  # everyone reachable
    await admin.click("active")
    menu = admin.last
    assert "Recipients: 4" in menu.text and "status: active" in menu.text
    await admin.click("Idle: any")
    assert "Recipients: 0" in admin.last.text  # nobody idle for 3 days: AND
    await admin.click("Idle: 3 days")
    await admin.click("Idle: 7 days")
    await admin.click("Idle: 14 days")
    assert "Recipients: 4" in admin.last.text
    await admin.click("Next ➡")
    await admin.send("Hello all", entities=BOLD)
    await admin.send("Course page - https://example.com/course\nbroken line")
    assert "Line 2 is not a button" in admin.last.text
    await admin.send("Course page - https://example.com/course")
    preview = admin.messages[-2]
    summary = admin.last
    assert "Recipients: 4" in summary.text and "about 0 s" not in summary.text
    await admin.click("Send now")
    await drain(app)
    await app.broadcasts.progress.pulse()
    for chat in chats[1:]:
        got = standin.messages_in(chat)
        assert len(got) == 1 and len(copies(standin, chat)) == 1
        assert (got[0].text, got[0].entities, got[0].reply_markup) == (
            preview.text,
            preview.entities,
            preview.reply_markup,
        )
        assert got[0].entities == BOLD
        assert got[0].button("Course page")["url"] == "https://example.com/course"  # type: ignore[index]
    assert standin.messages_in(chats[0]) == [] and all(standin.messages_in(c) == [] for c in waiting)
    assert "is done" in progress_of(admin) and "Delivered: 4" in progress_of(admin)
    [done] = await broadcasts(app)
    assert (done.status, done.total, done.queued) == (BroadcastStatus.DONE, 4, 4)
    assert await audit_actions(app) == ["broadcast_created", "broadcast_sent"]
    await admin.send("/broadcasts")
    assert "#1" in admin.last.text and "delivered 4" in admin.last.text


async def test_broadcasts_are_refused_to_non_staff_by_command_and_by_forged_button(
    app: App, standin: BotAPIStandIn, admin: FakeUser
) -> None:
    await seed(app, standin, 2)
    await wizard(admin)
    mallory = standin.user(666, "Mallory", language_code="en")
    await mallory.send("/broadcast")
    assert "Not allowed" in mallory.last.text
    await mallory.send("/broadcasts")
    assert "Not allowed" in mallory.last.text
    send = WizardButton(broadcast=1, action=WizardAction.SEND).pack()
    answer = standin.push_callback(mallory, mallory.last.message_id, mallory.id, send)
    await standin.settle()
    assert standin.callback_answers[answer].text == "Not allowed."
    [draft] = await broadcasts(app)
    assert draft.status is BroadcastStatus.DRAFT
    assert standin.calls_to("copyMessage") == [c for c in standin.calls_to("copyMessage") if c.chat_id == ADMIN]
    assert await audit_actions(app) == []


async def test_the_care_team_broadcasts_and_a_restart_mid_wizard_loses_nothing(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    settings = make_settings(database_url, standin, admin_ids=str(ADMIN))
    async with running_bot(settings, clock) as app:
        chats = await seed(app, standin, 3)
        await add_care(app, CARE)
        carl = standin.user(CARE, "Carl", language_code="en")
        await carl.send("/broadcast")
        await carl.click("Next ➡")
        await carl.send("Hello all", entities=BOLD)
    async with running_bot(settings, clock) as app:  # a new process on the same database
        await carl.send("Docs - https://example.com/docs")
        assert "exactly what students will see" in carl.last.text
        await carl.click("Send now")
        await drain(app)
        assert all(len(copies(standin, chat)) == 1 for chat in chats)


async def test_cancel_mid_way_keeps_what_was_sent_and_cancels_the_rest(
    app: App, standin: BotAPIStandIn, admin: FakeUser
) -> None:
    chats = await seed(app, standin, 8)
    await wizard(admin)
    app.sender.batch = 3
    await admin.click("Send now")
    assert "sending" in progress_of(admin) and "remaining: 8" in progress_of(admin)
    assert await app.sender.drain_once() == 3
    await admin.click("Cancel broadcast")
    await drain(app)
    delivered = [chat for chat in chats if copies(standin, chat)]
    assert len(delivered) == 3
    assert "was cancelled" in progress_of(admin) and "Delivered: 3" in progress_of(admin)
    assert "Not sent: 5" in progress_of(admin)
    [stopped] = await broadcasts(app)
    assert stopped.status is BroadcastStatus.CANCELLED and stopped.cancelled_by == ADMIN
    async with app.uow() as uow:
        statuses = Counter(r.status for r in await uow.session.scalars(select(OutboxMessage)))
    assert statuses == {OutboxStatus.SENT: 3, OutboxStatus.CANCELLED: 5}
    assert (await audit_actions(app))[-1] == "broadcast_cancelled"


async def test_a_crash_mid_way_resumes_after_the_lease_without_duplicates(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    settings = make_settings(database_url, standin, admin_ids=str(ADMIN))
    async with running_bot(settings, clock) as app:
        chats = await seed(app, standin, 10)
        admin = standin.user(ADMIN, "Ada", language_code="en")
        await wizard(admin)
        delivery = app.broadcasts.delivery
        delivery.batch, delivery.time_box = 4, 0.0  # Send now queues nothing: the ticks will
        await admin.click("Send now")
        async with app.uow() as uow:
            assert await app.broadcasts.delivery.queue(uow, 1, deadline=time.monotonic() + 60, max_batches=1) == 4
        app.sender.batch = 2
        assert await app.sender.drain_once() == 2  # two delivered
        async with app.uow() as uow:  # two more claimed by a process that is then killed
            claimed = await claim_due(uow.session, now=clock.now(), limit=2, worker="dead", lease=timedelta(120))
            await uow.commit()
        assert len(claimed) == 2
    async with running_bot(settings, clock) as app:
        clock.advance(timedelta(minutes=3))  # past the lease
        await app.ticker.tick()  # resumes queueing after the cursor
        await drain(app)
        await app.ticker.tick()
        assert [len(copies(standin, chat)) for chat in chats] == [1] * 10
        [done] = await broadcasts(app)
        assert (done.status, done.queued) == (BroadcastStatus.DONE, 10)


async def test_a_429_storm_is_honoured_and_nothing_is_lost(app: App, standin: BotAPIStandIn, admin: FakeUser) -> None:
    chats = await seed(app, standin, 6)
    await wizard(admin)
    standin.fail_next("copyMessage", status=429, retry_after=1, times=3)
    await admin.click("Send now")
    await drain(app)
    assert app.sender.stats.rate_limited == 3
    calls = standin.calls_to("copyMessage")
    for refused in [c for c in calls if c.status == 429]:  # each retry waited retry_after
        [retry] = [c for c in calls if c.ok and c.chat_id == refused.chat_id]
        assert retry.at >= refused.at + 0.95
    assert [len(copies(standin, chat)) for chat in chats] == [1] * 6


async def test_students_who_blocked_the_bot_are_marked_and_left_out_next_time(
    app: App, standin: BotAPIStandIn, admin: FakeUser
) -> None:
    chats = await seed(app, standin, 4)
    standin.deactivate(chats[1])  # no my_chat_member about it: only a send finds out
    await wizard(admin)
    await admin.click("Send now")
    await drain(app)
    await app.broadcasts.progress.pulse()
    assert "Delivered: 3. Blocked the bot: 1." in progress_of(admin)
    attempts = len([c for c in standin.calls_to("copyMessage") if c.chat_id == chats[1]])
    await admin.send("/broadcast")
    assert "Recipients: 3" in admin.last.text
    await admin.click("Next ➡")
    await admin.send("Second", entities=[])
    await admin.click("No buttons")
    await admin.click("Send now")
    await drain(app)
    assert len([c for c in standin.calls_to("copyMessage") if c.chat_id == chats[1]]) == attempts


async def test_a_scheduled_broadcast_fires_when_the_journey_clock_gets_there(
    app: App, standin: BotAPIStandIn, clock: ManualClock, admin: FakeUser
) -> None:
    chats = await seed(app, standin, 3)
    await wizard(admin)
    await admin.click("Schedule")
    await admin.send("2026-11-20 11:00")  # Moscow; it is 12:00 there now
    assert "has passed" in admin.last.text
    await admin.send("2026-11-20 15:00")
    assert "scheduled for 2026-11-20 15:00 (Europe/Moscow); 3 recipients" in admin.last.text
    await app.ticker.tick()
    await drain(app)
    assert not any(copies(standin, chat) for chat in chats)
    clock.set(datetime(2026, 11, 20, 12, 0, 30, tzinfo=UTC))  # 15:00:30 in Moscow
    await app.ticker.tick()
    await drain(app)
    await app.ticker.tick()
    assert [len(copies(standin, chat)) for chat in chats] == [1] * 3
    [done] = await broadcasts(app)
    assert done.status is BroadcastStatus.DONE and done.started_at == clock.now()


async def test_a_scheduled_broadcast_cancelled_before_its_time_sends_nothing(
    app: App, standin: BotAPIStandIn, clock: ManualClock, admin: FakeUser
) -> None:
    chats = await seed(app, standin, 3)
    await wizard(admin)
    await admin.click("Schedule")
    await admin.send("2026-11-21 10:00")
    await admin.click("Cancel broadcast")
    assert "cancelled before it started" in admin.last.text
    clock.advance(timedelta(days=2))
    await app.ticker.tick()
    await drain(app)
    assert not any(copies(standin, chat) for chat in chats)
    [cancelled] = await broadcasts(app)
    assert cancelled.status is BroadcastStatus.CANCELLED and cancelled.queued == 0
    assert await audit_actions(app) == ["broadcast_created", "broadcast_cancelled"]


async def test_transactional_messages_go_before_a_running_broadcast(
    app: App, standin: BotAPIStandIn, clock: ManualClock, admin: FakeUser
) -> None:
    chats = await seed(app, standin, 6)
    await wizard(admin)
    await admin.click("Send now")
    async with app.uow() as uow:
        now = clock.now()
        await enqueue(
            uow.session, key="reply", payload=NudgePayload(messages=[Out.text("Your answer")]), chat_id=chats[3],
            due_at=now, now=now, priority=Priority.NORMAL,
        )  # fmt: skip
        await uow.commit()
    app.sender.batch = 1
    await app.sender.drain_once()
    sends = [c for c in standin.calls if c.ok and c.method in ("sendMessage", "copyMessage") and c.chat_id != ADMIN]
    assert [c.method for c in sends] == ["sendMessage"]
    await drain(app)
    assert [len(copies(standin, chat)) for chat in chats] == [1] * 6


async def test_an_album_is_collected_and_sent_as_one_media_group_in_paid_mode(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    settings = make_settings(
        database_url, standin, admin_ids=str(ADMIN), allow_paid_broadcast=True, broadcast_rate=1000
    )
    async with running_bot(settings, clock) as app:
        chats = await seed(app, standin, 3)
        admin = standin.user(ADMIN, "Ada", language_code="en")
        await admin.send("/broadcast")
        await admin.click("Next ➡")
        standin.push_message(admin, ADMIN, photo=b"one", caption="Our new campus", media_group_id="g1")
        standin.push_message(admin, ADMIN, photo=b"two", media_group_id="g1")
        await standin.settle()
        assert "Album received" in admin.last.text
        await admin.click("Preview")
        [preview] = standin.calls_to("sendMediaGroup")
        assert preview.chat_id == ADMIN and "allow_paid_broadcast" not in preview.params
        await admin.click("Send now")
        await drain(app)
        for chat in chats:
            [call] = copies(standin, chat)
            assert call.method == "sendMediaGroup" and call.params["allow_paid_broadcast"] is True  # type: ignore[attr-defined]
            assert [m.media_kind for m in standin.messages_in(chat)] == ["photo", "photo"]
            assert standin.messages_in(chat)[0].text == "Our new campus"
