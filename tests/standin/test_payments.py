"""Telegram Stars payments in the stand-in, driven through aiogram's real session and Dispatcher."""

import pytest
from aiogram import Bot, F, Router
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import SendInvoice
from aiogram.types import LabeledPrice, Message, PreCheckoutQuery

from bot.standin import BotAPIStandIn
from bot.telegram_session import TelegramSession

MONTH = 2592000


def shop(answer: str = "ok", paid: list[Message] | None = None) -> Router:
    """answer: "ok" accepts, "no" refuses with a message, "none" never answers, "twice" answers twice."""
    router = Router()

    @router.pre_checkout_query()
    async def checkout(query: PreCheckoutQuery) -> None:
        if answer == "none":
            return
        if answer == "no":
            await query.answer(ok=False, error_message="Sold out")
            return
        await query.answer(ok=True)
        if answer == "twice":
            with pytest.raises(TelegramBadRequest, match="QUERY_ID_INVALID"):
                await query.answer(ok=True)

    @router.message(F.successful_payment | F.refunded_payment)
    async def payment(message: Message) -> None:
        if paid is not None:
            paid.append(message)

    return router


async def send_invoice(bot: Bot, chat_id: int, amount: int = 500) -> Message:
    return await bot.send_invoice(
        chat_id, "Course", "The whole course", "course:1", "XTR", [LabeledPrice(label="Course", amount=amount)]
    )


async def test_invoice_sent_and_paid(standin: BotAPIStandIn, bot: Bot, run_bot) -> None:
    paid: list[Message] = []
    await run_bot(shop("ok", paid))
    alice = standin.user(101, "Alice")
    sent = await send_invoice(bot, 101)
    assert sent.invoice is not None and (sent.invoice.currency, sent.invoice.total_amount) == ("XTR", 500)
    assert sent.invoice.title == "Course" and sent.invoice.start_parameter == ""
    charge_id = await standin.pay(alice, standin.message(101, sent.message_id))
    assert charge_id is not None
    await standin.wait_for(lambda: paid, what="the successful_payment to reach the bot")
    payment = paid[0].successful_payment
    assert payment is not None and paid[0].chat.id == 101 and paid[0].from_user.id == 101
    assert (payment.currency, payment.total_amount, payment.invoice_payload) == ("XTR", 500, "course:1")
    assert payment.telegram_payment_charge_id == charge_id and payment.is_recurring is None
    charge = standin.charges[charge_id]
    assert (charge.user_id, charge.amount, charge.refunded, charge.subscription) == (101, 500, False, None)
    answer = standin.calls_to("answerPreCheckoutQuery")[0].params
    assert _flag(answer["ok"]) and "error_message" not in answer


def _flag(value: object) -> bool:
    return str(value).lower() in ("true", "1")


async def test_refused_pre_checkout_is_no_payment(standin: BotAPIStandIn, bot: Bot, run_bot) -> None:
    await run_bot(shop("no"))
    alice = standin.user(101, "Alice")
    sent = await send_invoice(bot, 101)
    assert await standin.pay(alice, standin.message(101, sent.message_id)) is None
    assert standin.calls_to("answerPreCheckoutQuery")[0].params["error_message"] == "Sold out"
    assert standin.charges == {}
    assert [m.raw.get("successful_payment") for m in standin.messages_in(101) if not m.from_bot] == []


async def test_unanswered_pre_checkout_is_no_payment_and_a_late_answer_is_refused() -> None:
    async with BotAPIStandIn(pre_checkout_timeout=0.3) as standin:
        late = Bot("123456:TEST-token", session=TelegramSession(api=TelegramAPIServer.from_base(standin.base_url)))
        try:
            alice = standin.user(101, "Alice")
            sent = await send_invoice(late, 101)
            assert await standin.pay(alice, standin.message(101, sent.message_id)) is None
            assert standin.charges == {}
            updates = await late.get_updates(timeout=0)
            query = updates[-1].pre_checkout_query
            assert query is not None and query.total_amount == 500 and query.invoice_payload == "course:1"
            with pytest.raises(TelegramBadRequest, match="QUERY_ID_INVALID"):
                await late.answer_pre_checkout_query(query.id, ok=True)
        finally:
            await late.session.close()


async def test_second_answer_and_unknown_query_refused(standin: BotAPIStandIn, bot: Bot, run_bot) -> None:
    await run_bot(shop("twice"))
    alice = standin.user(101, "Alice")
    sent = await send_invoice(bot, 101)
    assert await standin.pay(alice, standin.message(101, sent.message_id)) is not None
    await standin.settle()
    assert [c.status for c in standin.calls_to("answerPreCheckoutQuery")] == [200, 400]
    with pytest.raises(TelegramBadRequest, match="QUERY_ID_INVALID"):
        await bot.answer_pre_checkout_query("no-such-query", ok=True)
    with pytest.raises(TelegramBadRequest, match="ERROR_MESSAGE_EMPTY"):
        await bot.answer_pre_checkout_query("no-such-query", ok=False)


async def test_subscription_renews_until_cancelled(standin: BotAPIStandIn, bot: Bot, run_bot) -> None:
    paid: list[Message] = []
    await run_bot(shop("ok", paid))
    alice = standin.user(101, "Alice")
    link = await bot.create_invoice_link(
        "Club", "Monthly club", "club:1", "XTR", [LabeledPrice(label="Club", amount=250)], subscription_period=MONTH
    )
    assert link.startswith("https://t.me/$")
    first = await standin.pay(alice, link)
    assert first is not None
    second = standin.renew(first)
    assert second is not None and second != first
    await standin.wait_for(lambda: len(paid) == 2, what="both payments to reach the bot")
    one, two = (m.successful_payment for m in paid)
    assert one is not None and two is not None
    assert one.is_recurring and one.is_first_recurring and one.telegram_payment_charge_id == first
    assert two.is_recurring and not two.is_first_recurring and two.telegram_payment_charge_id == second
    assert two.subscription_expiration_date == one.subscription_expiration_date + MONTH  # type: ignore[operator]
    assert await bot.edit_user_star_subscription(101, second, is_canceled=True)
    assert standin.charges[first].subscription is not None and standin.charges[first].subscription.cancelled
    assert standin.renew(second) is None
    await bot.edit_user_star_subscription(101, first, is_canceled=False)  # re-enabled: it renews again
    assert standin.renew(second) is not None
    with pytest.raises(TelegramBadRequest, match="CHARGE_NOT_FOUND"):
        await bot.edit_user_star_subscription(101, "stxNoSuchCharge", is_canceled=True)


async def test_refund_once_then_refused(standin: BotAPIStandIn, bot: Bot, run_bot) -> None:
    paid: list[Message] = []
    await run_bot(shop("ok", paid))
    alice = standin.user(101, "Alice")
    sent = await send_invoice(bot, 101, amount=40)
    charge_id = await standin.pay(alice, standin.message(101, sent.message_id))
    assert charge_id is not None
    with pytest.raises(TelegramBadRequest, match="CHARGE_NOT_FOUND"):
        await bot.refund_star_payment(999, charge_id)  # someone else's charge
    assert await bot.refund_star_payment(101, charge_id)
    assert standin.charges[charge_id].refunded
    with pytest.raises(TelegramBadRequest, match="CHARGE_ALREADY_REFUNDED"):
        await bot.refund_star_payment(101, charge_id)
    with pytest.raises(TelegramBadRequest, match="CHARGE_NOT_FOUND"):
        await bot.refund_star_payment(101, "stxNoSuchCharge")
    await standin.wait_for(lambda: len(paid) == 2, what="the refund message to reach the bot")
    refund = paid[1].refunded_payment
    assert refund is not None and (refund.total_amount, refund.telegram_payment_charge_id) == (40, charge_id)
    with pytest.raises(TelegramBadRequest, match="SUBSCRIPTION_ID_INVALID"):
        await bot.edit_user_star_subscription(101, charge_id, is_canceled=True)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"currency": "USD"}, "CURRENCY_INVALID"),
        ({"provider_token": "123:LIVE"}, "PAYMENT_PROVIDER_INVALID"),
        ({"prices": [LabeledPrice(label="a", amount=1), LabeledPrice(label="b", amount=2)]}, "STARS_INVOICE_INVALID"),
        ({"prices": [LabeledPrice(label="a", amount=0)]}, "CURRENCY_TOTAL_AMOUNT_INVALID"),
        ({"title": "x" * 33}, "INVOICE_TITLE_INVALID"),
        ({"description": "x" * 256}, "INVOICE_DESCRIPTION_INVALID"),
        ({"payload": "я" * 65}, "INVOICE_PAYLOAD_INVALID"),  # 130 bytes
    ],
)
async def test_bad_invoices_refused(standin: BotAPIStandIn, bot: Bot, changes: dict, error: str) -> None:
    standin.user(101, "Alice")
    invoice = {"title": "Course", "description": "All", "payload": "p", "currency": "XTR"}
    invoice |= {"prices": [LabeledPrice(label="Course", amount=5)]} | changes
    with pytest.raises(TelegramBadRequest, match=error):
        await bot.send_invoice(101, **invoice)
    with pytest.raises(TelegramBadRequest, match=error):
        await bot.create_invoice_link(**invoice)
    assert standin.messages_in(101) == []


async def test_subscription_period_only_on_links_and_only_thirty_days(standin: BotAPIStandIn, bot: Bot) -> None:
    standin.user(101, "Alice")
    price = [LabeledPrice(label="Club", amount=5)]
    with pytest.raises(TelegramBadRequest, match="SUBSCRIPTION_PERIOD_INVALID"):
        await bot.create_invoice_link("Club", "Monthly", "p", "XTR", price, subscription_period=86400)
    with pytest.raises(TelegramBadRequest, match="SUBSCRIPTION_PERIOD_INVALID"):
        await bot(_SendInvoiceWithPeriod(chat_id=101, title="C", description="D", payload="p", currency="XTR",
                                         prices=price, subscription_period=MONTH))  # fmt: skip
    assert standin.messages_in(101) == []


class _SendInvoiceWithPeriod(SendInvoice):
    """sendInvoice with a parameter Telegram accepts only on createInvoiceLink."""

    subscription_period: int
