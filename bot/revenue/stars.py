"""Telegram Stars payments, from the Buy press to the ledger: the invoice, the pre-checkout verdict, the payment
(and its renewals) and Telegram's refund message.

Each step is one short transaction. The pre-checkout answer must reach Telegram within 10 seconds, so its
verdict reads a handful of rows and writes nothing. A payment is recorded once per telegram_payment_charge_id:
a repeated update or charge changes nothing and grants nothing again.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from bot.db.models import Checkout
from bot.db.uow import UnitOfWork, UnitOfWorkFactory
from bot.revenue.grants import offer_title
from bot.revenue.invoices import checkout_id_of, invoice_payload
from bot.revenue.ledger import ByStudent, Conflict, Ledger, Payment, Recorded, RecordOutcome, Refund, Refunded
from bot.revenue.offer_state import OfferStates
from bot.revenue.products import CLUB
from journeys.catalog import Catalog
from journeys.checkout import CheckoutRefusal, CheckoutRefused, checkout_verdict
from journeys.clock import Clock
from journeys.events import EventType
from journeys.offers import find_offer
from journeys.purchases import PaymentSource, PaymentTerms

log = logging.getLogger(__name__)

STARS = "XTR"
SUBSCRIPTION_PERIOD = timedelta(days=30)  # Telegram's only subscription period


class InvoiceProblem(StrEnum):
    """Why a Buy press or pre-checkout is refused before the offer itself is judged."""

    FORGED = "forged"  # the payload names no checkout of this bot
    NOT_YOURS = "not_yours"  # the checkout (or the enrollment pressed) is someone else's


Refusal = CheckoutRefusal | InvoiceProblem


@dataclass(frozen=True)
class Invoice:
    """What sendInvoice carries: one price item in Stars, no provider token."""

    title: str  # 1-32 characters
    description: str  # 1-255 characters
    payload: str
    amount: int


@dataclass(frozen=True)
class Refused:
    reason: Refusal


@dataclass(frozen=True)
class Approved:
    checkout_id: int


@dataclass(frozen=True)
class StarsPayment:
    """successful_payment as plain values."""

    charge_id: str
    payload: str
    amount: int
    currency: str
    subscription_expires: datetime | None = None  # subscription_expiration_date
    recurring: bool = False  # a renewal (or the first payment) of a subscription


@dataclass(frozen=True)
class Paid:
    title: str | None  # the offer, shortly; None: the graduate club (the reply names it in the payer's language)
    amount: int
    period_end: datetime | None
    renewal: bool  # a subscription renewed: a new charge for a checkout paid before


@dataclass(frozen=True)
class AlreadyPaid:
    """This charge was recorded before: nothing changed."""


@dataclass(frozen=True)
class Unmatched:
    """Money arrived that names no checkout of this payer (or a product the bot no longer sells): logged for staff."""


PaidOutcome = Paid | AlreadyPaid | Unmatched


class StarsCheckout:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        catalog: Catalog,
        clock: Clock,
        ledger: Ledger,
        states: OfferStates,
        *,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        """`wake` tells the sender that the grants queued something for now."""
        self._uow = uow_factory
        self.wake = wake
        self.catalog = catalog
        self.clock = clock
        self.ledger = ledger
        self.states = states

    async def open(self, telegram_id: int, enrollment_id: int, offer_id: str) -> Invoice | Refused:
        """Buy ⭐N under an offer: a checkout row and the invoice naming it, when the offer may be bought now."""
        async with self._uow() as uow:
            now = self.clock.now()
            student = await uow.students.by_telegram_id(telegram_id)
            enrollment = await uow.enrollments.get(enrollment_id)
            if student is None or enrollment is None or enrollment.student_id != student.id:
                return Refused(InvoiceProblem.NOT_YOURS)
            journey = self.catalog.get(enrollment.journey_id)
            offer = find_offer(journey, offer_id) if journey is not None else None
            if journey is None or offer is None or offer.price is None or offer.price.stars is None:
                return Refused(CheckoutRefusal.UNKNOWN_OFFER)
            state = await self.states.load(uow, enrollment, student, now)
            verdict = checkout_verdict(journey, offer_id, state, now, offer.price.stars)
            if isinstance(verdict, CheckoutRefused):
                return Refused(verdict.reason)
            checkout = await uow.checkouts.add(
                Checkout(
                    student_id=student.id,
                    enrollment_id=enrollment.id,
                    offer_id=offer.id,
                    product_id=offer.id,  # the ledger's products are the offers, by id
                    amount=offer.price.stars,
                    currency=STARS,
                    subscription=False,
                    created_at=now,
                )
            )
            uow.events.record(
                EventType.OFFER_CHECKOUT_STARTED,
                now,
                student_id=student.id,
                enrollment_id=enrollment.id,
                offer=offer.id,
                checkout=checkout.id,
                amount=checkout.amount,
            )
            await uow.commit()
            title = offer_title(offer, 32)
            return Invoice(title, offer_title(offer, 255), invoice_payload(checkout.id), checkout.amount)

    async def pre_checkout(self, telegram_id: int, payload: str, amount: int, currency: str) -> Approved | Refused:
        """The verdict on a pre-checkout query: read only, a few rows."""
        checkout_id = checkout_id_of(payload)
        if checkout_id is None:
            return Refused(InvoiceProblem.FORGED)
        async with self._uow() as uow:
            now = self.clock.now()
            checkout = await uow.checkouts.get(checkout_id)
            if checkout is None:
                return Refused(InvoiceProblem.FORGED)
            student = await uow.students.by_telegram_id(telegram_id)
            if student is None or checkout.student_id != student.id:
                return Refused(InvoiceProblem.NOT_YOURS)
            if currency != STARS or amount != checkout.amount:
                return Refused(CheckoutRefusal.PRICE_CHANGED)
            if checkout.purchase_id is not None:
                return Refused(CheckoutRefusal.ALREADY_BOUGHT)  # renewals come without a pre-checkout
            if checkout.offer_id is None:  # a product sold outside offers (the club): its seller checked it
                known = self.ledger.products.get(checkout.product_id) is not None
                return Approved(checkout.id) if known else Refused(CheckoutRefusal.UNKNOWN_OFFER)
            enrollment = await uow.enrollments.get(checkout.enrollment_id) if checkout.enrollment_id else None
            journey = self.catalog.get(enrollment.journey_id) if enrollment is not None else None
            if enrollment is None or journey is None:
                return Refused(CheckoutRefusal.UNKNOWN_OFFER)
            state = await self.states.load(uow, enrollment, student, now)
            verdict = checkout_verdict(journey, checkout.offer_id, state, now, checkout.amount)
        return Refused(verdict.reason) if isinstance(verdict, CheckoutRefused) else Approved(checkout_id)

    async def paid(self, telegram_id: int, payment: StarsPayment) -> PaidOutcome:
        """successful_payment: one purchase per charge id, of the checkout's product; a renewal extends it."""
        async with self._uow() as uow:
            now = self.clock.now()
            if await uow.purchases.by_payment_id(PaymentSource.STARS, payment.charge_id) is not None:
                return AlreadyPaid()
            checkout_id = checkout_id_of(payment.payload)
            checkout = await uow.checkouts.get(checkout_id, for_update=True) if checkout_id else None
            student = await uow.students.by_telegram_id(telegram_id)
            if checkout is None or student is None or checkout.student_id != student.id:
                log.error("Stars payment %s names no checkout of its payer %s", payment.charge_id, telegram_id)
                return Unmatched()
            outcome = await self._record(uow, checkout, student.id, payment, now)
            if isinstance(outcome, Conflict):  # the same charge recorded meanwhile by another update
                return AlreadyPaid()
            if not isinstance(outcome, Recorded):
                log.error("Stars payment %s is for %s, which the bot no longer sells", payment.charge_id, outcome)
                return Unmatched()
            if outcome.duplicate:
                return AlreadyPaid()
            renewal = checkout.purchase_id is not None
            checkout.purchase_id = outcome.purchase.id  # the latest payment of this checkout
            if checkout.offer_id is not None and not renewal:
                uow.events.record(
                    EventType.OFFER_BOUGHT,
                    now,
                    student_id=student.id,
                    enrollment_id=checkout.enrollment_id,
                    offer=checkout.offer_id,
                    purchase_id=outcome.purchase.id,
                )
            await uow.commit()
        self.wake()
        found = self.catalog.offer(checkout.offer_id) if checkout.offer_id else None
        title = offer_title(found[1], 60).rstrip(".!") if found else None
        if found is None and checkout.product_id != CLUB.id:
            title = checkout.product_id
        return Paid(title, payment.amount, outcome.purchase.period_end, renewal)

    async def _record(
        self, uow: UnitOfWork, checkout: Checkout, student_id: int, payment: StarsPayment, now: datetime
    ) -> RecordOutcome:
        start = end = None
        if payment.subscription_expires is not None:
            end = payment.subscription_expires
            start = end - SUBSCRIPTION_PERIOD
        terms = PaymentTerms(checkout.product_id, payment.amount, STARS, now, period_start=start, period_end=end)
        record = Payment(PaymentSource.STARS, payment.charge_id, terms, offer_id=checkout.offer_id)
        return await self.ledger.record(uow, record, ByStudent(student_id, checkout.enrollment_id))

    async def refunded(self, charge_id: str) -> bool:
        """Telegram's refunded_payment message: the ledger's refund (once, whoever refunded first). True when
        this recorded it."""
        async with self._uow() as uow:
            outcome = await self.ledger.refund(uow, Refund(PaymentSource.STARS, charge_id, self.clock.now()))
            if not isinstance(outcome, Refunded):
                log.warning("Telegram refunded Stars charge %s, which the ledger does not know", charge_id)
                return False
            await uow.commit()
        self.wake()
        return not outcome.duplicate


def expiration(unix_time: int | None) -> datetime | None:
    return datetime.fromtimestamp(unix_time, UTC) if unix_time is not None else None
