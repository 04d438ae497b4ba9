"""A running broadcast's progress message, edited every few real seconds, and the report it turns into."""

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from html import escape

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy import or_, select

from bot.broadcasts.callbacks import WizardAction, WizardButton
from bot.broadcasts.content import content_of, not_reported, set_content
from bot.broadcasts.delivery import ACTIVE, Delivery
from bot.broadcasts.stats import Stats, stats
from bot.db.models import Broadcast, BroadcastStatus
from bot.db.uow import UnitOfWorkFactory
from bot.i18n import Translations, Translator

log = logging.getLogger(__name__)


def duration(seconds: float, t: Translator) -> str:
    seconds = max(0, math.ceil(seconds))
    if seconds < 60:
        return t("{n} s", n=seconds)
    if seconds < 3600:
        return t("{m} min {s} s", m=seconds // 60, s=seconds % 60)
    return t("{h} h {m} min", h=seconds // 3600, m=seconds % 3600 // 60)


def stop_keyboard(broadcast_id: int, t: Translator) -> InlineKeyboardMarkup:
    data = WizardButton(broadcast=broadcast_id, action=WizardAction.STOP).pack()
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t("⏹ Cancel broadcast"), callback_data=data)]]
    )


def report_text(broadcast: Broadcast, counted: Stats, t: Translator) -> str:
    if broadcast.status is BroadcastStatus.CANCELLED:
        head = t("📣 <b>Broadcast #{id}</b> was cancelled.", id=broadcast.id)
    else:
        head = t("📣 <b>Broadcast #{id}</b> is done.", id=broadcast.id)
    lines = [
        head,
        t(
            "Delivered: {sent}. Blocked the bot: {blocked}. Failed: {failed}. Not sent: {cancelled}.",
            sent=counted.sent,
            blocked=counted.blocked,
            failed=counted.failed,
            cancelled=counted.cancelled + counted.waiting,
        ),
    ]
    if counted.reasons:
        lines.append(t("Why they failed:"))
        lines += [f"• {escape(reason)} — {n}" for reason, n in counted.reasons]
    return "\n".join(lines)


class Progress:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        bot: Bot,
        translations: Translations,
        delivery: Delivery,
        *,
        rate: float,
        every: float = 3.0,
    ) -> None:
        self.uow, self.bot, self.translations, self.delivery = uow_factory, bot, translations, delivery
        self.rate, self.every = rate, every
        self._samples: dict[int, deque[tuple[float, int]]] = {}

    def _measured_rate(self, broadcast_id: int, done: int) -> float | None:
        """Messages a second over the last ~30 real seconds of samples."""
        samples = self._samples.setdefault(broadcast_id, deque(maxlen=10))
        now = time.monotonic()
        samples.append((now, done))
        first_at, first = samples[0]
        if now - first_at < 1.0:
            return None
        return (done - first) / (now - first_at)

    def progress_text(self, broadcast: Broadcast, counted: Stats, rate: float | None, t: Translator) -> str:
        remaining = counted.waiting + max(0, broadcast.total - broadcast.queued) * (
            broadcast.status is BroadcastStatus.QUEUEING
        )
        lines = [
            t("📣 <b>Broadcast #{id}</b>: sending", id=broadcast.id),
            t(
                "Sent: {sent} · failed: {failed} · blocked: {blocked} · remaining: {remaining}",
                sent=counted.sent,
                failed=counted.failed,
                blocked=counted.blocked,
                remaining=remaining,
            ),
        ]
        speed = rate if rate else self.rate
        lines.append(
            t("Rate: {rate}/s · about {eta} left", rate=f"{speed:.1f}", eta=duration(remaining / max(speed, 0.1), t))
        )
        return "\n".join(lines)

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
                            & not_reported(),
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
            await self.delivery.close_if_done(uow, broadcast_id)
            broadcast = await uow.session.get(Broadcast, broadcast_id)
            if broadcast is None or broadcast.progress_chat_id is None:
                return
            counted = await stats(uow.session, broadcast_id)
        t = self.translations.get(content_of(broadcast).lang)
        finished = broadcast.status not in ACTIVE
        markup: InlineKeyboardMarkup | None = None
        if finished:  # the progress message becomes the report, without its Cancel button
            text = report_text(broadcast, counted, t)
        else:
            text = self.progress_text(broadcast, counted, self._measured_rate(broadcast_id, counted.done), t)
            markup = stop_keyboard(broadcast_id, t)
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
            stored = await uow.session.get(Broadcast, broadcast_id, with_for_update=True, populate_existing=True)
            if stored is not None:
                stored.progress_message_id = message_id
                if finished:
                    set_content(stored, content_of(stored).marked_reported())
                    self._samples.pop(broadcast_id, None)
            await uow.commit()

    async def run(self, stop: asyncio.Event) -> None:
        """Every few real seconds, whatever the journey clock does."""
        while not stop.is_set():
            try:
                await self.pulse()
            except Exception:
                log.exception("broadcast progress failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.every)
