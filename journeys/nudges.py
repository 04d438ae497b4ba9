"""The nudge ladder: which reminder an idle student gets, when it reaches them, and when the ladder runs out.

An idle spell starts when the course starts and again at every progress. Rung k of the journey's `nudges`
falls due `nudges[k].after` into the spell and is delivered at the student's study slot, or else outside
quiet hours. At most `weekly_cap` reminders go in any seven days: one more waits until the oldest leaves
the window. After the last rung the student has LADDER_GRACE to react before the curators hear.

Pure functions of plain state; bot/services/engagement.py loads the state, calls them and stores the result.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from journeys.decisions import ShowNudge
from journeys.journey import Journey
from journeys.progress import Progress
from journeys.spec import Nudge, Stall
from journeys.stalls import PaceState, stall_deadline
from journeys.timing import QuietHours, deliver_at

LADDER_GRACE = timedelta(days=1)  # after the last nudge, a day to react before the curators hear
WEEK = timedelta(days=7)  # the weekly cap's window


@dataclass(frozen=True)
class Delivery:
    """When a proactive message may reach the student: their time zone, quiet hours and study plan."""

    tz: ZoneInfo
    quiet: QuietHours | None
    study_days: frozenset[int] | None = None  # ISO weekdays; None with a study time: every day
    study_time: time | None = None  # local; None: any time outside quiet hours

    def at(self, due: datetime) -> datetime:
        return deliver_at(due, self.tz, self.quiet, self.study_days, self.study_time)


@dataclass(frozen=True)
class LadderState:
    rung: int  # reminders already sent in this idle spell
    spell_start: datetime  # the last progress, or the start of the course
    next_at: datetime | None  # when the next rung falls due; None: no reminder is planned
    stall_at: datetime | None  # the stall deadline as it stands
    holdout: bool = False  # kept out of reminders, to measure what they change
    blocked: bool = False  # the student blocked the bot


@dataclass(frozen=True)
class IdleSpell:
    """A fresh idle spell: the ladder back at its first rung, and the stall deadline from now on."""

    next_nudge_at: datetime | None  # the first rung; None: no reminders in this spell
    stall_at: datetime | None
    rung: int = 0


@dataclass(frozen=True)
class NextRung:
    at: datetime  # when the next reminder falls due, if the student is still idle then


@dataclass(frozen=True)
class LadderExhausted:
    """The last reminder is going: unless the student reacts, they count as stalled by `stall_by`."""

    stall_by: datetime


@dataclass(frozen=True)
class NudgeDue:
    rung: int
    at: datetime  # the delivery moment: the student's study slot, or the end of quiet hours
    then: NextRung | LadderExhausted


@dataclass(frozen=True)
class NudgePostponed:
    """The weekly cap is full: the reminder waits until the oldest one leaves the seven-day window."""

    until: datetime


@dataclass(frozen=True)
class LadderDone:
    """No reminder will go in this spell: every rung went, the student is held out or blocked the bot."""


LadderStep = NudgeDue | NudgePostponed | LadderDone


def new_idle_spell(
    now: datetime, nudges: Sequence[Nudge], *, holdout: bool, pace: PaceState | None, every: timedelta, stall: Stall
) -> IdleSpell:
    """The course started or the student progressed. `pace` is None once the course is completed."""
    if pace is None:
        return IdleSpell(next_nudge_at=None, stall_at=None)
    first = None if holdout or not nudges else now + nudges[0].after
    return IdleSpell(next_nudge_at=first, stall_at=stall_deadline(pace, every, stall))


def weekly_cap(cap: int | None, capped_sends: Collection[datetime], now: datetime) -> NudgePostponed | None:
    """None when one more reminder fits the seven days before `now`; else how long it has to wait.

    `capped_sends` are the due times of the reminders queued or sent (those waiting for their slot count too).
    """
    if cap is None:
        return None
    window = [due for due in capped_sends if due > now - WEEK]
    if len(window) < cap:
        return None
    return NudgePostponed(min(window) + WEEK)


def decide_nudge(
    nudges: Sequence[Nudge],
    state: LadderState,
    now: datetime,
    delivery: Delivery,
    *,
    cap: int | None,
    capped_sends: Collection[datetime],
) -> LadderStep | None:
    """What the ladder does at `now`: None while no rung is due yet."""
    if state.next_at is None or now < state.next_at:
        return None
    if state.blocked or state.holdout or state.rung >= len(nudges):
        return LadderDone()
    postponed = weekly_cap(cap, capped_sends, now)
    if postponed is not None:
        return postponed
    at = delivery.at(now)
    rung = state.rung
    if rung + 1 < len(nudges):
        return NudgeDue(rung, at, NextRung(state.spell_start + nudges[rung + 1].after))
    # the ladder ran out: if the last reminder does not help, the curators hear of it
    last_chance = at + LADDER_GRACE
    return NudgeDue(rung, at, LadderExhausted(min(state.stall_at or last_chance, last_chance)))


def ladder_exhausted(nudges: Sequence[Nudge], rung: int) -> bool:
    """Every reminder of the ladder went in this idle spell (a stall reason)."""
    return bool(nudges) and rung >= len(nudges)


def nudge_message(
    journey: Journey, track_id: str, completed: set[str], rung: int, enrollment_id: int, *, curators: bool
) -> ShowNudge:
    """The reminder as the student sees it: where they stand, what comes next, and the curator button only
    when this rung offers it and a curator group is there."""
    nudge = journey.spec.nudges[rung]
    progress = Progress(journey.done_count(track_id, completed), len(journey.track(track_id).steps))
    next_step = journey.next_step(track_id, completed)
    return ShowNudge(enrollment_id, nudge, progress, next_step, offer_curator=curators and nudge.offer_curator)
