"""The school's checkout API over real HTTP (payments, refunds, student tokens) and the ledger behind it,
on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.db.models import Event, ExternalIdentity, Purchase, Student
from bot.db.uow import UnitOfWork
from bot.revenue.ledger import ByStudent, Payment, Recorded
from bot.services.student_path import Person
from bot.standin import BotAPIStandIn
from journeys.events import EventType
from journeys.purchases import PaymentSource, PaymentTerms
from tests.test_api import Api, serving

PAID_AT = "2026-11-20T12:00:00+03:00"


@dataclass
class Grants:
    """A purchase and refund listener: what it was told, in order."""

    calls: list[tuple[str, int, int]] = field(default_factory=list)

    async def on_purchase(self, uow: UnitOfWork, purchase: Purchase, student: Student, now: datetime) -> None:
        self.calls.append(("grant", purchase.id, student.id))

    async def on_refund(self, uow: UnitOfWork, purchase: Purchase, student: Student, now: datetime) -> None:
        self.calls.append(("revoke", purchase.id, student.id))


@pytest.fixture
async def api(database_url: str, standin: BotAPIStandIn) -> AsyncIterator[Api]:
    async with serving(database_url, standin) as running:
        yield running


@pytest.fixture
def grants(api: Api) -> Grants:
    listener = Grants()
    api.app.ledger.purchase_listeners.append(listener)
    api.app.ledger.refund_listeners.append(listener)
    return listener


def payment(payment_id: str = "pay-1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "payment_id": payment_id,
        "external_id": "lms-1",
        "product": "club",
        "amount": 199000,
        "currency": "RUB",
        "paid_at": PAID_AT,
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


async def pay(api: Api, body: dict[str, Any]) -> tuple[int, Any]:
    response = await api.post("/api/v1/payments", body)
    return response.status, await response.json()


async def refund(api: Api, refund_id: str, payment_id: str = "pay-1", **extra: Any) -> tuple[int, Any]:
    response = await api.post("/api/v1/refunds", {"refund_id": refund_id, "payment_id": payment_id} | extra)
    return response.status, await response.json()


async def bound_student(api: Api, external_id: str = "lms-1", telegram_id: int = 5001) -> int:
    """An LMS student who opened their start link: their student id."""
    link = (await (await api.enroll(external_id)).json())["start_link"]
    await api.app.entry.start(Person(telegram_id=telegram_id, first_name="Ann"), payload=link.split("?start=")[1])
    async with api.app.uow() as uow:
        student = await uow.students.by_telegram_id(telegram_id)
        assert student is not None
        return student.id


async def purchases(api: Api) -> list[Purchase]:
    async with api.app.uow() as uow:
        return list(await uow.session.scalars(select(Purchase).order_by(Purchase.id)))


async def events(api: Api, type_: EventType) -> list[Event]:
    async with api.app.uow() as uow:
        return list(await uow.session.scalars(select(Event).where(Event.type == type_).order_by(Event.id)))


def fields(body: dict[str, Any]) -> list[str]:
    return [item["field"] for item in body["fields"]]


async def test_payment_of_a_bound_student_is_applied_once_and_a_replay_is_a_duplicate(api: Api, grants: Grants) -> None:
    student_id = await bound_student(api)
    status, body = await pay(api, payment(period_end="2026-12-20T12:00:00+03:00"))
    assert status == 200
    assert body == {"purchase_id": body["purchase_id"], "duplicate": False, "applied": True}
    # the same payment again, with paid_at written in another offset: the same instant, the same payment
    status, again = await pay(api, payment(paid_at="2026-11-20T09:00:00Z", period_end="2026-12-20T09:00:00+00:00"))
    assert status == 200
    assert again == {"purchase_id": body["purchase_id"], "duplicate": True, "applied": True}
    [purchase] = await purchases(api)
    assert (purchase.source, purchase.payment_id, purchase.student_id) == (PaymentSource.SCHOOL, "pay-1", student_id)
    assert (purchase.amount, purchase.currency, purchase.product_id) == (199000, "RUB", "club")
    assert purchase.paid_at == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    assert purchase.period_start == purchase.paid_at and purchase.period_end == datetime(2026, 12, 20, 9, tzinfo=UTC)
    assert purchase.enrollment_id is not None and purchase.completes_plan
    assert grants.calls == [("grant", purchase.id, student_id)]
    [event] = await events(api, EventType.PURCHASED)
    assert event.student_id == student_id and event.data["amount"] == 199000 and event.data["currency"] == "RUB"


async def test_same_payment_id_with_other_terms_is_409_naming_them_and_changes_nothing(
    api: Api, grants: Grants
) -> None:
    await bound_student(api)
    await bound_student(api, "lms-2", 5002)
    assert (await pay(api, payment()))[0] == 200
    status, body = await pay(api, payment(amount=100, product="club", external_id="lms-2"))
    assert status == 409
    assert body["error"] == "conflict" and body["fields"] == ["amount", "external_id"]
    status, body = await pay(api, payment(currency="EUR", installment=1, installments=3))
    assert status == 409 and body["fields"] == ["currency", "installment", "installments"]
    [purchase] = await purchases(api)
    assert (purchase.amount, purchase.currency, purchase.installments) == (199000, "RUB", None)
    assert len(grants.calls) == 1


async def test_simultaneous_identical_payments_are_recorded_and_granted_once(api: Api, grants: Grants) -> None:
    await bound_student(api)
    answers = await asyncio.gather(*(pay(api, payment("pay-race")) for _ in range(4)))
    assert [status for status, _ in answers] == [200] * 4
    assert sorted(body["duplicate"] for _, body in answers) == [False, True, True, True]
    assert len(await purchases(api)) == 1 and len(grants.calls) == 1


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"product": "yacht"}, "product"),
        ({"amount": 0}, "amount"),
        ({"amount": -5}, "amount"),
        ({"amount": 19.9}, "amount"),
        ({"amount": "1990"}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": 2**63}, "amount"),
        ({"currency": "rub"}, "currency"),
        ({"currency": "RUBL"}, "currency"),
        ({"currency": "XTR"}, "currency"),
        ({"paid_at": "2026-11-20T12:00:00"}, "paid_at"),  # no offset: which 12:00?
        ({"paid_at": "yesterday"}, "paid_at"),
        ({"period_end": "2026-11-20T08:00:00Z"}, "period_end"),  # before paid_at
        ({"external_id": None}, "external_id"),  # neither payer
        ({"student_token": "1.1..1.x.AAAAAAAAAAAAAAAAAAAAAA"}, "student_token"),  # both payers
        ({"external_id": None, "student_token": "garbage"}, "student_token"),
        ({"installment": 2}, "installments"),
        ({"installment": 4, "installments": 3}, "installment"),
        ({"payment_id": ""}, "payment_id"),
        ({"payment_id": "has space"}, "payment_id"),
        ({"discount": 5}, "discount"),
    ],
)
async def test_each_bad_field_is_422_naming_it_and_nothing_is_kept(
    api: Api, overrides: dict[str, Any], named: str
) -> None:
    body = payment() | overrides
    status, answer = await pay(api, {key: value for key, value in body.items() if value is not None})
    assert status == 422, answer
    assert fields(answer) == [named]
    assert await purchases(api) == []
    async with api.app.uow() as uow:  # not even the identity of an external_id never seen
        assert await uow.identities.all_by_external_id("lms-1") == []


async def test_payment_for_an_unbound_student_is_kept_and_applied_when_they_open_their_link(
    api: Api, grants: Grants
) -> None:
    status, body = await pay(api, payment())  # the LMS has not enrolled lms-1 yet
    assert status == 200 and body["applied"] is False and body["duplicate"] is False
    assert (await pay(api, payment()))[1] == body | {"duplicate": True}
    assert grants.calls == [] and await events(api, EventType.PURCHASED) == []
    # the enrollment call comes later: it names the student and gives the start link of the identity kept
    enrolled = await api.enroll("lms-1")
    assert enrolled.status == 200
    async with api.app.uow() as uow:
        identity = await uow.identities.by_external_id("lms-1", api.app.journey.id)
        assert identity is not None and identity.name == "Ann" and identity.student_id is None
    student_id = await bound_student(api)
    [purchase] = await purchases(api)
    assert purchase.student_id == student_id and purchase.applied_at is not None
    assert purchase.enrollment_id is not None
    assert grants.calls == [("grant", purchase.id, student_id)]
    [event] = await events(api, EventType.PURCHASED)
    assert event.student_id == student_id
    # opening the link again applies nothing twice
    code = (await (await api.enroll("lms-1")).json())["start_link"].split("?start=")[1]
    await api.app.entry.start(Person(telegram_id=5001, first_name="Ann"), payload=code)
    assert len(grants.calls) == 1
    assert (await pay(api, payment()))[1] == {"purchase_id": purchase.id, "duplicate": True, "applied": True}


async def test_a_pending_payment_refunded_before_the_student_binds_is_never_granted(api: Api, grants: Grants) -> None:
    await pay(api, payment())
    assert (await refund(api, "ref-1"))[0] == 200
    student_id = await bound_student(api)
    [purchase] = await purchases(api)
    assert purchase.student_id == student_id and purchase.applied_at is None and purchase.refund_id == "ref-1"
    assert grants.calls == []
    async with api.app.uow() as uow:
        assert await api.app.ledger.lifetime_value(uow, student_id) == {}


async def test_student_token_attributes_the_payment_and_forgeries_are_422(api: Api, grants: Grants) -> None:
    student_id = await bound_student(api)
    tokens = api.app.tokens
    assert tokens is not None
    now = api.app.clock.now()
    token = tokens.issue(student_id, now=now, offer_id="club-autumn")
    assert len(token) < 80
    status, body = await pay(api, payment(external_id=None, student_token=token))
    assert status == 200 and body["applied"] is True
    [purchase] = await purchases(api)
    assert (purchase.student_id, purchase.offer_id, purchase.identity_id) == (student_id, "club-autumn", None)

    other = tokens.issue(student_id, now=now, offer_id="club-winter")
    status, conflict = await pay(api, payment(external_id=None, student_token=other))
    assert status == 409 and conflict["fields"] == ["student_token"]

    body, signature = token.rsplit(".", 1)
    forged_student = body.replace(f"1.{student_id}.", f"1.{student_id + 1}.", 1) + "." + signature
    flipped = body + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    expired = tokens.issue(student_id, now=now - timedelta(days=31))
    unknown = tokens.issue(student_id + 1000, now=now)
    for bad, problem in (
        (forged_student, "bad signature"),
        (flipped, "bad signature"),
        (token + "x", "not a student token"),
        ("héllo", "not a student token"),
        (expired, "expired"),
        (unknown, "the student is no longer known"),
    ):
        status, answer = await pay(api, payment("pay-2", external_id=None, student_token=bad))
        assert status == 422, bad
        assert answer["fields"] == [{"field": "student_token", "problem": problem}]
    assert len(await purchases(api)) == 1 and len(grants.calls) == 1


async def test_refunds_are_idempotent_by_refund_id_and_revoke_the_grant(api: Api, grants: Grants) -> None:
    student_id = await bound_student(api)
    purchase_id = (await pay(api, payment()))[1]["purchase_id"]
    status, body = await refund(api, "ref-1", refunded_at="2026-11-25T10:00:00+03:00")
    assert status == 200
    assert body == {"refund_id": "ref-1", "payment_id": "pay-1", "purchase_id": purchase_id, "duplicate": False}
    assert (await refund(api, "ref-1"))[1]["duplicate"] is True
    assert grants.calls == [("grant", purchase_id, student_id), ("revoke", purchase_id, student_id)]
    status, body = await refund(api, "ref-2")  # a second refund of the same payment: money goes back once
    assert status == 409 and body["field"] == "refund_id" and "ref-1" in body["problem"]
    await pay(api, payment("pay-2"))
    status, body = await refund(api, "ref-1", payment_id="pay-2")  # the refund id of another payment
    assert status == 409 and "pay-1" in body["problem"]
    [first, second] = await purchases(api)
    assert first.refunded_at == datetime(2026, 11, 25, 7, tzinfo=UTC) and second.refunded_at is None
    [event] = await events(api, EventType.REFUNDED)
    assert event.student_id == student_id and event.data["refund_id"] == "ref-1"


async def test_refund_of_an_unknown_payment_is_404_naming_it(api: Api) -> None:
    status, body = await refund(api, "ref-1", payment_id="nope")
    assert status == 404
    assert body == {"error": "unknown payment_id", "field": "payment_id", "payment_id": "nope"}
    status, body = await refund(api, "ref-1", refunded_at="soon")
    assert status == 422 and fields(body) == ["refunded_at"]


async def test_lifetime_value_sums_minor_units_per_currency_minus_refunds(api: Api) -> None:
    ann = await bound_student(api)
    bob = await bound_student(api, "lms-2", 5002)
    await pay(api, payment("p1", amount=199000))
    await pay(api, payment("p2", amount=99990, installment=1, installments=2))
    await pay(api, payment("p3", amount=99990, installment=2, installments=2))
    await pay(api, payment("p4", amount=4500, currency="EUR"))
    await pay(api, payment("p5", amount=777, external_id="lms-2"))
    await refund(api, "r1", payment_id="p1")
    ledger = api.app.ledger
    async with api.app.uow() as uow:
        stars = PaymentTerms("club", 250, "XTR", api.app.clock.now())
        recorded = await ledger.record(uow, Payment(PaymentSource.STARS, "stx-1", stars), ByStudent(ann))
        assert isinstance(recorded, Recorded) and recorded.applied and not recorded.duplicate
        await uow.commit()
    async with api.app.uow() as uow:
        assert await ledger.lifetime_value(uow, ann) == {"RUB": 199980, "EUR": 4500, "XTR": 250}
        assert await ledger.lifetime_values(uow) == {ann: {"RUB": 199980, "EUR": 4500, "XTR": 250}, bob: {"RUB": 777}}
        listed = await ledger.purchases_of(uow, ann)
        assert [p.payment_id for p in listed] == ["p1", "p2", "p3", "p4", "stx-1"]
        assert [p.completes_plan for p in listed] == [True, False, True, True, True]
        count = await uow.session.scalar(select(func.count()).select_from(ExternalIdentity))
        assert count == 2
