"""Offers in the running bot: each trigger reaching the student once, holdouts, quiet hours and the shared weekly
cap, deadlines and their reminder, Not now, forged presses, and a blocked student getting nothing."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.callbacks import OfferAction, OfferPress
from bot.db.models import OutboxMessage, OutboxStatus, Student
from bot.revenue.ledger import ByStudent, Payment, Recorded
from bot.standin import BotAPIStandIn
from journeys.clock import ManualClock
from journeys.events import EventType
from journeys.purchases import PaymentSource, PaymentTerms
from tests.conftest import World
from tests.offers_world import (
    drain,
    enrollment,
    events,
    finish_steps,
    offer,
    offers_bot,
    onboard,
    rows,
    shown,
    tick,
)

MSK = ZoneInfo("Europe/Moscow")
DAY = timedelta(days=1)


def buttons(message: Any) -> list[str]:
    return [text for row in message.buttons for text in row]


async def test_the_completion_offer_reaches_the_student_once_with_its_buttons(world: World) -> None:
    app = world.app
    alice = world.student()
    await onboard(alice)
    await finish_steps(alice)
    assert "You finished" in alice.last.text or "🎉" in alice.last.text
    queued = await rows(app, "offer")
    assert [row.key for row in queued] == [f"offer:{(await enrollment(app, alice)).id}:graduate-club"]
    assert await events(app, EventType.OFFER_SHOWN) == []  # queued, not shown yet

    await drain(app)
    club = alice.last
    assert "graduate club" in club.text
    # Stars and Not now; no checkout button without API_SECRET (its payment could not be attributed)
    assert buttons(club) == ["Join for 500 ⭐", "Not now"]
    assert [e.data["offer"] for e in await events(app, EventType.OFFER_SHOWN)] == ["graduate-club"]

    for _ in range(3):
        world.clock.advance(DAY)
        await tick(app)
    assert len(await rows(app, "offer")) == 1
    assert alice.last.message_id == club.message_id


async def test_not_now_removes_the_buttons_and_the_offer_never_comes_back(world: World) -> None:
    app = world.app
    alice = world.student()
    await onboard(alice)
    await finish_steps(alice)
    await drain(app)
    club = alice.last
    assert await alice.click(club, "Not now") == "OK, I will not offer it again."
    edited = world.standin.message(alice.id, club.message_id)
    assert edited.buttons == []
    enrollment_id = (await enrollment(app, alice)).id
    assert (await shown(app, enrollment_id))["graduate-club"].dismissed_at == world.clock.now()
    assert len(await events(app, EventType.OFFER_DISMISSED)) == 1

    # the same press again (an old client showing the buttons): changes nothing
    data = OfferPress(enrollment=enrollment_id, offer="graduate-club", act=OfferAction.DISMISS).pack()
    callback = world.standin.push_callback(alice, club.message_id, alice.id, data)
    await world.standin.settle()
    assert world.standin.callback_answers[callback].text == "This button is no longer active."
    assert len(await events(app, EventType.OFFER_DISMISSED)) == 1


async def test_forged_presses_are_answered_and_change_nothing(world: World) -> None:
    app = world.app
    alice, bob = world.student(), world.student(1002, "Bob")
    await onboard(alice)
    await finish_steps(alice)
    await drain(app)
    await onboard(bob)
    alice_enrollment = (await enrollment(app, alice)).id

    async def press(who: Any, enrollment_id: int, offer_id: str, act: OfferAction) -> str | None:
        data = OfferPress(enrollment=enrollment_id, offer=offer_id, act=act).pack()
        callback = world.standin.push_callback(who, who.last.message_id, who.id, data)
        await world.standin.settle()
        answer = world.standin.callback_answers.get(callback)
        return answer.text if answer else None

    assert await press(bob, alice_enrollment, "graduate-club", OfferAction.DISMISS) == "This button is not yours."
    # never shown to Alice (a check-in answer brings it), and an offer the journey does not have
    assert await press(alice, alice_enrollment, "mentor-call", OfferAction.LEAD) == "This button is no longer active."
    assert await press(alice, alice_enrollment, "nope", OfferAction.DISMISS) == "This button is no longer active."
    # a lead press on an offer that is not a lead
    assert await press(alice, alice_enrollment, "graduate-club", OfferAction.LEAD) == "This button is no longer active."
    state = (await shown(app, alice_enrollment))["graduate-club"]
    assert (state.dismissed_at, state.lead_at) == (None, None)
    assert await events(app, EventType.OFFER_DISMISSED) == [] and await events(app, EventType.OFFER_LEAD) == []


def step_offers(spec: dict[str, Any]) -> None:
    spec["schedule"]["weekly_cap"] = 10
    base = {"grants": {"mentor_days": 7}, "price": {"stars": 100}}
    spec["offers"] = [
        {"id": "after-setup", "when": {"after_step": "setup"}, "text": "After setup", **base},
        {"id": "half", "when": {"at_percent": 60}, "text": "Past half", **base},
        {"id": "basics", "when": {"after_stage": "basics"}, "text": "Basics done", **base},
        {"id": "later", "when": {"days_after_completion": "3d"}, "text": "Three days on", **base},
    ]


async def test_each_trigger_reaches_the_student_when_it_is_met(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock, tmp_path: Path
) -> None:
    async with offers_bot(database_url, standin, clock, tmp_path, step_offers) as app:
        alice = standin.user(1001, "Alice", language_code="en")
        await onboard(alice)

        async def offered() -> list[str]:
            return [row.payload["offer_id"] for row in await rows(app, "offer")]

        await finish_steps(alice, 1)
        assert await offered() == []
        await finish_steps(alice, 1)  # setup
        assert await offered() == ["after-setup"]
        await finish_steps(alice, 1)  # variables: 3 of 5 = 60%, and the basics stage
        assert await offered() == ["after-setup", "half", "basics"]
        await finish_steps(alice, 2)  # completed: the delayed one waits
        assert await offered() == ["after-setup", "half", "basics"]
        completed = await enrollment(app, alice)
        assert completed.next_offer_at == clock.now() + 3 * DAY

        clock.advance(3 * DAY - timedelta(minutes=1))
        await tick(app)
        assert len(await offered()) == 3
        clock.advance(timedelta(minutes=1))
        await tick(app)
        assert await offered() == ["after-setup", "half", "basics", "later"]
        assert "Three days on" in alice.last.text
        # nothing timed is left of the offers: the next moment is the check-in's, 30 days after completion
        assert (await enrollment(app, alice)).next_offer_at == completed.completed_at + 30 * DAY


def held_out_everyone(spec: dict[str, Any]) -> None:
    offer(spec, "graduate-club")["holdout_percent"] = 100


async def test_a_held_out_enrollment_never_sees_the_offer(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock, tmp_path: Path
) -> None:
    async with offers_bot(database_url, standin, clock, tmp_path, held_out_everyone) as app:
        alice = standin.user(1001, "Alice", language_code="en")
        await onboard(alice)
        await finish_steps(alice)
        clock.advance(DAY)
        await tick(app)
        assert await rows(app, "offer") == []


async def test_an_offer_due_at_night_waits_for_the_morning(world: World) -> None:
    app = world.app
    alice = world.student()
    await onboard(alice)
    await finish_steps(alice, 4)
    world.clock.set(datetime(2026, 11, 20, 23, 30, tzinfo=MSK))
    await finish_steps(alice, 1)
    (queued,) = await rows(app, "offer")
    assert queued.due_at == datetime(2026, 11, 21, 9, 0, tzinfo=MSK)


async def test_offers_share_the_weekly_cap_with_the_reminders(world: World) -> None:
    app = world.app
    alice = world.student()
    await onboard(alice)
    await finish_steps(alice, 4)
    now = world.clock.now()
    async with app.uow() as uow:
        student = await uow.students.by_telegram_id(alice.id)
        assert student is not None
        for n, ago in enumerate((6 * DAY, 3 * DAY, DAY)):  # three reminders this week: the cap (3) is full
            uow.session.add(
                OutboxMessage(
                    key=f"nudge:test:{n}",
                    kind="nudge",
                    chat_id=alice.id,
                    student_id=student.id,
                    payload={"messages": [{"method": "send_message", "text": "reminder"}]},
                    status=OutboxStatus.SENT,
                    due_at=now - ago,
                    created_at=now - ago,
                )
            )
        await uow.commit()
    await finish_steps(alice, 1)
    (queued,) = await rows(app, "offer")
    assert queued.due_at == now + DAY  # the oldest reminder leaves the week's window


def closing_soon(spec: dict[str, Any]) -> None:
    club = offer(spec, "graduate-club")
    club["deadline"] = "2026-12-01T12:00:00+03:00"
    club["deadline_reminder"] = "2d"
    club["holdout_percent"] = 0


async def test_a_deadline_brings_one_reminder_and_then_the_offer_is_gone(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock, tmp_path: Path
) -> None:
    async with offers_bot(database_url, standin, clock, tmp_path, closing_soon) as app:
        alice = standin.user(1001, "Alice", language_code="en")
        await onboard(alice)
        await finish_steps(alice)
        await drain(app)
        remind_at = datetime(2026, 11, 29, 12, 0, tzinfo=MSK)
        assert (await enrollment(app, alice)).next_offer_at == remind_at

        clock.set(remind_at)
        await tick(app)
        (reminder,) = await rows(app, "offer_reminder")
        assert reminder.key == f"offer-reminder:{(await enrollment(app, alice)).id}:graduate-club"
        assert "closes its doors in two days" in alice.last.text
        assert "Join for 500 ⭐" in buttons(alice.last)
        clock.advance(DAY)
        await tick(app)
        assert len(await rows(app, "offer_reminder")) == 1
        done = await enrollment(app, alice)
        assert done.completed_at is not None and done.next_offer_at == done.completed_at + 30 * DAY  # the check-in


async def test_a_dismissed_offer_gets_no_reminder(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock, tmp_path: Path
) -> None:
    async with offers_bot(database_url, standin, clock, tmp_path, closing_soon) as app:
        alice = standin.user(1001, "Alice", language_code="en")
        await onboard(alice)
        await finish_steps(alice)
        await drain(app)
        await alice.click(alice.last, "Not now")
        clock.set(datetime(2026, 11, 29, 12, 0, tzinfo=MSK))
        await tick(app)
        assert await rows(app, "offer_reminder") == []


def later_offer(spec: dict[str, Any]) -> None:
    offer(spec, "graduate-club")["when"] = {"days_after_completion": "2d"}


async def test_a_student_who_blocked_the_bot_gets_nothing(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock, tmp_path: Path
) -> None:
    async with offers_bot(database_url, standin, clock, tmp_path, later_offer) as app:
        alice = standin.user(1001, "Alice", language_code="en")
        await onboard(alice)
        await finish_steps(alice)
        async with app.uow() as uow:
            student = await uow.session.scalar(select(Student).where(Student.telegram_id == alice.id))
            assert student is not None
            student.blocked_at = clock.now()
            await uow.commit()
        clock.advance(40 * DAY)  # past the offer's delay and the check-in's
        await tick(app)
        assert await rows(app, "offer") == [] and await rows(app, "checkin") == []
        assert (await enrollment(app, alice)).next_offer_at is None


async def test_the_completion_time_is_the_journey_clock(world: World) -> None:
    alice = world.student()
    await onboard(alice)
    await finish_steps(alice)
    (queued,) = await rows(world.app, "offer")
    assert queued.due_at == world.clock.now()
    assert queued.due_at.tzinfo is not None and queued.due_at.astimezone(UTC) == world.clock.now()


async def test_buying_the_product_cancels_its_offer_still_waiting_for_the_morning(world: World) -> None:
    app = world.app
    alice = world.student()
    await onboard(alice)
    await finish_steps(alice, 4)
    world.clock.set(datetime(2026, 11, 20, 23, 30, tzinfo=MSK))
    await finish_steps(alice, 1)
    (queued,) = await rows(app, "offer")  # the club offer, due at 09:00
    async with app.uow() as uow:  # the school's checkout sold her the club that night
        student = await uow.students.by_telegram_id(alice.id)
        assert student is not None
        terms = PaymentTerms("club", 99_000, "RUB", world.clock.now())
        recorded = await app.ledger.record(uow, Payment(PaymentSource.SCHOOL, "night-1", terms), ByStudent(student.id))
        assert isinstance(recorded, Recorded) and recorded.applied
        await uow.commit()
    (cancelled,) = await rows(app, "offer")
    assert (cancelled.id, cancelled.status, cancelled.last_error) == (
        queued.id,
        OutboxStatus.CANCELLED,
        "the student bought it",
    )
