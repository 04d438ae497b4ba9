"""The relay between students and curators, in a forum topic and in a plain group."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import bot.curator.relay as relay_module
from bot.callbacks import AskCurator
from bot.curator.topics import linked_student
from bot.db.models import CuratorTopic, OutboxStatus
from bot.standin import BotAPIStandIn
from journeys.clock import ManualClock
from tests.curator_world import (
    GROUP,
    Desk,
    alert_message,
    alerts,
    data,
    desk_world,
    onboard,
    outbox_rows,
    raise_alert,
    stalled,
)


@pytest.fixture
async def desk(database_url: str, standin: BotAPIStandIn, clock: ManualClock) -> AsyncIterator[Desk]:
    async for world in desk_world(database_url, standin, clock, forum=False):
        yield world


@pytest.fixture
async def forum(database_url: str, standin: BotAPIStandIn, clock: ManualClock) -> AsyncIterator[Desk]:
    async for world in desk_world(database_url, standin, clock, forum=True):
        yield world


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
    # the new topic's card follows the question that created the topic
    assert forum.group_messages(thread_id=thread)[0].text == "How do I install Python on Windows?"

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


async def test_a_reply_that_arrives_before_the_relayed_message_is_linked_still_reaches_the_student(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telegram shows the question before the sender has stored which student it is about."""
    alice = desk.student()
    await onboard(alice)
    await alice.send("/curator")
    await alice.send("Where is the recording?")

    # the group sees the copy before the sender hears back from Telegram and stores which student it is about
    response = desk.standin.hold_response("copyMessage", chat_id=GROUP)
    looked_up = asyncio.Event()

    async def spied_lookup(session: AsyncSession, chat_id: int, message_id: int) -> int | None:
        looked_up.set()
        return await linked_student(session, chat_id, message_id)

    monkeypatch.setattr(relay_module, "linked_student", spied_lookup)
    draining = asyncio.create_task(desk.drain())
    await desk.standin.wait_for(lambda: len(desk.group_messages()) == 2, what="the question in the group")
    copy = desk.group_messages()[-1]
    desk.standin.push_message(desk.bob, GROUP, "In the course chat", reply_to_message_id=copy.message_id)
    await asyncio.wait_for(looked_up.wait(), 10)  # the reply was handled while the link was unknown
    response.set()
    await draining
    await desk.standin.settle()
    await desk.drain()
    assert (alice.last.text if alice.last else None) == "In the course chat"
    assert desk.group_messages()[-1].text == "✓ Delivered to Alice Smith"


async def test_a_reply_to_a_bot_message_about_no_student_gets_a_clear_note_instead_of_silence(desk: Desk) -> None:
    alice = desk.student()
    await onboard(alice)
    await alice.send("/curator")
    await alice.send("Is there homework?")
    await desk.drain()
    copy = desk.group_messages()[-1]
    await desk.bob.send("Yes, step 2", chat_id=GROUP, reply_to_message_id=copy.message_id)
    await desk.drain()
    delivered = desk.group_messages()[-1]
    assert delivered.text == "✓ Delivered to Alice Smith"

    # the delivery note is the bot's, but about no message of a student: nothing to relay, and the curator is told
    received = len(alice.messages)
    await desk.bob.send("And step 3?", chat_id=GROUP, reply_to_message_id=delivered.message_id)
    note = desk.group_messages()[-1]
    assert note.text == (
        "⚠️ Not sent: I do not know which student this is for. Reply to the student's question or alert."
    )
    assert note.raw["reply_to_message"]["text"] == "And step 3?"
    await desk.drain()
    assert len(alice.messages) == received
    # staff talk (a reply to a curator's message) stays quiet
    await desk.carol.send("I'll take it", chat_id=GROUP, reply_to_message_id=note.message_id - 1)
    assert desk.group_messages()[-1].text == "I'll take it"


async def test_a_student_relaying_too_often_is_told_when_to_write_again_and_the_group_is_spared(desk: Desk) -> None:
    alice = desk.student()
    await onboard(alice)
    for n in range(1, 4):
        await alice.send("/curator")
        await alice.send(f"Question {n}")
        assert "Passed on to the curators" in (alice.last.text or "")  # type: ignore[union-attr]
        desk.clock.advance(timedelta(minutes=1))
    # 12:03 in Moscow: a fourth question within five minutes of the first (12:00) waits
    await alice.send("/curator")
    await alice.send("Question 4")
    refusal = alice.last
    assert refusal is not None and refusal.raw.get("reply_to_message", {}).get("text") == "Question 4"
    assert refusal.text == (
        "I passed on 3 of your questions in the last few minutes, so this one was not forwarded yet. "
        "Please send it again after 12:05 (/curator)."
    )
    await desk.drain()
    assert len(await outbox_rows(desk, "relay")) == 3
    assert [m.text for m in desk.group_messages() if (m.text or "").startswith("Question")] == [
        "Question 1",
        "Question 2",
        "Question 3",
    ]

    desk.clock.advance(timedelta(minutes=2))  # 12:05: the first one left the window
    await alice.send("/curator")
    await alice.send("Question 4")
    assert "Passed on to the curators" in (alice.last.text or "")  # type: ignore[union-attr]
    assert len(await outbox_rows(desk, "relay")) == 4


async def test_a_message_that_loses_the_race_to_be_the_question_is_still_answered(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two messages sent at once after /curator: the first to clear the flag is the question; the other is told."""
    alice = desk.student()
    await onboard(alice)
    await alice.send("/curator")
    relay = desk.app.desk.relay
    real = relay.relay_question

    async def a_twin_wins_first(telegram_id: int, message_id: int) -> object:
        await real(telegram_id, message_id + 1000)  # the twin message, handled a moment earlier
        return await real(telegram_id, message_id)

    monkeypatch.setattr(relay, "relay_question", a_twin_wins_first)
    await alice.send("And also this")
    answer = alice.last
    assert answer is not None and answer.raw.get("reply_to_message", {}).get("text") == "And also this"
    assert answer.text == (
        "This message was not passed on: your question went just before it. To add to it, send /curator again."
    )
    assert len(await outbox_rows(desk, "relay")) == 1
