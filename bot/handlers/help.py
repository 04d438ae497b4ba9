from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.i18n import Translator


def help_text(t: Translator) -> str:
    return "\n".join(
        [
            t("I walk you through the course, one step at a time."),
            "",
            t("/start — start or continue the course"),
            t("/progress — your progress and the next step"),
            t("/help — this message"),
            "",
            t("Press the buttons under my messages to answer and to mark steps done."),
        ]
    )


async def show_help(message: Message, t: Translator) -> None:
    await message.answer(help_text(t))


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(show_help, Command("help"))
    return router
