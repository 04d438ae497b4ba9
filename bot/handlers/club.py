"""/club for a student: their membership, a link to join or renew, and the renewal of a Stars subscription."""

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.callbacks import ClubAction, ClubPress
from bot.club import Club
from bot.club.members import NoSubscription, NotAStudent, RenewalChanged
from bot.i18n import Translator


async def show_club(message: Message, club: Club, t: Translator) -> None:
    assert message.from_user is not None
    await _answer_view(message, club, t, message.from_user.id)


async def _answer_view(message: Message, club: Club, t: Translator, telegram_id: int) -> None:
    if not club.enabled:
        await message.answer(t("The school has no graduate club yet."))
        return
    try:
        view = await club.members.view(telegram_id)
    except TelegramAPIError:
        await message.answer(t("Telegram did not make the payment link just now; please try /club again in a minute."))
        return
    if isinstance(view, NotAStudent):
        await message.answer(t("Send /start first: the club is for the school's students."))
        return
    text, markup = club.texts.view(t.language, view)
    await message.answer(text, reply_markup=markup)


async def pressed(query: CallbackQuery, callback_data: ClubPress, club: Club, t: Translator) -> None:
    if not club.enabled or not isinstance(query.message, Message):
        await query.answer(t("The school has no graduate club yet."))
        return
    if callback_data.act is ClubAction.RENEW:
        await query.answer()
        await _answer_view(query.message, club, t, query.from_user.id)
        return
    outcome = await club.members.set_renewal(query.from_user.id, renew=callback_data.act is ClubAction.RESUME)
    match outcome:
        case NoSubscription():
            await query.answer(t("There is no club subscription to change."), show_alert=True)
        case RenewalChanged(auto_renew=True):
            await query.answer(t("Renewal is on again."))
        case RenewalChanged():
            await query.answer(t("Renewal cancelled: you stay a member until the paid month ends."))
        case _:
            await query.answer(t("Telegram refused the change: {reason}", reason=outcome.reason), show_alert=True)
    if isinstance(outcome, RenewalChanged):
        view = await club.members.view(query.from_user.id, pay_link=False)
        if not isinstance(view, NotAStudent):
            text, markup = club.texts.view(t.language, view)
            await query.message.edit_text(text, reply_markup=markup)


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(show_club, Command("club"))
    router.callback_query.register(pressed, ClubPress.filter())
    return router
