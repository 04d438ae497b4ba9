"""The school's checkout API: payments and refunds, signed like the rest of /api/v1 (bot/api.py).

A payment names its payer by `external_id` (an LMS student; one never seen before is created, so the payment is
kept until the LMS enrolls them and they open their start link) or by `student_token` (a checkout link we gave a
known student). It is recorded once per payment_id: a replay answers `duplicate`, other terms under the same id
a 409.
"""

from typing import Annotated, Any

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from bot.api import BadRequest, ExternalId, invalid, parse, start_code
from bot.db.models import ExternalIdentity, Purchase
from bot.db.uow import UnitOfWork, UnitOfWorkFactory
from bot.db.upsert import insert_ignore
from bot.revenue.ledger import (
    ByIdentity,
    ByStudent,
    Conflict,
    Ledger,
    Payer,
    Payment,
    Recorded,
    Refund,
    RefundConflict,
    Refunded,
    UnknownPayment,
)
from bot.revenue.tokens import BadToken, StudentTokens
from journeys.clock import Clock
from journeys.purchases import PaymentSource, PaymentTerms

PaymentId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
MAX_AMOUNT = 2**63 - 1
# the ledger's names for what differs, as the request names them
REQUEST_FIELD = {"product_id": "product", "offer_id": "student_token"}


class PaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payment_id: PaymentId
    external_id: ExternalId | None = None
    student_token: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    product: Annotated[str, Field(min_length=1, max_length=64)]
    amount: Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT)]  # minor units: 1990.00 RUB is 199000
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    paid_at: AwareDatetime
    period_end: AwareDatetime | None = None
    installment: Annotated[StrictInt, Field(ge=1, le=1000)] | None = None
    installments: Annotated[StrictInt, Field(ge=1, le=1000)] | None = None


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refund_id: PaymentId
    payment_id: PaymentId
    refunded_at: AwareDatetime | None = None


class CheckoutApi:
    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, ledger: Ledger, tokens: StudentTokens | None, journey_id: str
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.ledger = ledger
        self.tokens = tokens
        self.journey_id = journey_id

    def register(self, v1: web.Application) -> None:
        v1.router.add_post("/payments", self.payment)
        v1.router.add_post("/refunds", self.refund)

    async def payment(self, request: web.Request) -> web.Response:
        data = parse(PaymentIn, await request.read())
        _check(data)
        if self.ledger.products.get(data.product) is None:
            raise invalid("product", f"no product {data.product!r}")
        payment = Payment(PaymentSource.SCHOOL, data.payment_id, _terms(data))
        async with self.uow() as uow:
            payer: Payer
            if data.student_token is not None:
                payer, offer_id = await self._token_payer(uow, data.student_token)
                payment = Payment(payment.source, payment.payment_id, payment.terms, offer_id=offer_id)
            else:
                assert data.external_id is not None
                payer = ByIdentity(await self._identity(uow, data.external_id))
            outcome = await self.ledger.record(uow, payment, payer)
            if isinstance(outcome, Conflict):
                payer_field = "external_id" if data.external_id is not None else "student_token"
                names = REQUEST_FIELD | {"payer": payer_field}
                fields = sorted({names.get(name, name) for name in outcome.fields})
                problem = "payment_id is recorded with other terms; a new payment needs a new payment_id"
                body: dict[str, Any] = {"error": "conflict", "payment_id": data.payment_id, "fields": fields}
                raise BadRequest(409, body | {"problem": problem})
            if not isinstance(outcome, Recorded):  # the product was checked above; a catalog that changed since
                raise invalid("product", f"no product {data.product!r}")
            answer = _answer(outcome.purchase, duplicate=outcome.duplicate)
            await uow.commit()
        return web.json_response(answer)

    async def refund(self, request: web.Request) -> web.Response:
        data = parse(RefundIn, await request.read())
        async with self.uow() as uow:
            refunded_at = data.refunded_at or self.clock.now()
            outcome = await self.ledger.refund(
                uow, Refund(PaymentSource.SCHOOL, data.payment_id, refunded_at=refunded_at, refund_id=data.refund_id)
            )
            match outcome:
                case UnknownPayment():
                    body = {"error": "unknown payment_id", "field": "payment_id", "payment_id": data.payment_id}
                    raise BadRequest(404, body)
                case RefundConflict(problem=problem):
                    raise BadRequest(409, {"error": "conflict", "field": "refund_id", "problem": problem})
                case Refunded(purchase=purchase, duplicate=duplicate):
                    answer = {
                        "refund_id": purchase.refund_id,
                        "payment_id": purchase.payment_id,
                        "purchase_id": purchase.id,
                        "duplicate": duplicate,
                    }
            await uow.commit()
        return web.json_response(answer)

    async def _token_payer(self, uow: UnitOfWork, token: str) -> tuple[ByStudent, str | None]:
        if self.tokens is None:  # the API answers 503 without API_SECRET: never reached
            raise invalid("student_token", "student tokens are off")
        try:
            read = self.tokens.read(token, self.clock.now())
        except BadToken as exc:
            raise invalid("student_token", str(exc)) from None
        student = await uow.students.get(read.student_id)
        if student is None:
            raise invalid("student_token", "the student is no longer known")
        enrollment_id = read.enrollment_id
        if enrollment_id is not None:
            enrollment = await uow.enrollments.get(enrollment_id)
            if enrollment is None or enrollment.student_id != student.id:
                raise invalid("student_token", "the enrollment is no longer known")
        return ByStudent(student.id, enrollment_id), read.offer_id

    async def _identity(self, uow: UnitOfWork, external_id: str) -> ExternalIdentity:
        """The LMS student, locked (a binding at this moment either commits first or waits for this payment):
        the identity already bound to a Telegram student if any of theirs is (the school enrolls a student in
        each journey with an identity of its own), else their first; one never seen is created in the default
        journey, with no name yet, for the enrollment call to complete."""
        await insert_ignore(
            uow.session,
            ExternalIdentity.__table__,  # type: ignore[arg-type]
            {
                "source": "lms",
                "external_id": external_id,
                "name": "",
                "journey_id": self.journey_id,
                "start_code": start_code(),
                "created_at": self.clock.now(),
            },
            key=["source", "external_id", "journey_id"],
        )
        identities = await uow.identities.all_by_external_id(external_id, for_update=True)
        return next((i for i in identities if i.student_id is not None), identities[0])


def _check(data: PaymentIn) -> None:
    """What pydantic cannot say field by field."""
    if (data.external_id is None) == (data.student_token is None):
        raise invalid(
            "student_token" if data.student_token else "external_id",
            "give exactly one of external_id and student_token",
        )
    if data.currency == "XTR":
        raise invalid("currency", "Telegram Stars are paid inside Telegram, not through the school")
    if data.period_end is not None and data.period_end <= data.paid_at:
        raise invalid("period_end", "must be after paid_at")
    if (data.installment is None) != (data.installments is None):
        raise invalid("installments" if data.installments is None else "installment", "give both or neither")
    if data.installment is not None and data.installments is not None and data.installment > data.installments:
        raise invalid("installment", "must not be more than installments")


def _terms(data: PaymentIn) -> PaymentTerms:
    return PaymentTerms(
        product_id=data.product,
        amount=data.amount,
        currency=data.currency,
        paid_at=data.paid_at,
        period_start=data.paid_at if data.period_end is not None else None,
        period_end=data.period_end,
        installment=data.installment,
        installments=data.installments,
    )


def _answer(purchase: Purchase, *, duplicate: bool) -> dict[str, Any]:
    return {"purchase_id": purchase.id, "duplicate": duplicate, "applied": purchase.applied_at is not None}
