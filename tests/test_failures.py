"""What happens to an update when something fails under it: the database goes away, the student is gone,
Telegram says they blocked the bot, or a thousand students press /start at once."""

from sqlalchemy import event

from bot.standin import BotAPIStandIn, FakeUser
from journeys.clock import ManualClock
from tests.conftest import make_settings, running_bot

TRY_AGAIN = "Something went wrong. Please try again in a minute."


# ----- a burst ---------------------------------------------------------------------------------------


async def test_a_burst_of_starts_is_answered_within_the_pool(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    # a short pool timeout: an update that waited for a connection would fail, not just be slow
    settings = make_settings(database_url, standin, database_pool_size=6, database_timeout=2)
    async with running_bot(settings, clock, handle_as_tasks=True) as app:
        in_use = peak = 0

        def checkout(*args: object) -> None:
            nonlocal in_use, peak
            in_use += 1
            peak = max(peak, in_use)

        def checkin(*args: object) -> None:
            nonlocal in_use
            in_use -= 1

        event.listen(app.engine.sync_engine, "checkout", checkout)
        event.listen(app.engine.sync_engine, "checkin", checkin)
        students: list[FakeUser] = [standin.user(10_000 + n, f"S{n}", language_code="en") for n in range(300)]
        for student in students:
            standin.push_message(student, student.id, "/start")

        def answered() -> list[FakeUser]:
            return [s for s in students if s.messages and "Question 1 of 4" in (s.last.text or "")]

        await standin.wait_for(lambda: len(answered()) == len(students), 120, what="every student's first question")
        assert not [s for s in students if any(m.text == TRY_AGAIN for m in s.messages)]
        assert peak <= app.update_slots == (1 if settings.is_sqlite else 2)  # SQLite: one writer
