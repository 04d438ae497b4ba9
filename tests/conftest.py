"""Shared fixtures: databases on both backends, the Bot API stand-in and a running bot."""

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
from bot.db.migrations import upgrade
from bot.settings import DEFAULT_CATALOG, SHIPPED_JOURNEYS, Settings
from bot.standin import BotAPIStandIn, FakeUser
from journeys.clock import ManualClock
from tests.databases import PostgresDatabases, SqliteTemplate

EXAMPLE_JOURNEY = SHIPPED_JOURNEYS / "example.en.yaml"
DEFAULT_JOURNEY = SHIPPED_JOURNEYS / "online_store.ru.yaml"
TOKEN = "123456:TEST-token"
PG_SKIP_REASON = "PostgreSQL tests need TEST_DATABASE_URL, e.g. postgresql+asyncpg://postgres@127.0.0.1/journeybot_test"
WORKERS = 4


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """A plain `pytest` runs the tests in WORKERS pytest-xdist processes: most tests wait on sockets, subprocesses
    and databases, not on the CPU, so four workers gain even on two cores. `-n N` chooses, `-n 0` or
    `-p no:xdist` runs them in this one process. (Here, not in addopts, so that `-p no:xdist` keeps working.)"""
    xdist_worker = "PYTEST_XDIST_WORKER" in os.environ
    if config.pluginmanager.hasplugin("xdist") and not xdist_worker and config.option.numprocesses is None:
        config.option.numprocesses = WORKERS
        if config.option.dist == "no":
            config.option.dist = "worksteal"  # the long tests (the package, the processes) do not pile up on one worker


# the longest tests, started first on every worker so that none of them is left for the end of the run
LONG_TESTS = (
    "test_package.py::",
    "test_demo.py::",
    "test_fuzz.py::",
    "test_run.py::test_restart",
    "test_outbox_processes.py::",
)


@pytest.hookimpl(trylast=True)  # after -k and -m deselected theirs: the shares are of what runs
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist's worksteal (the default set above) each worker starts with an equal contiguous share of
    the tests in this order, the same on every worker; the long tests are dealt to the front of the shares.
    (Workers do not see the controller's --dist; under another mode this is only a different order.)"""
    workers = int(getattr(config, "workerinput", {}).get("workercount", 0))
    if workers < 2:
        return
    long = [item for item in items if any(key in item.nodeid for key in LONG_TESTS)]
    rest = [item for item in items if not any(key in item.nodeid for key in LONG_TESTS)]
    shares: list[list[pytest.Item]] = [long[w::workers] for w in range(workers)]
    pending = len(items)
    for w in range(workers):  # the sizes worksteal cuts: what is left, split among the workers left
        size = pending // (workers - w)
        pending -= size
        take = max(size - len(shares[w]), 0)
        shares[w] += rest[:take]
        del rest[:take]
    shares[-1] += rest
    items[:] = [item for share in shares for item in share]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
async def postgres() -> AsyncIterator[PostgresDatabases | None]:
    url = os.environ.get("TEST_DATABASE_URL")
    databases = PostgresDatabases(url, worker=os.environ.get("PYTEST_XDIST_WORKER", "")) if url else None
    yield databases
    if databases:
        await databases.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: SqliteTemplate, postgres: PostgresDatabases | None
) -> AsyncIterator[str]:
    """A migrated database of each backend, this test's own; tests using it run once per backend."""
    if request.param == "sqlite":
        yield await sqlite_template.copy(tmp_path / "journeybot.db")
        return
    if postgres is None:
        pytest.skip(PG_SKIP_REASON)
    url = await postgres.clone()
    yield url
    postgres.drop(url)


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres: PostgresDatabases | None
) -> AsyncIterator[str]:
    """An empty database of each backend, for the tests of migrating itself."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/empty.db"
        return
    if postgres is None:
        pytest.skip(PG_SKIP_REASON)
    url = await postgres.empty()
    yield url
    postgres.drop(url)


@pytest.fixture
async def standin() -> AsyncIterator[BotAPIStandIn]:
    async with BotAPIStandIn() as server:
        yield server


@pytest.fixture
async def app(database_url: str, standin: BotAPIStandIn, clock: ManualClock) -> AsyncIterator[App]:
    """The app built but not running (no polling, no ticker, no sender): a test drives the parts it needs.

    Test modules that need the bot running define their own `app` with `running_bot`.
    """
    app = App(make_settings(database_url, standin), clock=clock)
    try:
        yield app
    finally:
        await app.close()


@pytest.fixture
def clock() -> ManualClock:
    # Friday 20 November 2026, 12:00 in Moscow
    return ManualClock(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))


def make_settings(database_url: str, standin: BotAPIStandIn, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": TOKEN,
        "telegram_api_url": standin.base_url,
        "database_url": database_url,
        "journey_file": EXAMPLE_JOURNEY,
        "timezone": "Europe/Moscow",
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def running_bot(
    settings: Settings, clock: ManualClock, *, migrate: bool = False, handle_as_tasks: bool = False
) -> AsyncIterator[App]:
    """The real bot, polling the stand-in through aiogram's HTTP session, one update at a time
    (or, with handle_as_tasks, each update in its own task as aiogram does by default).
    The `database_url` fixture's databases come migrated; `migrate` is for any other."""
    app = App(settings, clock=clock)
    if migrate:
        await upgrade(app.engine)
    polling = asyncio.create_task(
        app.dispatcher.start_polling(
            app.bot,
            handle_signals=False,
            handle_as_tasks=handle_as_tasks,
            polling_timeout=1,
            close_bot_session=False,
        )
    )
    try:
        yield app
    finally:
        await app.dispatcher.stop_polling()
        await polling
        await app.close()


@dataclass
class World:
    app: App
    standin: BotAPIStandIn
    clock: ManualClock

    def student(self, user_id: int = 1001, name: str = "Alice", language: str = "en", **kw: Any) -> FakeUser:
        return self.standin.user(user_id, name, language_code=language, **kw)


@pytest.fixture
async def world(database_url: str, standin: BotAPIStandIn, clock: ManualClock) -> AsyncIterator[World]:
    """A bot running the English example journey (cohort starts immediately)."""
    async with running_bot(make_settings(database_url, standin), clock) as app:
        yield World(app, standin, clock)


@pytest.fixture
async def default_world(database_url: str, standin: BotAPIStandIn, clock: ManualClock) -> AsyncIterator[World]:
    """A bot running the shipped Russian journey (monthly cohorts)."""
    settings = make_settings(database_url, standin, journeys=DEFAULT_CATALOG)
    async with running_bot(settings, clock) as app:
        yield World(app, standin, clock)
