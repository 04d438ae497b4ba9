from aiogram import F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message

from bot.render import Renderer
from bot.services.course_entry import CourseEntry
from bot.services.student_path import Person


async def start(
    message: Message, command: CommandObject, person: Person, entry: CourseEntry, renderer: Renderer
) -> None:
    decisions = await entry.start(person, command.args)
    await renderer.send(message.chat.id, decisions)


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(start, CommandStart())
    return router
