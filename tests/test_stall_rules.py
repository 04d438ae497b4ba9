"""When a student counts as stalled, and why (journeys/stalls.py), on plain data: no database, no bot."""

import json
from datetime import UTC, datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from journeys.spec import Stall
from journeys.stalls import PaceState, Stalled, StallReasons, check_stall, stall_deadline, stall_reasons

PLAIN = settings(max_examples=150, deadline=None, derandomize=True, database=None)
TICK = timedelta(microseconds=1)
DAY = timedelta(days=1)
START = datetime(2026, 11, 2, 7, tzinfo=UTC)

# a journey's durations go up to 366 days; the long ones get their own share, where rounding would show
durations = (
    st.integers(min_value=1, max_value=366 * 86400) | st.integers(min_value=300 * 86400, max_value=366 * 86400)
).map(lambda s: timedelta(seconds=s))
stalls = st.builds(Stall, idle=durations, behind=st.integers(min_value=1, max_value=1000))


@st.composite
def paces(draw: st.DrawFn) -> PaceState:
    total = draw(st.integers(min_value=1, max_value=60) | st.integers(min_value=1000, max_value=2000))
    started = START + timedelta(seconds=draw(st.integers(min_value=0, max_value=5 * 365 * 86400)))
    progressed = draw(st.none() | st.integers(min_value=0, max_value=400 * 86400))
    return PaceState(
        started_at=started,
        last_progress_at=None if progressed is None else started + timedelta(seconds=progressed),
        done=draw(st.integers(min_value=0, max_value=total - 1)),
        total=total,
    )


def idle_crossed(state: PaceState, stall: Stall, now: datetime) -> bool:
    return now - state.idle_since >= stall.idle


@PLAIN
@given(paces(), durations, stalls)
# a long course at the longest pace: steps expected by a moment must not be counted by float division
@example(
    PaceState(START, START + 1049 * 366 * DAY, done=1000, total=1100),
    366 * DAY,
    Stall(idle=366 * DAY, behind=50),
)
def test_at_the_deadline_a_reason_holds_and_just_before_none_does(
    state: PaceState, pace: timedelta, stall: Stall
) -> None:
    deadline = stall_deadline(state, pace, stall)
    assert deadline is not None  # the course is not done
    at = stall_reasons(state, pace, deadline, ladder_exhausted=False)
    assert at.behind_steps >= stall.behind or idle_crossed(state, stall, deadline)
    if idle_crossed(state, stall, deadline):
        assert at.idle_days >= round(stall.idle / DAY, 1)  # what the card shows agrees
    before = stall_reasons(state, pace, deadline - TICK, ladder_exhausted=False)
    assert before.behind_steps < stall.behind
    assert not idle_crossed(state, stall, deadline - TICK)


@PLAIN
@given(paces(), durations, stalls, st.integers(min_value=0, max_value=3 * 366 * 86400))
def test_reasons_only_grow_while_nothing_happens(state: PaceState, pace: timedelta, stall: Stall, wait: int) -> None:
    deadline = stall_deadline(state, pace, stall)
    assert deadline is not None
    at = stall_reasons(state, pace, deadline, ladder_exhausted=False)
    later = stall_reasons(state, pace, deadline + timedelta(seconds=wait), ladder_exhausted=False)
    assert later.idle_days >= at.idle_days and later.behind_steps >= at.behind_steps
    assert later.behind_steps <= state.total - state.done  # never behind by more steps than are left


@PLAIN
@given(paces(), durations, stalls)
def test_nobody_is_stalled_after_the_last_step(state: PaceState, pace: timedelta, stall: Stall) -> None:
    finished = PaceState(state.started_at, state.last_progress_at, done=state.total, total=state.total)
    assert stall_deadline(finished, pace, stall) is None


@PLAIN
@given(paces(), durations, stalls, st.booleans())
def test_check_stall_fires_from_the_stored_deadline_on(
    state: PaceState, pace: timedelta, stall: Stall, exhausted: bool
) -> None:
    deadline = stall_deadline(state, pace, stall)
    assert deadline is not None
    assert check_stall(deadline, state, pace, deadline - TICK, ladder_exhausted=exhausted) is None
    stalled = check_stall(deadline, state, pace, deadline, ladder_exhausted=exhausted)
    assert isinstance(stalled, Stalled)
    assert stalled.reasons == stall_reasons(state, pace, deadline, ladder_exhausted=exhausted)
    assert stalled.reasons.ladder_exhausted is exhausted


def test_no_deadline_no_stall() -> None:
    state = PaceState(started_at=START, last_progress_at=None, done=0, total=5)
    assert check_stall(None, state, timedelta(weeks=1), START + 1000 * DAY, ladder_exhausted=True) is None


def test_idle_days_are_rounded_to_a_tenth() -> None:
    state = PaceState(started_at=START, last_progress_at=START + DAY, done=1, total=5)
    reasons = stall_reasons(state, timedelta(weeks=1), START + DAY + timedelta(hours=80), ladder_exhausted=False)
    assert reasons.idle_days == 3.3


def test_behind_by_the_pace_counted_from_the_start_not_from_the_last_progress() -> None:
    # three weeks in at a week a step, one step done: two behind, though she progressed yesterday
    state = PaceState(started_at=START, last_progress_at=START + 20 * DAY, done=1, total=5)
    assert stall_reasons(state, timedelta(weeks=1), START + 21 * DAY, ladder_exhausted=False).behind_steps == 2


def test_reasons_are_stored_under_the_keys_old_rows_have() -> None:
    reasons = StallReasons(idle_days=9.5, behind_steps=3, ladder_exhausted=True)
    stored = {"idle_days": 9.5, "behind_steps": 3, "ladder_exhausted": True}  # an alert row and a "stalled" event
    assert reasons.to_json() == stored
    assert StallReasons.from_json(stored) == reasons


@PLAIN
@given(
    st.floats(min_value=0, max_value=10_000, allow_nan=False).map(lambda x: round(x, 1)),
    st.integers(min_value=0, max_value=1000),
    st.booleans(),
)
def test_reasons_survive_a_json_round_trip(idle: float, behind: int, exhausted: bool) -> None:
    reasons = StallReasons(idle, behind, exhausted)
    assert StallReasons.from_json(json.loads(json.dumps(reasons.to_json()))) == reasons
