"""The sender's pacing holds when the database pauses: a slot is taken right before its request."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text

from bot.app import App
from bot.outbox.limiter import Limiter
from bot.outbox.sender import OutboxSender
from bot.standin import BotAPIStandIn
from tests.test_outbox import queue

RATE = 10
CHATS = 50


def most_in_one_second(times: list[float]) -> int:
    times, best, start = sorted(times), 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


@asynccontextmanager
async def database_paused(app: App) -> AsyncIterator[None]:
    """Holds the outbox's write lock: on SQLite the database's (BEGIN IMMEDIATE), on PostgreSQL the table's."""
    async with app.engine.connect() as connection:
        await connection.begin()
        if connection.dialect.name == "postgresql":
            await connection.execute(text("LOCK TABLE outbox IN EXCLUSIVE MODE"))
        yield
        await connection.rollback()


async def test_a_database_pause_while_sending_lets_no_second_exceed_the_rate(app: App, standin: BotAPIStandIn) -> None:
    for n in range(CHATS):
        standin.user(3000 + n, f"S{n}")
        await queue(app, f"row-{n}", 3000 + n)
    sender = OutboxSender(app.uow, app.bot, app.clock, limiter=Limiter(RATE), tick=0.05)
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    try:
        await standin.wait_for(lambda: len(standin.send_times()) >= 15, 10, what="sending under way")
        async with database_paused(app):
            await asyncio.sleep(2.0)  # the pause itself: workers wait for the database meanwhile
        await standin.wait_for(lambda: len(standin.send_times()) >= CHATS, 30, what="everything sent")
    finally:
        stop.set()
        await running
    assert max(Counter(c.chat_id for c in standin.calls_to("sendMessage")).values()) == 1
    assert most_in_one_second(standin.send_times()) <= RATE
