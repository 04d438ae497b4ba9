"""The catalog for the student: /courses, a course picked from a list, another enrollment made current."""

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.callbacks import OpenCourse, SwitchCourse
from bot.render import Renderer
from bot.services.course_entry import CourseEntry
from bot.services.courses import Courses
from bot.services.student_path import Person, StudentPath


async def list_courses(message: Message, person: Person, courses: Courses, renderer: Renderer) -> None:
    await renderer.send(message.chat.id, await courses.list(person))


async def open_course(
    query: CallbackQuery, callback_data: OpenCourse, person: Person, entry: CourseEntry, renderer: Renderer
) -> None:
    await renderer.answer_press(query, await entry.open_course(person, callback_data.journey))


async def switch_course(
    query: CallbackQuery, callback_data: SwitchCourse, person: Person, path: StudentPath, renderer: Renderer
) -> None:
    await renderer.answer_press(query, await path.resume(person, callback_data.enrollment, switching=True))


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(list_courses, Command("courses"))
    router.callback_query.register(open_course, OpenCourse.filter())
    router.callback_query.register(switch_course, SwitchCourse.filter())
    return router
