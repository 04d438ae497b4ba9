"""bot/jobs.py is the one place that registers the ticker's jobs: what runs in a tick, in which order, and
whether the curator desk takes part."""

from pathlib import Path

from bot.app import App
from bot.standin import BotAPIStandIn
from journeys.clock import ManualClock
from tests.conftest import make_settings

ENGAGEMENT = ["cohort starts", "nudges", "stalls", "offers"]
DESK = ["curator.snoozed", "curator.digest", "curator.topics"]


async def test_the_ticker_holds_every_job_in_order_and_engagement_gets_the_desk(
    tmp_path: Path, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    app = App(make_settings(f"sqlite+aiosqlite:///{tmp_path}/a.db", standin, curator_chat_id=-100777), clock=clock)
    try:
        assert app.ticker.job_names == [*ENGAGEMENT, *DESK, "broadcasts"]
        assert app.engagement.desk is app.desk and app.engagement.curator_on
    finally:
        await app.close()


async def test_without_a_curator_group_no_desk_job_is_registered_and_engagement_has_no_desk(
    tmp_path: Path, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    app = App(make_settings(f"sqlite+aiosqlite:///{tmp_path}/a.db", standin), clock=clock)
    try:
        assert app.ticker.job_names == [*ENGAGEMENT, "broadcasts"]
        assert app.engagement.desk is None and not app.engagement.curator_on
    finally:
        await app.close()
