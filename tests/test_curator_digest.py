"""The curators' daily digest."""

from datetime import timedelta

from sqlalchemy import select

from bot.db.models import OutboxMessage, OutboxStatus
from bot.standin import BotAPIStandIn
from journeys.clock import ManualClock
from tests.curator_world import (
    DAY,
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
