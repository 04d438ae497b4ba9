"""The curator desk through the real bot and the stand-in: alerts and their buttons, topics, relay, digest."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.callbacks import AskCurator
from bot.curator.cards import AlertPress
from bot.db.models import Alert, AlertStatus, CuratorTopic, Enrollment, OutboxMessage, OutboxStatus, Role
from bot.outbox.limiter import Limiter
from bot.standin import BotAPIStandIn, FakeUser
from bot.standin.server import StoredMessage
from journeys.clock import ManualClock
from tests.conftest import make_settings, running_bot

GROUP = -100777
BOB, CAROL_CURATOR, OUTSIDER, ADMIN = 2001, 2002, 3003, 4004
REASONS = {"idle_days": 9.5, "behind_steps": 3, "ladder_exhausted": True}
DAY = timedelta(days=1)


@dataclass
class Desk:
    app: App
    standin: BotAPIStandIn
    clock: ManualClock
    bob: FakeUser
    carol: FakeUser
    outsider: FakeUser

    def student(self, user_id: int = 1001, name: str = "Alice", **kw: object) -> FakeUser:
        kw = {"last_name": "Smith", "username": "alice"} | kw
        return self.standin.user(user_id, name, language_code="en", **kw)  # type: ignore[arg-type]

    async def drain(self) -> None:
        while await self.app.sender.drain_once():
            pass

    def group_messages(self, thread_id: int | None = None) -> list[StoredMessage]:
        return [m for m in self.standin.messages_in(GROUP, thread_id=thread_id) if not m.deleted]

    async def press(self, who: FakeUser, message: StoredMessage, data: str) -> str | None:
        callback_id = self.standin.push_callback(who, message.message_id, GROUP, data)
        await self.standin.settle()
        answer = self.standin.callback_answers.get(callback_id)
        return answer.text if answer else None

    async def job(self, name: str) -> None:
        async with self.app.uow() as uow:
            await getattr(self.app.desk, name)(uow, self.clock.now())
            await uow.commit()


async def desk_world(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock, *, forum: bool, **settings: object
) -> AsyncIterator[Desk]:
    standin.group(GROUP, "Curators", is_forum=forum, members={BOB: "member", CAROL_CURATOR: "administrator"})
    people = [
        standin.user(i, name, language_code="en")
        for i, name in ((BOB, "Bob"), (CAROL_CURATOR, "Carol"), (OUTSIDER, "Eve"))
    ]
    config = make_settings(database_url, standin, curator_chat_id=GROUP, admin_ids=frozenset({ADMIN}), **settings)
    async with running_bot(config, clock) as app:
        app.sender.limiter = Limiter(1000, private_interval=0.01, group_interval=0.01)
        yield Desk(app, standin, clock, *people)


@pytest.fixture
async def desk(database_url: str, standin: BotAPIStandIn, clock: ManualClock) -> AsyncIterator[Desk]:
    async for world in desk_world(database_url, standin, clock, forum=False):
        yield world


@pytest.fixture
async def forum(database_url: str, standin: BotAPIStandIn, clock: ManualClock) -> AsyncIterator[Desk]:
    async for world in desk_world(database_url, standin, clock, forum=True):
        yield world


async def onboard(student: FakeUser) -> None:
    await student.send("/start")
    await student.click("Never")
    await student.click("Beginner")
    await student.click("Skip")
    await student.click("Yes, I know the format")


async def stalled(desk: Desk, student: FakeUser) -> int:
    """An active student marked stalled (as the stall detection would), without an alert yet."""
    await onboard(student)
    async with desk.app.uow() as uow:
        record = await uow.students.by_telegram_id(student.id)
        assert record is not None
        enrollment = await uow.enrollments.current(record.id, desk.app.journey.id)
        assert enrollment is not None
        enrollment.stalled_at = desk.clock.now()
        await uow.commit()
        return enrollment.id


async def raise_alert(desk: Desk, enrollment_id: int) -> bool:
    async with desk.app.uow() as uow:
        enrollment = await uow.enrollments.get(enrollment_id)
        assert enrollment is not None
        student = await uow.students.get(enrollment.student_id)
        assert student is not None
        raised = await desk.app.desk.raise_alert(uow, student, enrollment, REASONS, desk.clock.now())
        await uow.commit()
        return raised


async def alerts(desk: Desk) -> list[Alert]:
    async with desk.app.uow() as uow:
        return list(await uow.session.scalars(select(Alert).order_by(Alert.id)))


async def alert_message(desk: Desk, alert: Alert | None = None) -> StoredMessage:
    alert = alert or (await alerts(desk))[-1]
    assert alert.chat_id == GROUP and alert.message_id is not None
    found = desk.standin.message(GROUP, alert.message_id)
    assert found is not None
    return found


def data(alert: Alert, act: str) -> str:
    return AlertPress(alert=alert.id, act=act).pack()


async def outbox_rows(desk: Desk, kind: str) -> list[OutboxMessage]:
    async with desk.app.uow() as uow:
        query = select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        return list(await uow.session.scalars(query))


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
    assert "Track: Python from zero" in text or "Track:" in text
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


# ----- forum topics ------------------------------------------------------------------------------


async def test_forum_topic_created_once_when_sends_race(forum: Desk) -> None:
    alice = forum.student()
    enrollment_id = await stalled(forum, alice)
    async with forum.app.uow() as uow:
        student = await uow.students.by_telegram_id(alice.id)
        assert student is not None
    topics = forum.app.desk.topics
    first, second = await asyncio.gather(topics.ensure(GROUP, student.id), topics.ensure(GROUP, student.id))
    assert first == second
    assert len(forum.standin.calls_to("createForumTopic")) == 1
    assert forum.standin.calls_to("createForumTopic")[0].params["name"] == "Alice Smith · @alice"

    # an alert and a question for the same student: both land in that topic
    await raise_alert(forum, enrollment_id)
    await alice.send("/curator")
    await alice.send("Where is lesson 2?")
    await forum.drain()
    assert len(forum.standin.calls_to("createForumTopic")) == 1
    card, alert_msg, question = forum.group_messages(thread_id=first)
    assert "Student card" in (card.text or "") and forum.standin.chats[GROUP].pinned == [card.message_id]
    assert "Student stalled" in (alert_msg.text or "")
    assert question.text == "Where is lesson 2?"
    [alert] = await alerts(forum)
    assert alert.thread_id == first and alert.message_id == alert_msg.message_id


async def test_alert_creates_the_topic_through_the_sender(forum: Desk) -> None:
    await raise_alert(forum, await stalled(forum, forum.student()))
    await forum.drain()
    [alert] = await alerts(forum)
    assert alert.thread_id is not None
    message = await alert_message(forum)
    assert message.message_thread_id == alert.thread_id
    assert await forum.press(forum.bob, message, data(alert, "write")) == (
        "Write in this topic: every message here goes to Alice Smith."
    )


async def test_deleted_topic_is_recreated_once(forum: Desk) -> None:
    alice = forum.student()
    await raise_alert(forum, await stalled(forum, alice))
    await forum.drain()
    [alert] = await alerts(forum)
    old = alert.thread_id
    assert old is not None
    await forum.app.bot.delete_forum_topic(GROUP, old)  # a curator deleted the topic

    await alice.send("/curator")
    await alice.send("Anyone there?")
    await forum.drain()
    [row] = await outbox_rows(forum, "relay")
    assert row.status is OutboxStatus.FAILED and "thread not found" in (row.last_error or "")

    await forum.job("repair_topics")
    await forum.drain()
    async with forum.app.uow() as uow:
        [topic] = await uow.session.scalars(select(CuratorTopic))
    assert topic.thread_id not in (None, old)
    assert len(forum.standin.calls_to("createForumTopic")) == 2
    [card, question] = forum.group_messages(thread_id=topic.thread_id)
    assert question.text == "Anyone there?" and "Student card" in (card.text or "")
    [row] = await outbox_rows(forum, "relay")
    assert row.status is OutboxStatus.SENT


# ----- relay -------------------------------------------------------------------------------------


async def test_relay_both_ways_in_a_forum_topic(forum: Desk) -> None:
    alice = forum.student()
    await onboard(alice)
    await alice.send("/curator")
    assert "Write your question in one message" in (alice.last.text or "")  # type: ignore[union-attr]
    await alice.send("How do I install Python on Windows?")
    confirmation = alice.last
    assert confirmation is not None and "Passed on to the curators" in (confirmation.text or "")
    assert confirmation.raw.get("reply_to_message")  # a reply to the question itself
    await forum.drain()
    async with forum.app.uow() as uow:
        [topic] = await uow.session.scalars(select(CuratorTopic))
    thread = topic.thread_id
    assert forum.group_messages(thread_id=thread)[-1].text == "How do I install Python on Windows?"

    # the question was one message: the next one is an ordinary message again
    await alice.send("thanks")
    assert len(await outbox_rows(forum, "relay")) == 1

    await forum.bob.send("Use the installer from python.org", chat_id=GROUP, message_thread_id=thread)
    forum.standin.push_message(
        forum.bob, GROUP, photo=b"\xff\xd8 screenshot", caption="Like this", message_thread_id=thread
    )
    await forum.standin.settle()
    await forum.drain()
    answers = alice.new_messages()
    assert [m.text for m in answers[-2:]] == ["Use the installer from python.org", "Like this"]
    assert answers[-1].media_kind == "photo"
    delivered = [m for m in forum.group_messages(thread_id=thread) if (m.text or "").startswith("✓ Delivered")]
    assert [m.text for m in delivered] == ["✓ Delivered to Alice Smith"] * 2
    rows = await outbox_rows(forum, "reply")
    assert [r.priority for r in rows] == [0, 0] and all(r.status is OutboxStatus.SENT for r in rows)


async def test_relay_in_a_plain_group_through_replies(desk: Desk) -> None:
    alice = desk.student()
    enrollment_id = await stalled(desk, alice)
    # the nudge's "write to a curator" button
    last = alice.last
    assert last is not None
    desk.standin.push_callback(alice, last.message_id, alice.id, AskCurator(enrollment=enrollment_id).pack())
    await desk.standin.settle()
    assert "Write your question in one message" in (alice.last.text or "")  # type: ignore[union-attr]
    await alice.send_photo(caption="This error")
    await desk.drain()
    header, copy = desk.group_messages()
    assert header.text == "❓ Question from Alice Smith @alice"
    assert copy.media_kind == "photo" and copy.text == "This error"

    # ordinary staff talk is not relayed
    await desk.carol.send("coffee?", chat_id=GROUP)
    await desk.bob.send("Reinstall the package", chat_id=GROUP, reply_to_message_id=copy.message_id)
    await desk.drain()
    assert (alice.last.text if alice.last else None) == "Reinstall the package"
    assert len(await outbox_rows(desk, "reply")) == 1
    note = desk.group_messages()[-1]
    assert note.text == "✓ Delivered to Alice Smith"
    assert note.raw["reply_to_message"]["text"] == "Reinstall the package"

    # a reply to the alert message reaches the student too
    await raise_alert(desk, enrollment_id)
    await desk.drain()
    message = await alert_message(desk)
    [alert] = await alerts(desk)
    assert await desk.press(desk.bob, message, data(alert, "write")) == (
        "Reply to the alert message: your reply goes to Alice Smith."
    )
    await desk.bob.send("Are you still with us?", chat_id=GROUP, reply_to_message_id=message.message_id)
    await desk.drain()
    assert (alice.last.text if alice.last else None) == "Are you still with us?"


async def test_a_reply_that_cannot_reach_the_student_is_reported_under_it(forum: Desk) -> None:
    alice = forum.student()
    await onboard(alice)
    await alice.send("/curator")
    await alice.send("Is the webinar recorded?")
    await forum.drain()
    async with forum.app.uow() as uow:
        [topic] = await uow.session.scalars(select(CuratorTopic))
    thread = topic.thread_id

    forum.standin.block(alice.id)
    await forum.bob.send("Yes, the link is in the course", chat_id=GROUP, message_thread_id=thread)
    await forum.drain()
    note = forum.group_messages(thread_id=thread)[-1]
    assert note.text == "✗ Not delivered to Alice Smith: they blocked the bot or deleted their account"
    assert note.raw["reply_to_message"]["text"] == "Yes, the link is in the course"
    async with forum.app.uow() as uow:
        student = await uow.students.by_telegram_id(alice.id)
        assert student is not None and student.blocked_at is not None

    # another refusal: the curator is told Telegram's reason
    forum.standin.unblock(alice.id)
    forum.standin.fail_next("copyMessage", status=400, description="Bad Request: message to copy not found")
    await forum.bob.send("Here it is again", chat_id=GROUP, message_thread_id=thread)
    await forum.drain()
    assert forum.group_messages(thread_id=thread)[-1].text == (
        "✗ Not delivered to Alice Smith: Bad Request: message to copy not found"
    )
    rows = await outbox_rows(forum, "reply")
    assert [r.status for r in rows] == [OutboxStatus.FAILED, OutboxStatus.FAILED]
    assert [m.text for m in forum.group_messages(thread_id=thread) if (m.text or "").startswith("✓")] == []


# ----- digest and settings -----------------------------------------------------------------------


async def test_digest_arrives_once_a_day_at_digest_time(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    # the clock starts at 12:00 in Moscow
    async for desk in desk_world(database_url, standin, clock, forum=False, digest_time="13:30"):
        await raise_alert(desk, await stalled(desk, desk.student()))
        await desk.drain()
        desk.clock.advance(timedelta(hours=1))
        await desk.app.ticker.tick()
        await desk.drain()
        assert not [m for m in desk.group_messages() if "Curator digest" in (m.text or "")]

        desk.clock.advance(timedelta(minutes=31))
        await desk.app.ticker.tick()
        await desk.app.ticker.tick()
        await desk.drain()
        [digest] = [m for m in desk.group_messages() if "Curator digest" in (m.text or "")]
        assert "Open alerts: 1 (not taken: 1)" in (digest.text or "")

        desk.clock.advance(DAY)
        await desk.app.ticker.tick()
        await desk.drain()
        digests = [m for m in desk.group_messages() if "Curator digest" in (m.text or "")]
        assert len(digests) == 2
        assert "Not taken for more than 24 h: 1" in (digests[1].text or "") and "Alice Smith" in (digests[1].text or "")
        async with desk.app.uow() as uow:
            keys = await uow.session.scalars(select(OutboxMessage.key).where(OutboxMessage.kind == "digest"))
            assert sorted(keys) == ["digest:2026-11-20", "digest:2026-11-21"]


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


async def test_quiet_days_send_no_digest_and_a_late_one_is_replaced(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    async for desk in desk_world(database_url, standin, clock, forum=False, digest_time="13:30"):
        desk.clock.advance(timedelta(hours=2))
        await desk.app.ticker.tick()
        assert await outbox_rows(desk, "digest") == []  # nothing open, nothing resolved: nothing to read

        await raise_alert(desk, await stalled(desk, desk.student()))
        await desk.app.ticker.tick()
        desk.clock.advance(DAY)
        await desk.app.ticker.tick()  # yesterday's digest never went out: today's replaces it
        rows = await outbox_rows(desk, "digest")
        assert [row.status for row in rows] == [OutboxStatus.CANCELLED, OutboxStatus.PENDING]


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
