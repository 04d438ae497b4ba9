"""Telegram Stars end to end through the stand-in: Buy under an offer → invoice → the payer pays → one ledger row,
the grant applied once, a thank-you; every pre-checkout refusal; duplicates, renewals and refunds."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice
from sqlalchemy import select

from bot.app import App
from bot.callbacks import OfferAction, OfferPress
from bot.db.models import Checkout, Enrollment, Event, Grant, OfferShown, OutboxMessage, Purchase, Student
from bot.revenue.invoices import invoice_payload
from bot.revenue.stars import Approved, Paid, StarsPayment
from bot.standin import BotAPIStandIn
from bot.standin.client import FakeUser
from bot.standin.records import StoredMessage
from journeys.clock import ManualClock
from journeys.events import EventType
from journeys.journey import EnrollmentStatus
from journeys.spec import GrantKind
from tests.conftest import World, make_settings, running_bot

ADMIN = 9001
ALICE, BOB = 1001, 1002

SHOP = """\
format: 1
id: shop-basics
title: Shop basics
language: en
welcome: Hi! This is <b>Shop basics</b>.
completion: Done!
cohort: {schedule: immediate}
survey:
  questions:
    - id: experience
      text: Have you sold online?
      options: [{id: never, text: Never}, {id: sold, text: "Yes"}]
routing: {default: main}
stages:
  - id: s
    title: Start
    steps:
      - {id: first, title: First step, text: Do the first thing.}
tracks:
  main: {title: Main, steps: [first]}
offers:
  - id: next-stage
    when: {on_completion: true}
    text: The <b>next stage</b> of the course.
    grants: {journey: shop-growth}
    price: {stars: PRICE}
  - id: mentor
    when: {on_completion: true}
    text: A month with a mentor.
    grants: {mentor_days: 30}
    price: {stars: 200}
  - id: guide
    when: {on_completion: true}
    text: The sellers' guide.
    grants: {file: "https://example.com/guide.pdf"}
    price: {stars: 100}
  - id: webinar
    when: {on_completion: true}
    text: The launch webinar, ends soon.
    grants: {link: {text: Watch, url: "https://example.com/webinar"}}
    price: {stars: 50}
    deadline: 2026-11-25T00:00:00+00:00
"""

GROWTH = """\
format: 1
id: shop-growth
title: Shop growth
language: en
access: granted
welcome: Welcome to <b>Shop growth</b>.
completion: Grown!
cohort: {schedule: immediate}
survey:
  questions:
    - id: revenue
      text: What is your monthly revenue?
      options: [{id: small, text: Small}, {id: large, text: Large}]
routing: {default: grow}
stages:
  - id: g
    title: Growth
    steps:
      - {id: ads, title: Ads, text: Run ads.}
tracks:
  grow: {title: Grow, steps: [ads]}
"""


def write_catalog(folder: Path, price: int = 300) -> str:
    folder.mkdir(exist_ok=True)
    (folder / "1-shop.en.yaml").write_text(SHOP.replace("PRICE", str(price)))
    (folder / "2-growth.en.yaml").write_text(GROWTH)
    return str(folder)


@pytest.fixture
async def shop(database_url: str, standin: BotAPIStandIn, clock: ManualClock, tmp_path: Path) -> AsyncIterator[World]:
    settings = make_settings(database_url, standin, journeys=write_catalog(tmp_path / "j"), admin_ids=str(ADMIN))
    async with running_bot(settings, clock) as app:
        yield World(app, standin, clock)


async def enrolled(world: World, user_id: int = ALICE, name: str = "Alice") -> FakeUser:
    person = world.student(user_id, name)
    await person.send("/start")
    return person


async def show_offer(app: App, person: FakeUser, offer_id: str) -> None:
    """What the offers part does when an offer is due: its offer_states row and the OFFER_SHOWN event recorded, the
    offer sent with Buy ⭐N (here with a plain text, whatever trigger the offer has)."""
    async with app.uow() as uow:
        student = await uow.students.by_telegram_id(person.id)
        assert student is not None
        enrollment = await uow.enrollments.chosen(student, app.catalog.ids)
        assert enrollment is not None
        uow.session.add(OfferShown(enrollment_id=enrollment.id, offer_id=offer_id, shown_at=app.clock.now()))
        uow.events.record(
            EventType.OFFER_SHOWN, app.clock.now(), student_id=student.id, enrollment_id=enrollment.id, offer=offer_id
        )
        await uow.commit()
    data = OfferPress(enrollment=enrollment.id, offer=offer_id, act=OfferAction.BUY).pack()
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=f"Buy {offer_id}", callback_data=data)]])
    await app.bot.send_message(person.id, f"Offer {offer_id}", reply_markup=markup)


async def buy(world: World, person: FakeUser, offer_id: str, *, show: bool = True) -> StoredMessage:
    if show:
        await show_offer(world.app, person, offer_id)
    await person.click(f"Buy {offer_id}")
    return last_invoice(world.standin, person.id)


def last_invoice(standin: BotAPIStandIn, chat_id: int) -> StoredMessage:
    invoices = [m for m in standin.messages_in(chat_id) if "invoice" in m.raw]
    assert invoices, "no invoice was sent"
    return invoices[-1]


def refusal(standin: BotAPIStandIn) -> str | None:
    params = standin.calls_to("answerPreCheckoutQuery")[-1].params
    return None if str(params["ok"]).lower() in ("true", "1") else str(params["error_message"])


async def rows(app: App, model: Any) -> list[Any]:
    async with app.uow() as uow:
        return list(await uow.session.scalars(select(model).order_by(model.id)))


async def events(app: App, type_: EventType) -> list[dict[str, Any]]:
    return [e.data for e in await rows(app, Event) if e.type == type_]


async def outbox(app: App, prefix: str) -> list[OutboxMessage]:
    return [row for row in await rows(app, OutboxMessage) if row.key.startswith(prefix)]


def texts(row: OutboxMessage) -> list[str]:
    return [m.get("text") or m.get("caption") or "" for m in row.payload["messages"]]


async def test_buying_a_journey_end_to_end_enrolls_in_it_once(shop: World) -> None:
    app, standin = shop.app, shop.standin
    alice = await enrolled(shop)
    invoice = await buy(shop, alice, "next-stage")
    shown = invoice.raw["invoice"]
    assert (shown["title"], shown["currency"], shown["total_amount"]) == ("The next stage of the course.", "XTR", 300)
    [call] = standin.calls_to("sendInvoice")
    assert "provider_token" not in call.params and call.params["payload"].startswith("ck:")
    [checkout] = await rows(app, Checkout)
    assert (checkout.offer_id, checkout.product_id, checkout.amount, checkout.subscription) == (
        "next-stage",
        "next-stage",
        300,
        False,
    )
    assert call.params["payload"] == invoice_payload(checkout.id)

    charge = await standin.pay(alice, invoice)
    assert charge is not None and refusal(standin) is None
    thanks = await alice.expect("Thank you!")
    assert thanks.text == "Thank you! 300 ⭐ received for The next stage of the course."
    [purchase] = await rows(app, Purchase)
    assert (purchase.source.value, purchase.payment_id, purchase.product_id, purchase.offer_id) == (
        "stars",
        charge,
        "next-stage",
        "next-stage",
    )
    assert (purchase.amount, purchase.currency, purchase.paid_at, purchase.applied_at) == (
        300,
        "XTR",
        shop.clock.now(),
        shop.clock.now(),
    )
    assert purchase.enrollment_id == checkout.enrollment_id
    [checkout] = await rows(app, Checkout)
    assert checkout.purchase_id == purchase.id
    [grant] = await rows(app, Grant)
    assert (grant.purchase_id, grant.kind, grant.revoked_at) == (purchase.id, GrantKind.JOURNEY, None)
    growth = [e for e in await rows(app, Enrollment) if e.journey_id == "shop-growth"]
    assert [(e.id, e.status) for e in growth] == [(grant.enrollment_id, EnrollmentStatus.ONBOARDING)]
    async with app.uow() as uow:
        student = await uow.students.by_telegram_id(ALICE)
        assert student is not None and student.current_journey_id == "shop-growth"
    [welcome] = await outbox(app, "grant:")
    opened, welcomed, question = texts(welcome)[:3]
    assert opened == "Your purchase opened the course <b>Shop growth</b>."
    assert welcomed == "Welcome to <b>Shop growth</b>."
    assert "What is your monthly revenue?" in question
    assert [e["offer"] for e in await events(app, EventType.OFFER_CHECKOUT_STARTED)] == ["next-stage"]
    assert [e["offer"] for e in await events(app, EventType.OFFER_BOUGHT)] == ["next-stage"]

    await app.sender.drain_once()  # the welcome reaches Alice through the outbox
    await alice.expect("Welcome to Shop growth.")


async def test_a_duplicated_successful_payment_records_and_grants_once(shop: World) -> None:
    app, standin = shop.app, shop.standin
    alice = await enrolled(shop)
    charge = await standin.pay(alice, await buy(shop, alice, "mentor"))
    await alice.expect("Thank you!")
    paid = next(m for m in standin.messages_in(ALICE) if "successful_payment" in m.raw)
    standin.push_update({"message": paid.raw})  # Telegram delivers the same message again
    standin.push_update({"message": paid.raw})
    await standin.settle()
    assert [p.payment_id for p in await rows(app, Purchase)] == [charge]
    [grant] = await rows(app, Grant)
    assert grant.kind is GrantKind.MENTOR and grant.until == shop.clock.now() + timedelta(days=30)
    assert len(await outbox(app, "grant:")) == 1
    assert len(await events(app, EventType.OFFER_BOUGHT)) == 1
    assert [m.text for m in alice.messages if m.text and m.text.startswith("Thank you!")] == [
        "Thank you! 200 ⭐ received for A month with a mentor."
    ]
    async with app.uow() as uow:
        assert await app.grants.mentor_until(uow, grant.student_id, shop.clock.now()) == grant.until


@pytest.mark.parametrize("offer_id", ["guide", "webinar"])
async def test_a_file_or_link_is_sent_after_the_purchase(shop: World, offer_id: str) -> None:
    app = shop.app
    alice = await enrolled(shop)
    assert await shop.standin.pay(alice, await buy(shop, alice, offer_id)) is not None
    await alice.expect("Thank you!")
    await app.sender.drain_once()
    got = await alice.expect("Here is what you bought")
    if offer_id == "guide":
        assert got.media_kind == "document"
        assert shop.standin.calls_to("sendDocument")[-1].params["document"] == "https://example.com/guide.pdf"
    else:
        assert got.reply_markup == {"inline_keyboard": [[{"text": "Watch", "url": "https://example.com/webinar"}]]}


async def test_pre_checkout_refuses_an_offer_past_its_deadline(shop: World) -> None:
    alice = await enrolled(shop)
    invoice = await buy(shop, alice, "webinar")
    shop.clock.advance(timedelta(days=5))  # 25 November: the webinar's deadline has passed
    assert await shop.standin.pay(alice, invoice) is None
    assert refusal(shop.standin) == "This offer has ended. Nothing was charged."
    assert await rows(shop.app, Purchase) == []


async def test_pre_checkout_refuses_an_offer_already_bought(shop: World) -> None:
    alice = await enrolled(shop)
    first = await buy(shop, alice, "mentor")
    second = await buy(shop, alice, "mentor", show=False)
    assert first.message_id != second.message_id
    assert await shop.standin.pay(alice, first) is not None
    assert await shop.standin.pay(alice, second) is None
    assert refusal(shop.standin) == "You have bought this already. Nothing was charged."
    assert len(await rows(shop.app, Purchase)) == 1


async def test_pre_checkout_refuses_someone_elses_checkout(shop: World) -> None:
    alice = await enrolled(shop)
    bob = await enrolled(shop, BOB, "Bob")
    invoice = await buy(shop, alice, "mentor")
    assert await shop.standin.pay(bob, invoice) is None
    assert refusal(shop.standin) == "This invoice was made for someone else. Nothing was charged."
    assert await rows(shop.app, Purchase) == []


@pytest.mark.parametrize("payload", ["ck:999999", "club", "ck:0"])
async def test_pre_checkout_refuses_a_forged_payload(shop: World, payload: str) -> None:
    alice = await enrolled(shop)
    sent = await shop.app.bot.send_invoice(
        ALICE, "Forged", "Not ours", payload, "XTR", [LabeledPrice(label="Forged", amount=1)]
    )
    invoice = shop.standin.message(ALICE, sent.message_id)
    assert invoice is not None
    assert await shop.standin.pay(alice, invoice) is None
    assert refusal(shop.standin) == "This invoice is not from this bot. Nothing was charged."


async def test_buy_press_for_another_students_enrollment_or_an_offer_never_shown_is_refused(shop: World) -> None:
    alice = await enrolled(shop)
    bob = await enrolled(shop, BOB, "Bob")
    await show_offer(shop.app, alice, "mentor")
    alices = next(e for e in await rows(shop.app, Enrollment) if e.journey_id == "shop-basics")
    data = OfferPress(enrollment=alices.id, offer="mentor", act=OfferAction.BUY).pack()
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Steal", callback_data=data)]])
    await shop.app.bot.send_message(BOB, "forged", reply_markup=markup)
    assert await bob.click("Steal") == "This invoice was made for someone else. Nothing was charged."
    await show_offer(shop.app, bob, "guide")  # Bob was shown the guide, not the mentor
    bobs = next(e for e in await rows(shop.app, Enrollment) if e.student_id != alices.student_id)
    data = OfferPress(enrollment=bobs.id, offer="mentor", act=OfferAction.BUY).pack()
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Unseen", callback_data=data)]])
    await shop.app.bot.send_message(BOB, "unseen", reply_markup=markup)
    assert await bob.click("Unseen") == "This offer is not open to you. Nothing was charged."
    assert shop.standin.calls_to("sendInvoice") == [] and await rows(shop.app, Checkout) == []


async def test_pre_checkout_refuses_a_price_changed_in_the_journey_file(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock, tmp_path: Path
) -> None:
    folder = tmp_path / "j"
    settings = make_settings(database_url, standin, journeys=write_catalog(folder, price=300))
    async with running_bot(settings, clock) as app:
        world = World(app, standin, clock)
        alice = await enrolled(world)
        invoice = await buy(world, alice, "next-stage")
    write_catalog(folder, price=350)  # the school raised the price; the bot restarts with the new file
    async with running_bot(settings, clock) as app:
        assert await standin.pay(alice, invoice) is None
        assert refusal(standin) == "The price has changed since this invoice. Press Buy again for a new one."
        assert await rows(app, Purchase) == []


async def test_pre_checkout_is_answered_in_russian_for_a_russian_payer(shop: World) -> None:
    alice = shop.student(ALICE, "Алиса", language="ru")
    await alice.send("/start")
    invoice = await buy(shop, alice, "webinar")
    shop.clock.advance(timedelta(days=5))
    assert await shop.standin.pay(alice, invoice) is None
    assert refusal(shop.standin) == "Это предложение закончилось. Деньги не списаны."


async def test_a_subscription_renewal_is_a_new_purchase_extending_the_period(shop: World) -> None:
    app, standin = shop.app, shop.standin
    alice = await enrolled(shop)
    async with app.uow() as uow:  # what /club does: a subscription checkout and its invoice link
        student = await uow.students.by_telegram_id(ALICE)
        assert student is not None
        checkout = await uow.checkouts.add(
            Checkout(
                student_id=student.id,
                product_id="club",
                amount=250,
                subscription=True,
                created_at=shop.clock.now(),
                currency="XTR",
            )
        )
        await uow.commit()
    link = await app.bot.create_invoice_link(
        "Club",
        "Monthly club",
        invoice_payload(checkout.id),
        "XTR",
        [LabeledPrice(label="Club", amount=250)],
        subscription_period=2592000,
    )
    first = await standin.pay(alice, link)
    assert first is not None
    await alice.expect("Thank you! 250 ⭐ received for Graduate club.")
    second = standin.renew(first)
    assert second is not None
    await alice.expect("Renewed: Graduate club until")
    purchases = await rows(app, Purchase)
    assert [p.payment_id for p in purchases] == [first, second]
    subscription = standin.charges[second].subscription
    assert subscription is not None  # the stand-in keeps the subscription's current end
    assert purchases[1].period_end == datetime.fromtimestamp(subscription.expires_at, UTC)
    assert purchases[1].period_end == purchases[0].period_end + timedelta(days=30)
    assert purchases[1].period_start == purchases[0].period_end
    [checkout] = await rows(app, Checkout)
    assert checkout.purchase_id == purchases[1].id
    assert await rows(app, Grant) == []  # the club grants through its own listener


async def test_a_staff_refund_goes_through_telegram_and_revokes_the_grant_once(shop: World) -> None:
    app, standin = shop.app, shop.standin
    alice = await enrolled(shop)
    charge = await standin.pay(alice, await buy(shop, alice, "next-stage"))
    await alice.expect("Thank you!")
    admin = shop.student(ADMIN, "Ada")
    await admin.send(f"/refund {charge}")
    await standin.settle()
    assert standin.charges[charge].refunded
    assert any("refunded_payment" in m.raw for m in standin.messages_in(ALICE))
    [purchase] = await rows(app, Purchase)
    assert purchase.refunded_at == shop.clock.now()
    [grant] = await rows(app, Grant)
    assert grant.revoked_at == shop.clock.now()
    growth = await rows(app, Enrollment)
    assert [e.status for e in growth if e.id == grant.enrollment_id] == [EnrollmentStatus.DROPPED]
    assert len(await outbox(app, "grant-revoked:")) == 1
    assert len(await events(app, EventType.REFUNDED)) == 1
    async with app.uow() as uow:
        student = await uow.students.by_telegram_id(ALICE)
        assert student is not None
        current = await uow.enrollments.chosen(student, app.catalog.ids)
        assert current is not None and current.journey_id == "shop-basics"
    # a second refunded_payment (Telegram repeats it) changes nothing
    refunded = next(m for m in standin.messages_in(ALICE) if "refunded_payment" in m.raw)
    standin.push_update({"message": refunded.raw})
    await standin.settle()
    assert len(await events(app, EventType.REFUNDED)) == 1
    assert len(await outbox(app, "grant-revoked:")) == 1
    assert admin.last is not None and admin.last.text is not None
    assert admin.last.text.startswith("Refunded 300 ⭐ for next-stage through Telegram")


async def test_the_shipped_course_sells_its_paid_next_stage_in_stars(default_world: World) -> None:
    app, standin = default_world.app, default_world.standin
    alice = default_world.student(ALICE, "Алиса", language="ru")
    await alice.send("/start")
    found = app.catalog.offer("growth-stage")
    assert found is not None
    journey, offer = found
    assert journey.id == "online-store" and offer.grants is not None and offer.grants.journey == "online-store-growth"
    assert offer.price is not None and offer.price.stars
    assert app.catalog["online-store-growth"].spec.access.value == "granted"
    charge = await standin.pay(alice, await buy(default_world, alice, "growth-stage"))
    assert charge is not None
    await alice.expect("Спасибо!")
    async with app.uow() as uow:
        student = await uow.students.by_telegram_id(ALICE)
        assert student is not None
        growth = await uow.enrollments.current(student.id, "online-store-growth")
        assert growth is not None and student.current_journey_id == "online-store-growth"
    await app.sender.drain_once()
    await alice.expect("Рост интернет-магазина")


async def test_payments_arriving_at_once_and_repeated_record_and_grant_once_each(shop: World) -> None:
    """Twelve students pay at once and Telegram delivers each payment three times, all concurrently, after their
    pre-checkout queries came in together: every verdict ok, one purchase, one grant, one OFFER_BOUGHT each (on
    PostgreSQL well past the five runs after which a prepared statement gets a generic plan)."""
    app = shop.app
    people = [await enrolled(shop, ALICE + i, f"S{i}") for i in range(12)]
    for person in people:
        await buy(shop, person, "mentor")
    async with app.uow() as uow:
        telegram_of = {s.id: s.telegram_id for s in await uow.session.scalars(select(Student))}
        checkouts = list(await uow.session.scalars(select(Checkout).order_by(Checkout.id)))
    assert len(checkouts) == len(people)
    verdicts = await asyncio.gather(
        *(
            app.stars.pre_checkout(telegram_of[c.student_id], invoice_payload(c.id), c.amount, "XTR")
            for c in checkouts
            for _ in range(3)
        )
    )
    assert all(isinstance(verdict, Approved) for verdict in verdicts)

    def payment(checkout: Checkout) -> StarsPayment:
        return StarsPayment(f"charge-{checkout.id}", invoice_payload(checkout.id), checkout.amount, "XTR")

    outcomes = await asyncio.gather(
        *(app.stars.paid(telegram_of[c.student_id], payment(c)) for c in checkouts for _ in range(3))
    )
    assert sum(isinstance(outcome, Paid) for outcome in outcomes) == len(checkouts)  # the rest: already paid
    purchases = await rows(app, Purchase)
    assert sorted(p.payment_id for p in purchases) == sorted(f"charge-{c.id}" for c in checkouts)
    grants = await rows(app, Grant)
    assert sorted(g.purchase_id for g in grants) == sorted(p.id for p in purchases)
    assert len(await events(app, EventType.OFFER_BOUGHT)) == len(checkouts)
    assert len(await outbox(app, "grant:")) == len(checkouts)
