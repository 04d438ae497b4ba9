"""Bot API methods on Telegram Stars payments, and what a paying person does: pay an invoice, renew."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bot.standin.client import FakeUser
from bot.standin.records import ApiCall, StarCharge, StarInvoice, StoredMessage, Subscription, bad
from bot.standin.state import StandInState

STARS = "XTR"
SUBSCRIPTION_PERIOD = 2592000  # 30 days: the only period Telegram accepts
# every refusal in one place, worded as Telegram words them
ERRORS = {
    "title": "INVOICE_TITLE_INVALID",  # 1-32 characters
    "description": "INVOICE_DESCRIPTION_INVALID",  # 1-255 characters
    "payload": "INVOICE_PAYLOAD_INVALID",  # 1-128 bytes
    "currency": "CURRENCY_INVALID: the stand-in knows only Telegram Stars (XTR)",
    "provider": "PAYMENT_PROVIDER_INVALID",  # Stars take no provider token
    "prices": "STARS_INVOICE_INVALID",  # Stars take exactly one price
    "amount": "CURRENCY_TOTAL_AMOUNT_INVALID",
    "period": "SUBSCRIPTION_PERIOD_INVALID",
    "query": "QUERY_ID_INVALID",  # unknown, already answered, or answered after the deadline
    "error_message": "ERROR_MESSAGE_EMPTY",  # ok=false needs one
    "charge_empty": "CHARGE_ID_EMPTY",
    "charge": "CHARGE_NOT_FOUND",
    "refunded": "CHARGE_ALREADY_REFUNDED",
    "not_subscription": "SUBSCRIPTION_ID_INVALID",
}


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _flag(value: Any) -> bool:
    return value.lower() in ("true", "1") if isinstance(value, str) else bool(value)


class PaymentMethods(StandInState):
    """sendInvoice, createInvoiceLink, answerPreCheckoutQuery, refundStarPayment, editUserStarSubscription."""

    # ----- the Bot API methods -------------------------------------------------------------------

    def _send_invoice(self, p: dict[str, Any], c: ApiCall) -> dict[str, Any]:
        if "subscription_period" in p:  # only invoice links can be subscriptions
            raise bad(ERRORS["period"])
        invoice = self._check_invoice(p)
        chat = self._target(p, sending=True)
        shown = {
            "title": invoice.title,
            "description": invoice.description,
            "start_parameter": p.get("start_parameter") or "",
            "currency": STARS,
            "total_amount": invoice.amount,
        }
        markup = self._check_markup(_json(p.get("reply_markup")))
        msg = self._store(
            chat, self.bot_user, {"invoice": shown}, thread=p.get("message_thread_id"), reply_markup=markup
        )
        self._invoices[(chat.id, msg.message_id)] = invoice
        self._emit(f"bot → {self._where(chat, msg.message_thread_id)}: [invoice] {invoice.title} ⭐{invoice.amount}")
        return msg.raw

    def _create_invoice_link(self, p: dict[str, Any], c: ApiCall) -> str:
        invoice = self._check_invoice(p)
        if "subscription_period" in p:
            period = p["subscription_period"]
            if str(period) != str(SUBSCRIPTION_PERIOD):
                raise bad(ERRORS["period"])
            invoice.subscription_period = SUBSCRIPTION_PERIOD
        link = f"https://t.me/$StandInInvoice{next(self._ids):06d}"
        self._invoices[link] = invoice
        return link

    def _check_invoice(self, p: dict[str, Any]) -> StarInvoice:
        title, description, payload = str(p.get("title", "")), str(p.get("description", "")), str(p.get("payload", ""))
        if not 1 <= len(title) <= 32:
            raise bad(ERRORS["title"])
        if not 1 <= len(description) <= 255:
            raise bad(ERRORS["description"])
        if not 1 <= len(payload.encode()) <= 128:
            raise bad(ERRORS["payload"])
        if p.get("currency") != STARS:
            raise bad(ERRORS["currency"])
        if p.get("provider_token"):
            raise bad(ERRORS["provider"])
        prices = _json(p.get("prices") or [])
        if not isinstance(prices, list) or len(prices) != 1:
            raise bad(ERRORS["prices"])
        amount = prices[0].get("amount") if isinstance(prices[0], dict) else None
        if not isinstance(amount, int) or amount <= 0:
            raise bad(ERRORS["amount"])
        return StarInvoice(title, description, payload, amount)

    def _answer_pre_checkout(self, p: dict[str, Any], c: ApiCall) -> bool:
        ok = _flag(p.get("ok"))
        if not ok and not p.get("error_message"):
            raise bad(ERRORS["error_message"])
        query_id = str(p.get("pre_checkout_query_id", ""))
        if self._checkouts.get(query_id, False) is not None:  # unknown, answered, or expired (False)
            raise bad(ERRORS["query"])
        self._checkouts[query_id] = ok
        if (answered := self._checkout_answered.pop(query_id, None)) is not None:
            answered.set()
        return True

    def _refund(self, p: dict[str, Any], c: ApiCall) -> bool:
        charge = self._charge_of(p)
        if charge.refunded:
            raise bad(ERRORS["refunded"])
        charge.refunded = True
        refund = {"currency": STARS, "total_amount": charge.amount, "invoice_payload": charge.invoice.payload}
        refund["telegram_payment_charge_id"] = charge.charge_id
        self._user_message(charge.user_id, {"refunded_payment": refund}, f"⭐{charge.amount} refunded")
        return True

    def _edit_subscription(self, p: dict[str, Any], c: ApiCall) -> bool:
        charge = self._charge_of(p)
        if charge.subscription is None:
            raise bad(ERRORS["not_subscription"])
        if "is_canceled" not in p:
            raise bad("parameter is_canceled is required")
        charge.subscription.cancelled = _flag(p["is_canceled"])
        return True

    def _charge_of(self, p: dict[str, Any]) -> StarCharge:
        charge_id = str(p.get("telegram_payment_charge_id") or "")
        if not charge_id:
            raise bad(ERRORS["charge_empty"])
        charge = self.charges.get(charge_id)
        if charge is None or charge.user_id != p.get("user_id"):
            raise bad(ERRORS["charge"])
        return charge

    # ----- what a paying person does -------------------------------------------------------------

    async def pay(self, user: FakeUser | int, invoice: StoredMessage | str) -> str | None:
        """The user pays an invoice message or link: the bot gets a pre_checkout_query; when it answers ok
        within the deadline the payment completes (a successful_payment message in the user's chat) and its
        charge id is returned. None when the bot refuses or does not answer in time: no payment."""
        user_id = user if isinstance(user, int) else user.id
        key = invoice if isinstance(invoice, str) else (invoice.chat_id, invoice.message_id)
        bought = self._invoices.get(key)
        if bought is None:
            raise LookupError(f"no invoice {key}")
        query_id = f"pcq{next(self._ids):06d}"
        self._checkouts[query_id] = None
        answered = self._checkout_answered[query_id] = asyncio.Event()
        sender = self.users[user_id]
        self._emit(f"{sender['first_name']} ⟶ pays ⭐{bought.amount} for {bought.title}")
        query = {"id": query_id, "from": sender, "currency": STARS, "total_amount": bought.amount}
        self.push_update({"pre_checkout_query": query | {"invoice_payload": bought.payload}})
        try:
            await asyncio.wait_for(answered.wait(), self.pre_checkout_timeout)
        except TimeoutError:
            self._checkout_answered.pop(query_id, None)
            self._checkouts[query_id] = False  # too late: a later answer is refused
            return None
        if not self._checkouts[query_id]:
            return None
        subscription = None
        if bought.subscription_period:
            subscription = Subscription(bought.subscription_period, int(self.now()) + bought.subscription_period)
        return self._charge(StarCharge(self._charge_id(), user_id, bought, subscription), first=True)

    def renew(self, charge_id: str) -> str | None:
        """The subscription of that charge renews (as Telegram does each period): a new recurring payment and
        its new charge id. None if it was cancelled: Telegram charges nothing and tells the bot nothing."""
        previous = self.charges[charge_id]
        subscription = previous.subscription
        if subscription is None:
            raise LookupError(f"charge {charge_id} is not a subscription")
        if subscription.cancelled:
            return None
        subscription.expires_at += subscription.period
        return self._charge(StarCharge(self._charge_id(), previous.user_id, previous.invoice, subscription))

    # ----- internals -----------------------------------------------------------------------------

    def _charge_id(self) -> str:
        return f"stxStandIn{next(self._ids):08d}"

    def _charge(self, charge: StarCharge, *, first: bool = False) -> str:
        self.charges[charge.charge_id] = charge
        paid: dict[str, Any] = {"currency": STARS, "total_amount": charge.amount}
        paid |= {"invoice_payload": charge.invoice.payload, "telegram_payment_charge_id": charge.charge_id}
        paid["provider_payment_charge_id"] = ""  # Stars have no payment provider
        if charge.subscription:
            paid |= {"subscription_expiration_date": charge.subscription.expires_at, "is_recurring": True}
            paid |= {"is_first_recurring": True} if first else {}
        self._user_message(charge.user_id, {"successful_payment": paid}, f"paid ⭐{charge.amount}")
        return charge.charge_id

    def _user_message(self, user_id: int, content: dict[str, Any], shown: str) -> None:
        """A service message about a payment, in the user's private chat, delivered to the bot."""
        sender = self.users[user_id]
        msg = self._store(self.chats[user_id], sender, content)
        self._emit(f"{sender['first_name']} ✓ {shown}")
        self.push_update({"message": msg.raw})
