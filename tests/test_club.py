"""The graduate club through the stand-in, on both backends: access from the ledger, the personal link and the
join request, strangers and expired members turned away (told first), the reminder, the grace, removal with a
renew button, one win-back, a cancelled subscription, a refund, the bot losing its rights, /club."""

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import LabeledPrice, PreCheckoutQuery
from sqlalchemy import select

from bot.app import App
from bot.db.models import Checkout, ClubMembership, Event
from bot.revenue.invoices import checkout_id_of
from bot.revenue.ledger import ByStudent, Payment, Recorded, Refund
from bot.standin import BotAPIStandIn, FakeUser, JoinResult
from bot.telegram_session import TelegramSession
from journeys.clock import ManualClock
from journeys.club import ClubStatus
from journeys.events import EventType
from journeys.purchases import PaymentSource, PaymentTerms
from tests.conftest import TOKEN, World, make_settings, running_bot
from tests.test_api import serving
from tests.test_checkout_api import bound_student, pay, payment

CLUB = -1009876
OWNER = 900
ADMIN = 9001
ALICE = 1001
DAY = timedelta(days=1)
MONTH = 30 * DAY


def club_group(standin: BotAPIStandIn) -> None:
    standin.user(OWNER, "Olga")
    standin.group(CLUB, "Graduate club", members={OWNER: "creator"})


@pytest.fixture
async def club(database_url: str, standin: BotAPIStandIn, clock: ManualClock) -> AsyncIterator[World]:
    club_group(standin)
    settings = make_settings(database_url, standin, club_chat_id=CLUB, admin_ids=str(ADMIN), club_price_stars=300)
    async with running_bot(settings, clock) as app:
        yield World(app, standin, clock)


async def tick(world: World) -> None:
    await world.app.ticker.tick()
    while await world.app.sender.drain_once():
        pass


async def student(world: World, user_id: int = ALICE, name: str = "Alice") -> FakeUser:
    person = world.student(user_id, name)
    await person.send("/start")
    return person


async def grant(
    app: App, telegram_id: int, payment_id: str, *, source: PaymentSource, until: datetime | None, amount: int = 300
) -> int:
    currency = "XTR" if source is PaymentSource.STARS else "RUB"
    async with app.uow() as uow:
        found = await uow.students.by_telegram_id(telegram_id)
        assert found is not None
        terms = PaymentTerms("club", amount, currency, app.clock.now(), period_end=until)
        outcome = await app.ledger.record(uow, Payment(source, payment_id, terms), ByStudent(found.id))
        assert isinstance(outcome, Recorded) and outcome.applied
        await uow.commit()
        return outcome.purchase.id


async def membership(app: App, telegram_id: int = ALICE) -> ClubMembership:
    async with app.uow() as uow:
        found = await uow.students.by_telegram_id(telegram_id)
        assert found is not None
        row = await uow.session.scalar(select(ClubMembership).where(ClubMembership.student_id == found.id))
        assert row is not None
        return row


async def events(app: App, type_: EventType) -> list[Event]:
    async with app.uow() as uow:
        return list(await uow.session.scalars(select(Event).where(Event.type == type_)))


def invite_of(person: FakeUser) -> str:
    message = next(m for m in reversed(person.messages) if m.button("Join the club"))
    button = message.button("Join the club")
    assert button is not None
    return str(button["url"])


def order(standin: BotAPIStandIn, *methods: str) -> list[str]:
    return [c.method for c in standin.calls if c.method in methods]


async def test_a_stars_purchase_brings_a_personal_link_and_its_join_request_is_approved(club: World) -> None:
    alice = await student(club)
    await grant(club.app, ALICE, "stx-1", source=PaymentSource.STARS, until=club.clock.now() + MONTH)
    await tick(club)
    link = invite_of(alice)
    [created] = club.standin.calls_to("createChatInviteLink")
    assert created.params["creates_join_request"] in (True, "true") and "Alice" in created.params["name"]
    assert await alice.open_invite(link) is JoinResult.REQUESTED
    await club.standin.wait_for(lambda: club.standin.calls_to("approveChatJoinRequest"), what="the approval")
    assert club.standin.chats[CLUB].members[ALICE] == "member"
    row = await membership(club.app)
    assert row.status is ClubStatus.ACTIVE and row.joined_at == club.clock.now() and row.auto_renew
    assert len(await events(club.app, EventType.CLUB_JOINED)) == 1
    await tick(club)
    assert len(club.standin.calls_to("createChatInviteLink")) == 1  # one link per spell of membership


async def test_a_stranger_with_a_members_link_is_told_how_to_join_then_declined(club: World) -> None:
    alice = await student(club)
    await grant(club.app, ALICE, "stx-1", source=PaymentSource.STARS, until=club.clock.now() + MONTH)
    await tick(club)
    alice_link = invite_of(alice)
    mallory = club.standin.user(666, "Mallory", started=False)
    assert await mallory.open_invite(alice_link) is JoinResult.REQUESTED
    await club.standin.wait_for(lambda: club.standin.calls_to("declineChatJoinRequest"), what="the decline")
    [told] = mallory.messages
    assert "/club" in (told.text or "")
    told_then_declined = order(club.standin, "sendMessage", "declineChatJoinRequest")[-2:]
    assert told_then_declined == ["sendMessage", "declineChatJoinRequest"]
    assert club.standin.chats[CLUB].members.get(666) is None
    assert not club.standin.calls_to("approveChatJoinRequest")


async def test_a_school_period_is_reminded_then_removed_after_the_grace_and_won_back_once(club: World) -> None:
    alice = await student(club)
    await grant(club.app, ALICE, "pay-1", source=PaymentSource.SCHOOL, until=club.clock.now() + MONTH, amount=199000)
    await tick(club)
    await alice.open_invite(invite_of(alice))
    await club.standin.wait_for(lambda: club.standin.chats[CLUB].members.get(ALICE) == "member", what="Alice in")
    club.clock.advance(27 * DAY + timedelta(minutes=1))
    await tick(club)
    reminder = alice.last
    assert reminder is not None and "ends on 20.12.2026" in (reminder.text or "") and reminder.button("Renew")
    await tick(club)
    assert alice.last is reminder  # once
    club.clock.advance(3 * DAY)  # the period is over; in the grace she stays in the group
    await tick(club)
    assert club.standin.chats[CLUB].members.get(ALICE) == "member"
    club.clock.advance(3 * DAY)
    await tick(club)
    assert order(club.standin, "banChatMember", "unbanChatMember") == ["banChatMember", "unbanChatMember"]
    [unban] = club.standin.calls_to("unbanChatMember")
    assert unban.params["only_if_banned"] in (True, "true")
    assert ALICE not in club.standin.chats[CLUB].members  # not banned: she may come back
    removed = alice.last
    assert removed is not None and "no longer in the club" in (removed.text or "") and removed.button("Renew")
    assert (await membership(club.app)).status is ClubStatus.REMOVED
    assert len(await events(club.app, EventType.CLUB_REMOVED)) == 1
    # her old link no longer lets her in: she is told why first
    await alice.open_invite(invite_of(alice))
    await club.standin.wait_for(lambda: club.standin.calls_to("declineChatJoinRequest"), what="the decline")
    assert "membership ended on 20.12.2026" in (alice.messages[-1].text or "")
    club.clock.advance(14 * DAY)
    await tick(club)
    await tick(club)
    winbacks = [m for m in alice.messages if "We miss you" in (m.text or "")]
    assert len(winbacks) == 1 and winbacks[0].button("Renew")


async def test_the_renew_button_brings_a_subscription_invoice_link(club: World) -> None:
    alice = await student(club)
    await grant(club.app, ALICE, "pay-1", source=PaymentSource.SCHOOL, until=club.clock.now() + 2 * DAY)
    await tick(club)
    club.clock.advance(DAY)
    await tick(club)
    await alice.click("Renew")
    await alice.expect("You are a member until 22.11.2026")
    assert alice.last is not None and alice.last.button("Renew for 300 ⭐ a month") is not None


async def test_club_for_a_newcomer_sends_a_subscription_invoice_link_naming_a_checkout(club: World) -> None:
    alice = await student(club)
    await alice.send("/club")
    shown = alice.last
    assert shown is not None and "300 ⭐ a month" in (shown.text or "")
    button = shown.button("Join for 300 ⭐ a month")
    assert button is not None
    invoice = club.standin._invoices[button["url"]]
    assert (invoice.subscription_period, invoice.amount) == (2592000, 300)
    checkout_id = checkout_id_of(invoice.payload)
    assert checkout_id is not None
    async with club.app.uow() as uow:
        checkout = await uow.session.get(Checkout, checkout_id)
        assert checkout is not None
        terms = (checkout.product_id, checkout.amount, checkout.subscription, checkout.offer_id)
        assert terms == ("club", 300, True, None)


async def subscription_charge(standin: BotAPIStandIn, user_id: int, amount: int = 300) -> str:
    """A real Stars subscription in the stand-in, paid before the journeybot runs (a bot of its own answers
    the pre-checkout: the Stars payment handler is another part's)."""
    bot = Bot(TOKEN, session=TelegramSession(api=TelegramAPIServer.from_base(standin.base_url)))
    router = Router()

    @router.pre_checkout_query()
    async def checkout(query: PreCheckoutQuery) -> None:
        await query.answer(ok=True)

    dp = Dispatcher()
    dp.include_router(router)
    polling = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, polling_timeout=1, close_bot_session=False, allowed_updates=[])
    )
    try:
        prices = [LabeledPrice(label="Club", amount=amount)]
        link = await bot.create_invoice_link("Club", "Club", "club", "XTR", prices, subscription_period=2592000)
        charge_id = await standin.pay(user_id, link)
        assert charge_id is not None
    finally:
        await dp.stop_polling()
        await polling
    try:
        if updates := await bot.get_updates(timeout=0):
            await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    finally:
        await bot.session.close()
    return charge_id


async def test_a_cancelled_subscription_keeps_access_to_its_end(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    club_group(standin)
    standin.user(ALICE, "Alice", language_code="en")
    charge_id = await subscription_charge(standin, ALICE)
    settings = make_settings(database_url, standin, club_chat_id=CLUB, club_price_stars=300)
    async with running_bot(settings, clock) as app:
        world = World(app, standin, clock)
        alice = await student(world)
        await grant(app, ALICE, charge_id, source=PaymentSource.STARS, until=clock.now() + MONTH)
        await tick(world)
        await alice.send("/club")
        assert "Next charge: 20.12.2026, 300 ⭐." in (alice.last.text or "")  # type: ignore[union-attr]
        assert await alice.click("Cancel renewal") == "Renewal cancelled: you stay a member until the paid month ends."
        [edit] = standin.calls_to("editUserStarSubscription")
        assert edit.params["telegram_payment_charge_id"] == charge_id and edit.params["is_canceled"] in (True, "true")
        assert standin.charges[charge_id].subscription.cancelled  # type: ignore[union-attr]
        assert "Renewal is cancelled" in (alice.last.text or "")  # type: ignore[union-attr]
        clock.advance(MONTH - timedelta(hours=1))
        await tick(world)
        assert (await membership(app)).status is ClubStatus.ACTIVE
        await alice.open_invite(invite_of(alice))  # still hers until the month ends
        await standin.wait_for(lambda: standin.chats[CLUB].members.get(ALICE) == "member", what="Alice in")
        assert await alice.click("Renew automatically") == "Renewal is on again."
        assert not standin.charges[charge_id].subscription.cancelled  # type: ignore[union-attr]


async def test_a_refund_revokes_access_and_removes_at_once(club: World) -> None:
    alice = await student(club)
    await grant(club.app, ALICE, "pay-9", source=PaymentSource.SCHOOL, until=club.clock.now() + MONTH)
    await tick(club)
    await alice.open_invite(invite_of(alice))
    await club.standin.wait_for(lambda: club.standin.chats[CLUB].members.get(ALICE) == "member", what="Alice in")
    async with club.app.uow() as uow:
        await club.app.ledger.refund(uow, Refund(PaymentSource.SCHOOL, "pay-9", club.clock.now(), "ref-1"))
        await uow.commit()
    assert (await membership(club.app)).status is ClubStatus.REVOKED
    await tick(club)
    assert ALICE not in club.standin.chats[CLUB].members
    assert "was refunded" in (alice.last.text or "")  # type: ignore[union-attr]
    assert (await membership(club.app)).status is ClubStatus.REMOVED


async def test_without_admin_rights_the_admins_are_told_once_and_the_invite_waits(club: World) -> None:
    admin = club.student(ADMIN, "Ada")
    await admin.send("/start")
    alice = await student(club)
    club.standin.set_bot_status(CLUB, "member")
    await grant(club.app, ALICE, "stx-1", source=PaymentSource.STARS, until=club.clock.now() + MONTH)
    await tick(club)
    warnings = [m for m in admin.messages if "cannot manage the graduate club" in (m.text or "")]
    assert len(warnings) == 1
    club.clock.advance(timedelta(minutes=11))
    await tick(club)
    assert len([m for m in admin.messages if "cannot manage" in (m.text or "")]) == 1
    assert not [m for m in alice.messages if m.button("Join the club")]
    club.standin.set_bot_status(CLUB, "administrator")
    club.clock.advance(timedelta(minutes=11))
    await tick(club)
    assert invite_of(alice).startswith("https://t.me/+")


async def test_club_for_staff_shows_members_joins_revenue_and_churn(club: World) -> None:
    alice = await student(club)
    await student(club, 1002, "Bob")
    await grant(club.app, ALICE, "stx-1", source=PaymentSource.STARS, until=club.clock.now() + MONTH)
    await grant(club.app, 1002, "pay-2", source=PaymentSource.SCHOOL, until=club.clock.now() + 2 * MONTH, amount=398000)
    await tick(club)
    await alice.open_invite(invite_of(alice))
    await club.standin.wait_for(lambda: club.standin.chats[CLUB].members.get(ALICE) == "member", what="Alice in")
    admin = club.student(ADMIN, "Ada")
    await admin.send("/club")
    text = admin.last.text or ""  # type: ignore[union-attr]
    assert "Members now: 2 (in their grace period: 0)" in text
    assert "This month: 1 joined, 0 left" in text
    assert "Monthly recurring revenue: 1990.00 RUB, 300 ⭐" in text
    assert "Churn this month: —" in text


async def test_without_a_club_chat_club_says_the_club_is_off(world: World) -> None:
    alice = world.student(ALICE, "Alice")
    await alice.send("/start")
    await alice.send("/club")
    assert alice.last is not None and alice.last.text == "The school has no graduate club yet."


async def test_a_payment_through_the_schools_api_grants_access_with_its_period(
    database_url: str, standin: BotAPIStandIn
) -> None:
    club_group(standin)
    standin.user(ALICE, "Ann", language_code="en")
    async with serving(database_url, standin, club_chat_id=CLUB) as api:
        student_id = await bound_student(api, telegram_id=ALICE)
        status, body = await pay(api, payment(period_end="2027-01-20T12:00:00+03:00"))
        assert status == 200 and body["applied"]
        async with api.app.uow() as uow:
            row = await uow.session.scalar(select(ClubMembership).where(ClubMembership.student_id == student_id))
            assert row is not None and row.status is ClubStatus.ACTIVE and not row.auto_renew
            assert row.access_until == datetime.fromisoformat("2027-01-20T12:00:00+03:00")
        await api.app.ticker.tick()
        while await api.app.sender.drain_once():
            pass
        async with api.app.uow() as uow:
            link = await uow.session.scalar(select(ClubMembership.invite_link))
        assert link is not None and link.startswith("https://t.me/+")
        # Ann came by the LMS in the default language, Russian
        [invite] = [m for m in standin.messages_in(ALICE) if m.button("Вступить в клуб")]
        assert invite.button("Вступить в клуб") == {"text": "Вступить в клуб", "url": link}
