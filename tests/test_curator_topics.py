"""Forum topics in the curator group: one per student, its pinned card, recreated when deleted."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

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
    [card, question] = forum.group_messages(thread_id=topic.thread_id)
    assert question.text == "Anyone there?" and "Student card" in (card.text or "")
    [row] = await outbox_rows(forum, "relay")
    assert row.status is OutboxStatus.SENT
