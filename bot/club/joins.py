"""Join requests to the club: only a member with access now is let in, whichever link they came by (a link
that reached someone else lets nobody else in). Anyone else is first told how to get access (allowed while
their request is pending, so the message goes straight out, not through the outbox) and then declined."""

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ChatJoinRequest

from bot.club.access import membership_of
from bot.club.lifecycle import state_of
from bot.club.messages import ClubTexts
from bot.club.rights import ClubRights
from bot.db.uow import UnitOfWorkFactory
from bot.telegram_errors import describe
from journeys.clock import Clock
from journeys.events import EventType

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Requester:
    student_id: int | None
    language: str | None
    timezone: ZoneInfo
    allowed: bool
    ended: datetime | None  # their membership's end, for someone whose access is over


class ClubJoins:
    def __init__(
        self, uow: UnitOfWorkFactory, bot: Bot, clock: Clock, texts: ClubTexts, rights: ClubRights, tz: ZoneInfo
    ) -> None:
        self.uow, self.bot, self.clock, self.texts, self.rights, self.tz = uow, bot, clock, texts, rights, tz

    async def answer(self, request: ChatJoinRequest) -> None:
        requester = await self._requester(request.from_user.id, request.from_user.language_code)
        try:
            if requester.allowed:
                await request.approve()
            else:
                await self._tell(request, requester)
                await request.decline()
        except TelegramAPIError as error:
            # the request stays pending: Telegram keeps it, and a press of the link by the person asks again
            async with self.uow() as uow:
                await self.rights.failed(uow, error, "answering a join request", self.clock.now())
                await uow.commit()
            return
        now = self.clock.now()
        async with self.uow() as uow:
            await self.rights.working(uow)
            if requester.allowed and requester.student_id is not None:
                membership = await membership_of(uow, requester.student_id, for_update=True)
                if membership is not None:
                    membership.joined_at = now
                uow.events.record(EventType.CLUB_JOINED, now, student_id=requester.student_id)
            await uow.commit()

    async def _requester(self, telegram_id: int, language: str | None) -> Requester:
        now = self.clock.now()
        async with self.uow() as uow:
            student = await uow.students.by_telegram_id(telegram_id)
            membership = await membership_of(uow, student.id) if student else None
            if student is None or membership is None:
                return Requester(None, language, self.tz, allowed=False, ended=None)
            allowed = state_of(membership).has_access(now)
            ended = None if allowed else min(membership.access_until, now)
            return Requester(student.id, student.language, ZoneInfo(student.timezone), allowed, ended)

    async def _tell(self, request: ChatJoinRequest, requester: Requester) -> None:
        me = await self.bot.me()
        text = self.texts.declined(requester.language, me.username or "", requester.ended, requester.timezone)
        try:
            await self.bot.send_message(request.user_chat_id, text)
        except TelegramAPIError as error:  # they may have blocked the bot: still declined
            log.info("club: could not tell a declined requester why: %s", describe(error))
