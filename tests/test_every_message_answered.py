"""Every private message gets an answer, however odd: nothing a student sends is met with silence."""

import logging

import pytest

from bot.standin import FakeUser
from tests.conftest import World

ODD_TEXTS = [
    "\u200f",  # right-to-left mark
    "\u202e",  # right-to-left override
    "\u202eevil\u202c",
    "\u200d",  # zero-width joiner
    "\u200b",
    "   ",
    "\n\t",
    "x" * 4096,
    "😀",
    "👩\u200d👩\u200d👧",
    "/",
    "/ ",
    "/start@otherbot",
    "/help@otherbot",
    "/cancel@otherbot",
    "/START",
    "/unknown",
    "/help " + "h" * 4090,
    "/progress " + "p" * 4086,
    "/start " + "s" * 4089,
    "<b>",
    "a\x00b",
]


async def answers_to(world: World, student: FakeUser, text: str) -> list[str]:
    before = world.standin.seq
    await student.send(text)
    return [m.text or "" for m in student.messages if m.seq > before]


async def unanswered(world: World, student: FakeUser) -> list[str]:
    return [repr(text[:30]) for text in ODD_TEXTS if not await answers_to(world, student, text)]


async def test_cancel_with_nothing_to_cancel_says_so(world: World) -> None:
    alice = world.student()
    assert await answers_to(world, alice, "/cancel") == ["There is nothing to cancel."]
    await alice.send("/start")
    assert await answers_to(world, alice, "/cancel") == ["There is nothing to cancel."]
    # the survey question is still there to answer
    assert await alice.click("Never") is None and "Question 2 of 4" in alice.last.text


async def test_odd_texts_are_answered_before_start_in_the_survey_and_on_the_course(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    alice = world.student()
    assert await unanswered(world, alice) == []
    await alice.send("/start")
    await alice.click("Never")
    await alice.click("Beginner")  # now at the free-text question
    assert await unanswered(world, alice) == []
    await alice.send("/start")
    await alice.click("Skip")
    await alice.click("This is my first time")  # on the course
    assert await unanswered(world, alice) == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
