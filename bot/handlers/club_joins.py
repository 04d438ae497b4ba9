"""chat_join_request in the club group: members with access are let in, anyone else told why and declined."""

from aiogram import F, Router
from aiogram.types import ChatJoinRequest

from bot.club import Club


async def join_request(request: ChatJoinRequest, club: Club) -> None:
    await club.joins.answer(request)


def build_router(club_chat_id: int) -> Router:
    router = Router(name=__name__)
    router.chat_join_request.register(join_request, F.chat.id == club_chat_id)
    return router
