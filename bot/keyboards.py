"""Inline keyboards built from decisions."""

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import Answer, AskCurator, Done, Resume, Skip
from bot.i18n import Translator
from journeys.decisions import AskQuestion, ShowStep


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
