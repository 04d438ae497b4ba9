"""The curators' daily digest."""

from datetime import timedelta

from sqlalchemy import select

from bot.db.models import OutboxMessage, OutboxStatus
from bot.standin import BotAPIStandIn
from journeys.clock import ManualClock
from tests.curator_world import (
    DAY,
    Desk,
    desk_world,
    outbox_rows,
    raise_alert,
    stalled,
)


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


def digests(desk: Desk) -> list[str]:
    return [m.text or "" for m in desk.group_messages() if "Curator digest" in (m.text or "")]


async def test_a_quiet_day_is_decided_at_digest_time_and_a_later_alert_brings_no_digest_that_day(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    async for desk in desk_world(database_url, standin, clock, forum=False, digest_time="13:30"):
        desk.clock.advance(timedelta(hours=2))  # 14:00 in Moscow
        await desk.app.ticker.tick()
        assert await outbox_rows(desk, "digest") == []  # nothing open, nothing resolved: nothing to read

        await raise_alert(desk, await stalled(desk, desk.student()))
        for _ in range(3):  # the rest of the day: today's digest was decided already
            await desk.app.ticker.tick()
            desk.clock.advance(timedelta(hours=3))
        await desk.drain()
        assert digests(desk) == [] and await outbox_rows(desk, "digest") == []

        desk.clock.advance(timedelta(hours=23 - 9, minutes=31))  # 13:31 the next day
        await desk.app.ticker.tick()
        await desk.drain()
        [digest] = digests(desk)
        assert "Open alerts: 1" in digest
        [row] = await outbox_rows(desk, "digest")
        assert row.key == "digest:2026-11-21" and row.status is OutboxStatus.SENT


async def test_a_digest_past_its_time_window_is_not_sent_late(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    async for desk in desk_world(database_url, standin, clock, forum=False, digest_time="13:30"):
        await raise_alert(desk, await stalled(desk, desk.student()))
        await desk.drain()
        desk.clock.advance(timedelta(hours=6))  # the bot was down at 13:30 and ticks again at 18:00
        await desk.app.ticker.tick()
        await desk.app.ticker.tick()
        await desk.drain()
        assert digests(desk) == []

        # the next day's digest is queued in time, but the sender cannot send it until hours later
        desk.clock.advance(timedelta(hours=19, minutes=31))  # 13:31
        await desk.app.ticker.tick()
        [row] = await outbox_rows(desk, "digest")
        assert row.status is OutboxStatus.PENDING
        desk.clock.advance(timedelta(hours=3))
        await desk.app.ticker.tick()
        await desk.drain()
        assert digests(desk) == []
        [row] = await outbox_rows(desk, "digest")
        assert row.status is OutboxStatus.CANCELLED
