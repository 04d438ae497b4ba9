"""Last in line: every private message gets an answer, never silence."""

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.i18n import Translator
from bot.render import Renderer
from bot.services.student_path import Person, StudentPath
from journeys.decisions import Notice
from journeys.notices import NoticeKey


async def free_text(message: Message, person: Person, path: StudentPath, renderer: Renderer) -> None:
    assert message.text is not None
    await renderer.send(message.chat.id, await path.text(person, message.text))


async def nothing_to_cancel(message: Message, t: Translator) -> None:
    # the curator question and the broadcast wizard take /cancel first: here there is nothing in progress
    await message.answer(t("There is nothing to cancel."))


async def anything_else(message: Message, renderer: Renderer) -> None:
    # unknown commands, stickers, photos: point to what the bot can do
    await renderer.send(message.chat.id, [Notice(NoticeKey.FALLBACK)])


async def unknown_button(query: CallbackQuery, renderer: Renderer) -> None:
    await renderer.answer_press(query, [Notice(NoticeKey.STALE)])


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(nothing_to_cancel, Command("cancel"))
    router.message.register(free_text, F.text & ~F.text.startswith("/"))
    router.message.register(anything_else)
    router.callback_query.register(unknown_button)
    return router
