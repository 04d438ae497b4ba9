"""Outcome check-ins (journeys/checkins.py) on plain data: asked once each, `after` the completion, outside
quiet hours; their questions resume where the student left off. No database, no bot."""

from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.settings import SHIPPED_JOURNEYS
from journeys.checkins import (
    AskCheckin,
    CheckinState,
    checkin_of,
    due_checkins,
    find_checkin,
    next_checkin_at,
    next_checkin_question,
)
from journeys.journey import EnrollmentStatus
from journeys.loader import load_journey, parse_journey
from journeys.nudges import Delivery
from journeys.timing import QuietHours

MSK = ZoneInfo("Europe/Moscow")
DAY = timedelta(days=1)
COMPLETED_AT = datetime(2026, 11, 2, 15, 0, tzinfo=MSK)
STORE = load_journey(SHIPPED_JOURNEYS / "online_store.ru.yaml")  # two-weeks: 14 days after completion
DONE = CheckinState(EnrollmentStatus.COMPLETED, COMPLETED_AT, Delivery(MSK, QuietHours(time(22), time(9))))


def test_a_check_in_falls_due_its_delay_after_completion() -> None:
    due = COMPLETED_AT + 14 * DAY
    assert due_checkins(STORE, DONE, due - timedelta(seconds=1)) == []
    assert next_checkin_at(STORE, DONE, COMPLETED_AT) == due
    assert due_checkins(STORE, DONE, due) == [AskCheckin("two-weeks", due)]
    assert due_checkins(STORE, DONE, due + 3 * DAY) == [AskCheckin("two-weeks", due + 3 * DAY)]  # a late tick


def test_a_check_in_due_at_night_is_asked_in_the_morning() -> None:
    night = datetime(2026, 11, 16, 23, 0, tzinfo=MSK)
    assert due_checkins(STORE, DONE, night) == [AskCheckin("two-weeks", datetime(2026, 11, 17, 9, 0, tzinfo=MSK))]


def test_each_check_in_is_asked_once() -> None:
    asked = replace(DONE, asked=frozenset({"two-weeks"}))
    assert due_checkins(STORE, asked, COMPLETED_AT + 30 * DAY) == []
    assert next_checkin_at(STORE, asked, COMPLETED_AT) is None


@pytest.mark.parametrize(
    "who",
    [
        replace(DONE, status=EnrollmentStatus.ACTIVE, completed_at=None),
        replace(DONE, status=EnrollmentStatus.DROPPED),
        replace(DONE, blocked=True),
    ],
    ids=["not-completed", "dropped", "blocked"],
)
def test_only_graduates_who_can_be_reached_are_asked(who: CheckinState) -> None:
    assert due_checkins(STORE, who, COMPLETED_AT + 30 * DAY) == []
    assert next_checkin_at(STORE, who, COMPLETED_AT) is None


def test_several_check_ins_come_in_the_journeys_order_each_at_its_time() -> None:
    text = (SHIPPED_JOURNEYS / "online_store.ru.yaml").read_text(encoding="utf-8")
    later = (
        '  - id: two-months\n    after: 60d\n    questions:\n      - {id: selling, text: "Продаёте?", input: text}\n'
    )
    journey = parse_journey(text + later, "store.yaml")
    assert next_checkin_at(journey, DONE, COMPLETED_AT + 20 * DAY) == COMPLETED_AT + 60 * DAY
    at = COMPLETED_AT + 61 * DAY
    assert [ask.checkin_id for ask in due_checkins(journey, DONE, at)] == ["two-weeks", "two-months"]


def test_a_check_in_resumes_at_its_first_unanswered_question() -> None:
    checkin = find_checkin(STORE, "two-weeks")
    assert checkin is not None and find_checkin(STORE, "nope") is None
    first, second = checkin.questions
    assert next_checkin_question(checkin, {"experience": "none"}) is first  # survey answers do not count
    assert next_checkin_question(checkin, {"first_sale": "sold"}) is second
    assert next_checkin_question(checkin, {"first_sale": "sold", "revenue": None}) is None  # skipped is answered


def test_an_answer_finds_its_check_in() -> None:
    assert checkin_of(STORE, "revenue") is find_checkin(STORE, "two-weeks")
    assert checkin_of(STORE, "experience") is None  # a survey question
