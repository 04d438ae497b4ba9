"""The one sender that drains the outbox: claims due rows, paces them, delivers, records what happened.

Rows for one chat are sent by one worker in id order; chats wait for their own slots side by side.
Every state change is committed before the worker goes on, so a restart loses nothing and a crash resends at
most the rows that were in flight (their claims expire after the lease and another sender takes them over).
The two writes every row needs (its start and its sent mark) are group-committed: the chats that reach them at
the same moment share one transaction.

A crash resends at most MAX_UNRECORDED messages: a worker takes a ticket before its request and gives it back
only once what happened is committed, so no more than that many are ever sent (or on their way) unrecorded.
A state write that fails is retried, the row held and its claim renewed meanwhile: dropping it would let the
claim lapse and the message go out again.
"""

import asyncio
import contextlib
import heapq
import itertools
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter
from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import OutboxMessage, OutboxStatus, Priority
from bot.db.uow import UnitOfWorkFactory
from bot.failure_streak import FailureStreak
from bot.outbox.claims import claim_due, locked_in_id_order
from bot.outbox.group_commit import GroupCommit
from bot.outbox.limiter import Limiter
from bot.outbox.messages import Out, message_id_of
from bot.services.reachability import mark_unreachable
from bot.telegram_errors import TelegramFailure, classify, describe, reason
from journeys.clock import Clock

log = logging.getLogger(__name__)

BeforeHook = Callable[[AsyncSession, OutboxMessage], Awaitable[int | None]]
AfterHook = Callable[[AsyncSession, OutboxMessage, list[int]], Awaitable[None]]
FailedHook = Callable[[AsyncSession, OutboxMessage, "Failure"], Awaitable[None]]

HELD_PER_CHAT = 4  # a chat holding this many claimed rows is left out of the next claims
MAX_BATCH = 500  # rows per claim at most: a claim loads them all at once, and the loop waits meanwhile
STOP_GRACE = 15.0  # seconds an in-flight message may take to finish when stopping
CLAIM_BACKOFF = 10.0  # seconds between claims at most while they keep failing
MAX_UNRECORDED = 100  # messages sent or on their way whose outcome is not committed yet: what a crash may resend
RENEW_RETRY = 0.2  # seconds before a failed claim renewal is tried again

T = TypeVar("T")


def backoff(attempts: int) -> float:
    """Real seconds before retrying after the n-th transient failure."""
    return float(min(2**attempts, 300))


@dataclass(frozen=True)
class Failure:
    """Why a row was given up: Telegram's words, and what kind of failure the classifier saw."""

    reason: str
    kind: TelegramFailure

    @property
    def unreachable(self) -> bool:
        return self.kind.unreachable


@dataclass(frozen=True)
class _Hooks:
    before: BeforeHook | None = None
    after: AfterHook | None = None
    failed: FailedHook | None = None


NO_HOOKS = _Hooks()


@dataclass
class SenderStats:
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    retried: int = 0
    rate_limited: int = 0


class _Outcome(Enum):
    DONE = "done"
    STOPPED = "stopped"
    UNREACHABLE = "unreachable"


@dataclass
class _Chat:
    """Rows held for one chat, sent one after another in id order by a single worker."""

    heap: list[tuple[int, OutboxMessage]] = field(default_factory=list)
    current: OutboxMessage | None = None
    task: asyncio.Task[None] | None = None

    @property
    def held(self) -> int:
        return len(self.heap) + (self.current is not None)


class OutboxSender:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        bot: Bot,
        clock: Clock,
        *,
        rate: float = 25.0,
        worker: str | None = None,
        batch: int | None = None,
        lease: timedelta = timedelta(seconds=120),
        max_attempts: int = 5,
        tick: float = 1.0,
        limiter: Limiter | None = None,
        bulk_limiter: Limiter | None = None,
    ) -> None:
        self.uow, self.bot, self.clock = uow_factory, bot, clock
        self.worker = worker or f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"
        self.lease, self.max_attempts, self.tick = lease, max_attempts, tick
        self.limiter = limiter or Limiter(rate)
        self.bulk_limiter = bulk_limiter  # broadcasts (Priority.BULK) paced by their own rate when set
        self._fixed_batch = batch
        self._size_batches()
        self.stats = SenderStats()
        self._hooks: dict[str, _Hooks] = {}
        self._chats: dict[int, _Chat] = {}
        self._held: dict[int, OutboxMessage] = {}
        self._wakeup = asyncio.Event()
        # one log line when claims, renewals or state writes start failing (the database is down), one when they work
        self._claims = FailureStreak(log, "claiming outbox rows")
        self._renewals = FailureStreak(log, "renewing outbox claims")
        self._state_writes = FailureStreak(log, "recording outbox state")
        self._halt = asyncio.Event()
        self._starved = False  # the loop waits for held rows to go out before claiming more
        self._starts = GroupCommit(uow_factory, self._write_starts)
        self._sents = GroupCommit(uow_factory, self._write_sent)
        self._unrecorded = asyncio.Semaphore(MAX_UNRECORDED)

    def pace_broadcasts(self, limiter: Limiter) -> None:
        """Broadcast rows (Priority.BULK) go at `limiter`'s pace; claims grow to keep both rates busy."""
        self.bulk_limiter = limiter
        self._size_batches()

    def _size_batches(self) -> None:
        # the larger rate: without paid mode broadcasts share the transactional rate instead of adding to it
        rate = max(self.limiter.rate, self.bulk_limiter.rate if self.bulk_limiter else 0.0)
        # about two seconds' worth per claim
        self.batch = self._fixed_batch or min(MAX_BATCH, max(1, round(rate * 2)))
        self.max_held = self.batch * 4  # enough distinct chats in hand to keep the global rate busy

    @property
    def state_transactions(self) -> int:
        """Transactions that recorded rows starting and being sent (group-committed, so fewer than rows)."""
        return self._starts.transactions + self._sents.transactions

    def add_hook(
        self,
        kind: str,
        before: BeforeHook | None = None,
        after: AfterHook | None = None,
        failed: FailedHook | None = None,
    ) -> None:
        """`before` may return a message_thread_id to send into; `after` runs where the row becomes sent;
        `failed` runs once the row is given up (not on a retry), after its failure is recorded."""
        self._hooks[kind] = _Hooks(before, after, failed)

    def wake(self) -> None:
        """Something was queued for now: claim without waiting for the next tick."""
        self._wakeup.set()

    # ----- the loop ------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Drains the outbox until `stop` is set; then finishes the messages in flight and lets go of the rest."""
        self._halt.clear()
        relay = asyncio.create_task(self._relay(stop))
        # its own task: a slow claim must not delay the renewals, or the held rows' claims lapse
        renewals = asyncio.create_task(self._renew_claims(), name="outbox-claim-renewals")
        try:
            try:
                while not self._halt.is_set():
                    room = self.max_held - len(self._held)
                    full = False
                    if room >= self.batch or not self._held:
                        limit = min(self.batch, room)
                        try:
                            full = len(await self._claim(limit)) == limit
                        except Exception:
                            self._claims.failed()
                        else:
                            self._claims.succeeded()
                        self._starved = False
                    else:
                        self._starved = True
                    if full:
                        await asyncio.sleep(0)
                    else:  # while claims fail (the database is down) the loop backs off
                        await self._nap(self._claims.delay(self.tick, CLAIM_BACKOFF))
            except asyncio.CancelledError:
                # not a stop but a kill: drop everything at once; claims lapse after the lease
                for chat in self._chats.values():
                    if chat.task:
                        chat.task.cancel()
                self._chats.clear()
                self._held.clear()
                self._starts.cancel()
                self._sents.cancel()
                raise
            finally:
                relay.cancel()
            await self._finish()
        finally:
            renewals.cancel()
            await asyncio.gather(renewals, return_exceptions=True)

    async def drain_once(self) -> int:
        """Claims one batch and sends it; returns how many rows were claimed."""
        rows = await self._claim(self.batch)
        await asyncio.gather(*(chat.task for chat in list(self._chats.values()) if chat.task))
        return len(rows)

    async def _relay(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._halt.set()
        self._wakeup.set()

    async def _nap(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), seconds)
        self._wakeup.clear()

    async def _claim(self, limit: int) -> list[OutboxMessage]:
        if limit <= 0:
            return []
        skip = [chat_id for chat_id, chat in self._chats.items() if chat.held >= HELD_PER_CHAT]
        async with self.uow() as uow:
            rows = await claim_due(
                uow.session,
                now=self.clock.now(),
                limit=limit,
                worker=self.worker,
                lease=self.lease * self.clock.speed,
                skip_chats=skip,
            )
            await uow.commit()
        for row in rows:
            if row.id in self._held:  # our own claim, renewed: already queued
                continue
            self._held[row.id] = row
            chat = self._chats.setdefault(row.chat_id, _Chat())
            heapq.heappush(chat.heap, (row.id, row))
            if chat.task is None:
                chat.task = asyncio.create_task(self._work(row.chat_id, chat), name=f"outbox-{row.chat_id}")
        return rows

    async def _renew_claims(self) -> None:
        """Every third of the lease, and soon again after a failure, until the sender has let go of its rows."""
        every = max(self.lease.total_seconds() / 3, 0.1)
        while True:  # noqa: ASYNC110 - a timer: nothing to wait for but the time
            await asyncio.sleep(every if await self._heartbeat() else min(every, RENEW_RETRY))

    async def _heartbeat(self) -> bool:
        """Renews the claims on the rows still held here (waiting or in flight), so nobody takes them over."""
        ids = sorted(self._held)  # chunks in id order too: locks are taken in one order across the transaction
        try:
            async with self.uow() as uow:
                for start in range(0, len(ids), 500):
                    chunk = ids[start : start + 500]
                    await uow.session.execute(
                        update(OutboxMessage)
                        .where(
                            locked_in_id_order(
                                uow.session, OutboxMessage.id.in_(chunk), OutboxMessage.claimed_by == self.worker
                            )
                        )
                        .values(claimed_at=self.clock.now())
                        .execution_options(synchronize_session=False)
                    )
                await uow.commit()
        except Exception:
            self._renewals.failed()
            return False
        self._renewals.succeeded()
        return True

    async def _finish(self) -> None:
        self._halt.set()
        tasks = [chat.task for chat in self._chats.values() if chat.task]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=STOP_GRACE)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        ids = list(self._held)
        self._held.clear()
        self._chats.clear()
        if not ids:
            return
        # not sent yet: back to the queue at once, instead of after the lease
        async with self.uow() as uow:
            await uow.session.execute(
                update(OutboxMessage)
                .where(
                    locked_in_id_order(
                        uow.session,
                        OutboxMessage.id.in_(ids),
                        OutboxMessage.claimed_by == self.worker,
                        OutboxMessage.status == OutboxStatus.SENDING,
                    )
                )
                .values(status=OutboxStatus.PENDING, claimed_at=None, claimed_by=None)
                .execution_options(synchronize_session=False)
            )
            await uow.commit()

    def _freed(self) -> None:
        if self._starved and len(self._held) <= self.max_held - self.batch:
            self._wakeup.set()

    # ----- one chat ------------------------------------------------------------------------------

    async def _work(self, chat_id: int, chat: _Chat) -> None:
        try:
            while chat.heap and not self._halt.is_set():
                _, row = heapq.heappop(chat.heap)
                chat.current = row
                try:
                    outcome = await self._send_row(row)
                except Exception:
                    # a bug, not the database (state writes are retried): the claim lapses, the row is taken up again
                    log.exception("outbox row %s: sending it failed unexpectedly", row.id)
                    outcome = _Outcome.DONE
                chat.current = None
                if outcome is _Outcome.STOPPED:
                    heapq.heappush(chat.heap, (row.id, row))
                    break
                self._held.pop(row.id, None)
                if outcome is _Outcome.UNREACHABLE:
                    for _, other in chat.heap:
                        self._held.pop(other.id, None)
                    chat.heap.clear()
                self._freed()
        finally:
            chat.task = None
            if not chat.heap and self._chats.get(chat_id) is chat:
                del self._chats[chat_id]

    def limiter_for(self, row: OutboxMessage) -> Limiter:
        bulk = self.bulk_limiter is not None and row.priority >= Priority.BULK
        return self.bulk_limiter if bulk else self.limiter  # type: ignore[return-value]

    async def _acquire(self, chat_id: int, limiter: Limiter) -> bool:
        """Waits for the chat's slot and takes it; False when the sender is stopping first."""
        if self._halt.is_set():
            return False
        if limiter.try_acquire(chat_id):
            return True
        return await self._unless_halted(limiter.acquire(chat_id))

    async def _unless_halted(self, wait: Coroutine[Any, Any, object]) -> bool:
        """Awaits `wait`; False (and `wait` cancelled) when the sender is stopping first."""
        waiting = asyncio.ensure_future(wait)
        halted = asyncio.ensure_future(self._halt.wait())
        try:
            await asyncio.wait({waiting, halted}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            halted.cancel()
            if not waiting.done():
                waiting.cancel()
                await asyncio.gather(waiting, return_exceptions=True)
        return waiting.done() and not waiting.cancelled()

    async def _durably(self, write: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """A state write that must land: retried until it does, while the row stays held and its claim renewed."""
        for attempt in itertools.count():
            try:
                result = await write(*args, **kwargs)
            except Exception:
                self._state_writes.failed()
                await asyncio.sleep(min(0.05 * 2**attempt, 2.0))
            else:
                self._state_writes.succeeded()
                return result
        raise AssertionError("unreachable")

    async def _send_row(self, row: OutboxMessage) -> _Outcome:
        payload: dict[str, Any] = dict(row.payload or {})
        messages = [Out.from_json(m) for m in payload.get("messages", [])]
        part = int(payload.get("sent_parts", 0))
        ids: list[int] = list(payload.get("message_ids", []))
        thread_id: int | None = payload.get("thread_id")
        hooks = self._hooks.get(row.kind, NO_HOOKS)
        before, after = hooks.before, hooks.after
        limiter = self.limiter_for(row)
        if self._halt.is_set():
            return _Outcome.STOPPED
        if not await self._durably(self._start, row):
            return _Outcome.DONE
        if before is not None and part < len(messages):
            try:
                async with self.uow() as uow:
                    topic = await before(uow.session, row)
                    await uow.commit()
            except Exception as e:
                return await self._failed(row, e)
            if topic is not None:
                thread_id = topic
        if part >= len(messages):  # every part went out before, only the sent mark is missing
            await self._durably(self._mark_sent, row, payload, ids, after)
        while part < len(messages):
            # the chat's own interval passes without a ticket; tickets are for requests about to go
            if not await self._unless_halted(limiter.chat_turn(row.chat_id)):
                return _Outcome.STOPPED
            async with self._unrecorded:
                # the slot right before the request: a slot taken earlier, then held up by the database,
                # would add to the next second's sends
                if not await self._acquire(row.chat_id, limiter):
                    return _Outcome.STOPPED
                try:
                    result = await messages[part].deliver(self.bot, row.chat_id, thread_id=thread_id)
                except TelegramRetryAfter as e:
                    limiter.done(row.chat_id)
                    self.stats.rate_limited += 1
                    log.warning("Telegram asked to wait %ss (outbox row %s)", e.retry_after, row.id)
                    limiter.pause(e.retry_after)
                    continue
                except Exception as e:
                    limiter.done(row.chat_id)
                    return await self._failed(row, e)
                except BaseException:
                    limiter.done(row.chat_id)
                    raise
                limiter.done(row.chat_id)
                part += 1
                ids.append(message_id_of(result))
                payload |= {"sent_parts": part, "message_ids": ids}
                if part < len(messages):
                    await self._durably(self._record, row, payload=dict(payload))
                    row.payload = dict(payload)
                else:
                    await self._durably(self._mark_sent, row, payload, ids, after)
        return _Outcome.DONE

    # ----- recording outcomes --------------------------------------------------------------------

    def _mine(self, row: OutboxMessage, *, sending: bool = True) -> Any:
        """An update of a row this sender holds; `sending`: unless it was cancelled meanwhile."""
        statement = update(OutboxMessage).where(OutboxMessage.id == row.id, OutboxMessage.claimed_by == self.worker)
        return statement.where(OutboxMessage.status == OutboxStatus.SENDING) if sending else statement

    async def _start(self, row: OutboxMessage) -> bool:
        """Still ours and still wanted? A row cancelled while it waited here is not sent."""
        if await self._starts.submit(row):
            return True
        log.info("outbox row %s was cancelled or taken over before it went out", row.id)
        return False

    async def _write_starts(self, session: AsyncSession, rows: list[OutboxMessage]) -> list[bool]:
        result = await session.execute(
            update(OutboxMessage)
            .where(
                locked_in_id_order(
                    session,
                    OutboxMessage.id.in_([row.id for row in rows]),
                    OutboxMessage.claimed_by == self.worker,
                    OutboxMessage.status == OutboxStatus.SENDING,
                )
            )
            .values(claimed_at=self.clock.now())
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        )
        still_ours = set(result.scalars())
        return [row.id in still_ours for row in rows]

    async def _record(self, row: OutboxMessage, **values: Any) -> None:
        async with self.uow() as uow:
            await self._apply(uow.session, row, values)
            await uow.commit()

    async def _apply(
        self, session: AsyncSession, row: OutboxMessage, values: dict[str, Any], *, sending: bool = True
    ) -> bool:
        result = await session.execute(self._mine(row, sending=sending).values(**values))
        if not result.rowcount:  # type: ignore[attr-defined]
            log.warning("outbox row %s was cancelled or taken over by another sender", row.id)
            return False
        return True

    async def _mark_sent(
        self, row: OutboxMessage, payload: dict[str, Any], ids: list[int], after: AfterHook | None
    ) -> None:
        values = {
            "status": OutboxStatus.SENT,
            "sent_at": self.clock.now(),
            "telegram_message_id": ids[-1] if ids else None,
            "payload": payload,
        }
        if after is None:
            await self._sents.submit((row.id, values))
        else:
            async with self.uow() as uow:
                # sent is sent, even if the row was cancelled while the message was on its way
                if await self._apply(uow.session, row, values, sending=False):
                    try:
                        await after(uow.session, row, ids)
                    except Exception:
                        log.exception("outbox row %s: the after-send hook failed", row.id)
                        await uow.rollback()
                        await self._apply(uow.session, row, values, sending=False)
                await uow.commit()
        self.stats.sent += 1

    async def _write_sent(self, session: AsyncSession, items: list[tuple[int, dict[str, Any]]]) -> list[None]:
        # sent is sent, even if the row was cancelled while the message was on its way
        table = OutboxMessage.__table__.c
        statement = (
            update(OutboxMessage.__table__)  # type: ignore[arg-type]  # declared a FromClause; it is a Table
            .where(table.id == bindparam("row_id"), table.claimed_by == self.worker)
            .values(
                status=OutboxStatus.SENT,
                sent_at=bindparam("row_sent_at", type_=table.sent_at.type),
                telegram_message_id=bindparam("row_message_id", type_=table.telegram_message_id.type),
                payload=bindparam("row_payload", type_=table.payload.type),
            )
        )
        await session.execute(
            statement,
            [
                {
                    "row_id": row_id,
                    "row_sent_at": values["sent_at"],
                    "row_message_id": values["telegram_message_id"],
                    "row_payload": values["payload"],
                }
                # one row per statement, in id order: the same lock order as every other writer
                for row_id, values in sorted(items, key=lambda item: item[0])
            ],
        )
        return [None] * len(items)

    async def _failed(self, row: OutboxMessage, error: Exception) -> _Outcome:
        text = describe(error)
        failure = classify(error)
        if failure.unreachable:
            await self._durably(self._unreachable, row, text, failure)
            self.stats.blocked += 1
            await self._after_failure(row, Failure(reason(error), failure))
            return _Outcome.UNREACHABLE
        attempts = row.attempts + 1
        if failure.retryable and attempts < self.max_attempts:
            self.stats.retried += 1
            delay = backoff(attempts)
            log.info("outbox row %s: %s; retrying in %ss", row.id, text, delay)
            await self._durably(
                self._record,
                row,
                status=OutboxStatus.PENDING,
                attempts=attempts,
                last_error=text,
                due_at=self.clock.now() + timedelta(seconds=delay * self.clock.speed),
                claimed_at=None,
                claimed_by=None,
            )
        else:
            self.stats.failed += 1
            log.warning("outbox row %s failed: %s", row.id, text)
            changes: dict[str, Any] = {"status": OutboxStatus.FAILED, "last_error": text, "failure": failure}
            if failure.retryable:
                changes["attempts"] = attempts
            await self._durably(self._record, row, **changes)
            await self._after_failure(row, Failure(reason(error), failure))
        return _Outcome.DONE

    async def _after_failure(self, row: OutboxMessage, failure: Failure) -> None:
        hook = self._hooks.get(row.kind, NO_HOOKS).failed
        if hook is None:
            return
        try:
            async with self.uow() as uow:
                await hook(uow.session, row, failure)
                await uow.commit()
        except Exception:
            log.exception("outbox row %s: the failed-send hook failed", row.id)

    async def _unreachable(self, row: OutboxMessage, text: str, failure: TelegramFailure) -> None:
        """Blocked, kicked, deactivated or gone: nothing more goes to this chat."""
        chat = self._chats.get(row.chat_id)
        others = [other.id for _, other in chat.heap] if chat else []
        now = self.clock.now()
        cancelled = 0
        async with self.uow() as uow:
            await self._apply(uow.session, row, {"status": OutboxStatus.FAILED, "last_error": text, "failure": failure})
            reason = f"chat unreachable: {text}"[:500]
            if others:
                await uow.session.execute(
                    update(OutboxMessage)
                    .where(
                        locked_in_id_order(
                            uow.session, OutboxMessage.id.in_(others), OutboxMessage.claimed_by == self.worker
                        )
                    )
                    .values(status=OutboxStatus.CANCELLED, last_error=reason, failure=failure)
                    .execution_options(synchronize_session=False)
                )
            if row.student_id is not None:
                cancelled = await mark_unreachable(uow.session, row.student_id, now, failure, reason)
            await uow.commit()
        log.info(
            "chat %s unreachable (%s): row %s failed, student %s marked blocked, %d waiting rows cancelled",
            row.chat_id,
            text,
            row.id,
            row.student_id,
            cancelled + len(others),
        )
