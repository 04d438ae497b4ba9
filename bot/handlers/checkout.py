"""Paying in Telegram Stars: Buy under an offer sends the invoice, the pre-checkout query is answered at once,
successful_payment is thanked and refunded_payment recorded. The payment flow itself is bot/revenue/stars.py."""

from html import escape

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, LabeledPrice, Message, PreCheckoutQuery

from bot.callbacks import OfferAction, OfferPress
from bot.i18n import Translations, Translator
from bot.render import N_, when
from bot.revenue.money import format_amount
from bot.revenue.stars import (
    STARS,
    AlreadyPaid,
    Approved,
    Invoice,
    InvoiceProblem,
    Paid,
    PaidOutcome,
    Refusal,
    Refused,
    StarsCheckout,
    StarsPayment,
    expiration,
)
from bot.services.student_path import language_of
from journeys.checkout import CheckoutRefusal

# what the payer reads when Telegram shows the refusal (and a Buy press is answered with)
REFUSALS: dict[Refusal, str] = {
    InvoiceProblem.FORGED: N_("This invoice is not from this bot. Nothing was charged."),
    InvoiceProblem.NOT_YOURS: N_("This invoice was made for someone else. Nothing was charged."),
    CheckoutRefusal.UNKNOWN_OFFER: N_("This offer is no longer on sale. Nothing was charged."),
    CheckoutRefusal.EXPIRED: N_("This offer has ended. Nothing was charged."),
    CheckoutRefusal.PRICE_CHANGED: N_("The price has changed since this invoice. Press Buy again for a new one."),
    CheckoutRefusal.ALREADY_BOUGHT: N_("You have bought this already. Nothing was charged."),
    CheckoutRefusal.NOT_OFFERED: N_("This offer is not open to you. Nothing was charged."),
    CheckoutRefusal.WRONG_TRACK: N_("This offer is for another track. Nothing was charged."),
}


async def buy(query: CallbackQuery, callback_data: OfferPress, stars: StarsCheckout, bot: Bot, t: Translator) -> None:
    invoice = await stars.open(query.from_user.id, callback_data.enrollment, callback_data.offer)
    if isinstance(invoice, Refused):
        await query.answer(t(REFUSALS[invoice.reason]), show_alert=True)
        return
    await query.answer()
    await send_invoice(bot, query.from_user.id, invoice)


async def send_invoice(bot: Bot, chat_id: int, invoice: Invoice) -> None:
    price = LabeledPrice(label=invoice.title, amount=invoice.amount)
    await bot.send_invoice(chat_id, invoice.title, invoice.description, invoice.payload, STARS, [price])


async def answer_pre_checkout(query: PreCheckoutQuery, stars: StarsCheckout, translations: Translations) -> None:
    verdict = await stars.pre_checkout(query.from_user.id, query.invoice_payload, query.total_amount, query.currency)
    if isinstance(verdict, Approved):
        await query.answer(ok=True)
        return
    t = translations.get(language_of(query.from_user.language_code))
    await query.answer(ok=False, error_message=t(REFUSALS[verdict.reason]))


async def payment_received(message: Message, stars: StarsCheckout, t: Translator) -> None:
    paid = message.successful_payment
    assert paid is not None and message.from_user is not None
    payment = StarsPayment(
        charge_id=paid.telegram_payment_charge_id,
        payload=paid.invoice_payload,
        amount=paid.total_amount,
        currency=paid.currency,
        subscription_expires=expiration(paid.subscription_expiration_date),
        recurring=bool(paid.is_recurring),
    )
    outcome = await stars.paid(message.from_user.id, payment)
    if not isinstance(outcome, AlreadyPaid):  # a repeated update was thanked the first time
        await message.answer(thanks(outcome, t))


def thanks(outcome: PaidOutcome, t: Translator) -> str:
    if not isinstance(outcome, Paid):
        return t("Your payment arrived, but I could not match it to a purchase. The school will sort it out.")
    amount = format_amount(outcome.amount, STARS)
    title = escape(outcome.title) if outcome.title is not None else t("Graduate club")
    if outcome.renewal and outcome.period_end is not None:
        date = when(outcome.period_end, t, None)
        return t("Renewed: {title} until {date}. Thank you!", title=title, date=date)
    return t("Thank you! {amount} received for {title}.", amount=amount, title=title)


async def payment_refunded(message: Message, stars: StarsCheckout) -> None:
    refunded = message.refunded_payment
    assert refunded is not None
    await stars.refunded(refunded.telegram_payment_charge_id)


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.callback_query.register(buy, OfferPress.filter(F.act == OfferAction.BUY))
    router.pre_checkout_query.register(answer_pre_checkout)
    router.message.register(payment_received, F.successful_payment)
    router.message.register(payment_refunded, F.refunded_payment)
    return router
