"""/refund <payment id> [stars|school]: an admin refunds a purchase. Stars go back through Telegram first; a
school payment is only recorded (the school returns the money). Audited, and the grant is revoked."""

from html import escape

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.filters import StaffOnly, refuse
from bot.i18n import Translator
from bot.names import fit
from bot.render import N_
from bot.revenue.money import format_amount
from bot.revenue.refunds import (
    AlreadyRefunded,
    Charge,
    NoSuchPayment,
    RefundRecorded,
    StaffRefundOutcome,
    StaffRefunds,
    TelegramRefused,
    TelegramUnavailable,
    WhichSource,
)
from bot.services.staff import Permission
from journeys.purchases import PaymentSource


async def refund_payment(message: Message, command: CommandObject, refunds: StaffRefunds, t: Translator) -> None:
    assert message.from_user is not None
    words = (command.args or "").split()
    sources = {s.value: s for s in PaymentSource}
    if not 1 <= len(words) <= 2 or (len(words) == 2 and words[1] not in sources):
        await message.answer(t("Use: /refund PAYMENT_ID, or /refund PAYMENT_ID stars|school when both have that id."))
        return
    source = sources[words[1]] if len(words) == 2 else None
    outcome = await refunds.refund(words[0], source=source, actor_id=message.from_user.id)
    await message.answer(answer(outcome, t))


def answer(outcome: StaffRefundOutcome, t: Translator) -> str:
    match outcome:
        case NoSuchPayment(payment_id=payment_id):
            return t("No payment {id} in the ledger. Nothing changed.", id=_code(payment_id))
        case WhichSource(payment_id=payment_id):
            return t(
                "Both a Stars and a school payment have id {id}: add stars or school to the command.",
                id=_code(payment_id),
            )
        case AlreadyRefunded(charge=charge):
            return t("Payment {id} is already refunded. Nothing changed.", id=_code(charge.payment_id))
        case TelegramRefused(charge=charge, reason=reason):
            return t(
                "Telegram refused to refund {id}: {reason}. Nothing recorded.",
                id=_code(charge.payment_id),
                reason=escape(reason),
            )
        case TelegramUnavailable(charge=charge):
            return t("Telegram did not answer; {id} is not refunded. Try again later.", id=_code(charge.payment_id))
        case RefundRecorded(charge=charge, through_telegram=True):
            return t(
                "Refunded {amount} for {product} through Telegram and recorded it; the access is revoked.",
                **_money(charge),
            )
        case RefundRecorded(charge=charge):
            return t(
                "Recorded the refund of {amount} for {product}; the access is revoked. "
                "The school returns the money itself: this did not send it.",
                **_money(charge),
            )
    raise AssertionError(outcome)


def _code(payment_id: str) -> str:
    return f"<code>{escape(fit(payment_id, 128))}</code>"


def _money(charge: Charge) -> dict[str, str]:
    return {"amount": format_amount(charge.amount, charge.currency), "product": escape(charge.product_id)}


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(refund_payment, Command("refund"), StaffOnly(Permission.REFUND))
    router.message.register(refuse(N_("Not allowed: only admins refund payments.")), Command("refund"))
    return router
