"""Which cohort start a student joins, as properties over time zones, month and year ends, DST switches and
the cutoff boundary. Plain data: no database, no bot."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from journeys.cohort import CohortStarts, cohort_start, cohort_starts, first_monday
from journeys.spec import Cohort, CohortSchedule

BERLIN = ZoneInfo("Europe/Berlin")
# zones with DST, half and quarter hours, the date line, and a zone without DST, besides whatever hypothesis picks
NOTABLE = [
    ZoneInfo(name)
    for name in (
        "Europe/Moscow",
        "Europe/Berlin",
        "America/New_York",
        "America/Santiago",
        "Australia/Lord_Howe",
        "Asia/Kathmandu",
        "Asia/Kolkata",
        "Pacific/Kiritimati",
        "Pacific/Pago_Pago",
        "Pacific/Chatham",
        "UTC",
    )
]
zones = st.one_of(st.sampled_from(NOTABLE), st.timezones())
cohorts = st.builds(
    Cohort,
    schedule=st.just(CohortSchedule.FIRST_MONDAY),
    cutoff=st.one_of(
        st.sampled_from([timedelta(0), timedelta(days=7), timedelta(days=30)]),
        st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=366)),
    ),
    time=st.one_of(st.sampled_from([time(0, 0), time(2, 30), time(10, 0), time(23, 59)]), st.times()),
)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC))


@st.composite
def around_month_ends(draw: st.DrawFn) -> datetime:
    """Moments in the last and first days of a month (year ends included), where the first Monday is near."""
    year = draw(st.integers(2000, 2090))
    month = draw(st.integers(1, 12))
    first = datetime(year, month, 1, tzinfo=draw(zones))
    return (first + draw(st.timedeltas(min_value=timedelta(days=-10), max_value=timedelta(days=10)))).astimezone(UTC)


@st.composite
def at_the_cutoff(draw: st.DrawFn) -> tuple[Cohort, ZoneInfo, datetime]:
    """An enrollment within minutes of `start - cutoff` for some first-Monday start: the boundary itself."""
    cohort, tz = draw(cohorts), draw(zones)
    start = datetime.combine(first_monday(draw(st.integers(2001, 2090)), draw(st.integers(1, 12))), cohort.time, tz)
    offset = draw(st.timedeltas(min_value=timedelta(minutes=-90), max_value=timedelta(minutes=90)))
    return cohort, tz, start.astimezone(UTC) - cohort.cutoff + offset


def candidates(tz: ZoneInfo, cohort: Cohort, enrolled: datetime, until: datetime) -> list[datetime]:
    """Every first-Monday start from the month before the enrollment (local) up to `until`."""
    local = enrolled.astimezone(tz)
    year, month = (local.year - 1, 12) if local.month == 1 else (local.year, local.month - 1)
    found = []
    while True:
        start = datetime.combine(first_monday(year, month), cohort.time, tz)
        if start >= until:
            return found
        found.append(start)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def check_start(cohort: Cohort, tz: ZoneInfo, enrolled: datetime) -> None:
    start = cohort_start(cohort, enrolled, tz)
    # a Monday in the first week of a month, at the configured wall time in the school's zone
    assert start.tzinfo is tz
    assert start.weekday() == 0 and start.day <= 7
    assert start.time() == cohort.time
    # far enough ahead to prepare
    assert start - enrolled >= cohort.cutoff
    # the same start whatever zone the enrollment moment is given in
    assert cohort_start(cohort, enrolled.astimezone(tz), tz) == start
    # and the FIRST such start: every earlier first Monday is closer than the cutoff (or already past)
    assert all(earlier - enrolled < cohort.cutoff for earlier in candidates(tz, cohort, enrolled, start))
    # never more than the cutoff plus about a month and a bit away
    assert start - enrolled <= cohort.cutoff + timedelta(days=38)


@settings(max_examples=200, deadline=None)
@given(cohorts, zones, st.one_of(moments, around_month_ends()))
def test_the_start_is_the_first_monday_far_enough_ahead(cohort: Cohort, tz: ZoneInfo, enrolled: datetime) -> None:
    check_start(cohort, tz, enrolled)


@settings(max_examples=200, deadline=None)
@given(at_the_cutoff())
def test_the_start_around_the_cutoff_boundary(case: tuple[Cohort, ZoneInfo, datetime]) -> None:
    check_start(*case)


@settings(max_examples=200, deadline=None)
@given(cohorts, zones, moments, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=90)))
def test_enrolling_later_never_joins_an_earlier_start(
    cohort: Cohort, tz: ZoneInfo, enrolled: datetime, later: timedelta
) -> None:
    assert cohort_start(cohort, enrolled + later, tz) >= cohort_start(cohort, enrolled, tz)


@settings(max_examples=100, deadline=None)
@given(zones, moments)
def test_an_immediate_cohort_starts_at_enrollment(tz: ZoneInfo, enrolled: datetime) -> None:
    assert cohort_starts(Cohort(), enrolled, tz) == CohortStarts(enrolled)
    assert cohort_starts(Cohort(), enrolled, tz).due(enrolled)


@given(st.integers(1, 9998), st.integers(1, 12))
def test_first_monday_is_the_earliest_monday_of_the_month(year: int, month: int) -> None:
    monday = first_monday(year, month)
    assert (monday.year, monday.month, monday.weekday()) == (year, month, 0)
    assert all(date(year, month, day).weekday() != 0 for day in range(1, monday.day))


def test_the_cutoff_is_elapsed_time_across_the_spring_switch() -> None:
    # Berlin moved its clocks forward on Sunday 31 March 2024, the eve of the first Monday of April:
    # a week before 1 April 10:00 CEST on the wall clock is only 167 hours, one short of a 7-day cutoff
    cohort = Cohort(schedule=CohortSchedule.FIRST_MONDAY, cutoff=timedelta(days=7), time=time(10, 0))
    april = datetime(2024, 4, 1, 10, 0, tzinfo=BERLIN)
    assert cohort_start(cohort, datetime(2024, 3, 25, 9, 0, tzinfo=BERLIN), BERLIN) == april  # exactly 168 h
    assert cohort_start(cohort, datetime(2024, 3, 25, 9, 1, tzinfo=BERLIN), BERLIN) == datetime(
        2024, 5, 6, 10, 0, tzinfo=BERLIN
    )


def test_a_start_inside_a_dst_gap_keeps_its_wall_time() -> None:
    # Baghdad moved its clocks from 03:00 to 04:00 on Monday 1 April 2002, the first Monday of that month:
    # a 03:30 cohort keeps 03:30 on the wall and is taken with the offset before the switch (fold 0)
    baghdad = ZoneInfo("Asia/Baghdad")
    cohort = Cohort(schedule=CohortSchedule.FIRST_MONDAY, cutoff=timedelta(days=7), time=time(3, 30))
    start = cohort_start(cohort, datetime(2002, 3, 20, tzinfo=UTC), baghdad)
    assert (start.date(), start.time(), start.utcoffset()) == (date(2002, 4, 1), time(3, 30), timedelta(hours=3))
    assert start.astimezone(UTC) == datetime(2002, 4, 1, 0, 30, tzinfo=UTC)
    # the cutoff is measured to that instant: 7 x 24 h before it still joins, a minute later does not
    assert cohort_start(cohort, datetime(2002, 3, 25, 0, 30, tzinfo=UTC), baghdad) == start
    assert cohort_start(cohort, datetime(2002, 3, 25, 0, 31, tzinfo=UTC), baghdad).date() == date(2002, 5, 6)
