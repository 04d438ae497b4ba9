"""Refunds by staff: /refund in the bot (Stars through the stand-in's refundStarPayment, school payments only
recorded) and `journeybot refund` on the command line; audited, the grant revoked, nothing changed otherwise."""

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import LabeledPrice, PreCheckoutQuery
from sqlalchemy import select

from bot.app import App
from bot.db.migrations import upgrade
from bot.db.models import AuditEntry, Purchase, Student
from bot.revenue.ledger import ByStudent, Payment, Recorded
from bot.settings import Settings
from bot.standin import BotAPIStandIn
from bot.telegram_session import TelegramSession
from journeys.clock import ManualClock
from journeys.purchases import PaymentSource, PaymentTerms
from tests.conftest import TOKEN, World, make_settings, running_bot
from tests.test_checkout_api import Grants

ADMIN = 9001
ALICE = 1001


async def stars_charge(standin: BotAPIStandIn, user_id: int, amount: int = 500) -> str:
    """A real Telegram Stars payment in the stand-in: an invoice paid, the pre-checkout answered by a bot of
    its own (the journeybot is not running yet, and has no checkout of its own yet)."""
    bot = Bot(TOKEN, session=TelegramSession(api=TelegramAPIServer.from_base(standin.base_url)))
    router = Router()

    @router.pre_checkout_query()
    async def checkout(query: PreCheckoutQuery) -> None:
        await query.answer(ok=True)

    dp = Dispatcher()
    dp.include_router(router)
    # every update type: a poll of this bot still open on the stand-in must not drop the journeybot's updates
    polling = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, polling_timeout=1, close_bot_session=False, allowed_updates=[])
    )
    try:
        sent = await bot.send_invoice(
            user_id, "Club", "The graduate club", "club", "XTR", [LabeledPrice(label="Club", amount=amount)]
        )
        invoice = standin.message(user_id, sent.message_id)
        assert invoice is not None
        charge_id = await standin.pay(user_id, invoice)
        assert charge_id is not None
    finally:
        await dp.stop_polling()
        await polling
    try:  # the successful_payment is this bot's: confirmed, so the journeybot does not get it
        if updates := await bot.get_updates(timeout=0):
            await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    finally:
        await bot.session.close()
    return charge_id


@pytest.fixture
async def admin_world(database_url: str, standin: BotAPIStandIn, clock: ManualClock) -> AsyncIterator[World]:
    async with running_bot(make_settings(database_url, standin, admin_ids=str(ADMIN)), clock) as app:
        yield World(app, standin, clock)


async def record(app: App, source: PaymentSource, payment_id: str, student_telegram_id: int, amount: int) -> None:
    currency = "XTR" if source is PaymentSource.STARS else "RUB"
    async with app.uow() as uow:
        student = await uow.students.by_telegram_id(student_telegram_id)
        assert student is not None
        terms = PaymentTerms("club", amount, currency, app.clock.now())
        outcome = await app.ledger.record(uow, Payment(source, payment_id, terms), ByStudent(student.id))
        assert isinstance(outcome, Recorded) and outcome.applied
        await uow.commit()


async def purchase(app: App, payment_id: str) -> Purchase:
    async with app.uow() as uow:
        found = await uow.purchases.with_payment_id(payment_id)
        assert len(found) == 1
        return found[0]


async def audit(app: App) -> list[tuple[str, int | None, str | None]]:
    async with app.uow() as uow:
        entries = await uow.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(e.action, e.actor_id, e.target) for e in entries]


async def test_admin_refunds_stars_through_telegram_once_and_the_grant_is_revoked(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    standin.user(ALICE, "Alice", language_code="en")
    charge_id = await stars_charge(standin, ALICE)
    async with running_bot(make_settings(database_url, standin, admin_ids=str(ADMIN)), clock) as app:
        world = World(app, standin, clock)
        grants = Grants()
        app.ledger.refund_listeners.append(grants)
        await world.student(ALICE, "Alice").send("/start")
        await record(app, PaymentSource.STARS, charge_id, ALICE, 500)
        admin = world.student(ADMIN, "Ada")
        await admin.send(f"/refund {charge_id}")
        assert admin.last is not None
        assert admin.last.text == "Refunded 500 ⭐ for club through Telegram and recorded it; the access is revoked."
        assert standin.charges[charge_id].refunded
        [call] = standin.calls_to("refundStarPayment")
        assert call.params["telegram_payment_charge_id"] == charge_id and str(call.params["user_id"]) == str(ALICE)
        refunded = await purchase(app, charge_id)
        assert refunded.refunded_at == clock.now() and refunded.refund_id is None
        assert grants.calls == [("revoke", refunded.id, refunded.student_id)]
        assert await audit(app) == [("refunded", ADMIN, f"stars:{charge_id}")]

        await admin.send(f"/refund {charge_id}")
        assert admin.last.text == f"Payment {charge_id} is already refunded. Nothing changed."
        assert len(standin.calls_to("refundStarPayment")) == 1 and len(grants.calls) == 1


async def test_a_refund_telegram_refuses_is_not_recorded(admin_world: World) -> None:
    app = admin_world.app
    await admin_world.student(ALICE, "Alice").send("/start")
    await record(app, PaymentSource.STARS, "stxNeverCharged", ALICE, 300)  # Telegram knows no such charge
    admin = admin_world.student(ADMIN, "Ada")
    await admin.send("/refund stxNeverCharged")
    assert admin.last is not None
    assert (
        admin.last.text
        == "Telegram refused to refund stxNeverCharged: Bad Request: CHARGE_NOT_FOUND. Nothing recorded."
    )
    assert (await purchase(app, "stxNeverCharged")).refunded_at is None
    assert await audit(app) == []


async def test_a_charge_refunded_outside_the_ledger_is_recorded_from_telegrams_refund_message(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    standin.user(ALICE, "Alice", language_code="en")
    charge_id = await stars_charge(standin, ALICE)
    async with running_bot(make_settings(database_url, standin, admin_ids=str(ADMIN)), clock) as app:
        world = World(app, standin, clock)
        await world.student(ALICE, "Alice").send("/start")
        await record(app, PaymentSource.STARS, charge_id, ALICE, 500)
        await app.bot.refund_star_payment(ALICE, charge_id)  # e.g. by another tool: Telegram's refunded_payment
        await standin.settle()
        assert (await purchase(app, charge_id)).refunded_at == clock.now()
        admin = world.student(ADMIN, "Ada")
        await admin.send(f"/refund {charge_id}")
        assert admin.last is not None
        assert admin.last.text == f"Payment {charge_id} is already refunded. Nothing changed."
        assert len(standin.calls_to("refundStarPayment")) == 1


async def test_admin_refund_of_a_school_payment_is_only_recorded(admin_world: World) -> None:
    app, standin = admin_world.app, admin_world.standin
    await admin_world.student(ALICE, "Alice").send("/start")
    await record(app, PaymentSource.SCHOOL, "pay-77", ALICE, 199000)
    admin = admin_world.student(ADMIN, "Ada")
    await admin.send("/refund pay-77")
    assert admin.last is not None
    assert admin.last.text == (
        "Recorded the refund of 1990.00 RUB for club; the access is revoked. "
        "The school returns the money itself: this did not send it."
    )
    assert standin.calls_to("refundStarPayment") == []
    assert (await purchase(app, "pay-77")).refunded_at is not None
    assert await audit(app) == [("refunded", ADMIN, "school:pay-77")]


async def test_unknown_charge_ambiguous_id_and_usage_change_nothing(admin_world: World) -> None:
    app = admin_world.app
    await admin_world.student(ALICE, "Alice").send("/start")
    await record(app, PaymentSource.SCHOOL, "same-id", ALICE, 100)
    await record(app, PaymentSource.STARS, "same-id", ALICE, 100)
    admin = admin_world.student(ADMIN, "Ada")
    for command, answer in (
        ("/refund nope<b>", "No payment nope<b> in the ledger. Nothing changed."),
        ("/refund", "Use: /refund PAYMENT_ID, or /refund PAYMENT_ID stars|school when both have that id."),
        (
            "/refund same-id paypal",
            "Use: /refund PAYMENT_ID, or /refund PAYMENT_ID stars|school when both have that id.",
        ),
        ("/refund same-id", "Both a Stars and a school payment have id same-id: add stars or school to the command."),
    ):
        await admin.send(command)
        assert admin.last is not None and admin.last.text == answer, command
    await admin.send("/refund same-id school")
    assert admin.last is not None and admin.last.text.startswith("Recorded the refund of 1.00 RUB")
    async with app.uow() as uow:
        rows = await uow.purchases.with_payment_id("same-id")
        assert [(p.source, p.refunded_at is not None) for p in rows] == [
            (PaymentSource.SCHOOL, True),
            (PaymentSource.STARS, False),
        ]
    assert admin_world.standin.calls_to("refundStarPayment") == []


async def test_refund_is_refused_to_anyone_but_admins(admin_world: World) -> None:
    app = admin_world.app
    alice = admin_world.student(ALICE, "Alice")
    await alice.send("/start")
    await record(app, PaymentSource.SCHOOL, "pay-1", ALICE, 100)
    await alice.send("/refund pay-1")
    assert alice.last is not None and alice.last.text == "Not allowed: only admins refund payments."
    assert (await purchase(app, "pay-1")).refunded_at is None
    assert await audit(app) == []


async def test_refund_answers_in_russian_to_a_russian_admin(admin_world: World) -> None:
    admin = admin_world.student(ADMIN, "Ада", language="ru")
    await admin.send("/refund nope")
    assert (
        admin.last is not None
        and "nope" in (admin.last.text or "")
        and "Ничего не изменилось" in (admin.last.text or "")
    )


def test_refund_command_line(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/refund.db"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ADMIN_IDS", "BOT_TOKEN")}
    env |= {"DATABASE_URL": url, "BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": "http://127.0.0.1:9"}

    def journeybot(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            env=env | extra,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

    async def a_school_purchase() -> None:
        app = App(Settings(bot_token=TOKEN, database_url=url, telegram_api_url="http://127.0.0.1:9", _env_file=None))
        try:
            await upgrade(app.engine)
            async with app.uow() as uow:
                student = Student(
                    telegram_id=ALICE,
                    first_name="Alice",
                    timezone="UTC",
                    created_at=app.clock.now(),
                    last_activity_at=app.clock.now(),
                )
                await uow.students.add(student)
                terms = PaymentTerms("club", 4500, "EUR", app.clock.now())
                await app.ledger.record(uow, Payment(PaymentSource.SCHOOL, "pay-9", terms), ByStudent(student.id))
                await uow.commit()
        finally:
            await app.close()

    asyncio.run(a_school_purchase())
    done = journeybot("refund", "pay-9")
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout
        == "refunded school payment pay-9: 45.00 EUR for club (recorded only: the school returns the money itself)\n"
    )
    again = journeybot("refund", "pay-9", "--source", "school")
    assert again.returncode == 1 and "already refunded" in again.stderr and "Traceback" not in again.stderr
    unknown = journeybot("refund", "nope")
    assert unknown.returncode == 1 and "no payment 'nope'" in unknown.stderr
    no_token = journeybot("refund", "pay-9", BOT_TOKEN="")
    assert no_token.returncode == 2 and "BOT_TOKEN" in no_token.stderr
