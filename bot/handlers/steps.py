from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.callbacks import Done, Resume
from bot.render import Renderer
from bot.services.student_path import Person, StudentPath


async def complete_step(
    query: CallbackQuery, callback_data: Done, person: Person, path: StudentPath, renderer: Renderer
) -> None:
    decisions = await path.complete_step(person, callback_data.enrollment, callback_data.step)
    await renderer.answer_press(query, decisions)


async def resume(
    query: CallbackQuery, callback_data: Resume, person: Person, path: StudentPath, renderer: Renderer
) -> None:
    decisions = await path.resume(person, callback_data.enrollment)
    await renderer.answer_press(query, decisions)


async def show_progress(message: Message, person: Person, path: StudentPath, renderer: Renderer) -> None:
    await renderer.send(message.chat.id, await path.progress(person))


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.callback_query.register(complete_step, Done.filter())
    router.callback_query.register(resume, Resume.filter())
    router.message.register(show_progress, Command("progress"))
    return router
