"""Last in line: every private message gets an answer, never silence."""

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from bot.render import Renderer
from bot.services.student_path import Person, StudentPath
from journeys.decisions import Notice


async def free_text(message: Message, person: Person, path: StudentPath, renderer: Renderer) -> None:
    assert message.text is not None
    await renderer.send(message.chat.id, await path.text(person, message.text))


async def anything_else(message: Message, renderer: Renderer) -> None:
    # unknown commands, stickers, photos: point to what the bot can do
    await renderer.send(message.chat.id, [Notice("fallback")])


async def unknown_button(query: CallbackQuery, renderer: Renderer) -> None:
    await renderer.answer_press(query, [Notice("stale")])


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(free_text, F.text & ~F.text.startswith("/"))
    router.message.register(anything_else)
    router.callback_query.register(unknown_button)
    return router
