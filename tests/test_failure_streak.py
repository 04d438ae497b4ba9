"""Background loops log an outage once when it starts and once when it ends, not a traceback per retry."""

import logging
from datetime import UTC, datetime

import pytest

from bot.db.uow import UnitOfWork
from bot.failure_streak import FailureStreak
from bot.scheduler import Ticker
from journeys.clock import ManualClock


def test_a_streak_logs_its_first_failure_with_the_traceback_and_its_end_once(caplog: pytest.LogCaptureFixture) -> None:
    streak = FailureStreak(logging.getLogger("test.streak"), "claiming rows")
    caplog.set_level(logging.INFO, "test.streak")
    for _ in range(50):
        try:
            raise ConnectionRefusedError("database down")
        except ConnectionRefusedError:
            streak.failed()
    streak.succeeded()
    streak.succeeded()
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("ERROR", "claiming rows failed; retrying, and quiet until it works again"),
        ("WARNING", "claiming rows works again after 50 failed attempts"),
    ]
    assert caplog.records[0].exc_info is not None


def test_a_streak_backs_off_by_doubling_up_to_a_limit() -> None:
    streak = FailureStreak(logging.getLogger("test.streak"), "x")
    delays = []
    for _ in range(6):
        delays.append(streak.delay(1.0, 10.0))
        try:
            raise OSError
        except OSError:
            streak.failed()
    assert delays == [1.0, 1.0, 2.0, 4.0, 8.0, 10.0]
    streak.succeeded()
    assert streak.delay(1.0, 10.0) == 1.0


class _Unit:
    async def __aenter__(self) -> "_Unit":
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def commit(self) -> None:
        return None


async def test_a_job_failing_every_tick_of_an_outage_is_logged_once_and_its_recovery_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    down = True

    async def job(uow: UnitOfWork, now: datetime) -> None:
        if down:
            raise ConnectionRefusedError("the database is down")

    ticker = Ticker(_Unit, ManualClock(datetime(2026, 11, 30, tzinfo=UTC)), 1.0)  # type: ignore[arg-type]
    ticker.add("nudges", job)
    caplog.set_level(logging.DEBUG, "bot.scheduler")
    for _ in range(20):
        await ticker.tick()
    down = False
    await ticker.tick()
    loud = [(r.levelname, r.getMessage()) for r in caplog.records if r.levelno >= logging.WARNING]
    assert loud == [
        ("ERROR", "scheduled job nudges failed; retrying, and quiet until it works again"),
        ("WARNING", "scheduled job nudges works again after 20 failed attempts"),
    ]
