"""The ledger as use cases: record a payment once, refund it once, and the money a student brought.

Every method works inside the caller's unit of work and never commits: the purchase, its event and what the
listeners grant (or revoke) are committed together or not at all, so a grant is applied exactly once with its
purchase. A payment is applied (listeners called, `applied_at` set) as soon as its student is known: at once
for Stars and token-attributed payments, when the student opens their start link for an LMS student.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.db.models import Enrollment, ExternalIdentity, Purchase, Student
from bot.db.uow import UnitOfWork
from bot.revenue.products import ProductCatalog
from journeys.clock import Clock
from journeys.events import EventType
from journeys.purchases import PaymentSource, PaymentTerms, differences


@dataclass(frozen=True)
class Payment:
    source: PaymentSource
    payment_id: str  # telegram_payment_charge_id, or the school's payment_id
    terms: PaymentTerms
    offer_id: str | None = None  # the offer whose checkout link brought it, for attribution


@dataclass(frozen=True)
class ByStudent:
    """Paid by a known student: Stars, or the school's checkout with a student token."""

    student_id: int
    enrollment_id: int | None = None  # default: the student's current enrollment in the journey


@dataclass(frozen=True)
class ByIdentity:
    """Paid by an LMS student (the caller holds the identity locked); applied once it is bound to a student."""

    identity: ExternalIdentity


Payer = ByStudent | ByIdentity


@dataclass(frozen=True)
class Recorded:
    purchase: Purchase
    duplicate: bool  # this payment id was recorded before, with the same terms: nothing changed

    @property
    def applied(self) -> bool:
        return self.purchase.applied_at is not None


@dataclass(frozen=True)
class Conflict:
    """The payment id is recorded with other terms: nothing changed. `fields` are the terms that differ."""

    purchase: Purchase
    fields: tuple[str, ...]


@dataclass(frozen=True)
class UnknownProduct:
    product_id: str


RecordOutcome = Recorded | Conflict | UnknownProduct


@dataclass(frozen=True)
class Refund:
    source: PaymentSource
    payment_id: str
    refunded_at: datetime
    refund_id: str | None = None  # the school's; Stars refunds have none (the charge is refunded once)


@dataclass(frozen=True)
class Refunded:
    purchase: Purchase
    duplicate: bool  # already refunded (by this refund id, or with none given): nothing changed


@dataclass(frozen=True)
class UnknownPayment:
    source: PaymentSource
    payment_id: str


@dataclass(frozen=True)
class RefundConflict:
    """The refund cannot be what it says: its refund id is another payment's, or the payment was refunded under
    another refund id. Nothing changed."""

    purchase: Purchase
    problem: str


RefundOutcome = Refunded | UnknownPayment | RefundConflict


class PurchaseListener(Protocol):
    """Grants what was bought, inside the transaction that applies the purchase (once per purchase)."""

    async def on_purchase(self, uow: UnitOfWork, purchase: Purchase, student: Student, now: datetime) -> None: ...


class RefundListener(Protocol):
    """Revokes the grant of a refunded purchase that was applied, inside the transaction recording the refund."""

    async def on_refund(self, uow: UnitOfWork, purchase: Purchase, student: Student, now: datetime) -> None: ...


class Ledger:
    def __init__(
        self,
        clock: Clock,
        journey_ids: Collection[str],
        products: ProductCatalog,
        *,
        purchase_listeners: Sequence[PurchaseListener] = (),
        refund_listeners: Sequence[RefundListener] = (),
    ) -> None:
        self.clock = clock
        self.journey_ids = journey_ids  # the catalog's: a purchase without one goes to the student's current course
        self.products = products
        self.purchase_listeners = list(purchase_listeners)
        self.refund_listeners = list(refund_listeners)

    async def record(self, uow: UnitOfWork, payment: Payment, payer: Payer) -> RecordOutcome:
        terms = payment.terms
        if self.products.get(terms.product_id) is None:
            return UnknownProduct(terms.product_id)
        now = self.clock.now()
        student_id, identity_id, enrollment_id = await self._attribution(uow, payer)
        inserted = await uow.purchases.add_once(
            {
                "source": payment.source,
                "payment_id": payment.payment_id,
                "student_id": student_id,
                "identity_id": identity_id,
                "enrollment_id": enrollment_id,
                "product_id": terms.product_id,
                "offer_id": payment.offer_id,
                "amount": terms.amount,
                "currency": terms.currency,
                "paid_at": terms.paid_at,
                "period_start": terms.period_start,
                "period_end": terms.period_end,
                "installment": terms.installment,
                "installments": terms.installments,
                "completes_plan": terms.completes_plan,
                "recorded_at": now,
            }
        )
        purchase = await uow.purchases.by_payment_id(payment.source, payment.payment_id, for_update=True)
        assert purchase is not None
        if not inserted:
            differ = differences(terms_of(purchase), terms)
            differ += ("offer_id",) if purchase.offer_id != payment.offer_id else ()
            differ += () if _same_payer(purchase, payer) else ("payer",)
            return Conflict(purchase, differ) if differ else Recorded(purchase, duplicate=True)
        if purchase.student_id is not None:
            await self._apply(uow, purchase, now)
        return Recorded(purchase, duplicate=False)

    async def on_bound(
        self, uow: UnitOfWork, student: Student, enrollment: Enrollment, identity: ExternalIdentity, now: datetime
    ) -> None:
        """StudentPath's bind listener: the payments kept for this LMS student become theirs and are applied
        (a refunded one is only attributed: there is nothing to grant)."""
        # a payment may wait on the school's student in another journey: each journey has an identity of its own
        for sibling in await uow.identities.all_by_external_id(identity.external_id, identity.source):
            for purchase in await uow.purchases.waiting_for(sibling.id):
                purchase.student_id = student.id
                purchase.enrollment_id = purchase.enrollment_id or enrollment.id
                if purchase.refunded_at is None:
                    await self._apply(uow, purchase, now)

    async def refund(self, uow: UnitOfWork, refund: Refund) -> RefundOutcome:
        purchase = await uow.purchases.by_payment_id(refund.source, refund.payment_id, for_update=True)
        if purchase is None:
            return UnknownPayment(refund.source, refund.payment_id)
        if refund.refund_id is not None and refund.refund_id != purchase.refund_id:
            other = await uow.purchases.by_refund_id(refund.source, refund.refund_id)
            if other is not None:
                return RefundConflict(purchase, f"refund_id is the refund of payment {other.payment_id!r}")
        if purchase.refunded_at is not None:
            if refund.refund_id is None or purchase.refund_id in (None, refund.refund_id):
                purchase.refund_id = purchase.refund_id or refund.refund_id  # a refund recorded by staff gets its id
                return Refunded(purchase, duplicate=True)
            return RefundConflict(purchase, f"the payment was refunded under refund_id {purchase.refund_id!r}")
        now = self.clock.now()
        purchase.refunded_at, purchase.refund_id = refund.refunded_at, refund.refund_id
        uow.events.record(
            EventType.REFUNDED,
            now,
            student_id=purchase.student_id,
            enrollment_id=purchase.enrollment_id,
            **_event_data(purchase),
            refund_id=refund.refund_id,
        )
        if purchase.applied_at is not None and purchase.student_id is not None:
            student = await uow.students.get(purchase.student_id)
            if student is not None:
                for listener in self.refund_listeners:
                    await listener.on_refund(uow, purchase, student, now)
        return Refunded(purchase, duplicate=False)

    async def purchases_of(self, uow: UnitOfWork, student_id: int) -> list[Purchase]:
        """Everything the student paid, refunded ones included, in the order paid."""
        return await uow.purchases.of_student(student_id)

    async def lifetime_value(self, uow: UnitOfWork, student_id: int) -> dict[str, int]:
        """What the student paid minus what was refunded, per currency, in minor units ({} when nothing)."""
        return (await self.lifetime_values(uow, [student_id])).get(student_id, {})

    async def lifetime_values(
        self, uow: UnitOfWork, student_ids: Sequence[int] | None = None
    ) -> dict[int, dict[str, int]]:
        """Lifetime value of these students (every paying student with None), per currency in minor units."""
        values: dict[int, dict[str, int]] = {}
        for student, currency, total in await uow.purchases.paid_by(student_ids):
            values.setdefault(student, {})[currency] = total
        return values

    async def _attribution(self, uow: UnitOfWork, payer: Payer) -> tuple[int | None, int | None, int | None]:
        """(student, identity, enrollment) of a new purchase."""
        student_id: int | None
        identity_id: int | None
        enrollment_id: int | None
        if isinstance(payer, ByStudent):
            student_id, identity_id, enrollment_id = payer.student_id, None, payer.enrollment_id
        else:
            student_id, identity_id, enrollment_id = payer.identity.student_id, payer.identity.id, None
        if student_id is not None and enrollment_id is None:
            student = await uow.students.get(student_id)
            current = await uow.enrollments.chosen(student, self.journey_ids) if student else None
            enrollment_id = current.id if current else None
        return student_id, identity_id, enrollment_id

    async def _apply(self, uow: UnitOfWork, purchase: Purchase, now: datetime) -> None:
        assert purchase.student_id is not None
        student = await uow.students.get(purchase.student_id)
        assert student is not None
        purchase.applied_at = now
        uow.events.record(
            EventType.PURCHASED,
            now,
            student_id=student.id,
            enrollment_id=purchase.enrollment_id,
            **_event_data(purchase),
            paid_at=purchase.paid_at.isoformat(),
            completes_plan=purchase.completes_plan,
        )
        for listener in self.purchase_listeners:
            await listener.on_purchase(uow, purchase, student, now)


def terms_of(purchase: Purchase) -> PaymentTerms:
    return PaymentTerms(
        product_id=purchase.product_id,
        amount=purchase.amount,
        currency=purchase.currency,
        paid_at=purchase.paid_at,
        period_start=purchase.period_start,
        period_end=purchase.period_end,
        installment=purchase.installment,
        installments=purchase.installments,
    )


def _same_payer(purchase: Purchase, payer: Payer) -> bool:
    if isinstance(payer, ByStudent):
        return purchase.student_id == payer.student_id
    bound_to = payer.identity.student_id
    return purchase.identity_id == payer.identity.id or (bound_to is not None and purchase.student_id == bound_to)


def _event_data(purchase: Purchase) -> dict[str, object]:
    return {
        "purchase_id": purchase.id,
        "source": purchase.source.value,
        "payment_id": purchase.payment_id,
        "product": purchase.product_id,
        "amount": purchase.amount,
        "currency": purchase.currency,
    }
