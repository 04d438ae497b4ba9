"""The nudge ladder, its delivery moments and the weekly cap (journeys/nudges.py), on plain data: no database,
no bot. Properties run across every time zone, around their DST transitions, with quiet hours that wrap
midnight and study plans; bounded and derandomized so the file stays at a few seconds."""

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from hypothesis import given, settings
from hypothesis import strategies as st

from journeys.loader import load_journey
from journeys.nudges import (
    LADDER_GRACE,
    WEEK,
    Delivery,
    LadderDone,
    LadderExhausted,
    LadderState,
    NextRung,
    NudgeDue,
    NudgePostponed,
    decide_nudge,
    ladder_exhausted,
    new_idle_spell,
    nudge_message,
    weekly_cap,
)
from journeys.progress import Progress
from journeys.spec import Nudge, Stall
from journeys.stalls import PaceState, stall_deadline
from journeys.timing import QuietHours
from tests.conftest import EXAMPLE_JOURNEY

PLAIN = settings(max_examples=150, deadline=None, derandomize=True, database=None)
TICK = timedelta(microseconds=1)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
MSK = ZoneInfo("Europe/Moscow")
NIGHT = QuietHours(time(22), time(9))
ZONES = sorted(available_timezones())


def msk(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=MSK)


@cache
def transitions(zone: str, year: int) -> tuple[datetime, ...]:
    """The moments (UTC, to the minute) the zone's clocks jump in that year: where delivery times go wrong."""
    tz = ZoneInfo(zone)
    found = []
    day = datetime(year, 1, 1, tzinfo=UTC)
    while day.year == year:
        following = day + DAY
        if day.astimezone(tz).utcoffset() != following.astimezone(tz).utcoffset():
            low, high = day, following
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                same = middle.astimezone(tz).utcoffset() == low.astimezone(tz).utcoffset()
                low, high = (middle, high) if same else (low, middle)
            found.append(high)
        day = following
    return tuple(found)


@st.composite
def moments(draw: st.DrawFn, zone: str) -> datetime:
    """A UTC moment, half the time within a day and a half of one of the zone's clock changes."""
    year = draw(st.integers(min_value=2021, max_value=2030))
    jumps = transitions(zone, year)
    near_a_jump = draw(st.booleans())
    if jumps and near_a_jump:
        around = draw(st.sampled_from(jumps))
        return around + timedelta(minutes=draw(st.integers(min_value=-36 * 60, max_value=36 * 60)))
    start = datetime(year, 1, 1, tzinfo=UTC)
    return start + timedelta(minutes=draw(st.integers(min_value=0, max_value=365 * 24 * 60)))


times_of_day = st.builds(time, st.integers(min_value=0, max_value=23), st.sampled_from([0, 15, 30, 45, 59]))
quiet_hours = st.builds(QuietHours, times_of_day, times_of_day).filter(lambda q: q.start != q.end)
# the planning prompt offers daytime hours; clocks jump at night, so a planned hour always exists
study_times = st.builds(time, st.integers(min_value=5, max_value=23), st.sampled_from([0, 30]))
study_days = st.frozensets(st.integers(min_value=1, max_value=7), min_size=1)


@st.composite
def ladders(draw: st.DrawFn) -> tuple[Nudge, ...]:
    afters = draw(st.lists(st.integers(min_value=60, max_value=30 * 86400), min_size=1, max_size=5, unique=True))
    return tuple(Nudge(after=timedelta(seconds=s), text=f"Reminder {n}") for n, s in enumerate(sorted(afters)))


def local(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz)


# --- delivery moments ------------------------------------------------------------------------------


@PLAIN
@given(st.data(), st.sampled_from(ZONES), quiet_hours)
def test_without_a_plan_a_reminder_goes_at_once_or_when_quiet_hours_end(
    data: st.DataObject, zone: str, quiet: QuietHours
) -> None:
    tz = ZoneInfo(zone)
    due = data.draw(moments(zone))
    at = Delivery(tz, quiet).at(due)
    assert at >= due
    assert not quiet.contains(local(at, tz).time())
    if not quiet.contains(local(due, tz).time()):
        assert at == due
    assert at - due <= DAY + 2 * HOUR  # one night at most, however the clocks jump


@PLAIN
@given(st.data(), st.sampled_from(ZONES), st.none() | quiet_hours, study_days, study_times)
def test_with_a_plan_a_reminder_goes_at_the_next_planned_slot(
    data: st.DataObject, zone: str, quiet: QuietHours | None, days: frozenset[int], at_time: time
) -> None:
    tz = ZoneInfo(zone)
    due = data.draw(moments(zone))
    at = Delivery(tz, quiet, days, at_time).at(due)
    slot = local(at, tz)
    assert at >= due
    assert slot.isoweekday() in days
    assert slot.time() == at_time  # the plan wins over quiet hours
    assert at - due < WEEK + 2 * HOUR
    # no planned slot was skipped: the day before the chosen one had none left after `due`
    previous = datetime.combine(slot.date() - DAY, at_time, tzinfo=tz)
    assert previous.isoweekday() not in days or previous < due


@PLAIN
@given(
    st.sampled_from([zone for zone in ZONES if transitions(zone, 2026)]),
    st.integers(min_value=0, max_value=10),
    st.integers(min_value=-120, max_value=120),
    st.integers(min_value=-120, max_value=120),
    st.booleans(),
)
def test_a_reminder_never_goes_before_it_is_due_when_the_clocks_jump(
    zone: str, which: int, due_off: int, wall_off: int, planned: bool
) -> None:
    """Quiet hours ending, or the planned hour falling, in the hour skipped or repeated by a clock change."""
    tz = ZoneInfo(zone)
    jumps = transitions(zone, 2026)
    jump = jumps[which % len(jumps)]
    due = jump + timedelta(minutes=due_off)
    wall = (jump + timedelta(minutes=wall_off)).astimezone(tz).time().replace(second=0, microsecond=0)
    if planned:
        delivery = Delivery(tz, None, frozenset(range(1, 8)), wall)
    else:
        delivery = Delivery(tz, QuietHours(time(0) if wall == time(0) else time(23, 59), wall))
    at = delivery.at(due)
    assert at >= due
    assert at - due <= DAY + 2 * HOUR
    if not planned and delivery.quiet is not None:
        assert not delivery.quiet.contains(local(at, tz).time())


def test_quiet_hours_wrapping_midnight_in_moscow() -> None:
    delivery = Delivery(MSK, NIGHT)
    assert delivery.at(msk(20, 21, 59)) == msk(20, 21, 59)
    assert delivery.at(msk(20, 22)) == msk(21, 9)
    assert delivery.at(msk(21, 0, 30)) == msk(21, 9)
    assert delivery.at(msk(21, 9)) == msk(21, 9)


def test_a_plan_for_every_day_when_no_days_were_chosen() -> None:
    assert Delivery(MSK, NIGHT, None, time(19)).at(msk(20, 19, 1)) == msk(21, 19)


def test_quiet_hours_end_on_the_morning_after_a_spring_forward() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    night = Delivery(berlin, QuietHours(time(22), time(8)))
    before = datetime(2026, 3, 28, 23, tzinfo=berlin)  # the clocks go from 02:00 to 03:00 that night
    assert night.at(before) == datetime(2026, 3, 29, 8, tzinfo=berlin)
    assert night.at(before).astimezone(UTC) - before.astimezone(UTC) == timedelta(hours=8)  # an hour short


def test_in_the_hour_repeated_when_clocks_go_back_quiet_hours_end_at_their_second_occurrence() -> None:
    berlin = ZoneInfo("Europe/Berlin")  # 2026-10-25: 03:00 CEST becomes 02:00 CET, 02:00-03:00 happens twice
    due = datetime(2026, 10, 25, 1, 10, tzinfo=UTC)  # 02:10 CET, the second time round
    at = Delivery(berlin, QuietHours(time(22), time(2, 30))).at(due)
    # an ambiguous wall time never equals another zone's datetime (PEP 495): compare the instants
    assert at.astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET, not CEST 40 min ago


def test_in_the_hour_repeated_when_clocks_go_back_a_study_slot_still_ahead_is_kept() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    due = datetime(2026, 10, 25, 1, 10, tzinfo=UTC)  # 02:10 CET, a Sunday
    sunday = frozenset({7})
    assert Delivery(berlin, None, sunday, time(2, 30)).at(due).astimezone(UTC) == datetime(
        2026, 10, 25, 1, 30, tzinfo=UTC
    )
    assert Delivery(berlin, None, sunday, time(2)).at(due).astimezone(UTC) == datetime(2026, 11, 1, 1, tzinfo=UTC)


# --- the ladder ------------------------------------------------------------------------------------


def climb(
    nudges: Sequence[Nudge], start: datetime, delivery: Delivery, lags: Sequence[int], stall_at: datetime | None
) -> tuple[list[tuple[datetime, NudgeDue]], LadderState]:
    """What the ticker does with an idle student: ticks (late by `lags` minutes) and applies each decision."""
    state = LadderState(rung=0, spell_start=start, next_at=start + nudges[0].after, stall_at=stall_at)
    sent = []
    for lag in lags:
        if state.next_at is None:
            break
        now = state.next_at + timedelta(minutes=lag)
        assert decide_nudge(nudges, state, state.next_at - TICK, delivery, cap=None, capped_sends=()) is None
        due = decide_nudge(nudges, state, now, delivery, cap=None, capped_sends=())
        assert isinstance(due, NudgeDue)
        sent.append((now, due))
        match due.then:
            case NextRung(at=at):
                state = replace(state, rung=due.rung + 1, next_at=at)
            case LadderExhausted(stall_by=stall_by):
                state = replace(state, rung=due.rung + 1, next_at=None, stall_at=stall_by)
    return sent, state


@PLAIN
@given(
    st.data(),
    ladders(),
    st.sampled_from(ZONES),
    st.none() | quiet_hours,
    st.lists(st.integers(min_value=0, max_value=600), min_size=5, max_size=5),
    st.none() | st.integers(min_value=0, max_value=60 * 86400),
)
def test_an_idle_student_climbs_every_rung_once_in_order_then_has_a_grace_period(
    data: st.DataObject,
    nudges: tuple[Nudge, ...],
    zone: str,
    quiet: QuietHours | None,
    lags: list[int],
    stall_in: int | None,
) -> None:
    start = data.draw(moments(zone))
    stall_at = None if stall_in is None else start + timedelta(seconds=stall_in)
    sent, end = climb(nudges, start, Delivery(ZoneInfo(zone), quiet), lags, stall_at)

    assert [due.rung for _, due in sent] == list(range(len(nudges)))
    for now, due in sent:
        assert now >= start + nudges[due.rung].after  # never early
        assert due.at >= now
    *climbing, last = [due for _, due in sent]
    assert all(isinstance(due.then, NextRung) for due in climbing)
    assert isinstance(last.then, LadderExhausted)
    # the curators hear at most a grace period after the last reminder, and never later than planned before
    stall_by = last.then.stall_by
    assert stall_by <= last.at + LADDER_GRACE
    assert stall_at is None or stall_by <= stall_at
    assert stall_by in (last.at + LADDER_GRACE, stall_at)
    assert end.rung == len(nudges) and end.next_at is None and end.stall_at == stall_by
    assert ladder_exhausted(nudges, end.rung)
    assert (
        decide_nudge(nudges, end, last.at + 365 * DAY, Delivery(ZoneInfo(zone), quiet), cap=1, capped_sends=()) is None
    )


def test_each_rung_is_due_its_own_time_after_the_spell_started_not_after_the_last_reminder() -> None:
    nudges = (Nudge(after=2 * DAY, text="a"), Nudge(after=5 * DAY, text="b"))
    start = msk(2, 12)
    state = LadderState(rung=0, spell_start=start, next_at=start + 2 * DAY, stall_at=start + 7 * DAY)
    first = decide_nudge(nudges, state, msk(4, 23), Delivery(MSK, NIGHT), cap=None, capped_sends=())
    assert first == NudgeDue(0, msk(5, 9), NextRung(start + 5 * DAY))
    state = replace(state, rung=1, next_at=start + 5 * DAY)
    last = decide_nudge(nudges, state, start + 5 * DAY, Delivery(MSK, NIGHT), cap=None, capped_sends=())
    assert last == NudgeDue(1, start + 5 * DAY, LadderExhausted(start + 6 * DAY))


def test_the_grace_period_does_not_put_off_an_earlier_stall() -> None:
    nudges = (Nudge(after=DAY, text="a"),)
    state = LadderState(rung=0, spell_start=msk(2, 12), next_at=msk(3, 12), stall_at=msk(3, 18))
    due = decide_nudge(nudges, state, msk(3, 12), Delivery(MSK, NIGHT), cap=None, capped_sends=())
    assert due == NudgeDue(0, msk(3, 12), LadderExhausted(msk(3, 18)))


@PLAIN
@given(ladders(), st.integers(min_value=0, max_value=6), st.booleans(), st.booleans())
def test_blocked_held_out_or_past_the_last_rung_means_no_reminder(
    nudges: tuple[Nudge, ...], rung: int, blocked: bool, holdout: bool
) -> None:
    now = msk(20, 12)
    state = LadderState(rung, msk(2, 12), next_at=now, stall_at=None, holdout=holdout, blocked=blocked)
    decision = decide_nudge(nudges, state, now, Delivery(MSK, NIGHT), cap=1, capped_sends=[now] * 3)
    if blocked or holdout or rung >= len(nudges):
        assert decision == LadderDone()  # and before the cap: a full week does not keep a dead ladder alive
    else:
        assert isinstance(decision, NudgePostponed)


def test_no_ladder_without_reminders() -> None:
    state = LadderState(0, msk(2, 12), next_at=msk(3, 12), stall_at=None)
    assert decide_nudge((), state, msk(3, 12), Delivery(MSK, NIGHT), cap=None, capped_sends=()) == LadderDone()
    assert not ladder_exhausted((), 0)


# --- a new idle spell ------------------------------------------------------------------------------


def test_a_new_spell_starts_the_ladder_and_the_stall_clock_afresh() -> None:
    nudges = (Nudge(after=2 * DAY, text="a"), Nudge(after=5 * DAY, text="b"))
    pace = PaceState(started_at=msk(2, 12), last_progress_at=msk(10, 12), done=2, total=5)
    stall = Stall(idle=7 * DAY, behind=2)
    spell = new_idle_spell(msk(10, 12), nudges, holdout=False, pace=pace, every=WEEK, stall=stall)
    assert (spell.rung, spell.next_nudge_at) == (0, msk(12, 12))
    assert spell.stall_at == stall_deadline(pace, WEEK, stall)

    held_out = new_idle_spell(msk(10, 12), nudges, holdout=True, pace=pace, every=WEEK, stall=stall)
    assert held_out.next_nudge_at is None and held_out.stall_at == spell.stall_at  # measured, still watched
    quiet = new_idle_spell(msk(10, 12), (), holdout=False, pace=pace, every=WEEK, stall=stall)
    assert quiet.next_nudge_at is None and quiet.stall_at == spell.stall_at
    finished = new_idle_spell(msk(10, 12), nudges, holdout=False, pace=None, every=WEEK, stall=stall)
    assert finished.next_nudge_at is None and finished.stall_at is None


def test_a_reminder_shows_where_the_student_stands_and_offers_a_curator_where_the_rung_says() -> None:
    journey = load_journey(EXAMPLE_JOURNEY)  # novice: how-it-works, setup, variables, ...; rung 1 offers a curator
    done = {"how-it-works", "variables"}  # out of order: the next step is the first one not done
    first = nudge_message(journey, "novice", done, 0, 7, curators=True)
    assert (first.enrollment_id, first.nudge, first.progress) == (7, journey.spec.nudges[0], Progress(2, 5))
    assert first.next_step is not None and first.next_step.id == "setup"
    assert not first.offer_curator
    assert nudge_message(journey, "novice", done, 1, 7, curators=True).offer_curator
    assert not nudge_message(journey, "novice", done, 1, 7, curators=False).offer_curator  # no curator group
    assert nudge_message(journey, "advanced", {"functions", "project"}, 1, 7, curators=True).next_step is None


# --- the weekly cap --------------------------------------------------------------------------------


def test_the_cap_window_is_seven_days_to_the_microsecond() -> None:
    now = msk(20, 12)
    assert weekly_cap(1, [now - WEEK], now) is None  # exactly a week ago: out of the window
    assert weekly_cap(1, [now - WEEK + TICK], now) == NudgePostponed(now + TICK)
    assert weekly_cap(2, [now - DAY], now) is None
    assert weekly_cap(None, [now] * 100, now) is None


def test_a_reminder_waiting_for_the_morning_counts_for_the_cap() -> None:
    now = msk(20, 23)
    assert weekly_cap(1, [msk(21, 9)], now) == NudgePostponed(msk(28, 9))


@PLAIN
@given(
    st.integers(min_value=1, max_value=4),
    st.lists(st.integers(min_value=-8 * 24 * 60, max_value=16 * 60), max_size=8),
)
def test_a_postponed_reminder_waits_exactly_until_a_place_frees(cap: int, offsets: list[int]) -> None:
    now = msk(20, 12)
    sends = [now + timedelta(minutes=m) for m in offsets]
    decision = weekly_cap(cap, sends, now)
    if decision is None:
        return
    assert decision.until > now
    assert weekly_cap(cap, sends, decision.until - TICK) is not None  # not a moment sooner
    again = weekly_cap(cap, sends, decision.until)
    assert again is None or again.until > decision.until  # and the wait always ends


@PLAIN
@given(
    st.integers(min_value=1, max_value=4),
    st.lists(
        st.tuples(st.integers(min_value=1, max_value=4 * 24 * 60), st.integers(min_value=0, max_value=16 * 60)),
        min_size=1,
        max_size=40,
    ),
)
def test_no_seven_days_hold_more_reminders_than_the_cap(cap: int, ticks: list[tuple[int, int]]) -> None:
    """Ticks at random gaps each try to queue a reminder (delivered after a random wait for the morning)."""
    now = msk(2, 12)
    arrivals: list[datetime] = []
    for gap, wait in ticks:
        now += timedelta(minutes=gap)
        if weekly_cap(cap, arrivals, now) is None:
            arrivals.append(now + timedelta(minutes=wait))
    for end in arrivals:
        assert sum(end - WEEK < other <= end for other in arrivals) <= cap
