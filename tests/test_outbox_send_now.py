"""Send now while the ticker runs: nothing holds the database while it waits for something else."""

from collections import Counter

from bot.standin import BotAPIStandIn
from journeys.clock import ManualClock
from tests.conftest import make_settings, running_bot
from tests.test_broadcasts import ADMIN, seed, wizard

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
        app.broadcasts.batch, app.broadcasts.time_box = 5, 30.0
        app.ticker.start()
        try:
            await admin.click("Send now")
            # the bot handles updates one at a time: an answer here means Send now did not get stuck
            await student.send("/help")
            await student.expect(timeout=5)
        finally:
            await app.ticker.stop()
        async with app.uow() as uow:  # whatever the ticks left
            await app.broadcasts.queue(uow, 1, deadline=float("inf"))
        while await app.sender.drain_once():
            pass
    copies = Counter(c.chat_id for c in standin.calls_to("copyMessage") if c.ok and c.chat_id != ADMIN)
    assert set(copies) == set(chats)
    assert max(copies.values()) == 1, {chat: n for chat, n in copies.items() if n > 1}
