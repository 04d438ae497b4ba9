"""Outcome check-ins through the outbox, the offers that follow their answers, sales leads in the curator desk,
and Learn more's signed redirect and the checkout link's student token."""

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.callbacks import CheckinAnswer
from bot.db.models import Alert, AlertKind, AlertStatus, CheckinAsked
from bot.standin import BotAPIStandIn
from journeys.clock import ManualClock
from journeys.events import EventType
from tests.conftest import World
from tests.curator_world import BOB, CAROL_CURATOR, GROUP
from tests.offers_world import drain, enrollment, events, finish_steps, offer, offers_bot, onboard, rows, shown, tick

DAY = timedelta(days=1)


async def test_a_check_in_is_asked_after_completion_one_question_at_a_time_and_its_answer_brings_an_offer(
    world: World,
) -> None:
    app = world.app
    alice = world.student()
    await onboard(alice)
    await finish_steps(alice)
    await drain(app)
    enrollment_id = (await enrollment(app, alice)).id
    world.clock.advance(30 * DAY - timedelta(minutes=1))
    await tick(app)
    assert await rows(app, "checkin") == []

    world.clock.advance(timedelta(minutes=1))
    await tick(app)
    first = alice.last
    assert "A month since you finished the course" in first.text and "Do you write Python at work now?" in first.text
    assert len(await events(app, EventType.CHECKIN_ASKED)) == 1
    await tick(app)
    assert len(await rows(app, "checkin")) == 1  # asked once

    assert await alice.click(first, "Not yet") == "Counted ✓"
    assert "✓ Not yet" in app_message(world, alice.id, first.message_id)
    await drain(app)
    # the answer brought the lead offer (novice track), and the next question came through the outbox
    assert [row.key for row in await rows(app, "checkin")][-1] == f"checkin:{enrollment_id}:one-month:hours-a-week"
    assert [row.payload["offer_id"] for row in await rows(app, "offer")] == ["graduate-club", "mentor-call"]
    texts = [m.text for m in alice.messages[-2:]]
    assert any("How many hours a week" in text for text in texts)
    assert any("A mentor can help" in text for text in texts)

    await alice.send("lots")
    assert alice.last.text == "Write a number of hours, e.g. 5."
    await alice.send("12")
    assert alice.last.text == "Thank you for your answers!"
    answers = (await enrollment(app, alice)).answers
    assert (answers["python-at-work"], answers["hours-a-week"]) == ("not-yet", "12")
    assert [e.data["question"] for e in await events(app, EventType.CHECKIN_ANSWERED)] == [
        "python-at-work",
        "hours-a-week",
    ]
    async with app.uow() as uow:
        asked = await uow.session.scalar(select(CheckinAsked))
        assert asked is not None and asked.finished_at == world.clock.now()

    # the check-in is over: free text goes back to the course's own answers
    await alice.send("hello")
    assert "Thank you" not in alice.last.text
    # an old press on the answered question (its buttons are gone, but a client may still send one)
    data = CheckinAnswer(enrollment=enrollment_id, checkin=0, question=0, option=0).pack()
    callback = world.standin.push_callback(alice, first.message_id, alice.id, data)
    await world.standin.settle()
    assert world.standin.callback_answers[callback].text == "You have already answered this question."
    assert (await enrollment(app, alice)).answers["python-at-work"] == "not-yet"


def app_message(world: World, chat_id: int, message_id: int) -> str:
    message = world.standin.message(chat_id, message_id)
    assert message is not None and message.text is not None
    return message.text


async def test_a_lead_without_a_curator_chat_is_recorded_and_the_student_told(world: World) -> None:
    app = world.app
    alice = world.student()
    await onboard(alice)
    await finish_steps(alice)
    world.clock.advance(30 * DAY)
    await tick(app)
    await alice.click(alice.last, "Not yet")
    await drain(app)
    lead = next(m for m in reversed(alice.messages) if "A mentor can help" in (m.text or ""))
    await alice.click(lead, "Talk to a curator")
    assert alice.last.text == "✓ Thank you! The school will contact you soon."
    assert [e.data["offer"] for e in await events(app, EventType.OFFER_LEAD)] == ["mentor-call"]
    assert (await shown(app, (await enrollment(app, alice)).id))["mentor-call"].lead_at == world.clock.now()
    await alice.click(lead, "Talk to a curator")
    assert len(await events(app, EventType.OFFER_LEAD)) == 1


def lead_after_survey(spec: dict[str, Any]) -> None:
    offer(spec, "mentor-call")["when"] = {"on_answer": {"experience": ["none"]}}


async def test_a_lead_reaches_the_curator_group_with_take_and_resolved(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock, tmp_path: Path
) -> None:
    standin.group(GROUP, "Curators", is_forum=False, members={BOB: "member", CAROL_CURATOR: "administrator"})
    bob = standin.user(BOB, "Bob", language_code="en")
    async with offers_bot(database_url, standin, clock, tmp_path, lead_after_survey, curator_chat_id=GROUP) as app:
        alice = standin.user(1001, "Alice", language_code="en", last_name="Smith", username="alice")
        await onboard(alice)  # "Never": the survey's answer brings the lead offer
        await drain(app)
        lead = next(m for m in reversed(alice.messages) if "A mentor can help" in (m.text or ""))
        await alice.click(lead, "Talk to a curator")
        assert alice.last.text == "✓ Passed on: a curator will write to you here soon."
        await drain(app)
        (card,) = [m for m in standin.messages_in(GROUP) if m.from_bot]
        assert "Sales lead: offer Not writing Python at work yet? A mentor can help" in card.text  # its first line
        assert "experience → Never" in card.text  # the student's answers
        assert [b for row in card.buttons for b in row] == ["🙋 Take", "✍️ Write to student", "✅ Resolved"]
        async with app.uow() as uow:
            alert = await uow.session.scalar(select(Alert))
            assert alert is not None and (alert.kind, alert.offer_id) == (AlertKind.LEAD, "mentor-call")

        async def status() -> AlertStatus:
            async with app.uow() as uow:
                alert = await uow.session.scalar(select(Alert))
                assert alert is not None
                return alert.status

        await finish_steps(alice, 1)
        assert await status() is AlertStatus.OPEN  # progress resolves a stall alert, never a lead
        assert await bob.click(card, "🙋 Take") == "Taken ✓ The student is yours."
        assert await bob.click(card, "✅ Resolved") == "Resolved ✓"
        assert await status() is AlertStatus.RESOLVED
        again = await alice.click(lead, "Talk to a curator")
        assert again == "Your request is already with the school: they will contact you soon."
        assert len([m for m in standin.messages_in(GROUP) if m.from_bot]) == 1


def with_link(spec: dict[str, Any]) -> None:
    club = offer(spec, "graduate-club")
    club["link"] = {"text": "About the club", "url": "https://example.com/club"}
    club["holdout_percent"] = 0


async def test_learn_more_redirects_and_records_the_click_and_the_checkout_link_carries_a_token(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock, tmp_path: Path
) -> None:
    settings = {"api_secret": "s3cret", "public_url": "https://bot.school.example"}
    async with offers_bot(database_url, standin, clock, tmp_path, with_link, **settings) as app:
        alice = standin.user(1001, "Alice", language_code="en")
        await onboard(alice)
        await finish_steps(alice)
        await drain(app)
        club = alice.last
        assert [b for row in club.buttons for b in row] == [
            "Join for 500 ⭐",
            "Pay on the school's site",
            "About the club",
            "Not now",
        ]
        urls = {b["text"]: b.get("url") for row in club.rows() for b in row}
        checkout = urlsplit(urls["Pay on the school's site"])
        assert checkout.netloc == "example.com" and checkout.path == "/checkout/graduate-club"
        token = app.tokens.read(parse_qs(checkout.query)["student_token"][0], clock.now()) if app.tokens else None
        enrolled = await enrollment(app, alice)
        assert token is not None
        assert (token.student_id, token.enrollment_id, token.offer_id) == (
            enrolled.student_id,
            enrolled.id,
            "graduate-club",
        )

        learn = urlsplit(urls["About the club"])
        assert learn.netloc == "bot.school.example" and learn.path.startswith("/r/")
        async with TestClient(TestServer(app.web_app())) as client:
            for _ in range(2):
                response = await client.get(learn.path, allow_redirects=False)
                assert response.status == 302 and response.headers["Location"] == "https://example.com/club"
            forged = learn.path[:-3] + ("AAA" if not learn.path.endswith("AAA") else "BBB")
            assert (await client.get(forged, allow_redirects=False)).status == 404
        assert len(await events(app, EventType.OFFER_CLICKED)) == 1  # the first click counts
        assert (await shown(app, enrolled.id))["graduate-club"].clicked_at == clock.now()
