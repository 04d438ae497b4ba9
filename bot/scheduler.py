"""The scheduler is a clock, not a store: APScheduler ticks, and each job finds due work by indexed queries.

Jobs carry no state of their own. A job gets a fresh unit of work and the journey time of the tick, does
a bounded batch of work and commits; a crash loses at most that uncommitted batch, which the next tick
finds again.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.db.uow import UnitOfWork, UnitOfWorkFactory
from bot.failure_streak import FailureStreak
from journeys.clock import Clock

log = logging.getLogger(__name__)

Job = Callable[[UnitOfWork, datetime], Awaitable[object]]


class Ticker:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, tick_seconds: float) -> None:
        self._uow = uow_factory
        self.clock = clock
        self.tick_seconds = tick_seconds
        self._jobs: list[tuple[str, Job, FailureStreak]] = []
        self._scheduler: AsyncIOScheduler | None = None
        self.after_tick: list[Callable[[], None]] = []  # e.g. wake the sender when work was queued
        self._running = asyncio.Lock()

    def add(self, name: str, job: Job) -> None:
        self._jobs.append((name, job, FailureStreak(log, f"scheduled job {name}")))

    @property
    def job_names(self) -> list[str]:
        """The jobs in the order a tick runs them."""
        return [name for name, _, _ in self._jobs]

    async def tick(self) -> None:
        """Runs every job once, each in its own transaction; one failing job does not stop the others."""
        async with self._running:
            await self._tick()

    async def _tick(self) -> None:
        for _name, job, streak in self._jobs:
            try:
                async with self._uow() as uow:
                    await job(uow, self.clock.now())
                    await uow.commit()
            except Exception:
                streak.failed()  # it runs again next tick
            else:
                streak.succeeded()
        for callback in self.after_tick:
            callback()

    def start(self) -> None:
        # coalesce: a tick missed while the loop was busy runs once, not as a burst
        self._scheduler = AsyncIOScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}
        )
        self._scheduler.add_job(
            self.tick, "interval", seconds=self.tick_seconds, id="tick", next_run_time=datetime.now(UTC)
        )
        self._scheduler.start()

    async def stop(self) -> None:
        # stop ticking, let a tick in flight finish, then shut down (shutdown alone would cancel it)
        if self._scheduler is not None:
            self._scheduler.remove_all_jobs()
            async with self._running:
                self._scheduler.shutdown(wait=False)
            self._scheduler = None
