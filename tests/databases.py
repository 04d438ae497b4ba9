"""Test databases cut from a template migrated once per session: migrating for every test was most of the suite's
time. SQLite copies a file; PostgreSQL clones a database (CREATE DATABASE ... TEMPLATE), which is fast."""

import asyncio
import itertools
import re
import shutil
import sqlite3
from collections.abc import Coroutine
from contextlib import closing
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from sqlalchemy.engine import make_url

from bot.db.engine import create_engine
from bot.db.migrations import upgrade

T = TypeVar("T")


class SqliteTemplate:
    def __init__(self, workdir: Path) -> None:
        self.path = workdir / "template.db"
        self._migrated = False
        self._lock = asyncio.Lock()

    async def copy(self, path: Path) -> str:
        """A migrated database at `path`."""
        async with self._lock:
            if not self._migrated:
                await self._migrate()
                self._migrated = True
        shutil.copyfile(self.path, path)
        return f"sqlite+aiosqlite:///{path}"

    async def _migrate(self) -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{self.path}")
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()
        # WAL mode: bring everything into the one file we copy (outside a transaction: the engine always opens one)
        with closing(sqlite3.connect(self.path)) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class PostgresDatabases:
    """Databases on the server `url` names, named after its database: journeybot_ci → the template journeybot_ci_tmpl,
    the tests' journeybot_ci_t1, journeybot_ci_t2, ...; under pytest-xdist each worker's names carry its id
    (journeybot_ci_gw0_tmpl, journeybot_ci_gw0_t1, ...). The first use drops what an earlier session left behind
    (killed, or stopped at a breakpoint); so two sessions must not share one `url`.

    Creating and dropping a database take a good part of a second each on a busy machine; they run in the
    background while tests run: the next test's clone is made ahead, and a test's database is dropped after it
    without waiting."""

    def __init__(self, url: str, worker: str = "") -> None:
        self.url = make_url(url)
        self.server_database = str(self.url.database)
        # pytest-xdist runs several sessions at once: each worker (gw0, gw1, ...) names its databases apart
        self.base = f"{self.server_database}_{worker}" if worker else self.server_database
        self.numbers = itertools.count(1)
        self.template = f"{self.base}_tmpl"
        self._connection: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()  # one statement at a time on the one connection
        self._started = False
        self._migrated = False
        self._next_clone: asyncio.Task[str] | None = None
        self._background: set[asyncio.Task[Any]] = set()

    def url_of(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    async def clone(self) -> str:
        """A new database with the migrated schema."""
        await self._start()
        if not self._migrated:
            await self._create(self.template, "template0")
            engine = create_engine(self.url_of(self.template))
            try:
                await upgrade(engine)
            finally:
                await engine.dispose()  # a template must have no connections when it is cloned
            self._migrated = True
        clone = self._next_clone or self._in_background(self._create_numbered(self.template))
        self._next_clone = self._in_background(self._create_numbered(self.template))
        return self.url_of(await clone)

    async def empty(self) -> str:
        await self._start()
        return self.url_of(await self._create_numbered("template0"))

    def drop(self, url: str) -> None:
        name = str(make_url(url).database)
        self._in_background(self._execute(f"DROP DATABASE IF EXISTS {quoted(name)} WITH (FORCE)"))

    async def close(self) -> None:
        """Waits for the background work (raising what failed there), then drops every database of the session."""
        if not self._started:
            return
        try:
            await asyncio.gather(*self._background)
            await self._drop_all()
        finally:
            if self._connection is not None:
                await self._connection.close()

    async def _start(self) -> None:
        async with self._lock:
            if self._connection is None:
                url = self.url
                self._connection = await asyncpg.connect(
                    user=url.username,
                    password=url.password,
                    host=url.host,
                    port=url.port,
                    database=self.server_database,
                )
        if not self._started:
            self._started = True
            await self._drop_all()

    async def _drop_all(self) -> None:
        pattern = f"^{re.escape(self.base)}_(tmpl|t[0-9]+)$"
        async with self._lock:
            assert self._connection is not None
            rows = await self._connection.fetch("SELECT datname FROM pg_database WHERE datname ~ $1", pattern)
        for row in rows:
            # FORCE: a bot process a test killed may not have closed its connections yet
            await self._execute(f"DROP DATABASE IF EXISTS {quoted(row['datname'])} WITH (FORCE)")

    async def _create_numbered(self, template: str) -> str:
        name = f"{self.base}_t{next(self.numbers)}"
        await self._create(name, template)
        return name

    async def _create(self, name: str, template: str) -> None:
        await self._execute(f"CREATE DATABASE {quoted(name)} TEMPLATE {quoted(template)}")

    async def _execute(self, statement: str) -> None:
        async with self._lock:
            assert self._connection is not None
            await self._connection.execute(statement)

    def _in_background(self, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._forget_if_done_well)
        return task

    def _forget_if_done_well(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is None:
            self._background.discard(task)  # what failed stays, for close() to raise
