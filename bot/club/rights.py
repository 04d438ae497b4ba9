"""The bot's rights in the club group: a call refused for want of them tells the admins once per outage."""

import logging
from datetime import datetime

from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError

from bot.club.messages import ClubTexts
from bot.db.models import ClubChat, Priority
from bot.db.uow import UnitOfWork
from bot.outbox.payloads import ClubRightsPayload
from bot.outbox.queue import enqueue

log = logging.getLogger(__name__)

# Telegram's words when the bot is no administrator there, or lacks the right for the call
_NO_RIGHTS = ("not enough rights", "chat_admin_required", "need administrator rights", "have no rights")


def lacks_rights(error: TelegramAPIError) -> bool:
    """403 (the bot was removed from the group) or a 400 about rights."""
    if isinstance(error, TelegramForbiddenError):
        return True
    return isinstance(error, TelegramBadRequest) and any(words in error.message.lower() for words in _NO_RIGHTS)


class ClubRights:
    def __init__(self, chat_id: int, admin_ids: frozenset[int], texts: ClubTexts) -> None:
        self.chat_id, self.admin_ids, self.texts = chat_id, admin_ids, texts

    async def failed(self, uow: UnitOfWork, error: TelegramAPIError, what: str, now: datetime) -> None:
        """A club call failed: a missing right starts an outage (the admins are told, once); anything else is
        only logged. Either way the caller tries again later."""
        if not lacks_rights(error):
            log.warning("club: %s failed: %s; trying again later", what, error.message)
            return
        chat = await uow.session.get(ClubChat, self.chat_id, with_for_update=True)
        if chat is None:
            chat = ClubChat(chat_id=self.chat_id)
            uow.session.add(chat)
        if chat.rights_lost_at is not None:
            return
        chat.rights_lost_at = now
        log.warning("club: the bot lacks admin rights in the club group (%s: %s)", what, error.message)
        for admin in sorted(self.admin_ids):
            student = await uow.students.by_telegram_id(admin)
            text = self.texts.rights_lost(student.language if student else None, error.message)
            await enqueue(
                uow.session,
                key=f"club-rights:{self.chat_id}:{int(now.timestamp())}:{admin}",
                payload=ClubRightsPayload(messages=(text,)),
                chat_id=admin,
                due_at=now,
                now=now,
                priority=Priority.URGENT,
            )

    async def working(self, uow: UnitOfWork) -> None:
        """A club call went through: an outage (if any) is over, and the next one is told again."""
        chat = await uow.session.get(ClubChat, self.chat_id)
        if chat is not None and chat.rights_lost_at is not None:
            chat.rights_lost_at = None
            log.info("club: the bot's admin rights in the club group work again")
