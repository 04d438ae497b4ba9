"""Whether the database answers, asked of the database itself.

An update that fails for a reason other than Telegram makes the error handler ask: one quick query decides
between "the database is down" and "a bug". While it is down updates are answered without touching it, and
one watcher retries with backoff: the log gets one warning when the outage starts and one when it ends.
"""

import asyncio
import contextlib
import logging
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)


class DatabaseUnavailable(Exception):
    """The database did not answer lately: the update was not tried against it."""

    def __str__(self) -> str:
        return "the database is unavailable"


class DatabaseHealth:
    def __init__(
        self, engine: AsyncEngine, *, timeout: float, first_retry: float = 0.5, longest_retry: float = 10.0
    ) -> None:
        self.engine = engine
        self.timeout = timeout
        self.first_retry, self.longest_retry = first_retry, longest_retry
        self.down_since: float | None = None  # time.monotonic() when the outage was noticed
        self.turned_away = 0  # updates answered with "try again" during the current outage
        self._checking = asyncio.Lock()
        self._up = asyncio.Event()
        self._up.set()
        self._watcher: asyncio.Task[None] | None = None

    @property
    def down(self) -> bool:
        return self.down_since is not None

    async def answers(self) -> bool:
        """One trivial query within the configured timeout (on SQLite it also takes the write lock)."""
        try:
            async with asyncio.timeout(self.timeout + 1), self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:  # whatever the reason, the database did not answer
            return False
        return True

    async def is_outage(self) -> bool:
        """After a failed update: is the database the cause? Concurrent failures share one check."""
        async with self._checking:
            if self.down:
                return True
            if await self.answers():
                return False
            self.down_since = time.monotonic()
            self.turned_away = 0
            self._up.clear()
            log.warning("database unavailable: students are asked to try again; retrying the database with backoff")
            self._watcher = asyncio.get_running_loop().create_task(self._watch())
            return True

    async def wait_up(self) -> None:
        await self._up.wait()

    async def _watch(self) -> None:
        delay = self.first_retry
        while True:
            await asyncio.sleep(delay)
            if await self.answers():
                break
            delay = min(delay * 2, self.longest_retry)
        assert self.down_since is not None
        log.warning(
            "database is back after %.1f s; %d updates were answered with 'try again'",
            time.monotonic() - self.down_since,
            self.turned_away,
        )
        self.down_since = None
        self._up.set()

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
