"""The student's side of offers and check-ins: Not now, Talk to a curator, the fit check's free consultation,
check-in answers (buttons, or the next message for a free-text question). Buy is the payment flow's."""

import logging
from typing import assert_never

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Message

from bot.callbacks import CheckinAnswer, CheckinSkip, Consult, OfferAction, OfferPress
from bot.i18n import Translator
from bot.offer_messages import answered_text
from bot.render import Renderer, notice_text
from bot.services.checkin_answers import CheckinAnswers, CheckinOutcome, CheckinReply
from bot.services.offer_presses import OfferPresses, PressOutcome
from journeys.decisions import TextRejected
from journeys.notices import NoticeKey

log = logging.getLogger(__name__)


def _said(outcome: PressOutcome, t: Translator) -> str:
    match outcome:
        case PressOutcome.DISMISSED:
            return t("OK, I will not offer it again.")
        case PressOutcome.LEAD_TO_CURATORS:
            return t("✓ Passed on: a curator will write to you here soon.")
        case PressOutcome.LEAD_RECORDED:
            return t("✓ Thank you! The school will contact you soon.")
        case PressOutcome.LEAD_ALREADY:
            return t("Your request is already with the school: they will contact you soon.")
        case PressOutcome.NOT_YOURS:
            return notice_text(NoticeKey.NOT_YOURS, t)
        case PressOutcome.STALE:
            return notice_text(NoticeKey.STALE, t)
    assert_never(outcome)


LEADS = (PressOutcome.LEAD_TO_CURATORS, PressOutcome.LEAD_RECORDED)


async def _drop_buttons(query: CallbackQuery) -> None:
    if not isinstance(query.message, Message):
        return
    try:
        await query.message.edit_reply_markup(reply_markup=None)
    except TelegramBadRequest as e:  # deleted, or already without them: the press counted anyway
        log.info("offer press: could not remove the buttons: %s", e.message)


async def offer_press(
    query: CallbackQuery, callback_data: OfferPress, offer_presses: OfferPresses, t: Translator
) -> None:
    if callback_data.act is OfferAction.DISMISS:
        outcome = await offer_presses.dismiss(query.from_user.id, callback_data.enrollment, callback_data.offer)
    else:
        outcome = await offer_presses.lead(query.from_user.id, callback_data.enrollment, callback_data.offer)
    await _answer(query, outcome, t)


async def consult(query: CallbackQuery, callback_data: Consult, offer_presses: OfferPresses, t: Translator) -> None:
    await _answer(query, await offer_presses.consult(query.from_user.id, callback_data.enrollment), t)


async def _answer(query: CallbackQuery, outcome: PressOutcome, t: Translator) -> None:
    if outcome in LEADS:
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.answer(_said(outcome, t))
        return
    await query.answer(_said(outcome, t))
    if outcome is PressOutcome.DISMISSED:
        await _drop_buttons(query)


async def checkin_answer(
    query: CallbackQuery, callback_data: CheckinAnswer, checkin_answers: CheckinAnswers, renderer: Renderer
) -> None:
    data = callback_data
    reply = await checkin_answers.press(query.from_user.id, data.enrollment, data.checkin, data.question, data.option)
    await _checkin_pressed(query, reply, renderer)


async def checkin_skip(
    query: CallbackQuery, callback_data: CheckinSkip, checkin_answers: CheckinAnswers, renderer: Renderer
) -> None:
    data = callback_data
    reply = await checkin_answers.press(query.from_user.id, data.enrollment, data.checkin, data.question, None)
    await _checkin_pressed(query, reply, renderer)


async def _checkin_pressed(query: CallbackQuery, reply: CheckinReply, renderer: Renderer) -> None:
    t = renderer.t
    match reply.outcome:
        case CheckinOutcome.NOT_YOURS:
            await query.answer(notice_text(NoticeKey.NOT_YOURS, t))
            return
        case CheckinOutcome.ALREADY:
            await query.answer(notice_text(NoticeKey.ALREADY_ANSWERED, t))
            return
        case CheckinOutcome.RECORDED:
            await query.answer(t("Counted ✓"))
        case _:
            await query.answer(notice_text(NoticeKey.STALE, t))
            return
    assert reply.question is not None
    if isinstance(query.message, Message):
        text = answered_text(reply.question, reply.index, reply.total, reply.shown, t)
        try:
            await query.message.edit_text(text, reply_markup=None)
        except TelegramBadRequest as e:
            log.info("check-in press: could not update the question: %s", e.message)
    if reply.finished:
        await renderer.bot.send_message(query.from_user.id, t("Thank you for your answers!"))


async def awaiting_checkin_text(message: Message, checkin_answers: CheckinAnswers) -> bool:
    return message.from_user is not None and await checkin_answers.awaiting_text(message.from_user.id)


async def checkin_text(message: Message, checkin_answers: CheckinAnswers, renderer: Renderer) -> None:
    assert message.from_user is not None and message.text is not None
    reply = await checkin_answers.text(message.from_user.id, message.text)
    t = renderer.t
    if reply.outcome is CheckinOutcome.REJECTED:
        assert reply.question is not None and reply.problem is not None and reply.problem.reason is not None
        await renderer.send(message.chat.id, [TextRejected(reply.question, reply.problem.reason, reply.problem.limit)])
    elif reply.outcome is CheckinOutcome.RECORDED:
        await message.reply(t("Thank you for your answers!") if reply.finished else t("✓ Noted."))
    else:  # answered meanwhile (a second message sent together with the answer)
        await message.reply(notice_text(NoticeKey.ALREADY_ANSWERED, t))


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    # Buy is the Stars payment flow's: its own router takes it
    router.callback_query.register(offer_press, OfferPress.filter(F.act.in_({OfferAction.DISMISS, OfferAction.LEAD})))
    router.callback_query.register(consult, Consult.filter())
    router.callback_query.register(checkin_answer, CheckinAnswer.filter())
    router.callback_query.register(checkin_skip, CheckinSkip.filter())
    router.message.register(checkin_text, F.text & ~F.text.startswith("/"), awaiting_checkin_text)
    return router
