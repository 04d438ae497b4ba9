"""Forum topics in the curator group: one per student, its pinned card, recreated when deleted."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

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
async def forum(database_url: str, standin: BotAPIStandIn, clock: ManualClock) -> AsyncIterator[Desk]:
    async for world in desk_world(database_url, standin, clock, forum=True):
        yield world


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
    # the new topic's card is queued when the topic is created, so it follows the message that created it
    [question, card] = forum.group_messages(thread_id=topic.thread_id)
    assert question.text == "Anyone there?" and "Student card" in (card.text or "")
    assert forum.standin.chats[GROUP].pinned[-1] == card.message_id
    [row] = await outbox_rows(forum, "relay")
    assert row.status is OutboxStatus.SENT


async def test_student_card_is_sent_through_the_outbox_waits_out_a_429_and_is_pinned(forum: Desk) -> None:
    alice = forum.student()
    await onboard(alice)
    async with forum.app.uow() as uow:
        student = await uow.students.by_telegram_id(alice.id)
        assert student is not None
    forum.standin.fail_next("sendMessage", chat_id=GROUP, retry_after=1)

    thread = await forum.app.desk.topics.ensure(GROUP, student.id)
    await forum.drain()
    [card] = forum.group_messages(thread_id=thread)
    assert "Student card" in (card.text or "") and "Alice Smith" in (card.text or "")
    assert forum.standin.chats[GROUP].pinned == [card.message_id]
    refused, sent = [c for c in forum.standin.calls_to("sendMessage") if c.chat_id == GROUP]
    assert refused.status == 429 and sent.ok
    assert sent.at - refused.at >= 1.0  # Telegram said "retry after 1"
    [row] = await outbox_rows(forum, "student_card")
    assert row.key == f"card:{GROUP}:{thread}" and row.status is OutboxStatus.SENT
    async with forum.app.uow() as uow:
        [topic] = await uow.session.scalars(select(CuratorTopic))
        assert topic.card_message_id == card.message_id
        assert await linked_student(uow.session, GROUP, card.message_id) == student.id
