"""Inline keyboards built from decisions."""

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import Answer, AskCurator, Consult, Done, OpenCourse, Resume, Skip, SwitchCourse
from bot.i18n import Translator
from journeys.decisions import AskQuestion, CourseCard, CourseList, NotSuited, ShowStep


def question_keyboard(ask: AskQuestion, t: Translator) -> InlineKeyboardMarkup | None:
    rows = [
        [
            InlineKeyboardButton(
                text=option.text,
                callback_data=Answer(enrollment=ask.enrollment_id, question=ask.index, option=i).pack(),
            )
        ]
        for i, option in enumerate(ask.question.options)
    ]
    if not ask.question.required:
        rows.append(
            [
                InlineKeyboardButton(
                    text=t("Skip"),
                    callback_data=Skip(enrollment=ask.enrollment_id, question=ask.index).pack(),
                )
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def link_row(show: ShowStep) -> list[InlineKeyboardButton]:
    link = show.step.link
    return [InlineKeyboardButton(text=link.text, url=link.url)] if link else []


def step_keyboard(show: ShowStep, t: Translator) -> InlineKeyboardMarkup:
    done = InlineKeyboardButton(
        text=show.step.button or t("✅ Done"),
        callback_data=Done(enrollment=show.enrollment_id, step=show.index).pack(),
    )
    rows = [row for row in (link_row(show), [done]) if row]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def continue_keyboard(enrollment_id: int, t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=t("▶️ Continue"), callback_data=Resume(enrollment=enrollment_id).pack())]
        ]
    )


def nudge_keyboard(enrollment_id: int, t: Translator, *, offer_curator: bool) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(text=t("▶️ Continue"), callback_data=Resume(enrollment=enrollment_id).pack())]]
    if offer_curator:
        ask = AskCurator(enrollment=enrollment_id).pack()
        rows.append([InlineKeyboardButton(text=t("💬 Write to a curator"), callback_data=ask)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def link_keyboard(text: str, url: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=text, url=url)]])


def course_button(course: CourseCard, text: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=OpenCourse(journey=course.journey_id).pack())


def catalog_keyboard(courses: tuple[CourseCard, ...]) -> InlineKeyboardMarkup | None:
    rows = [[course_button(course, course.title[:64])] for course in courses]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def courses_keyboard(listed: CourseList, t: Translator) -> InlineKeyboardMarkup | None:
    rows = [
        [
            InlineKeyboardButton(
                text=t("▶️ {title}", title=entry.course.title)[:64],
                callback_data=SwitchCourse(enrollment=entry.enrollment_id).pack(),
            )
        ]
        for entry in listed.enrolled
        if not entry.current
    ]
    rows += [[course_button(course, t("➕ {title}", title=course.title)[:64])] for course in listed.more]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def not_suited_keyboard(verdict: NotSuited, t: Translator) -> InlineKeyboardMarkup | None:
    rows = []
    if verdict.instead is not None:
        rows.append([course_button(verdict.instead, t("Tell me about «{title}»", title=verdict.instead.title)[:64])])
    if verdict.consultation:  # a sales lead for the curators
        consult = Consult(enrollment=verdict.enrollment_id).pack()
        rows.append([InlineKeyboardButton(text=t("💬 Book a free consultation"), callback_data=consult)])
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def next_stage_keyboard(course: CourseCard, t: Translator) -> InlineKeyboardMarkup:
    text = t("Next stage: «{title}»", title=course.title)[:64]
    return InlineKeyboardMarkup(inline_keyboard=[[course_button(course, text)]])
