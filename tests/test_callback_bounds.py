"""Forged button presses: numbers beyond what the columns hold are refused at parsing and answered politely."""

import logging

import pytest

from bot.broadcasts.callbacks import WizardAction, WizardButton
from bot.callbacks import Done
from bot.standin import BotAPIStandIn, FakeUser
from journeys.clock import ManualClock
from tests.conftest import World, make_settings, running_bot

ADMIN = 9001
GROUP = -100555
INT4 = 2**31  # one past PostgreSQL's integer
INT8 = 2**63  # one past BIGINT, and SQLite's INTEGER
OUT_OF_DATE = "This button is no longer active."


async def press(world: World, who: FakeUser, chat_id: int, data: str) -> str | None:
    # presses come only from the bot's messages: a message a person typed has no buttons to press
    message = [m for m in world.standin.messages_in(chat_id) if m.from_bot][-1]
    callback_id = world.standin.push_callback(who, message.message_id, chat_id, data)
    await world.standin.settle()
    answer = world.standin.callback_answers.get(callback_id)
    return answer.text if answer else "(never answered)"


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


async def test_forged_numbers_on_student_buttons_are_answered_as_out_of_date(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    alice = world.student()
    await alice.send("/start")
    forged = [
        *(f"a:{n}:0:0" for n in (INT4, INT8, 10**30, -INT4 - 1)),
        f"a:1:{INT8}:0",
        f"a:1:0:{INT8}",
        f"k:{INT4}:2",
        f"d:{INT4}:0",
        f"d:{INT8}:0",
        f"d:1:{INT8}",
        f"r:{INT4}",
        f"r:{INT8}",
        f"q:{INT8}",
    ]
    answers = {data: await press(world, alice, alice.id, data) for data in forged}
    assert answers == dict.fromkeys(forged, OUT_OF_DATE)
    assert errors(caplog) == []


async def test_forged_numbers_on_staff_and_curator_buttons_are_answered_as_out_of_date(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    standin.group(GROUP, "Curators", members={ADMIN: "administrator"})
    settings = make_settings(database_url, standin, admin_ids=str(ADMIN), curator_chat_id=GROUP)
    async with running_bot(settings, clock) as app:
        world = World(app, standin, clock)
        admin = world.student(ADMIN, "Ada")
        await admin.send("/staff")
        await app.bot.send_message(GROUP, "A message of the bot's in the group to press on")
        in_private = [f"sr:{INT8}:care", f"sr:{10**30}:-", f"bw:{INT4}:drop", f"bw:{INT8}:stop", f"bw:1:o:{INT8}:0"]
        in_group = [f"al:{INT4}:take", f"al:{INT8}:done"]
        answers = {data: await press(world, admin, admin.id, data) for data in in_private}
        answers |= {data: await press(world, admin, GROUP, data) for data in in_group}
        assert answers == dict.fromkeys(in_private + in_group, OUT_OF_DATE)
        # in range, but past the end of the wizard's menus: refused before any list is indexed
        await admin.send("/broadcast")  # draft #1, at its segment menu
        past_the_end = [
            WizardButton(broadcast=1, action=WizardAction.STATUS, index=99).pack(),
            WizardButton(broadcast=1, action=WizardAction.TRACK, index=99).pack(),
            WizardButton(broadcast=1, action=WizardAction.QUESTION, index=99).pack(),
            WizardButton(broadcast=1, action=WizardAction.OPTION, option=99).pack(),
        ]
        answers = {data: await press(world, admin, admin.id, data) for data in past_the_end}
        assert answers == dict.fromkeys(past_the_end, "That button belongs to an earlier step.")
        assert errors(caplog) == []


async def test_a_done_pressed_on_another_message_counts_and_brings_the_next_step(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    alice = world.student()
    await alice.send("/start")
    for answer in ("Never", "Beginner", "Skip", "This is my first time"):
        await alice.click(answer)
    assert "Step 1 of 5" in alice.last.text
    # a modified client sends step 1's Done from the welcome message, which has no buttons to take away
    welcome = alice.messages[0]
    callback_id = world.standin.push_callback(alice, welcome.message_id, alice.id, Done(enrollment=1, step=0).pack())
    await world.standin.settle()
    assert world.standin.callback_answers[callback_id].text == "Counted ✓"
    assert "Step 2 of 5" in alice.last.text
    assert errors(caplog) == []
