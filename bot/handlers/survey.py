from aiogram import Router
from aiogram.types import CallbackQuery

from bot.callbacks import Answer, Skip
from bot.render import Renderer
from bot.services.student_path import Person, StudentPath


async def choose(
    query: CallbackQuery, callback_data: Answer, person: Person, path: StudentPath, renderer: Renderer
) -> None:
    decisions = await path.choose(person, callback_data.enrollment, callback_data.question, callback_data.option)
    await renderer.answer_press(query, decisions)


async def skip(
    query: CallbackQuery, callback_data: Skip, person: Person, path: StudentPath, renderer: Renderer
) -> None:
    decisions = await path.skip(person, callback_data.enrollment, callback_data.question)
    await renderer.answer_press(query, decisions)


def build_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(choose, Answer.filter())
    router.callback_query.register(skip, Skip.filter())
    return router
