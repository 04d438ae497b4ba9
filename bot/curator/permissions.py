"""Who may press the alert buttons: members of the curator group, the admins, and staff who curate."""

import logging
import time
from collections.abc import Awaitable, Callable, Collection

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

log = logging.getLogger(__name__)

CURATOR_STATUSES = frozenset({"creator", "administrator", "member"})
TTL = 60.0  # seconds: a removed curator loses access within a minute, without a getChatMember per press


class Curators:
    def __init__(
        self,
        bot: Bot,
        chat_id: int | None,
        admin_ids: Collection[int],
        *,
        ttl: float = TTL,
        clock: Callable[[], float] = time.monotonic,
        staff: Callable[[int], Awaitable[bool]] | None = None,
    ) -> None:
        self.bot, self.chat_id, self.admin_ids = bot, chat_id, frozenset(admin_ids)
        self.staff = staff  # roles given with /staff or `journeybot staff` (curator, care team)
        self.ttl, self._clock = ttl, clock
        self._cache: dict[int, tuple[bool, float]] = {}

    async def allowed(self, user_id: int) -> bool:
        if user_id in self.admin_ids or (self.staff is not None and await self.staff(user_id)):
            return True
        if self.chat_id is None:
            return False
        cached = self._cache.get(user_id)
        if cached and cached[1] > self._clock():
            return cached[0]
        try:
            member = await self.bot.get_chat_member(self.chat_id, user_id)
        except TelegramAPIError as e:
            log.warning("getChatMember(%s, %s) failed: %s", self.chat_id, user_id, e)
            return False  # not cached: the next press asks again
        status = getattr(member.status, "value", member.status)  # an enum member, or a plain string
        allowed = status in CURATOR_STATUSES
        self._cache[user_id] = (allowed, self._clock() + self.ttl)
        return allowed
