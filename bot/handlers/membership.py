"""my_chat_member in a private chat: the student blocked the bot ("kicked") or came back ("member")."""

from aiogram import F, Router
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated, Update

from bot.services.reachability import Reachability


async def blocked(event: ChatMemberUpdated, event_update: Update, reachability: Reachability) -> None:
    await reachability.chat_member(event.chat.id, event_update.update_id, blocked=True)


async def unblocked(event: ChatMemberUpdated, event_update: Update, reachability: Reachability) -> None:
    await reachability.chat_member(event.chat.id, event_update.update_id, blocked=False)


def build_router() -> Router:
    router = Router(name=__name__)
    router.my_chat_member.filter(F.chat.type == "private")
    router.my_chat_member.register(blocked, ChatMemberUpdatedFilter(KICKED))
    router.my_chat_member.register(unblocked, ChatMemberUpdatedFilter(MEMBER))
    return router
