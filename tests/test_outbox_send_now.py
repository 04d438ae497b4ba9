"""Nothing holds the database while it waits for something else: Send now while the ticker runs, the topic repair."""

from collections import Counter
from collections.abc import AsyncIterator

import pytest

from bot.db.models import OutboxStatus
from bot.standin import BotAPIStandIn
from journeys.clock import ManualClock
from tests.conftest import make_settings, running_bot
from tests.test_broadcasts import ADMIN, seed, wizard
from tests.test_curator import GROUP, Desk, alerts, desk_world, outbox_rows, raise_alert, stalled

STUDENTS = 300


async def test_send_now_while_the_ticker_runs_keeps_updates_flowing_and_sends_each_copy_once(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    settings = make_settings(database_url, standin, admin_ids=str(ADMIN), scheduler_tick_seconds=0.05)
    async with running_bot(settings, clock) as app:
        chats = await seed(app, standin, STUDENTS)
        admin = standin.user(ADMIN, "Ada", language_code="en")
        student = standin.user(chats[0], f"S{chats[0]}", language_code="en")
        await wizard(admin)
        # small batches: Send now queues for a while, commit after commit, while ticks keep coming
        app.broadcasts.delivery.batch, app.broadcasts.delivery.time_box = 5, 30.0
        app.ticker.start()
        try:
            await admin.click("Send now")
            # the bot handles updates one at a time: an answer here means Send now did not get stuck
            await student.send("/help")
            await student.expect(timeout=5)
        finally:
            await app.ticker.stop()
        async with app.uow() as uow:  # whatever the ticks left
            await app.broadcasts.delivery.queue(uow, 1, deadline=float("inf"))
        while await app.sender.drain_once():
            pass
    copies = Counter(c.chat_id for c in standin.calls_to("copyMessage") if c.ok and c.chat_id != ADMIN)
    assert set(copies) == set(chats)
    assert max(copies.values()) == 1, {chat: n for chat, n in copies.items() if n > 1}


@pytest.fixture
async def forum(database_url: str, standin: BotAPIStandIn, clock: ManualClock) -> AsyncIterator[Desk]:
    async for world in desk_world(database_url, standin, clock, forum=True):
        yield world


async def test_repairing_deleted_topics_asks_telegram_with_no_transaction_open(forum: Desk) -> None:
    alice = forum.student()
    await raise_alert(forum, await stalled(forum, alice))
    await forum.drain()
    [alert] = await alerts(forum)
    assert alert.thread_id is not None
    await forum.app.bot.delete_forum_topic(GROUP, alert.thread_id)
    await alice.send("/curator")
    await alice.send("Anyone there?")
    await forum.drain()  # the relay fails: thread not found

    topics = forum.app.desk.topics
    probe = topics.still_there
    in_transaction: list[bool] = []
    async with forum.app.uow() as uow:

        async def watched(chat_id: int, thread_id: int) -> bool:
            # the ticker's transaction; on SQLite an open one holds the write lock while Telegram answers
            in_transaction.append(uow.session.in_transaction())
            return await probe(chat_id, thread_id)

        topics.still_there = watched  # type: ignore[method-assign]
        await forum.app.desk.repair_topics(uow, forum.clock.now())
        await uow.commit()
    assert in_transaction == [False]
    await forum.drain()
    [row] = await outbox_rows(forum, "relay")
    assert row.status is OutboxStatus.SENT
