"""Group commit: writes that many chat workers ask for at once share one transaction.

At Telegram's paid rate (up to 1000 messages/s) one transaction per row state change costs more than the
sending itself. Callers still wait for their own write to be committed, so nothing is reported done before it
is durable; but while one transaction runs, the next ones queue up and go together in the following one. A lone
caller is written at once: there is no timer and no added latency when the sender is quiet.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.uow import UnitOfWorkFactory

T = TypeVar("T")
R = TypeVar("R")

MAX_BATCH = 500  # rows per transaction; keeps statements and IN lists a sensible size


class GroupCommit(Generic[T, R]):
    """`write(session, items)` returns one result per item, in order; it runs inside a unit of work."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, write: Callable[[AsyncSession, list[T]], Awaitable[list[R]]]
    ) -> None:
        self.uow, self.write = uow_factory, write
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.transactions = 0  # how many commits served the callers, for benchmarks and tests

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="outbox-group-commit")
        return await future

    def cancel(self) -> None:
        """Stops writing at once (a kill, not a stop); callers still waiting are cancelled."""
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        for _, future in self._waiting:
            future.cancel()
        self._waiting.clear()

    async def _flush(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                try:
                    async with self.uow() as uow:
                        results = await self.write(uow.session, [item for item, _ in batch])
                        await uow.commit()
                    self.transactions += 1
                except Exception as error:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():  # its caller may have been cancelled meanwhile
                        future.set_result(result)
        finally:
            if self._flusher is asyncio.current_task():
                self._flusher = None
