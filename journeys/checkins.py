"""Outcome check-ins: questions some time after completion ("Has your shop made its first sale?"), each asked
once, outside quiet hours. Their answers are stored with the survey's, so an offer's on_answer can follow
them: after storing one, the bot asks journeys.offers.due_offers again.

Check-ins do not count against the weekly cap: there are a few, weeks apart, and the nudge ladder is over.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from journeys.journey import EnrollmentStatus, Journey
from journeys.nudges import Delivery
from journeys.spec import Checkin, Question
from journeys.timing import outside_quiet_hours


@dataclass(frozen=True)
class CheckinState:
    status: EnrollmentStatus
    completed_at: datetime | None
    delivery: Delivery  # time zone and quiet hours
    asked: frozenset[str] = frozenset()  # check-in ids already asked (queued or sent)
    blocked: bool = False


@dataclass(frozen=True)
class AskCheckin:
    checkin_id: str
    at: datetime  # now, or the end of the quiet hours


def due_checkins(journey: Journey, state: CheckinState, now: datetime) -> list[AskCheckin]:
    """Every check-in due by `now` and not yet asked, in the journey's order."""
    at = outside_quiet_hours(now, state.delivery.tz, state.delivery.quiet)
    return [AskCheckin(checkin.id, at) for checkin, due in _pending(journey, state) if due <= now]


def next_checkin_at(journey: Journey, state: CheckinState, now: datetime) -> datetime | None:
    """When the next check-in falls due after `now` (the enrollment's indexed due time); None: none left."""
    return min((due for _, due in _pending(journey, state) if due > now), default=None)


def _pending(journey: Journey, state: CheckinState) -> list[tuple[Checkin, datetime]]:
    if state.blocked or state.status is not EnrollmentStatus.COMPLETED or state.completed_at is None:
        return []
    completed_at = state.completed_at
    return [(c, completed_at + c.after) for c in journey.spec.checkins if c.id not in state.asked]


def find_checkin(journey: Journey, checkin_id: str) -> Checkin | None:
    return next((checkin for checkin in journey.spec.checkins if checkin.id == checkin_id), None)


def checkin_of(journey: Journey, question_id: str) -> Checkin | None:
    """The check-in that asks this question (question ids are unique across the survey and check-ins)."""
    return next((c for c in journey.spec.checkins if any(q.id == question_id for q in c.questions)), None)


def next_checkin_question(checkin: Checkin, answers: Mapping[str, Any]) -> Question | None:
    """A check-in resumes at its first question without a stored answer (a skipped one is stored as None)."""
    return next((question for question in checkin.questions if question.id not in answers), None)
