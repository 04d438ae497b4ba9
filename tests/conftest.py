"""Shared fixtures: databases on both backends, the Bot API stand-in and a running bot."""

import asyncio
import itertools
import os
import re
import shutil
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import URL, make_url

from bot.app import App
from bot.db.engine import create_engine
from bot.db.migrations import upgrade
from bot.settings import SHIPPED_JOURNEYS, Settings
from bot.standin import BotAPIStandIn, FakeUser
from journeys.clock import ManualClock

EXAMPLE_JOURNEY = SHIPPED_JOURNEYS / "example.en.yaml"
DEFAULT_JOURNEY = SHIPPED_JOURNEYS / "online_store.ru.yaml"
TOKEN = "123456:TEST-token"
PG_SKIP_REASON = "PostgreSQL tests need TEST_DATABASE_URL, e.g. postgresql+asyncpg://postgres@127.0.0.1/journeybot_test"


def quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class Databases:
    """Test databases cut from a template migrated once per session and backend: migrating for every test was
    most of the suite's time. SQLite copies a file; PostgreSQL clones a database (CREATE DATABASE ... TEMPLATE),
    all named after TEST_DATABASE_URL's database (journeybot_ci → journeybot_ci_tmpl, journeybot_ci_t1, ...)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.server = os.environ.get("TEST_DATABASE_URL")
        self.numbers = itertools.count(1)
        self._sqlite_template: Path | None = None
        self._postgres_ready = False
        self._postgres_template: str | None = None
        self._lock = asyncio.Lock()

    # SQLite

    async def sqlite_copy(self, path: Path) -> str:
        async with self._lock:
            if self._sqlite_template is None:
                self._sqlite_template = await self._migrated_sqlite_template()
        shutil.copyfile(self._sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"

    async def _migrated_sqlite_template(self) -> Path:
        path = self.workdir / "template.db"
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()
        # WAL mode: bring everything into the file we copy (outside a transaction, which the engine always opens)
        with closing(sqlite3.connect(path)) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return path

    # PostgreSQL

    def _postgres(self) -> URL:
        if not self.server:
            pytest.skip(PG_SKIP_REASON)
        return make_url(self.server)

    def _name(self, suffix: str) -> str:
        return f"{self._postgres().database}_{suffix}"

    def _url(self, name: str) -> str:
        return self._postgres().set(database=name).render_as_string(hide_password=False)

    async def _admin(self, statement: str) -> None:
        url = self._postgres()
        connection = await asyncpg.connect(
            user=url.username, password=url.password, host=url.host, port=url.port, database=url.database
        )
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    async def postgres_clone(self) -> str:
        """A new database with the migrated schema."""
        async with self._lock:
            await self._postgres_session_start()
            if self._postgres_template is None:
                self._postgres_template = await self._migrated_postgres_template()
        return await self._create_postgres(self._postgres_template)

    async def postgres_empty(self) -> str:
        async with self._lock:
            await self._postgres_session_start()
        return await self._create_postgres("template0")

    async def _postgres_session_start(self) -> None:
        if not self._postgres_ready:
            await self._drop_postgres_leftovers()
            self._postgres_ready = True

    async def _create_postgres(self, template: str) -> str:
        name = self._name(f"t{next(self.numbers)}")
        await self._admin(f"CREATE DATABASE {quoted(name)} TEMPLATE {quoted(template)}")
        return self._url(name)

    async def drop_postgres(self, url: str) -> None:
        # FORCE: a bot process the test killed may not have closed its connections yet
        await self._admin(f"DROP DATABASE IF EXISTS {quoted(str(make_url(url).database))} WITH (FORCE)")

    async def _migrated_postgres_template(self) -> str:
        name = self._name("tmpl")
        await self._admin(f"CREATE DATABASE {quoted(name)} TEMPLATE template0")
        engine = create_engine(self._url(name))
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()  # a template must have no connections when it is cloned
        return name

    async def _drop_postgres_leftovers(self) -> None:
        """Databases a previous session left behind (killed, or stopped at a breakpoint)."""
        url = self._postgres()
        connection = await asyncpg.connect(
            user=url.username, password=url.password, host=url.host, port=url.port, database=url.database
        )
        try:
            pattern = f"^{re.escape(str(url.database))}_(tmpl|t[0-9]+)$"
            names = await connection.fetch("SELECT datname FROM pg_database WHERE datname ~ $1", pattern)
            for row in names:
                await connection.execute(f"DROP DATABASE IF EXISTS {quoted(row['datname'])} WITH (FORCE)")
        finally:
            await connection.close()

    async def close(self) -> None:
        if self._postgres_ready:
            await self._drop_postgres_leftovers()


@pytest.fixture(scope="session")
async def databases(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Databases]:
    databases = Databases(tmp_path_factory.mktemp("databases"))
    yield databases
    await databases.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path, databases: Databases) -> AsyncIterator[str]:
    """A migrated database of each backend, this test's own; tests using it run once per backend."""
    if request.param == "sqlite":
        yield await databases.sqlite_copy(tmp_path / "journeybot.db")
        return
    url = await databases.postgres_clone()
    try:
        yield url
    finally:
        await databases.drop_postgres(url)


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, databases: Databases
) -> AsyncIterator[str]:
    """An empty database of each backend, for the tests of migrating itself."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/empty.db"
        return
    url = await databases.postgres_empty()
    try:
        yield url
    finally:
        await databases.drop_postgres(url)


@pytest.fixture
async def standin() -> AsyncIterator[BotAPIStandIn]:
    async with BotAPIStandIn() as server:
        yield server


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
    settings = make_settings(database_url, standin, journey_file=DEFAULT_JOURNEY)
    async with running_bot(settings, clock) as app:
        yield World(app, standin, clock)
