"""Broadcasts: a draft built in the wizard, then one outbox row per recipient, queued in batches.

The draft lives in the `broadcasts` table (status draft, the wizard's step in `content`), so a restart loses
nothing. Queueing reads the segment in id order after `cursor` and commits rows and cursor together: a crash
resumes where it stopped, and the outbox keys (`broadcast:{id}:{student}`) make a repeat insert nothing.
The one outbox sender delivers the rows at Priority.BULK, after everything transactional.
"""

import asyncio
import contextlib
import logging
import math
import re
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Action, Index, RowId
from bot.db.models import Broadcast, BroadcastStatus, Enrollment, OutboxMessage, OutboxStatus, Priority
from bot.db.uow import UnitOfWork, UnitOfWorkFactory
from bot.i18n import Translations, Translator
from bot.outbox.claims import locked_in_id_order
from bot.outbox.limiter import Limiter
from bot.outbox.messages import Out
from bot.outbox.queue import WAITING, enqueue_many
from bot.services import segments
from bot.services.segments import Segment
from bot.telegram_failure import TelegramFailure
from journeys.clock import Clock
from journeys.journey import Journey

log = logging.getLogger(__name__)

KIND = "broadcast"
BATCH = 500  # recipients read and queued per statement
TIME_BOX = 2.0  # real seconds one tick may spend queueing
ACTIVE = (BroadcastStatus.QUEUEING, BroadcastStatus.SENDING)
CANCELLED_REASON = "broadcast cancelled"
ALBUM_TYPES = ("photo", "video", "document", "audio")
COPYABLE = ("text", "photo", "video", "document", "voice", "animation", "audio")
BUTTON_LINE = re.compile(r"^(?P<text>.+?)\s+[-–—]\s+(?P<url>https?://\S+)$")


class Wiz(CallbackData, prefix="bw"):
    """A wizard or progress button: broadcast id, action, and up to two small numbers."""

    b: RowId
    a: Action
    n: Index = 0
    m: Index = 0


class Step(StrEnum):
    SEGMENT = "segment"
    MESSAGE = "message"
    BUTTONS = "buttons"
    PREVIEW = "preview"
    SCHEDULE = "schedule"


class Accepted(StrEnum):
    SINGLE = "single"  # one message to copy: buttons may follow
    ALBUM = "album"  # the first part of an album
    ALBUM_PART = "album_part"  # a later part of the same album: nothing to say
    UNSUPPORTED = "unsupported"


def step_of(broadcast: Broadcast) -> Step:
    return Step(broadcast.content.get("step", Step.SEGMENT))


def set_content(broadcast: Broadcast, **changes: Any) -> None:
    # a new dict: SQLAlchemy only notices a JSON column change on assignment
    broadcast.content = {**broadcast.content, **changes}


def segment_of(broadcast: Broadcast) -> Segment:
    return Segment.model_validate(broadcast.segment)


def parse_buttons(text: str) -> list[tuple[str, str]] | int:
    """URL buttons, one a line ("Text - https://..."); the number of the first bad line otherwise."""
    buttons = []
    for number, line in enumerate((line.strip() for line in text.splitlines()), start=1):
        if not line:
            continue
        match = BUTTON_LINE.match(line)
        if match is None or len(match["text"]) > 64:
            return number
        buttons.append((match["text"].strip(), match["url"]))
    return buttons or 1


def parse_when(text: str, tz: ZoneInfo) -> datetime | None:
    try:
        moment = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        return None
    return moment.replace(tzinfo=tz)


def duration(seconds: float, t: Translator) -> str:
    seconds = max(0, math.ceil(seconds))
    if seconds < 60:
        return t("{n} s", n=seconds)
    if seconds < 3600:
        return t("{m} min {s} s", m=seconds // 60, s=seconds % 60)
    return t("{h} h {m} min", h=seconds // 3600, m=seconds % 3600 // 60)


@dataclass
class Stats:
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    cancelled: int = 0
    waiting: int = 0  # pending or being sent
    reasons: list[tuple[str, int]] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.blocked


def blocked_error() -> Any:
    return OutboxMessage.failure.in_([kind for kind in TelegramFailure if kind.unreachable])


class BulkLimiter(Limiter):
    """Paces broadcast rows at BROADCAST_RATE. Without paid mode they also take their turn in the
    transactional limiter, so both together stay under Telegram's free ~30/s."""

    def __init__(self, rate: float, shared: Limiter | None) -> None:
        super().__init__(rate, burst=max(1.0, rate / 10))  # a tenth of a second's worth: no burst at the start
        self.shared = shared

    async def acquire(self, chat_id: int) -> None:
        await super().acquire(chat_id)
        if self.shared is not None:
            await self.shared.acquire(chat_id)

    def try_acquire(self, chat_id: int) -> bool:
        # two buckets cannot be taken atomically without waiting; the shared (free, ~30/s) mode always waits
        return self.shared is None and super().try_acquire(chat_id)

    def done(self, chat_id: int) -> None:
        super().done(chat_id)
        if self.shared is not None:
            self.shared.done(chat_id)

    def pause(self, seconds: float) -> None:
        super().pause(seconds)
        if self.shared is not None:
            self.shared.pause(seconds)


class BroadcastService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        bot: Bot,
        clock: Clock,
        translations: Translations,
        tz: ZoneInfo,
        journey: Journey,
        *,
        rate: float,
        paid: bool,
        progress_seconds: float = 3.0,
    ) -> None:
        self.uow, self.bot, self.clock = uow_factory, bot, clock
        self.translations, self.tz, self.journey = translations, tz, journey
        self.rate, self.paid, self.progress_seconds = rate, paid, progress_seconds
        self.batch, self.time_box = BATCH, TIME_BOX
        self._samples: dict[int, deque[tuple[float, int]]] = {}
        self._queueing = asyncio.Lock()
        self.on_queued: list[Any] = []  # callbacks after rows were queued (wake the sender)

    # ----- the draft -------------------------------------------------------------------------------

    async def draft_of(self, uow: UnitOfWork, user_id: int) -> Broadcast | None:
        draft_id = await uow.session.scalar(
            select(Broadcast.id)
            .where(Broadcast.status == BroadcastStatus.DRAFT, Broadcast.created_by == user_id)
            .order_by(Broadcast.id.desc())
            .limit(1)
        )
        # locked: the parts of an album arrive as separate updates, possibly handled side by side
        return await self.get(uow, draft_id, lock=True) if draft_id is not None else None

    async def get(self, uow: UnitOfWork, broadcast_id: int, *, lock: bool = False) -> Broadcast | None:
        return await uow.session.get(Broadcast, broadcast_id, with_for_update=lock or None, populate_existing=lock)

    async def new_draft(self, uow: UnitOfWork, user_id: int, chat_id: int, language: str) -> Broadcast:
        """One draft per person: starting again drops the previous one."""
        await uow.session.execute(
            delete(Broadcast).where(Broadcast.status == BroadcastStatus.DRAFT, Broadcast.created_by == user_id)
        )
        draft = Broadcast(
            created_by=user_id,
            status=BroadcastStatus.DRAFT,
            segment={},
            content={"step": Step.SEGMENT.value, "chat_id": chat_id, "lang": language},
            created_at=self.clock.now(),
            progress_chat_id=chat_id,
        )
        uow.session.add(draft)
        await uow.session.flush()
        return draft

    async def count(self, uow: UnitOfWork, segment: Segment) -> int:
        return await segments.count(uow.session, segment, self.clock.now())

    async def cohorts(self, uow: UnitOfWork, limit: int = 6) -> list[datetime]:
        rows = await uow.session.scalars(
            select(Enrollment.cohort_start)
            .where(Enrollment.cohort_start.is_not(None))
            .group_by(Enrollment.cohort_start)
            .order_by(Enrollment.cohort_start.desc())
            .limit(limit)
        )
        return [moment for moment in rows if moment is not None]

    def accept_message(self, draft: Broadcast, message: Message) -> Accepted:
        """Takes the staff member's message as the broadcast's content."""
        group = message.media_group_id
        if group is not None:
            kind = next((k for k in ALBUM_TYPES if getattr(message, k)), None)
            if kind is None:
                return Accepted.UNSUPPORTED
            media = getattr(message, kind)
            item = {
                "type": kind,
                "media": (media[-1] if kind == "photo" else media).file_id,
                "caption": message.caption,
                "caption_entities": [e.model_dump(mode="json", exclude_none=True) for e in message.caption_entities]
                if message.caption_entities
                else None,
                "parse_mode": None,  # the entities say it all; the bot's default HTML must not re-parse
                "message_id": message.message_id,
            }
            same = draft.content.get("kind") == "album" and draft.content.get("group") == group
            parts = [*draft.content.get("media", []), item] if same else [item]
            parts.sort(key=lambda part: part["message_id"])
            set_content(draft, kind="album", group=group, media=parts, message_id=None, buttons=[])
            return Accepted.ALBUM_PART if same else Accepted.ALBUM
        if not any(getattr(message, kind) for kind in COPYABLE):
            return Accepted.UNSUPPORTED
        set_content(draft, kind="copy", message_id=message.message_id, group=None, media=[], buttons=[])
        return Accepted.SINGLE

    def outs(self, broadcast: Broadcast, *, paid: bool) -> list[Out]:
        """What each recipient gets; the preview uses the same, without paid mode."""
        content = broadcast.content
        extra: dict[str, Any] = {"allow_paid_broadcast": True} if paid else {}
        if content.get("kind") == "album":
            media = [{k: v for k, v in part.items() if k != "message_id"} for part in content["media"]]
            if len(media) == 1:  # a lone part: Telegram wants 2–10 in an album
                part = media[0]
                return [Out(f"send_{part['type']}", {part["type"]: part["media"], **_caption(part), **extra})]
            return [Out("send_media_group", {"media": media[:10], **extra})]
        markup = None
        if content.get("buttons"):
            rows = [[InlineKeyboardButton(text=text, url=url)] for text, url in content["buttons"]]
            markup = InlineKeyboardMarkup(inline_keyboard=rows).model_dump(mode="json", exclude_none=True)
        return [Out.copy(content["chat_id"], content["message_id"], reply_markup=markup, **extra)]

    def seconds_for(self, total: int) -> float:
        return total / self.rate

    # ----- starting and stopping -------------------------------------------------------------------

    async def confirm(self, uow: UnitOfWork, draft: Broadcast, actor: int, *, at: datetime | None = None) -> int:
        """Send now (at=None) or at a time. Returns the recipient count right now."""
        now = self.clock.now()
        total = await self.count(uow, segment_of(draft))
        draft.total = total
        set_content(draft, step=None)
        uow.audit.record(
            "broadcast_created",
            now,
            actor_id=actor,
            target=f"broadcast:{draft.id}",
            segment=draft.segment,
            recipients=total,
            scheduled_at=at.isoformat() if at else None,
        )
        if at is None:
            self._start(uow, draft, now)
        else:
            draft.status, draft.scheduled_at = BroadcastStatus.SCHEDULED, at
        return total

    def _start(self, uow: UnitOfWork, broadcast: Broadcast, now: datetime) -> None:
        broadcast.status, broadcast.started_at = BroadcastStatus.QUEUEING, now
        uow.audit.record("broadcast_sent", now, actor_id=broadcast.created_by, target=f"broadcast:{broadcast.id}")

    async def cancel(self, uow: UnitOfWork, broadcast_id: int, actor: int) -> Broadcast | None:
        """What went out stays out; everything still waiting is cancelled. None when it had already ended."""
        broadcast = await self.get(uow, broadcast_id, lock=True)
        if broadcast is None or broadcast.status not in (BroadcastStatus.SCHEDULED, *ACTIVE):
            return None
        now = self.clock.now()
        broadcast.status, broadcast.cancelled_by, broadcast.finished_at = BroadcastStatus.CANCELLED, actor, now
        result = await uow.session.execute(
            update(OutboxMessage)
            .where(
                locked_in_id_order(
                    uow.session, OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.status.in_(WAITING)
                )
            )
            .values(status=OutboxStatus.CANCELLED, last_error=CANCELLED_REASON)
        )
        uow.audit.record(
            "broadcast_cancelled",
            now,
            actor_id=actor,
            target=f"broadcast:{broadcast_id}",
            not_sent=int(result.rowcount),  # type: ignore[attr-defined]
        )
        return broadcast

    # ----- queueing (a Ticker job) -----------------------------------------------------------------

    async def tick(self, uow: UnitOfWork, now: datetime) -> None:
        """Starts scheduled broadcasts that are due, queues a time-boxed share of recipients, closes finished ones."""
        due = await uow.session.scalars(
            select(Broadcast)
            .where(Broadcast.status == BroadcastStatus.SCHEDULED, Broadcast.scheduled_at <= now)
            .with_for_update()
        )
        for broadcast in due:
            self._start(uow, broadcast, now)
        ids = list(await uow.session.scalars(select(Broadcast.id).where(Broadcast.status.in_(ACTIVE))))
        # queue() waits for Send now's queueing: waiting inside a transaction would hold SQLite's write lock,
        # which Send now needs to go on (a deadlock until the busy timeout)
        await uow.commit()
        deadline = time.monotonic() + self.time_box
        for broadcast_id in ids:
            await self.queue(uow, broadcast_id, deadline=deadline)
            await self._close_if_done(uow, broadcast_id)

    async def queue(
        self, uow: UnitOfWork, broadcast_id: int, *, deadline: float, max_batches: int | None = None
    ) -> int:
        """Queues recipients in batches until the segment ends or time is up; each batch commits with the cursor.

        `uow` must have no transaction open: this waits for any other queueing of this process first."""
        queued = batches = 0
        if uow.session.in_transaction():
            raise RuntimeError("queue() waits for a lock: commit before calling it, or it holds the database")
        async with self._queueing:
            while time.monotonic() < deadline and (max_batches is None or batches < max_batches):
                broadcast = await self.get(uow, broadcast_id, lock=True)
                if broadcast is None or broadcast.status is not BroadcastStatus.QUEUEING:
                    break
                assert broadcast.started_at is not None
                recipients = await segments.batch_after(
                    uow.session, segment_of(broadcast), broadcast.started_at, broadcast.cursor, self.batch
                )
                now = self.clock.now()
                inserted = await enqueue_many(
                    uow.session,
                    [(f"broadcast:{broadcast_id}:{student}", chat, student) for student, chat in recipients],
                    kind=KIND,
                    messages=self.outs(broadcast, paid=self.paid),
                    due_at=now,
                    now=now,
                    priority=Priority.BULK,
                    broadcast_id=broadcast_id,
                )
                broadcast.queued += inserted
                if recipients:
                    broadcast.cursor = recipients[-1][0]
                if len(recipients) < self.batch:
                    broadcast.status, broadcast.total = BroadcastStatus.SENDING, broadcast.queued
                await uow.commit()
                queued += inserted
                batches += 1
                if inserted:
                    for callback in self.on_queued:
                        callback()
                if broadcast.status is not BroadcastStatus.QUEUEING:
                    break
        return queued

    async def queue_now(self, broadcast_id: int) -> None:
        """Send now does not wait for the next tick: the first share is queued at once."""
        async with self.uow() as uow:
            await self.queue(uow, broadcast_id, deadline=time.monotonic() + self.time_box)

    async def _close_if_done(self, uow: UnitOfWork, broadcast_id: int) -> bool:
        broadcast = await self.get(uow, broadcast_id, lock=True)
        if broadcast is None or broadcast.status is not BroadcastStatus.SENDING:
            return False
        waiting = await uow.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.broadcast_id == broadcast_id,
                OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
            )
        )
        if waiting:
            await uow.commit()
            return False
        broadcast.status, broadcast.finished_at = BroadcastStatus.DONE, self.clock.now()
        await uow.commit()
        return True

    # ----- progress and the report -----------------------------------------------------------------

    async def stats(self, session: AsyncSession, broadcast_id: int) -> Stats:
        blocked = case((blocked_error(), True), else_=False)
        rows = await session.execute(
            select(OutboxMessage.status, blocked, func.count())
            .where(OutboxMessage.broadcast_id == broadcast_id)
            .group_by(OutboxMessage.status, blocked)
        )
        stats = Stats()
        for status, is_blocked, n in rows.all():
            if status == OutboxStatus.SENT:
                stats.sent += n
            elif is_blocked and status in (OutboxStatus.FAILED, OutboxStatus.CANCELLED):
                stats.blocked += n
            elif status == OutboxStatus.FAILED:
                stats.failed += n
            elif status == OutboxStatus.CANCELLED:
                stats.cancelled += n
            else:
                stats.waiting += n
        if stats.failed:
            reasons = await session.execute(
                select(OutboxMessage.last_error, func.count())
                .where(
                    OutboxMessage.broadcast_id == broadcast_id,
                    OutboxMessage.status == OutboxStatus.FAILED,
                    or_(OutboxMessage.failure.is_(None), ~blocked_error()),
                )
                .group_by(OutboxMessage.last_error)
                .order_by(func.count().desc())
                .limit(5)
            )
            stats.reasons = [(reason or "?", n) for reason, n in reasons.all()]
        return stats

    def _rate(self, broadcast_id: int, done: int) -> float | None:
        """Messages a second over the last ~30 real seconds of samples."""
        samples = self._samples.setdefault(broadcast_id, deque(maxlen=10))
        now = time.monotonic()
        samples.append((now, done))
        first_at, first = samples[0]
        if now - first_at < 1.0:
            return None
        return (done - first) / (now - first_at)

    def translator(self, broadcast: Broadcast) -> Translator:
        return self.translations.get(broadcast.content.get("lang"))

    def progress_text(self, broadcast: Broadcast, stats: Stats, rate: float | None, t: Translator) -> str:
        remaining = stats.waiting + max(0, broadcast.total - broadcast.queued) * (
            broadcast.status is BroadcastStatus.QUEUEING
        )
        lines = [
            t("📣 <b>Broadcast #{id}</b>: sending", id=broadcast.id),
            t(
                "Sent: {sent} · failed: {failed} · blocked: {blocked} · remaining: {remaining}",
                sent=stats.sent,
                failed=stats.failed,
                blocked=stats.blocked,
                remaining=remaining,
            ),
        ]
        speed = rate if rate else self.rate
        lines.append(
            t("Rate: {rate}/s · about {eta} left", rate=f"{speed:.1f}", eta=duration(remaining / max(speed, 0.1), t))
        )
        return "\n".join(lines)

    def report_text(self, broadcast: Broadcast, stats: Stats, t: Translator) -> str:
        if broadcast.status is BroadcastStatus.CANCELLED:
            head = t("📣 <b>Broadcast #{id}</b> was cancelled.", id=broadcast.id)
        else:
            head = t("📣 <b>Broadcast #{id}</b> is done.", id=broadcast.id)
        lines = [
            head,
            t(
                "Delivered: {sent}. Blocked the bot: {blocked}. Failed: {failed}. Not sent: {cancelled}.",
                sent=stats.sent,
                blocked=stats.blocked,
                failed=stats.failed,
                cancelled=stats.cancelled + stats.waiting,
            ),
        ]
        if stats.reasons:
            lines.append(t("Why they failed:"))
            lines += [f"• {escape(reason)} — {n}" for reason, n in stats.reasons]
        return "\n".join(lines)

    def stop_keyboard(self, broadcast_id: int, t: Translator) -> InlineKeyboardMarkup:
        button = InlineKeyboardButton(text=t("⏹ Cancel broadcast"), callback_data=Wiz(b=broadcast_id, a="stop").pack())
        return InlineKeyboardMarkup(inline_keyboard=[[button]])

    async def pulse(self) -> None:
        """One round of progress: edits each running broadcast's message, reports the finished ones."""
        async with self.uow() as uow:
            ids = list(
                await uow.session.scalars(
                    select(Broadcast.id).where(
                        or_(
                            Broadcast.status.in_(ACTIVE),
                            Broadcast.status.in_([BroadcastStatus.DONE, BroadcastStatus.CANCELLED])
                            & Broadcast.started_at.is_not(None)
                            & (func.coalesce(Broadcast.content["reported"].as_boolean(), False).is_(False)),
                        )
                    )
                )
            )
        for broadcast_id in ids:
            try:
                await self._pulse_one(broadcast_id)
            except Exception:
                log.exception("progress of broadcast %s failed", broadcast_id)

    async def _pulse_one(self, broadcast_id: int) -> None:
        async with self.uow() as uow:
            await self._close_if_done(uow, broadcast_id)
            broadcast = await self.get(uow, broadcast_id)
            if broadcast is None or broadcast.progress_chat_id is None:
                return
            stats = await self.stats(uow.session, broadcast_id)
        t = self.translator(broadcast)
        finished = broadcast.status not in ACTIVE
        markup: InlineKeyboardMarkup | None = None
        if finished:  # the progress message becomes the report, without its Cancel button
            text = self.report_text(broadcast, stats, t)
        else:
            text = self.progress_text(broadcast, stats, self._rate(broadcast_id, stats.done), t)
            markup = self.stop_keyboard(broadcast_id, t)
        message_id = broadcast.progress_message_id
        if message_id is None:
            sent = await self.bot.send_message(broadcast.progress_chat_id, text, reply_markup=markup)
            message_id = sent.message_id
        else:
            with contextlib.suppress(TelegramBadRequest):  # not modified: nothing changed since the last edit
                await self.bot.edit_message_text(
                    text=text, chat_id=broadcast.progress_chat_id, message_id=message_id, reply_markup=markup
                )
        async with self.uow() as uow:
            stored = await self.get(uow, broadcast_id, lock=True)
            if stored is not None:
                stored.progress_message_id = message_id
                if finished:
                    set_content(stored, reported=True)
                    self._samples.pop(broadcast_id, None)
            await uow.commit()

    async def run_progress(self, stop: asyncio.Event) -> None:
        """Every few real seconds, whatever the journey clock does."""
        while not stop.is_set():
            try:
                await self.pulse()
            except Exception:
                log.exception("broadcast progress failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.progress_seconds)

    # ----- history ---------------------------------------------------------------------------------

    async def history(self, uow: UnitOfWork, limit: int = 10) -> list[tuple[Broadcast, Stats]]:
        rows = await uow.session.scalars(
            select(Broadcast)
            .where(Broadcast.status != BroadcastStatus.DRAFT)
            .order_by(Broadcast.id.desc())
            .limit(limit)
        )
        return [(b, await self.stats(uow.session, b.id)) for b in list(rows)]


def _caption(part: dict[str, Any]) -> dict[str, Any]:
    return {k: part[k] for k in ("caption", "caption_entities", "parse_mode") if k in part}
